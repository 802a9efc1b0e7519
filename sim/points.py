"""Points in the front camera's image: the one convention a reasoning, a grounding answer and a marker use.

A point is (x, y), two integers from 0 to 1000, as Qwen2-VL writes its boxes: x from the image's left edge to its
right, y from its top edge to its bottom, in thousandths of the front camera's frame. Being a share of the frame,
it is the same point at every camera size (sim/world.py), and a crop of the frame (a view the backbone reads) maps
to it by a scale and a shift. The front camera does not move, so its calibration turns a point back into a place on
the table: the ray through the point meets the horizontal plane at the height of the thing pointed at.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np

from sim import calibration
from sim.calibration import POINT_SCALE
from sim.cameras import CameraConfig

__all__ = ["POINT_SCALE", "front_matrix", "image_share", "on_plane", "to_pixel", "to_point"]


@lru_cache(maxsize=8)
def front_matrix(camera: CameraConfig | None = None) -> np.ndarray:
    """projection @ view of the front camera, as PyBullet renders it (its column-major matrices, transposed);
    computed once per camera: a scene's pointing questions ask for dozens of points. Read-only."""
    import pybullet as pb  # its matrix helpers need no physics server

    camera = camera or CameraConfig()
    view = np.asarray(pb.computeViewMatrix(camera.front_eye, camera.front_target, (0, 0, 1))).reshape(4, 4).T
    aspect = camera.width / camera.height
    proj = np.asarray(pb.computeProjectionMatrixFOV(camera.front_fov_deg, aspect, camera.near, camera.far))
    matrix = proj.reshape(4, 4).T @ view
    matrix.setflags(write=False)
    return matrix


def image_share(xyz, camera: CameraConfig | None = None) -> np.ndarray:
    """Where world position `xyz` (m) falls in the front frame, as shares (u, v) of its width and height:
    (0, 0) the top-left corner, (1, 1) the bottom-right."""
    try:
        return calibration.image_share(front_matrix(camera), xyz)
    except ValueError as exc:
        raise ValueError(f"{list(xyz)} is behind the front camera") from exc


def to_point(xyz, camera: CameraConfig | None = None) -> tuple[int, int]:
    """The point (x, y), integers 0-1000, of world position `xyz` in the front camera's frame (clipped to it)."""
    u, v = np.clip(np.rint(image_share(xyz, camera) * POINT_SCALE), 0, POINT_SCALE).astype(int)
    return int(u), int(v)


def to_pixel(point, width: int, height: int) -> tuple[float, float]:
    """The pixel position (column, row; pixel i spans i to i+1) of `point` in a frame of width x height."""
    return point[0] / POINT_SCALE * width, point[1] / POINT_SCALE * height


def on_plane(point, z: float = 0.0, camera: CameraConfig | None = None) -> np.ndarray:
    """The world (x, y) where the ray through `point` meets the horizontal plane at height `z` (m; 0 the table)."""
    return calibration.ray_on_plane(front_matrix(camera), point, z)
