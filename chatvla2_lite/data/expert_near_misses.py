"""Near misses on purpose: a decoy expert aims a little beside the object, and a second expert, restarted at each
look, labels the way back to it (noise injected into the supervisor, as DART, Laskey et al. 2017).

Demos and rollouts hover exactly above the object, so whatever the wrist camera shows there, the next move is
straight down: a policy trained on them never learns to steer by what it sees, and at the expert's hover pose moved
up to 3 cm aside, round 4's chunk moved the tool by 0.00 times the offset where a restarted expert's moves by 0.97
(README). Corrections of the policy's own runs (expert_corrections) reach such states only where the policy happens
to go. Here every scene puts the tool beside the object on the approach and the descent, by physics, at one render
per chunk and with no policy to run. The decoy also carries what it grasped toward a point PLACE_MISS_M beside the
place point, and every look holding the object off the table gets the carry from there (`expert_corrections
.carry_label`): round 7, corrected on the approach alone, set its lifted toys down a median 16 cm off (session 12).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator

import numpy as np

from chatvla2_lite.data.expert_corrections import carry_label, expert_label, held_off_the_table, needs_a_pick
from chatvla2_lite.training.samples import Sample

NEAR_MISS_TASKS = ("math_matching", "toy_placement")
# Scene seeds of their own: above the corrections' (2,000,000 on), the rollouts', the demos' and the eval's.
NEAR_MISS_SEED = 3_000_000
# How far beside the object the decoy aims (m): mostly within sim.expert.RESUME_XY (2.5 cm), where the label
# steers on the way down, some beyond it, where the label rises first.
MISS_M = (0.005, 0.035)
# How far beside the place point the decoy carries what it grasped (m): the lowered object well off its place.
PLACE_MISS_M = (0.01, 0.08)
_CARRYING = ("lift", "carry", "lower")


def _beside(rng: np.random.Generator, radii: tuple[float, float]) -> tuple[np.ndarray, float]:
    """A random (x, y) offset whose length is drawn from `radii`, and that length."""
    angle, radius = rng.uniform(0.0, 2 * np.pi), rng.uniform(*radii)
    return radius * np.array([np.cos(angle), np.sin(angle)]), float(radius)


def decoy_expert(env, offset, place_offset=(0.0, 0.0)):
    """A scripted expert for the current episode that aims `offset` (x, y in m) beside the pick object and carries
    what it grasps to `place_offset` beside the place point."""
    from sim.expert import ScriptedExpert

    scene = env.scene
    plan = env.task.expert_plan(scene, env.episode)
    decoy_plan = dataclasses.replace(plan, pick_xy=tuple(np.asarray(plan.pick_xy) + np.asarray(offset)),
                                     place_xy=tuple(np.asarray(plan.place_xy) + np.asarray(place_offset)))
    return ScriptedExpert(scene.arm, decoy_plan, scene.config.control_hz, scene.arm.joint_positions())


def near_miss_rollout(env, seed: int, rng: np.random.Generator, chunk: int = 16) -> dict:
    """On `seed`, a decoy expert aims at a point MISS_M beside the pick object and carries what it grasps toward a
    point PLACE_MISS_M beside the place point, chunk by chunk until it opens its fingers there; every look where the
    object still rests untouched before the lift gets the restarted true expert's next `chunk` actions, and every
    look where the decoy holds it off the table the true expert's carry from there. {"looks": [(observation,
    label)], "info": the reset info, "miss_m": the decoy's aim offset, "place_miss_m": its place offset}."""
    obs, info = env.reset(seed=seed)
    scene = env.scene
    offset, radius = _beside(rng, MISS_M)
    place_offset, place_radius = _beside(rng, PLACE_MISS_M)
    decoy = decoy_expert(env, offset, place_offset)
    body = scene.bodies[env.episode.pick]
    rest_z = scene.pose(body)[0][2]
    looks = []
    while not decoy.done and decoy.phase not in ("release", "retreat", "home"):
        carrying = decoy.phase in _CARRYING
        held = held_off_the_table(env, body, rest_z) if carrying else None
        if not carrying and needs_a_pick(env, body, rest_z):
            looks.append((obs, expert_label(env, chunk)))
        elif held is not None:
            looks.append((obs, carry_label(env, held, chunk)))
        elif carrying and decoy.phase != "lift":  # the grasp missed or the object fell: nothing left to carry
            break
        actions = [decoy.act() for _ in range(chunk) if not decoy.done]
        obs, _, success, truncated, _, _ = env.step_chunk(actions)
        if success or truncated:
            break
    return {"looks": looks, "info": info, "miss_m": radius, "place_miss_m": place_radius}


def near_miss_samples(scenes: int, split: str = "train", seed: int = 0, chunk: int = 16, reword: float = 0.0,
                      rename: float = 0.0, tasks: tuple[str, ...] = NEAR_MISS_TASKS,
                      shard: tuple[int, int] = (0, 1)) -> Iterator[Sample]:  # fmt: skip
    """Robot samples from `scenes` near-miss scenes, the tasks taking turns, seeds counting up from
    NEAR_MISS_SEED + 100,000 * `seed`: each labelled look's images and state, the episode's instruction and
    reasoning target (a `rename` share with made-up toy names, then a `reword` share said another way) and the
    restarted expert's chunk. `shard` (index, count) keeps every count-th scene from the index-th on, so workers
    split the scenes between them."""
    from functools import partial

    from chatvla2_lite.data.expert_rollouts import episode_samples, scene_episodes

    rng = np.random.default_rng((seed, shard[0]))
    missed = partial(near_miss_rollout, rng=rng, chunk=chunk)
    for episode in scene_episodes(missed, scenes, tasks, split, NEAR_MISS_SEED + 100_000 * seed, shard):
        yield from episode_samples(episode["info"], episode["looks"], rng, reword, rename)
