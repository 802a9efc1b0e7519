"""`chatvla2-lite train --recipe NAME`: the recipe's demos recorded and its runs trained, in order, each resumable.

Layout of a recipe's output folder (outputs/<recipe> by default):
    demos/<set>/<task>/     the recorded demos (LeRobot v3.0), one dataset per task
    <round>/<run>/          one stage run: metrics.jsonl, stage.json, state/ (resumable) and model/
    scores/                 what `export --to` measured for the card
A run whose model is written at its last step is done and skipped; one stopped early resumes from its state/.
"""

from __future__ import annotations

import json
import logging
import math
import shutil
from difflib import SequenceMatcher
from functools import partial
from pathlib import Path

import numpy as np

from chatvla2_lite.data.grounding_questions import GROUNDING_KINDS
from chatvla2_lite.data.image_text import BOARD_KINDS, DEFAULT_KINDS
from chatvla2_lite.data.record import check_demos_world, record_dataset
from chatvla2_lite.evaluation.probe import SUITES as RETENTION_SUITES
from chatvla2_lite.evaluation.probe import normalize_answer, probe_rows
from chatvla2_lite.model.policy_chatvla2 import ChatVLA2
from chatvla2_lite.model.processing_chatvla2 import VIEW_SETS, ChatVLA2Processor, check_added_views
from chatvla2_lite.training import streams
from chatvla2_lite.training.recipe import Recipe, RunConfig, demo_dirs
from chatvla2_lite.training.samples import mixed
from chatvla2_lite.training.trainer import export_state, fit_action_normalizers, stage_processor, train_stage
from sim.conventions import TASK_NAMES

log = logging.getLogger(__name__)
# what the in-training probes ask: the retention suites, and the card questions where a stage draws them
PROBE_SUITES = (*RETENTION_SUITES, "cards", "card_list", *GROUNDING_KINDS)
PROBE_QUESTIONS = 16  # per suite and probe, where a caller does not say (a stage's own is its probe_questions)
NANO_START = "nano"  # a recipe's `start` that names the shipped nano checkpoint (checkpoints/chatvla2-nano)


# Height (m) at which a reasoning's object point is taken onto the table: the sim's cards stand 1 cm, its toys 1.3 to
# 2 cm high at the middle a point names.
OBJECT_POINT_Z = 0.015


def run_dir(out: str | Path, run: RunConfig) -> Path:
    return Path(out) / run.name


def is_done(out: str | Path, run: RunConfig) -> bool:
    """The run's model is written and its state is at its last step."""
    folder = run_dir(out, run)
    trainer = folder / "state" / "trainer.json"
    if not (folder / "model" / "config.json").is_file() or not trainer.is_file():
        return False
    return json.loads(trainer.read_text())["step"] >= run.stage.steps


def train_recipe(
    recipe: Recipe, out: str | Path, only: str | None = None, seed: int = 0, progress: bool = True
) -> dict:
    """Record the demos and train every run of `recipe` not done yet, in order (`only`: that run alone, whose init
    and demos must be there); {run: its last metrics, or "done"}, and the card model's folder."""
    out = Path(out)
    runs = recipe.runs if only is None else [recipe.run(only)]
    results = {}
    for run in runs:
        if is_done(out, run):
            results[run.name] = "done"
            continue
        if run.demos is not None:
            _record_demos(recipe, run.demos, out, only is None, progress)
        if run.init is not None and not is_done(out, recipe.run(run.init)):
            raise ValueError(
                f"run {run.name!r} starts from {run.init!r}, which is not trained yet: "
                f"`chatvla2-lite train --recipe {recipe.name} --stage {run.init}` first"
            )
        results[run.name] = train_run(recipe, run, out, seed=seed, progress=progress)
    return {
        "recipe": recipe.name,
        "out": str(out),
        "runs": results,
        "model": str(run_dir(out, recipe.run(recipe.card.model)) / "model"),
    }


def _record_demos(recipe: Recipe, name: str, out: Path, record: bool, progress: bool) -> None:
    """Record the demo set `name` of `recipe` where it is missing (or, with `record` False, say how)."""
    for task, folder in zip(TASK_NAMES, demo_dirs(out, name)):
        if (folder / "meta" / "info.json").is_file():
            continue
        if not record:
            raise ValueError(f"demos {name!r} are not recorded yet: run `chatvla2-lite train --recipe {recipe.name}`")
        if folder.exists():  # a recording cut short: start it again
            shutil.rmtree(folder)
        record_dataset(task, recipe.demos[name], folder, world=recipe.world, progress=progress)


def build_policy(recipe: Recipe, run: RunConfig, out: str | Path, seed: int = 0) -> ChatVLA2:
    """The model a run starts from (its init's, else the recipe's start, else a fresh nano), in the recipe's world,
    with the run's model options applied: added views, a switched objective, a pixel encoder over new cameras."""
    if run.add_views:
        check_added_views(run.add_views)  # before the model loads
    init = Path(out) / run.init / "model" if run.init else recipe.start
    if init:
        policy = ChatVLA2.from_pretrained(None if init == NANO_START else init)
    else:
        processor = ChatVLA2Processor.nano(views=VIEW_SETS[run.view_set or "nano"])
        policy = ChatVLA2.from_config(processor=processor, seed=seed)
    policy.processor.world = recipe.world.to_dict()
    if run.add_views:
        policy.processor = policy.processor.with_added_views(run.add_views)
    if run.objective is not None:
        policy.config.action_expert.objective = run.objective
    if run.pixel_cameras:
        unknown = sorted(set(run.pixel_cameras) - set(policy.config.camera_names))
        if unknown:
            raise ValueError(f"no camera {unknown} in this model; it has {policy.config.camera_names}")
        if policy.config.action_expert.pixels != (list(run.pixel_cameras), run.pixel_size):
            policy.model.action_expert.add_pixel_encoder(run.pixel_cameras, run.pixel_size)
    if run.geometry and policy.config.action_expert.geometry is None:
        policy.model.action_expert.add_geometry(sim_geometry(recipe.world))
    return policy


def sim_geometry(world) -> dict:
    """The geometric channel's calibration in the sim (model/geometry.py): its front camera at the world's frame size,
    the arm's base, and the heights its points are taken at (a card's or a toy's middle; the table)."""
    from sim.points import front_matrix
    from sim.robot import ArmConfig

    arm = ArmConfig()
    return {
        "front_camera": np.asarray(front_matrix(world.camera_config())).ravel().tolist(),
        "base": [*map(float, arm.base_position), float(arm.base_yaw)],
        "object_z": OBJECT_POINT_Z,
        "place_z": 0.0,
    }


def train_run(recipe: Recipe, run: RunConfig, out: str | Path, seed: int = 0, progress: bool = True) -> dict:
    """Train one run of the recipe into out/<run>; its last metrics."""
    config, world = run.stage, recipe.world
    streams.image_text_config(config.kinds)  # an unknown kind or a bad weight fails here, before the model loads
    policy = build_policy(recipe, run, out, seed)
    folder = run_dir(out, run)
    chunk, processor = policy.config.action_expert.chunk_size, stage_processor(policy, config)
    robot_data = demo_dirs(out, run.demos) if run.demos else None
    # image-text sources: rendered once up front and kept (config.cache), or rendered on the fly beside training
    band = _front_band(policy.processor, config.views)
    renders = folder / "renders"  # kept across resumes: the cache takes minutes to an hour to render
    image_text = {
        "image_text": (
            lambda n: streams.cached_image_text_stream(
                n, "train", seed, progress=progress, kinds=config.kinds, world=world, cache_dir=renders
            ),
            lambda: streams.prefetched(
                partial(streams.image_text_stream, "train", seed, kinds=config.kinds, world=world)
            ),
        ),
        "board_text": (
            lambda n: streams.cached_board_photo_stream(
                n, "train", seed, band=band, progress=progress, world=world, cache_dir=renders
            ),
            lambda: streams.prefetched(partial(streams.board_photo_stream, "train", seed, world=world)),
        ),
        "photo_text": (
            lambda n: streams.cached_board_photo_stream(
                n, "train", seed, band=band, progress=progress, world=world, source="photo_text", cache_dir=renders
            ),
            lambda: streams.prefetched(
                partial(streams.board_photo_stream, "train", seed, world=world, source="photo_text")
            ),
        ),
    }
    sources = {
        source: cached(cache_size(config, source)) if config.cache else on_the_fly()
        for source, (cached, on_the_fly) in image_text.items()
        if config.mix.get(source, 0) > 0
    }
    draws_robot = config.mix.get("robot", 0) > 0
    if robot_data:
        check_demos_world(robot_data, world)
    if draws_robot:
        if config.trainable == "action" and config.cache:  # the backbone is frozen: read each frame once
            sources["robot"] = streams.cached_robot_feature_stream(
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
            sources["robot"] = streams.robot_stream(robot_data, chunk, seed, reword=config.reword, rename=config.rename)
    # the first run that sees actions fits their statistics (a model a recipe starts from has them), and so does
    # every co-training run
    if draws_robot and ((run.init is None and recipe.start is None) or run.kind in ("cotrain", "naive")):
        fit_action_normalizers(policy, streams.robot_samples_for_stats(robot_data, chunk))
    # scenes the sim plays for the action stage, each look read once through the frozen backbone
    scenes = {
        "rollouts": partial(streams.cached_rollout_feature_stream, follow_picks=config.follow_picks),
        "near_misses": partial(
            streams.cached_near_miss_feature_stream,
            wrong_picks=config.wrong_picks,
            recover_picks=config.recover_picks,
            turn_misses=config.turn_misses,
        ),
    }
    for source, stream in scenes.items():
        if count := getattr(config, source):
            sources[source] = stream(
                policy.model,
                processor,
                scenes=count,
                chunk=chunk,
                seed=seed,
                reword=config.reword,
                rename=config.rename,
                progress=progress,
            )
    if config.mix.get("image_text", 0) > 0:  # the retention suites, and the card questions where the run draws them
        suites = [s for s in PROBE_SUITES if s in RETENTION_SUITES or s in (config.kinds or DEFAULT_KINDS)]
    else:  # the read stage: its board questions
        suites = [s for s in PROBE_SUITES if s in BOARD_KINDS]
    suites += ["photo"] if config.mix.get("photo_text", 0) > 0 else []
    reads = config.mix.keys() & {"image_text", "board_text", "photo_text"}
    probe = partial(probe_reading, suites=suites, questions=config.probe_questions) if reads else None
    data = mixed(sources, config.mix, np.random.default_rng(seed))
    last = train_stage(policy, config, data, folder, seed=seed, progress=progress, probe=probe)
    return {**last, "model": str(folder / "model")}


def export_run(recipe: Recipe, run: RunConfig, out: str | Path, seed: int = 0) -> dict:
    """Write out/<run>/model from out/<run>/state as it stands (a run stopped early), training nothing."""
    policy = build_policy(recipe, run, out, seed)
    step = export_state(policy, run_dir(out, run))
    return {"run": run.name, "step": step, "model": str(run_dir(out, run) / "model")}


def probe_reading(policy, processor, suites=PROBE_SUITES, questions: int = PROBE_QUESTIONS) -> dict:
    """Heldout answers by generation, the policy answering through `processor` (the stage's views): per suite
    its accuracy, `<suite>_chars` (how much of the expected text the answers match, 0..1) and `<suite>_example`
    ("expected -> said" for the first question). The character match moves long before exact answers do: a
    model that reads "7 - 3 = ?" as "7 + 3 = ?" scores 0 but 0.9."""
    full, policy.processor = policy.processor, processor
    out = {}
    try:
        for suite in suites:
            rows = probe_rows(policy, suite, questions, progress=False)
            out[suite] = float(np.mean([ok for *_, ok in rows]))
            matches = [SequenceMatcher(None, normalize_answer(s), normalize_answer(a)).ratio() for _, a, s, _ in rows]
            out[f"{suite}_chars"] = round(float(np.mean(matches)), 3)
            out[f"{suite}_example"] = f"{rows[0][1]} -> {rows[0][2]}"  # what it says, at a glance
    finally:
        policy.processor = full
    return out


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
