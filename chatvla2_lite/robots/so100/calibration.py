"""LeRobot's calibration files for the SO-100 follower: where they live, and reading and writing them unchanged.

A file is one JSON object per motor, in LeRobot's motor order:

    {"shoulder_pan": {"id": 1, "drive_mode": 0, "homing_offset": -1021, "range_min": 744, "range_max": 3350}, ...}

homing_offset is what the servo's firmware subtracts from its encoder (Present_Position = encoder - offset);
range_min/range_max are Present_Position ticks (0..4095) at the ends of the joint's travel. LeRobot keeps them in
$HF_LEROBOT_CALIBRATION/robots/<robot name>/<id>.json, by default under the Hugging Face cache.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass
from pathlib import Path

from chatvla2_lite.errors import CalibrationError
from chatvla2_lite.robots.so100.registers import MAX_TICK
from sim.conventions import JOINT_NAMES

MOTOR_IDS = dict(zip(JOINT_NAMES, range(1, 7)))  # LeRobot's so100_follower: shoulder_pan is id 1 ... gripper id 6
# LeRobot named the folder so100_follower until its SO arms were merged into one class (January 2026), so_follower
# since; a file in either is read, a new one is written where the older releases and this project look first.
ROBOT_FOLDERS = ("so100_follower", "so_follower")


@dataclass(frozen=True)
class MotorCalibration:
    """One motor's calibration, LeRobot's fields and meaning."""

    id: int
    drive_mode: int
    homing_offset: int
    range_min: int
    range_max: int


Calibration = dict[str, MotorCalibration]  # motor name -> calibration, LeRobot's order


def calibration_root() -> Path:
    """LeRobot's calibration folder: $HF_LEROBOT_CALIBRATION, else $HF_LEROBOT_HOME/calibration, else
    $HF_HOME/lerobot/calibration (HF_HOME defaulting as huggingface_hub does, to ~/.cache/huggingface)."""
    if os.environ.get("HF_LEROBOT_CALIBRATION"):
        return Path(os.environ["HF_LEROBOT_CALIBRATION"]).expanduser()
    if os.environ.get("HF_LEROBOT_HOME"):
        return Path(os.environ["HF_LEROBOT_HOME"]).expanduser() / "calibration"
    cache = Path(os.environ.get("XDG_CACHE_HOME", "~/.cache")).expanduser()
    hf_home = Path(os.environ.get("HF_HOME", cache / "huggingface")).expanduser()
    return hf_home / "lerobot" / "calibration"


def calibration_path(robot_id: str, root: Path | None = None) -> Path:
    """Where the calibration of arm `robot_id` is: the first of LeRobot's folders that holds it, else where a new
    one is written (robots/so100_follower/<id>.json)."""
    root = Path(root) if root is not None else calibration_root()
    candidates = [root / "robots" / folder / f"{robot_id}.json" for folder in ROBOT_FOLDERS]
    return next((p for p in candidates if p.is_file()), candidates[0])


def validate(calibration: Calibration, source: str = "the calibration") -> Calibration:
    """The calibration, checked: all six motors with LeRobot's ids and ranges inside one turn."""
    missing = [m for m in JOINT_NAMES if m not in calibration]
    if missing:
        raise CalibrationError(
            f"{source} has no entry for {', '.join(missing)}; run `chatvla2-lite so100 calibrate` to write a new one"
        )
    for motor in JOINT_NAMES:
        c = calibration[motor]
        if c.id != MOTOR_IDS[motor]:
            raise CalibrationError(
                f"{source} gives {motor} id {c.id}; the SO-100 follower's is {MOTOR_IDS[motor]}. Set the servo ids "
                "with LeRobot's `lerobot-setup-motors`, then calibrate again"
            )
        if not 0 <= c.range_min < c.range_max <= MAX_TICK:
            raise CalibrationError(
                f"{source} gives {motor} the range {c.range_min}..{c.range_max}; it must be increasing inside "
                f"0..{MAX_TICK}. Calibrate again, moving each joint through its whole travel"
            )
        if abs(c.homing_offset) > 2047:
            raise CalibrationError(f"{source} gives {motor} a homing offset of {c.homing_offset} (|offset| <= 2047)")
    return {m: calibration[m] for m in JOINT_NAMES}


def load_calibration(robot_id: str, root: Path | None = None) -> Calibration:
    """The calibration of arm `robot_id` from LeRobot's folder, or CalibrationError saying how to make one."""
    path = calibration_path(robot_id, root)
    if not path.is_file():
        raise CalibrationError(
            f"no calibration for arm id {robot_id!r} at {path}; run `chatvla2-lite so100 calibrate --id {robot_id}` "
            "(or LeRobot's `lerobot-calibrate --robot.type=so100_follower`), or set HF_LEROBOT_CALIBRATION to the "
            "folder that holds robots/so100_follower/"
        )
    return read_calibration_file(path)


def read_calibration_file(path: Path) -> Calibration:
    """A calibration JSON in LeRobot's format, checked."""
    try:
        raw = json.loads(Path(path).read_text())
        calibration = {name: MotorCalibration(**{k: int(v) for k, v in fields.items()}) for name, fields in raw.items()}
    except (OSError, ValueError, TypeError, AttributeError) as exc:
        raise CalibrationError(
            f"cannot read the calibration {path} ({exc}); fix it or run `chatvla2-lite so100 calibrate` again"
        ) from exc
    return validate(calibration, str(path))


def save_calibration(calibration: Calibration, path: Path) -> Path:
    """Write `calibration` as LeRobot writes it (draccus.dump, indent 4, motor order kept)."""
    calibration = validate(calibration)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({m: asdict(c) for m, c in calibration.items()}, indent=4))
    return path
