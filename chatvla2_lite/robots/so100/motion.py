"""Joint-space motion of a LeRobot-shaped SO-100 (this project's driver or LeRobot's): the joints in the sim's
radians, and chunks of radian targets played at the control rate under the joint speed limit."""

from __future__ import annotations

import time

import numpy as np

from chatvla2_lite.errors import UnsafeActionError
from chatvla2_lite.robots.so100 import units
from chatvla2_lite.robots.so100.safety import clamp_radians, interpolate
from sim.conventions import JOINT_NAMES

POS = ".pos"


class JointSpace:
    """Mixed into a robot with `config` (SO100Config), `calibration`, `get_observation()` and `send_action()`."""

    _commanded: np.ndarray | None = None  # the last goal sent, radians (6,)

    @property
    def modes(self) -> tuple[units.NormMode, ...]:
        return units.norm_modes(self.config.use_degrees)

    def to_radians(self, observation: dict) -> np.ndarray:
        """The joint angles (6,) in radians of an observation's `<motor>.pos` values."""
        values = [observation[m + POS] for m in JOINT_NAMES]
        return units.lerobot_to_radians(values, self.calibration, self.modes, self.config.joint_frame())

    def to_action(self, q) -> dict[str, float]:
        """The `<motor>.pos` action (LeRobot's units) of joint targets (6,) in radians."""
        values = units.radians_to_lerobot(q, self.calibration, self.modes, self.config.joint_frame())
        return {m + POS: float(v) for m, v in zip(JOINT_NAMES, values)}

    def joint_positions(self) -> np.ndarray:
        """Where the joints are now, radians (6,)."""
        return self.to_radians(self.get_observation())

    def play(self, targets, should_stop=None) -> int:
        """Play joint targets (k, 6) in radians, one control period (1 / config.fps) each, every target clamped to
        the URDF limits and reached through waypoints no faster than config.max_joint_speed; returns how many
        targets ran (fewer when `should_stop()` turns true). NaN or a wrong shape raises before anything moves."""
        targets = np.asarray(targets, dtype=np.float64)
        if targets.ndim != 2 or targets.shape[1] != 6:
            raise UnsafeActionError(f"joint targets are (k, 6) radians in {JOINT_NAMES} order; got {targets.shape}")
        if not np.all(np.isfinite(targets)):
            raise UnsafeActionError("joint targets hold NaN or infinite values; the arm was not moved")
        period = 1.0 / self.config.fps
        max_step = self.config.max_joint_speed * period
        if self._commanded is None:
            self._commanded = self.joint_positions()
        tick = time.perf_counter()
        for done, target in enumerate(clamp_radians(targets)):
            if should_stop is not None and should_stop():
                return done
            for waypoint in interpolate(self._commanded, target, max_step):
                tick += period
                time.sleep(max(0.0, tick - time.perf_counter()))
                self.send_action(self.to_action(waypoint))
                self._commanded = waypoint
            if tick < time.perf_counter() - period:  # fell behind (a slow bus): do not rush to catch up
                tick = time.perf_counter()
        return len(targets)
