"""Reasoning-following: project the reasoning tokens' hidden states for the action expert's deeper layers."""

from __future__ import annotations

import torch
from torch import nn


class ReasoningFollowing(nn.Module):
    """Two linear layers and a LayerNorm, as in the paper: (B, R, vlm_dim) -> (B, R, expert_dim)."""

    def __init__(self, vlm_dim: int, expert_dim: int, hidden_size: int | None = None):
        super().__init__()
        hidden_size = hidden_size or expert_dim
        self.fc1 = nn.Linear(vlm_dim, hidden_size)
        self.act = nn.GELU()
        self.fc2 = nn.Linear(hidden_size, expert_dim)
        self.norm = nn.LayerNorm(expert_dim)

    def forward(self, reasoning_hidden: torch.Tensor) -> torch.Tensor:  # (B, R, vlm_dim)
        return self.norm(self.fc2(self.act(self.fc1(reasoning_hidden))))  # (B, R, expert_dim)
