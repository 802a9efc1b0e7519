"""Calibrating as LeRobot does (its file, its numbers) and the confirmed test move, on the emulated arm; the CLI's
so100 subcommands, one JSON line each; and a driver that loads no serial, SDK or OpenCV module until used."""

import json
import os
import subprocess
import sys

import pytest

from chatvla2_lite.robots.so100 import SO100Config, routines
from chatvla2_lite.robots.so100.calibration import load_calibration, save_calibration
from chatvla2_lite.robots.so100.emulated_arm import EmulatedArm
from chatvla2_lite.robots.so100.so100 import SO100

# by-hand moves while recording: servo id -> (ticks down, ticks up) from the middle pose
TRAVEL = {1: (-900, 1000), 2: (-1000, 800), 3: (-700, 900), 4: (-950, 950), 6: (-300, 900)}


def test_calibrate_writes_lerobots_file_from_the_moves_a_person_makes(tmp_path):
    with EmulatedArm(tmp_path, calibration=None, positions=[1700, 2500, 2300, 1900, 1000, 2600]) as arm:
        robot = SO100(SO100Config(port=arm.port, id="fresh", calibration_dir=str(tmp_path / "cal")))
        moves = iter([(sid, d) for sid, (down, up) in TRAVEL.items() for d in (down, up - down, -up)])

        def recording_done():
            step = next(moves, None)
            if step is not None:
                arm.move_by_hand(*step)
            return step is None

        calibration, path = routines.calibrate(robot, ask=lambda prompt: None, recording_done=recording_done)
        assert path == tmp_path / "cal" / "robots" / "so100_follower" / "fresh.json"
        assert load_calibration("fresh", tmp_path / "cal") == calibration
        for sid, motor in enumerate(calibration, start=1):
            c = calibration[motor]
            assert c.homing_offset == [1700, 2500, 2300, 1900, 1000, 2600][sid - 1] - 2047  # homed mid-range
            if sid in TRAVEL:
                assert (c.range_min, c.range_max) == (2047 + TRAVEL[sid][0], 2047 + TRAVEL[sid][1]), motor
        assert (calibration["wrist_roll"].range_min, calibration["wrist_roll"].range_max) == (0, 4095)
        assert arm.state()[2]["Homing_Offset"] == calibration["shoulder_lift"].homing_offset
        assert arm.torque() == [0] * 6


def test_test_move_moves_each_joint_and_back_and_lets_go(arm, calibration):
    robot = SO100(SO100Config(port=arm.port, id="t", fps=60), calibration=calibration)
    report = routines.test_move(robot, degrees=4.0, speed=2.0, settle_s=0.15)
    assert report["ok"], report
    assert set(report["joints"]) == set(calibration) and arm.torque() == [0] * 6
    moved = {g["id"] for g in arm.goals() if g["torque"] and abs(g["goal"] - g["present"]) > 5}
    assert moved == set(range(1, 7))


def _cli(*args, stdin="", env=None):
    return subprocess.run(
        [sys.executable, "-m", "chatvla2_lite.cli", "so100", *args],
        capture_output=True,
        text=True,
        input=stdin,
        timeout=120,
        env=env,
    )


@pytest.mark.slow
def test_the_cli_benches_the_emulated_bus_and_refuses_an_unconfirmed_test_move(arm, calibration, tmp_path):
    bench = _cli("bench", "--emulated", "--json")
    assert bench.returncode == 0, bench.stderr
    result = json.loads(bench.stdout.strip().splitlines()[-1])
    assert {"read_hz", "write_hz", "loop_hz"} <= set(result) and all(result[k] > 0 for k in ("read_hz", "loop_hz"))
    save_calibration(calibration, tmp_path / "cal" / "robots" / "so100_follower" / "cli.json")
    base = ["--port", arm.port, "--id", "cli", "test-move"]
    env = {**os.environ, "HF_LEROBOT_CALIBRATION": str(tmp_path / "cal")}
    refused = _cli(*base, "--json", stdin="no\n", env=env)
    assert refused.returncode == 2 and "nothing moved" in refused.stderr and arm.goals() == []
    # (the confirmed move itself is test_test_move_moves_each_joint_and_back_and_lets_go: 10 s slower through here)


def test_the_driver_imports_no_serial_sdk_or_opencv_until_it_opens_a_port():
    code = (
        "import sys, chatvla2_lite.robots.so100.so100, chatvla2_lite.robots.so100.lerobot_driver;"
        "assert not {'serial', 'scservo_sdk', 'cv2', 'torch'} & set(sys.modules), sorted(sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr[-2000:]
