"""`chatvla2-lite bench sim`: the scripted expert's success on both tasks and the simulator's speed."""

from __future__ import annotations

import os
import time
from contextlib import contextmanager

import numpy as np
from tqdm.auto import tqdm

from sim.cameras import CAMERA_NAMES
from sim.env import TASKS, make_env
from sim.world import World


def run_expert_episode(env, seed: int) -> tuple[bool, int]:
    """Run the scripted expert on one seeded episode; (success, control steps)."""
    env.reset(seed=seed)
    expert = env.expert()
    while True:
        _, _, terminated, truncated, info = env.step(expert.act())
        if terminated or truncated:
            return bool(info["is_success"]), int(info["step"])


@contextmanager
def one_core():
    """Pin this process to a single core while measuring, where the OS allows it."""
    if not hasattr(os, "sched_getaffinity"):
        yield
        return
    before = os.sched_getaffinity(0)
    os.sched_setaffinity(0, {min(before)})
    try:
        yield
    finally:
        os.sched_setaffinity(0, before)


CHUNK_STEPS = 16  # a policy's action chunk: the cameras render once after it, as the closed loop looks


def measure_speed(seed: int, control_steps: int = 150, world: World | None = None) -> dict:
    """Control rate with physics and both cameras every step, and with the cameras once a chunk (as a chunked policy
    looks: env.step_chunk); per-camera render time; raw physics rate."""
    env = make_env("math_matching", "train", cameras=CAMERA_NAMES, world=world)
    try:
        with one_core():
            env.reset(seed=seed)
            expert = env.expert()
            start = time.perf_counter()
            for _ in range(control_steps):
                env.step(expert.act())
            control_hz = control_steps / (time.perf_counter() - start)
            env.reset(seed=seed)
            expert = env.expert()
            start, ran = time.perf_counter(), 0
            while ran < control_steps:
                ran += env.step_chunk([expert.act() for _ in range(CHUNK_STEPS)])[5]
            chunked_hz = ran / (time.perf_counter() - start)
            render_ms = {}
            for cam in CAMERA_NAMES:
                start = time.perf_counter()
                for _ in range(30):
                    env.cameras.render(cam)
                render_ms[cam] = (time.perf_counter() - start) / 30 * 1000
            n = 2000
            start = time.perf_counter()
            env.scene.step_physics(n)
            physics_rate = n / (time.perf_counter() - start)
    finally:
        env.close()
    return {
        "control_hz": control_hz,
        "control_hz_chunked": chunked_hz,
        "render_ms_front": render_ms["front"],
        "render_ms_wrist": render_ms["wrist"],
        "physics_steps_per_s": physics_rate,
    }


def run_sim_benchmark(
    episodes: int = 20, seed: int = 0, split: str = "train", progress: bool = True, world: World | None = None
) -> dict:
    """Expert success per task over `episodes` seeded episodes in `world` (None: the default), then the speed
    figures; one flat dict."""
    world = World.of(world)
    result: dict = {"episodes": episodes, "split": split, "seed": seed, **world.to_dict()}
    wall = time.perf_counter()
    for task in TASKS:
        env = make_env(task, split, cameras=(), world=world)  # success needs no pixels; speed is measured below
        successes, steps = [], []
        try:
            for s in tqdm(range(seed, seed + episodes), desc=f"expert {task}", disable=not progress):
                ok, n = run_expert_episode(env, s)
                successes.append(ok)
                steps.append(n)
        finally:
            env.close()
        result[f"{task}_expert_success"] = float(np.mean(successes))
        result[f"{task}_expert_steps_mean"] = float(np.mean(steps))
        # what an episode budget must fit (playground/settings.py sizes the app's from it); failures run to the cap
        result[f"{task}_expert_steps_max"] = max((n for n, ok in zip(steps, successes) if ok), default=None)
        result[f"{task}_failed_seeds"] = [s for s, ok in zip(range(seed, seed + episodes), successes) if not ok]
    result.update({k: round(v, 2) for k, v in measure_speed(seed, world=world).items()})
    result["wall_s"] = round(time.perf_counter() - wall, 1)
    return result
