"""The safety limits as pure functions: clamp, step cap, speed-limited interpolation, stuck joints."""

import numpy as np

from chatvla2_lite.robots.so100 import units
from chatvla2_lite.robots.so100.emulated_arm import urdf_calibration
from chatvla2_lite.robots.so100.safety import StuckWatch, interpolate, relative_cap_ticks, safe_goal_ticks


def test_a_goal_is_clamped_to_the_limits_then_capped_near_the_present_position():
    low, high, cap = np.full(6, 1000), np.full(6, 3000), np.full(6, 50.0)
    present = np.array([2000, 2000, 2990, 1010, 2000, 2000])
    goal = np.array([2010, 2500, 5000, -400, 1900.9, 1950])
    sent = safe_goal_ticks(goal, present, low, high, cap)
    assert sent.tolist() == [2010, 2050, 3000, 1000, 1950, 1950]
    assert np.all(np.abs(sent - present) <= cap) and np.all((sent >= low) & (sent <= high))


def test_the_step_cap_is_in_lerobots_units():
    cal = urdf_calibration()
    deg = relative_cap_ticks(10.0, cal, units.norm_modes(True))
    np.testing.assert_allclose(deg[:5], 10 * 4095 / 360)
    span = np.array([c.range_max - c.range_min for c in cal.values()])
    rng = relative_cap_ticks(10.0, cal, units.norm_modes(False))
    np.testing.assert_allclose(rng, span * np.array([10 / 200] * 5 + [10 / 100]))
    assert np.all(np.isinf(relative_cap_ticks(None, cal, units.norm_modes(True))))


def test_interpolation_keeps_every_step_under_the_speed_and_ends_on_the_target():
    start, target = np.zeros(6), np.array([0.5, -0.2, 0, 0, 0, 0.05])
    points = interpolate(start, target, max_step=0.1)
    steps = np.abs(np.diff(np.vstack([start, points]), axis=0))
    assert len(points) == 5 and np.all(steps <= 0.1 + 1e-12)
    np.testing.assert_allclose(points[-1], target)
    assert len(interpolate(target, target, 0.1)) == 1


def test_a_joint_far_from_its_goal_that_stops_moving_toward_it_is_stuck_but_the_gripper_never_is():
    watch = StuckWatch(tolerance=20, timeout_s=1.0)
    # a goal running 100 ticks ahead of a joint that follows it: the distance stays, the joint is not stuck
    for t in range(8):
        present = np.array([1000 + 200 * t, 2000, 2000, 2000, 2000, 1000])
        assert watch.check(t * 0.5, present + [100, 0, 0, 0, 0, 2000], present) == []
    goal = np.array([3000, 2000, 2000, 2000, 2000, 3000])
    blocked = np.array([2500, 2000, 2000, 2000, 2000, 1000])
    assert watch.check(4.0, goal, blocked) == []  # moved 1100 toward it since t=3.5
    assert watch.check(4.9, goal, blocked + [4, 0, 0, 0, 0, 0]) == []
    assert watch.check(5.1, goal, blocked) == [0]  # the gripper (5) squeezes: never stuck
