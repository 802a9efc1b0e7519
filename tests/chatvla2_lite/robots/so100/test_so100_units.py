"""The one conversion module: LeRobot's norm modes to the tick, the arm's geometry, and the safe goal limits."""

import dataclasses

import numpy as np
import pytest

from chatvla2_lite.errors import CalibrationError
from chatvla2_lite.robots.so100 import units
from chatvla2_lite.robots.so100.calibration import MOTOR_IDS, MotorCalibration
from chatvla2_lite.robots.so100.emulated_arm import urdf_calibration


def _flat(lo=1000, hi=3000, drive=0):
    return {m: MotorCalibration(i, drive, 0, lo, hi) for m, i in MOTOR_IDS.items()}


def test_ticks_become_lerobots_units_as_its_motors_bus_normalizes_them():
    cal, ticks = _flat(), np.array([[1000] * 6, [2000] * 6, [3000] * 6, [3500] * 6, [500] * 6])
    deg = units.ticks_to_lerobot(ticks, cal, units.norm_modes(True))
    rng = units.ticks_to_lerobot(ticks, cal, units.norm_modes(False))
    # degrees: (t - mid) * 360 / 4095, not clipped to the range; the gripper is 0..100 either way
    np.testing.assert_allclose(deg[:, 0], [(t - 2000) * 360 / 4095 for t in (1000, 2000, 3000, 3500, 500)])
    np.testing.assert_allclose(rng[:, 0], [-100, 0, 100, 100, -100])  # clipped to the calibrated range
    np.testing.assert_allclose(deg[:, 5], [0, 50, 100, 100, 0])
    inverted = units.ticks_to_lerobot(ticks, _flat(drive=1), units.norm_modes(False))
    np.testing.assert_allclose(inverted[:, 0], -rng[:, 0])
    np.testing.assert_allclose(inverted[:, 5], 100 - rng[:, 5])


def test_goals_go_back_to_ticks_with_lerobots_int_truncation():
    cal = _flat()
    values = np.array([[0.05, -99.99, 33.3, 100.0, 150.0, 12.34]])
    ticks = units.lerobot_to_ticks(values, cal, units.norm_modes(False))
    # int(((v + 100) / 200) * 2000 + 1000) for the arm, int(v / 100 * 2000 + 1000) for the gripper, clipped first
    expected = [int((v + 100) / 200 * 2000 + 1000) for v in (0.05, -99.99, 33.3, 100.0, 100.0)] + [int(1246.8)]
    assert ticks[0].tolist() == expected
    deg = units.lerobot_to_ticks(np.full((1, 6), 10.0), cal, units.norm_modes(True))
    assert deg[0, 0] == int(10 * 4095 / 360 + 2000)


@pytest.mark.parametrize("use_degrees", [True, False])
def test_radians_survive_a_trip_through_lerobots_units(use_degrees):
    cal, modes = urdf_calibration(), units.norm_modes(use_degrees)
    rng = np.random.default_rng(0)
    lo, hi = (units.ticks_to_radians(t, cal) for t in units.safe_tick_limits(cal))
    q = rng.uniform(lo, hi, (50, 6))
    back = units.lerobot_to_radians(units.radians_to_lerobot(q, cal, modes), cal, modes)
    np.testing.assert_allclose(back, q, atol=1e-9)


def test_a_turn_of_4096_ticks_is_two_pi_around_the_urdf_middle_and_the_frame_sets_the_direction():
    cal = urdf_calibration()
    mid = np.array([(c.range_min + c.range_max) / 2 for c in cal.values()])
    np.testing.assert_allclose(units.ticks_to_radians(mid, cal), (units.URDF_LOWER + units.URDF_UPPER) / 2)
    np.testing.assert_allclose(units.ticks_to_radians(mid + 1024, cal) - units.ticks_to_radians(mid, cal), np.pi / 2)
    flipped = units.JointFrame(signs=(-1.0,) * 6)
    np.testing.assert_allclose(units.ticks_to_radians(mid + 1024, cal, flipped) - flipped.zeros, -np.pi / 2)


def test_safe_limits_are_the_calibrated_range_inside_the_urdf_limits():
    narrow = urdf_calibration(margin_rad=0.1)
    low, high = units.safe_tick_limits(narrow)
    assert low.tolist() == [c.range_min for c in narrow.values()]
    assert high.tolist() == [c.range_max for c in narrow.values()]
    wide = {m: dataclasses.replace(c, range_min=10, range_max=4085) for m, c in narrow.items()}
    low, high = units.safe_tick_limits(wide)
    q_low, q_high = units.ticks_to_radians(low, wide), units.ticks_to_radians(high, wide)
    assert np.all(q_low >= units.URDF_LOWER - 1e-9) and np.all(q_high <= units.URDF_UPPER + 1e-9)
    assert q_high[0] - q_low[0] > 3.9  # shoulder_pan: most of the URDF's 4 rad, not the whole turn
    with pytest.raises(CalibrationError, match="joint_zeros"):
        units.safe_tick_limits(narrow, units.JointFrame(zeros=(10.0,) * 6))
