"""Phone photos of a whiteboard, and board questions asked through the playground's photo path.

draw_board_photo makes what a visitor uploads: a whiteboard on a wall, photographed at an angle, in uneven
light, blurred, noisy and JPEG-compressed, with the equation in a given font among ghosts of wiped writing.
iter_photo_questions paints such photos on the sim's board the way the playground does
(sim.textures.draw_whiteboard_from_photo) and asks the OCR/math questions of chatvla2_lite.data.image_text.
"""

from __future__ import annotations

import colorsys
import io
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageDraw, ImageFilter, ImageOps

from chatvla2_lite.data.board_photos import iter_board_photos
from chatvla2_lite.data.image_text import BOARD_KINDS, board_question
from sim.font_corpus import draw_corpus_font
from sim.fonts import load_font
from sim.splits import get_split
from sim.tasks.math_problems import sample_problem
from sim.textures import BOARD_GLYPHS, MARKER_RGB, draw_whiteboard_from_photo

GHOST_GLYPHS = "0123456789+−×÷=?"


@dataclass(frozen=True)
class PhotoConfig:
    """How a whiteboard photo varies; each pair is the (low, high) of a uniform draw."""

    board_width_frac: tuple[float, float] = (0.45, 0.85)  # the board's width, of the photo's
    board_aspect: tuple[float, float] = (1.3, 1.9)  # the board's width / height
    max_tilt_frac: float = 0.07  # each corner moves up to this share of the board's width: the perspective
    max_rotation_deg: float = 7.0
    text_height_frac: tuple[float, float] = (0.09, 0.22)  # the font's size, of the board's height
    stroke_frac: tuple[float, float] = (0.0, 0.07)  # the marker line added around each glyph, of the font size
    max_shear: float = 0.2  # a hand's slant
    baseline_jitter_frac: float = 0.05  # each character moves up or down this share of the font size
    ghosts: tuple[int, int] = (0, 4)  # wiped writings, low inclusive, high exclusive
    ghost_alpha: tuple[float, float] = (0.04, 0.11)  # how much of a wiped writing's ink is left
    light_gradient: tuple[float, float] = (0.05, 0.35)  # the darkest side's loss of light
    glare_prob: float = 0.7
    glare_gain: tuple[float, float] = (20.0, 70.0)  # grey levels a glare adds at its centre
    motion_blur_prob: float = 0.35  # else defocus
    defocus_radius: tuple[float, float] = (0.2, 1.4)  # px, Gaussian
    motion_blur_px: tuple[int, int] = (2, 6)  # the shake's length, low inclusive, high exclusive
    noise_sigma: tuple[float, float] = (1.5, 6.0)  # grey levels
    jpeg_quality: tuple[int, int] = (35, 90)


@dataclass(frozen=True)
class BoardPhoto:
    """A whiteboard photo and where its writing is."""

    image: Image.Image  # RGB, the photo's size
    writing_box: tuple[int, int, int, int]  # (left, top, right, bottom) of the writing, px, right/bottom exclusive
    ink: np.ndarray  # bool (H, W): the writing's pixels, before blur


def draw_board_photo(
    text: str, rng: np.random.Generator, font_name: str, size: tuple[int, int] = (640, 480)
) -> Image.Image:
    """An RGB phone photo of `size` of a whiteboard on a wall with `text` written on it in `font_name`."""
    return make_board_photo(text, rng, font_name, size).image


def make_board_photo(
    text: str,
    rng: np.random.Generator,
    font_name: str,
    size: tuple[int, int] = (640, 480),
    config: PhotoConfig = PhotoConfig(),
) -> BoardPhoto:
    """draw_board_photo's photo with the writing's box and pixels (the same photo for the same rng state)."""
    c = config
    w, h = size
    board_w = rng.uniform(*c.board_width_frac) * w
    board_h = min(board_w / rng.uniform(*c.board_aspect), 0.8 * h)
    board, ink = _draw_board(text, rng, font_name, (round(board_w * 1.5), round(board_h * 1.5)), c)
    corners = _board_corners(rng, size, board_w, board_h, c)
    coeffs = _homography(corners, board.size)
    warp = {"size": size, "method": Image.Transform.PERSPECTIVE, "data": coeffs}
    board_in_photo = np.asarray(board.transform(**warp, resample=Image.Resampling.BICUBIC), dtype=np.float64)
    alpha = np.asarray(Image.new("L", board.size, 255).transform(**warp, resample=Image.Resampling.BILINEAR)) / 255
    ink_in_photo = np.asarray(ink.transform(**warp, resample=Image.Resampling.BILINEAR)) >= 128

    wall = _draw_wall(rng, size)
    shadow = np.asarray(
        Image.fromarray((alpha * 255).astype(np.uint8)).filter(ImageFilter.GaussianBlur(rng.uniform(3, 10)))
    )
    dx, dy = rng.integers(2, 9), rng.integers(2, 9)
    shadow = np.roll(shadow, (int(dy), int(dx)), axis=(0, 1)) / 255
    wall *= 1 - rng.uniform(0.2, 0.45) * shadow[..., None]
    photo = wall * (1 - alpha[..., None]) + board_in_photo * alpha[..., None]

    photo = _light(photo, alpha, rng, c)
    photo = _blur(photo, rng, c)
    photo += rng.normal(0, rng.uniform(*c.noise_sigma), size=(h, w, 1)) + rng.normal(0, 1.5, size=(h, w, 3))
    image = _jpeg(Image.fromarray(np.clip(photo, 0, 255).astype(np.uint8)), int(rng.integers(*c.jpeg_quality)))
    ys, xs = np.nonzero(ink_in_photo)
    box = (int(xs.min()), int(ys.min()), int(xs.max()) + 1, int(ys.max()) + 1)
    return BoardPhoto(image, box, ink_in_photo)


def _draw_board(text, rng, font_name, size, c: PhotoConfig):
    """(the board, RGB of `size`; its writing's mask, L): off-white, framed, ghosts of
    wiped writing, the text somewhere inside the frame."""
    bw, bh = size
    tint = rng.uniform(-4, 4, size=3)
    paper = np.clip(rng.uniform(238, 252) + tint, 0, 255)
    board = np.ones((bh, bw, 3)) * paper
    frame_px = max(3, round(min(bw, bh) * rng.uniform(0.02, 0.045)))
    inner = (frame_px + 0.04 * bw, frame_px + 0.05 * bh, bw - frame_px - 0.04 * bw, bh - frame_px - 0.05 * bh)

    room = (inner[2] - inner[0], inner[3] - inner[1])
    for _ in range(int(rng.integers(*c.ghosts))):
        chars = "".join(rng.choice(list(GHOST_GLYPHS), size=int(rng.integers(3, 10))))
        ghost = _fit(_writing_mask(chars, rng, font_name, int(bh * rng.uniform(*c.text_height_frac)), c), room)
        ghost = ImageOps.expand(ghost, 8).filter(ImageFilter.GaussianBlur(rng.uniform(1.5, 4)))
        smear = np.asarray(ghost, dtype=np.float64) / 255
        smear = np.maximum(smear, _shift_mean(smear, int(rng.integers(4, 20)), rng.uniform(0, np.pi)) * 0.8)
        colour = _marker(rng)
        x, y = _place(rng, ghost.size, inner)
        _paint(board, rng.uniform(*c.ghost_alpha) * smear, colour, x, y)

    font_px = max(10, int(bh * rng.uniform(*c.text_height_frac)))
    mask = _fit(_writing_mask(text.translate(BOARD_GLYPHS), rng, font_name, font_px, c), room)
    streaks = rng.uniform(0.8, 1.0, size=(mask.height, mask.width))
    x, y = _place(rng, mask.size, inner)
    _paint(board, np.asarray(mask, dtype=np.float64) / 255 * streaks, _marker(rng), x, y)
    full_mask = Image.new("L", size, 0)
    full_mask.paste(mask, (x, y))

    image = Image.fromarray(np.clip(board, 0, 255).astype(np.uint8))
    ImageDraw.Draw(image).rectangle([0, 0, bw - 1, bh - 1], outline=_frame_colour(rng), width=frame_px)
    return image, full_mask


def _writing_mask(text, rng, font_name, font_px, c: PhotoConfig) -> Image.Image:
    """The text as a hand writes it, L, cropped to its ink: characters set one by one with a wobbly baseline and
    uneven spacing, a marker line, a slant and a small turn."""
    font = load_font(font_name, font_px)
    stroke = int(round(font_px * rng.uniform(*c.stroke_frac)))
    width = int(font.getlength(text) * 1.3 + 2 * font_px)
    canvas = Image.new("L", (width, 3 * font_px), 0)
    draw = ImageDraw.Draw(canvas)
    x = float(font_px)
    for ch in text:
        y = 2 * font_px + rng.uniform(-1, 1) * c.baseline_jitter_frac * font_px
        draw.text((x, y), ch, font=font, fill=255, stroke_width=stroke, stroke_fill=255, anchor="ls")
        x += font.getlength(ch) * rng.uniform(0.95, 1.2)
    canvas = canvas.crop(canvas.getbbox())
    shear = rng.uniform(-c.max_shear, c.max_shear)
    sw = canvas.width + int(np.ceil(abs(shear) * canvas.height))
    offset = shear * canvas.height if shear > 0 else 0.0
    canvas = canvas.transform(
        (sw, canvas.height), Image.Transform.AFFINE, (1, shear, -offset, 0, 1, 0), Image.Resampling.BICUBIC
    )
    canvas = canvas.rotate(rng.uniform(-3, 3), resample=Image.Resampling.BICUBIC, expand=True)
    return canvas.crop(canvas.getbbox())


def _fit(mask: Image.Image, room) -> Image.Image:
    """The mask, shrunk if needed to fit `room` (w, h)."""
    scale = min(1.0, room[0] / mask.width, room[1] / mask.height)
    if scale == 1.0:
        return mask
    return mask.resize((max(1, int(mask.width * scale)), max(1, int(mask.height * scale))), Image.Resampling.LANCZOS)


def _paint(board: np.ndarray, alpha: np.ndarray, colour: np.ndarray, x: int, y: int) -> None:
    """Lay `colour` on the board (float (H, W, 3)) with `alpha` (h, w) in 0..1 at (x, y), cut at the board's edge."""
    region = board[y : y + alpha.shape[0], x : x + alpha.shape[1]]
    a = alpha[: region.shape[0], : region.shape[1], None]
    region[:] = region * (1 - a) + colour * a


def _marker(rng) -> np.ndarray:
    names = list(MARKER_RGB)
    base = np.asarray(MARKER_RGB[names[int(rng.integers(len(names)))]], dtype=np.float64)
    return np.clip(base + rng.uniform(-15, 15, size=3), 0, 255)


def _frame_colour(rng) -> tuple[int, int, int]:
    kind = int(rng.integers(3))
    if kind == 0:  # aluminium
        g = int(rng.integers(150, 200))
        return (g, g, g + 4)
    if kind == 1:  # black plastic
        g = int(rng.integers(25, 60))
        return (g, g, g)
    return (int(rng.integers(110, 160)), int(rng.integers(70, 110)), int(rng.integers(40, 70)))  # wood


def _place(rng, size, inner) -> tuple[int, int]:
    """A random top-left corner that keeps a `size` (w, h) patch inside `inner` (left, top, right, bottom)."""
    left, top, right, bottom = inner
    x = left + rng.uniform(0, max(0.0, right - left - size[0]))
    y = top + rng.uniform(0, max(0.0, bottom - top - size[1]))
    return int(x), int(y)


def _board_corners(rng, size, board_w, board_h, c: PhotoConfig) -> np.ndarray:
    """The board's four corners in the photo (top-left, top-right, bottom-right, bottom-left), (4, 2), all inside."""
    w, h = size
    half = np.array([[-1, -1], [1, -1], [1, 1], [-1, 1]]) * (board_w / 2, board_h / 2)
    angle = np.deg2rad(rng.uniform(-c.max_rotation_deg, c.max_rotation_deg))
    turn = np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]])
    corners = half @ turn.T + rng.uniform(-1, 1, size=(4, 2)) * c.max_tilt_frac * board_w
    span = corners.max(axis=0) - corners.min(axis=0)
    fit = min(1.0, 0.95 * w / span[0], 0.95 * h / span[1])
    corners *= fit
    span *= fit
    lo = -corners.min(axis=0) + 0.02 * np.array(size)
    hi = np.array(size) * 0.98 - corners.max(axis=0)
    return corners + lo + rng.uniform(0, 1, size=2) * np.maximum(hi - lo, 0)


def _homography(corners: np.ndarray, board_size) -> tuple[float, ...]:
    """PIL's PERSPECTIVE coefficients mapping photo pixels to board pixels, so the board's corners land on
    `corners`."""
    bw, bh = board_size
    src = np.array([[0, 0], [bw, 0], [bw, bh], [0, bh]], dtype=np.float64)
    rows, rhs = [], []
    for (x, y), (u, v) in zip(corners, src):
        rows.append([x, y, 1, 0, 0, 0, -u * x, -u * y])
        rows.append([0, 0, 0, x, y, 1, -v * x, -v * y])
        rhs += [u, v]
    return tuple(np.linalg.solve(np.asarray(rows), np.asarray(rhs)).tolist())


def _draw_wall(rng, size) -> np.ndarray:
    """The room behind the board, float (h, w, 3): a painted wall of any colour, lit unevenly, with a blurred
    shape or two of furniture and a floor or ceiling band."""
    w, h = size
    hue = rng.uniform(0, 1)
    base = np.asarray(_hsv_to_rgb(hue, rng.uniform(0.03, 0.45), rng.uniform(0.3, 0.85)))
    wall = np.ones((h, w, 3)) * base
    low = rng.uniform(0.85, 1.15, size=(4, 5, 1))
    blotches = np.asarray(Image.fromarray((low[..., 0] * 100).astype(np.uint8)).resize(size, Image.Resampling.BICUBIC))
    wall *= (blotches / 100.0)[..., None]
    canvas = Image.fromarray(np.clip(wall, 0, 255).astype(np.uint8))
    draw = ImageDraw.Draw(canvas)
    for _ in range(int(rng.integers(0, 3))):
        x0, y0 = rng.uniform(-0.2, 1) * w, rng.uniform(-0.2, 1) * h
        x1, y1 = x0 + rng.uniform(0.1, 0.5) * w, y0 + rng.uniform(0.1, 0.6) * h
        colour = tuple(int(v) for v in _hsv_to_rgb(rng.uniform(0, 1), rng.uniform(0, 0.7), rng.uniform(0.1, 0.9)))
        draw.rectangle([x0, y0, x1, y1], fill=colour)
    if rng.random() < 0.5:
        y = rng.uniform(0.8, 0.97) * h if rng.random() < 0.7 else rng.uniform(0.03, 0.15) * h
        colour = tuple(int(v) for v in _hsv_to_rgb(rng.uniform(0, 1), rng.uniform(0, 0.5), rng.uniform(0.15, 0.7)))
        draw.rectangle([0, y, w, h] if y > h / 2 else [0, 0, w, y], fill=colour)
    canvas = canvas.filter(ImageFilter.GaussianBlur(rng.uniform(1, 4)))
    return np.asarray(canvas, dtype=np.float64)


def _hsv_to_rgb(hue: float, sat: float, val: float) -> tuple[float, float, float]:
    return tuple(255 * v for v in colorsys.hsv_to_rgb(hue, sat, val))


def _light(photo: np.ndarray, board_alpha: np.ndarray, rng, c: PhotoConfig) -> np.ndarray:
    """The photo lit from one side, darker at the corners, with a soft glare on the board, and a colour cast."""
    h, w, _ = photo.shape
    ys, xs = np.mgrid[0:h, 0:w]
    u, v = (xs - w / 2) / w, (ys - h / 2) / h
    angle = rng.uniform(0, 2 * np.pi)
    ramp = u * np.cos(angle) + v * np.sin(angle)  # -0.7 .. 0.7
    light = 1 - rng.uniform(*c.light_gradient) * (ramp + 0.7) / 1.4
    light *= 1 - rng.uniform(0, 0.3) * (u**2 + v**2) * 2
    photo = photo * light[..., None] * rng.uniform(0.92, 1.08, size=3)
    if rng.random() < c.glare_prob:
        gx, gy = rng.uniform(0.15, 0.85) * w, rng.uniform(0.15, 0.85) * h
        sx, sy = rng.uniform(0.05, 0.25) * w, rng.uniform(0.05, 0.2) * h
        glare = np.exp(-(((xs - gx) / sx) ** 2 + ((ys - gy) / sy) ** 2) / 2)
        photo = photo + (rng.uniform(*c.glare_gain) * glare * board_alpha)[..., None]
    return photo


def _blur(photo: np.ndarray, rng, c: PhotoConfig) -> np.ndarray:
    if rng.random() < c.motion_blur_prob:
        return _shift_mean(photo, int(rng.integers(*c.motion_blur_px)), rng.uniform(0, np.pi))
    image = Image.fromarray(np.clip(photo, 0, 255).astype(np.uint8))
    return np.asarray(image.filter(ImageFilter.GaussianBlur(rng.uniform(*c.defocus_radius))), dtype=np.float64)


def _shift_mean(a: np.ndarray, length: int, angle: float) -> np.ndarray:
    """The mean of `a` shifted along a line of `length` px at `angle`: a shake or a wipe's smear."""
    out = np.zeros_like(a, dtype=np.float64)
    for t in np.linspace(-length / 2, length / 2, max(2, length)):
        dy, dx = int(round(t * np.sin(angle))), int(round(t * np.cos(angle)))
        out += np.roll(a, (dy, dx), axis=(0, 1))
    return out / max(2, length)


def _jpeg(image: Image.Image, quality: int) -> Image.Image:
    buffer = io.BytesIO()
    image.save(buffer, format="JPEG", quality=quality)
    buffer.seek(0)
    with Image.open(buffer) as decoded:
        return decoded.convert("RGB")


def photo_question(kind: str, split: str, rng: np.random.Generator, fonts: list[str] | None = None) -> tuple:
    """(phone photo of a whiteboard, question, answer) of one OCR or math question of `split`'s problems, the
    writing in one of `fonts` (None: a handwriting face of the split's corpus families, family first): the
    questions and answers of image_text.draw_board_question."""
    problem = sample_problem(rng, get_split(split))
    font = draw_corpus_font(split, rng, "handwriting") if fonts is None else fonts[int(rng.integers(len(fonts)))]
    text, question, answer = board_question(kind, problem, rng)
    return draw_board_photo(text, rng, font), question, answer


def iter_photo_questions(
    split: str,
    seed: int,
    fonts: list[str] | None = None,
    kinds: tuple[str, ...] = BOARD_KINDS,
    world=None,
    cameras: tuple[str, ...] = ("front",),
    start: int = 0,
) -> Iterator[dict]:
    """board_photos.iter_board_photos' stream (its samples, seeds, `start` and `cameras`) whose board is a phone
    photo of a whiteboard sent through the playground's photo path (sim.textures.draw_whiteboard_from_photo), written
    in one of `fonts` (None: the split's corpus handwriting faces, photo_question)."""
    if fonts is not None and not fonts:
        raise ValueError("no fonts to write the photos' boards in; pass sim.fonts names, e.g. ['dejavu_sans']")
    for name in fonts or [draw_corpus_font(split, np.random.default_rng(0), "handwriting")]:
        load_font(name, 16)  # an unknown name, or a corpus not fetched, fails here with what to do

    def draw(kind: str, split: str, rng: np.random.Generator, _world_fonts: str) -> tuple:
        photo, question, answer = photo_question(kind, split, rng, fonts)
        return draw_whiteboard_from_photo(photo), question, answer

    yield from iter_board_photos(split, seed, kinds, start, world, cameras, draw)
