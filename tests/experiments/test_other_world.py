"""experiments.other_world and experiments.font_gap: the product's eval and probe, moved to another world or split."""

import json
import subprocess
import sys

import pytest


def _run(name, *args, timeout=600):
    return subprocess.run(
        [sys.executable, "-m", f"experiments.{name}", *args], capture_output=True, text=True, timeout=timeout
    )


@pytest.mark.slow
def test_the_nano_runs_zero_shot_with_the_cards_in_a_row():
    out = _run("other_world", "--card-layout", "row", "--eval", "math_matching", "--episodes", "1", "--json")
    assert out.returncode == 0, out.stderr[-2000:]
    result = json.loads(out.stdout.strip().splitlines()[-1])
    assert (
        result["world"] == {"camera_size": 224, "card_layout": "row", "points": False, "fonts": "matplotlib"}
        and "card_list_acc" in result
    )


def test_a_world_that_cannot_be_rendered_is_refused_before_a_model_loads():
    bad = _run("other_world", "--camera-size", "50", "--probe", "ocr", "--model", "/nonexistent/model", timeout=120)
    assert bad.returncode == 2 and "Traceback" not in bad.stderr
    assert "camera size must be a whole number of pixels from 112 to 1024, not 50" in bad.stderr


@pytest.mark.slow
def test_the_font_gap_reads_both_splits():
    out = _run("font_gap", "--questions", "2", "--json")
    assert out.returncode == 0, out.stderr[-2000:]
    result = json.loads(out.stdout.strip().splitlines()[-1])
    assert 0 <= result["ocr_train_fonts"] <= 1 and 0 <= result["ocr_heldout_fonts"] <= 1
    assert result["gap"] == round(result["ocr_train_fonts"] - result["ocr_heldout_fonts"], 3)
