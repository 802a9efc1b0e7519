"""Scripted behaviours beyond the expert's own pick and place, for training data and diagnostics.

- Decoys: an expert that aims beside the pick object (or at another card) and carries what it grasps beside
  the place point, so a policy's training data holds near misses to recover from.
- Restarts: at any look of someone else's attempt, a fresh expert started from the arm's present joints gives
  the label, the chunk it would play from there (`ScriptedExpert.restart_here` while the object rests
  untouched, `restart_holding` while the arm holds it off the table).
- Hover beside: the arm brought, as the expert would, to hover a given offset beside the object.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from sim.expert import ScriptedExpert
from sim.tasks.base import box_grasp_yaws

RESTING_M = 0.01  # the object stood within this of its start height: not lifted, not tipped onto another
PLACED_M = 0.03  # the object lay this near (horizontally) where the expert puts it down: nothing left to correct
SETTLE_STEPS = 10  # control steps holding the hover pose before a look, so the arm is at rest where it aimed
# The tasks whose decoy may head for another body of the pick's kind: the cards a reasoning could name. The toys are
# left out: a heldout toy's kind and colour appear in no training data, so nothing could tie its name to its look.
OTHER_PICKS = ("math_matching",)


def decoy_expert(env, offset, place_offset=(0.0, 0.0), grasp_yaws=None, turn: float = 0.0) -> ScriptedExpert:
    """A scripted expert for the current episode that aims `offset` (x, y in m) beside the pick object, turned to
    `grasp_yaws` (the pick's when None) and `turn` (rad) beyond them, and carries what it grasps to `place_offset`
    beside the place point."""
    scene = env.scene
    plan = env.task.expert_plan(scene, env.episode)
    decoy_plan = dataclasses.replace(
        plan,
        pick_xy=tuple(np.asarray(plan.pick_xy) + np.asarray(offset)),
        place_xy=tuple(np.asarray(plan.place_xy) + np.asarray(place_offset)),
        grasp_yaws=tuple(g + turn for g in (plan.grasp_yaws if grasp_yaws is None else grasp_yaws)),
    )
    return ScriptedExpert(scene.arm, decoy_plan, scene.config.control_hz, scene.arm.joint_positions())


def same_kind(bodies: dict[str, int], pick: str) -> list[int]:
    """The bodies named as `pick` is but for its last part ("card_4" -> the other "card_*"), itself left out."""
    prefix = pick.rsplit("_", 1)[0] + "_"
    return [body for name, body in bodies.items() if name.startswith(prefix) and name != pick]


def other_pick(env, rng: np.random.Generator):
    """(offset from the pick to another body of its kind (same_kind), that body's grasp yaws), drawn at random in
    name order; None when the task is not one of OTHER_PICKS or there is no such body."""
    scene = env.scene
    names = {body: name for name, body in scene.bodies.items()}
    others = sorted(same_kind(scene.bodies, env.episode.pick), key=names.get) if env.task.name in OTHER_PICKS else []
    if not others:
        return None
    body = others[int(rng.integers(len(others)))]
    offset = scene.pose(body)[0][:2] - scene.pose(scene.bodies[env.episode.pick])[0][:2]
    return offset, box_grasp_yaws(scene.yaw(body))


def hover_beside(env, seed: int, offset) -> tuple[dict, dict]:
    """Reset to `seed` and bring the arm, as the scripted expert would, to hover `offset` (x, y in m) beside the
    pick object; returns the observation there and the reset info."""
    _, info = env.reset(seed=seed)
    decoy = decoy_expert(env, offset)
    actions = []
    while not decoy.approached:
        actions.append(decoy.act())
    obs = env.step_chunk(actions + [actions[-1]] * SETTLE_STEPS)[0]
    return obs, info


def expert_label(env, chunk: int) -> np.ndarray:
    """The next `chunk` actions (chunk, 6) of a scripted expert started from the arm's present joints; the last one
    repeated once it is done."""
    expert = env.expert()
    expert.restart_here()
    return _next_actions(expert, chunk)


def carry_label(env, tool_above_bottom: float, chunk: int) -> np.ndarray:
    """The next `chunk` actions (chunk, 6) of a scripted expert that carries the held object from here."""
    expert = env.expert()
    expert.restart_holding(tool_above_bottom)
    return _next_actions(expert, chunk)


def _next_actions(expert: ScriptedExpert, chunk: int) -> np.ndarray:
    actions = []
    while len(actions) < chunk:
        actions.append(actions[-1] if expert.done else np.asarray(expert.act(), np.float32))
    return np.stack(actions)


def needs_a_pick(env, body: int, rest_z: float) -> bool:
    """The object rests on the table at its start height, untouched by the arm and away from where it goes."""
    position = env.scene.pose(body)[0]
    place = np.asarray(env.task.expert_plan(env.scene, env.episode).place_xy)
    return (
        abs(position[2] - rest_z) < RESTING_M
        and not env.scene.touching(env.scene.arm.body, body)
        and np.hypot(*(position[:2] - place)) > PLACED_M
    )


def held_off_the_table(env, body: int, rest_z: float) -> float | None:
    """The tool centre point's height above the held object's bottom while the arm touches the object and it hangs
    more than RESTING_M above its start height; None otherwise."""
    position = env.scene.pose(body)[0]
    if position[2] - rest_z <= RESTING_M or not env.scene.touching(env.scene.arm.body, body):
        return None
    tool = env.scene.arm.fk_world(env.scene.arm.joint_positions())
    return float(tool[2] - (position[2] - rest_z))  # the bottom stood at the table's height, 0, at rest


def look_label(env, body: int, rest_z: float, chunk: int) -> np.ndarray | None:
    """The label of a look in someone else's attempt: the restarted expert's next `chunk` actions while the object
    rests untouched (needs_a_pick), its carry while the object hangs held (held_off_the_table); None in between (the
    grasp itself, the object touched and not yet up), where neither fits."""
    if needs_a_pick(env, body, rest_z):
        return expert_label(env, chunk)
    if (held := held_off_the_table(env, body, rest_z)) is not None:
        return carry_label(env, held, chunk)
    return None
