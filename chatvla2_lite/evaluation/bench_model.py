"""`chatvla2-lite bench model`: size, memory footprint (fp32 and 4-bit) and CPU speed of reason / act / a step."""

from __future__ import annotations

import logging
import tempfile
import time

import numpy as np
import torch

from sim.conventions import STATE_KEY, image_key

logger = logging.getLogger(__name__)
NANO_RANDOM = "nano (random weights)"


def synthetic_observation(seed: int = 0, size: int = 224, task: str = "what is 3 + 4? pick the card") -> dict:
    """A sim-shaped observation with noise images, for timing only."""
    rng = np.random.default_rng(seed)
    return {
        image_key("front"): rng.integers(0, 256, (size, size, 3), dtype=np.uint8),
        image_key("wrist"): rng.integers(0, 256, (size, size, 3), dtype=np.uint8),
        STATE_KEY: rng.uniform(-0.5, 0.5, 6).astype(np.float32),
        "task": task,
    }


def _median_s(fn, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return float(np.median(times))


def _footprint_mb(policy) -> float:
    return round(policy.get_memory_footprint() / 2**20, 3)


def run_model_benchmark(
    model: str | None = None,
    quantization: str | None = None,
    revision: str | None = None,
    repeats: int = 3,
    seed: int = 0,
    threads: int | None = None,
) -> dict:
    """Measure a model on this machine (CPU, torch's one intra-op thread pool), after one warm-up call each.

    `model`: a Hub id or local folder; None is the nano config with random weights. `quantization` picks the
    variant that is timed; both footprints are always reported. `threads` sets torch's intra-op pool size
    (default: torch's own choice); on a box shared with other jobs, 1 avoids threads spinning against them.
    """
    from chatvla2_lite.errors import QuantizationUnavailableError
    from chatvla2_lite.model.policy_chatvla2 import ChatVLA2
    from chatvla2_lite.quantization import normalize_quantization

    quantization = normalize_quantization(quantization)
    if threads is not None:
        torch.set_num_threads(threads)
    with tempfile.TemporaryDirectory() as tmp:
        if model is None:
            full = ChatVLA2.from_config(seed=seed)
            full.save_pretrained(tmp)  # so 4-bit goes through the same loading path as a checkpoint
            source = tmp
        else:
            full = ChatVLA2.from_pretrained(model, revision=revision)
            source = model
        result = {
            "model": model or NANO_RANDOM,
            "params": full.num_parameters(),
            "footprint_mb_fp32": _footprint_mb(full),
        }
        try:
            four_bit = ChatVLA2.from_pretrained(source, revision=revision if model else None, quantization="4bit")
            result["footprint_mb_4bit"] = _footprint_mb(four_bit)
        except QuantizationUnavailableError as exc:
            logger.warning("no 4-bit footprint: %s", exc)
            four_bit, result["footprint_mb_4bit"] = None, None
        if quantization is None:
            timed = full
        elif quantization == "4bit" and four_bit is not None:
            timed = four_bit
        else:
            timed = ChatVLA2.from_pretrained(source, revision=revision if model else None, quantization=quantization)

    obs = synthetic_observation(seed)
    tokens: list[str] = []
    timed.reason(obs)  # warm-up: lazy imports, allocator, kernel selection
    reasoning = timed.reason(obs, streamer=tokens.append)
    reason_s = _median_s(lambda: timed.reason(obs), repeats)
    n_tokens = max(len(tokens), 1)
    timed.act(obs, reasoning)
    act_s = _median_s(lambda: timed.act(obs, reasoning), repeats)

    def step():
        timed.reset()
        timed.select_action(obs)

    step()
    step_s = _median_s(step, repeats)
    result.update(
        quantization=quantization or "none",
        torch_threads=torch.get_num_threads(),
        reason_tokens=n_tokens,
        reason_tokens_per_s=round(n_tokens / reason_s, 2),
        act_ms=round(act_s * 1000, 2),
        step_ms=round(step_s * 1000, 2),
    )
    return result
