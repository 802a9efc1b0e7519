"""The observe -> reason -> act loop of the page: the project's one closed loop (chatvla2_lite.rollout), its events
turned into the updates the UI shows as chat text and frames.

The model reasons as the budget's cadence says (by default once, at the episode's first look, as eval does), its text
streaming piece by piece; `act` turns the reasoning into a (16, 6) chunk of joint targets; the backend plays it a
step at a time and a frame goes out every few steps. The loop ends on the verdict, on the budget (chunks or
seconds), or when the visitor presses Stop.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field

import numpy as np

from chatvla2_lite.rollout import (
    DEFAULT_CADENCE,
    Acted,
    Ended,
    Look,
    Played,
    PolicyActor,
    ReasoningPiece,
    ScriptActor,
    rollout,
)
from playground.backends.base import Verdict
from playground.markers import mark_points, said_points
from playground.settings import CHUNK_STEPS, DEFAULT_MAX_CHUNKS
from sim.conventions import STATE_KEY, image_key
from sim.scene import SceneConfig

CONTROL_HZ = SceneConfig().control_hz


def side_by_side(obs: dict, points: dict | None = None) -> np.ndarray:
    """The front and wrist images next to each other, uint8 (H, 2W, 3); `points` marked on the front one."""
    return np.concatenate([mark_points(obs[image_key("front")], points or {}), obs[image_key("wrist")]], axis=1)


@dataclass
class Update:
    """One thing that happened: a piece of reasoning, a frame, or the end of the episode."""

    phase: str  # "reasoning" | "acting" | "done"
    chunk: int  # 1-based reason-act round
    text: str = ""  # new reasoning text (phase "reasoning")
    frame: np.ndarray | None = None  # (H, 2W, 3) uint8 front | wrist; while reasoning, only when a new point is said
    verdict: Verdict | None = None  # on "done"
    timing: dict = field(default_factory=dict)  # reason/act/step figures so far
    reasoned: bool = False  # acting: the chunk follows a reasoning written at its own look, not an earlier one


@dataclass
class Budget:
    """When an episode stops trying, and how often the model reasons (playground/settings.py sizes it)."""

    max_chunks: int = DEFAULT_MAX_CHUNKS
    max_seconds: float = 15.0
    max_fps: float = 15.0  # frames sent per second at most; every part played is sent when the sim runs slower
    cadence: str = DEFAULT_CADENCE  # chatvla2_lite.rollout.CADENCES
    chunk_steps: int = CHUNK_STEPS  # what the scripted expert plays a look (a policy plays its n_action_steps)

    @classmethod
    def of(cls, settings) -> Budget:
        """The budget an app with these settings (playground.settings.AppSettings) gives every episode."""
        return cls(max_chunks=settings.max_chunks, max_seconds=settings.max_episode_s, max_fps=settings.max_fps)

    @property
    def steps_per_frame(self) -> int:
        """Control steps played between two renders: the cameras render no faster than frames can go out."""
        return max(1, round(CONTROL_HZ / self.max_fps))


MAX_STEPS = 10**6  # the budget is in chunks and seconds; the loop's own step cap never binds here


def run_episode(session, policy, run_lock: threading.Lock, budget: Budget, seed: int = 0):
    """Reason and act on the session's scene until solved, out of budget, or stopped; yields Updates."""
    actor = PolicyActor(policy, budget.cadence, seed=seed, stream=True, lock=run_lock)
    yield from _episode(session, actor, budget, budget.max_chunks, edited=False)


def run_expert(session, budget: Budget):
    """The sim's scripted expert through the same loop, backend and budget as the model, a chunk of
    budget.chunk_steps a look: the ceiling of what any policy can solve on the page; yields Updates."""
    expert = session.backend.expert()
    actor = ScriptActor(expert.act, budget.chunk_steps, stop=lambda: expert.done, exhausted=lambda: expert.done)
    yield from _episode(session, actor, budget, budget.max_chunks, edited=False)


def act_on_text(session, policy, run_lock: threading.Lock, text: str, budget: Budget, seed: int = 0):
    """Act once on the current observation following `text` (the visitor's edited reasoning); yields Updates."""
    actor = PolicyActor(policy, reasoning=text, seed=seed, lock=run_lock)
    yield from _episode(session, actor, budget, 1, edited=True)


def _episode(session, actor, budget: Budget, max_chunks: int, edited: bool):
    start = time.perf_counter()
    deadline = start + budget.max_seconds
    timing: dict = {"reason_s": 0.0, "act_s": 0.0, "step_s": 0.0, "steps": 0, "chunks": 0, "frames": 0}
    chunk, looked, last_frame, acting, left, reasoned = 0, start, 0.0, start, 0, False
    said, points = "", {}  # the reasoning so far and the points it has said (playground/markers.py)

    def should_stop() -> bool:
        return session.stop.is_set() or time.perf_counter() > deadline

    loop = rollout(
        actor,
        session.backend,
        session.observation,
        MAX_STEPS,
        max_chunks,
        frames=budget.steps_per_frame,
        should_stop=should_stop,
    )
    for event in loop:
        now = time.perf_counter()
        if isinstance(event, Look):
            chunk, looked, said = chunk + 1, now, ""
        elif isinstance(event, ReasoningPiece):
            timing.setdefault("first_token_ms", (now - looked) * 1000)
            said += event.text
            new = said_points(said)
            frame = side_by_side(session.observation, new) if new != points else None
            points = new
            yield Update("reasoning", chunk, text=event.text, frame=frame, timing=timing)
        elif isinstance(event, Acted):
            decision = event.decision
            if decision.reasoned:
                session.reasoning = decision.reasoning
            if decision.reasoning is not None:  # an edited text points too
                points = said_points(getattr(decision.reasoning, "text", decision.reasoning))
            reasoned = decision.reasoned
            timing["reason_s"] += decision.reason_s
            timing["act_s"] += decision.act_s
            timing["chunks"] += 1
            session.predicted.append(event.actions)
            acting, left = now, len(event.actions)
        elif isinstance(event, Played):
            session.observation = event.observation
            path = event.info.get("joint_path")  # every step's joints, where the backend measures them (the sim)
            if path is None:
                path = [event.observation[STATE_KEY]]
            session.executed.extend(np.asarray(path, dtype=np.float32).reshape(-1, 6))
            timing["steps"] = event.steps
            timing["step_s"] += now - acting
            acting, left = now, left - event.ran
            # frames are paced by time, not by step count: on a busy box the sim slows down, and sending every step
            # then keeps the view above 10 fps; on an idle one it caps the traffic at budget.max_fps
            last = left <= 0 or event.info.get("done") or should_stop()  # a chunk's last frame always goes out
            if now - last_frame >= 1.0 / budget.max_fps or last:
                last_frame = now
                timing["frames"] += 1
                frame = side_by_side(event.observation, points)
                yield Update("acting", chunk, frame=frame, timing=timing, reasoned=reasoned)
        elif isinstance(event, Ended):
            timing["episode_s"] = time.perf_counter() - start
            verdict = _ending(session, session.backend.verdict(), event.why, chunk, budget, edited)
            yield Update("done", chunk, verdict=verdict, timing=timing)


def _ending(session, verdict: Verdict, why: str, chunks: int, budget: Budget, edited: bool) -> Verdict:
    """The verdict, with why the episode stopped when it did not finish."""
    if verdict.done:
        return verdict
    if session.stop.is_set():
        reason = "stopped by you"
    elif edited:
        reason = "one chunk on your reasoning"
    elif why == "budget" and chunks >= budget.max_chunks:
        reason = f"out of budget ({budget.max_chunks} chunks)"
    else:
        reason = f"out of time ({budget.max_seconds:.0f} s)"
    return Verdict(verdict.success, f"{verdict.text} — {reason}", done=False)
