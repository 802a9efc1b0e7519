"""The expert viewer streams real frames from the simulator and ends on the success verdict."""

import numpy as np

from playground.expert_viewer import run_expert_stream


def test_stream_yields_changing_frames_and_a_verdict():
    updates = list(run_expert_stream("math_matching", "train", 2))
    frames = [f for f, _ in updates]
    assert frames[0].shape == (224, 448, 3) and frames[0].dtype == np.uint8
    assert not np.array_equal(frames[0], frames[len(frames) // 2]), "the view did not change while acting"
    assert "**Instruction:**" in updates[0][1]
    assert "**success**" in updates[-1][1]


def test_the_expert_runs_in_the_world_it_is_given():
    from sim.world import World

    updates = list(run_expert_stream("math_matching", "train", 2, World(336, "row")))
    assert updates[0][0].shape == (336, 672, 3) and "**success**" in updates[-1][1]


def test_app_builds():
    from playground.expert_viewer import build_app

    demo = build_app()
    assert demo is not None
