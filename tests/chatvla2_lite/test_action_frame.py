"""The action expert's action frame: relative targets are the arm joints' offsets from the state, the gripper's stay
absolute, and the policy always hands out absolute joint targets."""

import numpy as np
import pytest
import torch

from chatvla2_lite.training.samples import Sample

ARM = np.array([1, 1, 1, 1, 1, 0], np.float32)  # the gripper is a command, not a motion: never offset


@pytest.fixture
def policy():
    from chatvla2_lite.policy_chatvla2 import ChatVLA2

    torch.manual_seed(0)
    policy = ChatVLA2.from_config()
    policy.config.action_expert.objective = "regression"
    with torch.no_grad():  # an expert that always says "the statistics' mean": what the frame adds is then plain
        policy.model.action_expert.action_out.weight.zero_()
        policy.model.action_expert.action_out.bias.zero_()
    return policy


def _observation(state):
    return {
        "observation.images.front": np.full((112, 112, 3), 90, np.uint8),
        "observation.images.wrist": np.full((112, 112, 3), 40, np.uint8),
        "observation.state": np.asarray(state, np.float32),
        "task": "Pick up the duck",
    }


def _samples(rng, n=40):
    """Chunks that move each arm joint a little from wherever it starts, the gripper to a fixed command."""
    out = []
    for _ in range(n):
        state = rng.uniform(-1.5, 1.5, 6).astype(np.float32)
        chunk = ARM * (state + np.linspace(0, 1, 16)[:, None] * rng.normal(0.05, 0.01, 6)) + (1 - ARM) * 0.8
        out.append(Sample(_observation(state), "Pick up the duck", "I pick the duck.", chunk.astype(np.float32)))
    return out


def test_a_relative_expert_hands_out_absolute_targets_offset_from_the_state(policy, tmp_path):
    from chatvla2_lite.policy_chatvla2 import ChatVLA2

    mean = np.array([0.1, 0.2, 0.3, 0.4, 0.5, 0.6], np.float32)
    policy.model.action_normalizer.set_stats(mean, np.ones(6))
    here, there = np.zeros(6, np.float32), np.array([1.0, -0.5, 0.25, 0.75, -1.0, 0.3], np.float32)
    np.testing.assert_allclose(policy.act(_observation(there), "I pick the duck."), np.tile(mean, (16, 1)), atol=1e-6)

    policy.config.action_expert.action_frame = "relative"
    np.testing.assert_allclose(policy.act(_observation(here), "I pick the duck."), np.tile(mean, (16, 1)), atol=1e-6)
    chunk = policy.act(_observation(there), "I pick the duck.")
    np.testing.assert_allclose(chunk, np.tile(mean + ARM * there, (16, 1)), atol=1e-6)

    policy.save_pretrained(tmp_path / "model")
    loaded = ChatVLA2.from_pretrained(tmp_path / "model")
    assert loaded.config.action_expert.action_frame == "relative"
    np.testing.assert_allclose(loaded.act(_observation(there), "I pick the duck."), chunk, atol=1e-6)


def test_the_relative_frame_fits_its_statistics_and_its_loss_on_the_offsets(policy):
    from chatvla2_lite.training.samples import encode_batch
    from chatvla2_lite.training.trainer import fit_action_normalizers

    samples = _samples(np.random.default_rng(0))
    fit_action_normalizers(policy, samples)
    absolute_std = policy.model.action_normalizer.std.clone()
    policy.config.action_expert.action_frame = "relative"
    fit_action_normalizers(policy, samples)
    normalizer = policy.model.action_normalizer
    assert (normalizer.std[:5] < absolute_std[:5] / 10).all()  # the poses spread over 3 rad, the moves over 0.1
    torch.testing.assert_close(normalizer.mean[5], torch.tensor(0.8))  # the gripper's command, not an offset

    batch = encode_batch(policy.processor, samples[:4])
    offsets = batch["action"] - torch.as_tensor(ARM) * batch["observation.state"][:, None]
    expected = ((offsets - normalizer.mean) / normalizer.std).abs().mean()  # what an expert saying 0 is off by
    torch.testing.assert_close(policy.model.eval()(batch).action_loss, expected)


def test_an_action_frame_is_one_of_two_and_switched_only_where_the_expert_trains(tmp_path):
    from chatvla2_lite.configuration_chatvla2 import ActionExpertConfig
    from chatvla2_lite.training.run import run_training

    with pytest.raises(ValueError, match="action_frame must be one of"):
        ActionExpertConfig(action_frame="delta")
    with pytest.raises(ValueError, match="does not train the action expert"):
        run_training("vlm", tmp_path, action_frame="relative", steps=1)
    with pytest.raises(ValueError, match="a new action frame fits the action statistics on robot demos"):
        run_training("action", tmp_path, action_frame="relative", shares={"robot": 0.0}, near_misses=1, steps=1)
