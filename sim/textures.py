"""Textures the simulator puts on surfaces: whiteboards, number cards, labels (PIL only, no physics).

All drawing is deterministic: randomness comes only from the `np.random.Generator` passed in,
so a seed reproduces a board pixel for pixel.
"""

from __future__ import annotations

import numpy as np
from PIL import Image, ImageDraw, ImageOps

from sim.fonts import load_font

BOARD_SIZE = (448, 224)  # (width, height) in pixels
BOARD_RGB = (250, 250, 247)
FRAME_RGB = (150, 150, 150)
FRAME_PX = 3
# The equation stays inside this centred fraction of the board, so a camera crop or a model
# always finds it in the same place however the board is jittered.
TEXT_REGION_FRAC = 0.70
FONT_HEIGHT_FRAC = (0.28, 0.40)  # font size as a fraction of board height, before fitting
# A marker's line, in texture pixels, added around each glyph: the front camera sees the board at about a
# quarter of its texture's size, and a thinner minus sign or equals bar fell between its pixels and vanished.
STROKE_PX = (2, 4)  # 2 or 3
MAX_ROTATION_DEG = 3.0
MAX_SHEAR = 0.15  # horizontal shift per pixel of height: a hand-written slant
JITTER_FRAC = 0.04  # largest shift of the text from centre, as a fraction of the board size
MARKER_RGB = {
    "dark_blue": (25, 45, 140),
    "black": (25, 25, 30),
    "red": (180, 30, 35),
    "green": (25, 105, 50),
}
# Ghost strokes and speckles stay this light so they read as an old, wiped board, never as ink.
NOISE_GREY_RANGE = (212, 238)

# A hyphen is a short, thin stroke in most fonts; boards show the proper minus sign instead.
BOARD_GLYPHS = str.maketrans({"-": "−"})
DIVIDE = "÷"  # drawn by hand (see _draw_divide): the fonts' own sign turns into a plus through the camera

CARD_RGB = (237, 230, 209)  # matches sim.catalog.NUMBER_CARD's body colour
CARD_EDGE_RGB = (200, 188, 160)
CARD_INK_RGB = (30, 30, 35)
CARD_FONT = "dejavu_sans_bold"
CARD_UNDERLINED = ("6", "9")  # rotated on the table, 6 and 9 would look alike without a mark


def text_region(size: tuple[int, int] = BOARD_SIZE) -> tuple[int, int, int, int]:
    """The (left, top, right, bottom) pixel box, right/bottom exclusive, that a board's text stays in."""
    w, h = size
    mx, my = round(w * (1 - TEXT_REGION_FRAC) / 2), round(h * (1 - TEXT_REGION_FRAC) / 2)
    return mx, my, w - mx, h - my


def _text_mask(text: str, font, stroke: int) -> Image.Image:
    if DIVIDE in text:
        return _text_mask_with_divide(text, font, stroke)
    left, top, right, bottom = font.getbbox(text, stroke_width=stroke)
    pad = 4
    mask = Image.new("L", (right - left + 2 * pad, bottom - top + 2 * pad), 0)
    ImageDraw.Draw(mask).text((pad - left, pad - top), text, font=font, fill=255, stroke_width=stroke, stroke_fill=255)
    return mask


def _text_mask_with_divide(text: str, font, stroke: int) -> Image.Image:
    """The text with every ÷ drawn as a marker would: a bar and two big dots set well apart. A font's own ÷
    has dots a few texture pixels from the bar; the front camera sees the board at about a quarter of its
    texture's size, where those dots merge with the bar and the sign reads as a plus."""
    em, advance = font.size, font.getlength("+")
    parts = text.split(DIVIDE)
    width = sum(font.getlength(p) for p in parts) + advance * (len(parts) - 1) + 2 * em
    canvas = Image.new("L", (int(width) + 2 * stroke, 3 * em), 0)
    draw = ImageDraw.Draw(canvas)
    x, baseline = em, 2 * em
    for i, part in enumerate(parts):
        if part:
            draw.text((x, baseline), part, font=font, fill=255, stroke_width=stroke, stroke_fill=255, anchor="ls")
        x += font.getlength(part)
        if i < len(parts) - 1:
            _draw_divide(draw, font, x + advance / 2, baseline, stroke)
            x += advance
    left, top, right, bottom = canvas.getbbox()
    pad = 4
    return canvas.crop((left - pad, top - pad, right + pad, bottom + pad))


def _draw_divide(draw: ImageDraw.ImageDraw, font, cx: float, baseline: float, stroke: int) -> None:
    """A ÷ centred on the plus sign's centre, its dots a bar's half-width above and below the bar."""
    _, top, _, bottom = font.getbbox("+", anchor="ls")
    cy = baseline + (top + bottom) / 2
    half = max(3.0, (bottom - top) / 2)  # the plus sign's half-height: the bar's half-width
    line = max(2.0, 0.09 * font.size)  # a marker line's width before the stroke thickens it
    bar, dot = line / 2 + stroke, line + stroke  # the bar's half-thickness, a dot's radius
    draw.rectangle([cx - half, cy - bar, cx + half, cy + bar], fill=255)
    for side in (-1, 1):
        y = cy + side * (half + dot * 0.4)
        draw.ellipse([cx - dot, y - dot, cx + dot, y + dot], fill=255)


def _slant_and_rotate(mask: Image.Image, shear: float, angle_deg: float) -> Image.Image:
    w, h = mask.size
    sw = w + int(np.ceil(abs(shear) * h))
    # AFFINE maps output to input pixels: x_in = x_out + shear * y_out - offset; shear > 0 leans right.
    offset = shear * h if shear > 0 else 0.0
    slanted = mask.transform((sw, h), Image.Transform.AFFINE, (1, shear, -offset, 0, 1, 0), Image.Resampling.BICUBIC)
    turned = slanted.rotate(angle_deg, resample=Image.Resampling.BICUBIC, expand=True)
    return turned.crop(turned.getbbox())


def _draw_wipe_noise(board: Image.Image, rng: np.random.Generator) -> None:
    draw = ImageDraw.Draw(board)
    w, h = board.size
    for _ in range(int(rng.integers(0, 4))):  # faint leftover strokes of an earlier, wiped equation
        grey = int(rng.integers(*NOISE_GREY_RANGE))
        x0, y0 = rng.uniform(0.05, 0.95) * w, rng.uniform(0.1, 0.9) * h
        dx, dy = rng.uniform(-0.25, 0.25) * w, rng.uniform(-0.15, 0.15) * h
        draw.line([(x0, y0), (x0 + dx, y0 + dy)], fill=(grey,) * 3, width=int(rng.integers(1, 4)))
    for _ in range(int(rng.integers(10, 50))):  # marker dust
        grey = int(rng.integers(*NOISE_GREY_RANGE))
        x, y = rng.uniform(0, w - 2), rng.uniform(0, h - 2)
        draw.ellipse([x, y, x + rng.uniform(0.5, 2.0), y + rng.uniform(0.5, 2.0)], fill=(grey,) * 3)


def _draw_frame(board: Image.Image) -> None:
    w, h = board.size
    ImageDraw.Draw(board).rectangle([0, 0, w - 1, h - 1], outline=FRAME_RGB, width=FRAME_PX)


def draw_whiteboard(
    text: str, rng: np.random.Generator, font_name: str, size: tuple[int, int] = BOARD_SIZE
) -> Image.Image:
    """An RGB whiteboard of `size` with `text` hand-written in marker, all ink inside text_region().

    The rng picks marker colour, font size, stroke weight, slant, rotation (±3°), a small offset
    from centre, and faint wipe marks; text that would not fit the region is scaled down to fit.
    """
    w, h = size
    colour_name = list(MARKER_RGB)[int(rng.integers(len(MARKER_RGB)))]
    font = load_font(font_name, max(8, int(h * rng.uniform(*FONT_HEIGHT_FRAC))))
    mask = _text_mask(text.translate(BOARD_GLYPHS), font, stroke=int(rng.integers(*STROKE_PX)))
    mask = _slant_and_rotate(mask, rng.uniform(-MAX_SHEAR, MAX_SHEAR), rng.uniform(-MAX_ROTATION_DEG, MAX_ROTATION_DEG))

    left, top, right, bottom = text_region(size)
    room_w, room_h = right - left, bottom - top
    scale = min(1.0, room_w / mask.width, room_h / mask.height)
    if scale < 1.0:
        mask = mask.resize(
            (max(1, int(mask.width * scale)), max(1, int(mask.height * scale))), Image.Resampling.LANCZOS
        )
    # Markers lay ink unevenly: thin the mask a little at random per pixel.
    streaks = rng.uniform(0.82, 1.0, size=(mask.height, mask.width))
    mask = Image.fromarray((np.asarray(mask, dtype=np.float64) * streaks).astype(np.uint8), mode="L")

    free_x, free_y = room_w - mask.width, room_h - mask.height
    jx = rng.uniform(-1, 1) * min(free_x / 2, JITTER_FRAC * w)
    jy = rng.uniform(-1, 1) * min(free_y / 2, JITTER_FRAC * h)
    x = int(np.clip(round(left + free_x / 2 + jx), left, right - mask.width))
    y = int(np.clip(round(top + free_y / 2 + jy), top, bottom - mask.height))

    board = Image.new("RGB", size, BOARD_RGB)
    _draw_wipe_noise(board, rng)
    board.paste(Image.new("RGB", mask.size, MARKER_RGB[colour_name]), (x, y), mask)
    _draw_frame(board)
    return board


def draw_whiteboard_from_photo(image: Image.Image, size: tuple[int, int] = BOARD_SIZE) -> Image.Image:
    """An RGB board of `size` showing a user's photo, scaled to fit the face and letterboxed on white."""
    face = (size[0] - 2 * FRAME_PX, size[1] - 2 * FRAME_PX)
    photo = ImageOps.contain(ImageOps.exif_transpose(image).convert("RGB"), face, Image.Resampling.LANCZOS)
    board = Image.new("RGB", size, BOARD_RGB)
    board.paste(photo, ((size[0] - photo.width) // 2, (size[1] - photo.height) // 2))
    _draw_frame(board)
    return board


def draw_digit_card(digit: int, size: int = 64, font_name: str | None = None) -> Image.Image:
    """An RGB `size`×`size` card top: a bold dark digit centred on a light face, 6 and 9 underlined."""
    label = str(int(digit))
    if len(label) != 1:
        raise ValueError(f"a card shows one digit 0-9, got {digit!r}")
    font = load_font(font_name or CARD_FONT, int(size * 0.7))
    card = Image.new("RGB", (size, size), CARD_RGB)
    draw = ImageDraw.Draw(card)
    edge = max(1, size // 32)
    draw.rectangle([0, 0, size - 1, size - 1], outline=CARD_EDGE_RGB, width=edge)
    left, top, right, bottom = font.getbbox(label)
    # Centre the ink, not the advance box, so every digit sits in the same visual spot.
    x, y = (size - (right - left)) / 2 - left, (size - (bottom - top)) / 2 - top - size * 0.04
    draw.text((x, y), label, font=font, fill=CARD_INK_RGB)
    if label in CARD_UNDERLINED:
        bar_w, bar_h = size * 0.36, max(2.0, size * 0.06)
        y0 = y + bottom + size * 0.05
        draw.rectangle([(size - bar_w) / 2, y0, (size + bar_w) / 2, y0 + bar_h], fill=CARD_INK_RGB)
    return card


def draw_label(
    text: str,
    size: tuple[int, int] = (128, 40),
    font_name: str = CARD_FONT,
    ink: tuple[int, int, int] = CARD_INK_RGB,
    paper: tuple[int, int, int] = BOARD_RGB,
) -> Image.Image:
    """An RGB label of `size` with `text` centred, as large as fits with a small margin."""
    w, h = size
    font_px = max(6, int(h * 0.8))
    while font_px > 6:
        left, top, right, bottom = load_font(font_name, font_px).getbbox(text)
        if right - left <= w * 0.9 and bottom - top <= h * 0.8:
            break
        font_px -= 1
    font = load_font(font_name, font_px)
    left, top, right, bottom = font.getbbox(text)
    label = Image.new("RGB", size, paper)
    ImageDraw.Draw(label).text(
        ((w - (right - left)) / 2 - left, (h - (bottom - top)) / 2 - top), text, font=font, fill=ink
    )
    return label
