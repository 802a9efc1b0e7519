"""`chatvla2-lite probe`: VQA accuracy of a model's backbone on heldout image-text questions.

Suites: ocr (read the board), math (solve it), spatial (relations between toys in a sim scene): the retention
suites that `all` runs, the skills the staged recipe must keep. The boards are photographed by the front camera,
as the robot sees them. An answer counts when it equals the ground truth up to letter case, spaces and a final full
stop. `probe_rows` asks questions of any image-text kind (data.image_text.KINDS), for the in-training probes and the
experiments.
"""

from __future__ import annotations

import time
from contextlib import nullcontext

import numpy as np
from tqdm.auto import tqdm

from chatvla2_lite.data import image_text
from sim.world import World

SUITES = ("ocr", "math", "spatial")  # what `all` runs: the skills the retention claim is about

_ASCII_SIGNS = str.maketrans({"−": "-", "×": "x", "*": "x", "÷": "/"})


def normalize_answer(text: str) -> str:
    """Lower case, single spaces, no trailing full stop; the board's minus, times and divide signs as ASCII."""
    return " ".join(str(text).translate(_ASCII_SIGNS).lower().split()).rstrip(".").strip()


def probe_rows(
    policy,
    suite: str,
    questions: int = 50,
    split: str = "heldout",
    seed: int = 20_000,
    max_new_tokens: int = 24,
    lock=None,
    progress: bool = True,
) -> list[tuple[str, str, str, bool]]:
    """(question, expected answer, the policy's answer, right) for `questions` questions of `suite` (an image-text
    kind), in the world the policy was trained for. `lock`, when given, is held around each model call (a model
    shared between sessions)."""
    if suite not in image_text.KINDS:
        raise ValueError(f"unknown probe suite {suite!r}; use one of {', '.join(image_text.KINDS)}")
    config = image_text.ImageTextConfig(kinds=(suite,), board_view="front", world=policy.processor.world)
    stream = image_text.iter_image_text(split, seed, config)
    rows = []
    try:
        for _ in tqdm(range(questions), desc=f"probe {suite}", disable=not progress):
            observation, question, answer = image_text.to_processor_inputs(next(stream))
            with lock or nullcontext():
                said = policy.reason(observation, question, max_new_tokens=max_new_tokens).text
            rows.append((question, answer, said, normalize_answer(said) == normalize_answer(answer)))
    finally:
        stream.close()
    return rows


def probe(
    policy, suite: str = "all", questions: int = 50, split: str = "heldout", seed: int = 20_000, progress: bool = True
) -> dict:
    """{suite: accuracy} for one retention suite or all, plus the settings and the wall time."""
    if suite != "all" and suite not in SUITES:
        raise ValueError(f"unknown probe suite {suite!r}; use one of {', '.join(SUITES)} or all")
    started = time.perf_counter()
    result = {}
    for name in SUITES if suite == "all" else (suite,):
        rows = probe_rows(policy, name, questions, split, seed, progress=progress)
        result[name] = float(np.mean([ok for *_, ok in rows]))
    result.update(
        {
            "questions_per_suite": questions,
            "split": split,
            "seed": seed,
            "world": World.of(policy.processor.world).to_dict(),
            "wall_s": round(time.perf_counter() - started, 1),
        }
    )
    return result
