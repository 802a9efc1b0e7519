"""Does the first action chunk depend on the scene? Open loop, no rollout.

    python -m experiments.first_chunk --task math_matching|toy_placement [--episodes 50] [--model M] --json

At reset every episode starts from the same home pose, so the first chunk is where the policy must read the
scene: which card, where it lies. Per episode the policy is given the ground-truth reasoning and acts once; its
chunk is compared, joint by joint, with the scripted expert's first chunk-length actions. Two references say
what the error means:
- `blind_mae`: the error of a scene-blind policy that plays the expert's mean chunk over the same episodes;
- `expert_spread` against `policy_spread`: how much the chunk's end varies from scene to scene.
`blind_ratio` (policy MAE / blind MAE, over the joints whose expert actions vary) is below 1 only when the policy
reads the scene better than not reading it at all.
"""

from __future__ import annotations

import sys

import numpy as np
from tqdm.auto import tqdm

import sim
from chatvla2_lite.data.reasoning_targets import reasoning_target
from experiments import common
from sim.conventions import TASK_NAMES


def first_chunk_scores(
    policy, task: str, split: str = "heldout", episodes: int = 50, seed: int = 10_000, progress: bool = True
) -> dict:
    """Per-joint first-chunk errors (rad) of `policy` against the scripted expert, and the scene-blind reference."""
    if episodes < 2:
        raise ValueError("--first-chunk compares scenes with each other: run at least 2 episodes")
    env = sim.make_env(task, split, cameras=tuple(policy.processor.camera_names), world=policy.processor.world)
    chunks, experts = [], []
    try:
        for s in tqdm(range(seed, seed + episodes), desc=f"first chunk {task}", disable=not progress):
            obs, info = env.reset(seed=s)
            policy.reset()
            chunk = policy.act(obs, reasoning_target(info), seed=s)
            expert = env.expert()
            experts.append(np.stack([expert.act() for _ in range(len(chunk))]))
            chunks.append(chunk)
    finally:
        env.close()
    chunks, experts = np.stack(chunks), np.stack(experts)  # (N, H, 6)
    mae = np.abs(chunks - experts).mean(axis=(0, 1))
    blind = np.abs(experts.mean(axis=0, keepdims=True) - experts).mean(axis=(0, 1))
    varies = experts[:, -1].std(axis=0) > 0.01  # joints whose actions depend on the scene
    return {
        "task": task,
        "split": split,
        "episodes": episodes,
        "seed": seed,
        "joint_names": list(policy.config.joint_names),
        "first_chunk_mae": _rounded(mae),
        "blind_mae": _rounded(blind),
        "policy_spread": _rounded(chunks[:, -1].std(axis=0)),
        "expert_spread": _rounded(experts[:, -1].std(axis=0)),
        "blind_ratio": round(float(mae[varies].mean() / blind[varies].mean()), 3) if varies.any() else None,
    }


def _rounded(values: np.ndarray) -> list[float]:
    return [round(float(v), 4) for v in values]


def main(argv: list[str] | None = None) -> int:
    p = common.parser(__doc__, "first_chunk")
    p.add_argument("--task", choices=TASK_NAMES, required=True, help="which sim task")
    common.episode_options(p, episodes=50, each="one chunk each")
    args = p.parse_args(argv)
    return common.run(lambda a: first_chunk_scores(common.load(a), a.task, a.split, a.episodes, seed=a.seed), args)


if __name__ == "__main__":
    sys.exit(main())
