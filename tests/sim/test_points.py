"""The point convention against what the front camera renders: a thing's point lands on its pixels."""

import numpy as np
import pytest

import sim
from sim.points import POINT_SCALE, on_plane, to_pixel, to_point
from sim.world import World


def _centroid(mask: np.ndarray) -> np.ndarray:
    rows, cols = np.nonzero(mask)
    return np.array([cols.mean() + 0.5, rows.mean() + 0.5])  # pixel i spans i to i+1


@pytest.mark.parametrize("size", [224, 448])
def test_a_cards_point_lands_on_the_card_in_the_frame(size):
    env = sim.make_env("math_matching", "heldout", cameras=("front",), world=World(camera_size=size))
    try:
        _, info = env.reset(seed=4)
        env.scene.place(env.scene.arm.body, (0.0, 0.4, 0.0))  # the arm out of the frame: it hides cards
        mask = env.cameras.body_mask("front")
        for digit in info["candidates"]:
            body = env.scene.bodies[f"card_{digit}"]
            position, _ = env.scene.pose(body)
            seen = _centroid(mask == body)
            pointed = np.array(to_pixel(to_point(position), size, size))
            assert np.abs(pointed - seen).max() < 1 + 0.002 * size, (digit, pointed, seen)  # about a pixel
    finally:
        env.close()


def test_a_point_goes_back_to_the_table_where_it_came_from():
    for xyz in [(0.2, 0.1, 0.0), (0.3, -0.12, 0.0), (0.15, 0.0, 0.01), (0.25, 0.05, 0.03)]:
        point = to_point(xyz)
        assert all(0 <= c <= POINT_SCALE for c in point) and all(isinstance(c, int) for c in point)
        assert np.linalg.norm(on_plane(point, z=xyz[2]) - np.asarray(xyz[:2])) < 0.002  # a thousandth: about 1 mm


def test_left_is_smaller_x_and_the_board_side_is_higher_up():
    # the convention's axes as the front camera sees the table: +y (the arm's left) is left, +x (toward the board) up
    left, right = to_point((0.2, 0.1, 0.0)), to_point((0.2, -0.1, 0.0))
    near, far = to_point((0.15, 0.0, 0.0)), to_point((0.3, 0.0, 0.0))
    assert left[0] < right[0] and far[1] < near[1]


def test_a_point_behind_the_camera_is_refused():
    with pytest.raises(ValueError, match="behind the front camera"):
        to_point((-1.0, 0.0, 0.45))
