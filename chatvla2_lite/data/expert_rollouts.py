"""Many scenes, few renders: scripted-expert episodes run in the sim and looked at only every few control steps.

`chatvla2-lite record` renders both cameras at every step (4 to 7 s an episode here), so the demos hold a few
hundred scenes, and an action expert trained on them did not learn where the named toy lies
(experiments.first_chunk: blind_ratio 1.02 on toys, no better than ignoring the scene). The expert plans open loop
from pure kinematics, so its whole action sequence is known at reset; the sim then runs it chunk by chunk with one
render per chunk (`env.step_chunk`), about 0.5 s an episode, and each look becomes one training sample. Trained on
the first chunk of 2,000 such scenes, the frozen backbone's expert cut its toy first-chunk error to 0.61 of a
scene-blind policy's (shoulder pan 0.06 rad against 0.35).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

import numpy as np

import sim
from chatvla2_lite.data.paraphrase import renamed, reworded
from chatvla2_lite.data.reasoning_targets import followed_math_reasoning, reasoning_target
from chatvla2_lite.data.samples import Sample, action_chunk
from chatvla2_lite.rollout import Acted, Ended, EnvRobot, PlannedActor, rollout
from sim.conventions import IMAGE_KEY, STATE_KEY
from sim.tasks.math_matching import card_in_tray

ROLLOUT_TASKS = ("math_matching", "toy_placement")
# Rollout seeds start far above the demos' (record counts up from 0) and the eval seeds (10,000 on): new scenes.
ROLLOUT_SEED = 1_000_000
ROLLOUT_EVERY = 16  # control steps between looks: the action chunk's length, where a chunked policy looks again
FOLLOW_SALT = 7  # seeds the follow picks' draws apart from the scene's own


def expert_rollout(env, seed: int, every: int = ROLLOUT_EVERY, follow_picks: float = 0.0) -> dict | None:
    """One expert episode on `seed`, observed at steps 0, every, 2*every, ...: {"looks": [(step, observation)],
    "action": (T, 6) every action that ran, "info": the reset info, "reasoning": the reasoning it acts on (None:
    the ground truth's)}; None when the expert did not do what its reasoning says. A `follow_picks` share of the math
    scenes (drawn from the seed) take another card than the answer, with a reasoning that comes to that card."""
    obs, info = env.reset(seed=seed)
    card, reasoning = None, None
    rng = np.random.default_rng([seed, FOLLOW_SALT])
    if env.task.name == "math_matching" and rng.random() < follow_picks:
        card = int(rng.choice([d for d in info["candidates"] if d != info["answer"]]))
        env.episode.pick = f"card_{card}"  # the expert plans for the episode's pick
        reasoning = followed_math_reasoning(info, card)
    expert = env.expert()
    planned = []
    while not expert.done and len(planned) < env.max_steps:
        planned.append(np.asarray(expert.act(), np.float32))
    looks, ran, success = [], 0, False
    for event in rollout(PlannedActor(planned, every), EnvRobot(env), obs, env.max_steps):
        if isinstance(event, Acted):  # the looks a chunk was played from
            looks.append((event.look.step, event.look.observation))
        elif isinstance(event, Ended):
            ran, success = event.steps, bool(event.info.get("is_success"))
    if card is not None:  # the sim's success never comes: it wants the answer card
        success = card_in_tray(env.scene, card)
    if not success:
        return None
    return {"looks": looks, "action": np.stack(planned[:ran]), "info": info, "reasoning": reasoning}


def expert_rollout_samples(
    scenes: int,
    split: str = "train",
    seed: int = 0,
    chunk: int = 16,
    every: int = ROLLOUT_EVERY,
    reword: float = 0.0,
    rename: float = 0.0,
    tasks: tuple[str, ...] = ROLLOUT_TASKS,
    world=None,
    follow_picks: float = 0.0,
) -> Iterator[Sample]:
    """Robot samples from `scenes` expert rollouts in `world` (sim.world.World, None the default), the tasks taking
    turns, scene seeds counting up from ROLLOUT_SEED + 100,000 * `seed`: each look's images and state, the episode's
    instruction and reasoning (a `rename` share with made-up toy names, then a `reword` share said another way) and
    the next `chunk` actions. A `follow_picks` share of the math scenes take the card a reasoning that is not the
    ground truth's comes to (expert_rollout). A scene the expert fails gives no samples."""
    from functools import partial

    rng = np.random.default_rng(seed)
    for episode in scene_episodes(
        partial(expert_rollout, every=every, follow_picks=follow_picks),
        scenes,
        tasks,
        split,
        ROLLOUT_SEED + 100_000 * seed,
        world=world,
    ):
        if episode is not None:
            looks = ((obs, action_chunk(episode["action"], step, chunk)) for step, obs in episode["looks"])
            yield from episode_samples(episode["info"], looks, rng, reword, rename, episode["reasoning"])


def scene_episodes(
    episode,
    scenes: int,
    tasks: tuple[str, ...],
    split: str,
    base_seed: int,
    shard: tuple[int, int] = (0, 1),
    cameras: tuple[str, ...] | None = None,
    world=None,
) -> Iterator:
    """episode(env, seed=scene seed) for scenes 0..`scenes`-1, the tasks taking turns (one env each in `world`,
    closed at the end), each task's seeds counting up from `base_seed`; `shard` (index, count) keeps every count-th
    turn of the tasks from the index-th on, so workers split the scenes between them, each with every task (one
    worker a task left the math worker, whose policy rarely ends an episode early, running alone for the last third
    of the corrections)."""
    options = {"world": world, **({"cameras": cameras} if cameras else {})}
    envs = {task: sim.make_env(task, split, **options) for task in tasks}
    try:
        for n in range(scenes):
            if (n // len(tasks)) % shard[1] == shard[0]:
                yield episode(envs[tasks[n % len(tasks)]], seed=base_seed + n // len(tasks))
    finally:
        for env in envs.values():
            env.close()


def episode_samples(
    info: dict,
    looks: Iterable[tuple[dict, np.ndarray]],
    rng: np.random.Generator,
    reword: float = 0.0,
    rename: float = 0.0,
    reasoning: str | None = None,
) -> Iterator[Sample]:
    """One episode's (observation, action chunk) looks as robot samples: the look's images and state, the episode's
    instruction and `reasoning` (None: its reasoning target; with probability `rename` its toys given made-up names,
    once for the episode, then with probability `reword` the instruction said another way, at each look) and the
    chunk."""
    instruction, reasoning = info["instruction"], reasoning or reasoning_target(info)
    if rename:
        instruction, reasoning = renamed(instruction, reasoning, rng, rename)
    for obs, actions in looks:
        said = reworded(instruction, rng, reword) if reword else instruction
        kept = {k: v for k, v in obs.items() if k.startswith(IMAGE_KEY) or k == STATE_KEY}
        yield Sample(kept, said, reasoning, actions)
