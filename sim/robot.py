"""The simulated SO-100 in a PyBullet world: load, command joint targets at a capped speed, read state."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from sim.errors import InvalidActionError
from sim.kinematics import joint_limits, rpy_matrix, solve_ik, solve_ik_multistart, tcp_pose, tool_rotation
from sim.so100_description import JOINT_NAMES, URDF_PATH


@dataclass(frozen=True)
class ArmConfig:
    """How the simulated arm is mounted and driven."""

    base_position: tuple[float, float, float] = (0.0, 0.0, 0.0)
    # The description's arm reaches along its base -y; turn it so it reaches along world +x.
    base_yaw: float = np.pi / 2
    arm_force: float = 35.0  # N·m, the description's effort
    gripper_force: float = 1.5  # N·m, close to the STS3215's stall torque at the jaw
    max_joint_speed: float = 3.0  # rad/s, the safety cap for every joint
    position_gain: float = 0.3
    finger_friction: float = 1.5
    # Rest pose: folded low near the base, out of the front camera's view of the board and the table.
    home: tuple[float, ...] = (0.0, 0.2, -0.3, 1.2, 0.0, 0.3)


class SimArm:
    """An SO-100 body in a PyBullet client, driven by position control."""

    def __init__(self, client, config: ArmConfig | None = None):
        import pybullet as pb

        self.pb, self.client = pb, client
        self.config = config or ArmConfig()
        quat = pb.getQuaternionFromEuler((0, 0, self.config.base_yaw))
        self.body = pb.loadURDF(
            str(URDF_PATH),
            self.config.base_position,
            quat,
            useFixedBase=True,
            flags=pb.URDF_USE_INERTIA_FROM_FILE,
            physicsClientId=client,
        )
        names = [
            pb.getJointInfo(self.body, i, physicsClientId=client)[1].decode()
            for i in range(pb.getNumJoints(self.body, physicsClientId=client))
        ]
        self.joint_ids = [names.index(n) for n in JOINT_NAMES]
        self.tcp_link = names.index("tcp_joint")
        self.lower, self.upper = joint_limits()
        for link in (self.joint_ids[5], names.index("wrist_roll")):  # the two finger links
            pb.changeDynamics(
                self.body,
                link,
                lateralFriction=self.config.finger_friction,
                spinningFriction=0.05,
                frictionAnchor=True,
                physicsClientId=client,
            )
        self._base_rot = rpy_matrix(0, 0, self.config.base_yaw)
        self._base_pos = np.asarray(self.config.base_position, float)
        self.reset(self.config.home)

    # --- frames -------------------------------------------------------------------------------------
    def world_to_base(self, p) -> np.ndarray:
        """A world point in the arm's base frame."""
        return self._base_rot.T @ (np.asarray(p, float) - self._base_pos)

    def base_to_world(self, p) -> np.ndarray:
        """A base-frame point in the world frame."""
        return self._base_rot @ np.asarray(p, float) + self._base_pos

    # --- state --------------------------------------------------------------------------------------
    def reset(self, q) -> None:
        """Teleport the joints to q (6,) and hold them there."""
        q = np.clip(np.asarray(q, float), self.lower, self.upper)
        for jid, qi in zip(self.joint_ids, q):
            self.pb.resetJointState(self.body, jid, float(qi), 0.0, physicsClientId=self.client)
        self.command(q)

    def joint_positions(self) -> np.ndarray:
        """The six joint angles in radians, LeRobot order. Shape (6,)."""
        states = self.pb.getJointStates(self.body, self.joint_ids, physicsClientId=self.client)
        return np.array([s[0] for s in states], dtype=np.float64)

    def tcp_world(self) -> np.ndarray:
        """World position of the tool centre point, from the physics engine."""
        return np.array(
            self.pb.getLinkState(self.body, self.tcp_link, computeForwardKinematics=True, physicsClientId=self.client)[
                4
            ]
        )

    # --- control ------------------------------------------------------------------------------------
    def validate(self, action) -> np.ndarray:
        """The action as a (6,) float array clamped to the joint limits; refuses wrong shapes and NaN."""
        a = np.asarray(action, dtype=np.float64)
        if a.shape != (6,):
            raise InvalidActionError(
                f"an action is 6 joint targets in radians ({', '.join(JOINT_NAMES)}); got shape {a.shape}"
            )
        if not np.all(np.isfinite(a)):
            bad = [JOINT_NAMES[i] for i in np.flatnonzero(~np.isfinite(a))]
            raise InvalidActionError(f"action has NaN or infinite targets for {', '.join(bad)}; the arm was not moved")
        return np.clip(a, self.lower, self.upper)

    def command(self, q) -> None:
        """Set position targets for all six joints (already validated), with the speed cap."""
        c = self.config
        for i, (jid, qi) in enumerate(zip(self.joint_ids, q)):
            self.pb.setJointMotorControl2(
                self.body,
                jid,
                self.pb.POSITION_CONTROL,
                targetPosition=float(qi),
                force=c.gripper_force if i == 5 else c.arm_force,
                positionGain=c.position_gain,
                maxVelocity=c.max_joint_speed,
                physicsClientId=self.client,
            )

    # --- kinematics in world terms -------------------------------------------------------------------
    def ik_top_down(
        self, position_world, yaw_world: float, q_init, multistart: bool = False
    ) -> tuple[np.ndarray, float]:
        """Arm angles (5,) for a top-down TCP pose at a world position with fingers closing along yaw.

        Warm-started from q_init; with multistart, also from a few seeds, keeping the best.
        """
        p = self.world_to_base(position_world)
        rot = tool_rotation(yaw_world - self.config.base_yaw)
        if multistart:
            return solve_ik_multistart(p, rot, q_init)
        return solve_ik(p, rot, q_init)

    def fk_world(self, q) -> np.ndarray:
        """World TCP position for joint angles q, from the pure kinematics (no physics)."""
        return self.base_to_world(tcp_pose(q)[:3, 3])

    def closing_yaw_world(self, q) -> float:
        """World yaw (rad) of the direction the fingers close along (the tool frame's x) for joint angles q."""
        pose = tcp_pose(q)
        return float(np.arctan2(pose[1, 0], pose[0, 0])) + self.config.base_yaw
