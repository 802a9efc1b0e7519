"""LeRobot's calibration files: where they are looked for, read and written unchanged, refused with a next step."""

import json

import pytest

from chatvla2_lite.errors import CalibrationError
from chatvla2_lite.robots.so100.calibration import (
    calibration_path,
    calibration_root,
    load_calibration,
    save_calibration,
)
from chatvla2_lite.robots.so100.emulated_arm import urdf_calibration

# as LeRobot writes it (draccus.dump(..., indent=4)) for an arm it calibrated
LEROBOT_FILE = """{
    "shoulder_pan": {"id": 1, "drive_mode": 0, "homing_offset": -1021, "range_min": 744, "range_max": 3350},
    "shoulder_lift": {"id": 2, "drive_mode": 0, "homing_offset": 740, "range_min": 906, "range_max": 3188},
    "elbow_flex": {"id": 3, "drive_mode": 0, "homing_offset": -300, "range_min": 1023, "range_max": 3071},
    "wrist_flex": {"id": 4, "drive_mode": 0, "homing_offset": 12, "range_min": 841, "range_max": 3253},
    "wrist_roll": {"id": 5, "drive_mode": 0, "homing_offset": 0, "range_min": 0, "range_max": 4095},
    "gripper": {"id": 6, "drive_mode": 0, "homing_offset": 905, "range_min": 1330, "range_max": 2764}
}"""


def test_the_folder_is_lerobots(monkeypatch, tmp_path):
    for var in ("HF_LEROBOT_CALIBRATION", "HF_LEROBOT_HOME", "HF_HOME", "XDG_CACHE_HOME"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf"))
    assert calibration_root() == tmp_path / "hf" / "lerobot" / "calibration"
    monkeypatch.setenv("HF_LEROBOT_CALIBRATION", str(tmp_path / "cal"))
    assert calibration_path("arm") == tmp_path / "cal" / "robots" / "so100_follower" / "arm.json"


def test_an_arm_calibrated_by_lerobot_loads_unchanged_from_either_of_its_folders(tmp_path):
    newer = tmp_path / "robots" / "so_follower" / "blue.json"  # LeRobot since its SO arms were merged
    newer.parent.mkdir(parents=True)
    newer.write_text(LEROBOT_FILE)
    calibration = load_calibration("blue", tmp_path)
    assert calibration["shoulder_pan"].homing_offset == -1021 and calibration["gripper"].range_max == 2764
    assert list(calibration) == list(json.loads(LEROBOT_FILE))


def test_a_written_file_is_lerobots_format_and_reads_back(tmp_path):
    calibration = urdf_calibration()
    path = save_calibration(calibration, calibration_path("red", tmp_path))
    assert path == tmp_path / "robots" / "so100_follower" / "red.json"
    raw = json.loads(path.read_text())
    assert list(raw) == list(calibration) and set(raw["elbow_flex"]) == {
        "id",
        "drive_mode",
        "homing_offset",
        "range_min",
        "range_max",
    }
    assert path.read_text().startswith('{\n    "shoulder_pan": {\n        "id": 1,')  # indent 4, as draccus
    assert load_calibration("red", tmp_path) == calibration


def test_a_missing_or_wrong_file_says_what_to_do(tmp_path):
    with pytest.raises(CalibrationError, match="chatvla2-lite so100 calibrate --id green"):
        load_calibration("green", tmp_path)
    bad = json.loads(LEROBOT_FILE)
    bad["elbow_flex"]["id"] = 9
    path = tmp_path / "robots" / "so100_follower" / "green.json"
    path.parent.mkdir(parents=True)
    path.write_text(json.dumps(bad))
    with pytest.raises(CalibrationError, match="lerobot-setup-motors"):
        load_calibration("green", tmp_path)
    path.write_text("{not json")
    with pytest.raises(CalibrationError, match="calibrate"):
        load_calibration("green", tmp_path)
