"""Near misses on purpose: a decoy expert aims a little beside the object, and a second expert, restarted at each
look, labels the way back to it (noise injected into the supervisor, as DART, Laskey et al. 2017).

Demos and rollouts hover exactly above the object, so whatever the wrist camera shows there, the next move is
straight down: a policy trained on them never learns to steer by what it sees (experiments.aim measured it: from 3
cm aside, such a policy's chunk moved the tool by none of the offset, a restarted expert's by 0.97). Here every
scene puts the tool beside the object on the approach and the descent, by physics, at one render per chunk and with
no policy to run. The decoy also carries what it grasped toward a point PLACE_MISS_M beside the place point, and
every look holding the object off the table gets the carry from there (`sim.scripted.carry_label`): an expert taught
the approach alone set its lifted toys down a median 16 cm off.

A `wrong_picks` share of the math scenes sends the decoy to another card instead, down to where it would close, and
labels every look on the way with the true expert's way to the answer card: from the front camera the cards' digits
are 3 to 4 pixels tall, and an arm handed the true reasoning lifted another card more often than the answer one,
while on the way down the wrist camera shows the digit plainly. With `recover` the decoy, stopped over the other card,
hands the arm to the true expert, which steers to the answer card, grasps it and carries it, each look labelled as
before: the wrong picks alone taught steering but no grasp (docs/experiments/r15.md).

A `turn_misses` share of the scenes also turns the decoy's wrist TURN_MISS_RAD off every grasp yaw: the expert sets
its wrist on the approach, so its looks over the object always show it squared up, and an arm acting in tool space
that hovered turned by half a radian over a card neither turned nor shut its fingers (experiments.act_failures: 51 of
act/r01's 54 failed math episodes). The restarted expert's labels turn the wrist on the way down, or rise and turn.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np

from chatvla2_lite.data.expert_rollouts import episode_samples, scene_episodes
from chatvla2_lite.data.samples import Sample
from chatvla2_lite.rollout import Ended, EnvRobot, Look, ScriptActor, rollout
from sim.scripted import (
    OTHER_PICKS,
    carry_label,
    decoy_expert,
    expert_label,
    held_off_the_table,
    look_label,
    needs_a_pick,
    other_pick,
)

NEAR_MISS_TASKS = ("math_matching", "toy_placement")
# Scene seeds of their own: above the rollouts' (1,000,000 on), the demos' and the eval's.
NEAR_MISS_SEED = 3_000_000
# How far beside the object the decoy aims (m): mostly within sim.expert.RESUME_XY (2.5 cm), where the label
# steers on the way down, some beyond it, where the label rises first.
MISS_M = (0.005, 0.035)
# How far beside the place point the decoy carries what it grasped (m): the lowered object well off its place.
PLACE_MISS_M = (0.01, 0.08)
# How far (rad, either way) a turn miss sets the decoy's wrist off the grasp: some within sim.expert.RESUME_TURN
# (0.3), where the label turns on the way down, most beyond it, where it rises and turns; under a card's pi/4, so the
# nearest grasp yaw stays the one it missed.
TURN_MISS_RAD = (0.1, 0.7)
_CARRYING = ("lift", "carry", "lower")
_LETTING_GO = ("release", "retreat", "home")  # no look is labelled from here on: the demos show it


def _beside(rng: np.random.Generator, radii: tuple[float, float]) -> tuple[np.ndarray, float]:
    """A random (x, y) offset whose length is drawn from `radii`, and that length."""
    angle, radius = rng.uniform(0.0, 2 * np.pi), rng.uniform(*radii)
    return radius * np.array([np.cos(angle), np.sin(angle)]), float(radius)


def near_miss_rollout(
    env,
    seed: int,
    rng: np.random.Generator,
    chunk: int = 16,
    wrong_pick: bool = False,
    recover: bool = False,
    turn: float = 0.0,
) -> dict:
    """On `seed`, a decoy expert aims at a point MISS_M beside the pick object and carries what it grasps toward a
    point PLACE_MISS_M beside the place point, chunk by chunk until it opens its fingers there; every look where the
    object still rests untouched before the lift gets the restarted true expert's next `chunk` actions, and every
    look where the decoy holds it off the table the true expert's carry from there. With `wrong_pick` (in a task of
    OTHER_PICKS) the decoy heads for another body of the pick's kind instead and stops where it would close; with
    `recover` too, the true expert then plays from there, looks labelled the same way, until it sets the pick down
    (kept only where it does: "recovered"). `turn` (rad) turns the decoy's wrist that far off every grasp yaw of the
    pick.
    {"looks": [(observation, label)], "info": the reset info, "miss_m": the decoy's aim offset, "place_miss_m": its
    place offset, "wrong_pick": whether it headed for another body, "turn_rad": its wrist's turn off the grasp}."""
    obs, info = env.reset(seed=seed)
    scene = env.scene
    offset, radius = _beside(rng, MISS_M)
    place_offset, place_radius = _beside(rng, PLACE_MISS_M)
    other = other_pick(env, rng) if wrong_pick else None
    if other is not None:
        decoy, radius = decoy_expert(env, other[0], grasp_yaws=other[1]), float(np.hypot(*other[0]))
    else:
        decoy = decoy_expert(env, offset, place_offset, turn=turn)
    stops = ("close", *_CARRYING, *_LETTING_GO) if other is not None else _LETTING_GO
    body = scene.bodies[env.episode.pick]
    rest_z = scene.pose(body)[0][2]
    actor = ScriptActor(decoy.act, chunk, stop=lambda: decoy.done or decoy.phase in stops, exhausted=lambda: decoy.done)
    looks, recovered = [], None
    for event in rollout(actor, EnvRobot(env), obs, env.max_steps):
        if isinstance(event, Look) and not actor.stop():  # labelled before the decoy moves on from it
            carrying = decoy.phase in _CARRYING
            held = held_off_the_table(env, body, rest_z) if carrying else None
            if not carrying and needs_a_pick(env, body, rest_z):
                looks.append((event.observation, expert_label(env, chunk)))
            elif held is not None:
                looks.append((event.observation, carry_label(env, held, chunk)))
            elif carrying and decoy.phase != "lift":  # the grasp missed or the object fell: nothing left to carry
                break
        elif isinstance(event, Ended) and event.why == "actor" and recover and other is not None:
            # the decoy reached its stop, where a recovered wrong pick goes on
            recovered = _recovered_looks(env, event.observation, body, rest_z, chunk)
    return {
        "looks": looks + (recovered or []),
        "info": info,
        "miss_m": radius,
        "place_miss_m": place_radius,
        "wrong_pick": other is not None,
        "turn_rad": 0.0 if other is not None else float(turn),
        "recovered": recovered is not None,
    }


def _recovered_looks(env, obs, body: int, rest_z: float, chunk: int) -> list | None:
    """From where a wrong pick's decoy stopped, the true expert restarted once plays chunk by chunk until it lets go of
    the pick at its place: its looks, labelled by look_label until the release; None where it did not place the pick,
    as restarted low beside another card its grasp misses in some scenes (2 of seeds 3,000,000 to 3,000,007), and
    those labels would teach the miss."""
    expert = env.expert()
    expert.restart_here()
    # on through the release, where the sim's success check can first pass
    actor = ScriptActor(expert.act, chunk, stop=lambda: expert.done, exhausted=lambda: expert.done)
    mine, success = [], False
    for event in rollout(actor, EnvRobot(env), obs, env.max_steps):
        # the decoy's looks stop at the release too
        if isinstance(event, Look) and not actor.stop() and expert.phase not in _LETTING_GO:
            if (label := look_label(env, body, rest_z, chunk)) is not None:
                mine.append((event.observation, label))
        elif isinstance(event, Ended):
            success = bool(event.info.get("is_success"))
    return mine if success else None


def near_miss_samples(
    scenes: int,
    split: str = "train",
    seed: int = 0,
    chunk: int = 16,
    reword: float = 0.0,
    rename: float = 0.0,
    tasks: tuple[str, ...] = NEAR_MISS_TASKS,
    shard: tuple[int, int] = (0, 1),
    wrong_picks: float = 0.0,
    recover_picks: bool = False,
    world=None,
    turn_misses: float = 0.0,
) -> Iterator[Sample]:
    """Robot samples from `scenes` near-miss scenes in `world` (sim.world.World, None the default), the tasks taking
    turns, seeds counting up from NEAR_MISS_SEED + 100,000 * `seed`: each labelled look's images and state, the
    episode's instruction and reasoning target (a `rename` share with made-up toy names, then a `reword` share said
    another way) and the restarted expert's chunk. A `wrong_picks` share of the scenes whose task is one of
    OTHER_PICKS sends the decoy to another body of the pick's kind (and with `recover_picks` the true expert then
    takes the answer card); a `turn_misses` share turns the decoy's wrist off the grasp (TURN_MISS_RAD). `shard`
    (index, count) keeps every count-th scene from the index-th on, so workers split the scenes between them."""
    rng = np.random.default_rng((seed, shard[0]))

    def missed(env, seed):
        # drawn only when it can matter, so the scenes of a run without wrong picks stay as they were
        wrong = wrong_picks > 0 and env.task.name in OTHER_PICKS and rng.random() < wrong_picks
        turn = 0.0
        if turn_misses > 0 and rng.random() < turn_misses:
            turn = float(rng.choice((-1.0, 1.0)) * rng.uniform(*TURN_MISS_RAD))
        return near_miss_rollout(env, seed, rng, chunk, wrong, recover_picks, turn)

    for episode in scene_episodes(missed, scenes, tasks, split, NEAR_MISS_SEED + 100_000 * seed, shard, world=world):
        yield from episode_samples(episode["info"], episode["looks"], rng, reword, rename)
