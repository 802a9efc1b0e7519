"""The action expert's motion input: how the joints moved since the previous look, the one thing that tells lifting a
held toy from lowering it at the same height."""

import numpy as np
import pytest
import torch

from chatvla2_lite.action_expert import ActionExpert, Condition
from chatvla2_lite.configuration_chatvla2 import ActionExpertConfig
from chatvla2_lite.training.samples import Sample


def _conditions(n, motion, generator):
    """n conditions that differ in nothing but `motion` (B, 6): the same state, observation and reasoning."""
    obs = torch.randn(1, 5, 8, generator=generator).expand(n, -1, -1)
    return Condition(
        state=torch.zeros(n, 6),
        obs=obs,
        obs_mask=torch.ones(n, 5, dtype=torch.bool),
        reasoning=torch.zeros(n, 2, 32),
        reasoning_mask=torch.ones(n, 2, dtype=torch.bool),
        motion=motion,
    )


def _fit(expert, steps=150, seed=0):
    """Train on chunks that go up where the joints came up and down where they came down; the last batch's L1 loss."""
    generator = torch.Generator().manual_seed(seed)
    optimizer = torch.optim.AdamW(expert.parameters(), lr=3e-3)
    for _ in range(steps):
        direction = torch.randint(0, 2, (32,), generator=generator).float() * 2 - 1
        motion = torch.zeros(32, 6)
        motion[:, 1] = direction * 0.5
        actions = direction[:, None, None].expand(32, 16, 6)
        loss = expert.loss(actions, _conditions(32, motion, generator), generator=generator)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    return loss.item()


def test_an_expert_that_reads_the_motion_tells_lifting_from_lowering_where_one_without_cannot():
    torch.manual_seed(0)
    config = dict(hidden_size=32, num_layers=2, num_heads=2, objective="regression")
    with_motion = ActionExpert(ActionExpertConfig(**config, motion=True), obs_dim=8)
    without = ActionExpert(ActionExpertConfig(**config), obs_dim=8)
    # the best a motion-blind expert can do against +1 / -1 is an L1 loss of 1
    assert _fit(with_motion) < 0.3 < 0.9 < _fit(without)


def test_an_expert_gains_the_motion_at_zero_and_acts_as_before_until_it_trains():
    torch.manual_seed(0)
    expert = ActionExpert(ActionExpertConfig(hidden_size=32, num_layers=2, num_heads=2), obs_dim=8)
    generator = torch.Generator().manual_seed(1)
    cond = _conditions(3, torch.randn(3, 6, generator=generator), generator)
    before = expert.sample(cond, generator=torch.Generator().manual_seed(2))
    expert.add_motion()
    assert expert.config.motion
    torch.testing.assert_close(expert.sample(cond, generator=torch.Generator().manual_seed(2)), before)
    with torch.no_grad():
        expert.motion_in.weight.normal_()
    assert not torch.allclose(expert.sample(cond, generator=torch.Generator().manual_seed(2)), before)
    still = Condition(**{**cond.__dict__, "motion": None})  # no previous look: nothing moved
    torch.testing.assert_close(expert.sample(still, generator=torch.Generator().manual_seed(2)), before)


@pytest.fixture
def moving_policy():
    from chatvla2_lite.policy_chatvla2 import ChatVLA2

    torch.manual_seed(0)
    policy = ChatVLA2.from_config()
    policy.model.action_expert.add_motion()
    with torch.no_grad():
        policy.model.action_expert.motion_in.weight.normal_()
    return policy


def test_a_policy_reads_the_previous_state_from_the_observation_and_keeps_the_motion_through_save_and_load(
    moving_policy, obs, tmp_path
):
    from chatvla2_lite.errors import InvalidObservationError
    from chatvla2_lite.policy_chatvla2 import ChatVLA2, with_previous_state

    first = moving_policy.act(obs, "I pick the duck.")
    np.testing.assert_allclose(moving_policy.act(with_previous_state(obs, obs), "I pick the duck."), first, atol=1e-5)
    earlier = {**obs, "observation.state": np.asarray(obs["observation.state"]) - 0.3}
    moved = moving_policy.act(with_previous_state(obs, earlier), "I pick the duck.")
    assert not np.allclose(moved, first)
    with pytest.raises(InvalidObservationError, match="observation.previous_state"):
        moving_policy.act({**obs, "observation.previous_state": [np.nan] * 6}, "I pick the duck.")
    moving_policy.save_pretrained(tmp_path / "model")
    loaded = ChatVLA2.from_pretrained(tmp_path / "model")
    assert loaded.config.action_expert.motion
    np.testing.assert_allclose(loaded.act(with_previous_state(obs, earlier), "I pick the duck."), moved, atol=1e-5)


def test_cached_features_keep_the_previous_state_and_give_the_full_forwards_loss(moving_policy, obs):
    from chatvla2_lite.training.samples import encode_batch
    from chatvla2_lite.training.streams import feature_samples

    earlier = np.asarray(obs["observation.state"], np.float32) - 0.3
    samples = [
        Sample(
            {**obs, "observation.previous_state": earlier},
            obs["task"],
            "I pick the duck.",
            np.zeros((16, 6), np.float32),
        ),
        Sample(obs, obs["task"], "I pick the duck.", np.zeros((16, 6), np.float32)),
    ]
    batch = encode_batch(moving_policy.processor, samples)
    np.testing.assert_allclose(batch["observation.previous_state"][0].numpy(), earlier)
    torch.testing.assert_close(batch["observation.previous_state"][1], batch["observation.state"][1])  # its first look
    model = moving_policy.model.eval()
    full = model(batch, generator=torch.Generator().manual_seed(0))
    cached = feature_samples(model, moving_policy.processor, samples)
    np.testing.assert_allclose(cached[0].observation["observation.previous_state"], earlier)
    from_features = model(encode_batch(moving_policy.processor, cached), generator=torch.Generator().manual_seed(0))
    torch.testing.assert_close(from_features.action_loss, full.action_loss, rtol=2e-3, atol=2e-3)  # float16 storage


def test_train_gives_the_motion_only_to_a_stage_that_trains_the_expert(tmp_path):
    from chatvla2_lite.training.run import run_training

    with pytest.raises(ValueError, match="does not train the action expert"):
        run_training("vlm", tmp_path, motion=True, steps=1)


def test_look_back_reaches_the_trained_gap_however_often_the_loop_looks():
    from chatvla2_lite.policy_chatvla2 import STATE_KEY, look_back

    looks = [(step, np.full(6, step, np.float32)) for step in range(0, 40, 8)]  # looks at 0, 8, ..., 32
    assert look_back(looks, 0, 16) is None  # the first look: nothing moved before it
    assert look_back(looks, 8, 16)[STATE_KEY][0] == 0  # too early for 16 steps: the episode's start
    assert look_back(looks, 32, 16)[STATE_KEY][0] == 16
    assert look_back(looks, 30, 16)[STATE_KEY][0] == 8  # a chunk cut short: the latest at least 16 back
    assert look_back(looks, 32, 8)[STATE_KEY][0] == 24
