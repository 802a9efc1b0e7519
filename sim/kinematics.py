"""Forward and inverse kinematics of the SO-100, pure numpy, from the same table as the URDF.

Frames are the arm's base frame (z up). Angles in radians, joint order as JOINT_NAMES.
The IK solves for the five arm joints; the gripper joint does not move the tool centre point.
"""

from __future__ import annotations

import numpy as np

from sim.so100_description import JOINTS, TCP_IN_GRIPPER

_LOWER = np.array([j.lower for j in JOINTS])
_UPPER = np.array([j.upper for j in JOINTS])
ARM_LOWER, ARM_UPPER = _LOWER[:5], _UPPER[:5]


def joint_limits() -> tuple[np.ndarray, np.ndarray]:
    """(lower, upper) limits of the six joints, shape (6,) each."""
    return _LOWER.copy(), _UPPER.copy()


def rpy_matrix(roll: float, pitch: float, yaw: float) -> np.ndarray:
    """Rotation matrix of URDF roll-pitch-yaw (fixed axes x, y, z)."""
    cr, sr, cp, sp, cy, sy = np.cos(roll), np.sin(roll), np.cos(pitch), np.sin(pitch), np.cos(yaw), np.sin(yaw)
    rx = np.array([[1, 0, 0], [0, cr, -sr], [0, sr, cr]])
    ry = np.array([[cp, 0, sp], [0, 1, 0], [-sp, 0, cp]])
    rz = np.array([[cy, -sy, 0], [sy, cy, 0], [0, 0, 1]])
    return rz @ ry @ rx


def axis_angle_matrix(axis, angle: float) -> np.ndarray:
    """Rotation by `angle` about the unit vector `axis` (Rodrigues)."""
    x, y, z = axis
    k = np.array([[0, -z, y], [z, 0, -x], [-y, x, 0]], dtype=float)
    return np.eye(3) + np.sin(angle) * k + (1 - np.cos(angle)) * (k @ k)


_FIXED = []
for _j in JOINTS:
    _t = np.eye(4)
    _t[:3, :3] = rpy_matrix(*_j.rpy)
    _t[:3, 3] = _j.xyz
    _FIXED.append(_t)
_TCP = np.eye(4)
_TCP[:3, 3] = TCP_IN_GRIPPER


def joint_frames(q) -> list[np.ndarray]:
    """World-in-base 4x4 frames of the six joint child links for joint angles q (5 or 6 values)."""
    q = np.asarray(q, dtype=float)
    t = np.eye(4)
    frames = []
    for i, qi in enumerate(q[: len(JOINTS)]):
        rot = np.eye(4)
        rot[:3, :3] = axis_angle_matrix(JOINTS[i].axis, qi)
        t = t @ _FIXED[i] @ rot
        frames.append(t)
    return frames


def tcp_pose(q) -> np.ndarray:
    """4x4 pose of the tool centre point (between the fingers) in the base frame."""
    return joint_frames(np.asarray(q, float)[:5])[4] @ _TCP


def _axis_angle_matrices(axis, angles: np.ndarray) -> np.ndarray:
    """(N, 4, 4) homogeneous rotations by `angles` (N,) about the unit vector `axis` (Rodrigues, batched)."""
    x, y, z = axis
    k = np.array([[0, -z, y], [z, 0, -x], [-y, x, 0]], dtype=float)
    s, c = np.sin(angles)[:, None, None], np.cos(angles)[:, None, None]
    out = np.zeros((len(angles), 4, 4))
    out[:, :3, :3] = np.eye(3) + s * k + (1 - c) * (k @ k)
    out[:, 3, 3] = 1.0
    return out


def tcp_poses(q) -> np.ndarray:
    """tcp_pose of many joint vectors at once: q (N, 5 or 6) -> (N, 4, 4) in the base frame (a training batch's
    whole action chunks in one call)."""
    q = np.asarray(q, float).reshape(-1, np.shape(q)[-1])
    t = np.broadcast_to(np.eye(4), (len(q), 4, 4))
    for i in range(5):
        t = t @ _FIXED[i] @ _axis_angle_matrices(JOINTS[i].axis, q[:, i])
    return t @ _TCP


def tool_rotation(yaw: float) -> np.ndarray:
    """Gripper-frame rotation for a top-down grasp whose fingers close along the horizontal yaw direction.

    The fingers point along the gripper frame's -y, so -y is world down; x (the closing direction) is
    horizontal at `yaw`.
    """
    x = np.array([np.cos(yaw), np.sin(yaw), 0.0])
    y = np.array([0.0, 0.0, 1.0])
    return np.column_stack([x, y, np.cross(x, y)])


def _rotation_error(r_target: np.ndarray, r: np.ndarray) -> np.ndarray:
    """Rotation vector taking r to r_target (small-angle friendly log map)."""
    r_err = r_target @ r.T
    angle = np.arccos(np.clip((np.trace(r_err) - 1) / 2, -1.0, 1.0))
    v = np.array([r_err[2, 1] - r_err[1, 2], r_err[0, 2] - r_err[2, 0], r_err[1, 0] - r_err[0, 1]])
    if angle < 1e-6:
        return v / 2
    if np.pi - angle < 1e-4:  # near half a turn the formula degenerates: use the symmetric part
        axis = np.sqrt(np.clip((np.diag(r_err) + 1) / 2, 0, None))
        return axis * angle
    return v * angle / (2 * np.sin(angle))


def _jacobian(q5: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(6x5 geometric Jacobian of the TCP, TCP pose) at arm angles q5."""
    frames = joint_frames(q5)
    tcp = frames[4] @ _TCP
    p = tcp[:3, 3]
    jac = np.zeros((6, 5))
    for i in range(5):
        axis = frames[i][:3, :3] @ np.asarray(JOINTS[i].axis, float)
        jac[:3, i] = np.cross(axis, p - frames[i][:3, 3])
        jac[3:, i] = axis
    return jac, tcp


def solve_ik(
    position,
    rotation,
    q_init,
    iterations: int = 80,
    tol: float = 1e-4,
    orientation_weight: float = 0.3,
    damping: float = 1e-3,
) -> tuple[np.ndarray, float]:
    """Arm angles (5,) that put the TCP at `position` with gripper rotation `rotation`, and the residual.

    Damped least squares from `q_init`, clamped to the joint limits at each step. The residual is the
    position error in metres plus orientation_weight times the orientation error in radians.
    """
    q = np.clip(np.asarray(q_init, float)[:5].copy(), ARM_LOWER, ARM_UPPER)
    target = np.asarray(position, float)
    w = np.array([1, 1, 1, orientation_weight, orientation_weight, orientation_weight])
    err_norm = np.inf
    for _ in range(iterations):
        jac, tcp = _jacobian(q)
        err = np.concatenate([target - tcp[:3, 3], _rotation_error(rotation, tcp[:3, :3])]) * w
        err_norm = float(np.linalg.norm(err))
        if err_norm < tol:
            break
        jw = jac * w[:, None]
        dq = jw.T @ np.linalg.solve(jw @ jw.T + damping * np.eye(6), err)
        q = np.clip(q + np.clip(dq, -0.3, 0.3), ARM_LOWER, ARM_UPPER)
    return q, err_norm


# Seeds for the arm's elbow-up family (lift, elbow, flex); the pan is aimed at the target and the roll
# is tried at three quarters of a turn apart so the closing direction can be met either way.
_SEEDS = ((1.8, -1.6, 0.8), (2.4, -2.2, 1.0), (1.2, -1.0, 0.9))
_ROLL_SEEDS = (0.0, -1.5, 1.5)


def solve_ik_multistart(position, rotation, q_hint=None, tol: float = 1e-4) -> tuple[np.ndarray, float]:
    """Like solve_ik, from a few seeds (and `q_hint` first); the best solution and its residual."""
    pan = float(np.arctan2(position[0], -position[1]))  # the arm reaches along its base -y
    seeds = [] if q_hint is None else [np.asarray(q_hint, float)[:5]]
    seeds += [np.array([pan, lift, elbow, flex, roll]) for lift, elbow, flex in _SEEDS for roll in _ROLL_SEEDS]
    best_q, best_res = None, np.inf
    for seed in seeds:
        q, res = solve_ik(position, rotation, seed, iterations=100)
        if res < best_res:
            best_q, best_res = q, res
        if res < tol:
            break
    return best_q, best_res
