"""A camera's calibration as numbers: the point convention, and the math between a point and the table.

Pure numpy on a 4x4 matrix (projection @ view, as PyBullet renders the front camera), so what turns a reasoning's
point into a place on the table needs no renderer: sim/points.py builds the sim's front camera's matrix, and a model
carries that matrix in its config (chatvla2_lite/model/geometry.py), as a real SO-100 setup would carry its own.
"""

from __future__ import annotations

import numpy as np

POINT_SCALE = 1000  # a point's x and y run from 0 to this across the frame


def image_share(matrix: np.ndarray, xyz) -> np.ndarray:
    """Where world position `xyz` (m) falls in the frame of the camera `matrix` (4x4), as shares (u, v) of its width
    and height: (0, 0) the top-left corner, (1, 1) the bottom-right."""
    clip = np.asarray(matrix, np.float64) @ np.append(np.asarray(xyz, dtype=np.float64), 1.0)
    if clip[3] <= 0:
        raise ValueError(f"{list(xyz)} is behind the camera")
    ndc = clip[:2] / clip[3]
    return np.array([(ndc[0] + 1) / 2, (1 - ndc[1]) / 2])


def ray_on_plane(matrix: np.ndarray, point, z: float = 0.0) -> np.ndarray:
    """The world (x, y) where the ray through `point` (x, y in 0..POINT_SCALE) of the camera `matrix` meets the
    horizontal plane at height `z` (m; 0 the table)."""
    x, y = (float(c) / POINT_SCALE for c in point)
    inverse = np.linalg.inv(np.asarray(matrix, np.float64))
    ndc = np.array([2 * x - 1, 1 - 2 * y])
    near, far = (inverse @ np.array([*ndc, depth, 1.0]) for depth in (-1.0, 1.0))
    near, far = near[:3] / near[3], far[:3] / far[3]
    ray = far - near
    if abs(ray[2]) < 1e-12:
        raise ValueError(f"the ray through {tuple(point)} never meets the plane z = {z}")
    return (near + (z - near[2]) / ray[2] * ray)[:2]
