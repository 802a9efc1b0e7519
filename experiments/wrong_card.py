"""Hovering over another card, does the policy head for the answer card? Open loop, one chunk, math_matching.

    python -m experiments.wrong_card [--episodes 40] [--model M] --json

Per episode the scripted expert brings the arm to hover over a card that is not the answer (drawn at random), as a
wrong pick would, and the policy, handed the true reasoning, acts once. Its gain is the share of the tool's distance
to the answer card that the chunk's last action closes (by the arm's kinematics): 1 arrives, 0 stays, below 0 moves
away. A scripted expert restarted at the same look gives the reference (`expert_mean_gain`). It tells an arm that
reads the reasoning from one that goes for whatever card is under it.
"""

from __future__ import annotations

import sys

import numpy as np
from tqdm.auto import tqdm

import sim
from chatvla2_lite.data.reasoning_targets import reasoning_target
from experiments import common
from sim.conventions import STATE_KEY
from sim.scripted import expert_label, hover_beside, other_pick


def _gain(start: np.ndarray, end: np.ndarray, target: np.ndarray) -> float:
    before = float(np.linalg.norm(target - start))
    return (before - float(np.linalg.norm(target - end))) / before


def wrong_card_scores(
    policy, split: str = "heldout", episodes: int = 40, seed: int = 10_000, progress: bool = True
) -> dict:
    """The policy's mean gain toward the answer card from over another card, the share of episodes that close at
    least half the distance, and the restarted scripted expert's mean gain."""
    env = sim.make_env(
        "math_matching", split, cameras=tuple(policy.processor.camera_names), world=policy.processor.world
    )
    rng = np.random.default_rng(seed)
    gains, expert_gains = [], []
    try:
        for s in tqdm(range(seed, seed + episodes), desc="wrong card", disable=not progress):
            env.reset(seed=s)  # other_pick reads the scene; hover_beside resets to the same one
            offset, _ = other_pick(env, rng)
            obs, info = hover_beside(env, s, offset)
            arm = env.scene.arm
            tool = arm.fk_world(obs[STATE_KEY])[:2]
            answer = env.scene.pose(env.scene.bodies[env.episode.pick])[0][:2]
            policy.reset()
            chunk = policy.act(obs, reasoning_target(info), seed=s)
            gains.append(_gain(tool, arm.fk_world(chunk[-1])[:2], answer))
            expert_gains.append(_gain(tool, arm.fk_world(expert_label(env, len(chunk))[-1])[:2], answer))
    finally:
        env.close()
    return {
        "task": "math_matching",
        "split": split,
        "episodes": episodes,
        "seed": seed,
        "mean_gain": round(float(np.mean(gains)), 3),
        "share_halfway": round(float(np.mean(np.asarray(gains) > 0.5)), 3),
        "expert_mean_gain": round(float(np.mean(expert_gains)), 3),
    }


def main(argv: list[str] | None = None) -> int:
    p = common.parser(__doc__, "wrong_card")
    common.episode_options(p, episodes=40, each="one look each")
    args = p.parse_args(argv)
    return common.run(lambda a: wrong_card_scores(common.load(a), a.split, a.episodes, seed=a.seed), args)


if __name__ == "__main__":
    sys.exit(main())
