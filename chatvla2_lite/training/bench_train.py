"""`chatvla2-lite bench train`: the time a training step of a recipe's run takes on this machine (CPU or GPU).

The real stage runs (its recipe's batch size, views, trainable parameters, optimiser and `accelerate` device
placement) on sim-shaped noise samples of the real text lengths, so the figure is the step's cost without the
data making: no simulator is needed, and it runs where pybullet is not installed. Data making (recording,
rendering) is measured by the stages' own runs and by `bench sim`.
"""

from __future__ import annotations

import dataclasses
import itertools
import json
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

from chatvla2_lite.data.samples import Sample
from chatvla2_lite.evaluation.bench_model import synthetic_observation
from chatvla2_lite.training.run import build_policy
from chatvla2_lite.training.samples import encode_batch, mixed, split_by_kind
from chatvla2_lite.training.stage import stage_config
from chatvla2_lite.training.streams import _served_every_epoch, feature_samples
from chatvla2_lite.training.trainer import fit_action_normalizers, stage_processor, train_stage
from sim.conventions import IMAGE_KEY

# Texts of the real samples' lengths: a board answer, a scene answer, a toy instruction and reasoning.
_QUESTION, _ANSWER = "What is written on the board?", "3 + 4 - 2 = ?"
_INSTRUCTION = "Pick the red cube and place it to the left of the blue duck"
_REASONING = "The red cube is at the front left. I place it to the left of the blue duck."


ROBOT_SOURCES = ("robot", "rollouts", "near_misses")  # the sources whose samples carry an action chunk


def _noise_samples(kind: str, seed: int, pool: int = 64):
    """Endless samples of one source (image-text questions, or one of ROBOT_SOURCES) with noise images: a pool
    made once and served in turn, as the stages serve their rendered caches, so making them is not timed."""
    rng = np.random.default_rng(seed)
    made = []
    for i in range(pool):
        obs = synthetic_observation(seed=seed + i)
        if kind in ROBOT_SOURCES:
            made.append(Sample(obs, _INSTRUCTION, _REASONING, rng.uniform(-0.5, 0.5, (16, 6)).astype(np.float32)))
        else:
            made.append(Sample({k: v for k, v in obs.items() if k.startswith(IMAGE_KEY)}, _QUESTION, _ANSWER))
    return itertools.cycle(made)


def run_train_benchmark(
    recipe,
    run: str,
    steps: int = 20,
    warmup: int = 3,
    batch_size: int | None = None,
    threads: int | None = None,
    seed: int = 0,
) -> dict:
    """Time `steps` training steps of the recipe's `run` after `warmup` untimed ones, on the nano model with random
    weights."""
    if steps < 1 or warmup < 1:
        raise ValueError(f"time at least one step after at least one warm-up step, got steps={steps} warmup={warmup}")
    if threads is not None:
        torch.set_num_threads(threads)
    full = recipe.run(run).stage
    fields = {k: v for k, v in full.to_dict().items() if k != "name"}
    if batch_size:
        fields["batch_size"] = batch_size
    timed = dict(steps=warmup + steps, log_every=1, probe_every=0, save_every=10**9, warmup_steps=1)
    config = stage_config(full.name, **{**fields, **timed})
    # the run's model options (objective, pixel encoder, views) on a fresh nano: its init's weights do not matter here
    policy = build_policy(recipe, dataclasses.replace(recipe.run(run), init=None), out=".", seed=seed)
    device = "cuda" if torch.cuda.is_available() else "cpu"
    streams = {kind: _noise_samples(kind, seed) for kind in config.mix}
    if set(streams) & set(ROBOT_SOURCES):
        fit_action_normalizers(policy, list(itertools.islice(_noise_samples("robot", seed), 32)))
    if config.trainable == "action" and config.cache:  # the action stage reads cached backbone features
        model = policy.model.to(device)
        for source in set(streams) & set(ROBOT_SOURCES):
            samples = list(itertools.islice(streams[source], max(config.batch_size, 64)))
            cached = feature_samples(model.eval(), stage_processor(policy, config), samples)
            streams[source] = _served_every_epoch(cached, lambda s: s, seed)
    with tempfile.TemporaryDirectory() as out:
        started = time.perf_counter()
        train_stage(
            policy, config, mixed(streams, config.mix, np.random.default_rng(seed)), out, seed=seed, progress=False
        )
        wall = time.perf_counter() - started
        rows = [json.loads(line) for line in (Path(out) / "metrics.jsonl").read_text().splitlines()]
    seconds = {r["step"]: r["seconds"] for r in rows if "seconds" in r}
    per_step = (seconds[warmup + steps] - seconds[warmup]) / steps
    # the part of a step spent on the CPU turning samples into tensors (the processor), timed on its own
    stream = mixed(streams, config.mix, np.random.default_rng(seed + 1))
    processor = stage_processor(policy, config)  # made once, as train_stage does
    started = time.perf_counter()
    for _ in range(steps):
        group = [next(stream) for _ in range(config.batch_size)]
        for kind in split_by_kind(group):
            encode_batch(
                processor,
                kind,
                pixels=policy.config.action_expert.pixels,
                geometry=policy.config.action_expert.geometry,
            )
    prep = (time.perf_counter() - started) / steps
    name = torch.cuda.get_device_name() if device == "cuda" else f"cpu, {torch.get_num_threads()} threads"
    return {
        "recipe": recipe.name,
        "run": run,
        "stage": config.name,
        "device": name,
        "batch_size": config.batch_size,
        "steps_timed": steps,
        "seconds_per_step": round(per_step, 4),
        "batch_prep_seconds_per_step": round(prep, 4),
        "samples_per_second": round(config.batch_size / per_step, 1),
        "run_steps": full.steps,
        "hours_for_run_steps": round(full.steps * per_step / 3600, 3),
        "wall_s": round(wall, 2),
    }
