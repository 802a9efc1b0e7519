"""The app benchmark: start the app on 127.0.0.1 and time what a visitor feels, through its HTTP API.

    python -m playground.bench_app [--model ID] [--quantization 4bit|8bit|none] [--episodes N] --json


ready_s: process start until the server answers (the model is loaded before it listens).
first_token_ms: "Run" pressed until the first reasoning text arrives (scene building included).
episode_s: "Run" pressed until the verdict of a whole math-matching episode arrives.
frames_per_s: sim frames received per second while a chunk executes (reasoning pauses excluded).
solved: the share of those episodes the model solved.
expert_solved: the share of heldout scenes of both tasks the scripted expert solves through the same control loop,
backend and budget (playground/expert_ceiling.py): the ceiling of what any model can solve on the page.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import numpy as np

logger = logging.getLogger(__name__)
ROOT = Path(__file__).resolve().parent.parent
VERDICT = 3  # index of the status/verdict markdown among the run outputs (see playground.layout)


def free_port() -> int:
    """A TCP port on 127.0.0.1 that is free right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def stop_process(proc: subprocess.Popen, grace_s: float = 10.0) -> None:
    """Ask the app to stop, and kill it if it has not after `grace_s` seconds."""
    proc.terminate()
    try:
        proc.wait(timeout=grace_s)
    except subprocess.TimeoutExpired:
        proc.kill()


def wait_ready(url: str, proc: subprocess.Popen, timeout: float = 90.0) -> float:
    """Seconds until the app at `url` answers; fails early when its process dies."""
    start = time.perf_counter()
    while time.perf_counter() - start < timeout:
        if proc.poll() is not None:
            raise RuntimeError(f"the app exited with code {proc.returncode} before it was ready")
        try:
            with urllib.request.urlopen(url + "/gradio_api/info", timeout=2) as r:
                if r.status == 200:
                    return time.perf_counter() - start
        except OSError:
            time.sleep(0.1)
    raise TimeoutError(f"the app did not answer on {url} within {timeout:.0f} s")


def time_episode(client, equation: str, seed: int, model: str = "nano", quantization: str = "none") -> dict:
    """Run one whiteboard episode through the API; first-token, episode and frame-rate figures as the client saw."""
    start = time.perf_counter()
    job = client.submit(
        "Whiteboard", None, equation, "", "", seed, "PyBullet sim", model, quantization, api_name="/run"
    )
    first_token = None
    frames: dict[str, list[float]] = {}  # chunk status prefix -> arrival times of its frames
    for out in job:
        now = time.perf_counter()
        status = out[VERDICT] if isinstance(out[VERDICT], str) else ""
        if first_token is None and status.startswith("_reasoning"):
            first_token = now - start
        if status.startswith("_acting"):
            frames.setdefault(status.split(",")[0], []).append(now)
    episode_s = time.perf_counter() - start
    if not job.outputs():
        job.result()  # raises the app's error message
        raise RuntimeError("the app returned nothing for the episode; see its log")
    final = job.outputs()[-1][VERDICT]
    intervals = sum(len(t) - 1 for t in frames.values())
    span = sum(t[-1] - t[0] for t in frames.values())
    return {
        "first_token_ms": None if first_token is None else first_token * 1000,
        "episode_s": episode_s,
        "frames_per_s": intervals / span if span > 0 else 0.0,
        "chunks": len(frames),
        "verdict": final,
        "solved": final.lstrip("# ").startswith("Success"),
    }


def run_app_benchmark(
    model: str | None = None,
    quantization: str | None = None,
    episodes: int = 3,
    expert_episodes: int = 10,
    timeout: float = 120.0,
) -> dict:
    """Start app.py in a subprocess, time `episodes` math-matching episodes through the API, stop it; then the
    scripted expert through the app's loop on `expert_episodes` heldout scenes of each task (0: skipped)."""
    from gradio_client import Client

    from playground.control_loop import Budget
    from playground.expert_ceiling import expert_solved
    from playground.settings import AppSettings

    port = free_port()
    env = {
        **os.environ,
        "GRADIO_SERVER_NAME": "127.0.0.1",
        "GRADIO_SERVER_PORT": str(port),
        "GRADIO_ANALYTICS_ENABLED": "False",
    }
    if model:
        env["MODEL_ID"] = model
    if quantization:
        env["QUANTIZATION"] = quantization
    url = f"http://127.0.0.1:{port}"
    start = time.perf_counter()
    proc = subprocess.Popen(
        [sys.executable, str(ROOT / "app.py")], cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    try:
        wait_ready(url, proc, timeout)
        ready_s = time.perf_counter() - start
        client = Client(url, verbose=False, download_files=False)
        model, quantization = model or "nano", quantization or "none"
        runs = [time_episode(client, f"{k % 5} + {k % 4 + 1} = ?", k, model, quantization) for k in range(episodes)]
        banner = client.predict(model, quantization, api_name="/load_model")
    finally:
        stop_process(proc)
    # the app's own budget, read from the same environment the app was started with
    ceiling = expert_solved(expert_episodes, Budget.of(AppSettings.from_env())) if expert_episodes else None

    def median(key):
        values = [r[key] for r in runs if r[key] is not None]
        return round(float(np.median(values)), 3 if key != "first_token_ms" else 1) if values else None

    return {
        "ready_s": round(ready_s, 2),
        "first_token_ms": median("first_token_ms"),
        "episode_s": median("episode_s"),
        "frames_per_s": median("frames_per_s"),
        "episodes": episodes,
        "chunks_per_episode": median("chunks"),
        "model": banner.replace("**Model:** ", "").split(" · loaded")[0],
        "verdicts": sorted({r["verdict"].split("\n")[0].lstrip("# ") for r in runs}),
        "solved": sum(r["solved"] for r in runs) / len(runs),
        "expert_solved": None if ceiling is None else ceiling["expert_solved"],
        "expert_episodes": expert_episodes,
        "max_chunks": None if ceiling is None else ceiling["max_chunks"],
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m playground.bench_app", description=__doc__.splitlines()[0])
    parser.add_argument("--model", default=None, help="MODEL_ID for the app (default: the shipped nano)")
    parser.add_argument("--quantization", choices=["4bit", "8bit", "none"], default=None, help="QUANTIZATION")
    parser.add_argument("--episodes", type=int, default=3, help="math-matching episodes timed (medians reported)")
    parser.add_argument(
        "--expert-episodes", type=int, default=10, help="heldout scenes a task for expert_solved (0: skip it)"
    )
    parser.add_argument("--json", action="store_true", help="print one JSON object as the last line")
    args = parser.parse_args(argv)
    result = run_app_benchmark(args.model, args.quantization, args.episodes, args.expert_episodes)
    print(json.dumps(result, sort_keys=True) if args.json else "\n".join(f"{k}  {v}" for k, v in result.items()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
