"""Board questions photographed fast: one sim scene whose board is repainted for every sample.

The front camera sees the same table, board and arm in every math_matching scene; only the board's
writing and the cards change, and the cards lie outside the board view. So instead of building a
scene per sample (about 20 a second), this stream keeps one scene, paints each new board on it and
renders the front camera (about 50 a second). The board view cut from these frames is pixel for
pixel what a fresh scene shows; tests/chatvla2_lite/data checks that.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np

import sim
from chatvla2_lite.data.image_text import BOARD_KINDS, draw_board_question

# A new scene every so many boards: the scene's texture table gains an entry for every painted board.
BOARDS_PER_SCENE = 64


def iter_board_photos(
    split: str = "train",
    seed: int = 0,
    kinds: tuple[str, ...] = BOARD_KINDS,
    start: int = 0,
    world=None,
    cameras: tuple[str, ...] = ("front",),
    draw=None,
) -> Iterator[dict]:
    """An endless, seeded stream of OCR/math samples, the kinds in equal shares, whose picture is the front camera
    (as image_text samples, with images {"front": ...}, and the other `cameras`); sample j draws from
    np.random.default_rng((seed, j)). `start` (a multiple of BOARDS_PER_SCENE) skips to sample `start`: the same
    samples, so shards add up. `world` (sim.world.World, None the default) sets the camera's frame size and the
    boards' fonts. `draw(kind, split, rng, fonts)` makes (board image, question, answer); None: the sim's own
    boards (image_text.draw_board_question)."""
    unknown = [k for k in kinds if k not in BOARD_KINDS]
    if unknown or not kinds:
        raise ValueError(f"unknown board kinds {unknown}; use some of {', '.join(BOARD_KINDS)}")
    if start % BOARDS_PER_SCENE:
        raise ValueError(f"start must be a multiple of {BOARDS_PER_SCENE}, got {start}")
    draw = draw or draw_board_question
    probs = np.full(len(kinds), 1 / len(kinds))
    env = sim.make_env("math_matching", split, cameras=tuple(cameras), world=world)
    try:
        for index in range(start, 2**62):
            rng = np.random.default_rng((seed, index))
            if index % BOARDS_PER_SCENE == 0:
                env.reset(seed=int(rng.integers(2**31 - 1)))
            kind = kinds[int(rng.choice(len(kinds), p=probs))]
            board, question, answer = draw(kind, split, rng, env.world.fonts)
            env.scene.set_board_image(board, key=f"board_{index}")
            yield {
                "images": {camera: env.cameras.render(camera) for camera in cameras},
                "question": question,
                "answer": answer,
                "kind": kind,
                "split": split,
                "seed": seed,
                "index": index,
            }
    finally:
        env.close()
