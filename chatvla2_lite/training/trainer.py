"""Run one training stage: accelerate for the device(s), tqdm progress, a metrics JSONL, resumable checkpoints.

Layout of a stage's output folder:
    metrics.jsonl       one JSON object per logged step (loss terms, learning rate, seconds)
    state/              accelerate's optimiser, scheduler and RNG state, plus trainer.json (the step)
    model/              the ChatVLA2 checkpoint (config.json, model.safetensors, tokenizer, processor)
"""

from __future__ import annotations

import json
import logging
import math
import time
from pathlib import Path

import numpy as np
import torch
from tqdm.auto import tqdm

from chatvla2_lite.training.samples import encode_batch, split_by_kind
from chatvla2_lite.training.stage import StageConfig, set_trainable
from sim.conventions import STATE_KEY

log = logging.getLogger(__name__)


def _lr_lambda(stage: StageConfig):
    def f(step: int) -> float:
        if step < stage.warmup_steps:
            return (step + 1) / max(1, stage.warmup_steps)
        progress = (step - stage.warmup_steps) / max(1, stage.steps - stage.warmup_steps)
        cosine = 0.5 * (1 + math.cos(math.pi * min(1.0, progress)))
        return stage.lr_floor + (1 - stage.lr_floor) * cosine

    return f


def train_stage(
    policy, stage: StageConfig, stream, out_dir: str | Path, seed: int = 0, progress: bool = True, probe=None
) -> dict:
    """Train `policy` (a ChatVLA2) for `stage.steps` steps on batches from `stream`; resumes from out_dir/state.

    `probe(policy, processor) -> {name: value}`, when given, runs every `stage.probe_every` steps with the model in
    eval mode; its figures go to metrics.jsonl as probe_<name>. Returns the last logged metrics. The final model,
    with the full processor whatever views the stage trained on, is written to out_dir/model.
    """
    from accelerate import Accelerator

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    model = policy.model
    processor = stage_processor(policy, stage)
    pixels, geometry = policy.config.action_expert.pixels, policy.config.action_expert.geometry
    trainable = set_trainable(model, stage.trainable)
    if not trainable:
        raise ValueError(f"stage {stage.name!r} has nothing to train ({stage.trainable})")
    params = [p for p in model.parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW(params, lr=stage.lr, weight_decay=stage.weight_decay)
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, _lr_lambda(stage))
    accelerator = Accelerator()
    model, optimizer, scheduler = accelerator.prepare(model, optimizer, scheduler)

    state_dir = out / "state"
    step = _load_saved_state(accelerator, state_dir)
    if step:
        log.info("resuming stage %s at step %d", stage.name, step)
    (out / "stage.json").write_text(json.dumps(stage.to_dict(), indent=2))

    generator = torch.Generator(device=accelerator.device).manual_seed(seed + step)  # noise made where the model is
    model.train()
    last: dict = {}
    bar = tqdm(total=stage.steps, initial=step, desc=f"train {stage.name}", disable=not progress)
    started = time.perf_counter()
    with (out / "metrics.jsonl").open("a") as metrics:
        while step < stage.steps:
            samples = [next(stream) for _ in range(stage.batch_size)]
            optimizer.zero_grad(set_to_none=True)
            terms = {"loss": 0.0, "lm_loss": 0.0, "action_loss": 0.0, "aux_loss": 0.0}
            for group in split_by_kind(samples):  # a batch holds one kind; both kinds add to one step
                batch = {
                    k: v.to(accelerator.device)
                    for k, v in encode_batch(processor, group, pixels=pixels, geometry=geometry).items()
                }
                output = model(batch, generator=generator)
                weight = len(group) / len(samples)
                accelerator.backward(output.loss * weight)
                for name in terms:
                    value = getattr(output, name)
                    if value is not None:
                        terms[name] += float(value.detach()) * weight
            if stage.grad_clip:
                accelerator.clip_grad_norm_(params, stage.grad_clip)
            optimizer.step()
            scheduler.step()
            step += 1
            bar.update(1)
            if not all(np.isfinite(v) for v in terms.values()):
                raise FloatingPointError(f"the loss became {terms} at step {step}; lower the learning rate")
            if step % stage.log_every == 0 or step == stage.steps:
                last = {
                    "stage": stage.name,
                    "step": step,
                    **{k: round(v, 5) for k, v in terms.items()},
                    "lr": scheduler.get_last_lr()[0],
                    "seconds": round(time.perf_counter() - started, 2),
                }
                metrics.write(json.dumps(last) + "\n")
                metrics.flush()
                bar.set_postfix(loss=f"{terms['loss']:.4f}")
            if probe is not None and stage.probe_every and (step % stage.probe_every == 0 or step == stage.steps):
                metrics.write(json.dumps(_probe_line(policy, processor, probe, stage.name, step)) + "\n")
                metrics.flush()
            if step % stage.save_every == 0 or step == stage.steps:
                accelerator.save_state(str(state_dir))
                (state_dir / "trainer.json").write_text(json.dumps({"step": step}))
    bar.close()
    model.eval()
    policy.save_pretrained(out / "model")
    return last


def export_state(policy, out_dir: str | Path) -> int:
    """Write out_dir/model from the weights saved in out_dir/state (a run stopped before its last step), training
    nothing; `policy` must be built as the run built its model (its --init and model options). Returns the state's
    step."""
    from accelerate import Accelerator

    out = Path(out_dir)
    state_dir = out / "state"
    accelerator = Accelerator()
    accelerator.prepare(policy.model)
    try:
        step = _load_saved_state(accelerator, state_dir)
    except RuntimeError as exc:  # missing or unexpected weights: another model than the run's
        raise ValueError(
            f"the state in {state_dir} holds another model's weights than this run builds; "
            f"was the recipe's run changed since it trained? ({str(exc).splitlines()[0]})"
        ) from exc
    if not step:
        raise ValueError(f"no saved training state in {state_dir}: a stage writes one every save_every steps")
    policy.model.eval()
    policy.save_pretrained(out / "model")
    return step


def _load_saved_state(accelerator, state_dir: Path) -> int:
    """Load the state saved in `state_dir` into what `accelerator` prepared; the step it was saved at, 0 if none."""
    if not (state_dir / "trainer.json").is_file():
        return 0
    accelerator.load_state(str(state_dir))
    return int(json.loads((state_dir / "trainer.json").read_text())["step"])


def stage_processor(policy, stage: StageConfig):
    """The processor a stage trains through: the policy's, narrowed to the stage's views when it names some."""
    return policy.processor.with_views(stage.views) if stage.views else policy.processor


def _probe_line(policy, processor, probe, stage_name: str, step: int) -> dict:
    started = time.perf_counter()
    policy.model.eval()
    try:
        figures = probe(policy, processor)
    finally:
        policy.model.train()
    return {
        "stage": stage_name,
        "step": step,
        **{f"probe_{k}": v for k, v in figures.items()},
        "probe_s": round(time.perf_counter() - started, 2),
    }


def fit_action_normalizers(policy, samples) -> None:
    """Set the state and action normalisation statistics (kept in the checkpoint) from robot samples."""
    samples = [s for s in samples if s.action is not None]
    states = np.stack([np.asarray(s.observation[STATE_KEY], np.float32) for s in samples])
    chunks = np.stack([s.action for s in samples]).astype(np.float32)  # (N, H, 6)
    actions = chunks.reshape(-1, chunks.shape[-1])
    policy.model.action_normalizer.set_stats(actions.mean(0), actions.std(0))
    policy.model.state_normalizer.set_stats(states.mean(0), states.std(0))
