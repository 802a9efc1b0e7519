"""What a person runs on the arm: calibrate it (LeRobot's procedure, LeRobot's file) and a safe test move of each
joint. The prompts are callables, so the CLI asks on a terminal and tests answer through the bus emulator."""

from __future__ import annotations

import dataclasses
import logging
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

from chatvla2_lite.errors import CalibrationError
from chatvla2_lite.robots.so100.calibration import (
    MOTOR_IDS,
    Calibration,
    MotorCalibration,
    calibration_path,
    save_calibration,
)
from chatvla2_lite.robots.so100.registers import MAX_TICK
from chatvla2_lite.robots.so100.so100 import SO100
from chatvla2_lite.robots.so100.units import URDF_LOWER, URDF_UPPER
from sim.conventions import JOINT_NAMES

logger = logging.getLogger(__name__)
FULL_TURN = "wrist_roll"  # turns without end stops: its range is the whole turn, as LeRobot records it
RECORD_PERIOD_S = 0.02


def calibrate(robot: SO100, ask: Callable[[str], None], recording_done: Callable[[], bool]) -> tuple[Calibration, Path]:
    """Calibrate the arm as LeRobot's so100_follower does and write the file where LeRobot reads it: torque off,
    the servos' offsets and limits reset, `ask` to put the arm mid-range (homing: that pose reads 2047), then the
    ranges recorded while the person moves each joint through its travel until `recording_done()`. Returns the
    calibration and its path. The torque stays off throughout and the port closes at the end, whatever happens."""
    bus = robot.bus
    bus.open()
    try:
        robot._handshake()
        if bus.release_torque() is None:
            raise CalibrationError("could not release the torque to calibrate; check the port and power")
        factory = {m: MotorCalibration(MOTOR_IDS[m], 0, 0, 0, MAX_TICK) for m in JOINT_NAMES}
        robot.write_calibration(factory)
        ask("Move the arm to the middle of its range of motion, then press ENTER")
        middle = bus.sync_read("Present_Position", list(JOINT_NAMES))
        offsets = {m: middle[m] - MAX_TICK // 2 for m in JOINT_NAMES}
        robot.write_calibration({m: dataclasses.replace(factory[m], homing_offset=offsets[m]) for m in JOINT_NAMES})
        ask(f"Move every joint except {FULL_TURN} through its whole range, then press ENTER to stop recording")
        recorded = [m for m in JOINT_NAMES if m != FULL_TURN]
        mins = maxes = bus.sync_read("Present_Position", recorded)
        while not recording_done():
            now = bus.sync_read("Present_Position", recorded)
            mins = {m: min(mins[m], now[m]) for m in recorded}
            maxes = {m: max(maxes[m], now[m]) for m in recorded}
            time.sleep(RECORD_PERIOD_S)
        unmoved = [m for m in recorded if mins[m] == maxes[m]]
        if unmoved:
            raise CalibrationError(f"{', '.join(unmoved)} did not move while recording; calibrate again, moving them")
        mins[FULL_TURN], maxes[FULL_TURN] = 0, MAX_TICK
        calibration = {m: MotorCalibration(MOTOR_IDS[m], 0, offsets[m], mins[m], maxes[m]) for m in JOINT_NAMES}
        robot.write_calibration(calibration)
        path = save_calibration(calibration, calibration_path(robot.id, robot.config.calibration_dir))
    finally:
        if bus.is_open:
            bus.release_torque()
        bus.close()
    robot._calibration = calibration
    logger.info("calibration of %s written to %s", robot.id, path)
    return calibration, path


def test_move(robot: SO100, degrees: float = 5.0, speed: float = 0.3, settle_s: float = 0.5) -> dict:
    """Move each joint `degrees` (toward the middle of its URDF range) and back, one at a time, at `speed` rad/s,
    then release the torque. Returns per joint the angle asked and the angle measured, and ok when each moved
    within a degree of what was asked (a sign or a zero of the JointFrame that is wrong shows up here)."""
    robot.config = dataclasses.replace(robot.config, max_joint_speed=speed)
    hold = max(1, int(settle_s * robot.config.fps))
    report = {}
    with robot:
        home = robot.joint_positions()
        for j, motor in enumerate(JOINT_NAMES):
            step = np.deg2rad(degrees) * (1 if home[j] < (URDF_LOWER[j] + URDF_UPPER[j]) / 2 else -1)
            target = home.copy()
            target[j] += step
            robot.play(np.repeat(target[None], hold, axis=0))
            moved = robot.joint_positions()[j] - home[j]
            robot.play(np.repeat(home[None], hold, axis=0))
            back = robot.joint_positions()[j] - home[j]
            report[motor] = {
                "asked_deg": round(float(np.rad2deg(step)), 2),
                "moved_deg": round(float(np.rad2deg(moved)), 2),
                "back_deg": round(float(np.rad2deg(back)), 2),
            }
    ok = all(abs(r["moved_deg"] - r["asked_deg"]) <= 1.0 and abs(r["back_deg"]) <= 1.0 for r in report.values())
    return {"ok": ok, "joints": report}


test_move.__test__ = False  # a routine named after its CLI command, not a test for pytest to collect
