"""Does the backbone know which cards lie where, and does it beat an answer that never looks?

    python -m experiments.card_probe --suite cards|card_list [--questions 300] [--blind 2000] [--model M] --json

The cards questions ("Which cards are on the table?", "Where is the card 4?", "What is left of the card 7?") are
the skill the arm needs to find the card its reasoning names; card_list asks for the cards from left to right
alone and is also scored per card (`card_list_per_card`: the share of cards whose digit is said at its place).
With --blind N the same heldout questions are also scored for a blind answer: the commonest answer to each question
(its digits as "d") over N train-split questions, what a model that never looks at the picture learns to say. A
suite's score means something only above its blind one (the tray's place in the cards suite is a sure guess).
`--views` feeds the backbone only some of its views, as a stage that trained on them.
"""

from __future__ import annotations

import re
import sys
import time
from collections import Counter

import numpy as np
from tqdm.auto import tqdm

from chatvla2_lite.data import image_text
from chatvla2_lite.evaluation.probe import normalize_answer, probe_rows
from experiments import common
from sim.world import World

CARD_SUITES = ("cards", "card_list")


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
    questions of `suite` on `split` in `world` (None the default); the second answers a question whose form the
    split never asked (a heldout toy)."""
    # the front camera only: the answers come from the scene, and the wrist's render would double the cost
    config = image_text.ImageTextConfig(
        kinds=(suite,), board_view="front", scene_cameras=("front",), world=World.of(world)
    )
    stream = image_text.iter_image_text(split, seed, config)
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


def card_probe(
    policy,
    suite: str,
    questions: int = 300,
    split: str = "heldout",
    seed: int = 20_000,
    blind: int = 0,
    progress: bool = True,
) -> dict:
    """{suite: accuracy} of a card suite with its per-question (cards) or per-card (card_list) breakdown; with
    `blind` > 0 the same for a blind answer learnt from that many train questions."""
    if suite not in CARD_SUITES:
        raise ValueError(f"unknown card suite {suite!r}; use one of {', '.join(CARD_SUITES)}")
    if blind < 0:
        raise ValueError(f"--blind takes a number of train questions, 0 or more, not {blind}")
    started = time.perf_counter()
    rows = probe_rows(policy, suite, questions, split, seed, progress=progress)
    result = {suite: float(np.mean([ok for *_, ok in rows]))}
    guessed = None
    if blind > 0:
        answers = blind_answers(suite, blind, progress=progress, world=policy.processor.world)
        guessed = blind_rows(rows, answers)
        result[f"{suite}_blind"] = float(np.mean([ok for *_, ok in guessed]))
    if suite == "cards":  # a blind answer gets the tray's questions right and no card's digit: say which it got
        result["cards_by_question"] = answers_by_question(rows)
        if guessed is not None:
            result["cards_blind_by_question"] = answers_by_question(guessed)
    else:  # a whole list is rarely exact before the reading is: count the cards said right
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
            "views": [v["name"] for v in policy.processor.views or ()],
            "wall_s": round(time.perf_counter() - started, 1),
        }
    )
    return result


def main(argv: list[str] | None = None) -> int:
    p = common.parser(__doc__, "card_probe")
    p.add_argument("--suite", choices=CARD_SUITES, required=True, help="which card questions")
    p.add_argument("--questions", type=int, default=300, help="heldout questions")
    p.add_argument("--split", choices=("train", "heldout"), default="heldout", help="which split's questions")
    p.add_argument("--seed", type=int, default=20_000, help="first question seed")
    p.add_argument("--blind", type=int, default=0, metavar="N", help="also score a blind answer over N train questions")
    p.add_argument("--views", nargs="+", default=None, help="feed the backbone only these views")
    args = p.parse_args(argv)

    def measure(a):
        if a.blind < 0:  # before the model loads
            raise ValueError(f"--blind takes a number of train questions, 0 or more, not {a.blind}")
        policy = common.load(a)
        if a.views:
            policy.processor = policy.processor.with_views(a.views)
        return card_probe(policy, a.suite, a.questions, a.split, a.seed, a.blind)

    return common.run(measure, args)


if __name__ == "__main__":
    sys.exit(main())
