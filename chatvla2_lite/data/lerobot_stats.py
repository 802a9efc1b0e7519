"""The statistics LeRobot keeps for a dataset: per episode (columns `stats/<feature>/<stat>` of meta/episodes) and
over the whole dataset (meta/stats.json), for every numeric feature, images included.

Each feature's stats are min, max, mean, std, count and the quantiles q01, q10, q50, q90, q99 (what quantile
normalisation, pi0.5-style, reads). `count` is in frames, also for images, whose stats are per channel in 0..1 with
shape (3, 1, 1), taken over a sample of the episode's frames (and of their pixels). The dataset's stats aggregate the
episodes' as LeRobot's `aggregate_stats` does: means and variances pooled by count, quantiles averaged by count, so a
dataset LeRobot edits (split, delete, merge) and re-aggregates keeps the same meaning.
"""

from __future__ import annotations

import numpy as np

QUANTILES = (0.01, 0.10, 0.50, 0.90, 0.99)
QUANTILE_KEYS = tuple(f"q{round(q * 100):02d}" for q in QUANTILES)
IMAGE_SAMPLES_MIN, IMAGE_SAMPLES_MAX = 100, 10_000  # LeRobot's sample sizes for image stats (all frames below 100)
IMAGE_STATS_SIDE = 112  # pixels on a grid about this wide feed the stats: a 224-px frame's every second pixel, 4x less


def vector_stats(values: np.ndarray) -> dict[str, np.ndarray]:
    """Stats of an episode's (T, D) or (T,) values over time; each stat has shape (D,) or (1,)."""
    x = np.asarray(values, np.float64)
    x = x.reshape(len(x), -1)
    return _stats(x, count=len(x))


def image_sample_indices(length: int) -> np.ndarray:
    """The frames of an episode of `length` whose pixels feed its image stats, spread evenly as LeRobot samples."""
    n = min(length, max(IMAGE_SAMPLES_MIN, min(int(length**0.75), IMAGE_SAMPLES_MAX)))
    return np.unique(np.round(np.linspace(0, length - 1, n)).astype(int))


def image_stats(frames: np.ndarray) -> dict[str, np.ndarray]:
    """Per-channel stats in 0..1 of an episode's uint8 (T, H, W, 3) frames; each stat has shape (3, 1, 1)."""
    frames = np.asarray(frames)
    if frames.ndim != 4 or frames.shape[-1] != 3:
        raise ValueError(f"images must be (T, H, W, 3), got {frames.shape}")
    step = max(1, round(max(frames.shape[1:3]) / IMAGE_STATS_SIDE))
    sampled = frames[image_sample_indices(len(frames)), ::step, ::step]
    pixels = sampled.reshape(-1, 3).astype(np.float64) / 255.0
    stats = _stats(pixels, count=len(sampled))
    return {k: v if k == "count" else v.reshape(3, 1, 1) for k, v in stats.items()}


def aggregate(episodes: list[dict[str, np.ndarray]]) -> dict[str, np.ndarray]:
    """One feature's stats over several episodes' stats, pooled by frame count."""
    if not episodes:
        raise ValueError("no episode stats to aggregate")
    counts = np.array([float(e["count"][0]) for e in episodes])
    total = counts.sum()
    weights = counts.reshape(-1, *([1] * np.asarray(episodes[0]["mean"]).ndim)) / total
    means = np.stack([e["mean"] for e in episodes])
    mean = (means * weights).sum(0)
    variance = ((np.stack([e["std"] for e in episodes]) ** 2 + (means - mean) ** 2) * weights).sum(0)
    out = {
        "min": np.min(np.stack([e["min"] for e in episodes]), 0),
        "max": np.max(np.stack([e["max"] for e in episodes]), 0),
        "mean": mean,
        "std": np.sqrt(variance),
        "count": np.array([int(total)]),
    }
    return out | {q: (np.stack([e[q] for e in episodes]) * weights).sum(0) for q in QUANTILE_KEYS}


def as_lists(stats: dict[str, np.ndarray]) -> dict[str, list]:
    """The stats as JSON- and parquet-friendly nested lists."""
    return {k: np.asarray(v).tolist() for k, v in stats.items()}


def _stats(x: np.ndarray, count: int) -> dict[str, np.ndarray]:
    out = {"min": x.min(0), "max": x.max(0), "mean": x.mean(0), "std": x.std(0), "count": np.array([count])}
    return out | dict(zip(QUANTILE_KEYS, np.quantile(x, QUANTILES, axis=0), strict=True))
