"""`chatvla2-lite so100 bench`: how fast the driver's bus round trips run, on the emulated bus (at the servos' 1
Mbaud wire time) or on a real arm that holds still. LeRobot's control loop runs at 30 Hz; the target is 3x that."""

from __future__ import annotations

import time

from chatvla2_lite.robots.so100.config_so100 import SO100Config
from chatvla2_lite.robots.so100.so100 import SO100
from sim.conventions import JOINT_NAMES

TARGET_HZ = 30


def _hz(fn, n: int) -> float:
    start = time.perf_counter()
    for _ in range(n):
        fn()
    return n / (time.perf_counter() - start)


def measure(robot: SO100, n: int = 300) -> dict:
    """Rates of a connected arm: read_hz (a sync read of the six positions, request and six replies), write_hz (a
    sync write of six goals; it has no reply, so this is the rate the port takes them), loop_hz (get_observation then
    send_action holding the pose: a LeRobot control step with this driver's safety checks, two reads and a write)."""
    bus = robot.bus
    hold = bus.sync_read("Present_Position", list(JOINT_NAMES))
    read_hz = _hz(lambda: bus.sync_read("Present_Position", list(JOINT_NAMES)), n)
    write_hz = _hz(lambda: bus.sync_write("Goal_Position", hold), n)

    def step():
        obs = robot.get_observation()
        robot.send_action({k: v for k, v in obs.items() if k.endswith(".pos")})

    loop_hz = _hz(step, n)
    return {
        "read_hz": round(read_hz, 1),
        "write_hz": round(write_hz, 1),
        "loop_hz": round(loop_hz, 1),
        "target_hz": TARGET_HZ,
        "headroom": round(loop_hz / TARGET_HZ, 2),
        "baudrate": robot.config.baudrate,
        "samples": n,
    }


def run_bench(config: SO100Config | None = None, emulated: bool = True, n: int = 300) -> dict:
    """measure() on the emulated arm (a fresh emulator process, calibrated) or on the arm of `config`."""
    if not emulated:
        with SO100(config) as robot:
            return {**measure(robot, n), "emulated": False}
    from chatvla2_lite.robots.so100.emulated_arm import EmulatedArm, urdf_calibration

    calibration = urdf_calibration()
    with EmulatedArm(calibration=calibration) as arm:
        with SO100(SO100Config(port=arm.port, id="emulated"), calibration=calibration) as robot:
            return {**measure(robot, n), "emulated": True}
