"""The observe -> reason -> act loop, as a generator of updates the UI turns into chat text and frames.

Per chunk: the model reasons (its text streams piece by piece), `act` turns the reasoning into a (16, 6)
chunk of joint targets, the backend executes it step by step, and a frame goes out every few steps.
The loop ends on success, on the budget (chunks or seconds), or when the visitor presses Stop.
"""

from __future__ import annotations

import queue
import threading
import time
from dataclasses import dataclass, field

import numpy as np

from sim.conventions import STATE_KEY, image_key


def side_by_side(obs: dict) -> np.ndarray:
    """The front and wrist images next to each other, uint8 (H, 2W, 3)."""
    return np.concatenate([obs[image_key("front")], obs[image_key("wrist")]], axis=1)


@dataclass
class Update:
    """One thing that happened: a piece of reasoning, a frame, or the end of the episode."""

    phase: str  # "reasoning" | "acting" | "done"
    chunk: int  # 1-based reason-act round
    text: str = ""  # new reasoning text (phase "reasoning")
    frame: np.ndarray | None = None  # (224, 448, 3) uint8 front | wrist
    verdict: object = None  # playground.backends.pybullet_sim.Verdict, on "done"
    timing: dict = field(default_factory=dict)  # reason/act/step figures so far


@dataclass
class Budget:
    """When an episode stops trying."""

    max_chunks: int = 6
    max_seconds: float = 15.0
    max_fps: float = 15.0  # frames sent per second at most; every step is sent when the sim runs slower


class _Finished:
    def __init__(self, value=None, error: BaseException | None = None):
        self.value, self.error = value, error


def stream_reasoning(policy, observation: dict, run_lock: threading.Lock):
    """Yield the reasoning text piece by piece, then the Reasoning object itself.

    `reason` blocks until the last token, so it runs in a worker thread and its streamer feeds a queue
    that this generator drains; pieces that arrive together go out as one, so the UI is not flooded.
    """
    pieces: queue.Queue = queue.Queue()

    def work():
        try:
            with run_lock:
                result = policy.reason(observation, streamer=pieces.put)
            pieces.put(_Finished(result))
        except BaseException as exc:  # handed to the consumer, which re-raises it in the request's thread
            pieces.put(_Finished(error=exc))

    threading.Thread(target=work, name="reason", daemon=True).start()
    while True:
        item = pieces.get()
        text = ""
        while not isinstance(item, _Finished):
            text += item
            try:
                item = pieces.get_nowait()
            except queue.Empty:
                break
        if text:
            yield text
        if isinstance(item, _Finished):
            if item.error is not None:
                raise item.error
            yield item.value
            return


def execute_chunk(session, chunk: np.ndarray, chunk_index: int, budget: Budget, deadline: float, timing: dict):
    """Run a (H, 6) chunk on the session's backend, yielding frames; returns when done, stopped or out of time.

    Frames are paced by time, not by step count: on a busy box the sim slows down, and sending every step
    then keeps the view above 10 fps; on an idle one it caps the traffic at `budget.max_fps`.
    """
    backend = session.backend
    start = time.perf_counter()
    last_frame = 0.0
    for k, action in enumerate(chunk):
        obs, info = backend.step(action)
        session.observation = obs
        session.executed.append(np.asarray(obs[STATE_KEY], dtype=np.float32))
        timing["steps"] = timing.get("steps", 0) + 1
        now = time.perf_counter()
        stop = session.stop.is_set() or now > deadline or info.get("is_success", False)
        if now - last_frame >= 1.0 / budget.max_fps or k == len(chunk) - 1 or stop:
            last_frame = now
            timing["frames"] = timing.get("frames", 0) + 1
            yield Update("acting", chunk_index, frame=side_by_side(obs), timing=timing)
        if stop:
            break
    timing["step_s"] += time.perf_counter() - start


def run_episode(session, policy, run_lock: threading.Lock, budget: Budget, seed: int = 0):
    """Reason and act on the session's scene until solved, out of budget, or stopped; yields Updates."""
    start = time.perf_counter()
    deadline = start + budget.max_seconds
    timing: dict = {"reason_s": 0.0, "act_s": 0.0, "step_s": 0.0, "steps": 0, "chunks": 0}
    verdict = session.backend.verdict()
    chunk_index = 0
    while chunk_index < budget.max_chunks and not verdict.done:
        if session.stop.is_set() or time.perf_counter() > deadline:
            break
        chunk_index += 1
        observation = session.observation
        yield from _one_chunk(
            session, policy, run_lock, budget, deadline, timing, chunk_index, seed + chunk_index, observation
        )
        verdict = session.backend.verdict()
    timing["episode_s"] = time.perf_counter() - start
    yield Update("done", chunk_index, verdict=_ending(session, verdict, chunk_index, budget), timing=timing)


def _one_chunk(session, policy, run_lock, budget, deadline, timing, chunk_index: int, seed: int, observation: dict):
    """Reason and act once on `observation`, the session's."""
    t0 = time.perf_counter()
    reasoning = None
    for item in stream_reasoning(policy, observation, run_lock):
        if isinstance(item, str):
            if "first_token_ms" not in timing:
                timing["first_token_ms"] = (time.perf_counter() - t0) * 1000
            yield Update("reasoning", chunk_index, text=item, timing=timing)
        else:
            reasoning = item
    timing["reason_s"] += time.perf_counter() - t0
    session.reasoning = reasoning
    t1 = time.perf_counter()
    with run_lock:
        chunk = policy.act(observation, reasoning, seed=seed)  # (16, 6) radians
    timing["act_s"] += time.perf_counter() - t1
    timing["chunks"] += 1
    session.predicted.append(chunk)
    yield from execute_chunk(session, chunk, chunk_index, budget, deadline, timing)


def act_on_text(session, policy, run_lock: threading.Lock, text: str, budget: Budget, seed: int = 0):
    """Act once on the current observation following `text` (the visitor's edited reasoning); yields Updates."""
    start = time.perf_counter()
    timing: dict = {"reason_s": 0.0, "act_s": 0.0, "step_s": 0.0, "steps": 0, "chunks": 0}
    observation = session.observation
    with run_lock:
        chunk = policy.act(observation, text, seed=seed)  # re-encodes the prompt with this reasoning
    timing["act_s"] = time.perf_counter() - start
    timing["chunks"] = 1
    session.predicted.append(chunk)
    yield from execute_chunk(session, chunk, len(session.predicted), budget, start + budget.max_seconds, timing)
    timing["episode_s"] = time.perf_counter() - start
    verdict = session.backend.verdict()
    yield Update("done", len(session.predicted), verdict=_ending(session, verdict, None, budget), timing=timing)


def _ending(session, verdict, chunks: int | None, budget: Budget):
    """The verdict, with why the episode stopped when it did not finish."""
    from playground.backends.pybullet_sim import Verdict

    if verdict.done:
        return verdict
    if session.stop.is_set():
        why = "stopped by you"
    elif chunks is None:
        why = "one chunk on your reasoning"
    elif chunks >= budget.max_chunks:
        why = f"out of budget ({budget.max_chunks} chunks)"
    else:
        why = f"out of time ({budget.max_seconds:.0f} s)"
    return Verdict(verdict.success, f"{verdict.text} — {why}", done=False)
