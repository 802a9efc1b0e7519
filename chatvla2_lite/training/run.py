"""`chatvla2-lite train`: one stage of a recipe, from a previous stage's model (or a fresh nano)."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np

from chatvla2_lite.data.image_text import BOARD_KINDS, DEFAULT_KINDS
from chatvla2_lite.evaluation.probe import ALL_SUITES as PROBE_SUITES
from chatvla2_lite.evaluation.probe import SUITES as RETENTION_SUITES
from chatvla2_lite.training.recipe import recipe_stage
from chatvla2_lite.training.samples import mixed
from chatvla2_lite.training.trainer import export_state, fit_action_normalizers, stage_processor, train_stage
from sim.world import World

PROBE_QUESTIONS = 16  # per suite and probe: enough to see the break-out, cheap next to 250 steps


def probe_reading(policy, processor, suites=PROBE_SUITES, questions: int = PROBE_QUESTIONS) -> dict:
    """Heldout answers by generation, the policy answering through `processor` (the stage's views): per suite
    its accuracy, `<suite>_chars` (how much of the expected text the answers match, 0..1) and `<suite>_example`
    ("expected -> said" for the first question). The character match moves long before exact answers do: a
    model that reads "7 - 3 = ?" as "7 + 3 = ?" scores 0 but 0.9."""
    from difflib import SequenceMatcher

    from chatvla2_lite.evaluation.probe import normalize_answer, probe_rows

    full, policy.processor = policy.processor, processor
    out = {}
    try:
        for suite in suites:
            rows = probe_rows(policy, suite, questions, progress=False)
            out[suite] = float(np.mean([ok for *_, ok in rows]))
            out[f"{suite}_chars"] = round(
                float(
                    np.mean(
                        [
                            SequenceMatcher(None, normalize_answer(said), normalize_answer(answer)).ratio()
                            for _, answer, said, _ in rows
                        ]
                    )
                ),
                3,
            )
            out[f"{suite}_example"] = f"{rows[0][1]} -> {rows[0][2]}"  # what it says, at a glance
    finally:
        policy.processor = full
    return out


def run_training(
    stage: str,
    out: str | Path,
    recipe: str = "chatvla2",
    init: str | None = None,
    robot_data: list[str] | None = None,
    seed: int = 0,
    progress: bool = True,
    action_objective: str | None = None,
    pixel_cameras: list[str] | None = None,
    pixel_size: int = 64,
    camera_size: int | None = None,
    card_layout: str | None = None,
    add_views: list[str] | None = None,
    export: bool = False,
    **overrides,
) -> dict:
    """Train one stage and return its last metrics plus where the model went. For a stage that trains the action
    expert, `action_objective` switches its objective first (flow matching, DDIM or one-pass regression) and
    `pixel_cameras` gives it a new conv net over those cameras' pixels at `pixel_size` (pixel_encoder.py), unless
    it already reads exactly those.
    `camera_size` and `card_layout` set the sim world the model learns in and is saved with (sim/world.py); each
    left None keeps the starting model's. `add_views` gives the backbone more views of the cameras
    (processing_chatvla2.EXTRA_VIEWS, e.g. the row world's cards), learnt from this stage on. `export` writes
    out/model from out/state as it stands (a run stopped early) instead of training, making no data."""
    from functools import partial

    from chatvla2_lite.data.record import check_demos_world
    from chatvla2_lite.model.policy_chatvla2 import ChatVLA2
    from chatvla2_lite.model.processing_chatvla2 import check_added_views
    from chatvla2_lite.training.streams import (
        board_photo_stream,
        cached_board_photo_stream,
        cached_image_text_stream,
        cached_near_miss_feature_stream,
        cached_robot_feature_stream,
        cached_rollout_feature_stream,
        image_text_config,
        image_text_stream,
        prefetched,
        robot_samples_for_stats,
        robot_stream,
    )

    config = recipe_stage(recipe, stage, **{k: v for k, v in overrides.items() if v is not None})
    image_text_config(config.kinds)  # an unknown kind or a bad weight fails here, before the model loads
    if add_views:
        check_added_views(add_views)  # before the model loads
    if (action_objective is not None or pixel_cameras) and config.trainable == "backbone":
        raise ValueError(
            f"stage {stage!r} does not train the action expert; switch its objective or give it pixels in a stage "
            "that does"
        )
    policy = ChatVLA2.from_pretrained(init) if init else ChatVLA2.from_config(seed=seed)
    world = World.of(policy.processor.world).overridden(camera_size, card_layout)
    policy.processor.world = world.to_dict()
    if add_views:
        policy.processor = policy.processor.with_added_views(add_views)
    if action_objective is not None:
        policy.config.action_expert.objective = action_objective
    if pixel_cameras:
        unknown = sorted(set(pixel_cameras) - set(policy.config.camera_names))
        if unknown:
            raise ValueError(f"no camera {unknown} in this model; it has {policy.config.camera_names}")
        if policy.config.action_expert.pixels != (list(pixel_cameras), pixel_size):
            policy.model.action_expert.add_pixel_encoder(pixel_cameras, pixel_size)
    if export:  # the model as the run built it, its weights from the saved state: no data to make
        step = export_state(policy, out)
        return {"stage": stage, "step": step, "exported": True, "recipe": recipe, "model": str(Path(out) / "model")}
    chunk, processor = policy.config.action_expert.chunk_size, stage_processor(policy, config)
    # image-text sources: rendered once up front and kept (config.cache), or rendered on the fly beside training
    image_text = {
        "image_text": (
            lambda n: cached_image_text_stream(n, "train", seed, progress=progress, kinds=config.kinds, world=world),
            lambda: prefetched(partial(image_text_stream, "train", seed, kinds=config.kinds, world=world)),
        ),
        "board_text": (
            lambda n: cached_board_photo_stream(
                n, "train", seed, band=_front_band(policy.processor, config.views), progress=progress, world=world
            ),
            lambda: prefetched(partial(board_photo_stream, "train", seed, world=world)),
        ),
    }
    streams = {
        source: cached(cache_size(config, source)) if config.cache else on_the_fly()
        for source, (cached, on_the_fly) in image_text.items()
        if config.mix.get(source, 0) > 0
    }
    draws_robot = config.mix.get("robot", 0) > 0
    if robot_data:
        check_demos_world(robot_data, world)
    if draws_robot:
        if not robot_data:
            raise ValueError(
                f"stage {stage!r} trains on robot demos: pass --robot-data DIR (from `chatvla2-lite record`)"
            )
        if config.trainable == "action" and config.cache:  # the backbone is frozen: read each frame once
            streams["robot"] = cached_robot_feature_stream(
                policy.model,
                processor,
                robot_data,
                chunk,
                cache_size(config, "robot"),
                seed,
                config.reword,
                config.rename,
                progress=progress,
            )
        else:
            streams["robot"] = robot_stream(robot_data, chunk, seed, reword=config.reword, rename=config.rename)
    # the first stage that sees actions fits their statistics
    if draws_robot and (init is None or stage == "cotrain"):
        fit_action_normalizers(policy, robot_samples_for_stats(robot_data, chunk))
    # scenes the sim plays for the action stage, each look read once through the frozen backbone
    scenes = {
        "rollouts": partial(cached_rollout_feature_stream, follow_picks=config.follow_picks),
        "near_misses": partial(
            cached_near_miss_feature_stream, wrong_picks=config.wrong_picks, recover_picks=config.recover_picks
        ),
    }
    for source, stream in scenes.items():
        if count := getattr(config, source):
            streams[source] = stream(
                policy.model,
                processor,
                scenes=count,
                chunk=chunk,
                seed=seed,
                reword=config.reword,
                rename=config.rename,
                progress=progress,
            )
    if config.mix.get("image_text", 0) > 0:  # the retention suites, and the card questions where the stage draws them
        suites = [s for s in PROBE_SUITES if s in RETENTION_SUITES or s in (config.kinds or DEFAULT_KINDS)]
    else:  # the read stage: its board questions
        suites = [s for s in PROBE_SUITES if s in BOARD_KINDS]
    probe = partial(probe_reading, suites=suites) if config.mix.keys() & {"image_text", "board_text"} else None
    last = train_stage(
        policy,
        config,
        mixed(streams, config.mix, np.random.default_rng(seed)),
        out,
        seed=seed,
        progress=progress,
        probe=probe,
    )
    return {**last, "recipe": recipe, "model": str(Path(out) / "model")}


def cache_size(config, source: str) -> int:
    """How many `source` samples to render up front: the stage's cache, but never more than its steps will draw
    (with a margin for the mix's randomness): rendering them all first would cost more than rendering on the fly."""
    share = config.mix.get(source, 0) / sum(config.mix.values())
    expected = config.steps * config.batch_size * share
    return int(min(config.cache, math.ceil(1.1 * expected) + config.batch_size))


def _front_band(processor, view_names) -> tuple[float, float]:
    """The rows (fractions of the height) of the front camera that the named views read; all of it when unknown."""
    views = [v for v in processor.views or () if v["camera"] == "front" and (not view_names or v["name"] in view_names)]
    if not views:
        return (0.0, 1.0)
    return (min(v["box"][1] for v in views), max(v["box"][3] for v in views))
