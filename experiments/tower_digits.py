"""Do the vision tower's tokens of a card carry its digit, before any language?

    python -m experiments.tower_digits [--scenes 600] [--heldout-scenes 200] [--model M] --json

For each card of a math scene that the arm does not hide, a 56x56 crop of the front camera about the card's centre
(the mean of its pixels in the body mask; 2x2 merged tokens, as many as the backbone gives that spot) goes through
the model's frozen vision tower. A linear head on the crop's four tokens is fitted on train-split scenes and scored
on heldout ones. Read it beside `experiments.card_probe`: high here and at the blind answer there means the tokens
carry the digit and the language model does not use it; near chance here means the pixels do not carry it.
"""

from __future__ import annotations

import sys
import time

import numpy as np
from tqdm.auto import tqdm

from experiments import common
from experiments.card_visibility import arm_masks, card_pixels, hidden_by_arm
from sim.conventions import image_key
from sim.env import make_env
from sim.tasks.math_matching import card_name
from sim.world import World

CROP = 56  # px: 4x4 patches of 14, 2x2 tokens after the merge
HEAD_STEPS, HEAD_LR = 500, 1e-2  # full-batch AdamW on standardised features: a few seconds, and it has converged


def card_crops(split: str, seed: int, scenes: int, world=None, progress: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """(uint8 (N, CROP, CROP, 3) crops of the front camera about each card the arm does not hide, (N,) digits), the
    scenes laid out and rendered as `world` (sim.world.World; None: the default) says."""
    env = make_env("math_matching", split, cameras=("front",), world=world)
    crops, digits = [], []
    try:
        for s in tqdm(range(seed, seed + scenes), desc=f"crop cards ({split})", disable=not progress):
            obs, info = env.reset(seed=s)
            frame = np.pad(obs[image_key("front")], ((CROP, CROP), (CROP, CROP), (0, 0)))  # cards at the edge
            masks = arm_masks(env)  # the first is the picture's own: it locates each card
            mask = masks[0]
            for digit, (now, free) in card_pixels(env, info["candidates"], masks).items():
                if now == 0 or hidden_by_arm(now, free):
                    continue
                row, col = np.argwhere(mask == env.scene.bodies[card_name(digit)]).mean(axis=0).round().astype(int)
                top, left = row + CROP - CROP // 2, col + CROP - CROP // 2
                crops.append(frame[top : top + CROP, left : left + CROP])
                digits.append(digit)
    finally:
        env.close()
    return np.stack(crops) if crops else np.zeros((0, CROP, CROP, 3), np.uint8), np.asarray(digits, dtype=np.int64)


def tower_features(policy, crops: np.ndarray, batch: int = 256):
    """float (N, 4 * hidden): the frozen vision tower's merged tokens of each crop, side by side."""
    import torch
    from transformers.models.qwen2_vl.image_processing_pil_qwen2_vl import Qwen2VLImageProcessorPil

    own = policy.processor.image_processor  # its normalisation, at the crop's size instead of the views'
    processor = Qwen2VLImageProcessorPil(
        image_mean=own.image_mean,
        image_std=own.image_std,
        patch_size=own.patch_size,
        merge_size=own.merge_size,
        temporal_patch_size=own.temporal_patch_size,
        min_pixels=CROP * CROP,
        max_pixels=CROP * CROP,
    )
    visual = policy.model.vlm.model.visual
    rows = []
    with torch.no_grad():
        for start in range(0, len(crops), batch):
            part = crops[start : start + batch]
            inputs = processor(images=list(part), return_tensors="pt")
            pixels = inputs["pixel_values"].to(policy.device, next(visual.parameters()).dtype)
            tokens = visual(pixels, grid_thw=inputs["image_grid_thw"].to(policy.device)).pooler_output
            rows.append(tokens.float().reshape(len(part), -1).cpu())
    return torch.cat(rows)


def linear_read(train_x, train_y: np.ndarray, test_x) -> tuple[np.ndarray, np.ndarray]:
    """The digits a linear head, fitted on (train_x, train_y), reads from train_x and from test_x."""
    import torch

    mean, std = train_x.mean(0), train_x.std(0) + 1e-6
    train_x, test_x = (train_x - mean) / std, (test_x - mean) / std
    gen = torch.Generator().manual_seed(0)
    head = torch.nn.Linear(train_x.shape[1], 10)
    with torch.no_grad():
        head.weight.copy_(torch.randn(head.weight.shape, generator=gen) * 0.01)
        head.bias.zero_()
    optimiser = torch.optim.AdamW(head.parameters(), lr=HEAD_LR, weight_decay=1e-2)
    target = torch.as_tensor(train_y)
    for _ in range(HEAD_STEPS):
        loss = torch.nn.functional.cross_entropy(head(train_x), target)
        optimiser.zero_grad()
        loss.backward()
        optimiser.step()
    with torch.no_grad():
        return head(train_x).argmax(1).numpy(), head(test_x).argmax(1).numpy()


def check_settings(scenes: int, heldout_scenes: int) -> None:
    """ValueError naming the flags, for settings that leave nothing to fit or score."""
    if scenes < 1 or heldout_scenes < 1:
        raise ValueError(f"--scenes and --heldout-scenes must be at least 1 (got {scenes} and {heldout_scenes})")


def tower_digit_scores(
    policy,
    scenes: int = 600,
    heldout_scenes: int = 200,
    world=None,
    seed: int = 0,
    heldout_seed: int = 20_000,
    progress: bool = True,
) -> dict:
    """A linear read of each visible card's digit from the frozen vision tower: fitted on `scenes` train scenes,
    scored on `heldout_scenes` heldout ones, laid out and rendered in `world` (None: the model's own)."""
    check_settings(scenes, heldout_scenes)
    world = World.of(world or policy.processor.world)
    wall = time.perf_counter()
    train_crops, train_y = card_crops("train", seed, scenes, world, progress)
    test_crops, test_y = card_crops("heldout", heldout_seed, heldout_scenes, world, progress)
    if len(train_y) == 0 or len(test_y) == 0:
        raise ValueError("no card in view in those scenes: take more of them")
    train_read, test_read = linear_read(
        tower_features(policy, train_crops), train_y, tower_features(policy, test_crops)
    )
    commonest = np.bincount(train_y, minlength=10).argmax()
    return {
        "world": world.to_dict(),
        "scenes": scenes,
        "heldout_scenes": heldout_scenes,
        "seed": seed,
        "heldout_seed": heldout_seed,
        "cards": int(len(train_y)),
        "heldout_cards": int(len(test_y)),
        "train_acc": round(float((train_read == train_y).mean()), 3),
        "heldout_acc": round(float((test_read == test_y).mean()), 3),
        # what naming the train split's commonest digit for every card gets: the floor a read must clear
        "commonest_digit_acc": round(float((test_y == commonest).mean()), 3),
        "wall_s": round(time.perf_counter() - wall, 1),
    }


def main(argv: list[str] | None = None) -> int:
    p = common.parser(__doc__, "tower_digits")
    p.add_argument("--scenes", type=int, default=600, help="train-split math scenes the read is fitted on")
    p.add_argument("--heldout-scenes", type=int, default=200, help="heldout math scenes it is scored on")
    args = p.parse_args(argv)

    def measure(a):
        check_settings(a.scenes, a.heldout_scenes)  # before the model loads, as the world is
        return tower_digit_scores(common.load(a), a.scenes, a.heldout_scenes)  # in the world common.load set

    return common.run(measure, args)


if __name__ == "__main__":
    sys.exit(main())
