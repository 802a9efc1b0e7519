"""Forward kinematics agrees with PyBullet; the IK reaches top-down poses across the workspace."""

import numpy as np
import pytest

from sim.kinematics import joint_limits, solve_ik_multistart, tcp_pose, tool_rotation


def test_zero_pose_matches_hand_computed_chain():
    # At zero the SO-100 is folded: its wrist roll joint sits 0.147 m ahead of the base origin and 0.136 m up
    # (base frame, the arm reaching along -y); computed by hand from the joint table.
    from sim.kinematics import joint_frames

    frames = joint_frames(np.zeros(6))
    assert frames[0][:3, 3] == pytest.approx([0, -0.0452, 0.0165], abs=1e-6)
    assert frames[4][:3, 3] == pytest.approx([0, -0.1466, 0.1363], abs=2e-4)


@pytest.mark.parametrize("seed", range(4))
def test_fk_matches_pybullet_link_state(pb_client, seed):
    import pybullet as pb

    from sim.robot import SimArm

    arm = SimArm(pb_client)
    lower, upper = joint_limits()
    q = np.random.default_rng(seed).uniform(lower, upper)
    arm.reset(q)
    assert arm.tcp_world() == pytest.approx(arm.fk_world(q), abs=1e-6)
    _, quat = pb.getLinkState(arm.body, arm.tcp_link, computeForwardKinematics=True, physicsClientId=pb_client)[4:6]
    r_pb = np.array(pb.getMatrixFromQuaternion(quat)).reshape(3, 3)
    r_ours = arm._base_rot @ tcp_pose(q)[:3, :3]
    assert np.allclose(r_pb, r_ours, atol=1e-6)


def test_ik_reaches_top_down_grasps_across_the_workspace():
    rng = np.random.default_rng(0)
    lower, upper = joint_limits()
    for _ in range(40):
        r, a, z, yaw = (
            rng.uniform(0.14, 0.27),
            rng.uniform(-0.55, 0.55),
            rng.uniform(0.012, 0.06),
            rng.uniform(-np.pi, np.pi),
        )
        target = np.array([r * np.sin(a), -r * np.cos(a), z])  # base frame: the arm reaches along -y
        q, residual = solve_ik_multistart(target, tool_rotation(yaw))
        assert residual < 1e-3
        assert np.all(q >= lower[:5] - 1e-9) and np.all(q <= upper[:5] + 1e-9)
        pose = tcp_pose(q)
        assert pose[:3, 3] == pytest.approx(target, abs=1e-3)
        assert pose[:3, 1] == pytest.approx([0, 0, 1], abs=1e-2), "the fingers must point straight down"
