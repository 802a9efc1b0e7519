"""From beside the object, does the policy's chunk steer over it? Open loop, one chunk.

    python -m experiments.aim --task math_matching|toy_placement [--episodes 50] [--model M] --json

Demos and rollouts hover exactly above the object, so a policy can score well on them by coming straight down
wherever it is. Here, per episode, a decoy scripted expert aims up to `max_offset_m` beside the pick object (per
table axis) and stops at its hover pose; the policy, handed the true reasoning, acts once, and the tool's move over
the chunk's first AIM_STEPS actions (by the arm's kinematics) is regressed on the tool-to-object offset, per axis.
A slope of 1 steers all the way over the object, 0 comes straight down. A scripted expert restarted at the same
look gives the reference (`expert_aim_slope`).
"""

from __future__ import annotations

import sys

import numpy as np
from tqdm.auto import tqdm

import sim
from chatvla2_lite.data.reasoning_targets import reasoning_target
from experiments import common
from sim.conventions import STATE_KEY, TASK_NAMES
from sim.scripted import expert_label, hover_beside

AIM_STEPS = 8  # half a chunk: the expert's move across is done by then, its descent has not reached the table


def _slopes(offsets: np.ndarray, moves: np.ndarray) -> list[float]:
    return [round(float(np.polyfit(offsets[:, k], moves[:, k], 1)[0]), 3) for k in range(2)]


def aim_scores(
    policy,
    task: str,
    split: str = "heldout",
    episodes: int = 50,
    seed: int = 10_000,
    max_offset_m: float = 0.03,
    progress: bool = True,
) -> dict:
    """Per table axis (x, y): the slope of the policy's tool move on the tool-to-object offset, and the rms of what
    it leaves (the offset minus the move, m); the same for a restarted scripted expert; and the offsets' rms."""
    if episodes < 3:
        raise ValueError("--aim fits a slope over the episodes: run at least 3")
    env = sim.make_env(task, split, cameras=tuple(policy.processor.camera_names), world=policy.processor.world)
    rng = np.random.default_rng(seed)
    offsets, moves, expert_moves = [], [], []
    try:
        for s in tqdm(range(seed, seed + episodes), desc=f"aim {task}", disable=not progress):
            obs, info = hover_beside(env, s, rng.uniform(-max_offset_m, max_offset_m, 2))
            arm = env.scene.arm
            tool = arm.fk_world(obs[STATE_KEY])[:2]
            offsets.append(env.scene.pose(env.scene.bodies[env.episode.pick])[0][:2] - tool)
            policy.reset()
            chunk = policy.act(obs, reasoning_target(info), seed=s)
            moves.append(arm.fk_world(chunk[AIM_STEPS - 1])[:2] - tool)
            expert_moves.append(arm.fk_world(expert_label(env, AIM_STEPS)[-1])[:2] - tool)
    finally:
        env.close()
    offsets, moves, expert_moves = np.stack(offsets), np.stack(moves), np.stack(expert_moves)

    def left(m):
        return [round(float(v), 4) for v in np.sqrt(((offsets - m) ** 2).mean(axis=0))]

    return {
        "task": task,
        "split": split,
        "episodes": episodes,
        "seed": seed,
        "max_offset_m": max_offset_m,
        "aim_steps": AIM_STEPS,
        "aim_slope": _slopes(offsets, moves),
        "left_m": left(moves),
        "expert_aim_slope": _slopes(offsets, expert_moves),
        "expert_left_m": left(expert_moves),
        "offset_rms_m": [round(float(v), 4) for v in np.sqrt((offsets**2).mean(axis=0))],
    }


def main(argv: list[str] | None = None) -> int:
    p = common.parser(__doc__, "aim")
    p.add_argument("--task", choices=TASK_NAMES, required=True, help="which sim task")
    common.episode_options(p, episodes=50, each="one look each")
    args = p.parse_args(argv)
    return common.run(lambda a: aim_scores(common.load(a), a.task, a.split, a.episodes, seed=a.seed), args)


if __name__ == "__main__":
    sys.exit(main())
