"""The one closed loop: look, let the actor decide a chunk (a policy reasons when its cadence says), play it, until
the episode is done, the budget is spent or the caller stops it.

Eval, the playground, `ChatVLA2.select_action` and the data makers all run this loop; they differ only in their
actor (a policy, or a scripted expert's plan), their robot (a sim env, the playground's backend) and what they do
with the events it yields:

    Look(step, observation)            before the actor decides: a data maker labels the look here
    ReasoningPiece(text)               a piece of reasoning as it streams (an actor that streams)
    Acted(look, actions, reasoning)    the chunk the actor decided, cut to the budget
    Played(observation, info, steps)   actions that ran (the whole chunk, or the few steps of a frame when wanted)
    Ended(steps, observation, info, why)

The reasoning cadence is explicit: "once" reasons at the episode's first look and acts on that reasoning until the
end, as ChatVLA-2 does (and every figure of the shipped model was measured so); "every_chunk" reasons again at
each look; "on_arrival" reasons again when a new target is needed: after a chunk in which no joint moved more than
ARRIVED_RAD, the arm has done what its reasoning pointed at, and the episode is not over (a grasp that slipped, a toy
that rolled), so the next look reasons afresh on where things now are. Nothing here imports the model or the
simulator: actors and robots are anything with their methods.
"""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import nullcontext
from dataclasses import dataclass
from typing import Protocol

import numpy as np

CADENCES = ("once", "every_chunk", "on_arrival")
DEFAULT_CADENCE = "once"
ARRIVED_RAD = 0.02  # a chunk whose joints all stay within this range (rad) has arrived: "on_arrival" reasons again


class Robot(Protocol):
    def step(self, actions: np.ndarray) -> tuple[dict, dict, int]:
        """Play `actions` (k, 6), one control period each, stopping early when the episode ends: the observation
        after the last one, info (with "done" True once the episode ended) and how many ran."""


@dataclass
class Look:
    step: int  # control steps played before it
    observation: dict


@dataclass
class ReasoningPiece:
    text: str


@dataclass
class Decision:
    """What an actor decided at a look: the chunk (k, 6), the reasoning it follows and whether it was written now."""

    actions: np.ndarray
    reasoning: object = None  # the text, or the model's Reasoning (with its routing) when it was written here
    reasoned: bool = False
    reason_s: float = 0.0  # seconds spent reasoning at this look, and acting
    act_s: float = 0.0


@dataclass
class Acted:
    look: Look
    actions: np.ndarray  # (k, 6): what will be played of the decided chunk, cut to the budget
    decision: Decision


@dataclass
class Played:
    observation: dict
    info: dict
    steps: int  # control steps played in the episode so far
    ran: int  # of them by this call


@dataclass
class Ended:
    steps: int
    observation: dict
    info: dict
    why: str  # "done" (the robot says so), "budget", "stopped" or "actor" (it had nothing more to play)


def rollout(
    actor,
    robot: Robot,
    observation: dict,
    max_steps: int,
    max_chunks: int | None = None,
    frames: int = 0,
    should_stop: Callable[[], bool] | None = None,
) -> Iterator[Look | ReasoningPiece | Acted | Played | Ended]:
    """Run one episode from `observation`; `frames` plays that many steps at a time (an observation after each part,
    for a view that streams), 0 a chunk at a time (the cameras render once a chunk). `actor.decide(look)` yields
    reasoning pieces and then a Decision, or nothing when it is done."""
    stop = should_stop or (lambda: False)
    steps, chunks, info, why = 0, 0, {}, "budget"
    while steps < max_steps and (max_chunks is None or chunks < max_chunks):
        if stop():
            why = "stopped"
            break
        look = Look(steps, observation)
        yield look
        decision = None
        for item in actor.decide(look):
            if isinstance(item, ReasoningPiece):
                yield item
            else:
                decision = item
        if decision is None:
            why = "actor"
            break
        actions = np.asarray(decision.actions)[: max_steps - steps]
        yield Acted(look, actions, decision)
        chunks += 1
        every = int(frames) or max(1, len(actions))
        for part in (actions[i : i + every] for i in range(0, len(actions), every)):
            observation, info, ran = robot.step(part)
            steps += ran
            yield Played(observation, info, steps, ran)
            if info.get("done") or stop():
                break
        if info.get("done"):
            why = "done"
            break
    yield Ended(steps, observation, info, why)


class PolicyActor:
    """A ChatVLA2 (anything with reason, act and config) as an actor: it reasons at a look when its cadence says,
    acts on the last reasoning otherwise, and plays the policy's n_action_steps of each chunk.

    `reasoning`: a text to act on instead of reasoning (the ground truth's, an edited one). `stream`: yield the
    reasoning piece by piece as it is generated (it runs in a worker thread). `lock`: held around each model call
    (a model shared between sessions). The chunk of the look at control step t is drawn with seed `seed + t`."""

    def __init__(
        self,
        policy,
        cadence: str = DEFAULT_CADENCE,
        reasoning: str | None = None,
        seed: int = 0,
        stream=False,
        lock=None,
    ):
        if cadence not in CADENCES:
            raise ValueError(f"cadence must be one of {CADENCES}, got {cadence!r}")
        self.policy, self.cadence, self.given, self.seed, self.stream = policy, cadence, reasoning, seed, stream
        self.lock = lock or nullcontext()
        self.reasoning = None  # the text, or the Reasoning, the next chunk follows
        self.arrived = False  # the last chunk stood still (cadence "on_arrival")

    def decide(self, look: Look) -> Iterator[ReasoningPiece | Decision]:
        reasoned, started = False, time.perf_counter()
        again = self.cadence == "every_chunk" or (self.cadence == "on_arrival" and self.arrived)
        if self.reasoning is None or (again and self.given is None):
            if self.given is not None:
                self.reasoning = self.given
            else:
                yield from self._reason(look.observation)
                reasoned = True
        acting = time.perf_counter()
        with self.lock:
            chunk = self.policy.act(look.observation, self.reasoning, seed=self.seed + look.step)
        n = self.policy.config.action_expert.n_action_steps or len(chunk)
        self.arrived = bool(np.ptp(np.asarray(chunk[:n]), axis=0).max() < ARRIVED_RAD)
        yield Decision(chunk[:n], self.reasoning, reasoned, acting - started, time.perf_counter() - acting)

    def _reason(self, observation: dict) -> Iterator[ReasoningPiece]:
        """Set self.reasoning from the policy, yielding the text as it streams (when self.stream)."""
        if not self.stream:
            with self.lock:
                self.reasoning = self.policy.reason(observation)
            return
        for item in stream_reasoning(self.policy, observation, self.lock):
            if isinstance(item, str):
                yield ReasoningPiece(item)
            else:
                self.reasoning = item

    @property
    def text(self) -> str | None:
        return getattr(self.reasoning, "text", self.reasoning)


class _Finished:
    def __init__(self, value=None, error: BaseException | None = None):
        self.value, self.error = value, error


def stream_reasoning(policy, observation: dict, lock=None) -> Iterator[str | object]:
    """Yield the reasoning text piece by piece, then the Reasoning object itself.

    `reason` blocks until the last token, so it runs in a worker thread and its streamer feeds a queue that this
    generator drains; pieces that arrive together go out as one, so a page is not flooded.
    """
    pieces: queue.Queue = queue.Queue()

    def work():
        try:
            with lock or nullcontext():
                result = policy.reason(observation, streamer=pieces.put)
            pieces.put(_Finished(result))
        except BaseException as exc:  # handed to the consumer, which re-raises it in its own thread
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


def _never() -> bool:
    return False


class ScriptActor:
    """A scripted actor (the sim's expert, a decoy): at each look the next `every` actions of `next_action()`, fewer
    once `exhausted()`; nothing more to play once `stop()` holds at a look."""

    def __init__(self, next_action: Callable[[], np.ndarray], every: int, stop=_never, exhausted=_never):
        self.next_action, self.every, self.stop, self.exhausted = next_action, every, stop, exhausted

    def decide(self, look: Look) -> Iterator[Decision]:
        if self.stop():
            return
        actions = []
        while len(actions) < self.every and not self.exhausted():
            actions.append(np.asarray(self.next_action()))  # as given: the sim commands them at their own precision
        if actions:
            yield Decision(np.stack(actions))


class PlannedActor:
    """A plan known in full (a scripted expert plans open loop): at the look of control step t its actions t to
    t + every, nothing once it is played."""

    def __init__(self, plan: list[np.ndarray], every: int):
        self.plan, self.every = plan, every

    def decide(self, look: Look) -> Iterator[Decision]:
        if look.step < len(self.plan):
            yield Decision(np.stack(self.plan[look.step : look.step + self.every]))


class EnvRobot:
    """A sim env (sim.env.So100TabletopEnv) as the loop's robot: a chunk a call, the cameras rendered after it."""

    def __init__(self, env):
        self.env = env

    def step(self, actions: np.ndarray) -> tuple[dict, dict, int]:
        obs, _, terminated, truncated, info, ran = self.env.step_chunk(actions)
        return obs, {**info, "done": bool(terminated or truncated)}, ran
