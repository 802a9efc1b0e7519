"""The driver on the emulated bus: what connect puts on the servos, LeRobot's observation and action, every goal made
safe, stop and Ctrl-C releasing the torque, and a Ctrl-C that never cuts a packet in half."""

import signal
import threading
import time

import numpy as np
import pytest

from chatvla2_lite.errors import ArmStoppedError, UnsafeActionError
from chatvla2_lite.robots.so100 import SO100Config, units
from chatvla2_lite.robots.so100.emulated_arm import EmulatedArm
from chatvla2_lite.robots.so100.safety import relative_cap_ticks
from chatvla2_lite.robots.so100.so100 import SO100
from sim.conventions import JOINT_NAMES


def test_connect_calibrates_factory_servos_and_holds_the_arm_where_it_is(calibration, tmp_path):
    with EmulatedArm(tmp_path, calibration=None, positions=[1500, 2600, 2100, 1200, 300, 2900]) as arm:
        robot = SO100(SO100Config(port=arm.port, id="new"), calibration=calibration)
        robot.connect()
        state = arm.state()
        for sid, (motor, cal) in enumerate(calibration.items(), start=1):
            s = state[sid]
            assert (s["Homing_Offset"], s["Min_Position_Limit"], s["Max_Position_Limit"]) == (
                cal.homing_offset,
                cal.range_min,
                cal.range_max,
            ), motor
            assert s["Return_Delay_Time"] == 0 and s["Lock"] == 1 and s["Torque_Enable"] == 1
        assert state[6]["Max_Torque_Limit"] == 500  # the gripper's torque is capped
        # before the torque came on, each goal was set to where the joint was: enabling it moved nothing
        first = {g["id"]: g for g in reversed(arm.goals())}
        assert all(not g["torque"] and abs(g["goal"] - g["present"]) <= 1 for g in first.values())
        assert [round(s["actual"]) for s in arm.state().values()] == [round(s["actual"]) for s in state.values()]
        robot.disconnect()
        assert arm.torque() == [0] * 6


def test_observation_and_action_are_lerobots_keys_and_units(robot, arm, calibration):
    assert list(robot.action_features) == [f"{m}.pos" for m in JOINT_NAMES]
    obs = robot.get_observation()
    present = [s["Present_Position"] for s in arm.state().values()]
    expected = units.ticks_to_lerobot(present, calibration, units.norm_modes(True))
    np.testing.assert_allclose([obs[f"{m}.pos"] for m in JOINT_NAMES], expected)
    assert 0 <= obs["gripper.pos"] <= 100


def test_every_goal_is_clamped_and_capped_and_a_bad_action_moves_nothing(robot, arm, calibration):
    cap = relative_cap_ticks(10.0, calibration, units.norm_modes(True))  # max_relative_target 10, LeRobot's units
    obs = robot.get_observation()
    far = {k: v + 90.0 for k, v in obs.items()}
    sent = robot.send_action(far)
    goal = {g["id"]: g for g in arm.goals()}  # the last goal of each servo
    for sid, motor in enumerate(JOINT_NAMES, start=1):
        assert abs(goal[sid]["goal"] - goal[sid]["present"]) <= cap[sid - 1]
        assert sent[f"{motor}.pos"] < far[f"{motor}.pos"]
    low, high = units.safe_tick_limits(calibration)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:  # push past the upper limits, one capped step at a time
        robot.send_action({k: v + 500.0 for k, v in robot.get_observation().items()})
        last = {g["id"]: g["goal"] for g in arm.goals()}
        if [last[sid] for sid in range(1, 7)] == high.astype(int).tolist():
            break
        time.sleep(0.01)
    assert [last[sid] for sid in range(1, 7)] == high.astype(int).tolist()
    assert all(low[g["id"] - 1] <= g["goal"] <= high[g["id"] - 1] for g in arm.goals() if g["torque"])
    count = len(arm.goals())
    for bad in ({"shoulder_pan.pos": float("nan")}, {"elbow.pos": 1.0}):
        with pytest.raises(UnsafeActionError):
            robot.send_action(bad)
    assert len(arm.goals()) == count and arm.torque() == [1] * 6  # refused before anything moved: still holding


def test_stop_from_another_thread_releases_the_torque_mid_motion(robot, arm):
    q = robot.joint_positions()
    targets = np.linspace(q, q + np.array([0.8, 0.5, -0.5, 0.5, 1.0, 0.5]), 60)
    threading.Timer(0.3, robot.stop).start()
    with pytest.raises(ArmStoppedError):
        robot.play(targets)
    assert arm.torque() == [0] * 6
    with pytest.raises(ArmStoppedError, match="connect again"):
        robot.get_observation()
    robot.connect()  # the app is still up: the arm comes back
    assert arm.torque() == [1] * 6


def test_an_exception_inside_with_releases_the_torque(arm, calibration):
    robot = SO100(SO100Config(port=arm.port, id="t"), calibration=calibration)
    with pytest.raises(KeyboardInterrupt), robot:
        robot.send_action({"shoulder_pan.pos": 3.0})
        raise KeyboardInterrupt  # Ctrl-C in a CLI's loop
    assert arm.torque() == [0] * 6 and not robot.is_connected


def test_ctrl_c_waits_for_the_exchange_in_flight_and_leaves_the_bus_clean(robot, arm):
    before, finished = arm.counters()["damaged_requests"], []

    def ping_interrupted(port, packets):
        # Ctrl-C lands in the middle of an exchange; raised in this thread, as a terminal's lands in the main one (a
        # signal sent to the process may go to any of its threads, and in the full suite it at times got lost)
        signal.raise_signal(signal.SIGINT)
        time.sleep(0.01)  # where Python would run the handler
        finished.append(packets.ping(port, 1))
        return finished[-1]

    # Python's own Ctrl-C handler, whatever an earlier test or library left installed (one that ignores SIGINT
    # rightly swallows it)
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        with pytest.raises(KeyboardInterrupt):
            robot.bus._exchange(ping_interrupted)
    finally:
        signal.signal(signal.SIGINT, previous)
    assert finished and finished[0][:2] == (777, 0)  # the exchange ran to its end before the interrupt was raised
    assert robot.bus.sync_read("Present_Position")  # the next exchange reads a whole, fresh reply
    assert arm.counters()["damaged_requests"] == before  # no request was cut off on the wire
