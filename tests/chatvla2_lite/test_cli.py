"""The product CLI: `train` runs a named recipe (resuming, skipping what is done), `export` writes a stopped run's
model, `bench train` times a run's step; bad settings get one clear line and exit code 2 before anything loads."""

import json
import subprocess
import sys

import pytest


def _run(*args, timeout=600):
    return subprocess.run(
        [sys.executable, "-m", "chatvla2_lite.cli", *args], capture_output=True, text=True, timeout=timeout
    )


def _cli(*args, timeout=600):
    out = _run(*args, "--json", timeout=timeout)
    assert out.returncode == 0, out.stderr[-2000:]
    return json.loads(out.stdout.strip().splitlines()[-1])


def _refused(*args) -> str:
    out = _run(*args, timeout=120)
    assert out.returncode == 2 and "Traceback" not in out.stderr, out.stderr[-2000:]
    return out.stderr


@pytest.mark.slow
def test_train_runs_a_recipes_run_then_resumes_it_and_skips_it_once_done(tmp_path):
    base = ["train", "--recipe", "chatvla2", "--stage", "r01/read", "--out", str(tmp_path), "--threads", "1"]
    small = ["batch_size=2", "cache=64"]  # rendered once up front, as the full run does with 49152
    first = _cli(*base, "--set", "steps=2", *small)
    run = tmp_path / "r01" / "read"
    assert first["runs"]["r01/read"]["step"] == 2 and (run / "model" / "model.safetensors").is_file()
    assert json.loads((run / "stage.json").read_text())["cache"] == 64
    probes = [row for row in map(json.loads, (run / "metrics.jsonl").read_text().splitlines()) if "probe_s" in row]
    assert len(probes) == 1 and probes[0]["step"] == 2  # the last step always probes
    assert set(probes[0]) >= {"probe_ocr", "probe_math", "probe_ocr_chars"} and "probe_spatial" not in probes[0]
    assert 0 <= probes[0]["probe_ocr_chars"] <= 1 and " -> " in probes[0]["probe_ocr_example"]
    # the model folder keeps every view for the next run, though this one saw the board alone
    views = json.loads((run / "model" / "processor_config.json").read_text())["views"]
    assert [v["name"] for v in views] == ["board", "table", "wrist"]
    resumed = _cli(*base, "--set", "steps=3", *small)
    assert resumed["runs"]["r01/read"]["step"] == 3
    steps = [row["step"] for row in map(json.loads, (run / "metrics.jsonl").read_text().splitlines()) if "loss" in row]
    assert steps[-1] == 3 and steps.count(3) == 1
    assert _cli(*base, "--set", "steps=3", *small)["runs"] == {"r01/read": "done"}
    # the next run reads its kinds from the recipe (here set from the command line), and probes what it draws
    vlm = ["train", "--recipe", "chatvla2", "--stage", "r01/vlm", "--out", str(tmp_path), "--threads", "1"]
    done = _cli(
        *vlm,
        "--set",
        "steps=2",
        "batch_size=2",
        "r01/vlm.cache=0",
        "r01/read.steps=3",
        "r01/vlm.kinds={cards=3, ocr=1}",
    )
    assert done["runs"]["r01/vlm"]["step"] == 2
    assert json.loads((tmp_path / "r01" / "vlm" / "stage.json").read_text())["kinds"] == {"cards": 3, "ocr": 1}
    rows = map(json.loads, (tmp_path / "r01" / "vlm" / "metrics.jsonl").read_text().splitlines())
    probed = [row for row in rows if "probe_s" in row]
    assert {"probe_cards", "probe_ocr", "probe_spatial"} <= set(probed[-1])  # what it draws, and retention
    scores = _cli("probe", "--suite", "ocr", "--questions", "2", "--model", str(tmp_path / "r01" / "vlm" / "model"))
    assert 0.0 <= scores["ocr"] <= 1.0 and scores["questions_per_suite"] == 2


def test_a_run_needs_the_run_it_starts_from(tmp_path):
    err = _refused("train", "--recipe", "chatvla2", "--stage", "r01/vlm", "--out", str(tmp_path))
    assert "starts from 'r01/read', which is not trained yet" in err and "--stage r01/read" in err


@pytest.mark.parametrize(
    "sets, words",
    [
        (['r01/vlm.objective="regression"'], "does not train the action expert"),
        (['r01/read.add_views=["cards", "top"]'], "no view ['top'] to add; known: ['cards']"),
        (["r01/action.mix={kites = 1}"], "draws no ['kites']"),
        (["rename=2"], "rename is a share"),
        (["cache=0"], "run 'r01/action' of recipe 'chatvla2': rollouts and near misses"),  # a set on every run
        (['r01/vlm.view_set="sharp"'], "view_set is for a fresh model"),
        (['r01/read.view_set="huge"'], "view_set must be one of ['nano', 'sharp']"),
        (["steps"], "--set takes KEY=VALUE"),
        (["r09/vlm.steps=1"], "no run or section 'r09/vlm'"),
        (["r01/vlm.nonsense=1"], "unknown settings ['nonsense']"),
        (['world.card_layout="diagonal"'], "unknown card layout 'diagonal'"),
        (["r01/action.geometry=true"], "acts on the reasoning's points: recipe 'chatvla2' needs world.points = true"),
    ],
)
def test_recipe_settings_are_checked_before_a_model_loads(tmp_path, sets, words):
    err = _refused("train", "--recipe", "chatvla2", "--stage", "r01/read", "--out", str(tmp_path), "--set", *sets)
    assert words in err and not (tmp_path / "r01").exists()


def test_an_unknown_recipe_or_run_is_named_with_the_known_ones(tmp_path):
    assert "invalid choice: 'nope'" in _refused("train", "--recipe", "nope")
    err = _refused("train", "--recipe", "nano", "--stage", "r07/action", "--show")
    assert "unknown run of recipe 'nano' 'r07/action'" in err and "r15/action" in err


def test_show_prints_every_setting_of_every_run():
    shown = _cli("train", "--recipe", "nano", "--show")
    runs = {run["name"]: run for r in shown["rounds"] for run in r["runs"]}
    assert shown["card"]["model"] == "r15/action" and runs["r15/action"]["init"] == "r09/action"
    assert runs["r15/action"]["stage"]["mix"] == {"robot": 0.3, "rollouts": 0.2, "near_misses": 0.5}
    assert runs["r06/action"]["pixel_cameras"] == ["wrist"] and runs["r03/cotrain"]["objective"] == "regression"


def test_export_says_what_is_missing(tmp_path):
    err = _refused("export", "--recipe", "chatvla2", "--stage", "r01/read", "--out", str(tmp_path))
    assert "no saved training state in" in err


def test_bench_train_times_a_run_without_a_simulator():
    timed = _cli(
        "bench",
        "train",
        "--recipe",
        "chatvla2",
        "--stage",
        "r01/action",
        "--steps",
        "2",
        "--warmup",
        "1",
        "--batch-size",
        "4",
        "--threads",
        "1",
    )
    assert timed["run"] == "r01/action" and timed["stage"] == "action" and timed["batch_size"] == 4
    assert timed["seconds_per_step"] > 0 and timed["hours_for_run_steps"] > 0 and timed["device"].startswith("cpu")
    assert 0 < timed["batch_prep_seconds_per_step"] < timed["seconds_per_step"]  # a part of the step
    assert "--stage" in _refused("bench", "train", "--recipe", "chatvla2")
