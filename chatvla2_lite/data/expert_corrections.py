"""The expert's corrections of a policy's own runs (one round of DAgger): the states a policy reaches, labelled with
what the scripted expert would do from there.

Demos and expert rollouts only show states on the expert's path, so a policy that comes down 3 cm beside the toy has
never seen what to do next: round 4 opened and closed its gripper there and pushed the toy away (session 6). Here
the policy acts, closed loop, on the episode's true reasoning; at every look where the object still rests on the
table untouched, a new expert starts from the arm's present joints (`ScriptedExpert.restart_here`: from a low tool
it corrects its aim on the way down, or first rises straight up) and its next chunk of actions becomes the label.
At every look where the arm holds the object off the table, the new expert carries it from there
(`ScriptedExpert.restart_holding`) to the place point, down and open: round 7, corrected on the approach only, set
its lifted toys down a median 16 cm from the place point (session 12). Looks while the fingers close on the object,
after it is put down where it belongs, or after it falls get no label.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np

from chatvla2_lite.training.samples import Sample

CORRECTION_TASKS = ("math_matching", "toy_placement")
# Scene seeds of their own: above the rollouts' (1,000,000 on), the demos' and the eval's.
CORRECTION_SEED = 2_000_000
RESTING_M = 0.01  # the object stood within this of its start height: not lifted, not tipped onto another
PLACED_M = 0.03  # the object lay this near (horizontally) where the expert puts it down: nothing left to correct


def expert_label(env, chunk: int) -> np.ndarray:
    """The next `chunk` actions (chunk, 6) of a scripted expert started from the arm's present joints; the last one
    repeated once it is done."""
    expert = env.expert()
    expert.restart_here()
    return _next_actions(expert, chunk)


def _next_actions(expert, chunk: int) -> np.ndarray:
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


def carry_label(env, tool_above_bottom: float, chunk: int) -> np.ndarray:
    """The next `chunk` actions (chunk, 6) of a scripted expert that carries the held object from here."""
    expert = env.expert()
    expert.restart_holding(tool_above_bottom)
    return _next_actions(expert, chunk)


def look_label(env, body: int, rest_z: float, chunk: int) -> np.ndarray | None:
    """The label of a look in someone else's attempt: the restarted expert's next `chunk` actions while the object
    rests untouched (needs_a_pick), its carry while the object hangs held (held_off_the_table); None in between (the
    grasp itself, the object touched and not yet up), where neither fits."""
    if needs_a_pick(env, body, rest_z):
        return expert_label(env, chunk)
    if (held := held_off_the_table(env, body, rest_z)) is not None:
        return carry_label(env, held, chunk)
    return None


def corrected_rollout(env, policy, seed: int, chunk: int = 16, max_steps: int = 450) -> dict:
    """The policy's closed-loop episode on `seed`, acting on the true reasoning: {"looks": [(observation, expert
    label)] for the looks where the object rests untouched or hangs held off the table, "info": the reset info,
    "success": bool}."""
    from chatvla2_lite.data.reasoning_targets import reasoning_target
    from chatvla2_lite.evaluation.closed_loop import played
    from chatvla2_lite.policy_chatvla2 import MotionHistory

    obs, info = env.reset(seed=seed)
    policy.reset()
    reasoning = reasoning_target(info)
    body = env.scene.bodies[env.episode.pick]
    rest_z = env.scene.pose(body)[0][2]
    looks, steps, success, done = [], 0, False, False
    history = MotionHistory(policy.config.action_expert.motion_every)
    while not done and steps < max_steps:
        obs = history.look(obs, steps)
        if (label := look_label(env, body, rest_z, chunk)) is not None:
            looks.append((obs, label))
        actions = policy.act(obs, reasoning, seed=seed + steps)
        obs, _, success, truncated, _, ran = env.step_chunk(played(policy, actions, steps, max_steps))
        steps += ran
        done = success or truncated
    return {"looks": looks, "info": info, "success": bool(success)}


def expert_correction_samples(
    policy_dir: str,
    scenes: int,
    split: str = "train",
    seed: int = 0,
    chunk: int = 16,
    reword: float = 0.0,
    rename: float = 0.0,
    tasks: tuple[str, ...] = CORRECTION_TASKS,
    shard: tuple[int, int] = (0, 1),
) -> Iterator[Sample]:
    """Robot samples from the expert's corrections of the policy at `policy_dir` on `scenes` scenes, the tasks taking
    turns, seeds counting up from CORRECTION_SEED + 100,000 * `seed`: each labelled look's images and state, the
    episode's instruction and reasoning target (a `rename` share with made-up toy names, then a `reword` share said
    another way) and the expert's chunk. `shard` (index, count) keeps every count-th scene from the index-th on,
    so workers split the scenes between them."""
    from functools import partial

    from chatvla2_lite.data.expert_rollouts import episode_samples, scene_episodes
    from chatvla2_lite.policy_chatvla2 import ChatVLA2

    policy = ChatVLA2.from_pretrained(policy_dir)
    rng = np.random.default_rng((seed, shard[0]))
    corrected = partial(corrected_rollout, policy=policy, chunk=chunk)
    for episode in scene_episodes(
        corrected,
        scenes,
        tasks,
        split,
        CORRECTION_SEED + 100_000 * seed,
        shard,
        cameras=tuple(policy.processor.camera_names),
        world=policy.processor.world,
    ):
        yield from episode_samples(episode["info"], episode["looks"], rng, reword, rename)
