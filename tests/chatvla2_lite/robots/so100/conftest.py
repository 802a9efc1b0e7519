"""An emulated SO-100 on a real pty (a child process), and the driver connected to it."""

from __future__ import annotations

import pytest

from chatvla2_lite.robots.so100 import SO100Config
from chatvla2_lite.robots.so100.emulated_arm import EmulatedArm, urdf_calibration


@pytest.fixture
def calibration():
    return urdf_calibration()


@pytest.fixture
def arm(calibration, tmp_path):
    with EmulatedArm(tmp_path, calibration=calibration) as emulated:
        yield emulated


@pytest.fixture
def robot(arm, calibration):
    from chatvla2_lite.robots.so100.so100 import SO100

    # a quick stuck check and recovery window keep the fault tests short
    config = SO100Config(port=arm.port, id="test_arm", stuck_timeout_s=0.3, port_recovery_s=0.6, max_joint_speed=3.0)
    robot = SO100(config, calibration=calibration)
    robot.connect()
    yield robot
    if robot.is_connected:
        robot.disconnect()
