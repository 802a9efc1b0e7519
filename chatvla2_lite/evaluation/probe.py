"""`chatvla2-lite probe`: VQA accuracy of a model's backbone on heldout image-text questions.

Suites: ocr (read the board), math (solve it), spatial (relations between toys in a sim scene), the
retention suites that `all` runs; and cards (which cards lie on the table and where: the skill the
arm needs to find the card its reasoning names); card_list, the cards from left to right alone, also scored per card
(`card_list_per_card`: the share of cards whose digit is said at its place). The boards are photographed by the
front camera, as the robot sees them. An answer counts when it equals the ground truth up to letter case, spaces
and a final full stop.

With `blind`, the same heldout questions are also scored for a blind answer: the commonest answer to each question
(its digits as "d") over that many train-split questions, what a model that never looks at the picture learns to
say. A suite's score means something only above its blind one (the tray's place in the cards suite is a sure guess).
"""

from __future__ import annotations

import re
import time

import numpy as np
from tqdm.auto import tqdm

from sim.world import World

SUITES = ("ocr", "math", "spatial")  # what `all` runs: the skills the retention claim is about
ALL_SUITES = SUITES + ("cards", "card_list")


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
    """(question, expected answer, the policy's answer, right) for `questions` questions of `suite`.

    `lock`, when given, is held around each model call (a model shared between sessions).
    """
    from contextlib import nullcontext

    from chatvla2_lite.data.image_text import ImageTextConfig, iter_image_text, to_processor_inputs

    if suite not in ALL_SUITES:
        raise ValueError(f"unknown probe suite {suite!r}; use one of {', '.join(ALL_SUITES)}")
    stream = iter_image_text(
        split, seed, ImageTextConfig(kinds=(suite,), board_view="front", world=policy.processor.world)
    )
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


def question_form(question: str) -> str:
    """The question with its digits as "d": "Where is the card 4?" -> "Where is the card d?"."""
    return re.sub(r"\d", "d", question)


def answers_by_question(rows) -> dict[str, list[int]]:
    """{question with its digits as "d": [answered right, asked]} over probe rows."""
    tally: dict[str, list[int]] = {}
    for question, _, _, right in rows:
        counts = tally.setdefault(question_form(question), [0, 0])
        counts[0] += bool(right)
        counts[1] += 1
    return tally


def cards_said_right(rows) -> float:
    """The share of the expected answers' digits that the said answers have at the same place ("4, 7 and 9" said
    as "4, 1 and 9": two of three)."""
    expected = [re.findall(r"\d", want) for _, want, _, _ in rows]
    said = [re.findall(r"\d", got) for _, _, got, _ in rows]
    right = sum(a == b for want, got in zip(expected, said) for a, b in zip(want, got))
    return right / max(1, sum(map(len, expected)))


def blind_answers(
    suite: str, questions: int, split: str = "train", seed: int = 0, progress: bool = True, world=None
) -> tuple[dict[str, str], str]:
    """({question with its digits as "d": its commonest answer}, the suite's commonest answer) over `questions`
    questions of `suite` on `split` in `world` (sim.world.World, None the default); the second answers a question
    whose form the split never asked (a heldout toy)."""
    from collections import Counter

    from chatvla2_lite.data.image_text import ImageTextConfig, iter_image_text
    from sim.world import World

    # the front camera only: the answers come from the scene, and the wrist's render would double the cost
    config = ImageTextConfig(kinds=(suite,), board_view="front", scene_cameras=("front",), world=World.of(world))
    stream = iter_image_text(split, seed, config)
    by_form: dict[str, Counter] = {}
    try:
        for _ in tqdm(range(questions), desc=f"blind {suite}", disable=not progress):
            sample = next(stream)
            by_form.setdefault(question_form(sample["question"]), Counter())[normalize_answer(sample["answer"])] += 1
    finally:
        stream.close()
    overall = sum(by_form.values(), Counter())
    return {form: answers.most_common(1)[0][0] for form, answers in by_form.items()}, overall.most_common(1)[0][0]


def blind_rows(rows, answers: tuple[dict[str, str], str]) -> list[tuple[str, str, str, bool]]:
    """The probe rows as the blind answer of blind_answers would have scored them."""
    by_form, commonest = answers
    out = []
    for question, expected, _, _ in rows:
        said = by_form.get(question_form(question), commonest)
        out.append((question, expected, said, said == normalize_answer(expected)))
    return out


def probe(
    policy,
    suite: str = "all",
    questions: int = 50,
    split: str = "heldout",
    seed: int = 20_000,
    progress: bool = True,
    blind: int = 0,
) -> dict:
    """{suite: accuracy} for one suite or all, plus the settings and the wall time; with `blind` > 0, also
    {suite_blind: accuracy} of a blind answer learnt from that many train questions (see the module's notes)."""
    if suite != "all" and suite not in ALL_SUITES:
        raise ValueError(f"unknown probe suite {suite!r}; use one of {', '.join(ALL_SUITES)} or all")
    started = time.perf_counter()
    suites = SUITES if suite == "all" else (suite,)
    result = {}
    for name in suites:
        rows = probe_rows(policy, name, questions, split, seed, progress=progress)
        result[name] = float(np.mean([ok for *_, ok in rows]))
        answers = blind_answers(name, blind, progress=progress, world=policy.processor.world) if blind > 0 else None
        guessed = blind_rows(rows, answers) if answers else None
        if guessed is not None:
            result[f"{name}_blind"] = float(np.mean([ok for *_, ok in guessed]))
        if name == "cards":  # a blind answer gets the tray's questions right and no card's digit: say which it got
            result["cards_by_question"] = answers_by_question(rows)
            if guessed is not None:
                result["cards_blind_by_question"] = answers_by_question(guessed)
        if name == "card_list":  # a whole list is rarely exact before the reading is: count the cards said right
            result["card_list_per_card"] = cards_said_right(rows)
            if guessed is not None:
                result["card_list_blind_per_card"] = cards_said_right(guessed)
    result.update(
        {
            "questions_per_suite": questions,
            "split": split,
            "seed": seed,
            "blind_questions": blind,
            "world": World.of(policy.processor.world).to_dict(),
            "wall_s": round(time.perf_counter() - started, 1),
        }
    )
    return result
