"""The observe-reason-act loop streams real reasoning and frames, honours the budget and Stop, and acting on
edited reasoning changes the chunk (the reasoning-following test)."""

import threading

import numpy as np
import pytest

from playground import episodes
from playground.backends import make_backend
from playground.control_loop import Budget, act_on_text, run_episode
from playground.markers import MARKER_RGB, mark_points, said_points
from playground.session import Session


@pytest.fixture
def session():
    s = Session(backend=make_backend())
    scenario, obs = s.backend.new_scene("math_matching", lambda env: episodes.typed_math(env, 0, "3 + 4 = ?", 7))
    s.start_scene(scenario, obs)
    yield s
    s.close()


@pytest.mark.parametrize(("cadence", "reasoned"), [("once", [1]), ("every_chunk", [1, 2])])
def test_episode_streams_reasoning_then_frames_and_ends_on_the_budget(session, nano_policy, cadence, reasoned):
    budget = Budget(max_chunks=2, max_fps=1000, cadence=cadence)
    updates = list(run_episode(session, nano_policy, threading.Lock(), budget))
    phases = [u.phase for u in updates]
    assert phases[0] == "reasoning" and phases[-1] == "done"
    assert phases.index("acting") > phases.index("reasoning")
    assert sorted({u.chunk for u in updates if u.phase == "reasoning"}) == reasoned  # as eval, by default once
    streamed = "".join(u.text for u in updates if u.phase == "reasoning" and u.chunk == reasoned[-1])
    assert streamed.strip() and streamed.strip() == session.reasoning.text, "the stream is the reasoning, whole"
    frames = [u.frame for u in updates if u.phase == "acting"]
    assert len(frames) == 32 and frames[0].shape == (224, 448, 3), "one frame per step when the cap allows it"
    assert not np.array_equal(frames[0], frames[-1]), "the view did not change while acting"
    done = updates[-1]
    assert done.verdict.success is False and "2 chunks" in done.verdict.text
    assert done.timing["chunks"] == 2 and done.timing["steps"] == 32
    assert len(session.predicted) == 2 and session.predicted[0].shape == (16, 6)
    assert session.executed_array().shape == (32, 6)
    drove = {u.chunk: u.reasoned for u in updates if u.phase == "acting"}
    assert drove == {1: True, 2: cadence == "every_chunk"}, "each chunk says whether a reasoning of its own drove it"


def test_the_cameras_render_no_faster_than_frames_go_out_and_every_step_is_still_measured(session, nano_policy):
    budget = Budget(max_chunks=1, max_fps=15)  # 30 Hz control: a render every 2 steps
    assert budget.steps_per_frame == 2
    updates = list(run_episode(session, nano_policy, threading.Lock(), budget))
    assert sum(u.phase == "acting" for u in updates) <= 8
    executed = session.executed_array()
    assert executed.shape == (16, 6) and len(np.unique(executed, axis=0)) > 8, "a measured state for every step"


def test_stop_ends_the_episode_early(session, nano_policy):
    updates = run_episode(session, nano_policy, threading.Lock(), Budget(max_chunks=6))
    seen = []
    for u in updates:
        seen.append(u)
        if u.phase == "acting":
            session.stop.set()
    assert seen[-1].phase == "done" and "stopped by you" in seen[-1].verdict.text
    assert seen[-1].timing["chunks"] == 1 and seen[-1].timing["steps"] < 16


def test_acting_on_edited_reasoning_changes_the_chunk(session, nano_policy):
    obs = session.observation
    a = nano_policy.act(obs, "The board says 3 + 4 = ?. 3 + 4 = 7. Pick the card 7.", seed=0)
    b = nano_policy.act(obs, "Pick the card 2.", seed=0)
    assert not np.allclose(a, b), "editing the reasoning must change the action"
    updates = list(act_on_text(session, nano_policy, threading.Lock(), "Pick the card 2.", Budget(max_fps=5)))
    assert np.allclose(session.predicted[-1], b)
    assert updates[-1].phase == "done" and "one chunk on your reasoning" in updates[-1].verdict.text
    frames = sum(u.phase == "acting" for u in updates)
    assert 2 <= frames < 16, "the frame cap did not thin out the frames"


def test_points_in_an_edited_reasoning_are_marked_on_the_front_image_while_acting(session, nano_policy):
    front = session.observation["observation.images.front"]
    text = "I pick the card 7 at (300, 650). I place it in the tray, at (700, 700)."
    updates = list(act_on_text(session, nano_policy, threading.Lock(), text, Budget(max_fps=1000)))
    frame = next(u.frame for u in updates if u.phase == "acting")
    h, w = front.shape[:2]
    for (x, y), rgb in [((300, 650), MARKER_RGB["object"]), ((700, 700), MARKER_RGB["place"])]:
        px, py = round(x / 1000 * w), round(y / 1000 * h)
        patch = frame[py - 8 : py + 8, px - 8 : px + 8].reshape(-1, 3).astype(int)
        assert (np.abs(patch - rgb).sum(axis=1) < 60).any(), f"no marker at {(x, y)}"
    plain = list(act_on_text(session, nano_policy, threading.Lock(), "Pick the card 2.", Budget(max_fps=1000)))
    unmarked = next(u.frame for u in plain if u.phase == "acting")
    assert not any(
        (np.abs(unmarked.reshape(-1, 3).astype(int) - MARKER_RGB[r]).sum(axis=1) < 30).any() for r in MARKER_RGB
    )


def test_only_whole_points_are_read_from_a_reasoning_still_streaming_and_no_point_leaves_the_image_alone():
    assert said_points("The board says 3 + 4 = ?. 3 + 4 = 7. I pick the card 7 at (41") == {}
    assert said_points("I pick the card 7 at (412, 655).") == {"object": (412, 655)}
    image = np.full((224, 224, 3), 128, np.uint8)
    assert mark_points(image, {}) is image and not np.array_equal(mark_points(image, {"place": (500, 500)}), image)
