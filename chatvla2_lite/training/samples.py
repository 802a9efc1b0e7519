"""What the trainer eats: `Sample`s (data.samples) from named streams, mixed by share, encoded and batched.

A stream is any iterator of Samples (image-text questions, recorded robot demos). Image-text
samples carry no action; robot samples carry the reasoning target and the action chunk.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import torch

from chatvla2_lite.data.samples import Sample
from chatvla2_lite.model.geometry import reasoning_anchors
from chatvla2_lite.model.pixel_encoder import action_pixels
from chatvla2_lite.model.processing_chatvla2 import collate
from sim.conventions import STATE_KEY


def mixed(streams: dict[str, Iterator[Sample]], shares: dict[str, float], rng: np.random.Generator) -> Iterator[Sample]:
    """An endless stream drawing from `streams` with probability proportional to `shares`."""
    names = [n for n, w in shares.items() if w > 0]
    missing = [n for n in names if n not in streams]
    if missing:
        raise ValueError(f"the data mix asks for {missing} but only {sorted(streams)} were given")
    probs = np.array([shares[n] for n in names], dtype=float)
    probs /= probs.sum()
    while True:
        name = names[int(rng.choice(len(names), p=probs))]
        sample = next(streams[name])
        sample.source = name
        yield sample


def encode_batch(
    processor,
    samples: list[Sample],
    state_dim: int = 6,
    pixels: tuple[list[str], int] | None = None,
    geometry: dict | None = None,
) -> dict[str, torch.Tensor]:
    """Processor tensors for a list of samples, padded into one batch; action/state only when all have them, and with
    them the action expert's `pixels` = (cameras, size) (ActionExpertConfig.pixels) when it has a pixel encoder, and
    the anchors its reasoning points at (geometry.reasoning_anchors) when it has a `geometry`."""
    if all(s.features is not None for s in samples):
        batch = collate_features([s.features for s in samples])
    else:
        encoded = [processor(s.observation, s.instruction, reasoning=s.target) for s in samples]
        batch = collate(encoded, processor.pad_token_id)
    if all(s.action is not None for s in samples):
        batch["action"] = torch.as_tensor(np.stack([s.action for s in samples]), dtype=torch.float32)  # (B, H, 6)
        batch[STATE_KEY] = torch.as_tensor(
            np.stack([np.asarray(s.observation[STATE_KEY], np.float32)[:state_dim] for s in samples])
        )
        if pixels is not None and "pixels" not in batch:
            batch["pixels"] = torch.as_tensor(np.stack([action_pixels(s.observation, *pixels) for s in samples]))
        if geometry is not None:
            anchors = [reasoning_anchors(s.target, geometry) for s in samples]
            batch["anchors"] = torch.as_tensor(np.stack([xy for xy, _ in anchors]))  # (B, 2, 2)
            batch["anchor_mask"] = torch.as_tensor(np.stack([said for _, said in anchors]))  # (B, 2)
    return batch


def split_by_kind(samples: list[Sample]) -> list[list[Sample]]:
    """The samples grouped into those with and without actions (a batch holds one kind)."""
    with_action = [s for s in samples if s.action is not None]
    without = [s for s in samples if s.action is None]
    return [group for group in (with_action, without) if group]


def collate_features(features: list[dict]) -> dict[str, torch.Tensor]:
    """Right-pad per-sample backbone features into one batch; padding is masked out (False) and zero."""
    length = max(f["hidden"].shape[0] for f in features)
    batch = {
        "hidden": torch.stack(
            [torch.nn.functional.pad(f["hidden"], (0, 0, 0, length - f["hidden"].shape[0])) for f in features]
        ).float()
    }
    for key in ("prompt_mask", "reasoning_mask"):
        batch[key] = torch.stack(
            [torch.nn.functional.pad(f[key], (0, length - f[key].shape[0]), value=False) for f in features]
        )
    if all("obs_grid" in f for f in features):
        grids = [f["obs_grid"].long() for f in features]
        batch["obs_grid"] = torch.stack([torch.nn.functional.pad(g, (0, 0, 0, length - len(g))) for g in grids])
    if all("pixels" in f for f in features):
        batch["pixels"] = torch.stack([f["pixels"] for f in features])
    return batch
