"""The one shape every data maker hands the trainer: a `Sample`, and the action chunk a frame starts."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass
class Sample:
    """One training example: the observation, the instruction, the target text, maybe an action chunk."""

    observation: dict  # observation.images.<camera> uint8 (H, W, 3); observation.state (6,) for robot samples
    instruction: str
    target: str  # the assistant's turn: an answer (image-text) or the reasoning (robot)
    action: np.ndarray | None = None  # (H, 6) joint targets in radians
    source: str = ""
    # the frozen backbone's reading of this sample: {"hidden": (T, D), "prompt_mask": (T,), "reasoning_mask": (T,),
    # "obs_grid": (T, 3) uint8, and "pixels": (V, S, S, 3) uint8 for an expert with a pixel encoder}
    features: dict | None = None


def action_chunk(actions: np.ndarray, t: int, chunk: int) -> np.ndarray:
    """The `chunk` actions from frame t on, the last one repeated past the episode's end; (chunk, 6)."""
    idx = np.minimum(np.arange(t, t + chunk), len(actions) - 1)
    return actions[idx]
