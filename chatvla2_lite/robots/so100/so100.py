"""SO100: the SO-100 follower arm on its Feetech bus, in LeRobot's shape (connect, get_observation, send_action,
disconnect, observation_features, action_features), with values in LeRobot's units (units.py) and its calibration.

Safety, the first requirement: every goal is clamped to the calibrated range and the URDF limits and moves a joint no
more than max_relative_target from where it is (safety.py); JointSpace.play interpolates between chunk steps under
max_joint_speed. Any fault (a lost port, a servo that stops answering, damaged packets, a stuck joint, an exception of
the caller inside `with arm:`, Ctrl-C) releases the torque at once, and the error says whether every servo confirmed
it; stop() does the same from any thread, for a stop button.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from functools import cached_property

import numpy as np

from chatvla2_lite.errors import (
    ArmStoppedError,
    CalibrationError,
    RobotError,
    RobotNotConnectedError,
    StuckJointError,
    UnsafeActionError,
)
from chatvla2_lite.robots.cameras import make_camera
from chatvla2_lite.robots.so100 import units
from chatvla2_lite.robots.so100.bus import FeetechBus
from chatvla2_lite.robots.so100.calibration import MOTOR_IDS, Calibration, MotorCalibration, load_calibration
from chatvla2_lite.robots.so100.config_so100 import SO100Config
from chatvla2_lite.robots.so100.motion import POS, JointSpace
from chatvla2_lite.robots.so100.registers import MAX_TICK, MODEL_NUMBER_STS3215
from chatvla2_lite.robots.so100.safety import StuckWatch, relative_cap_ticks, safe_goal_ticks
from sim.conventions import JOINT_NAMES

logger = logging.getLogger(__name__)


class SO100(JointSpace):
    """An SO-100 follower arm: `SO100(SO100Config(port=..., id=...))`, then connect() ... disconnect(), or `with`."""

    name = "so100_follower"

    def __init__(self, config: SO100Config, calibration: Calibration | None = None):
        self.config = config
        self.id = config.id
        self._calibration = calibration
        self.bus = FeetechBus(config.port, MOTOR_IDS, config.baudrate, config.read_retries)
        self.cameras = {name: make_camera(source) for name, source in config.cameras.items()}
        self._connected = False
        self._stopped = threading.Event()
        self._lock = threading.RLock()  # one arm operation at a time; stop() waits for at most one bus exchange
        self._last_goal: np.ndarray | None = None  # ticks (6,)

    # --- LeRobot's robot interface ------------------------------------------------------------------
    @property
    def calibration(self) -> Calibration:
        if self._calibration is None:
            self._calibration = load_calibration(self.id, self.config.calibration_dir)
        return self._calibration

    @cached_property
    def observation_features(self) -> dict:
        return {**self.action_features, **{name: cam.shape for name, cam in self.cameras.items()}}

    @cached_property
    def action_features(self) -> dict:
        return {m + POS: float for m in JOINT_NAMES}

    @property
    def is_connected(self) -> bool:
        return self._connected

    def connect(self) -> None:
        """Open the port, check the six servos, put the calibration in their EEPROM if it is not there, set the
        gains, hold every joint where it is (goal = present), and enable torque. Calibrated first: a missing file
        raises CalibrationError before the port opens."""
        calibration = self.calibration
        with self._lock:
            if self._connected:
                return
            self._low, self._high = units.safe_tick_limits(calibration, self.config.joint_frame())
            self._cap = relative_cap_ticks(self.config.max_relative_target, calibration, self.modes)
            tolerance = self.config.stuck_tolerance_deg * MAX_TICK / 360
            self._stuck = StuckWatch(tolerance, self.config.stuck_timeout_s)
            self._stopped.clear()
            self.bus.open()
            try:
                self._handshake()
                self.bus.release_torque()
                self._configure(calibration)
                present = self._present()
                self.bus.sync_write("Goal_Position", dict(zip(JOINT_NAMES, present.tolist())))
                for motor in JOINT_NAMES:  # confirmed one by one: a servo that stays limp is an error now, not later
                    self.bus.write("Torque_Enable", motor, 1)
                self._last_goal = present
                self._commanded = None
                for cam in self.cameras.values():
                    cam.connect()
            except BaseException as exc:
                self._fault(exc)
                raise
            self._connected = True
        logger.info("%s connected on %s", self.id, self.config.port)

    def get_observation(self) -> dict:
        """`<motor>.pos` in LeRobot's units, and each camera's frame (H, W, 3) uint8."""
        with self._operation():
            present = self._present()
            obs = {m + POS: float(v) for m, v in zip(JOINT_NAMES, units.ticks_to_lerobot(present, *self._units()))}
            for name, cam in self.cameras.items():
                obs[name] = cam.read()
            return obs

    def send_action(self, action: dict) -> dict:
        """Send goals (`<motor>.pos`, LeRobot's units; motors left out hold their goal) made safe: clamped to the
        calibrated range and the URDF limits, then capped to max_relative_target from the present position. Returns
        the action actually sent. A joint that stays stuck raises StuckJointError (torque released)."""
        unknown = set(action) - set(self.action_features)
        if unknown:
            raise UnsafeActionError(
                f"unknown action keys {sorted(unknown)}; the arm takes {list(self.action_features)}"
            )
        values = np.array([float(action.get(m + POS, np.nan)) for m in JOINT_NAMES])
        given = np.array([m + POS in action for m in JOINT_NAMES])
        if not np.all(np.isfinite(values[given])):
            raise UnsafeActionError(f"the action has NaN or infinite goals ({action}); the arm was not moved")
        with self._operation():
            present = self._present()
            stuck = self._stuck.check(time.monotonic(), self._last_goal, present)
            if stuck:
                names = ", ".join(JOINT_NAMES[j] for j in stuck)
                raise StuckJointError(
                    f"{names} did not follow its goal for {self.config.stuck_timeout_s:g} s; free what blocks it and "
                    "check the servo, then connect again"
                )
            goal = np.where(
                given, units.lerobot_to_ticks(np.where(given, values, 0.0), *self._units()), self._last_goal
            )
            sent = safe_goal_ticks(goal, present, self._low, self._high, self._cap)
            self.bus.sync_write("Goal_Position", dict(zip(JOINT_NAMES, sent.tolist())))
            self._last_goal = sent
            return {m + POS: float(v) for m, v in zip(JOINT_NAMES, units.ticks_to_lerobot(sent, *self._units()))}

    def disconnect(self) -> None:
        """Release the torque (unless config.disable_torque_on_disconnect is off), close the port and the cameras."""
        with self._lock:
            if self.bus.is_open and self.config.disable_torque_on_disconnect:
                self.bus.release_torque()
            self._close()

    def stop(self) -> list[str] | None:
        """Emergency release, safe from any thread (a stop button): torque off on all six at once, then disconnect.
        Returns the servos that did not confirm ([] when all did; None when the port was already gone)."""
        self._stopped.set()
        with self._lock:
            unconfirmed = self.bus.release_torque() if self.bus.is_open else None
            self._close()
        logger.warning("%s stopped: torque released (unconfirmed: %s)", self.id, unconfirmed)
        return unconfirmed

    # --- calibration on the servos ------------------------------------------------------------------
    def read_calibration(self) -> Calibration:
        """The calibration in the servos' EEPROM (homing offsets and position limits)."""
        return {
            m: MotorCalibration(
                MOTOR_IDS[m],
                0,
                self.bus.read("Homing_Offset", m),
                self.bus.read("Min_Position_Limit", m),
                self.bus.read("Max_Position_Limit", m),
            )
            for m in JOINT_NAMES
        }

    def write_calibration(self, calibration: Calibration) -> None:
        """Put a calibration in the servos' EEPROM (torque off, EEPROM unlocked for the writes, locked again)."""
        for m in JOINT_NAMES:
            c = calibration[m]
            self.bus.write("Lock", m, 0)
            self.bus.write("Homing_Offset", m, c.homing_offset)
            self.bus.write("Min_Position_Limit", m, c.range_min)
            self.bus.write("Max_Position_Limit", m, c.range_max)
            self.bus.write("Lock", m, 1)

    # --- internals ----------------------------------------------------------------------------------
    def _units(self):
        return self.calibration, self.modes

    def _present(self) -> np.ndarray:
        positions = self.bus.sync_read("Present_Position", list(JOINT_NAMES))
        return np.array([positions[m] for m in JOINT_NAMES], dtype=np.int64)

    def _handshake(self) -> None:
        for motor in JOINT_NAMES:
            model = self.bus.ping(motor)
            if model != MODEL_NUMBER_STS3215:
                raise CalibrationError(
                    f"servo {motor} (id {MOTOR_IDS[motor]}) is model {model}, not an STS3215 ({MODEL_NUMBER_STS3215}); "
                    "is this an SO-100 follower, with its servo ids set by LeRobot's `lerobot-setup-motors`?"
                )

    def _configure(self, calibration: Calibration) -> None:
        """Torque is off here. EEPROM settings (calibration, reply delay, gains) are written only where they differ
        from the wanted ones: EEPROM wears, and an arm set up before needs no writes."""
        if self.read_calibration() != calibration:
            logger.warning("the servos' calibration differs from %s's file: writing the file's to them", self.id)
            self.write_calibration(calibration)
        c = self.config
        wanted = {"Return_Delay_Time": 0, "Operating_Mode": 0, "P_Coefficient": c.p_coefficient}
        wanted |= {"I_Coefficient": c.i_coefficient, "D_Coefficient": c.d_coefficient}
        gripper = {
            "Max_Torque_Limit": c.gripper_max_torque,
            "Protection_Current": c.gripper_protection_current,
            "Overload_Torque": c.gripper_overload_torque,
        }
        for motor in JOINT_NAMES:
            writes = {k: v for k, v in (wanted | (gripper if motor == "gripper" else {})).items()}
            changed = {k: v for k, v in writes.items() if self.bus.read(k, motor) != v}
            if changed:
                self.bus.write("Lock", motor, 0)
                for name, value in changed.items():
                    self.bus.write(name, motor, value)
                self.bus.write("Lock", motor, 1)
            self.bus.write("Acceleration", motor, 254)  # SRAM: LeRobot's fast acceleration

    @contextlib.contextmanager
    def _operation(self):
        """An arm operation: refused when stopped or not connected; any exception inside releases the torque."""
        with self._lock:  # taken first: a stop in progress finishes its release before anything reads or moves
            if self._stopped.is_set():
                raise ArmStoppedError("the arm was stopped and its torque released; connect again to move it")
            if not self._connected:
                raise RobotNotConnectedError(f"the arm {self.id} is not connected; call connect() first")
            try:
                yield
            except BaseException as exc:
                self._fault(exc)
                raise

    def _fault(self, exc: BaseException) -> None:
        """Release the torque after `exc` (reopening a lost port to do it), close, and note the outcome on exc."""
        if isinstance(exc, UnsafeActionError):  # refused before anything moved: the arm holds where it is
            return
        unconfirmed = self.bus.release_torque() if self.bus.is_open else None
        if unconfirmed is None and self.bus.reopen(self.config.port_recovery_s):
            unconfirmed = self.bus.release_torque()
        self._close()
        logger.error("%s: %s; torque released (unconfirmed: %s)", self.id, exc, unconfirmed)
        if isinstance(exc, RobotError):
            exc.note_release(unconfirmed == [], unconfirmed)

    def _close(self) -> None:
        self.bus.close()
        for cam in self.cameras.values():
            with contextlib.suppress(Exception):
                cam.disconnect()
        self._connected = False
        self._commanded = None

    def __enter__(self) -> SO100:
        self.connect()
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc is not None and self._connected:
            self._fault(exc)  # the caller's own exception inside `with arm:` lets go of the arm too
        else:
            self.disconnect()
