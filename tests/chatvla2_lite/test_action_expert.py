"""The action expert: chunk shapes, both objectives, reasoning only in the deeper layers, learning."""

from __future__ import annotations

import pytest
import torch

from chatvla2_lite.action_expert import ActionExpert, Condition, Normalizer
from chatvla2_lite.configuration_chatvla2 import ActionExpertConfig


def make_condition(b=2, p=5, r=4, obs_dim=24, hidden=32, seed=0) -> Condition:
    g = torch.Generator().manual_seed(seed)
    return Condition(
        state=torch.randn(b, 6, generator=g),
        obs=torch.randn(b, p, obs_dim, generator=g),
        obs_mask=torch.ones(b, p, dtype=torch.bool),
        reasoning=torch.randn(b, r, hidden, generator=g),
        reasoning_mask=torch.ones(b, r, dtype=torch.bool),
    )


def make_expert(**kwargs) -> ActionExpert:
    torch.manual_seed(0)
    config = ActionExpertConfig(hidden_size=32, num_layers=2, num_heads=2, chunk_size=8, **kwargs)
    return ActionExpert(config, obs_dim=24).eval()


@pytest.mark.parametrize("objective", ["flow_matching", "ddim"])
def test_sample_and_loss_shapes(objective):
    expert = make_expert(objective=objective, num_inference_steps=4)
    cond = make_condition()
    chunk = expert.sample(cond, generator=torch.Generator().manual_seed(0))
    assert chunk.shape == (2, 8, 6) and torch.isfinite(chunk).all()
    again = expert.sample(cond, generator=torch.Generator().manual_seed(0))
    assert torch.equal(chunk, again)  # the seed fixes the noise
    loss = expert.loss(torch.randn(2, 8, 6), cond, generator=torch.Generator().manual_seed(0))
    assert loss.ndim == 0 and loss > 0


def test_reasoning_reaches_only_the_deeper_layers():
    cond = make_condition()
    other = Condition(**{**cond.__dict__, "reasoning": cond.reasoning + 1.0})
    gen = lambda: torch.Generator().manual_seed(0)  # noqa: E731
    deep = make_expert()  # layer 1 of 2 sees the reasoning
    assert not torch.allclose(deep.sample(cond, gen()), deep.sample(other, gen()))
    blind = make_expert(reasoning_from_layer=2)  # no layer sees it
    assert torch.equal(blind.sample(cond, gen()), blind.sample(other, gen()))
    masked = Condition(**{**other.__dict__, "reasoning_mask": torch.zeros(2, 4, dtype=torch.bool)})
    masked_cond = Condition(**{**cond.__dict__, "reasoning_mask": torch.zeros(2, 4, dtype=torch.bool)})
    assert torch.allclose(deep.sample(masked, gen()), deep.sample(masked_cond, gen()), atol=1e-6)


@pytest.mark.slow
def test_flow_matching_learns_a_state_dependent_chunk():
    """A few hundred steps fit `action = state` on 4 samples: the sampled chunk lands near the target."""
    expert = make_expert(num_inference_steps=8).train()
    cond = make_condition(b=4, seed=3)
    target = cond.state[:, None, :].expand(4, 8, 6)
    opt = torch.optim.AdamW(expert.parameters(), lr=3e-3)
    gen = torch.Generator().manual_seed(0)
    first = None
    for _ in range(250):
        loss = expert.loss(target, cond, generator=gen)
        first = first if first is not None else loss.item()
        opt.zero_grad()
        loss.backward()
        opt.step()
    assert loss.item() < 0.5 * first
    error = (expert.eval().sample(cond, torch.Generator().manual_seed(1)) - target).abs().mean()
    assert error < 0.35 * target.abs().mean() + 0.1


def test_normalizer_round_trip():
    norm = Normalizer(6)
    norm.set_stats(torch.arange(6.0), torch.full((6,), 2.0))
    x = torch.randn(3, 6)
    assert torch.allclose(norm.unnormalize(norm.normalize(x)), x, atol=1e-6)
    assert set(dict(norm.named_buffers())) == {"mean", "std"}  # saved with the weights
