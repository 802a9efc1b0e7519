"""`probe` scores exact answers; `train` runs a stage from the command line and resumes; both print one JSON line."""

import json
import subprocess
import sys
from types import SimpleNamespace

import pytest

from chatvla2_lite.evaluation.probe import blind_answers, blind_rows, cards_said_right, normalize_answer, probe


def test_normalize_answer():
    assert normalize_answer(" 3 − 4 = ? ") == normalize_answer("3 - 4 = ?")
    assert normalize_answer("Yes.") == "yes"
    assert normalize_answer("3 + 4 = 7") != normalize_answer("3 + 4 = 8")


class EchoPolicy:
    """Answers every question with the ground truth it is handed, or with nonsense; a model of `world`."""

    def __init__(self, right: bool, world=None):
        from sim.world import World

        self.right, self.answers = right, []
        self.processor = SimpleNamespace(world=world or World())

    def reason(self, observation, question, max_new_tokens=None):
        return SimpleNamespace(text=self.answers.pop(0) if self.right else "banana")


@pytest.mark.parametrize("suite", ["spatial", "cards"])
@pytest.mark.parametrize("right", [True, False])
def test_probe_counts_exact_answers(monkeypatch, right, suite):
    from chatvla2_lite.data import image_text

    policy = EchoPolicy(right)
    real = image_text.to_processor_inputs

    def spy(sample):
        out = real(sample)
        policy.answers.append(out[2])
        return out

    monkeypatch.setattr(image_text, "to_processor_inputs", spy)
    result = probe(policy, suite, questions=4, progress=False)
    assert result[suite] == (1.0 if right else 0.0)
    if suite == "cards":  # each question counted once under its digit-free form
        asked = result["cards_by_question"]
        assert sum(n for _, n in asked.values()) == 4 and sum(r for r, _ in asked.values()) == (4 if right else 0)
        assert not any(ch.isdigit() for question in asked for ch in question)
    else:
        assert "cards_by_question" not in result


def test_the_probe_asks_in_the_models_world_and_says_which(monkeypatch):
    from chatvla2_lite.data import image_text
    from sim.world import World

    policy, fronts = EchoPolicy(True, World(448, "row")), []
    real = image_text.to_processor_inputs

    def spy(sample):
        out = real(sample)
        fronts.append(out[0]["observation.images.front"].shape)
        policy.answers.append(out[2])
        return out

    monkeypatch.setattr(image_text, "to_processor_inputs", spy)
    result = probe(policy, "card_list", questions=2, progress=False)
    assert result["card_list"] == 1.0 and result["world"] == {"camera_size": 448, "card_layout": "row"}
    assert fronts == [(448, 448, 3)] * 2


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
    from chatvla2_lite.evaluation import probe as probing

    rows = [("q", "4, 7 and 9", "4, 1 and 9", False), ("q", "2 and 5", "5 and 2", False), ("q", "3 and 6", "3", False)]
    assert cards_said_right(rows) == 3 / 7  # 4 and 9; neither of the swapped pair; the 3 of the short answer
    monkeypatch.setattr(probing, "probe_rows", lambda policy, suite, *args, **kwargs: rows)
    result = probe(EchoPolicy(False), "card_list", progress=False)
    assert result["card_list"] == 0.0 and result["card_list_per_card"] == 3 / 7


def test_all_is_the_retention_suites_and_an_unknown_suite_is_named(monkeypatch):
    from chatvla2_lite.evaluation import probe as probing

    monkeypatch.setattr(probing, "probe_rows", lambda policy, suite, *args, **kwargs: [("q", "a", "b", False)])
    assert {"ocr", "math", "spatial"} == set(probe(EchoPolicy(False), "all", progress=False)) & set(probing.ALL_SUITES)
    with pytest.raises(ValueError, match="cards"):
        probe(EchoPolicy(False), "tiles", progress=False)


def test_the_clis_probe_suites_are_the_probes():
    from chatvla2_lite.cli import build_parser
    from chatvla2_lite.evaluation.probe import ALL_SUITES

    probe_parser = build_parser()._subparsers._group_actions[0].choices["probe"]
    suite = next(a for a in probe_parser._actions if a.dest == "suite")
    assert set(suite.choices) == {*ALL_SUITES, "all"}


def _cli(*args, timeout=600):
    out = subprocess.run(
        [sys.executable, "-m", "chatvla2_lite.cli", *args, "--json"], capture_output=True, text=True, timeout=timeout
    )
    assert out.returncode == 0, out.stderr[-2000:]
    return json.loads(out.stdout.strip().splitlines()[-1])


@pytest.mark.slow
def test_train_and_probe_from_the_command_line(tmp_path):
    out = tmp_path / "vlm"
    first = _cli(
        "train",
        "--stage",
        "vlm",
        "--out",
        str(out),
        "--steps",
        "2",
        "--batch-size",
        "2",
        "--threads",
        "1",
        "--cache",
        "0",
        "--kinds",
        "cards=3",
        "ocr=1",
    )  # rendered on the fly by a worker process
    assert first["step"] == 2 and (out / "model" / "model.safetensors").is_file()
    assert json.loads((out / "stage.json").read_text())["kinds"] == {"cards": 3.0, "ocr": 1.0}
    probed = [row for row in map(json.loads, (out / "metrics.jsonl").read_text().splitlines()) if "probe_s" in row]
    assert {"probe_cards", "probe_ocr", "probe_spatial"} <= set(probed[-1])  # what it draws, and retention
    resumed = _cli(
        "train",
        "--stage",
        "vlm",
        "--out",
        str(out),
        "--steps",
        "3",
        "--batch-size",
        "2",
        "--threads",
        "1",
        "--cache",
        "6",
    )  # rendered up front, then served from memory
    assert resumed["step"] == 3
    rows = [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]
    steps = [row["step"] for row in rows if "loss" in row]
    assert steps[-1] == 3 and steps.count(3) == 1
    scores = _cli(
        "probe",
        "--suite",
        "cards",
        "--questions",
        "2",
        "--blind",
        "3",
        "--model",
        str(out / "model"),
        "--card-layout",
        "row",
    )  # asked zero-shot in a world it never learnt in
    assert scores["world"] == {"camera_size": 224, "card_layout": "row"}
    assert 0.0 <= scores["cards"] <= 1.0 and scores["questions_per_suite"] == 2 and "ocr" not in scores
    assert sum(asked for _, asked in scores["cards_by_question"].values()) == 2
    assert 0.0 <= scores["cards_blind"] <= 1.0 and scores["blind_questions"] == 3
    assert scores["cards_blind_by_question"].keys() == scores["cards_by_question"].keys()


@pytest.mark.slow
def test_the_read_stage_trains_on_the_board_view_and_probes_reading(tmp_path):
    out = tmp_path / "read"
    last = _cli(
        "train",
        "--stage",
        "read",
        "--out",
        str(out),
        "--steps",
        "2",
        "--batch-size",
        "2",
        "--threads",
        "1",
        "--cache",
        "64",
    )  # rendered once up front, as the full stage does with 49152
    assert last["stage"] == "read" and last["step"] == 2
    assert json.loads((out / "stage.json").read_text())["cache"] == 64
    probes = [row for row in map(json.loads, (out / "metrics.jsonl").read_text().splitlines()) if "probe_s" in row]
    assert len(probes) == 1 and probes[0]["step"] == 2  # the last step always probes
    assert set(probes[0]) >= {"probe_ocr", "probe_math", "probe_ocr_chars"} and "probe_spatial" not in probes[0]
    assert 0 <= probes[0]["probe_ocr_chars"] <= 1 and " -> " in probes[0]["probe_ocr_example"]
    # the model folder keeps every view for the next stage, though this one saw the board alone
    views = json.loads((out / "model" / "processor_config.json").read_text())["views"]
    assert [v["name"] for v in views] == ["board", "table", "wrist"]
    scores = _cli("probe", "--suite", "ocr", "--questions", "2", "--views", "board", "--model", str(out / "model"))
    assert scores["views"] == ["board"] and 0.0 <= scores["ocr"] <= 1.0
    bad = subprocess.run(
        [
            sys.executable,
            "-m",
            "chatvla2_lite.cli",
            "probe",
            "--views",
            "top",
            "--questions",
            "1",
            "--model",
            str(out / "model"),
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert bad.returncode == 2 and "unknown views" in bad.stderr and "Traceback" not in bad.stderr


@pytest.mark.parametrize("command", ["eval --task math_matching", "probe"])
def test_eval_and_probe_refuse_a_world_they_cannot_render_before_loading_a_model(command):
    bad = subprocess.run(
        [
            sys.executable,
            "-m",
            "chatvla2_lite.cli",
            *command.split(),
            "--camera-size",
            "50",
            "--model",
            "/nonexistent/model",
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert bad.returncode == 2 and "Traceback" not in bad.stderr
    assert "camera size must be a whole number of pixels from 112 to 1024, not 50" in bad.stderr


def test_train_without_robot_data_says_what_to_pass(tmp_path):
    out = subprocess.run(
        [sys.executable, "-m", "chatvla2_lite.cli", "train", "--stage", "action", "--out", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert out.returncode == 2 and "--robot-data" in out.stderr and "Traceback" not in out.stderr


def test_the_action_objective_switches_only_in_a_stage_that_trains_the_expert(tmp_path):
    bad = subprocess.run(
        [
            sys.executable,
            "-m",
            "chatvla2_lite.cli",
            "train",
            "--stage",
            "vlm",
            "--out",
            str(tmp_path),
            "--action-objective",
            "regression",
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert bad.returncode == 2 and "does not train the action expert" in bad.stderr and "Traceback" not in bad.stderr


def test_an_unknown_view_to_add_is_named_with_the_known_ones(tmp_path):
    bad = subprocess.run(
        [
            sys.executable,
            "-m",
            "chatvla2_lite.cli",
            "train",
            "--stage",
            "vlm",
            "--out",
            str(tmp_path),
            "--add-views",
            "cards",
            "top",
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert bad.returncode == 2 and "no view ['top'] to add; known: ['cards']" in bad.stderr
    assert "Traceback" not in bad.stderr and not (tmp_path / "stage.json").exists()


def test_bench_train_times_a_stage_without_a_simulator():
    timed = _cli(
        "bench", "train", "--stage", "action", "--steps", "2", "--warmup", "1", "--batch-size", "4", "--threads", "1"
    )
    assert timed["stage"] == "action" and timed["batch_size"] == 4 and timed["steps_timed"] == 2
    assert timed["seconds_per_step"] > 0 and timed["hours_for_recipe_steps"] > 0 and timed["device"].startswith("cpu")
    assert 0 < timed["batch_prep_seconds_per_step"] < timed["seconds_per_step"]  # a part of the step


def test_train_mix_takes_source_share_pairs(tmp_path):
    cli = [sys.executable, "-m", "chatvla2_lite.cli", "train", "--stage", "action", "--out", str(tmp_path), "--mix"]
    bad = subprocess.run([*cli, "near_misses"], capture_output=True, text=True, timeout=120)
    assert bad.returncode == 2 and "SOURCE=SHARE" in bad.stderr and "Traceback" not in bad.stderr
    bad = subprocess.run([*cli, "kites=1"], capture_output=True, text=True, timeout=120)
    assert bad.returncode == 2 and "draws no ['kites']" in bad.stderr and "Traceback" not in bad.stderr
    bad = subprocess.run([*cli[:-1], "--rename", "2"], capture_output=True, text=True, timeout=120)
    assert bad.returncode == 2 and "rename is a share" in bad.stderr and "Traceback" not in bad.stderr
