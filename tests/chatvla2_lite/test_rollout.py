"""The one closed loop: when the policy reasons (its cadence), what is played (the budget, n_action_steps, frames),
and when it stops (the robot's done, the caller's stop, an actor with nothing more to play)."""

from types import SimpleNamespace

import numpy as np
import pytest

from chatvla2_lite.rollout import (
    Acted,
    Ended,
    Look,
    PlannedActor,
    Played,
    PolicyActor,
    ReasoningPiece,
    ScriptActor,
    rollout,
)


class CountingPolicy:
    """Reasons "go to 7" (streaming it in two pieces), acts a chunk of 16 steps of its call count."""

    def __init__(self, n_action_steps=None):
        self.config = SimpleNamespace(action_expert=SimpleNamespace(n_action_steps=n_action_steps))
        self.reasoned, self.acted = 0, []

    def reason(self, observation, streamer=None):
        self.reasoned += 1
        for piece in ("go to ", "7"):
            if streamer is not None:
                streamer(piece)
        return SimpleNamespace(text="go to 7")

    def act(self, observation, reasoning, seed=0):
        self.acted.append((getattr(reasoning, "text", reasoning), seed))
        return np.full((16, 6), len(self.acted), np.float32)


class StepRobot:
    """Counts the steps it plays; done after `done_at` of them."""

    def __init__(self, done_at=10**6):
        self.played, self.done_at = [], done_at

    def step(self, actions):
        ran = min(len(actions), self.done_at - len(self.played))
        self.played += list(actions[:ran])
        return {"n": len(self.played)}, {"done": len(self.played) >= self.done_at}, ran


@pytest.mark.parametrize(("cadence", "reasoned"), [("once", 1), ("every_chunk", 3)])
def test_the_policy_reasons_as_its_cadence_says_and_the_budget_cuts_the_last_chunk(cadence, reasoned):
    policy, robot = CountingPolicy(), StepRobot()
    events = list(rollout(PolicyActor(policy, cadence, seed=5), robot, {"n": 0}, max_steps=40))
    assert policy.reasoned == reasoned and len(robot.played) == 40
    assert [len(e.actions) for e in events if isinstance(e, Acted)] == [16, 16, 8]
    assert [seed for _, seed in policy.acted] == [5, 21, 37]  # seed + the look's control step
    assert [e.step for e in events if isinstance(e, Look)] == [0, 16, 32]
    assert isinstance(events[-1], Ended) and events[-1].why == "budget" and events[-1].steps == 40
    assert [e.decision.reasoned for e in events if isinstance(e, Acted)][0]


class ArrivingPolicy(CountingPolicy):
    """Its second chunk stands still: it has arrived where its reasoning pointed."""

    def act(self, observation, reasoning, seed=0):
        self.acted.append((getattr(reasoning, "text", reasoning), seed))
        if len(self.acted) == 2:
            return np.full((16, 6), 0.3, np.float32)
        return np.linspace(0, 1, 16, dtype=np.float32)[:, None].repeat(6, axis=1)


def test_on_arrival_reasons_again_only_after_a_chunk_that_stood_still():
    policy = ArrivingPolicy()
    list(rollout(PolicyActor(policy, "on_arrival"), StepRobot(), {}, max_steps=64))
    assert policy.reasoned == 2  # at the first look, and after the second chunk, which arrived
    given = ArrivingPolicy()
    list(rollout(PolicyActor(given, "on_arrival", reasoning="go to 2"), StepRobot(), {}, max_steps=64))
    assert given.reasoned == 0  # a given reasoning is never replaced


def test_given_reasoning_is_acted_on_without_reasoning():
    policy = CountingPolicy()
    list(rollout(PolicyActor(policy, "every_chunk", reasoning="go to 2"), StepRobot(), {}, max_steps=32))
    assert policy.reasoned == 0 and [text for text, _ in policy.acted] == ["go to 2", "go to 2"]


def test_a_streaming_actor_yields_the_pieces_before_its_chunk_and_a_robot_done_ends_the_episode():
    policy, robot = CountingPolicy(n_action_steps=8), StepRobot(done_at=20)
    events = list(rollout(PolicyActor(policy, stream=True), robot, {}, max_steps=450, frames=1))
    pieces = [e.text for e in events if isinstance(e, ReasoningPiece)]
    assert "".join(pieces) == "go to 7" and events.index(next(e for e in events if isinstance(e, Acted))) > 1
    played = [e for e in events if isinstance(e, Played)]
    assert len(played) == 20 and all(e.ran == 1 for e in played)  # frames: a step at a time
    assert [len(e.actions) for e in events if isinstance(e, Acted)] == [8, 8, 8]  # n_action_steps of each chunk
    assert events[-1].why == "done" and events[-1].steps == 20


def test_the_caller_stops_it_and_a_scripted_actor_ends_it():
    stop = {"now": False}
    robot = StepRobot()
    loop = rollout(PolicyActor(CountingPolicy()), robot, {}, 450, frames=1, should_stop=lambda: stop["now"])
    for event in loop:
        if isinstance(event, Played) and event.steps == 5:
            stop["now"] = True
    assert event.why == "stopped" and len(robot.played) == 5
    plan = [np.full(6, k, np.float32) for k in range(20)]
    events = list(rollout(PlannedActor(plan, 8), StepRobot(), {}, 450))
    assert [len(e.actions) for e in events if isinstance(e, Acted)] == [8, 8, 4] and events[-1].why == "actor"
    made = []  # a script of 10 actions: exhausted within the third chunk, then nothing more at the next look

    def next_action():
        made.append(len(made))
        return np.full(6, made[-1])

    actor = ScriptActor(next_action, 4, stop=lambda: len(made) >= 10, exhausted=lambda: len(made) >= 10)
    events = list(rollout(actor, StepRobot(), {}, 450))
    assert [len(e.actions) for e in events if isinstance(e, Acted)] == [4, 4, 2] and events[-1].why == "actor"
    with pytest.raises(ValueError, match="cadence must be one of"):
        PolicyActor(CountingPolicy(), "sometimes")
