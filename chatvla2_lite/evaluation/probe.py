"""`chatvla2-lite probe`: VQA accuracy of a model's backbone on heldout image-text questions.

Suites: ocr (read the board), math (solve it), spatial (relations between toys in a sim scene), the
retention suites that `all` runs; and cards (which cards lie on the table and where: the skill the
arm needs to find the card its reasoning names). The boards are photographed by the front camera,
as the robot sees them. An answer counts when it equals the ground truth up to letter case, spaces
and a final full stop.
"""

from __future__ import annotations

import re
import time

import numpy as np
from tqdm.auto import tqdm

SUITES = ("ocr", "math", "spatial")  # what `all` runs: the skills the retention claim is about
ALL_SUITES = SUITES + ("cards",)


_ASCII_SIGNS = str.maketrans({"−": "-", "×": "x", "*": "x", "÷": "/"})


def normalize_answer(text: str) -> str:
    """Lower case, single spaces, no trailing full stop; the board's minus, times and divide signs as ASCII."""
    return " ".join(str(text).translate(_ASCII_SIGNS).lower().split()).rstrip(".").strip()


def probe_rows(policy, suite: str, questions: int = 50, split: str = "heldout", seed: int = 20_000,
               max_new_tokens: int = 24, lock=None, progress: bool = True) -> list[tuple[str, str, str, bool]]:
    """(question, expected answer, the policy's answer, right) for `questions` questions of `suite`.

    `lock`, when given, is held around each model call (a model shared between sessions).
    """
    from contextlib import nullcontext

    from chatvla2_lite.data.image_text import ImageTextConfig, iter_image_text, to_processor_inputs

    if suite not in ALL_SUITES:
        raise ValueError(f"unknown probe suite {suite!r}; use one of {', '.join(ALL_SUITES)}")
    stream = iter_image_text(split, seed, ImageTextConfig(kinds=(suite,), board_view="front"))
    rows = []
    try:
        for _ in tqdm(range(questions), desc=f"probe {suite}", disable=not progress):
            observation, question, answer = to_processor_inputs(next(stream))
            with lock or nullcontext():
                said = policy.reason(observation, question, max_new_tokens=max_new_tokens).text
            rows.append((question, answer, said, normalize_answer(said) == normalize_answer(answer)))
    finally:
        stream.close()
    return rows


def answers_by_question(rows) -> dict[str, list[int]]:
    """{question with its digits as "d": [answered right, asked]} over probe rows."""
    tally: dict[str, list[int]] = {}
    for question, _, _, right in rows:
        counts = tally.setdefault(re.sub(r"\d", "d", question), [0, 0])
        counts[0] += bool(right)
        counts[1] += 1
    return tally


def probe(policy, suite: str = "all", questions: int = 50, split: str = "heldout", seed: int = 20_000,
          progress: bool = True) -> dict:
    """{suite: accuracy} for one suite or all, plus the settings and the wall time."""
    if suite != "all" and suite not in ALL_SUITES:
        raise ValueError(f"unknown probe suite {suite!r}; use one of {', '.join(ALL_SUITES)} or all")
    started = time.perf_counter()
    suites = SUITES if suite == "all" else (suite,)
    result = {}
    for name in suites:
        rows = probe_rows(policy, name, questions, split, seed, progress=progress)
        result[name] = float(np.mean([ok for *_, ok in rows]))
        if name == "cards":  # a blind answer gets the tray's questions right and no card's digit: say which it got
            result["cards_by_question"] = answers_by_question(rows)
    result.update({"questions_per_suite": questions, "split": split, "seed": seed,
                   "wall_s": round(time.perf_counter() - started, 1)})
    return result
