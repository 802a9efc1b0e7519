"""Pictures of the simulator for docs: `python -m sim.snapshots` writes sim/docs/<task>.png and the row world's
math_matching_row.png."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from sim.conventions import image_key

DOCS = Path(__file__).parent / "docs"


def episode_strip(
    task: str, split: str = "train", seed: int = 0, moments: tuple[int, ...] = (0, 45, 75), world=None
) -> np.ndarray:
    """Front-camera frames of the scripted expert at the given control steps, then its wrist view (both cameras at
    `world`'s size, None the default); (H, W*, 3)."""
    import sim

    env = sim.make_env(task, split, cameras=("front", "wrist"), world=world)
    try:
        obs, _ = env.reset(seed=seed)
        expert = env.expert()
        frames, step = [], 0
        for moment in moments:
            while step < moment:
                obs, *_ = env.step(expert.act())
                step += 1
            frames.append(obs[image_key("front")])
        frames.append(obs[image_key("wrist")])
    finally:
        env.close()
    return np.concatenate(frames, axis=1)


def main() -> None:
    from PIL import Image

    DOCS.mkdir(exist_ok=True)
    for task in ("math_matching", "toy_placement"):
        path = DOCS / f"{task}.png"
        Image.fromarray(episode_strip(task, seed=1)).save(path, optimize=True)
        print(path)
    from sim.world import World

    path = DOCS / "math_matching_row.png"
    front = episode_strip("math_matching", "heldout", seed=0, moments=(0,), world=World(448, "row"))[:, :448]
    Image.fromarray(front).save(path, optimize=True)
    print(path)


if __name__ == "__main__":
    main()
