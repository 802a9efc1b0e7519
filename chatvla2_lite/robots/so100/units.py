"""The one place that converts the SO-100's joint values between the sim's radians, servo ticks and LeRobot's units.

Three spaces, all in LeRobot's motor order (shoulder_pan .. gripper), arrays of shape (..., 6):

    radians   the sim's joint angles, URDF zero and axes (sim/so100_description.py), what the model reads and writes
    ticks     the STS3215's Present_Position / Goal_Position (0..4095 a turn, after the homing offset)
    lerobot   LeRobot's so100_follower values: arm joints in degrees (use_degrees, LeRobot's default since
              February 2026) or -100..100 over the calibrated range, the gripper 0..100 over its range

ticks <-> lerobot follows LeRobot's MotorsBus._normalize/_unnormalize exactly (lerobot/motors/motors_bus.py):

    range_m100_100   v = (clip(t, min, max) - min) / (max - min) * 200 - 100, negated when drive_mode
    range_0_100      v = (clip(t, min, max) - min) / (max - min) * 100, 100 - v when drive_mode
    degrees          v = (t - (min + max) / 2) * 360 / 4095 (no clip, no drive mode)

and back, with LeRobot's int() truncation when the ticks go to a servo.

ticks <-> radians is the arm's geometry: the encoder turns 2π per 4096 ticks, so q = zero + sign * (t - mid) * 2π /
4096, where mid is the middle of the calibrated range. A JointFrame holds each joint's sign (does the servo count up
along the URDF axis?) and zero (the URDF angle at the middle of the calibrated range). LeRobot's calibration puts
the middle of each range at the middle of the joint's travel, so the default zero is the middle of the URDF limits;
an arm assembled otherwise sets its own (SO100Config.joint_signs / joint_zeros), checked with `so100 test-move`.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

import numpy as np

from chatvla2_lite.errors import CalibrationError
from chatvla2_lite.robots.so100.calibration import Calibration
from chatvla2_lite.robots.so100.registers import MAX_TICK, RESOLUTION
from sim.conventions import JOINT_NAMES
from sim.so100_description import JOINTS

URDF_LOWER = np.array([j.lower for j in JOINTS])  # (6,)
URDF_UPPER = np.array([j.upper for j in JOINTS])  # (6,)
RAD_PER_TICK = 2 * np.pi / RESOLUTION


class NormMode(StrEnum):
    """LeRobot's MotorNormMode values."""

    RANGE_0_100 = "range_0_100"
    RANGE_M100_100 = "range_m100_100"
    DEGREES = "degrees"


def norm_modes(use_degrees: bool) -> tuple[NormMode, ...]:
    """The so100_follower's norm mode per motor: the arm joints in degrees or -100..100, the gripper 0..100."""
    body = NormMode.DEGREES if use_degrees else NormMode.RANGE_M100_100
    return (body,) * 5 + (NormMode.RANGE_0_100,)


@dataclass(frozen=True)
class JointFrame:
    """How the servo ticks sit on the URDF joints: per joint, the direction and the angle at the range's middle."""

    signs: tuple[float, ...] = (1.0,) * 6
    zeros: tuple[float, ...] = tuple(float(z) for z in (URDF_LOWER + URDF_UPPER) / 2)


def calibration_columns(calibration: Calibration) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(range_min, range_max, drive_mode) as float arrays (6,)."""
    cals = [calibration[m] for m in JOINT_NAMES]
    lo = np.array([c.range_min for c in cals], dtype=np.float64)
    hi = np.array([c.range_max for c in cals], dtype=np.float64)
    drive = np.array([bool(c.drive_mode) for c in cals])
    return lo, hi, drive


def ticks_to_lerobot(ticks, calibration: Calibration, modes) -> np.ndarray:
    """LeRobot's values of Present_Position ticks (..., 6)."""
    t = np.asarray(ticks, dtype=np.float64)
    lo, hi, drive = calibration_columns(calibration)
    bounded = np.clip(t, lo, hi)
    out = np.empty(np.broadcast(t, lo).shape)
    for i, mode in enumerate(modes):
        if mode is NormMode.RANGE_M100_100:
            v = (bounded[..., i] - lo[i]) / (hi[i] - lo[i]) * 200 - 100
            out[..., i] = -v if drive[i] else v
        elif mode is NormMode.RANGE_0_100:
            v = (bounded[..., i] - lo[i]) / (hi[i] - lo[i]) * 100
            out[..., i] = 100 - v if drive[i] else v
        else:
            out[..., i] = (t[..., i] - (lo[i] + hi[i]) / 2) * 360 / MAX_TICK
    return out


def lerobot_to_ticks(values, calibration: Calibration, modes, exact: bool = False) -> np.ndarray:
    """Ticks of LeRobot's values (..., 6): LeRobot's int()-truncated goals, or the float ticks with `exact`."""
    v = np.asarray(values, dtype=np.float64)
    lo, hi, drive = calibration_columns(calibration)
    out = np.empty(np.broadcast(v, lo).shape)
    for i, mode in enumerate(modes):
        if mode is NormMode.RANGE_M100_100:
            x = np.clip(-v[..., i] if drive[i] else v[..., i], -100.0, 100.0)
            out[..., i] = (x + 100) / 200 * (hi[i] - lo[i]) + lo[i]
        elif mode is NormMode.RANGE_0_100:
            x = np.clip(100 - v[..., i] if drive[i] else v[..., i], 0.0, 100.0)
            out[..., i] = x / 100 * (hi[i] - lo[i]) + lo[i]
        else:
            out[..., i] = v[..., i] * MAX_TICK / 360 + (lo[i] + hi[i]) / 2
    return out if exact else np.trunc(out)


def ticks_to_radians(ticks, calibration: Calibration, frame: JointFrame = JointFrame()) -> np.ndarray:
    """The URDF joint angles (..., 6) of servo ticks."""
    lo, hi, _ = calibration_columns(calibration)
    t = np.asarray(ticks, dtype=np.float64)
    return np.asarray(frame.zeros) + np.asarray(frame.signs) * (t - (lo + hi) / 2) * RAD_PER_TICK


def radians_to_ticks(q, calibration: Calibration, frame: JointFrame = JointFrame()) -> np.ndarray:
    """The float servo ticks (..., 6) of URDF joint angles."""
    lo, hi, _ = calibration_columns(calibration)
    q = np.asarray(q, dtype=np.float64)
    return (lo + hi) / 2 + (q - np.asarray(frame.zeros)) / (np.asarray(frame.signs) * RAD_PER_TICK)


def radians_to_lerobot(q, calibration: Calibration, modes, frame: JointFrame = JointFrame()) -> np.ndarray:
    """LeRobot's values (..., 6) of URDF joint angles: how a dataset in LeRobot's units stores the sim's joints."""
    return ticks_to_lerobot(radians_to_ticks(q, calibration, frame), calibration, modes)


def lerobot_to_radians(values, calibration: Calibration, modes, frame: JointFrame = JointFrame()) -> np.ndarray:
    """URDF joint angles (..., 6) of LeRobot's values."""
    return ticks_to_radians(lerobot_to_ticks(values, calibration, modes, exact=True), calibration, frame)


def safe_tick_limits(calibration: Calibration, frame: JointFrame = JointFrame()) -> tuple[np.ndarray, np.ndarray]:
    """(low, high) goal ticks (6,) each: the calibrated range intersected with the URDF limits. Raises CalibrationError
    when they do not overlap (a wrong JointFrame)."""
    lo, hi, _ = calibration_columns(calibration)
    ends = np.sort(
        [radians_to_ticks(URDF_LOWER, calibration, frame), radians_to_ticks(URDF_UPPER, calibration, frame)], 0
    )
    low, high = np.maximum(lo, np.ceil(ends[0])), np.minimum(hi, np.floor(ends[1]))
    if np.any(low > high):
        bad = [JOINT_NAMES[i] for i in np.flatnonzero(low > high)]
        raise CalibrationError(
            f"the calibrated range and the URDF limits do not overlap for {', '.join(bad)}: check joint_signs and "
            "joint_zeros in the arm's config, or calibrate again"
        )
    return low, high
