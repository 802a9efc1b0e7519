"""The fast board stream: seeded, true to the split, and showing the board view a fresh scene shows."""

from __future__ import annotations

from itertools import islice

import numpy as np
import pytest

from chatvla2_lite.data.board_photos import iter_board_photos
from chatvla2_lite.data.image_text import MATH_QUESTION, OCR_QUESTION
from chatvla2_lite.model.processing_chatvla2 import NANO_VIEWS, crop_view
from sim.splits import get_split
from sim.tasks.math_problems import solve


def _first(n, split="train", seed=0):
    return list(islice(iter_board_photos(split, seed), n))


def test_the_stream_is_seeded_and_answers_follow_the_question():
    a, b, other = _first(6), _first(6), _first(6, seed=1)
    for x, y in zip(a, b):
        assert (x["question"], x["answer"]) == (y["question"], y["answer"])
        assert np.array_equal(x["images"]["front"], y["images"]["front"])
    assert [x["answer"] for x in a] != [x["answer"] for x in other]
    for s in a:
        assert s["images"]["front"].shape == (224, 224, 3)
        if s["question"] == MATH_QUESTION:  # "3 + 4 = 7": the right side is the left side's value
            left, right = s["answer"].split("=")
            assert solve(left.strip()) == int(right)
        else:
            assert s["question"] == OCR_QUESTION and "=" in s["answer"]


def test_heldout_boards_use_heldout_problems():
    for s in _first(6, split="heldout"):
        key = s["answer"].split("=")[0].replace(" ", "")
        assert get_split("heldout").has_math_problem(key.translate(str.maketrans("×÷−", "*/-")))


def test_a_repainted_board_looks_as_on_a_fresh_scene():
    """What the stream relies on: the board view depends on the board's picture alone, not on the scene's cards
    or on the boards painted before."""
    import sim
    from sim.textures import draw_whiteboard

    board = draw_whiteboard("7 - 3 = ?", np.random.default_rng(0), "dejavu_sans")
    view = NANO_VIEWS[0]
    crops = []
    for seed, painted_before in ((1, 0), (2, 3)):
        env = sim.make_env("math_matching", "train", cameras=("front",))
        try:
            env.reset(seed=seed)
            for k in range(painted_before):
                env.scene.set_board_image(
                    draw_whiteboard(f"{k} + 1 = ?", np.random.default_rng(k), "dejavu_serif"), key=f"old_{k}"
                )
            env.scene.set_board_image(board, key="new")
            crops.append(crop_view(env.cameras.render("front"), view["box"], view["size"]))
        finally:
            env.close()
    assert np.array_equal(crops[0], crops[1])
    assert crops[0].std() > 5  # the board with its writing, not an empty frame


def test_unknown_kinds_are_refused():
    with pytest.raises(ValueError, match="unknown board kinds"):
        next(iter_board_photos(kinds=("spatial",)))


def test_a_stream_started_further_on_gives_the_same_samples():
    start = list(islice(iter_board_photos("train", 0, start=64), 2))
    full = _first(66)[64:]
    for x, y in zip(start, full):
        assert x["answer"] == y["answer"] and np.array_equal(x["images"]["front"], y["images"]["front"])
    with pytest.raises(ValueError, match="multiple of 64"):
        next(iter_board_photos(start=10))


def test_the_cached_stream_shows_the_board_view_as_rendered_and_every_sample_once_an_epoch():
    from chatvla2_lite.training.streams import cached_board_photo_stream

    view = NANO_VIEWS[0]

    def board_view(front):
        return crop_view(front, view["box"], view["size"]).tobytes()

    direct = sorted((s["answer"], board_view(s["images"]["front"])) for s in _first(70))
    stream = cached_board_photo_stream(70, "train", 0, band=(view["box"][1], view["box"][3]), progress=False)
    epoch = [next(stream) for _ in range(70)]
    assert sorted((s.target, board_view(s.observation["observation.images.front"])) for s in epoch) == direct
    front = epoch[0].observation["observation.images.front"]
    assert front.shape == (224, 224, 3) and not front[-40:].any()  # rows no view reads are not kept
    assert [s.target for s in epoch] != [s["answer"] for s in _first(70)]  # served shuffled
