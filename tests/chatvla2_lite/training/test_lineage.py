"""The lineage for the card: each run's settings, wall time summed over resumed sessions, curves copied flat."""

import json

from chatvla2_lite.training.lineage import build_lineage, training_markdown, wall_seconds, write_lineage
from chatvla2_lite.training.recipe import load_recipe
from chatvla2_lite.training.stage import stage_config


def _run(folder, kind, lines):
    folder.mkdir(parents=True)
    (folder / "stage.json").write_text(json.dumps(stage_config(kind).to_dict()))
    (folder / "metrics.jsonl").write_text("\n".join(json.dumps(r) for r in lines) + "\n")


def test_wall_time_adds_the_sessions_of_a_resumed_run():
    rows = [
        {"step": 10, "seconds": 10.0},
        {"step": 20, "seconds": 20.0},  # first session, killed after step 20
        {"step": 30, "seconds": 5.0},
        {"step": 40, "seconds": 15.0},
    ]  # resumed: its clock starts again
    assert wall_seconds(rows) == 35.0


def test_the_lineage_holds_each_trained_run_in_order_and_the_card_renders_it(tmp_path):
    out = tmp_path / "chatvla2"
    _run(
        out / "r01" / "read",
        "read",
        [
            {"step": 250, "loss": 0.7, "seconds": 3600.0},
            {"step": 250, "probe_ocr": 0.25, "probe_ocr_example": "a -> b", "probe_s": 4.0},
        ],
    )
    _run(out / "r01" / "vlm", "vlm", [{"step": 3000, "loss": 0.1, "seconds": 1800.0}])
    (out / "r01" / "vlm" / "metrics.jsonl").open("a").write('{"step": 30')  # a line cut short by a killed run
    lineage = build_lineage(load_recipe("chatvla2"), out, "abc1234", scores=[])
    runs = lineage["rounds"][0]["runs"]  # cotrain, action and naive never trained: left out
    assert [r["name"] for r in runs] == ["r01/read", "r01/vlm"] and runs[1]["init"] == "r01/read"
    assert runs[0]["steps"] == 250 and runs[0]["batch_size"] == 32 and runs[0]["last_probe"] == {"ocr": 0.25}
    assert lineage["training_wall_s"] == 5400.0 and lineage["commit"] == "abc1234"
    text = training_markdown(lineage)
    assert "| r01/read | read | a fresh nano | 250 | 32 | 0.0005 | backbone | board_text 1 | 1.00 h |" in text
    assert "| r01/vlm | vlm | r01/read | 3000 |" in text and "add up to 1.5 h" in text
    assert "Reproduce: `make nano RECIPE=chatvla2` (recipe `chatvla2` at commit `abc1234`)" in text
    path = write_lineage(lineage, out, tmp_path / "ckpt")
    assert json.loads(path.read_text())["rounds"][0]["runs"][1]["curve"] == "r01/vlm.jsonl"
    copied = (tmp_path / "ckpt" / "training" / "r01" / "read.jsonl").read_text()
    assert copied == (out / "r01" / "read" / "metrics.jsonl").read_text()
