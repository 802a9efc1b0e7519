"""The expert's corrections: a restarted expert recovers from a policy's near miss; only untouched looks get labels."""

from types import SimpleNamespace

import numpy as np
import pytest

from chatvla2_lite.data.expert_corrections import (corrected_rollout, expert_correction_samples, expert_label,
                                                   needs_a_pick)


def _untouched(env, rest_z: float) -> bool:
    return needs_a_pick(env, env.scene.bodies[env.episode.pick], rest_z)


def _near_miss(env, seed: int, off: float = 0.02, turn: float = 0.3, gripper: float = -0.15) -> float:
    """Reset `seed`, then put the tool `off` m beside the object, 5 cm up, turned `turn` rad from the expert's grasp,
    fingers at `gripper` (shut): where a policy that came down off its aim stands. Returns the object's resting
    height."""
    env.reset(seed=seed)
    scene, plan, expert = env.scene, env.task.expert_plan(env.scene, env.episode), env.expert()
    q5, residual = scene.arm.ik_top_down((plan.pick_xy[0], plan.pick_xy[1] + off, 0.05), expert.grasp_yaw + turn,
                                         expert.hover_q[:5], multistart=True)  # fmt: skip
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


class ExpertPolicy:
    """Plays one scripted expert from the reset on, whatever it sees: it grasps, so later looks are not labelled."""

    def __init__(self, env, n_action_steps=None):
        self.env, self.expert = env, None
        self.config = SimpleNamespace(action_expert=SimpleNamespace(n_action_steps=n_action_steps))

    def reset(self):
        self.expert = None

    def act(self, obs, reasoning, seed=0):
        self.expert = self.expert or self.env.expert()
        return np.stack([self.expert.act() for _ in range(16)])


@pytest.mark.slow
def test_a_corrected_rollout_labels_the_looks_before_the_grasp_only():
    import sim

    env = sim.make_env("toy_placement", "train", cameras=("front",))
    try:
        policy = ExpertPolicy(env)
        episode = corrected_rollout(env, policy, seed=2)
        assert episode["success"]
        first_obs, first_label = episode["looks"][0]
        assert "observation.images.front" in first_obs
        policy.reset()
        env.reset(seed=2)
        # at the start a restarted expert plans just as the one that plays
        np.testing.assert_allclose(first_label, policy.act(None, ""), atol=1e-6)
        plain = ExpertPolicy(env)
        env.reset(seed=2)
        chunks_before_grasp = 0
        rest_z = env.scene.pose(env.scene.bodies[env.episode.pick])[0][2]
        while _untouched(env, rest_z):
            env.step_chunk(plain.act(None, ""))
            chunks_before_grasp += 1
        assert len(episode["looks"]) == chunks_before_grasp  # the looks after the fingers touch the toy get none
    finally:
        env.close()


class StandStill(ExpertPolicy):
    """Holds the arm where it is: the toy stays untouched, so every look is labelled."""

    def act(self, obs, reasoning, seed=0):
        return np.tile(obs["observation.state"], (16, 1))


def test_a_corrected_rollout_plays_the_policys_n_action_steps_per_look_as_the_eval_does():
    import sim

    env = sim.make_env("toy_placement", "train", cameras=("front",))
    try:
        assert len(corrected_rollout(env, StandStill(env), seed=3, max_steps=40)["looks"]) == 3  # 16 + 16 + 8
        assert len(corrected_rollout(env, StandStill(env, n_action_steps=4), seed=3, max_steps=40)["looks"]) == 10
    finally:
        env.close()


@pytest.mark.slow
def test_correction_samples_split_the_scenes_between_workers(tmp_path):
    import torch

    from chatvla2_lite.policy_chatvla2 import ChatVLA2

    torch.manual_seed(0)
    ChatVLA2.from_config().save_pretrained(tmp_path / "policy")
    first = list(expert_correction_samples(str(tmp_path / "policy"), 2, shard=(0, 2)))
    second = list(expert_correction_samples(str(tmp_path / "policy"), 2, shard=(1, 2)))
    assert first and second
    assert all("card" in s.target for s in first) and not any("card" in s.target for s in second)  # math, then toy
    for s in first + second:
        assert s.action.shape == (16, 6) and np.isfinite(s.action).all()
        assert {"observation.images.front", "observation.images.wrist", "observation.state"} <= set(s.observation)


def test_corrections_go_only_to_an_action_stage_that_starts_from_a_model(tmp_path):
    from chatvla2_lite.training.recipe import recipe_stage
    from chatvla2_lite.training.run import run_training

    assert recipe_stage("chatvla2", "action", rollouts=5, corrections=5).mix == {"robot": 0.5, "rollouts": 0.5,
                                                                                "corrections": 0.5}  # fmt: skip
    assert recipe_stage("chatvla2", "action", corrections=5).mix == {"robot": 0.5, "corrections": 0.5}
    with pytest.raises(ValueError, match="only the chatvla2 action stage"):
        recipe_stage("chatvla2", "cotrain", corrections=5)
    with pytest.raises(ValueError, match="pass --init"):
        run_training("action", tmp_path / "out", robot_data=None, corrections=5, progress=False)
