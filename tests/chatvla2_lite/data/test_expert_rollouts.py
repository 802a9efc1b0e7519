"""Expert rollouts look every chunk, run the same physics as a recorded demo, and pair each look with its actions."""

import numpy as np
import pytest

from chatvla2_lite.data.expert_rollouts import ROLLOUT_SEED, expert_rollout, expert_rollout_samples


@pytest.fixture(scope="module")
def math_env():
    import sim

    env = sim.make_env("math_matching", "train")
    yield env
    env.close()


@pytest.mark.slow
def test_a_rollout_sees_what_a_recorded_demo_sees_at_its_looks(math_env):
    from chatvla2_lite.data.record import run_expert

    rollout = expert_rollout(math_env, seed=3, every=16)
    frames, outcome = run_expert(math_env, seed=3)
    assert outcome["success"] and rollout is not None
    np.testing.assert_array_equal(rollout["action"], frames["action"])  # the same plan, cut where the task succeeds
    steps = [step for step, _ in rollout["looks"]]
    assert steps == list(range(0, len(frames["action"]), 16))
    for step, obs in rollout["looks"]:
        np.testing.assert_array_equal(obs["observation.state"], frames["observation.state"][step])
        for cam in ("front", "wrist"):
            np.testing.assert_array_equal(obs[f"observation.images.{cam}"], frames[f"observation.images.{cam}"][step])


@pytest.mark.slow
def test_rollout_samples_take_turns_between_tasks_and_carry_the_next_actions(math_env):
    from chatvla2_lite.data.reasoning_targets import reasoning_target

    samples = list(expert_rollout_samples(2, seed=0, chunk=16))
    math = expert_rollout(math_env, ROLLOUT_SEED, every=16)
    n_math = len(math["looks"])
    assert len(samples) > n_math and all(s.target == reasoning_target(math["info"]) for s in samples[:n_math])
    assert all(s.instruction == math["info"]["instruction"] for s in samples[:n_math])
    assert "card" not in samples[n_math].target  # the second scene is a toy placement
    for s, (step, obs) in zip(samples, math["looks"]):
        end = min(step + 16, len(math["action"]))
        np.testing.assert_array_equal(s.action[: end - step], math["action"][step:end])
        np.testing.assert_array_equal(s.action[end - step :], np.repeat(math["action"][-1:], 16 - (end - step), 0))
        np.testing.assert_array_equal(s.observation["observation.images.front"], obs["observation.images.front"])


def test_rollouts_go_only_to_the_action_stage():
    from chatvla2_lite.training.stage import stage_config

    assert list(stage_config("action").mix) == ["robot"]  # no rollouts asked: the demos alone
    assert stage_config("action", rollouts=10).mix == {"robot": 0.5, "rollouts": 0.5}
    with pytest.raises(ValueError, match="only the action stage"):
        stage_config("cotrain", rollouts=10)
    with pytest.raises(ValueError, match="only the action stage"):
        stage_config("naive", rollouts=10)


@pytest.mark.slow
def test_the_action_stage_reads_rollouts_once_through_the_frozen_backbone():
    import itertools

    import torch

    from chatvla2_lite.model.policy_chatvla2 import ChatVLA2
    from chatvla2_lite.training.streams import cached_rollout_feature_stream

    torch.manual_seed(0)
    policy = ChatVLA2.from_config()
    looks = list(expert_rollout_samples(2))
    stream = cached_rollout_feature_stream(policy.model, policy.processor, 2, chunk=16, progress=False)
    served = list(itertools.islice(stream, 2 * len(looks)))  # two epochs, each a new order of the same samples
    first, second = served[: len(looks)], served[len(looks) :]

    def key(s):
        return s.target, s.action.tobytes(), s.observation["observation.state"].tobytes()

    assert sorted(map(key, first)) == sorted(map(key, looks)) == sorted(map(key, second))
    for s in first:
        assert set(s.observation) == {"observation.state"}  # no images: features instead
        assert s.features["hidden"].dtype == torch.float16 and s.features["obs_grid"].any()


@pytest.mark.slow
def test_a_follow_pick_takes_the_card_its_reasoning_comes_to(math_env):
    from chatvla2_lite.data.reasoning_targets import parse_math_parts, reasoning_target
    from sim.tasks.math_matching import card_in_tray

    rollout = expert_rollout(math_env, seed=3, every=16, follow_picks=1.0)
    info = rollout["info"]
    parts = parse_math_parts(rollout["reasoning"])
    assert parts["card"] != info["answer"] and parts["card"] in info["candidates"]
    assert parts["equation"] == info["equation"] and parts["result"] == parts["card"]  # a wrong sum, followed
    assert card_in_tray(math_env.scene, parts["card"]) and not card_in_tray(math_env.scene, info["answer"])
    assert len(rollout["looks"]) > 5 and all(step < len(rollout["action"]) for step, _ in rollout["looks"])
    same = expert_rollout(math_env, seed=3, every=16, follow_picks=1.0)  # the draw is the seed's: the same card
    assert same["reasoning"] == rollout["reasoning"]
    assert expert_rollout(math_env, seed=3, every=16)["reasoning"] is None  # none asked: the true reasoning
    samples = list(expert_rollout_samples(2, seed=0, chunk=16, follow_picks=1.0))
    math = expert_rollout(math_env, ROLLOUT_SEED, every=16, follow_picks=1.0)
    assert samples[0].target == math["reasoning"] != reasoning_target(math["info"])
    assert "I place it" in samples[-1].target  # the second scene, a toy placement, keeps its true reasoning


def test_follow_picks_are_a_share_of_the_rollouts():
    from chatvla2_lite.training.stage import stage_config

    assert stage_config("action", rollouts=10, follow_picks=0.5).follow_picks == 0.5
    with pytest.raises(ValueError, match="set rollouts too"):
        stage_config("action", follow_picks=0.5)
    with pytest.raises(ValueError, match="follow_picks is a share"):
        stage_config("action", rollouts=10, follow_picks=2)


@pytest.mark.slow
def test_the_action_stages_rollout_stream_hands_on_the_follow_picks(math_env):
    from itertools import islice

    from chatvla2_lite.model.policy_chatvla2 import ChatVLA2
    from chatvla2_lite.training.streams import cached_rollout_feature_stream

    policy = ChatVLA2.from_config()
    stream = cached_rollout_feature_stream(
        policy.model.eval(), policy.processor, scenes=2, chunk=16, progress=False, follow_picks=1.0
    )
    math = [s for s in islice(stream, 40) if "board" in s.target]
    followed = expert_rollout(math_env, ROLLOUT_SEED, every=16, follow_picks=1.0)["reasoning"]
    assert math and {s.target for s in math} == {followed}  # the card another reasoning comes to, not the answer
    assert all(s.features is not None for s in math)  # read through the frozen backbone
