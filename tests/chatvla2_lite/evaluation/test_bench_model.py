"""`chatvla2-lite bench model --json` prints one JSON object with the contract's keys as the last line."""

from __future__ import annotations

import json

import pytest

from chatvla2_lite.cli import main


@pytest.mark.slow
def test_bench_model_json(capsys):
    assert main(["bench", "model", "--json", "--repeats", "1", "--threads", "1"]) == 0
    last = capsys.readouterr().out.strip().splitlines()[-1]
    result = json.loads(last)
    for key in ("params", "footprint_mb_fp32", "footprint_mb_4bit", "reason_tokens_per_s", "act_ms", "step_ms"):
        assert isinstance(result[key], (int, float)) and result[key] > 0, key
    assert result["footprint_mb_4bit"] < result["footprint_mb_fp32"]
    assert result["step_ms"] > result["act_ms"]


def test_bench_model_bad_quantization_is_an_argparse_error(capsys):
    with pytest.raises(SystemExit):
        main(["bench", "model", "--quantization", "2bit", "--json"])
    assert "invalid choice" in capsys.readouterr().err
