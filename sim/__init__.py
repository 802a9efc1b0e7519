"""The SO-100 tabletop simulator: `sim.make_env(task, split, seed)`. PyBullet is imported on first use."""

from __future__ import annotations

from sim.conventions import SPLIT_NAMES, TASK_NAMES

__all__ = ["SPLIT_NAMES", "TASK_NAMES", "make_env"]


def make_env(task: str = "math_matching", split: str = "train", seed: int | None = None, **kwargs):
    """A gymnasium-style env for `task` on `split`; see sim.env.So100TabletopEnv for the options."""
    from sim.env import make_env as _make_env

    return _make_env(task, split, seed, **kwargs)
