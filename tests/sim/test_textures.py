"""Whiteboards and cards: deterministic per seed, legible, with ink inside the central region."""

import numpy as np
import pytest
from PIL import Image, ImageDraw

from sim import fonts, textures
from sim.splits import SPLITS
from sim.tasks.math_problems import sample_problem

DARK_LUMA = 120  # ink is darker than this; the grey frame and the faint wipe marks are lighter


def _dark_bbox(img):
    luma = np.asarray(img.convert("L"))
    ys, xs = np.nonzero(luma < DARK_LUMA)
    return xs.min(), ys.min(), xs.max(), ys.max()


def test_same_seed_same_board_different_seed_different_board():
    a = textures.draw_whiteboard("3 + 4 = ?", np.random.default_rng(1), "dejavu_sans")
    b = textures.draw_whiteboard("3 + 4 = ?", np.random.default_rng(1), "dejavu_sans")
    c = textures.draw_whiteboard("3 + 4 = ?", np.random.default_rng(2), "dejavu_sans")
    assert a.mode == "RGB" and a.size == textures.BOARD_SIZE
    assert a.tobytes() == b.tobytes()
    assert a.tobytes() != c.tobytes()


@pytest.mark.parametrize("split", list(SPLITS))
def test_ink_stays_large_and_inside_the_central_region(split):
    left, top, right, bottom = textures.text_region()
    w, h = textures.BOARD_SIZE
    assert (right - left) <= 0.71 * w and (bottom - top) <= 0.71 * h
    for seed, font in enumerate(SPLITS[split].fonts * 3):
        rng = np.random.default_rng(seed)
        problem = sample_problem(rng, split, two_step_prob=0.5)
        board = textures.draw_whiteboard(problem.text, rng, font)
        x0, y0, x1, y1 = _dark_bbox(board)
        assert left <= x0 and x1 < right and top <= y0 and y1 < bottom, (font, problem.text)
        assert y1 - y0 >= 0.15 * h, "the equation must stay large enough to read"
        assert x1 - x0 >= 0.25 * w


def test_frame_is_grey_and_board_is_white():
    board = np.asarray(textures.draw_whiteboard("1 + 1 = ?", np.random.default_rng(0), "dejavu_sans"))
    assert tuple(board[0, 0]) == textures.FRAME_RGB
    assert np.median(board.reshape(-1, 3), axis=0).min() >= 240


def test_every_font_has_the_math_glyphs():
    for name in fonts.list_fonts():
        assert fonts.missing_glyphs(name) == "", name
        assert fonts.font_path(name).is_file()


def test_photo_is_letterboxed_onto_the_board():
    photo = Image.new("RGB", (100, 100), (10, 200, 10))
    board = np.asarray(textures.draw_whiteboard_from_photo(photo))
    h, w, _ = board.shape
    assert (w, h) == textures.BOARD_SIZE
    assert tuple(board[h // 2, w // 2]) == (10, 200, 10)
    assert tuple(board[h // 2, 10]) == textures.BOARD_RGB  # white bars beside a square photo
    green_cols = np.nonzero((board[h // 2, :, 1] > 150) & (board[h // 2, :, 0] < 50))[0]
    assert len(green_cols) == pytest.approx(h - 2 * textures.FRAME_PX, abs=2)


def test_digit_cards_are_distinct_centred_and_6_9_marked():
    cards = {d: textures.draw_digit_card(d) for d in range(10)}
    assert len({t.tobytes() for t in cards.values()}) == 10
    for d, card in cards.items():
        assert card.size == (64, 64)
        x0, y0, x1, y1 = _dark_bbox(card)
        assert abs((x0 + x1) / 2 - 32) <= 4, d
    # 6 and 9 carry a bar below the digit, so a card turned 180° still tells them apart.
    ink_bottom = max(_dark_bbox(cards[d])[3] for d in range(10) if d not in (6, 9))
    for d, card in cards.items():
        below = (np.asarray(card.convert("L"))[ink_bottom + 2 :] < DARK_LUMA).sum()
        assert (below > 30) == (d in (6, 9)), d
    with pytest.raises(ValueError):
        textures.draw_digit_card(12)


def test_label_is_centred_text():
    label = textures.draw_label("red cube")
    x0, y0, x1, y1 = _dark_bbox(label)
    assert abs((x0 + x1) / 2 - 64) <= 3 and x1 - x0 > 50


def test_divide_and_plus_look_different_through_the_front_camera():
    """The fonts' own ÷ merged with its dots into a plus at the camera's resolution (found on rendered boards):
    the board draws its own. Both signs share an advance, so the two boards differ only at the sign."""
    import sim

    env = sim.make_env("math_matching", "train", cameras=("front",))
    try:
        env.reset(seed=1)

        def photo(text, font, seed):
            board = textures.draw_whiteboard(text, np.random.default_rng(seed), font)
            env.scene.set_board_image(board, key=f"{text}|{font}|{seed}")
            return env.cameras.render("front").astype(int)

        for font in SPLITS["train"].fonts + SPLITS["heldout"].fonts:
            for seed in range(3):
                changed = np.abs(photo("8 ÷ 4 − 1 = ?", font, seed) - photo("8 + 4 − 1 = ?", font, seed)).max(-1) > 60
                assert changed.sum() >= 5, f"÷ reads as + in {font} (seed {seed})"
    finally:
        env.close()


def _photo_with_writing(text="3 + 4 = 7", corner=(40, 30), ink=(180, 30, 35), font_px=26):
    """A 640x480 'photo': a light board, lit unevenly (darker to the right, a soft glare), small red writing near a
    corner."""
    w, h = 640, 480
    xs = np.arange(w)[None, :, None]
    ys = np.arange(h)[:, None, None]
    light = 245 - 70 * xs / w + 40 * np.exp(-(((xs - 420) / 90) ** 2 + ((ys - 300) / 70) ** 2))
    photo = Image.fromarray(np.clip(light * np.ones((h, w, 3)), 0, 255).astype(np.uint8))
    ImageDraw.Draw(photo).text(corner, text, font=fonts.load_font("dejavu_sans_oblique", font_px), fill=ink)
    return photo


def _red_ink_box(board):
    """(left, top, right, bottom) inclusive of the board's red ink (the photo's light is grey, the frame too)."""
    rgb = np.asarray(board).astype(int)
    ys, xs = np.nonzero(rgb[..., 0] - rgb[..., 1] > 60)
    return xs.min(), ys.min(), xs.max(), ys.max()


def test_a_photos_small_writing_is_enlarged_to_fill_the_boards_text_region():
    photo = _photo_with_writing()
    box = textures.photo_writing_box(photo)
    assert box is not None
    left, top, right, bottom = box  # the writing sits at (40, 30), about 130 x 25 px
    assert 30 <= left <= 44 and 25 <= top <= 38 and 160 <= right <= 200 and 48 <= bottom <= 64
    rx0, ry0, rx1, ry1 = textures.text_region()  # where the sim's own boards write: the model reads that size
    x0, y0, x1, y1 = _red_ink_box(textures.draw_whiteboard_from_photo(photo))
    assert x1 - x0 >= 0.75 * (rx1 - rx0), "the writing should span most of the text region's width"
    assert rx0 <= x0 and x1 <= rx1 and ry0 <= y0 and y1 <= ry1
    lx0, _, lx1, _ = _red_ink_box(textures.fit_photo_to_board(photo, None))
    assert lx1 - lx0 <= 0.25 * (rx1 - rx0)  # what the whole photo, letterboxed, showed


def test_writing_is_found_on_a_framed_board_on_a_dark_wall_and_not_the_frame():
    photo = Image.new("RGB", (640, 480), (70, 90, 110))  # the wall
    draw = ImageDraw.Draw(photo)
    draw.rectangle([100, 80, 540, 400], fill=(240, 240, 236), outline=(40, 40, 40), width=8)  # board and frame
    draw.text((360, 330), "8 ÷ 4 − 1 = ?", font=fonts.load_font("dejavu_serif_italic", 22), fill=(25, 45, 140))
    left, top, right, bottom = textures.photo_writing_box(photo)
    assert 350 <= left and 320 <= top and right <= 540 and bottom <= 370
    assert right - left >= 100  # the whole equation, not one character


def test_a_photo_with_no_writing_is_letterboxed_whole():
    for blank in (_photo_with_writing(text=""), Image.new("RGB", (8, 8), "white")):
        assert textures.photo_writing_box(blank) is None
        board = textures.draw_whiteboard_from_photo(blank)
        assert board.tobytes() == textures.fit_photo_to_board(blank, None).tobytes()
    board = np.asarray(textures.draw_whiteboard_from_photo(_photo_with_writing(text="")))
    h, w, _ = board.shape
    assert tuple(board[h // 2, 10]) == textures.BOARD_RGB  # white bars beside a 4:3 photo on a 2:1 face
    assert tuple(board[h // 2, w // 2]) != textures.BOARD_RGB
