"""Restarted experts (sim.scripted): one recovers from a near miss and from a carry toward the wrong place; only
untouched looks and looks holding the object off the table get labels."""

import dataclasses

import numpy as np
import pytest

from sim.scripted import carry_label, decoy_expert, expert_label, held_off_the_table, needs_a_pick, same_kind


def _untouched(env, rest_z: float) -> bool:
    return needs_a_pick(env, env.scene.bodies[env.episode.pick], rest_z)


def _near_miss(env, seed: int, off: float = 0.02, turn: float = 0.3, gripper: float = -0.15) -> float:
    """Reset `seed`, then put the tool `off` m beside the object, 5 cm up, turned `turn` rad from the expert's grasp,
    fingers at `gripper` (shut): where a policy that came down off its aim stands. Returns the object's resting
    height."""
    env.reset(seed=seed)
    scene, plan, expert = env.scene, env.task.expert_plan(env.scene, env.episode), env.expert()
    q5, residual = scene.arm.ik_top_down(
        (plan.pick_xy[0], plan.pick_xy[1] + off, 0.05), expert.grasp_yaw + turn, expert.hover_q[:5], multistart=True
    )
    assert residual < 1e-3
    scene.arm.reset(np.concatenate([q5, [gripper]]))
    scene.step_physics(10)
    return scene.pose(scene.bodies[env.episode.pick])[0][2]


@pytest.mark.slow
@pytest.mark.parametrize("task", ["math_matching", "toy_placement"])
def test_an_expert_restarted_at_each_untouched_look_recovers_a_near_miss(task):
    import sim

    env = sim.make_env(task, "train", cameras=())
    try:
        rest_z = _near_miss(env, seed=1)
        expert, restarts, success, steps = None, [], False, 0
        while not success and steps < 450:
            if _untouched(env, rest_z):  # before the grasp: a new expert from here, as the labels are made
                expert = env.expert()
                restarts.append(expert.restart_here())
            *_, success, truncated, _, ran = env.step_chunk([expert.act() for _ in range(16)])
            steps += ran
            assert not truncated
        assert success and restarts[0] == "rise"  # shut fingers beside the object: straight up first
    finally:
        env.close()


def test_a_restarted_expert_descends_only_from_a_good_grasp_pose():
    import sim

    env = sim.make_env("toy_placement", "train", cameras=())
    try:
        env.reset(seed=1)  # the arm folded at home, high above the table
        assert env.expert().restart_here() == "approach"
        _near_miss(env, seed=1, off=0.01, turn=0.1, gripper=1.0)  # just off, fingers open: correct on the way down
        expert = env.expert()
        assert expert.restart_here() == "descend" and expert.phase == "descend"
        for off, turn, gripper in ((0.04, 0.1, 1.0), (0.01, 0.6, 1.0), (0.01, 0.1, 0.2)):  # far, turned, fingers shut
            _near_miss(env, seed=1, off=off, turn=turn, gripper=gripper)
            assert env.expert().restart_here() == "rise"
    finally:
        env.close()


def test_a_near_miss_label_rises_straight_up_with_the_fingers_as_they_are():
    import sim

    env = sim.make_env("math_matching", "train", cameras=())
    try:
        _near_miss(env, seed=1)
        label = expert_label(env, 16)
        assert label.shape == (16, 6) and label.dtype == np.float32
        tcp = np.array([env.scene.arm.fk_world(q) for q in label])
        rising = tcp[:, 2] < tcp[-1, 2] - 1e-4  # straight up to the hover height, where it starts across
        assert rising[:8].all() and tcp[-1, 2] > tcp[0, 2] + 0.02
        assert np.linalg.norm(tcp[rising][-1, :2] - tcp[0, :2]) < 0.003
        np.testing.assert_allclose(label[rising, 5], env.scene.arm.joint_positions()[5], atol=1e-6)  # still shut
        assert label[-1, 5] > label[0, 5]  # opening only once up there
    finally:
        env.close()


def _lowered_at_the_wrong_place(env, seed: int, dy: float = -0.07) -> tuple[int, float]:
    """Reset `seed`, then let an expert whose place point lies `dy` m off the task's pick the object and lower it
    there until the tool is 6 cm up: a policy that carried the object off its aim. Returns (body, resting height)."""
    from sim.expert import ScriptedExpert

    env.reset(seed=seed)
    scene, plan = env.scene, env.task.expert_plan(env.scene, env.episode)
    body = scene.bodies[env.episode.pick]
    rest_z = scene.pose(body)[0][2]
    wrong = dataclasses.replace(plan, place_xy=(plan.place_xy[0], plan.place_xy[1] + dy))
    decoy = ScriptedExpert(scene.arm, wrong, scene.config.control_hz, scene.arm.joint_positions())
    while not (decoy.phase == "lower" and scene.arm.fk_world(scene.arm.joint_positions())[2] < 0.06):
        env.step_chunk([decoy.act() for _ in range(4)])
    return body, rest_z


@pytest.mark.slow
@pytest.mark.parametrize("task", ["math_matching", "toy_placement"])
def test_an_expert_restarted_holding_the_object_sets_it_down_where_it_belongs(task):
    import sim

    env = sim.make_env(task, "train", cameras=())
    try:
        body, rest_z = _lowered_at_the_wrong_place(env, seed=1)
        held = held_off_the_table(env, body, rest_z)
        assert held is not None and 0.0 < held < 0.05  # the tool a little above the held object's bottom
        expert = env.expert()
        assert expert.restart_holding(held) == "carry" and expert.phase == "lift"  # low and away: up first
        success, steps = False, 0
        while not success and steps < 400:
            *_, success, truncated, _, ran = env.step_chunk([expert.act() for _ in range(16)])
            steps += ran
            assert not truncated
        place = env.task.expert_plan(env.scene, env.episode).place_xy
        assert success and np.hypot(*(env.scene.pose(body)[0][:2] - place)) < 0.01
    finally:
        env.close()


def test_a_carry_label_rises_shut_and_then_heads_for_the_place_point():
    import sim

    env = sim.make_env("toy_placement", "train", cameras=())
    try:
        body, rest_z = _lowered_at_the_wrong_place(env, seed=1)
        label = carry_label(env, held_off_the_table(env, body, rest_z), 16)
        assert label.shape == (16, 6) and label.dtype == np.float32
        assert (label[:, 5] < 0).all()  # the fingers stay shut on the object
        tcp = np.array([env.scene.arm.fk_world(q) for q in label])
        assert tcp[-1, 2] > tcp[0, 2] + 0.01 and np.linalg.norm(tcp[5, :2] - tcp[0, :2]) < 0.003  # up, not across
        env.reset(seed=1)
        assert held_off_the_table(env, body, rest_z) is None  # resting on the table: no carry
    finally:
        env.close()


def _closing(env, seed: int, off: float) -> None:
    """Reset `seed`, then let an expert aiming `off` m beside the object come down and shut its fingers until they
    are half shut and still clear of it: a look in the middle of a grasp."""
    env.reset(seed=seed)
    body = env.scene.bodies[env.episode.pick]
    rest_z = env.scene.pose(body)[0][2]
    decoy = decoy_expert(env, (0.0, off))
    while not (decoy.phase == "close" and env.scene.arm.joint_positions()[5] < 0.75):
        env.step_chunk([decoy.act()])
    assert _untouched(env, rest_z)


@pytest.mark.slow
def test_an_expert_restarted_halfway_through_a_good_grasp_finishes_it():
    import sim

    env = sim.make_env("toy_placement", "train", cameras=())  # a card's edge touches the fingers on the way down
    try:
        _closing(env, seed=1, off=0.005)
        expert = env.expert()
        assert expert.restart_here() == "grasp" and expert.phase == "close"
        label = expert_label(env, 16)
        assert (label[:, 5] < 0).all()  # shutting, not reopening
        success, steps = False, 0
        while not success and steps < 400:
            *_, success, truncated, _, ran = env.step_chunk([expert.act() for _ in range(16)])
            steps += ran
            assert not truncated
        assert success
        _closing(env, seed=1, off=0.03)  # shutting well beside it: up and again
        assert env.expert().restart_here() == "rise"
    finally:
        env.close()


def test_same_kind_names_the_other_cards_and_toys():
    bodies = {"card_4": 1, "card_7": 2, "card_0": 3, "tray": 4, "toy_0": 5, "toy_1": 6, "bowl": 7}
    assert same_kind(bodies, "card_4") == [2, 3]
    assert same_kind(bodies, "toy_0") == [6]
