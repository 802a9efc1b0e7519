"""`probe` scores exact answers of the retention suites, in the model's own world."""

from types import SimpleNamespace

import pytest

from chatvla2_lite.evaluation.probe import normalize_answer, probe, probe_rows


def test_normalize_answer():
    assert normalize_answer(" 3 − 4 = ? ") == normalize_answer("3 - 4 = ?")
    assert normalize_answer("Yes.") == "yes"
    assert normalize_answer("3 + 4 = 7") != normalize_answer("3 + 4 = 8")


class EchoPolicy:
    """Answers every question with the ground truth it is handed, or with nonsense; a model of `world`."""

    def __init__(self, right: bool, world=None):
        from sim.world import World

        self.right, self.answers = right, []
        self.processor = SimpleNamespace(world=(world or World()).to_dict(), camera_names=("front", "wrist"))

    def reason(self, observation, question, max_new_tokens=None):
        return SimpleNamespace(text=self.answers.pop(0) if self.right else "banana")


def _echoing(monkeypatch, policy, seen=None):
    from chatvla2_lite.data import image_text

    real = image_text.to_processor_inputs

    def spy(sample):
        out = real(sample)
        policy.answers.append(out[2])
        if seen is not None:
            seen.append(out[0]["observation.images.front"].shape)
        return out

    monkeypatch.setattr(image_text, "to_processor_inputs", spy)


@pytest.mark.parametrize("right", [True, False])
def test_probe_counts_exact_answers(monkeypatch, right):
    policy = EchoPolicy(right)
    _echoing(monkeypatch, policy)
    result = probe(policy, "spatial", questions=4, progress=False)
    assert result["spatial"] == (1.0 if right else 0.0) and result["questions_per_suite"] == 4


def test_the_probe_asks_in_the_models_world_and_says_which(monkeypatch):
    from sim.world import World

    policy, fronts = EchoPolicy(True, World(448, "row")), []
    _echoing(monkeypatch, policy, fronts)
    rows = probe_rows(policy, "card_list", questions=2, progress=False)  # any image-text kind, for the experiments
    assert [right for *_, right in rows] == [True, True] and fronts == [(448, 448, 3)] * 2
    assert probe(policy, "ocr", questions=1, progress=False)["world"] == {
        "camera_size": 448,
        "card_layout": "row",
        "points": False,
        "fonts": "matplotlib",
    }


def test_all_is_the_retention_suites_and_an_unknown_suite_is_named(monkeypatch):
    from chatvla2_lite.evaluation import probe as probing

    monkeypatch.setattr(probing, "probe_rows", lambda policy, suite, *args, **kwargs: [("q", "a", "b", False)])
    scored = set(probe(EchoPolicy(False), "all", progress=False))
    assert {"ocr", "math", "spatial"} == scored & set(probing.PROBE_SUITES)  # photo and grounding are not retention
    with pytest.raises(ValueError, match="use one of ocr, math, spatial, photo, grounding or all"):
        probe(EchoPolicy(False), "cards", progress=False)  # a card suite is an experiment's, not a retention suite
    with pytest.raises(ValueError, match="unknown probe suite 'tiles'"):
        probe_rows(EchoPolicy(False), "tiles", progress=False)


@pytest.mark.parametrize("right", [True, False])
def test_grounding_scores_each_pointing_kind_on_the_table(monkeypatch, right):
    policy = EchoPolicy(right)
    _echoing(monkeypatch, policy)
    result = probe(policy, "grounding", questions=3, progress=False)
    kinds = ("grounding_card", "grounding_toy", "grounding_place")
    assert all(result[k] == (1.0 if right else 0.0) for k in kinds) and result["grounding"] == result[kinds[0]]


def test_a_point_a_few_centimetres_off_is_wrong_and_one_within_the_tolerance_right():
    from chatvla2_lite.evaluation.probe import is_right
    from sim.points import to_point

    sample = {"kind": "point_card", "answer": "(500, 600)", "target": [0.2, 0.0, 0.01]}
    near, far = to_point([0.2, 0.01, 0.01]), to_point([0.2, 0.03, 0.01])
    assert is_right(sample, f"({near[0]}, {near[1]})") and not is_right(sample, f"({far[0]}, {far[1]})")
    assert not is_right(sample, "at the front left")


def test_the_photo_suite_asks_board_questions_of_photos_in_heldout_handwriting(monkeypatch):
    policy, fronts = EchoPolicy(True), []
    _echoing(monkeypatch, policy, fronts)
    rows = probe_rows(policy, "photo", questions=2, progress=False)
    assert [right for *_, right in rows] == [True, True] and fronts == [(224, 224, 3)] * 2
    assert {q for q, *_ in rows} <= {"What is written on the board?", "Solve the problem on the board."}
