"""Dynamic MoE: the original MLP untouched, top-k routing, load balancing, readable router statistics."""

from __future__ import annotations

import torch
from torch import nn

from chatvla2_lite.model.moe import DynamicMoE, ExpertMLP, Routing, load_balancing_loss


def make_moe(num_experts=8, top_k=2, dim=16, seed=0) -> DynamicMoE:
    torch.manual_seed(seed)
    return DynamicMoE(ExpertMLP(dim, 32), dim, 8, num_experts, top_k)


def test_fresh_moe_leaves_the_shared_mlp_function_intact():
    moe = make_moe()
    x = torch.randn(2, 5, 16, generator=torch.Generator().manual_seed(1))
    assert torch.equal(moe(x), moe.shared(x))


def test_routes_each_token_to_top_k_experts_with_weights_summing_to_one():
    moe = make_moe(top_k=2)
    for expert in moe.experts:
        nn.init.normal_(expert.down_proj.weight)
    x = torch.randn(3, 7, 16, generator=torch.Generator().manual_seed(2))
    out = moe(x)
    r = moe.last_routing
    assert r.experts.shape == (3, 7, 2) and r.weights.shape == (3, 7, 2) and r.probs.shape == (3, 7, 8)
    assert torch.allclose(r.weights.sum(-1), torch.ones(3, 7))
    assert (r.experts[..., 0] != r.experts[..., 1]).all()
    assert torch.equal(r.experts[..., 0], r.probs.argmax(-1))

    # the output is exactly shared + the two chosen experts, mixed by their weights
    b, t = 1, 4
    token = x[b, t]
    expected = moe.shared(token) + sum(w * moe.experts[int(e)](token) for e, w in zip(r.experts[b, t], r.weights[b, t]))
    assert torch.allclose(out[b, t], expected, atol=1e-6)


def test_load_balancing_loss_is_one_when_balanced_and_higher_when_collapsed():
    n, e = 64, 4
    uniform = torch.full((1, n, e), 1 / e)
    spread = torch.arange(n).remainder(e).view(1, n, 1)
    balanced = Routing(probs=uniform, experts=spread, weights=torch.ones(1, n, 1))
    assert torch.isclose(load_balancing_loss(balanced, e), torch.tensor(1.0))
    collapsed_probs = torch.zeros(1, n, e)
    collapsed_probs[..., 0] = 1
    collapsed = Routing(
        probs=collapsed_probs, experts=torch.zeros(1, n, 1, dtype=torch.long), weights=torch.ones(1, n, 1)
    )
    assert torch.isclose(load_balancing_loss(collapsed, e), torch.tensor(float(e)))


def test_gradients_reach_router_and_experts_but_shared_weights_can_stay_frozen():
    moe = make_moe()
    moe.shared.requires_grad_(False)
    x = torch.randn(2, 6, 16, generator=torch.Generator().manual_seed(3))
    loss = moe(x).pow(2).mean() + load_balancing_loss(moe.last_routing, 8)
    loss.backward()
    assert moe.router.weight.grad.abs().sum() > 0
    used = {int(e) for e in moe.last_routing.experts.unique()}
    for i, ex in enumerate(moe.experts):  # experts that got tokens learn, the others get no gradient at all
        grad = ex.down_proj.weight.grad
        assert (grad is not None and grad.abs().sum() > 0) == (i in used)
    assert moe.shared.gate_proj.weight.grad is None
