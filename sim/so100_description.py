"""The SO-100 arm as data: joints, links, masses and primitive geometry, and the URDF written from them.

Numbers come from ../shared/so100_kinematics.md (the public SO-ARM100 description and LeRobot's
conventions). Geometry is boxes sized to the links; the jaw and the fixed finger are plates that
grasp by contact and friction.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from sim.conventions import JOINT_NAMES

ARM_JOINTS = JOINT_NAMES[:5]
URDF_PATH = Path(__file__).parent / "assets" / "so100.urdf"


@dataclass(frozen=True)
class Joint:
    name: str
    parent: str
    child: str
    xyz: tuple[float, float, float]
    rpy: tuple[float, float, float]
    axis: tuple[float, float, float]
    lower: float
    upper: float


@dataclass(frozen=True)
class Box:
    """A box in its link's frame: centre, size, and roll-pitch-yaw."""

    center: tuple[float, float, float]
    size: tuple[float, float, float]
    rpy: tuple[float, float, float] = (0.0, 0.0, 0.0)


JOINTS = (
    Joint("shoulder_pan", "base", "shoulder", (0, -0.0452, 0.0165), (1.57079, 0, 0), (0, 1, 0), -2.0, 2.0),
    Joint("shoulder_lift", "shoulder", "upper_arm", (0, 0.1025, 0.0306), (-1.8, 0, 0), (1, 0, 0), 0.0, 3.5),
    Joint("elbow_flex", "upper_arm", "lower_arm", (0, 0.11257, 0.028), (1.57079, 0, 0), (1, 0, 0), -3.14158, 0.0),
    Joint("wrist_flex", "lower_arm", "wrist", (0, 0.0052, 0.1349), (-1, 0, 0), (1, 0, 0), -2.5, 1.2),
    Joint("wrist_roll", "wrist", "gripper", (0, -0.0601, 0), (0, 1.57079, 0), (0, 1, 0), -3.14158, 3.14158),
    Joint("gripper", "gripper", "jaw", (-0.0202, -0.0244, 0), (0, 3.14158, 0), (0, 0, 1), -0.2, 2.0),
)

# (mass kg, centre of mass xyz) per link, from the description.
INERTIALS = {
    "base": (1.0, (0, 0, 0)),
    "shoulder": (0.119226, (-9.07886e-05, 0.0590972, 0.031089)),
    "upper_arm": (0.162409, (-1.72052e-05, 0.0701802, 0.00310545)),
    "lower_arm": (0.147968, (-0.00339604, 0.00137796, 0.0768007)),
    "wrist": (0.0661321, (-0.00852653, -0.0352279, -2.34622e-05)),
    "gripper": (0.0929859, (0.00552377, -0.0280167, 0.000483583)),
    "jaw": (0.0202444, (-0.00161745, -0.0303473, 0.000449646)),
}

# The fingers point along -y of the gripper frame. The fixed finger's inner face is the plane
# x = FINGER_FACE_X; opening swings the jaw toward -x about its hinge.
FINGER_FACE_X = -0.0162
FINGER_THICKNESS = 0.008
FINGER_WIDTH = 0.022
FINGER_TIP_Y = -0.0944
FINGER_ROOT_Y = -0.030
# The jaw plate is bent so that at JAW_PARALLEL_ANGLE it stands parallel to the fixed finger,
# JAW_PARALLEL_GAP away: an object that wide is squeezed between two flat faces, and a narrower one
# between the jaw's tip and the fixed finger, which pushes it toward the palm rather than out.
JAW_PARALLEL_ANGLE = 0.6
JAW_PARALLEL_GAP = 0.034
_HINGE = (-0.0202, -0.0244)
# The tool centre point: between the fingers, 1 cm above their tips, in the gripper frame.
TCP_IN_GRIPPER = (FINGER_FACE_X - 0.015, FINGER_TIP_Y + 0.010, 0.0)


def _gripper_to_jaw(x: float, y: float) -> tuple[float, float, float]:
    """A gripper-frame point (z = 0) in the jaw frame when the jaw joint is at JAW_PARALLEL_ANGLE."""
    # jaw frame = gripper frame moved to the hinge, turned half a turn about y, then by the joint angle about z
    dx, dy = x - _HINGE[0], y - _HINGE[1]
    c, s = np.cos(JAW_PARALLEL_ANGLE), np.sin(JAW_PARALLEL_ANGLE)
    # undo the half turn about y (x -> -x), then the joint rotation about z
    hx, hy = -dx, dy
    return (c * hx + s * hy, -s * hx + c * hy, 0.0)


def _segment_box(a, b, width: float) -> Box:
    """A box of square section `width` running from point a to point b in the link frame."""
    a, b = np.asarray(a, float), np.asarray(b, float)
    d = b - a
    length = float(np.linalg.norm(d))
    # Boxes are laid along y; roll them about x so y follows the segment (all segments lie in x=0).
    roll = float(np.arctan2(d[2], d[1]))
    center = tuple(float(v) for v in (a + b) / 2)
    return Box(center, (width, length + width * 0.5, width), (roll, 0.0, 0.0))


def _link_boxes() -> dict[str, list[Box]]:
    j = {jt.name: jt for jt in JOINTS}
    jaw_half = FINGER_THICKNESS / 2
    return {
        "base": [Box((0, -0.0452, 0.008), (0.09, 0.09, 0.016))],
        "shoulder": [_segment_box((0, 0, 0.0), j["shoulder_lift"].xyz, 0.045)],
        "upper_arm": [_segment_box((0, 0, 0), j["elbow_flex"].xyz, 0.032)],
        "lower_arm": [_segment_box((0, 0, 0), j["wrist_flex"].xyz, 0.030)],
        "wrist": [_segment_box((0, 0, 0), j["wrist_roll"].xyz, 0.030)],
        "gripper": [
            # servo housing around the roll axis, clear of the jaw's swing
            Box((0.004, -0.012, 0.0), (0.032, 0.028, 0.032)),
            # fixed finger: a plate from the housing to the tip, inner face at FINGER_FACE_X
            Box(
                (FINGER_FACE_X + jaw_half, (-0.026 + FINGER_TIP_Y) / 2, 0.0),
                (FINGER_THICKNESS, -0.026 - FINGER_TIP_Y, FINGER_WIDTH),
            ),
        ],
        "jaw": _jaw_boxes(),
    }


def _jaw_boxes() -> list[Box]:
    """The jaw's plate and the bar joining it to the hinge, placed by where they stand when parallel."""
    plate_x = FINGER_FACE_X - JAW_PARALLEL_GAP - FINGER_THICKNESS / 2
    plate_len = FINGER_ROOT_Y - FINGER_TIP_Y
    plate = Box(
        _gripper_to_jaw(plate_x, (FINGER_ROOT_Y + FINGER_TIP_Y) / 2),
        (FINGER_THICKNESS, plate_len, FINGER_WIDTH),
        (0.0, 0.0, -JAW_PARALLEL_ANGLE),
    )
    bar_y = FINGER_ROOT_Y + FINGER_THICKNESS / 2
    bar_x0, bar_x1 = _HINGE[0] + 0.004, plate_x - FINGER_THICKNESS / 2
    bar = Box(
        _gripper_to_jaw((bar_x0 + bar_x1) / 2, bar_y),
        (bar_x0 - bar_x1, FINGER_THICKNESS, FINGER_WIDTH),
        (0.0, 0.0, -JAW_PARALLEL_ANGLE),
    )
    return [plate, bar]


LINK_COLORS = {
    "base": (0.15, 0.15, 0.15, 1),
    "shoulder": (0.95, 0.55, 0.1, 1),
    "upper_arm": (0.95, 0.95, 0.95, 1),
    "lower_arm": (0.95, 0.55, 0.1, 1),
    "wrist": (0.95, 0.95, 0.95, 1),
    "gripper": (0.2, 0.2, 0.2, 1),
    "jaw": (0.95, 0.55, 0.1, 1),
}


def _fmt(v) -> str:
    return " ".join(f"{float(x):.6g}" for x in v)


def _link_xml(name: str, boxes: list[Box]) -> str:
    mass, com = INERTIALS[name]
    # A solid-box inertia estimate from the first box: the description's tensors are not in the notes.
    sx, sy, sz = boxes[0].size
    ixx, iyy, izz = (mass / 12 * (sy**2 + sz**2), mass / 12 * (sx**2 + sz**2), mass / 12 * (sx**2 + sy**2))
    rgba = _fmt(LINK_COLORS[name])
    parts = [
        f'  <link name="{name}">',
        "    <inertial>",
        f'      <origin xyz="{_fmt(com)}" rpy="0 0 0"/>',
        f'      <mass value="{mass:.6g}"/>',
        f'      <inertia ixx="{ixx:.6g}" ixy="0" ixz="0" iyy="{iyy:.6g}" iyz="0" izz="{izz:.6g}"/>',
        "    </inertial>",
    ]
    for b in boxes:
        origin = f'<origin xyz="{_fmt(b.center)}" rpy="{_fmt(b.rpy)}"/>'
        geom = f'<geometry><box size="{_fmt(b.size)}"/></geometry>'
        parts.append(
            f'    <visual>{origin}{geom}<material name="{name}_color"><color rgba="{rgba}"/></material></visual>'
        )
        parts.append(f"    <collision>{origin}{geom}</collision>")
    parts.append("  </link>")
    return "\n".join(parts)


def _joint_xml(jt: Joint) -> str:
    return "\n".join(
        [
            f'  <joint name="{jt.name}" type="revolute">',
            f'    <parent link="{jt.parent}"/>',
            f'    <child link="{jt.child}"/>',
            f'    <origin xyz="{_fmt(jt.xyz)}" rpy="{_fmt(jt.rpy)}"/>',
            f'    <axis xyz="{_fmt(jt.axis)}"/>',
            f'    <limit lower="{jt.lower}" upper="{jt.upper}" effort="35" velocity="1"/>',
            "  </joint>",
        ]
    )


def so100_urdf() -> str:
    """The SO-100 URDF text, with a fixed `tcp` link at the grasp point between the fingers."""
    boxes = _link_boxes()
    body = [
        _link_xml(name, boxes[name])
        for name in ("base", "shoulder", "upper_arm", "lower_arm", "wrist", "gripper", "jaw")
    ]
    body += [_joint_xml(jt) for jt in JOINTS]
    # The tcp link carries a negligible mass: a link with none would get 1 kg from the importer.
    body.append(
        '  <link name="tcp"><inertial><mass value="1e-5"/>'
        '<inertia ixx="1e-9" ixy="0" ixz="0" iyy="1e-9" iyz="0" izz="1e-9"/></inertial></link>'
    )
    body.append(
        f'  <joint name="tcp_joint" type="fixed"><parent link="gripper"/><child link="tcp"/>'
        f'<origin xyz="{_fmt(TCP_IN_GRIPPER)}" rpy="0 0 0"/></joint>'
    )
    return (
        '<?xml version="1.0"?>\n<!-- Written by sim/so100_description.py; do not edit by hand. -->\n'
        '<robot name="so100">\n' + "\n".join(body) + "\n</robot>\n"
    )


def write_urdf(path: Path = URDF_PATH) -> Path:
    """Write the URDF file (the committed asset is this function's output)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(so100_urdf())
    return path


if __name__ == "__main__":
    print(write_urdf())
