"""Phone photos of a whiteboard: seeded, their writing where they say, and legible once through the photo path."""

from __future__ import annotations

from itertools import islice

import numpy as np
import pytest
from PIL import Image

import sim
from chatvla2_lite.data.board_photos import iter_board_photos
from chatvla2_lite.data.image_text import MATH_QUESTION, OCR_QUESTION
from chatvla2_lite.data.photo_boards import draw_board_photo, iter_photo_questions, make_board_photo, photo_question
from chatvla2_lite.model.processing_chatvla2 import NANO_VIEWS, crop_view
from sim.splits import get_split
from sim.tasks.math_problems import solve
from sim.textures import BOARD_SIZE, draw_whiteboard_from_photo, fit_photo_to_board, photo_writing_box

FONTS = ["dejavu_sans_oblique", "dejavu_serif_italic", "stix_general_italic"]
BOARD_VIEW = NANO_VIEWS[0]
MIN_HEIGHT_PX = 12  # the writing's height in the board view that the backbone needs, about


def _photo(seed, text="8 ÷ 4 − 1 = ?", font="dejavu_sans_oblique"):
    return make_board_photo(text, np.random.default_rng(seed), font)


def test_the_same_seed_gives_the_same_photo():
    a, b, other = _photo(3), _photo(3), _photo(4)
    assert a.image.size == (640, 480) and a.image.mode == "RGB"
    assert a.image.tobytes() == b.image.tobytes() and a.writing_box == b.writing_box
    assert a.image.tobytes() != other.image.tobytes()
    assert draw_board_photo("8 ÷ 4 − 1 = ?", np.random.default_rng(3), "dejavu_sans_oblique").tobytes() == (
        a.image.tobytes()
    )


@pytest.mark.parametrize("seed", range(6))
def test_the_writing_box_lies_inside_the_photo_and_holds_dark_writing(seed):
    photo = _photo(seed, font=FONTS[seed % len(FONTS)])
    w, h = photo.image.size
    left, top, right, bottom = photo.writing_box
    assert 0 <= left < right <= w and 0 <= top < bottom <= h
    assert 10 <= bottom - top < h / 2  # writing, neither a speck nor the whole board
    ys, xs = np.nonzero(photo.ink)
    assert (left, top, right, bottom) == (xs.min(), ys.min(), xs.max() + 1, ys.max() + 1)
    # the ink shows in the photo: its darkest channel is well below the board's around it
    darkest = np.asarray(photo.image).min(axis=2).astype(int)
    inside = np.zeros_like(photo.ink)
    inside[top:bottom, left:right] = True
    assert np.median(darkest[photo.ink]) < np.median(darkest[inside & ~photo.ink]) - 40


def _writing_height(env, photo, box) -> float:
    """The writing's height in the board view, px across its line, when the photo is shown with `box` (None: whole):
    its ink alone (black on white, cropped and fitted as the photo is) is rendered on the board, against a blank."""
    ink = Image.fromarray(np.where(photo.ink, 0, 255).astype(np.uint8)).convert("RGB")
    blank = Image.new("RGB", photo.image.size, "white")
    views = []
    for name, image in (("ink", ink), ("blank", blank)):
        env.scene.set_board_image(fit_photo_to_board(image, box), key=f"{name}_{box}_{id(photo)}")
        views.append(crop_view(env.cameras.render("front"), BOARD_VIEW["box"], BOARD_VIEW["size"]).astype(int))
    ys, xs = np.nonzero(np.abs(views[0] - views[1]).max(axis=-1) > 40)
    points = np.stack([xs, ys], axis=1).astype(float)
    points -= points.mean(axis=0)
    across = points @ np.linalg.eigh(points.T @ points)[1][:, 0]  # the line's short axis
    return float(across.max() - across.min() + 1)


@pytest.mark.parametrize("camera_size", [224, 448])
def test_the_photo_path_makes_the_writing_tall_enough_to_read(camera_size):
    env = sim.make_env("math_matching", "train", cameras=("front",), world=sim.world.World(camera_size=camera_size))
    try:
        env.reset(seed=0)
        for seed in range(4):
            photo = _photo(10 + seed, text="3 + 4 = 7", font=FONTS[seed % len(FONTS)])
            before = _writing_height(env, photo, None)
            after = _writing_height(env, photo, photo_writing_box(photo.image))
            assert after > 1.5 * before, (seed, before, after)
            assert after >= MIN_HEIGHT_PX, (seed, before, after)
    finally:
        env.close()


def test_a_photo_question_is_shaped_as_a_board_question_and_answers_its_problem():
    stream = iter_photo_questions("heldout", 0, FONTS)
    again = iter_photo_questions("heldout", 0, FONTS)
    reference = iter_board_photos("heldout", 0)
    try:
        samples = list(islice(stream, 4))
        assert set(samples[0]) == set(next(reference))
        first = next(again)
        assert first["answer"] == samples[0]["answer"]
        assert np.array_equal(first["images"]["front"], samples[0]["images"]["front"])
    finally:
        stream.close(), again.close(), reference.close()
    heldout = get_split("heldout")
    for i, s in enumerate(samples):
        assert (s["split"], s["seed"], s["index"]) == ("heldout", 0, i) and s["kind"] in ("ocr", "math")
        assert s["images"]["front"].shape == (224, 224, 3)
        left, right = (part.strip() for part in s["answer"].split("="))
        key = left.replace(" ", "").translate(str.maketrans("×÷−", "*/-"))
        assert heldout.has_math_problem(key), s["answer"]
        if s["kind"] == "math":
            assert s["question"] == MATH_QUESTION and solve(left) == int(right)
        else:
            assert s["question"] == OCR_QUESTION and right in ("?", str(solve(left)))
        view = crop_view(s["images"]["front"], BOARD_VIEW["box"], BOARD_VIEW["size"])
        assert view.std() > 5  # the photo's writing on the board


def test_bad_stream_arguments_are_refused():
    with pytest.raises(ValueError, match="unknown board kinds"):
        next(iter_photo_questions("train", 0, FONTS, kinds=("spatial",)))
    with pytest.raises(ValueError, match="no fonts"):
        next(iter_photo_questions("train", 0, []))


def test_a_photo_whose_writing_is_too_small_to_tell_from_specks_falls_back_to_the_whole_photo():
    # sample 2315 of the train stream, seed 0: a board far off in a corner, its writing about 8 px tall; the
    # search once dropped every mark as too wide for a character and then failed on nothing left
    rng = np.random.default_rng((0, 2315))
    kind = ("ocr", "math")[int(rng.choice(2, p=[0.5, 0.5]))]  # the stream's draw of the kind
    photo, _, answer = photo_question(kind, "train", rng)
    assert answer == "0 × 6 = 0" and photo_writing_box(photo) is None
    board = draw_whiteboard_from_photo(photo)
    assert board.size == BOARD_SIZE  # letterboxed whole, as before the search
