"""The URDF matches the kinematics table and loads in PyBullet with LeRobot's joint order."""

import numpy as np
import pytest

from sim.so100_description import INERTIALS, JOINT_NAMES, JOINTS, URDF_PATH, so100_urdf

# ../shared/so100_kinematics.md, row by row: name, xyz, rpy, axis, lower, upper
KINEMATICS_TABLE = [
    ("shoulder_pan", (0, -0.0452, 0.0165), (1.57079, 0, 0), (0, 1, 0), -2.0, 2.0),
    ("shoulder_lift", (0, 0.1025, 0.0306), (-1.8, 0, 0), (1, 0, 0), 0.0, 3.5),
    ("elbow_flex", (0, 0.11257, 0.028), (1.57079, 0, 0), (1, 0, 0), -3.14158, 0.0),
    ("wrist_flex", (0, 0.0052, 0.1349), (-1, 0, 0), (1, 0, 0), -2.5, 1.2),
    ("wrist_roll", (0, -0.0601, 0), (0, 1.57079, 0), (0, 1, 0), -3.14158, 3.14158),
    ("gripper", (-0.0202, -0.0244, 0), (0, 3.14158, 0), (0, 0, 1), -0.2, 2.0),
]


def test_committed_urdf_is_the_generators_output():
    assert URDF_PATH.read_text() == so100_urdf(), "run `python -m sim.so100_description` to rewrite the URDF"


def test_joint_table_matches_the_kinematic_facts():
    assert JOINT_NAMES == tuple(row[0] for row in KINEMATICS_TABLE)
    for joint, (name, xyz, rpy, axis, lo, hi) in zip(JOINTS, KINEMATICS_TABLE):
        assert joint.name == name
        assert joint.xyz == pytest.approx(xyz) and joint.rpy == pytest.approx(rpy) and joint.axis == pytest.approx(axis)
        assert (joint.lower, joint.upper) == (lo, hi)


def test_urdf_loads_with_joints_in_lerobot_order(pb_client):
    import pybullet as pb

    body = pb.loadURDF(str(URDF_PATH), useFixedBase=True, physicsClientId=pb_client)
    infos = [
        pb.getJointInfo(body, i, physicsClientId=pb_client)
        for i in range(pb.getNumJoints(body, physicsClientId=pb_client))
    ]
    revolute = [i for i in infos if i[2] == pb.JOINT_REVOLUTE]
    assert [i[1].decode() for i in revolute] == list(JOINT_NAMES)
    for info, (_, _, _, axis, lo, hi) in zip(revolute, KINEMATICS_TABLE):
        assert (info[8], info[9]) == pytest.approx((lo, hi))
        assert np.allclose(info[13], axis)
    masses = {
        pb.getJointInfo(body, i, physicsClientId=pb_client)[12].decode(): pb.getDynamicsInfo(
            body, i, physicsClientId=pb_client
        )[0]
        for i in range(pb.getNumJoints(body, physicsClientId=pb_client))
    }
    for link, (mass, _) in INERTIALS.items():
        if link != "base":
            assert masses[link] == pytest.approx(mass)
    assert masses["tcp"] < 1e-3, "the tcp marker link must not weigh anything"
