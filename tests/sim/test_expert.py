"""The scripted expert solves seeded episodes of both tasks by real physics grasps."""

import numpy as np
import pytest

import sim
from sim.bench import run_expert_episode


@pytest.mark.slow
@pytest.mark.parametrize(
    "task,split",
    [
        ("math_matching", "train"),
        ("math_matching", "heldout"),
        ("toy_placement", "train"),
        ("toy_placement", "heldout"),
    ],
)
def test_expert_solves_seeded_episodes(task, split):
    env = sim.make_env(task, split, cameras=())
    results = [run_expert_episode(env, seed)[0] for seed in range(100, 104)]
    env.close()
    assert all(results), f"expert failed on seeds {[100 + i for i, ok in enumerate(results) if not ok]}"


def test_grasp_holds_the_object_by_friction(math_env):
    """Lift the answer card and hold it in the air: only the jaw's squeeze keeps it up."""
    math_env.reset(seed=7)
    scene = math_env.scene
    card = scene.bodies[math_env.episode.pick]
    expert = math_env.expert()
    while expert.phase != "carry":
        math_env.step(expert.act())
    assert scene.pose(card)[0][2] > 0.05, "the card did not come up with the gripper"
    assert scene.touching(scene.arm.body, card)
    # open the jaw mid-air: the card must fall
    q = scene.arm.joint_positions()
    q[5] = 1.2
    for _ in range(20):
        math_env.step(q)
    assert scene.pose(card)[0][2] < 0.03, "the card stayed up with the jaw open"


def test_expert_actions_are_smooth(math_env):
    math_env.reset(seed=8)
    expert = math_env.expert()
    prev = math_env.scene.arm.joint_positions()
    worst = 0.0
    while not expert.done:
        a = expert.act()
        worst = max(worst, float(np.max(np.abs(a[:5] - prev[:5]))))
        prev = a
        math_env.step(a)
    assert worst < 0.2, f"an arm joint target jumped {worst:.2f} rad in one control step"
