"""Faults injected through the emulator mid-motion: each ends in a clear error, the torque released (or the user told
to cut the power when it cannot be), and the driver ready to connect again."""

import numpy as np
import pytest

from chatvla2_lite.errors import BusCorruptError, PortLostError, ServoTimeoutError, StuckJointError


def _move(robot, steps=90):
    q = robot.joint_positions()
    robot.play(np.linspace(q, q + np.array([0.6, 0.4, -0.4, 0.4, 0.8, 0.4]), steps))


def test_a_servo_that_stops_answering_ends_in_a_clear_error_with_the_torque_off(robot, arm):
    arm.silence(3)
    with pytest.raises(ServoTimeoutError, match="elbow_flex \\(id 3\\) stopped answering") as caught:
        _move(robot)
    assert arm.torque() == [0] * 6  # the broadcast reached it too: it hears, it just cannot answer
    assert caught.value.unconfirmed == ["elbow_flex"] and "did not confirm" in str(caught.value)
    assert not robot.is_connected
    arm.answer(3)
    robot.connect()  # the app is still up
    assert arm.torque() == [1] * 6


def test_a_damaged_reply_is_retried_and_a_bus_that_keeps_damaging_them_ends_with_the_torque_off(robot, arm):
    arm.corrupt(2)  # within the retries: nobody notices
    before = robot.get_observation()
    assert set(before) == set(robot.action_features)
    arm.corrupt(-1)
    with pytest.raises(BusCorruptError, match="damaged status packets") as caught:
        _move(robot)
    assert arm.torque() == [0] * 6  # the torque-off broadcast needs no reply
    assert caught.value.torque_released is False and "switch the arm's power supply off" in str(caught.value)
    arm.corrupt(0)
    robot.connect()
    assert arm.torque() == [1] * 6


def test_a_port_that_vanishes_and_comes_back_gets_the_torque_released(robot, arm):
    robot.play(np.repeat(robot.joint_positions()[None], 3, axis=0))
    arm.vanish(reappear_after=0.2)  # a USB adapter that reset
    with pytest.raises(PortLostError, match="lost the arm's port") as caught:
        _move(robot)
    assert caught.value.torque_released is True and "released on all six" in str(caught.value)
    assert arm.torque() == [0] * 6


def test_a_port_gone_for_good_says_to_cut_the_power(robot, arm):
    arm.vanish()
    with pytest.raises(PortLostError) as caught:
        _move(robot)
    assert caught.value.torque_released is False
    assert "could NOT be released" in str(caught.value) and "power supply off" in str(caught.value)
    assert not robot.is_connected


def test_a_stuck_joint_is_found_and_the_torque_released(robot, arm):
    arm.stick(2)
    with pytest.raises(StuckJointError, match="shoulder_lift did not follow") as caught:
        _move(robot, steps=120)
    assert caught.value.torque_released is True and arm.torque() == [0] * 6
