"""How well does the front camera show a math scene's cards when an episode starts?

    python -m experiments.card_visibility [--scenes 200] [--camera-size 448] [--card-layout row] --json

A card the arm hides, or one whose digit spans a few pixels, cannot be read from the front camera whatever the
model learns: this counts both. A card's pixels are counted twice in the camera's body mask, with the arm where
the episode starts and with the arm moved out of the picture; a card is hidden when the arm covers more than half.
"""

from __future__ import annotations

import sys
import time

import numpy as np
from tqdm.auto import tqdm

from experiments import common
from sim.env import make_env
from sim.tasks.math_matching import card_name
from sim.world import World

ARM_OUT_OF_VIEW = (0.0, 0.0, -10.0)  # m: the arm's base is moved here for the unhidden count, then put back
HIDDEN_SHARE = 0.5  # a card is hidden when the arm covers more than this share of its pixels


def arm_masks(env) -> tuple[np.ndarray, np.ndarray]:
    """The front camera's body masks with the arm where it is and with it out of view; the arm is put back."""
    scene, cameras, arm = env.scene, env.cameras, env.scene.arm.body
    seen = cameras.body_mask("front")
    pos, yaw = scene.pose(arm)[0], scene.yaw(arm)  # the arm's base turns about z only
    scene.place(arm, ARM_OUT_OF_VIEW, yaw)
    try:
        free = cameras.body_mask("front")
    finally:
        scene.place(arm, pos, yaw)
    return seen, free


def card_pixels(env, digits, masks: tuple[np.ndarray, np.ndarray] | None = None) -> dict[int, tuple[int, int]]:
    """{digit: (pixels seen now, pixels seen with the arm out of view)} in the front camera; the arm is put back.
    `masks`: arm_masks(env), when the caller has rendered them already."""
    seen, free = masks if masks is not None else arm_masks(env)
    ids = {d: env.scene.bodies[card_name(d)] for d in digits}
    return {d: (int((seen == body).sum()), int((free == body).sum())) for d, body in ids.items()}


def hidden_by_arm(now: int, free: int) -> bool:
    """Whether the arm covers more than HIDDEN_SHARE of a card that shows `free` pixels with the arm away."""
    return now < (1 - HIDDEN_SHARE) * free


def run_card_visibility(
    scenes: int = 200, split: str = "heldout", seed: int = 20_000, world: World | None = None, progress: bool = True
) -> dict:
    """Over `scenes` math scenes of `split` in `world` (its camera size and card layout; None: the default): cards
    the arm hides at the start, and a card's size in pixels in the front camera."""
    if scenes < 1:
        raise ValueError(f"--scenes must be at least 1 (got {scenes})")
    world = World.of(world)
    env = make_env("math_matching", split, cameras=("front",), world=world)
    hidden, answer_hidden, scenes_hiding, sides, cards = 0, 0, 0, [], 0
    wall = time.perf_counter()
    try:
        for s in tqdm(range(seed, seed + scenes), desc="card visibility", disable=not progress):
            _, info = env.reset(seed=s)
            pixels = card_pixels(env, info["candidates"])
            covered = [d for d, (now, free) in pixels.items() if hidden_by_arm(now, free)]
            cards += len(pixels)
            hidden += len(covered)
            scenes_hiding += bool(covered)
            answer_hidden += info["answer"] in covered
            sides += [float(np.sqrt(free)) for _, free in pixels.values()]
    finally:
        env.close()
    return {
        "scenes": scenes,
        "split": split,
        "seed": seed,
        "world": world.to_dict(),
        "cards": cards,
        "cards_hidden_by_arm": hidden,
        "scenes_with_a_hidden_card": scenes_hiding,
        "answer_card_hidden": answer_hidden,
        # a card's face seen whole is about a square: the root of its pixel count is its side
        "card_side_px_median": round(float(np.median(sides)), 1),
        "card_side_px_min": round(float(np.min(sides)), 1),
        "wall_s": round(time.perf_counter() - wall, 1),
    }


def main(argv: list[str] | None = None) -> int:
    p = common.parser(__doc__, "card_visibility", model=False)
    p.add_argument("--scenes", type=int, default=200, help="math scenes, one per seed")
    p.add_argument("--split", choices=("train", "heldout"), default="heldout", help="which split's scenes")
    p.add_argument("--seed", type=int, default=20_000, help="first scene seed")
    args = p.parse_args(argv)
    return common.run(
        lambda a: run_card_visibility(scenes=a.scenes, split=a.split, seed=a.seed, world=common.world_of(a)), args
    )


if __name__ == "__main__":
    sys.exit(main())
