"""What every task provides: build an episode in a scene, judge success, and plan the expert's move."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

import numpy as np

from sim.errors import SceneError
from sim.expert import PickPlace

# The region of the table the arm reaches comfortably with a top-down grasp (world x, y ranges).
WORKSPACE_X = (0.15, 0.27)
WORKSPACE_Y = (-0.16, 0.16)
# Fresh layouts a task draws before it gives up on an episode (a crowded draw can leave no room).
LAYOUT_TRIES = 20
# Objects at rest move slower than this (m/s); anything faster is still falling or sliding.
RESTING_SPEED = 0.02


@dataclass
class Episode:
    """One built episode: the instruction, the bodies by role, and the ground truth for `info`."""

    instruction: str
    pick: str  # name of the body the expert must move (in scene.bodies)
    ground_truth: dict = field(default_factory=dict)


class Task(Protocol):
    """A tabletop task: its name, how to build an episode, its success check and the expert's plan."""

    name: str

    def build(self, scene, rng: np.random.Generator, split) -> Episode:
        """Place the task's bodies in a freshly reset scene and return the episode."""

    def is_success(self, scene, episode: Episode) -> bool:
        """True when the scene's state satisfies the instruction."""

    def expert_plan(self, scene, episode: Episode) -> PickPlace:
        """The pick and place that solves the episode, from privileged state."""


class LayoutError(SceneError):
    """The objects did not fit in the workspace with the gaps asked for."""


def sample_positions(
    rng: np.random.Generator,
    count: int,
    min_gap: float,
    x_range=WORKSPACE_X,
    y_range=WORKSPACE_Y,
    keep_out: tuple[tuple[float, float, float], ...] = (),
    tries: int = 2000,
) -> list[np.ndarray]:
    """`count` table positions (x, y) at least `min_gap` apart and outside the keep-out discs (x, y, radius)."""
    placed: list[np.ndarray] = []
    for _ in range(tries):
        p = np.array([rng.uniform(*x_range), rng.uniform(*y_range)])
        if all(np.linalg.norm(p - q) >= min_gap for q in placed) and all(
            np.hypot(p[0] - kx, p[1] - ky) >= r for kx, ky, r in keep_out
        ):
            placed.append(p)
            if len(placed) == count:
                return placed
    raise LayoutError(f"could not place {count} objects {min_gap} m apart in the workspace; widen it or place fewer")


def resting_on(scene, body: int, surface_z: float, height: float, tolerance: float = 0.012) -> bool:
    """True when a body stands still with its centre at `height / 2` above `surface_z`, not in the gripper."""
    pos, _ = scene.pose(body)
    if abs(pos[2] - (surface_z + height / 2)) > tolerance or scene.speed(body) > RESTING_SPEED:
        return False
    return not scene.touching(scene.arm.body, body)


def box_grasp_yaws(yaw: float) -> list[float]:
    """The four closing directions that squeeze a box-like object across opposite faces."""
    return [yaw + k * np.pi / 2 for k in range(4)]


def serialize_positions(scene) -> dict[str, list[float]]:
    """World (x, y, z) of every task body, for `info`."""
    return {name: [round(float(v), 5) for v in scene.pose(body)[0]] for name, body in scene.bodies.items()}


def obstacle_boxes(scene, exclude: int) -> tuple[tuple[float, float, float, float], ...]:
    """Footprints (xmin, ymin, xmax, ymax) of every task body but `exclude`, each container wall apart."""
    pb, c = scene.pb, scene.client
    boxes = []
    for body in scene.bodies.values():
        if body == exclude:
            continue
        for link in range(-1, pb.getNumJoints(body, physicsClientId=c)):
            lo, hi = pb.getAABB(body, link, physicsClientId=c)
            if hi[0] - lo[0] > 0 and hi[0] - lo[0] < 1.0:  # a link with no shape reports an empty or huge box
                boxes.append((lo[0], lo[1], hi[0], hi[1]))
    return tuple(boxes)
