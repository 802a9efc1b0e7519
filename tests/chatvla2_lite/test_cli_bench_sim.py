"""`chatvla2-lite bench sim --json` prints one JSON object as its last stdout line."""

import json
import subprocess
import sys

import pytest


@pytest.mark.slow
@pytest.mark.parametrize("world", [(), ("--camera-size", "112", "--card-layout", "row")])
def test_bench_sim_json_last_line(world):
    out = subprocess.run(
        [sys.executable, "-m", "chatvla2_lite.cli", "bench", "sim", "--episodes", "2", *world, "--json"],
        capture_output=True,
        text=True,
        timeout=600,
        check=True,
    )
    result = json.loads(out.stdout.strip().splitlines()[-1])
    assert (result["camera_size"], result["card_layout"]) == ((112, "row") if world else (224, "scattered"))
    for key in (
        "math_matching_expert_success",
        "toy_placement_expert_success",
        "control_hz",
        "render_ms_front",
        "physics_steps_per_s",
    ):
        assert key in result
    assert result["math_matching_expert_success"] == 1.0 and result["toy_placement_expert_success"] == 1.0
    assert result["control_hz"] > 0 and result["physics_steps_per_s"] > 0
    assert result["control_hz_chunked"] > result["control_hz"]  # the cameras render once a chunk, not every step


def test_cli_reports_bad_names_without_a_traceback():
    out = subprocess.run(
        [sys.executable, "-m", "chatvla2_lite.cli", "bench", "sim", "--split", "test"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert out.returncode != 0
    assert "invalid choice" in out.stderr and "Traceback" not in out.stderr
