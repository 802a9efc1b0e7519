"""The training record for the card: stage settings, wall time summed over resumed runs, curves copied."""

import json

from chatvla2_lite.training.recipe import recipe_stage
from chatvla2_lite.training.training_record import copy_curves, stage_summary, training_markdown, wall_seconds


def _stage(folder, name, lines):
    folder.mkdir(parents=True)
    (folder / "stage.json").write_text(json.dumps(recipe_stage("chatvla2", name).to_dict()))
    (folder / "metrics.jsonl").write_text("\n".join(json.dumps(r) for r in lines) + "\n")


def test_wall_time_adds_the_runs_of_a_resumed_stage():
    rows = [
        {"step": 10, "seconds": 10.0},
        {"step": 20, "seconds": 20.0},  # first run, killed after step 20
        {"step": 30, "seconds": 5.0},
        {"step": 40, "seconds": 15.0},
    ]  # resumed: its clock starts again
    assert wall_seconds(rows) == 35.0


def test_summary_table_and_curves(tmp_path):
    runs = tmp_path / "nano"
    _stage(
        runs / "read",
        "read",
        [
            {"step": 250, "loss": 0.7, "seconds": 3600.0},
            {"step": 250, "probe_ocr": 0.25, "probe_ocr_example": "a -> b", "probe_s": 4.0},
        ],
    )
    _stage(runs / "vlm", "vlm", [{"step": 3000, "loss": 0.1, "seconds": 1800.0}])
    (runs / "vlm" / "metrics.jsonl").open("a").write('{"step": 30')  # a line cut short by a killed run
    summary = stage_summary(runs / "read")
    assert summary["steps"] == 250 and summary["batch_size"] == 32 and summary["last_probe"] == {"ocr": 0.25}
    assert stage_summary(runs / "cotrain") is None
    text = training_markdown(runs)
    assert "| read | 250 | 32 | 0.0005 | backbone | board_text 1 | 1.00 h |" in text
    assert "| vlm | 3000 |" in text and "added up: 1.50 h" in text
    assert copy_curves(runs, tmp_path / "ckpt") == ["read", "vlm"]
    assert (tmp_path / "ckpt" / "training" / "read.jsonl").read_text() == (runs / "read" / "metrics.jsonl").read_text()


def test_a_stage_called_again_on_its_own_model_gets_its_own_row_after_the_first(tmp_path):
    runs = tmp_path / "round"
    _stage(runs / "action", "action", [{"step": 100, "loss": 0.1, "seconds": 360.0}])
    _stage(runs / "cotrain_2", "cotrain", [{"step": 1500, "loss": 0.2, "seconds": 720.0}])
    _stage(runs / "cotrain", "cotrain", [{"step": 2000, "loss": 0.3, "seconds": 1800.0}])
    text = training_markdown(runs)
    assert text.index("| cotrain | 2000 |") < text.index("| cotrain_2 | 1500 |") < text.index("| action | 100 |")
    assert "added up: 0.80 h" in text
    assert copy_curves(runs, tmp_path / "ckpt") == ["cotrain", "cotrain_2", "action"]
