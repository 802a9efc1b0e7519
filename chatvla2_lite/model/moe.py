"""Dynamic mixture-of-experts: the backbone's MLP stays as the shared path, a router adds top-k of E experts."""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from chatvla2_lite.model.configuration_chatvla2 import MoEConfig


@dataclass
class Routing:
    """What the router decided in one forward call of one MoE layer."""

    probs: torch.Tensor  # (B, T, E) softmax over all experts
    experts: torch.Tensor  # (B, T, k) chosen expert ids, best first
    weights: torch.Tensor  # (B, T, k) their mixing weights, summing to 1 per token


class ExpertMLP(nn.Module):
    """A SwiGLU feed-forward block like the backbone's, narrower."""

    def __init__(self, hidden_size: int, intermediate_size: int):
        super().__init__()
        self.gate_proj = nn.Linear(hidden_size, intermediate_size, bias=False)
        self.up_proj = nn.Linear(hidden_size, intermediate_size, bias=False)
        self.down_proj = nn.Linear(intermediate_size, hidden_size, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.down_proj(F.silu(self.gate_proj(x)) * self.up_proj(x))


class DynamicMoE(nn.Module):
    """`shared(x) + sum_k w_k * expert_k(x)`; the shared MLP is the backbone's own, weights untouched."""

    def __init__(self, shared: nn.Module, hidden_size: int, intermediate_size: int, num_experts: int, top_k: int):
        super().__init__()
        if not 1 <= top_k <= num_experts:
            raise ValueError(f"top_k must be in 1..num_experts ({num_experts}), got {top_k}")
        self.shared = shared
        self.top_k = top_k
        self.router = nn.Linear(hidden_size, num_experts, bias=False)
        self.experts = nn.ModuleList(ExpertMLP(hidden_size, intermediate_size) for _ in range(num_experts))
        self.last_routing: Routing | None = None
        self.reset_expert_parameters()

    @torch.no_grad()
    def reset_expert_parameters(self) -> None:
        """Zero the experts' output so a fresh MoE leaves the backbone's function exactly as it was (as LoRA's B=0)."""
        if self.router.weight.device.type == "meta":
            return
        nn.init.normal_(self.router.weight, std=0.02)
        for expert in self.experts:
            for lin in (expert.gate_proj, expert.up_proj):
                nn.init.normal_(lin.weight, std=0.02)
            nn.init.zeros_(expert.down_proj.weight)

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # x: (B, T, D)
        out = self.shared(x)
        logits = self.router(x.to(self.router.weight.dtype)).float()  # (B, T, E)
        probs = logits.softmax(dim=-1)
        weights, experts = probs.topk(self.top_k, dim=-1)  # (B, T, k)
        weights = weights / weights.sum(dim=-1, keepdim=True)
        self.last_routing = Routing(probs=probs, experts=experts, weights=weights)

        flat_x = x.reshape(-1, x.shape[-1])  # (N, D)
        flat_experts = experts.reshape(-1, self.top_k)  # (N, k)
        flat_weights = weights.reshape(-1, self.top_k)
        routed = torch.zeros_like(flat_x)
        for e, expert in enumerate(self.experts):
            token_idx, slot = torch.nonzero(flat_experts == e, as_tuple=True)
            if token_idx.numel() == 0:
                continue
            y = expert(flat_x[token_idx]) * flat_weights[token_idx, slot, None].to(flat_x.dtype)
            routed.index_add_(0, token_idx, y.to(routed.dtype))
        return out + routed.view_as(out).to(out.dtype)


def load_balancing_loss(routing: Routing, num_experts: int, mask: torch.Tensor | None = None) -> torch.Tensor:
    """Switch-Transformer auxiliary loss E * sum_e f_e * P_e; 1.0 when tokens spread evenly over experts."""
    probs = routing.probs.reshape(-1, num_experts)  # (N, E)
    chosen = F.one_hot(routing.experts.reshape(-1, routing.experts.shape[-1]), num_experts).sum(dim=1).float()  # (N, E)
    if mask is not None:
        keep = mask.reshape(-1).bool()
        probs, chosen = probs[keep], chosen[keep]
    if probs.shape[0] == 0:
        return probs.new_zeros(())
    fraction = chosen.mean(dim=0) / routing.experts.shape[-1]  # f_e: share of routed slots
    mean_prob = probs.mean(dim=0)  # P_e
    return num_experts * (fraction * mean_prob).sum()


def decoder_layers(vlm: nn.Module) -> nn.ModuleList:
    """The language model's decoder layers of a Qwen2-VL-family model."""
    return vlm.model.language_model.layers


def add_dynamic_moe(vlm: nn.Module, moe: MoEConfig) -> dict[int, DynamicMoE]:
    """Wrap the MLP of each configured decoder layer in a DynamicMoE; returns {layer index: module}."""
    text = vlm.config.text_config
    size = moe.expert_intermediate_size or max(1, text.intermediate_size // moe.num_experts)
    layers = decoder_layers(vlm)
    added = {}
    for i in moe.resolved_layers(text.num_hidden_layers):
        layer = layers[i]
        if isinstance(layer.mlp, DynamicMoE):
            raise ValueError(f"decoder layer {i} already has a mixture-of-experts")
        layer.mlp = DynamicMoE(layer.mlp, text.hidden_size, size, moe.num_experts, moe.top_k)
        added[i] = layer.mlp
    return added


def moe_modules(vlm: nn.Module) -> dict[int, DynamicMoE]:
    """{layer index: DynamicMoE} for the layers that have one."""
    return {i: layer.mlp for i, layer in enumerate(decoder_layers(vlm)) if isinstance(layer.mlp, DynamicMoE)}
