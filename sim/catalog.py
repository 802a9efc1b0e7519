"""The toy catalog as plain data: object kinds, colours, containers and the number card.

Sizes are full extents in metres in the object's upright frame (x, y horizontal, z up). Every
toy fits the SO-100 gripper, whose jaw opens to about 5 cm: horizontal extents 1.5-3.5 cm,
heights 2.5-4 cm. Mesh toys come from pybullet_data; their .obj files are Y-up and far larger
than a toy, so each carries a `mesh_scale` and the frame that stands it upright and centres it.
Nothing here imports pybullet; `mesh_file` imports only the tiny pybullet_data path module.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

from sim.errors import UnknownNameError

Vec3 = tuple[float, float, float]
RGBA = tuple[float, float, float, float]


@dataclass(frozen=True)
class Colour:
    """A named colour as RGBA in 0..1, the name being the word used in instructions."""

    name: str
    rgba: RGBA


@dataclass(frozen=True)
class MeshSpec:
    """A pybullet_data mesh: files, native size, and how to scale and stand it up."""

    visual_obj: str  # relative to pybullet_data.getDataPath()
    collision_obj: str  # a convex decomposition where pybullet_data has one
    urdf: str | None  # pybullet_data's own URDF, when there is one
    urdf_mesh_scale: float  # the scale that URDF applies to the .obj (to derive globalScaling)
    native_min: Vec3  # bounding box of the .obj in its own units (checked against the file by tests)
    native_max: Vec3
    mesh_scale: float  # .obj units -> metres for the toy size we want
    upright_rpy: Vec3 = (math.pi / 2, 0.0, 0.0)  # the .obj files are Y-up; this turns +Y into +Z

    @property
    def urdf_global_scaling(self) -> float:
        """The `globalScaling` to give loadURDF(urdf) so the toy gets `mesh_scale`."""
        return self.mesh_scale / self.urdf_mesh_scale


@dataclass(frozen=True)
class ObjectKind:
    """A toy kind: its shape, upright size (m), mass, and mesh when shape == "mesh"."""

    name: str  # the noun in instructions: "cube", "duck"
    shape: str  # "box" | "cylinder" | "sphere" | "mesh"
    size: Vec3  # full extents (x, y, z) in metres, z up; cylinder/sphere: diameter, diameter, height
    mass_kg: float = 0.03
    mesh: MeshSpec | None = None


@dataclass(frozen=True)
class Part:
    """One rigid primitive of a container, placed in the container frame (origin at floor centre, z up)."""

    shape: str  # "box" | "cylinder"
    size: Vec3  # full extents; cylinder: diameter, diameter, height
    position: Vec3  # centre of the part
    yaw: float = 0.0  # radians about z


@dataclass(frozen=True)
class ContainerKind:
    """A container built from primitive parts: a floor and low walls."""

    name: str
    parts: tuple[Part, ...]
    outer_size: Vec3  # full extents of the whole container
    inner_size: Vec3  # usable floor area (x, y) and wall height above the floor
    rgba: RGBA


@dataclass(frozen=True)
class CardSpec:
    """The number card (answer card): a block with the digit texture on its top face."""

    size: Vec3
    rgba: RGBA  # body colour; the top face gets sim.textures.draw_digit_card
    texture_px: int
    mass_kg: float


COLOURS: dict[str, Colour] = {
    c.name: c
    for c in (
        Colour("red", (0.85, 0.12, 0.12, 1.0)),
        Colour("green", (0.15, 0.65, 0.20, 1.0)),
        Colour("blue", (0.15, 0.30, 0.85, 1.0)),
        Colour("yellow", (0.95, 0.85, 0.10, 1.0)),
        Colour("orange", (1.00, 0.50, 0.05, 1.0)),
        Colour("purple", (0.55, 0.20, 0.70, 1.0)),
    )
}

# Scales chosen so the longest horizontal side is about 3.5 cm and the height 2.5-4 cm.
_DUCK = MeshSpec(
    visual_obj="duck.obj",
    collision_obj="duck_vhacd.obj",
    urdf="duck_vhacd.urdf",
    urdf_mesh_scale=0.05,
    native_min=(-0.962, 0.099, -0.539),
    native_max=(0.693, 1.640, 0.613),
    mesh_scale=0.021,
)
_TEDDY = MeshSpec(
    visual_obj="teddy2_VHACD_CHs.obj",
    collision_obj="teddy2_VHACD_CHs.obj",
    urdf="teddy_vhacd.urdf",
    urdf_mesh_scale=0.1,
    native_min=(0.298, 0.195, 0.009),
    native_max=(1.059, 1.127, 0.637),
    mesh_scale=0.042,
)
_BUNNY = MeshSpec(
    visual_obj="bunny.obj",
    collision_obj="bunny.obj",
    urdf=None,
    urdf_mesh_scale=1.0,
    native_min=(-0.459, -0.667, -0.959),
    native_max=(0.467, 0.777, 1.016),
    mesh_scale=0.0175,
)


def _upright_size(mesh: MeshSpec) -> Vec3:
    # Y-up .obj: its x stays x, its z becomes the horizontal y, its y becomes the height.
    ext = [(hi - lo) * mesh.mesh_scale for lo, hi in zip(mesh.native_min, mesh.native_max)]
    return (round(ext[0], 4), round(ext[2], 4), round(ext[1], 4))


OBJECT_KINDS: dict[str, ObjectKind] = {
    k.name: k
    for k in (
        ObjectKind("cube", "box", (0.03, 0.03, 0.03)),
        ObjectKind("cylinder", "cylinder", (0.03, 0.03, 0.035)),
        ObjectKind("sphere", "sphere", (0.032, 0.032, 0.032), mass_kg=0.02),
        ObjectKind("duck", "mesh", _upright_size(_DUCK), mesh=_DUCK),
        ObjectKind("teddy", "mesh", _upright_size(_TEDDY), mesh=_TEDDY),
        ObjectKind("bunny", "mesh", _upright_size(_BUNNY), mesh=_BUNNY),
    )
}

FLOOR_THICKNESS = 0.005
WALL_THICKNESS = 0.006
WALL_HEIGHT = 0.02
BOWL_SEGMENTS = 12  # wall boxes around the ring; 12 keeps the gaps between them under 1 mm


def tray_parts(outer_x: float = 0.12, outer_y: float = 0.10) -> tuple[Part, ...]:
    """A tray of the given outer size: a floor box plus four low walls standing on it."""
    t, h, f = WALL_THICKNESS, WALL_HEIGHT, FLOOR_THICKNESS
    zw = f + h / 2
    return (
        Part("box", (outer_x, outer_y, f), (0.0, 0.0, f / 2)),
        Part("box", (outer_x, t, h), (0.0, (outer_y - t) / 2, zw)),
        Part("box", (outer_x, t, h), (0.0, -(outer_y - t) / 2, zw)),
        Part("box", (t, outer_y - 2 * t, h), ((outer_x - t) / 2, 0.0, zw)),
        Part("box", (t, outer_y - 2 * t, h), (-(outer_x - t) / 2, 0.0, zw)),
    )


def bowl_parts(diameter: float = 0.11, segments: int = BOWL_SEGMENTS) -> tuple[Part, ...]:
    """A bowl of the given outer diameter: a disc floor and a ring of wall boxes tangent to it."""
    t, h, f = WALL_THICKNESS, WALL_HEIGHT, FLOOR_THICKNESS
    r_mid = diameter / 2 - t / 2
    # Each box spans its sector's chord at the outer edge, so neighbours touch with no gap.
    length = 2 * (diameter / 2) * math.tan(math.pi / segments)
    walls = tuple(
        Part("box", (t, length, h), (r_mid * math.cos(a), r_mid * math.sin(a), f + h / 2), yaw=a)
        for a in (2 * math.pi * i / segments for i in range(segments))
    )
    return (Part("cylinder", (diameter, diameter, f), (0.0, 0.0, f / 2)),) + walls


CONTAINERS: dict[str, ContainerKind] = {
    "tray": ContainerKind(
        "tray",
        tray_parts(),
        (0.12, 0.10, FLOOR_THICKNESS + WALL_HEIGHT),
        (0.12 - 2 * WALL_THICKNESS, 0.10 - 2 * WALL_THICKNESS, WALL_HEIGHT),
        (0.55, 0.45, 0.35, 1.0),
    ),
    "bowl": ContainerKind(
        "bowl",
        bowl_parts(),
        (0.11, 0.11, FLOOR_THICKNESS + WALL_HEIGHT),
        (0.11 - 2 * WALL_THICKNESS, 0.11 - 2 * WALL_THICKNESS, WALL_HEIGHT),
        (0.85, 0.88, 0.92, 1.0),
    ),
}

NUMBER_CARD = CardSpec(size=(0.03, 0.03, 0.02), rgba=(0.93, 0.90, 0.82, 1.0), texture_px=64, mass_kg=0.02)


def object_kind(name: str) -> ObjectKind:
    """The ObjectKind called `name`; raises UnknownNameError listing the kinds."""
    if name not in OBJECT_KINDS:
        raise UnknownNameError("object kind", name, OBJECT_KINDS)
    return OBJECT_KINDS[name]


def colour(name: str) -> Colour:
    """The Colour called `name`; raises UnknownNameError listing the colours."""
    if name not in COLOURS:
        raise UnknownNameError("colour", name, COLOURS)
    return COLOURS[name]


def container(name: str) -> ContainerKind:
    """The ContainerKind called `name` ("tray" or "bowl"); raises UnknownNameError otherwise."""
    if name not in CONTAINERS:
        raise UnknownNameError("container", name, CONTAINERS)
    return CONTAINERS[name]


def display_name(kind: str, colour_name: str) -> str:
    """The words instructions use for a toy: display_name("cube", "red") -> "red cube"."""
    return f"{colour(colour_name).name} {object_kind(kind).name}"


def mesh_file(relative: str) -> Path:
    """The absolute path of a pybullet_data file such as "duck.obj"."""
    import pybullet_data  # a path-only module; imported here so the catalog stays import-free

    return Path(pybullet_data.getDataPath()) / relative


def mesh_frame(kind: str) -> tuple[Vec3, Vec3]:
    """(position, rpy) of the mesh in the toy's frame so the toy stands upright, centred on its origin.

    Pass them as visual/collision frame position and orientation when building the shape from
    `mesh.visual_obj` with meshScale = `mesh.mesh_scale`; the body origin is then the centre
    of the upright bounding box.
    """
    mesh = object_kind(kind).mesh
    if mesh is None:
        raise ValueError(f"{kind!r} is a primitive, not a mesh; only mesh kinds have a mesh frame")
    s = mesh.mesh_scale
    cx, cy, cz = ((lo + hi) / 2 * s for lo, hi in zip(mesh.native_min, mesh.native_max))
    # Rotating +90 degrees about x maps (x, y, z) -> (x, -z, y); shift that centre to the origin.
    return (-cx, cz, -cy), mesh.upright_rpy
