"""LeRobot's dataset statistics: every feature, quantiles, counts in frames, episodes pooled as LeRobot pools them."""

from __future__ import annotations

import json

import numpy as np
import pyarrow.parquet as pq
import pytest

from chatvla2_lite.data import lerobot_stats
from chatvla2_lite.data.lerobot_dataset import LeRobotV3Writer

STAT_KEYS = {"min", "max", "mean", "std", "count", "q01", "q10", "q50", "q90", "q99"}


def test_vector_stats_are_exact_per_dimension():
    x = np.random.default_rng(0).normal(size=(500, 6))
    stats = lerobot_stats.vector_stats(x)
    assert set(stats) == STAT_KEYS and stats["count"].tolist() == [500]
    assert np.allclose(stats["q99"], np.quantile(x, 0.99, axis=0)) and np.allclose(stats["std"], x.std(0))
    assert lerobot_stats.vector_stats(np.arange(10))["mean"].shape == (1,)  # a scalar feature keeps shape (1,)


def test_image_stats_count_frames_not_pixels():
    frames = np.zeros((40, 8, 8, 3), np.uint8)
    frames[..., 0] = 255
    stats = lerobot_stats.image_stats(frames)
    assert stats["count"].tolist() == [40] and stats["mean"].shape == (3, 1, 1)
    assert stats["mean"][:, 0, 0].tolist() == [1.0, 0.0, 0.0] and stats["q50"][0, 0, 0] == 1.0
    assert len(lerobot_stats.image_sample_indices(5000)) == 594  # LeRobot's sample size at 5000 frames
    with pytest.raises(ValueError, match="images must be"):
        lerobot_stats.image_stats(np.zeros((4, 8, 8), np.uint8))


def test_aggregate_pools_episodes_into_the_whole_dataset():
    rng = np.random.default_rng(1)
    a, b = rng.normal(0, 1, (300, 6)), rng.normal(3, 2, (100, 6))
    pooled = lerobot_stats.aggregate([lerobot_stats.vector_stats(a), lerobot_stats.vector_stats(b)])
    both = np.concatenate([a, b])
    assert pooled["count"].tolist() == [400]
    assert np.allclose(pooled["mean"], both.mean(0)) and np.allclose(pooled["std"], both.std(0))
    assert np.allclose(pooled["min"], both.min(0)) and np.allclose(pooled["max"], both.max(0))
    q = (300 * np.quantile(a, 0.5, axis=0) + 100 * np.quantile(b, 0.5, axis=0)) / 400  # LeRobot's count-weighted mean
    assert np.allclose(pooled["q50"], q)


def test_writer_keeps_full_stats_per_episode_and_for_the_dataset(tmp_path):
    rng = np.random.default_rng(2)
    writer = LeRobotV3Writer(tmp_path / "ds", {"front": (16, 16)}, use_videos=False)
    lengths = (12, 30)
    for n in lengths:
        images = {"front": rng.integers(0, 256, (n, 16, 16, 3), dtype=np.uint8)}
        writer.add_episode(rng.normal(size=(n, 6)), rng.normal(size=(n, 6)), images, task="place the card")
    writer.finish()
    stats = json.loads((tmp_path / "ds/meta/stats.json").read_text())
    features = {"observation.state", "action", "observation.images.front", "timestamp", "frame_index"}
    features |= {"episode_index", "index", "task_index"}
    assert set(stats) == features and all(set(s) == STAT_KEYS for s in stats.values())
    assert stats["observation.images.front"]["count"] == [sum(lengths)]  # frames, as LeRobot counts
    assert np.asarray(stats["observation.images.front"]["q01"]).shape == (3, 1, 1)
    assert stats["index"]["max"] == [sum(lengths) - 1]
    rows = pq.read_table(tmp_path / "ds/meta/episodes/chunk-000/file-000.parquet").to_pylist()
    for row, n in zip(rows, lengths, strict=True):
        for feature in features:  # LeRobot's split and delete re-aggregate these columns, images included
            assert {f"stats/{feature}/{k}" for k in STAT_KEYS} <= set(row), feature
        assert row["stats/observation.images.front/count"] == [n]
