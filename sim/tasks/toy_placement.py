"""toy_placement: "Pick the {object} and place it to the {left|right|front|behind} of the {target}" or
"in the {container}".

Relations are as seen by the front camera, which looks from behind the arm toward the board:
left is +y, right is -y, front is toward the camera (-x), behind is toward the board (+x).
Success: the object rests on the table with its centre between PLACE_MIN and PLACE_MAX from the
target's centre along the relation's direction and at most LATERAL_MAX off that line; for "in",
it rests on the container's floor inside its walls. The object must not be in the gripper.
"""

from __future__ import annotations

import numpy as np

from sim.catalog import COLOURS, container, display_name, object_kind
from sim.expert import PickPlace
from sim.splits import as_split
from sim.tasks.base import (
    LAYOUT_TRIES,
    WORKSPACE_X,
    WORKSPACE_Y,
    Episode,
    LayoutError,
    box_grasp_yaws,
    obstacle_boxes,
    resting_on,
    sample_positions,
)
from sim.tasks.phrasing import IN, RELATIONS, render_instruction

DIRECTIONS = {"left": (0.0, 1.0), "right": (0.0, -1.0), "front": (-1.0, 0.0), "behind": (1.0, 0.0)}
PLACE_DISTANCE = 0.075  # m from the target's centre where the expert puts the object
PLACE_MIN, PLACE_MAX = 0.045, 0.13  # m along the relation's direction that count as success
LATERAL_MAX = 0.045  # m off the relation's line that still counts
TOY_GAP = 0.075
CONTAINER_PROB = 0.3  # share of episodes whose target is a container ("in")
DISTRACTORS = (0, 1)


def relation_holds(obj_xy, target_xy, relation: str) -> bool:
    """Pure geometry: whether obj stands in `relation` to target (see the module's tolerances)."""
    d = np.asarray(DIRECTIONS[relation])
    v = np.asarray(obj_xy, float) - np.asarray(target_xy, float)
    along = float(v @ d)
    lateral = float(np.linalg.norm(v - along * d))
    return PLACE_MIN <= along <= PLACE_MAX and lateral <= LATERAL_MAX


def _inside(scene, obj: int, box: int, kind_name: str, obj_height: float, obj_half_width: float) -> bool:
    kind = container(kind_name)
    pos, _ = scene.pose(box)
    v = scene.pose(obj)[0] - pos
    yaw = scene.yaw(box)
    c, s = np.cos(yaw), np.sin(yaw)
    local = np.array([c * v[0] + s * v[1], -s * v[0] + c * v[1]])
    half_in = np.array(kind.inner_size[:2]) / 2 - obj_half_width * 0.5
    floor = pos[2] + kind.parts[0].size[2]
    return bool(np.all(np.abs(local) <= half_in)) and resting_on(scene, obj, floor, obj_height, tolerance=0.015)


def sample_target_xy(rng: np.random.Generator, relation: str) -> np.ndarray:
    """A target position (x, y) that leaves room PLACE_DISTANCE along `relation` inside the workspace."""
    d = np.asarray(DIRECTIONS[relation])
    lo = np.array([WORKSPACE_X[0], WORKSPACE_Y[0]]) - np.minimum(d, 0) * PLACE_DISTANCE
    hi = np.array([WORKSPACE_X[1], WORKSPACE_Y[1]]) - np.maximum(d, 0) * PLACE_DISTANCE
    return np.array([rng.uniform(lo[0], hi[0]), rng.uniform(lo[1], hi[1])])


def grasp_yaws_for(kind, yaw: float) -> list[float]:
    """Closing directions for a toy: across its narrower side when its footprint is not square."""
    sx, sy = kind.size[:2]
    if abs(sx - sy) < 0.004:
        return box_grasp_yaws(yaw)
    across = yaw if sx < sy else yaw + np.pi / 2
    return [across, across + np.pi]


class ToyPlacement:
    """The toy_placement task."""

    name = "toy_placement"

    def build(self, scene, rng: np.random.Generator, split) -> Episode:
        """Lay out toys (and maybe a container); one toy is to be moved relative to a target."""
        split = as_split(split)
        use_container = rng.random() < CONTAINER_PROB
        n_toys = 1 + (0 if use_container else 1) + int(rng.integers(DISTRACTORS[0], DISTRACTORS[1] + 1))
        shapes = list(rng.choice(split.shapes, size=min(n_toys, len(split.shapes)), replace=False))
        while len(shapes) < n_toys:  # more toys than shapes: repeat shapes, colours keep names apart
            shapes.append(split.shapes[rng.integers(len(split.shapes))])
        colours = list(rng.choice(split.colours, size=n_toys, replace=len(split.colours) < n_toys))
        names = [display_name(str(s), str(c)) for s, c in zip(shapes, colours)]
        if len(set(names)) < len(names):  # two identical toys would make the instruction ambiguous
            return self.build(scene, rng, split)

        relation = IN if use_container else RELATIONS[int(rng.integers(len(RELATIONS)))]
        if use_container:
            kind_name = "bowl" if rng.random() < 0.5 else "tray"
            target_name, target_label = kind_name, kind_name
        else:
            target_name, target_label = "toy_1", names[1]
        for attempt in range(LAYOUT_TRIES):  # a rare crowded draw leaves no room: draw the target again
            try:
                container_yaw, toy_positions = self._layout(rng, relation, n_toys, use_container)
                break
            except LayoutError:
                if attempt == LAYOUT_TRIES - 1:
                    raise
        if use_container:
            scene.add_container(kind_name, kind_name, tuple(toy_positions.pop()), yaw=container_yaw)

        for i, (shape, col, xy) in enumerate(zip(shapes, colours, toy_positions)):
            scene.add_toy(f"toy_{i}", str(shape), COLOURS[str(col)].rgba, tuple(xy), float(rng.uniform(-np.pi, np.pi)))
        scene.settle(0.2)
        instruction = render_instruction(
            rng, split, task=self.name, object=names[0], relation=relation, target=target_label
        )
        return Episode(
            instruction=instruction,
            pick="toy_0",
            ground_truth={
                "object": names[0],
                "object_kind": str(shapes[0]),
                "relation": relation,
                "target": target_label,
                "target_body": target_name,
                "toys": names,
            },
        )

    @staticmethod
    def _layout(rng: np.random.Generator, relation: str, n_toys: int, use_container: bool):
        """(container yaw or None, toy positions); with a container its position is appended last."""
        if use_container:
            target_xy = (rng.uniform(0.17, 0.22), rng.uniform(-0.12, 0.12))
            yaw = float(rng.uniform(-0.3, 0.3))
            keep_out = ((*target_xy, 0.11),)  # clear of the walls by a finger's width
            return yaw, sample_positions(rng, n_toys, TOY_GAP, keep_out=keep_out) + [np.asarray(target_xy)]
        target_xy = sample_target_xy(rng, relation)
        goal = target_xy + np.asarray(DIRECTIONS[relation]) * PLACE_DISTANCE
        keep_out = ((*target_xy, TOY_GAP), (*goal, TOY_GAP))
        for _ in range(50):  # the toy must not already stand where the instruction asks
            others = sample_positions(rng, n_toys - 1, TOY_GAP, keep_out=keep_out)
            if not relation_holds(others[0], target_xy, relation):
                break
        return None, [others[0], target_xy] + others[1:]

    def is_success(self, scene, episode: Episode) -> bool:
        """The moved toy satisfies the relation (or lies in the container) and is at rest out of the gripper."""
        gt = episode.ground_truth
        obj = scene.bodies["toy_0"]
        kind = object_kind(gt["object_kind"])
        if gt["relation"] == IN:
            return _inside(
                scene, obj, scene.bodies[gt["target_body"]], gt["target_body"], kind.size[2], max(kind.size[:2]) / 2
            )
        target_pos, _ = scene.pose(scene.bodies[gt["target_body"]])
        obj_pos, _ = scene.pose(obj)
        return relation_holds(obj_pos[:2], target_pos[:2], gt["relation"]) and resting_on(scene, obj, 0.0, kind.size[2])

    def expert_plan(self, scene, episode: Episode) -> PickPlace:
        """Pick the toy and put it PLACE_DISTANCE along the relation from the target, or in the container."""
        gt = episode.ground_truth
        obj = scene.bodies["toy_0"]
        pos, _ = scene.pose(obj)
        kind = object_kind(gt["object_kind"])
        target_pos, _ = scene.pose(scene.bodies[gt["target_body"]])
        if gt["relation"] == IN:
            place, surface = target_pos[:2], container(gt["target_body"]).parts[0].size[2]
        else:
            place, surface = target_pos[:2] + np.asarray(DIRECTIONS[gt["relation"]]) * PLACE_DISTANCE, 0.0
        return PickPlace(
            pick_xy=(float(pos[0]), float(pos[1])),
            object_height=kind.size[2],
            grasp_yaws=tuple(grasp_yaws_for(kind, scene.yaw(obj))),
            place_xy=(float(place[0]), float(place[1])),
            place_surface_z=surface,
            obstacles=obstacle_boxes(scene, obj),
        )
