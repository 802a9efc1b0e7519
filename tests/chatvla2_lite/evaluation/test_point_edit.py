"""eval --point-edit moves the reasoning's placement point and scores whether the toy ends there: an arm that follows
the points passes it, one that follows only the words fails it."""

from dataclasses import replace
from types import SimpleNamespace

import numpy as np
import pytest

import sim
from chatvla2_lite.data.reasoning_targets import reasoning_target
from chatvla2_lite.evaluation.point_edit import free_spots, point_edited_reasoning, run_point_edit
from chatvla2_lite.model.reasoning_points import reasoning_points
from sim.expert import ScriptedExpert
from sim.points import on_plane
from sim.world import World


class ScriptedFollower:
    """The scripted expert as a policy: it puts the toy at the reasoning's placement point (`follow_point`), or
    where the task's words say (the expert's own place), ignoring the point."""

    def __init__(self, env, follow_point: bool):
        self.env, self.follow_point, self.expert = env, follow_point, None
        self.config = SimpleNamespace(action_expert=SimpleNamespace(n_action_steps=16))

    def reset(self):
        self.expert = None

    def act(self, observation, reasoning, seed=0):
        env = self.env
        if self.expert is None:
            plan = env.task.expert_plan(env.scene, env.episode)
            if self.follow_point:
                plan = replace(plan, place_xy=tuple(on_plane(reasoning_points(reasoning)["place"])))
            arm = env.scene.arm
            self.expert = ScriptedExpert(arm, plan, env.scene.config.control_hz, arm.joint_positions())
        return np.stack([self.expert.act() for _ in range(16)])


@pytest.fixture(scope="module")
def env():
    e = sim.make_env("toy_placement", "heldout", cameras=(), world=World(points=True))
    yield e
    e.close()


def test_only_the_placement_point_moves_and_it_lands_on_a_free_spot(env):
    rng = np.random.default_rng(0)
    for seed in range(10_000, 10_010):
        _, info = env.reset(seed=seed)
        made = point_edited_reasoning(info, rng)
        if made is None:
            assert not free_spots(info)
            continue
        text, spot = made
        truth = reasoning_target(info)
        assert reasoning_points(text)["object"] == reasoning_points(truth)["object"]
        assert reasoning_points(text)["place"] != reasoning_points(truth)["place"]
        assert text.split(" at (")[:-1] == truth.split(" at (")[:-1], "the words stay as they were"
        assert any(np.linalg.norm(np.asarray(xyz[:2]) - spot) < 0.002 for _, xyz in free_spots(info))


def test_a_reasoning_without_points_cannot_be_point_edited():
    e = sim.make_env("toy_placement", "heldout", cameras=())
    try:
        _, info = e.reset(seed=10_000)
    finally:
        e.close()
    with pytest.raises(ValueError, match="no points"):
        point_edited_reasoning(info, np.random.default_rng(0))


@pytest.mark.slow
def test_an_arm_that_follows_the_point_passes_and_one_that_follows_the_words_fails(env):
    rows = {True: [], False: []}
    for follow in rows:
        rng, seed = np.random.default_rng(1), 10_000
        while len(rows[follow]) < 6:
            row = run_point_edit(ScriptedFollower(env, follow), env, seed, rng)
            seed += 1
            if row is not None:
                rows[follow].append(row)
    assert sum(r["followed_point"] for r in rows[True]) >= 5, rows[True]
    assert not any(r["followed_point"] for r in rows[False]) and all(r["followed_words"] for r in rows[False])


def test_eval_point_edit_on_a_model_whose_reasoning_does_not_point_says_so(capsys):
    from chatvla2_lite.cli import main

    assert main(["eval", "--task", "toy_placement", "--point-edit", "--episodes", "1", "--json"]) == 2
    assert "no points" in capsys.readouterr().err
    assert main(["eval", "--task", "math_matching", "--point-edit", "--json"]) == 2
    assert "--task toy_placement" in capsys.readouterr().err
