"""The action expert: a small transformer that denoises an action chunk (flow matching or DDIM diffusion).

Every layer cross-attends to the robot state and the observation features; the deeper layers (from
`first_reasoning_layer` on) also see the reasoning-following tokens, so the action follows the reasoning. With a
geometry (geometry.py) the deeper layers also see the anchors the reasoning points at, every layer is modulated by
them, and the chunk comes out in tool space: each step's (x, y) a mix of the anchors plus a small offset.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from chatvla2_lite.model.configuration_chatvla2 import ActionExpertConfig
from chatvla2_lite.model.geometry import ANCHORS, TOOL_DIM
from chatvla2_lite.model.pixel_encoder import PixelEncoder


@dataclass
class Condition:
    """What the action expert is conditioned on; masks are True on real (non-padding) tokens."""

    state: torch.Tensor  # (B, S) normalized joint positions
    obs: torch.Tensor  # (B, P, obs_dim) VLM hidden states of the prompt (images + instruction)
    obs_mask: torch.Tensor  # (B, P) bool
    reasoning: torch.Tensor  # (B, R, hidden) reasoning-following output
    reasoning_mask: torch.Tensor  # (B, R) bool
    obs_grid: torch.Tensor | None = None  # (B, P, 3) long: (view, row, col) of image tokens, 1-based; 0 on text
    pixels: torch.Tensor | None = None  # (B, V, S, S, 3) uint8: the pixel encoder's cameras (config.pixel_cameras)
    anchors: torch.Tensor | None = None  # (B, 3, 2) world (x, y) of geometry.ANCHORS: the tool, object and place (m)
    anchor_mask: torch.Tensor | None = None  # (B, 3) bool: the anchors there (the reasoning said the point)
    tool: torch.Tensor | None = None  # (B, 3) the tool centre point's world (x, y, z) now (m)


class Normalizer(nn.Module):
    """Per-dimension mean/std kept as buffers, so the statistics travel inside model.safetensors."""

    def __init__(self, dim: int):
        super().__init__()
        self.register_buffer("mean", torch.zeros(dim))
        self.register_buffer("std", torch.ones(dim))

    @torch.no_grad()
    def set_stats(self, mean, std, eps: float = 1e-6) -> None:
        self.mean.copy_(torch.as_tensor(mean, dtype=self.mean.dtype))
        self.std.copy_(torch.as_tensor(std, dtype=self.std.dtype).clamp_min(eps))

    def normalize(self, x: torch.Tensor) -> torch.Tensor:
        return (x - self.mean.to(x.dtype)) / self.std.to(x.dtype)

    def unnormalize(self, x: torch.Tensor) -> torch.Tensor:
        return x * self.std.to(x.dtype) + self.mean.to(x.dtype)


def timestep_embedding(t: torch.Tensor, dim: int, max_period: float = 10000.0) -> torch.Tensor:
    """Sinusoidal embedding of continuous times t (B,) -> (B, dim)."""
    half = dim // 2
    freqs = torch.exp(-math.log(max_period) * torch.arange(half, device=t.device, dtype=torch.float32) / half)
    args = t.float()[:, None] * freqs[None]
    return torch.cat([torch.cos(args), torch.sin(args)], dim=-1)


class ExpertBlock(nn.Module):
    """Self-attention over the chunk, cross-attention to the condition, MLP; the timestep modulates (adaLN)."""

    def __init__(self, dim: int, num_heads: int, mlp_ratio: int):
        super().__init__()
        self.norm1 = nn.LayerNorm(dim, elementwise_affine=False)
        self.self_attn = nn.MultiheadAttention(dim, num_heads, batch_first=True)
        self.norm2 = nn.LayerNorm(dim)
        self.cross_attn = nn.MultiheadAttention(dim, num_heads, batch_first=True)
        self.norm3 = nn.LayerNorm(dim, elementwise_affine=False)
        self.mlp = nn.Sequential(nn.Linear(dim, mlp_ratio * dim), nn.GELU(), nn.Linear(mlp_ratio * dim, dim))
        self.modulation = nn.Linear(dim, 6 * dim)

    def forward(self, x, t_emb, context, context_mask):  # x: (B, H, D), t_emb: (B, D), context: (B, C, D)
        shift1, scale1, gate1, shift2, scale2, gate2 = self.modulation(F.silu(t_emb))[:, None].chunk(6, dim=-1)
        h = self.norm1(x) * (1 + scale1) + shift1
        x = x + gate1 * self.self_attn(h, h, h, need_weights=False)[0]
        h = self.norm2(x)
        x = x + self.cross_attn(h, context, context, key_padding_mask=~context_mask, need_weights=False)[0]
        h = self.norm3(x) * (1 + scale2) + shift2
        return x + gate2 * self.mlp(h)


# Sizes of the observation tokens' place embeddings; larger views and grids share the last slot.
MAX_VIEWS, MAX_GRID = 8, 64

# The tool-space head's units: an anchor offset of 1 is OFFSET_M, a height of 1 is Z_M above the table; the loss
# weighs each component by what an error of that size costs a grasp (LOSS_SCALES: m, m, m, rad, rad).
OFFSET_M, Z_M = 0.05, 0.1
LOSS_SCALES = (0.01, 0.01, 0.01, 0.2, 0.2)
_FREQUENCIES = (1.0, 2.0, 4.0, 8.0, 16.0)  # of the anchors' Fourier features, per 0.1 m
_ANCHOR_FEATURES = 4 + 8 * len(_FREQUENCIES)


def anchor_features(anchors: torch.Tensor, tool: torch.Tensor) -> torch.Tensor:
    """(B, 3, 2) anchors and (B, 3) tool place -> (B, 3, F): each anchor's place and its offset from the tool, in
    tenths of a metre, and their Fourier features (a small net resolves centimetres from them)."""
    raw = torch.cat([anchors - tool[:, None, :2], anchors - anchors.new_tensor([0.2, 0.0])], dim=-1) / 0.1
    angles = raw[..., None] * raw.new_tensor(_FREQUENCIES) * math.pi  # (B, 3, 4, K)
    return torch.cat([raw, torch.sin(angles).flatten(-2), torch.cos(angles).flatten(-2)], dim=-1)


class GeometryChannel(nn.Module):
    """The anchors as tokens for the deeper layers, a modulation vector for all of them, and the tool-space head."""

    def __init__(self, dim: int):
        super().__init__()
        self.token = nn.Linear(_ANCHOR_FEATURES, dim)
        self.kind = nn.Embedding(len(ANCHORS), dim)
        self.modulation = nn.Sequential(
            nn.Linear(len(ANCHORS) * _ANCHOR_FEATURES + 3, dim), nn.SiLU(), nn.Linear(dim, dim)
        )
        self.head = nn.Linear(dim, len(ANCHORS) + TOOL_DIM)  # mix logits, offset (x, y), z, relative yaw, gripper

    def encode(self, cond: Condition, dtype) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """(tokens (B, 3, D), their mask (B, 3), modulation (B, D))."""
        if cond.anchors is None or cond.tool is None:
            raise ValueError("this action expert acts in tool space: its condition needs the anchors and the tool")
        mask = cond.anchor_mask.bool()
        features = anchor_features(cond.anchors.float(), cond.tool.float()) * mask[..., None]
        tokens = self.token(features.to(dtype)) + self.kind.weight.to(dtype)
        flat = torch.cat([features.flatten(1), cond.tool.float() / 0.1], dim=-1)
        return tokens, mask, self.modulation(flat.to(dtype))

    def decode(self, h: torch.Tensor, cond: Condition) -> torch.Tensor:
        """(B, H, D) features -> (B, H, TOOL_DIM) tool-space steps in metres and radians."""
        out = self.head(h).float()
        logits = out[..., : len(ANCHORS)].masked_fill(~cond.anchor_mask.bool()[:, None], float("-inf"))
        mix = torch.softmax(logits, dim=-1)  # (B, H, 3)
        xy = (mix[..., None] * cond.anchors.float()[:, None]).sum(-2) + OFFSET_M * out[..., 3:5]
        rest = out[..., 5:]
        return torch.cat([xy, Z_M * rest[..., :1], rest[..., 1:]], dim=-1)


class ActionExpert(nn.Module):
    """Predicts the flow-matching velocity (or DDIM noise) of a normalized action chunk (B, H, action_dim)."""

    def __init__(self, config: ActionExpertConfig, obs_dim: int):
        super().__init__()
        self.config = config
        d = config.hidden_size
        self.action_in = nn.Linear(config.action_dim, d)
        self.chunk_pos = nn.Parameter(torch.randn(config.chunk_size, d) * 0.02)
        self.time_mlp = nn.Sequential(nn.Linear(d, d), nn.SiLU(), nn.Linear(d, d))
        self.state_in = nn.Linear(config.state_dim, d)
        self.obs_in = nn.Sequential(nn.LayerNorm(obs_dim), nn.Linear(obs_dim, d))
        # Where each image token sits: the backbone's rotary positions leave no absolute place in its hidden states,
        # so without these the expert sees a bag of patches and cannot tell where the named card lies.
        self.obs_view = nn.Embedding(MAX_VIEWS + 1, d)
        self.obs_row = nn.Embedding(MAX_GRID + 1, d)
        self.obs_col = nn.Embedding(MAX_GRID + 1, d)
        self.pixel_encoder = None
        if config.pixel_cameras:
            self.add_pixel_encoder(config.pixel_cameras, config.pixel_size)
        self.geometry = GeometryChannel(d) if config.geometry is not None else None
        self.blocks = nn.ModuleList(
            ExpertBlock(d, config.num_heads, config.mlp_ratio) for _ in range(config.num_layers)
        )
        self.norm_out = nn.LayerNorm(d)
        self.action_out = nn.Linear(d, config.action_dim)

    def add_pixel_encoder(self, cameras: list[str], size: int) -> None:
        """Give the expert its own conv net over `cameras` (new weights; a checkpoint without one gains it here)."""
        encoder = PixelEncoder(len(cameras), size, self.config.hidden_size)  # refuses a bad size before any change
        self.pixel_encoder = encoder.to(self.action_in.weight.device)
        self.config.pixel_cameras, self.config.pixel_size = list(cameras), size

    def add_geometry(self, geometry: dict) -> None:
        """Act in tool space on the reasoning's points (new weights), with `geometry`'s calibration; the chunk is then
        regressed in one pass."""
        self.config.geometry, self.config.objective = dict(geometry), "regression"
        self.config.__post_init__()  # refuses a bad calibration
        self.geometry = GeometryChannel(self.config.hidden_size).to(self.action_in.weight.device)

    def _contexts(self, cond: Condition):
        """The state vector (B, D), the shallow layers' context (state + observation), the deep ones' (+ reasoning)."""
        state = self.state_in(cond.state.to(self.state_in.weight.dtype))[:, None]  # (B, 1, D)
        obs = self.obs_in(cond.obs.to(self.state_in.weight.dtype))  # (B, P, D)
        if cond.obs_grid is not None:
            grid = cond.obs_grid.long()
            obs = (
                obs
                + self.obs_view(grid[..., 0].clamp(0, MAX_VIEWS))
                + self.obs_row(grid[..., 1].clamp(0, MAX_GRID))
                + self.obs_col(grid[..., 2].clamp(0, MAX_GRID))
            )
        ones = torch.ones(state.shape[0], 1, dtype=torch.bool, device=state.device)
        shallow = torch.cat([state, obs], dim=1), torch.cat([ones, cond.obs_mask.bool()], dim=1)
        if self.pixel_encoder is not None:
            if cond.pixels is None:
                raise ValueError(f"this action expert reads the pixels of {self.config.pixel_cameras}; none were given")
            seen = self.pixel_encoder(cond.pixels.to(state.device))
            seen_mask = torch.ones(seen.shape[:2], dtype=torch.bool, device=state.device)
            shallow = torch.cat([shallow[0], seen.to(obs.dtype)], dim=1), torch.cat([shallow[1], seen_mask], dim=1)
        deep = (
            torch.cat([shallow[0], cond.reasoning.to(obs.dtype)], dim=1),
            torch.cat([shallow[1], cond.reasoning_mask.bool()], dim=1),
        )
        state = state[:, 0]
        if self.geometry is not None:
            tokens, mask, modulation = self.geometry.encode(cond, obs.dtype)
            deep = torch.cat([deep[0], tokens], dim=1), torch.cat([deep[1], mask], dim=1)
            state = state + modulation
        return state, shallow, deep

    def denoise(self, x: torch.Tensor, t: torch.Tensor, contexts) -> torch.Tensor:
        """x: (B, H, A) noisy chunk, t: (B,) time in [0, 1] -> (B, H, A) prediction."""
        return self.action_out(self._features(x, t, contexts))

    def _features(self, x: torch.Tensor, t: torch.Tensor, contexts) -> torch.Tensor:
        """The last block's output, normed: (B, H, D)."""
        state, shallow, deep = contexts
        # time and state modulate every block (global conditioning, as in diffusion policy's FiLM)
        t_emb = self.time_mlp(timestep_embedding(t * 1000.0, self.config.hidden_size).to(x.dtype)) + state
        h = self.action_in(x) + self.chunk_pos[: x.shape[1]]
        for i, block in enumerate(self.blocks):
            context, mask = deep if i >= self.config.first_reasoning_layer else shallow
            h = block(h, t_emb, context, mask)
        return self.norm_out(h)

    def _one_pass(self, shape, contexts, device) -> torch.Tensor:
        """The last block's features (B, H, D) from an all-zero input at time 0: a deterministic policy, as ACT's."""
        x = torch.zeros(shape, device=device, dtype=self.action_in.weight.dtype)
        return self._features(x, torch.zeros(shape[0], device=device), contexts)

    def _regress(self, shape, contexts, device) -> torch.Tensor:
        """The chunk in one pass (_one_pass)."""
        return self.action_out(self._one_pass(shape, contexts, device))

    def tool_chunk(self, cond: Condition) -> torch.Tensor:
        """The chunk in tool space, (B, H, TOOL_DIM) in metres and radians (geometry.py), in one pass."""
        shape = (cond.state.shape[0], self.config.chunk_size, self.config.action_dim)
        return self.geometry.decode(self._one_pass(shape, self._contexts(cond), cond.state.device), cond)

    def tool_loss(self, target: torch.Tensor, cond: Condition) -> torch.Tensor:
        """L1 of the tool-space chunk against `target` (B, H, TOOL_DIM), each part in units of LOSS_SCALES."""
        scales = target.new_tensor(LOSS_SCALES)
        return F.l1_loss(self.tool_chunk(cond)[:, : target.shape[1]] / scales, target.float() / scales)

    def loss(self, actions: torch.Tensor, cond: Condition, generator: torch.Generator | None = None) -> torch.Tensor:
        """Training loss for normalized actions (B, H, A)."""
        contexts = self._contexts(cond)
        b = actions.shape[0]
        if self.config.objective == "regression":
            return F.l1_loss(self._regress(actions.shape, contexts, actions.device), actions)
        noise = torch.randn(actions.shape, generator=generator, device=actions.device, dtype=actions.dtype)
        if self.config.objective == "flow_matching":
            t = torch.rand(b, generator=generator, device=actions.device)
            x_t = t[:, None, None] * actions + (1 - t[:, None, None]) * noise  # t=0 noise, t=1 data
            return F.mse_loss(self.denoise(x_t, t, contexts), actions - noise)
        steps = torch.randint(0, self.config.num_train_timesteps, (b,), generator=generator, device=actions.device)
        abar = _cosine_alphas_cumprod(self.config.num_train_timesteps).to(actions.device)[steps][:, None, None]
        x_t = abar.sqrt() * actions + (1 - abar).sqrt() * noise
        return F.mse_loss(self.denoise(x_t, steps.float() / self.config.num_train_timesteps, contexts), noise)

    @torch.no_grad()
    def sample(self, cond: Condition, generator: torch.Generator | None = None) -> torch.Tensor:
        """A normalized action chunk (B, H, A), integrated from Gaussian noise."""
        contexts = self._contexts(cond)
        b, cfg = cond.state.shape[0], self.config
        if cfg.objective == "regression":
            return self._regress((b, cfg.chunk_size, cfg.action_dim), contexts, cond.state.device)
        dtype = self.action_in.weight.dtype
        x = torch.randn((b, cfg.chunk_size, cfg.action_dim), generator=generator, device=cond.state.device)
        x = x.to(dtype)
        n = cfg.num_inference_steps
        if cfg.objective == "flow_matching":
            for i in range(n):  # Euler steps from t=0 (noise) to t=1 (data)
                t = torch.full((b,), i / n, device=x.device)
                x = x + self.denoise(x, t, contexts) / n
            return x
        alphas_cumprod = _cosine_alphas_cumprod(cfg.num_train_timesteps).to(x.device)
        steps = torch.linspace(cfg.num_train_timesteps - 1, 0, n, device=x.device).round().long()
        for i, step in enumerate(steps):  # deterministic DDIM (eta = 0)
            abar = alphas_cumprod[step]
            abar_prev = alphas_cumprod[steps[i + 1]] if i + 1 < n else torch.ones((), device=x.device)
            eps = self.denoise(x, torch.full((b,), float(step) / cfg.num_train_timesteps, device=x.device), contexts)
            x0 = (x - (1 - abar).sqrt() * eps) / abar.sqrt()
            x = abar_prev.sqrt() * x0 + (1 - abar_prev).sqrt() * eps
        return x


def _cosine_alphas_cumprod(num_steps: int, s: float = 0.008) -> torch.Tensor:
    """The cosine noise schedule's cumulative alphas (Nichol & Dhariwal), clipped away from 0."""
    x = torch.linspace(0, num_steps, num_steps + 1)
    f = torch.cos(((x / num_steps) + s) / (1 + s) * math.pi / 2) ** 2
    abar = f / f[0]
    return abar[1:].clamp(1e-4, 0.9999)
