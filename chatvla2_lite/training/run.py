"""`chatvla2-lite train`: one stage of a recipe, from a previous stage's model (or a fresh nano)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from chatvla2_lite.training.recipe import recipe_stage
from chatvla2_lite.training.samples import mixed
from chatvla2_lite.training.trainer import fit_action_normalizers, train_stage


def run_training(stage: str, out: str | Path, recipe: str = "chatvla2", init: str | None = None,
                 robot_data: list[str] | None = None, seed: int = 0, progress: bool = True, **overrides) -> dict:
    """Train one stage and return its last metrics plus where the model went."""
    from chatvla2_lite.policy_chatvla2 import ChatVLA2
    from functools import partial

    from chatvla2_lite.training.streams import image_text_stream, prefetched, robot_samples_for_stats, robot_stream

    config = recipe_stage(recipe, stage, **{k: v for k, v in overrides.items() if v is not None})
    policy = ChatVLA2.from_pretrained(init) if init else ChatVLA2.from_config(seed=seed)
    chunk = policy.config.action_expert.chunk_size
    streams = {}
    if config.mix.get("image_text", 0) > 0:
        streams["image_text"] = prefetched(partial(image_text_stream, "train", seed))
    if config.mix.get("robot", 0) > 0:
        if not robot_data:
            raise ValueError(f"stage {stage!r} trains on robot demos: pass --robot-data DIR (from `chatvla2-lite record`)")
        streams["robot"] = robot_stream(robot_data, chunk, seed)
        if init is None or stage == "cotrain":  # the first stage that sees actions sets their statistics
            fit_action_normalizers(policy, robot_samples_for_stats(robot_data, chunk))
    last = train_stage(policy, config, mixed(streams, config.mix, np.random.default_rng(seed)), out, seed=seed,
                       progress=progress)
    return {**last, "recipe": recipe, "model": str(Path(out) / "model")}
