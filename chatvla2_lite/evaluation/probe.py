"""`chatvla2-lite probe`: VQA accuracy of a model's backbone on heldout image-text questions.

Suites: ocr (read the board), math (solve it), spatial (relations between toys in a sim scene): the retention
suites that `all` runs, the skills the staged recipe must keep; photo (the ocr and math questions on phone photos
of a whiteboard in the heldout corpus handwriting, through the playground's photo path) and grounding (a point at a
card, a toy, or where a toy goes, right within 1.5 cm of a card's centre, 2 cm for toys and places). The boards
are photographed by the front camera, as the robot sees them. An answer counts when it equals the ground truth up
to letter case, spaces and a final full stop. `probe_rows` asks questions of any image-text kind
(data.image_text.KINDS) or photo, for the in-training probes and the experiments.
"""

from __future__ import annotations

import time
from contextlib import nullcontext

import numpy as np
from tqdm.auto import tqdm

from chatvla2_lite.data import image_text
from chatvla2_lite.data.grounding_questions import POINT_TOLERANCE_M, point_error_m
from chatvla2_lite.data.photo_boards import iter_photo_questions
from sim.world import World

SUITES = ("ocr", "math", "spatial")  # what `all` runs: the skills the retention claim is about
# beyond retention: boards photographed by a phone in handwriting the model never saw, through the playground's photo
# path (data/photo_boards.py), and pointing at cards, toys and where a toy goes (data/grounding_questions.py)
PROBE_SUITES = SUITES + ("photo", "grounding")
GROUNDING_SUITES = {"point_card": "grounding_card", "point_toy": "grounding_toy", "point_place": "grounding_place"}

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
    if suite == "photo":
        cameras = tuple(policy.processor.camera_names)
        stream = iter_photo_questions(split, seed, world=policy.processor.world, cameras=cameras)
    elif suite in image_text.KINDS:
        config = image_text.ImageTextConfig(kinds=(suite,), board_view="front", world=policy.processor.world)
        stream = image_text.iter_image_text(split, seed, config)
    else:
        raise ValueError(f"unknown probe suite {suite!r}; use one of {', '.join(image_text.KINDS)} or photo")
    rows = []
    try:
        for _ in tqdm(range(questions), desc=f"probe {suite}", disable=not progress):
            sample = next(stream)
            observation, question, answer = image_text.to_processor_inputs(sample)
            with lock or nullcontext():
                said = policy.reason(observation, question, max_new_tokens=max_new_tokens).text
            rows.append((question, answer, said, is_right(sample, said)))
    finally:
        stream.close()
    return rows


def is_right(sample: dict, said: str) -> bool:
    """Whether `said` answers `sample`: a pointing question's point within its tolerance of the truth on the table,
    any other the answer up to normalize_answer."""
    if sample["kind"] in POINT_TOLERANCE_M:
        error = point_error_m(said, sample["target"])
        return error is not None and error <= POINT_TOLERANCE_M[sample["kind"]]
    return normalize_answer(said) == normalize_answer(sample["answer"])


def probe(
    policy, suite: str = "all", questions: int = 50, split: str = "heldout", seed: int = 20_000, progress: bool = True
) -> dict:
    """{suite: accuracy} for one suite (PROBE_SUITES) or all the retention ones, plus the settings and the wall
    time. grounding asks `questions` of each pointing kind and gives each its figure beside their mean."""
    if suite != "all" and suite not in PROBE_SUITES:
        raise ValueError(f"unknown probe suite {suite!r}; use one of {', '.join(PROBE_SUITES)} or all")
    started = time.perf_counter()
    result = {}
    for name in SUITES if suite == "all" else (suite,):
        kinds = GROUNDING_SUITES if name == "grounding" else {name: name}
        for kind, key in kinds.items():
            rows = probe_rows(policy, kind, questions, split, seed, progress=progress)
            result[key] = float(np.mean([ok for *_, ok in rows]))
        if name == "grounding":
            result["grounding"] = float(np.mean([result[key] for key in GROUNDING_SUITES.values()]))
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
