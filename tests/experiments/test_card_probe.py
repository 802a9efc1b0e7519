"""experiments.card_probe: which cards lie where, scored per question form and per card, beside a blind answer."""

import json
import subprocess
import sys
from types import SimpleNamespace

import pytest

from experiments import card_probe
from experiments.card_probe import blind_answers, blind_rows, cards_said_right


class EchoPolicy:
    """Answers every question with the ground truth it is handed, or with nonsense."""

    def __init__(self, right: bool):
        self.right, self.answers = right, []
        self.processor = SimpleNamespace(world={}, views=None)

    def reason(self, observation, question, max_new_tokens=None):
        return SimpleNamespace(text=self.answers.pop(0) if self.right else "banana")


@pytest.mark.parametrize("right", [True, False])
def test_the_cards_suite_counts_each_question_once_under_its_digit_free_form(monkeypatch, right):
    from chatvla2_lite.data import image_text

    policy = EchoPolicy(right)
    real = image_text.to_processor_inputs

    def spy(sample):
        out = real(sample)
        policy.answers.append(out[2])
        return out

    monkeypatch.setattr(image_text, "to_processor_inputs", spy)
    result = card_probe.card_probe(policy, "cards", questions=4, progress=False)
    assert result["cards"] == (1.0 if right else 0.0)
    asked = result["cards_by_question"]
    assert sum(n for _, n in asked.values()) == 4 and sum(r for r, _ in asked.values()) == (4 if right else 0)
    assert not any(ch.isdigit() for question in asked for ch in question)


def test_the_blind_answer_is_each_question_forms_commonest_and_the_suites_for_a_form_never_seen(monkeypatch):
    from chatvla2_lite.data import image_text

    asked = [
        ("Where is the card 4?", "Left."),
        ("Where is the card 7?", "left"),
        ("Where is the card 2?", "right"),
        ("Is there a card 5?", "no"),
        ("Is there a card 1?", "No"),
        ("Is there a card 3?", "yes"),
        ("Is there a card 8?", "no"),
    ]

    def stream(split, seed, config):
        assert split == "train" and config.kinds == ("cards",) and config.world.card_layout == "scattered"
        yield from ({"question": q, "answer": a} for q, a in asked)

    monkeypatch.setattr(image_text, "iter_image_text", stream)
    answers = blind_answers("cards", len(asked), progress=False)
    assert answers == ({"Where is the card d?": "left", "Is there a card d?": "no"}, "no")
    rows = [
        ("Where is the card 9?", "Left", "x", False),
        ("Is there a card 9?", "yes", "yes", True),
        ("Is the duck left of the bowl?", "no", "yes", False),
    ]  # a form the train split never asked
    assert [(said, right) for *_, said, right in blind_rows(rows, answers)] == [
        ("left", True),
        ("no", False),
        ("no", True),
    ]


def test_the_card_list_is_scored_per_card_at_its_place(monkeypatch):
    rows = [("q", "4, 7 and 9", "4, 1 and 9", False), ("q", "2 and 5", "5 and 2", False), ("q", "3 and 6", "3", False)]
    assert cards_said_right(rows) == 3 / 7  # 4 and 9; neither of the swapped pair; the 3 of the short answer
    monkeypatch.setattr(card_probe, "probe_rows", lambda policy, suite, *args, **kwargs: rows)
    result = card_probe.card_probe(EchoPolicy(False), "card_list", progress=False)
    assert result["card_list"] == 0.0 and result["card_list_per_card"] == 3 / 7


def _run(*args, timeout=600):
    return subprocess.run(
        [sys.executable, "-m", "experiments.card_probe", *args], capture_output=True, text=True, timeout=timeout
    )


@pytest.mark.slow
def test_the_command_prints_one_json_line_in_the_world_it_is_asked_for():
    out = _run("--suite", "cards", "--questions", "2", "--blind", "3", "--card-layout", "row", "--json")
    assert out.returncode == 0, out.stderr[-2000:]
    scores = json.loads(out.stdout.strip().splitlines()[-1])
    assert scores["world"] == {
        "camera_size": 224,
        "card_layout": "row",
        "points": False,
        "fonts": "matplotlib",
    }  # the nano asked zero-shot in the row world
    assert 0.0 <= scores["cards"] <= 1.0 and scores["questions_per_suite"] == 2
    assert sum(asked for _, asked in scores["cards_by_question"].values()) == 2
    assert 0.0 <= scores["cards_blind"] <= 1.0 and scores["blind_questions"] == 3
    assert scores["cards_blind_by_question"].keys() == scores["cards_by_question"].keys()
    views = _run("--suite", "card_list", "--questions", "1", "--views", "board", "table", "--json")
    assert views.returncode == 0 and json.loads(views.stdout.strip().splitlines()[-1])["views"] == ["board", "table"]
    bad = _run("--suite", "cards", "--views", "top", "--questions", "1")
    assert bad.returncode == 2 and "unknown views" in bad.stderr and "Traceback" not in bad.stderr
    blind = _run("--suite", "cards", "--blind", "-1")
    assert blind.returncode == 2 and "--blind takes a number" in blind.stderr
