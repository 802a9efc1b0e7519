"""The action expert's geometric channel, and the tool space its chunk is predicted in.

- Anchors: the points a reasoning says (reasoning_points: the thing it takes, the place it puts it) taken onto the
  table through the front camera's calibration, which the model carries in ActionExpertConfig.geometry (the sim's,
  written by training; a real SO-100 setup brings its own). With the tool's own place they are the three ANCHORS.
  The text stays the one source of the target: edit a point and the anchor moves with it.
- Tool space: a chunk step is the tool centre point's world (x, y, z) in metres, the yaw of its closing direction
  relative to the arm's reach (rad), and the gripper joint (rad). The expert predicts a step's (x, y) as a mix of the
  anchors plus a small offset (action_expert.py), so "go to the card" is learnt once for the whole table; the arm's
  inverse kinematics turn the chunk back into joint targets, LeRobot's convention for what a policy returns.
"""

from __future__ import annotations

import numpy as np

from chatvla2_lite.model.reasoning_points import reasoning_points
from sim.calibration import ray_on_plane
from sim.kinematics import joint_limits, rpy_matrix, solve_ik, tcp_poses, tool_rotation

ANCHORS = ("tool", "object", "place")  # where a chunk step's (x, y) is mixed from
TOOL_DIM = 5  # x, y, z (m, world), yaw relative to the reach (rad), gripper (rad)
# The relative yaw is measured from the reach turned half a turn: the SO-100's top-down grasps close across it at
# about that, so the values stay near 0, away from the wrap at +-pi.
_YAW_REFERENCE = np.pi
GEOMETRY_KEYS = ("front_camera", "base", "object_z", "place_z")


def check_geometry(geometry: dict) -> None:
    """Raise ValueError unless `geometry` is a calibration the channel can use (GEOMETRY_KEYS)."""
    missing = [k for k in GEOMETRY_KEYS if k not in geometry]
    if missing:
        raise ValueError(f"the geometry needs {list(GEOMETRY_KEYS)}; {missing} missing")
    if np.asarray(geometry["front_camera"], float).size != 16 or np.asarray(geometry["base"], float).size != 4:
        raise ValueError("geometry: front_camera is 16 numbers (projection @ view, row by row), base 4 (x, y, z, yaw)")


def _camera(geometry: dict) -> np.ndarray:
    return np.asarray(geometry["front_camera"], np.float64).reshape(4, 4)


def _base(geometry: dict) -> tuple[np.ndarray, np.ndarray]:
    """(rotation (3, 3), position (3,)) of the arm's base in the world."""
    x, y, z, yaw = (float(v) for v in geometry["base"])
    return rpy_matrix(0.0, 0.0, yaw), np.array([x, y, z])


def reasoning_anchors(text: str, geometry: dict) -> tuple[np.ndarray, np.ndarray]:
    """The table (x, y) of the object and the place a reasoning points at: ((2, 2) float32, (2,) bool said); a
    point it does not say is zeros, not said."""
    points = reasoning_points(text)
    xy, said = np.zeros((2, 2), np.float32), np.zeros(2, bool)
    heights = {"object": geometry["object_z"], "place": geometry["place_z"]}
    for i, name in enumerate(ANCHORS[1:]):
        if points[name] is not None:
            xy[i], said[i] = ray_on_plane(_camera(geometry), points[name], float(heights[name])), True
    return xy, said


def _wrapped(angle: np.ndarray) -> np.ndarray:
    return np.angle(np.exp(1j * angle))


def tool_chunk(joints, geometry: dict) -> np.ndarray:
    """Joint vectors (..., 6) in radians -> tool-space steps (..., TOOL_DIM) (forward kinematics)."""
    joints = np.asarray(joints, np.float64)
    poses = tcp_poses(joints.reshape(-1, 6))  # (N, 4, 4) in the base frame
    rotation, position = _base(geometry)
    at = poses[:, :3, 3]
    closing = poses[:, :3, 0]  # the fingers close along the tool frame's x
    relative_yaw = _wrapped(np.arctan2(closing[:, 1], closing[:, 0]) - np.arctan2(at[:, 1], at[:, 0]) - _YAW_REFERENCE)
    out = np.column_stack([at @ rotation.T + position, relative_yaw, joints.reshape(-1, 6)[:, 5]])
    return out.reshape(*joints.shape[:-1], TOOL_DIM).astype(np.float32)


def joint_chunk(tool, q_start, geometry: dict) -> np.ndarray:
    """Tool-space steps (H, TOOL_DIM) -> joint targets (H, 6) in radians: each step's top-down pose solved by the
    arm's inverse kinematics, warm-started from the step before (the first from `q_start`), within the joint limits."""
    rotation, position = _base(geometry)
    lower, upper = joint_limits()
    q = np.asarray(q_start, np.float64)[:5]
    out = np.zeros((len(tool), 6), np.float32)
    for i, (x, y, z, relative_yaw, gripper) in enumerate(np.asarray(tool, np.float64)):
        at = rotation.T @ (np.array([x, y, z]) - position)
        q, _residual = solve_ik(at, tool_rotation(np.arctan2(at[1], at[0]) + _YAW_REFERENCE + relative_yaw), q)
        out[i, :5], out[i, 5] = q, np.clip(gripper, lower[5], upper[5])
    return out
