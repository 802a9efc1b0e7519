"""The geometric channel: a reasoning's points become table places, and the tool space round-trips through the arm's
kinematics so well that the scripted expert, replayed through it, still solves its tasks."""

from __future__ import annotations

import numpy as np
import pytest

import sim
from chatvla2_lite.data.reasoning_targets import placement_xyz, reasoning_target
from chatvla2_lite.model.geometry import joint_chunk, reasoning_anchors, tool_chunk
from chatvla2_lite.model.reasoning_points import point_text, reasoning_points
from chatvla2_lite.training.run import sim_geometry
from sim.kinematics import tcp_poses
from sim.points import to_point
from sim.world import World

WORLD = World(points=True)
GEOMETRY = sim_geometry(WORLD)


def _episode(task: str, seed: int, split: str = "train"):
    env = sim.make_env(task, split=split, world=WORLD)
    obs, info = env.reset(seed=seed)
    return env, obs, info


@pytest.mark.parametrize("task", ["math_matching", "toy_placement"])
def test_the_anchors_are_where_the_reasoning_points(task):
    env, _obs, info = _episode(task, 3)
    env.close()
    text = reasoning_target(info)
    xy, said = reasoning_anchors(text, GEOMETRY)
    assert said.tolist() == [True, True]
    pick = info["positions"][f"card_{info['answer']}"] if task == "math_matching" else info["positions"]["toy_0"]
    place = info["positions"]["tray"] if task == "math_matching" else placement_xyz(info)
    assert np.linalg.norm(xy[0] - np.asarray(pick[:2])) < 0.01
    assert np.linalg.norm(xy[1] - np.asarray(place[:2])) < 0.005
    moved = text.replace(point_text(reasoning_points(text)["place"]), point_text(to_point([0.2, 0.1, 0.0])))
    np.testing.assert_allclose(reasoning_anchors(moved, GEOMETRY)[0][1], [0.2, 0.1], atol=0.003)  # the text moves it


def test_a_reasoning_without_points_leaves_its_anchors_unsaid():
    xy, said = reasoning_anchors("The board says 3 + 4 = ?. 3 + 4 = 7. I pick the card 7.", GEOMETRY)
    assert said.tolist() == [False, False] and not xy.any()


def test_the_batched_forward_kinematics_is_the_single_one():
    from sim.kinematics import tcp_pose

    q = np.random.default_rng(0).uniform(-1.2, 1.2, (9, 6))
    np.testing.assert_allclose(tcp_poses(q), np.stack([tcp_pose(x) for x in q]), atol=1e-12)


def test_a_top_down_tool_chunk_solves_back_to_its_pose():
    env, obs, _info = _episode("toy_placement", 4)
    expert = env.expert()
    actions = np.array([expert.act() for _ in range(120)])[60:]  # past the joint-space approach: top-down
    env.close()
    tool = tool_chunk(actions, GEOMETRY)
    assert np.abs(tool[:, 3]).max() < 1.5  # the relative yaw keeps away from its wrap at +-pi
    back = tool_chunk(joint_chunk(tool, actions[0], GEOMETRY), GEOMETRY)
    np.testing.assert_allclose(back[:, :3], tool[:, :3], atol=1e-3)  # within a millimetre
    np.testing.assert_allclose(back[:, 3:], tool[:, 3:], atol=1e-2)


@pytest.mark.parametrize("task", ["math_matching", "toy_placement"])
def test_the_scripted_expert_replayed_through_tool_space_still_succeeds(task):
    """The representation loses nothing a task needs: each chunk of the expert's actions, taken to tool space and
    solved back from the joints the arm really has, still puts the card in the tray and the toy in its place."""
    env, obs, _info = _episode(task, 10_000, split="heldout")
    expert = env.expert()
    actions = []
    while not expert.done and len(actions) < env.max_steps:
        actions.append(expert.act())
    tool = tool_chunk(np.array(actions), GEOMETRY)
    info = {}
    for start in range(0, len(tool), 16):
        for action in joint_chunk(tool[start : start + 16], obs["observation.state"], GEOMETRY):
            obs, _reward, _terminated, _truncated, info = env.step(action)
    env.close()
    assert info.get("is_success")
