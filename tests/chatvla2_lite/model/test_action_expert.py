"""The action expert: chunk shapes, both objectives, reasoning only in the deeper layers, learning."""

from __future__ import annotations

import pytest
import torch

from chatvla2_lite.model.action_expert import ActionExpert, Condition, Normalizer
from chatvla2_lite.model.configuration_chatvla2 import ActionExpertConfig


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


@pytest.mark.parametrize("objective", ["flow_matching", "ddim", "regression"])
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


def test_place_embeddings_tell_apart_tokens_the_attention_alone_cannot():
    """Attention is blind to order: the same image tokens shuffled give the same chunk, unless each has its place."""
    expert = make_expert()
    for table in (expert.obs_view, expert.obs_row, expert.obs_col):
        torch.nn.init.normal_(table.weight)
    cond = make_condition(p=6)
    order = torch.tensor([3, 1, 5, 0, 2, 4])
    grid = torch.tensor([[1, r, c] for r in (1, 2) for c in (1, 2, 3)]).expand(2, 6, 3)
    shuffled = Condition(**{**cond.__dict__, "obs": cond.obs[:, order]})
    gen = lambda: torch.Generator().manual_seed(0)  # noqa: E731
    torch.testing.assert_close(expert.sample(cond, gen()), expert.sample(shuffled, gen()), atol=1e-5, rtol=1e-5)
    placed = Condition(**{**cond.__dict__, "obs_grid": grid})
    placed_shuffled = Condition(**{**shuffled.__dict__, "obs_grid": grid})  # the same places, other tokens on them
    assert not torch.allclose(expert.sample(placed, gen()), expert.sample(placed_shuffled, gen()), atol=1e-3)


def test_regression_is_one_deterministic_pass():
    expert = make_expert(objective="regression")
    cond = make_condition()
    torch.testing.assert_close(
        expert.sample(cond, torch.Generator().manual_seed(0)), expert.sample(cond, torch.Generator().manual_seed(1))
    )  # no noise to draw


@pytest.mark.slow
@pytest.mark.parametrize("objective", ["flow_matching", "regression"])
def test_the_expert_learns_a_state_dependent_chunk(objective):
    """A few hundred steps fit `action = state` on 4 samples: the sampled chunk lands near the target."""
    expert = make_expert(num_inference_steps=8, objective=objective).train()
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


def _geometry() -> dict:
    from chatvla2_lite.training.run import sim_geometry
    from sim.world import World

    return sim_geometry(World(points=True))


def _anchored(cond: Condition, seed: int = 0) -> Condition:
    """`cond` with random table anchors for the tool, the object and the place, all said."""
    g = torch.Generator().manual_seed(seed)
    b = cond.state.shape[0]
    anchors = torch.rand(b, 3, 2, generator=g) * torch.tensor([0.2, 0.3]) + torch.tensor([0.1, -0.15])
    tool = torch.cat([anchors[:, 0], torch.full((b, 1), 0.08)], dim=1)
    return Condition(**{**cond.__dict__, "anchors": anchors, "anchor_mask": torch.ones(b, 3, dtype=bool), "tool": tool})


def test_a_tool_space_expert_goes_by_the_anchors_it_is_told():
    expert = make_expert(objective="regression", geometry=_geometry())
    cond = _anchored(make_condition())
    chunk = expert.tool_chunk(cond)
    assert chunk.shape == (2, 8, 5) and torch.isfinite(chunk).all()
    moved = Condition(**{**cond.__dict__, "anchors": cond.anchors + torch.tensor([0.0, 0.03])})
    assert not torch.allclose(expert.tool_chunk(moved), chunk)
    unsaid = torch.tensor([[True, True, False]] * 2)
    hidden = Condition(**{**cond.__dict__, "anchor_mask": unsaid})
    elsewhere = Condition(
        **{**hidden.__dict__, "anchors": cond.anchors + torch.tensor([[0.0, 0.0], [0.0, 0.0], [0.1, 0.1]])}
    )
    torch.testing.assert_close(expert.tool_chunk(hidden), expert.tool_chunk(elsewhere))  # an unsaid place is not read
    with pytest.raises(ValueError, match="needs objective regression"):
        make_expert(objective="flow_matching", geometry=_geometry())


@pytest.mark.slow
def test_a_tool_space_expert_learns_to_go_where_it_is_pointed_anywhere_on_the_table():
    """Trained to put every step over the object on 64 scenes, it does so on scenes it never saw, to a few
    millimetres: the mix of anchors carries the place, so nothing about a particular place has to be learnt."""
    expert = make_expert(objective="regression", geometry=_geometry()).train()
    train, test = _anchored(make_condition(b=64, seed=1), seed=1), _anchored(make_condition(b=32, seed=2), seed=2)

    def target(cond):
        xy = cond.anchors[:, 1][:, None].expand(-1, 8, 2)
        return torch.cat([xy, torch.full((*xy.shape[:2], 3), 0.05)], dim=-1)

    opt = torch.optim.AdamW(expert.parameters(), lr=3e-3)
    for _ in range(150):
        loss = expert.tool_loss(target(train), train)
        opt.zero_grad()
        loss.backward()
        opt.step()
    with torch.no_grad():
        miss = (expert.eval().tool_chunk(test)[..., :2] - target(test)[..., :2]).norm(dim=-1)
    assert miss.median() < 0.005, miss.median()
