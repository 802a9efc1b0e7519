"""`chatvla2-lite record`: one JSON summary line, and a clear error for a folder that is already used."""

from __future__ import annotations

import json

import pytest

from chatvla2_lite.cli import main


@pytest.mark.slow
def test_record_prints_one_json_summary(tmp_path, capsys):
    out = tmp_path / "toy"
    assert main(["record", "--task", "toy_placement", "--episodes", "1", "--out", str(out), "--seed", "3", "--json"]) == 0
    summary = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert summary["episodes_kept"] == 1 and summary["episodes_tried"] >= 1 and summary["frames"] > 0
    assert summary["out"] == str(out.resolve()) and summary["wall_s"] > 0
    assert (out / "meta/info.json").is_file()
    assert main(["record", "--task", "toy_placement", "--episodes", "1", "--out", str(out)]) == 2
    assert "not empty" in capsys.readouterr().err
