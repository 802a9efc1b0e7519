"""The arm's safety limits as pure functions: goals clamped to the calibrated range and the URDF limits, each step's
move capped (max_relative_target), goals between chunk steps interpolated under a joint speed, stuck joints found."""

from __future__ import annotations

import numpy as np

from chatvla2_lite.robots.so100.calibration import Calibration
from chatvla2_lite.robots.so100.registers import MAX_TICK
from chatvla2_lite.robots.so100.units import URDF_LOWER, URDF_UPPER, NormMode, calibration_columns
from sim.conventions import JOINT_NAMES


def relative_cap_ticks(max_relative_target, calibration: Calibration, modes) -> np.ndarray:
    """max_relative_target (LeRobot's units: one number, or motor name -> number; None: no cap) as ticks (6,)."""
    if max_relative_target is None:
        return np.full(6, np.inf)
    if isinstance(max_relative_target, dict):
        missing = set(JOINT_NAMES) - set(max_relative_target)
        if missing:
            raise ValueError(
                f"max_relative_target lacks {', '.join(sorted(missing))}; give all six motors or one number"
            )
        caps = np.array([float(max_relative_target[m]) for m in JOINT_NAMES])
    else:
        caps = np.full(6, float(max_relative_target))
    if np.any(caps <= 0):
        raise ValueError(f"max_relative_target must be positive, got {max_relative_target}")
    lo, hi, _ = calibration_columns(calibration)
    per_unit = np.array(
        [
            MAX_TICK / 360
            if m is NormMode.DEGREES
            else (hi[i] - lo[i]) / (200 if m is NormMode.RANGE_M100_100 else 100)
            for i, m in enumerate(modes)
        ]
    )
    return caps * per_unit


def safe_goal_ticks(goal, present, low, high, cap) -> np.ndarray:
    """Integer goal ticks (6,): `goal` clamped to [low, high], then moved no further than `cap` from `present` (the
    cap rounds toward the present position, so it holds exactly). With present inside [low, high] both hold."""
    goal = np.clip(np.asarray(goal, dtype=np.float64), low, high)
    present = np.asarray(present, dtype=np.float64)
    step = np.clip(goal - present, -cap, cap)
    return (present + np.trunc(step)).astype(np.int64)


def clamp_radians(q) -> np.ndarray:
    """Joint targets (..., 6) inside the URDF limits."""
    return np.clip(np.asarray(q, dtype=np.float64), URDF_LOWER, URDF_UPPER)


def interpolate(start, target, max_step: float) -> np.ndarray:
    """Waypoints (n, 6) from `start` to `target` (6,), none moving a joint more than `max_step` from the one before;
    the last is `target`. n >= 1."""
    start, target = np.asarray(start, dtype=np.float64), np.asarray(target, dtype=np.float64)
    n = max(1, int(np.ceil(np.max(np.abs(target - start)) / max_step - 1e-9)))
    return start + (target - start) * (np.arange(1, n + 1)[:, None] / n)


class StuckWatch:
    """Finds a joint that stays further than `tolerance` (ticks) from its goal without moving `tolerance / 4` toward
    it for `timeout_s` (toward it, not closer: a goal that runs ahead of a moving joint keeps the distance). Joints
    in `exempt` (the gripper) are never stuck."""

    def __init__(self, tolerance: float, timeout_s: float, exempt=(5,)):
        self.tolerance, self.timeout_s, self.exempt = tolerance, timeout_s, set(exempt)
        self.since: dict[int, tuple[float, float]] = {}  # joint -> (time, position) when it last moved toward its goal

    def check(self, now: float, goal, present) -> list[int]:
        """The joints stuck now, given the goal last sent and the present position (6,) each."""
        stuck = []
        for j, (g, p) in enumerate(zip(np.asarray(goal, float), np.asarray(present, float))):
            if j in self.exempt or abs(g - p) <= self.tolerance:
                self.since.pop(j, None)
                continue
            t0, p0 = self.since.setdefault(j, (now, p))
            if np.sign(g - p) * (p - p0) >= self.tolerance / 4:
                self.since[j] = (now, p)
            elif now - t0 > self.timeout_s:
                stuck.append(j)
        return stuck
