"""Holding the toy low where it goes, does the policy go on down or lift it again? Open loop, one chunk, toys.

    python -m experiments.place_probe [--episodes 16] [--model M] --json

Per episode and per offset (at the place point, and PLACE_BESIDE_M beside it in a random direction) a decoy scripted
expert carries the toy there and lowers it until it hangs under LOW_M above the table; the policy, handed the true
reasoning, acts once. A chunk whose tool rises RISE_M or more above where it starts is a rise: the arm bobs where it
should go on down and let go. A scripted expert restarted holding the toy there gives the reference.
"""

from __future__ import annotations

import sys

import numpy as np
from tqdm.auto import tqdm

import sim
from chatvla2_lite.data.reasoning_targets import reasoning_target
from experiments import common
from sim.conventions import STATE_KEY
from sim.scripted import carry_label, decoy_expert, held_off_the_table

PLACE_BESIDE_M = 0.02  # a carry that ends this far off still puts the toy down where the task counts it placed
LOW_M = 0.025  # the toy's bottom above the table when the policy looks: on the expert's last, slow way down
RISE_M = 0.02  # a tool move up this far over a chunk is a lift, not the jitter of a descent
STEP_EVERY = 4  # control steps between the decoy's checks of how low it holds the toy


def _rise(arm, chunk: np.ndarray, start_z: float) -> bool:
    return max(arm.fk_world(action)[2] for action in chunk) - start_z >= RISE_M


def place_scores(policy, split: str = "heldout", episodes: int = 16, seed: int = 10_000, progress: bool = True) -> dict:
    """Per offset (0 and PLACE_BESIDE_M): the share of looks where the policy's chunk rises, and the restarted
    scripted expert's; `looks` counts the episodes where the decoy still held the toy up when it stopped."""
    env = sim.make_env(
        "toy_placement", split, cameras=tuple(policy.processor.camera_names), world=policy.processor.world
    )
    rng = np.random.default_rng(seed)
    rows = {0.0: [], PLACE_BESIDE_M: []}
    try:
        for s in tqdm(range(seed, seed + episodes), desc="place", disable=not progress):
            for radius, found in rows.items():
                obs, info = env.reset(seed=s)
                body = env.scene.bodies[env.episode.pick]
                rest_z = env.scene.pose(body)[0][2]
                angle = rng.uniform(0, 2 * np.pi)
                decoy = decoy_expert(env, (0.0, 0.0), (radius * np.cos(angle), radius * np.sin(angle)))
                while (
                    not decoy.done
                    and decoy.phase != "release"
                    and not (decoy.phase == "lower" and env.scene.pose(body)[0][2] - rest_z < LOW_M)
                ):
                    actions = [decoy.act() for _ in range(STEP_EVERY) if not decoy.done]
                    obs = env.step_chunk(actions)[0]
                held = held_off_the_table(env, body, rest_z)
                if held is None:  # it slipped out on the way: nothing to put down
                    continue
                arm = env.scene.arm
                start_z = arm.fk_world(obs[STATE_KEY])[2]
                policy.reset()
                chunk = policy.act(obs, reasoning_target(info), seed=s)
                found.append((_rise(arm, chunk, start_z), _rise(arm, carry_label(env, held, len(chunk)), start_z)))
    finally:
        env.close()

    def share(values):
        return round(float(np.mean(values)), 3) if values else None

    return {
        "task": "toy_placement",
        "split": split,
        "episodes": episodes,
        "seed": seed,
        "offsets_m": list(rows),
        "looks": [len(found) for found in rows.values()],
        "rise_rate": [share([policy_rose for policy_rose, _ in found]) for found in rows.values()],
        "expert_rise_rate": [share([expert_rose for _, expert_rose in found]) for found in rows.values()],
    }


def main(argv: list[str] | None = None) -> int:
    p = common.parser(__doc__, "place_probe")
    common.episode_options(p, episodes=16, each="two looks each")
    args = p.parse_args(argv)
    return common.run(lambda a: place_scores(common.load(a), a.split, a.episodes, seed=a.seed), args)


if __name__ == "__main__":
    sys.exit(main())
