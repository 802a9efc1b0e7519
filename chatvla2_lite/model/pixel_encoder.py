"""The action expert's own eyes: a small conv net over a few cameras' raw pixels, as ACT's and Diffusion Policy's.

The VLM's image tokens tell the expert roughly where the object lies (a table-view token covers some 7 by 9 cm),
but a grasp needs the last centimetres. In the wrist camera the object's place relative to the fingers is plain to
see: a conv net of this size reads the tool-to-object offset to 0.2-0.3 cm from 64 px wrist images
(docs/experiments/r06.md).
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from chatvla2_lite.errors import InvalidObservationError
from chatvla2_lite.model.processing_chatvla2 import check_image, crop_view
from sim.conventions import IMAGE_KEY

STRIDE = 16  # four stride-2 convolutions: a 64 px image becomes a 4 x 4 grid of tokens


def action_pixels(observation: dict, cameras: list[str], size: int) -> np.ndarray:
    """(V, size, size, 3) uint8: the named cameras' images, checked as the processor checks them, resized."""
    views = []
    for camera in cameras:
        key = IMAGE_KEY + camera
        if not isinstance(observation, dict) or observation.get(key) is None:
            raise InvalidObservationError(f"the action expert reads the {camera!r} camera: pass {key}")
        views.append(crop_view(check_image(key, observation[key]), (0.0, 0.0, 1.0, 1.0), (size, size)))
    return np.stack(views)


class PixelEncoder(nn.Module):
    """(B, V, S, S, 3) uint8 -> (B, V * (S/16)^2, dim) tokens, each with a learned embedding of its camera and place."""

    def __init__(self, cameras: int, size: int, dim: int, width: int = 64):
        super().__init__()
        if size % STRIDE:
            raise ValueError(f"the pixel encoder's image size must be a multiple of {STRIDE}, got {size}")
        self.convs = nn.Sequential(
            nn.Conv2d(3, width // 2, 5, 2, 2),
            nn.GELU(),
            nn.Conv2d(width // 2, width, 3, 2, 1),
            nn.GELU(),
            nn.Conv2d(width, width, 3, 2, 1),
            nn.GELU(),
            nn.Conv2d(width, width, 3, 2, 1),
            nn.GELU(),
        )
        self.out = nn.Linear(width, dim)
        self.place = nn.Parameter(torch.randn(cameras * (size // STRIDE) ** 2, dim) * 0.02)

    def forward(self, pixels: torch.Tensor) -> torch.Tensor:
        b, v = pixels.shape[:2]
        x = pixels.flatten(0, 1).permute(0, 3, 1, 2).to(self.out.weight.dtype) / 255.0 - 0.5
        grid = self.convs(x)  # (B * V, width, S/16, S/16)
        tokens = self.out(grid.flatten(2).transpose(1, 2))  # (B * V, T, dim)
        return tokens.reshape(b, -1, tokens.shape[-1]) + self.place
