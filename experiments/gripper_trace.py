"""Why does the playground's action plot show the gripper's command and its measured angle far apart?

    python -m experiments.gripper_trace [--episodes 20] --json

The app's action-chunk plot drew the gripper's predicted target near -0.1 rad and the measured jaw near 0.7 rad for a
whole chunk. Either the plot lines up the wrong samples or the arm does not do what it is told. The scripted expert
(the demos the model learned from) is played a step at a time; per phase of its pick and place, the commanded and
the measured jaw angle after each step are compared, and the jaw is closed once more with nothing in it.
"""

from __future__ import annotations

import sys
from collections import defaultdict

import numpy as np
from tqdm.auto import tqdm

from experiments import common
from sim.env import TASKS, make_env
from sim.world import World

GRIPPER = 5  # the jaw's index in the joint order (sim.conventions.JOINT_NAMES)
FREE_CLOSE_STEPS = 30  # control steps (1 s) the empty jaw gets to close


def jaw_by_phase(env, seed: int) -> dict[str, list[tuple[float, float]]]:
    """{expert phase: [(commanded, measured after the step)]} over one expert episode."""
    env.reset(seed=seed)
    expert, rows = env.expert(), defaultdict(list)
    while not expert.done:
        action = expert.act()
        _, _, terminated, truncated, info, _ = env.step_chunk([action])
        rows[expert.phase].append((float(action[GRIPPER]), float(info["joint_path"][0][GRIPPER])))
        if terminated or truncated:
            break
    return rows


def empty_close(env, seed: int, closed: float) -> float:
    """The jaw's angle after FREE_CLOSE_STEPS of the expert's closed command with nothing in it: at the episode's
    start, the arm held still (an episode ends the moment its object lands, often still in the jaw)."""
    env.reset(seed=seed)
    q = env.scene.arm.joint_positions()
    q[GRIPPER] = closed
    _, _, _, _, info, _ = env.step_chunk([q] * FREE_CLOSE_STEPS)
    return float(info["joint_path"][-1][GRIPPER])


def run_gripper_trace(
    episodes: int = 20, split: str = "heldout", seed: int = 10_000, world: World | None = None, progress: bool = True
) -> dict:
    """Per task and expert phase: mean commanded and measured jaw angle and their mean gap (rad); the empty close."""
    if episodes < 1:
        raise ValueError(f"--episodes must be at least 1 (got {episodes})")
    result: dict = {"episodes": episodes, "split": split, "seed": seed, "world": World.of(world).to_dict()}
    for task in TASKS:
        env = make_env(task, split, cameras=(), world=world)
        phases: dict[str, list] = defaultdict(list)
        try:
            for s in tqdm(range(seed, seed + episodes), desc=f"jaw {task}", disable=not progress):
                for phase, rows in jaw_by_phase(env, s).items():
                    phases[phase] += rows
            closed = env.expert().config.gripper_closed
            result[f"{task}_empty_close"] = {"commanded": closed, "measured": round(empty_close(env, seed, closed), 3)}
        finally:
            env.close()
        for phase, rows in phases.items():
            a = np.asarray(rows)  # (N, 2): commanded, measured
            result[f"{task}_{phase}"] = {
                "commanded": round(float(a[:, 0].mean()), 3),
                "measured": round(float(a[:, 1].mean()), 3),
                "gap": round(float(np.abs(a[:, 0] - a[:, 1]).mean()), 3),
                "steps": len(a),
            }
    return result


def main(argv: list[str] | None = None) -> int:
    p = common.parser(__doc__, "gripper_trace", model=False)
    common.episode_options(p, 20, "a task")
    args = p.parse_args(argv)
    return common.run(
        lambda a: run_gripper_trace(a.episodes, a.split, a.seed, common.world_of(a)),
        args,
    )


if __name__ == "__main__":
    sys.exit(main())
