"""Textures the simulator puts on surfaces: whiteboards, number cards, labels (PIL only, no physics).

All drawing is deterministic: randomness comes only from the `np.random.Generator` passed in,
so a seed reproduces a board pixel for pixel.
"""

from __future__ import annotations

import numpy as np
from PIL import Image, ImageDraw, ImageFilter, ImageOps

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

# How an uploaded photo's writing is found (photo_writing_box) and shown (fit_photo_to_board).
PHOTO_MIN_PX = 32  # a smaller image is shown whole: there is nothing to crop
PHOTO_WORK_PX = 320  # the long side, in pixels, at which a photo is searched for writing
PHOTO_CLOSING_FRAC = 1 / 16  # the window that fills strokes in to estimate the board behind them, of the long side
PHOTO_CLOSING_MIN_PX = 9
PHOTO_INK_CONTRAST = 30  # grey levels below the board behind it that a pixel of ink is at least ...
PHOTO_INK_CONTRAST_FRAC = 0.15  # ... and this share of that board's brightness (dim corners, faint old writing)
PHOTO_SPECK_FRAC = 1e-4  # marks of fewer pixels than this share of the photo are dust or noise
PHOTO_MAX_ELONGATION = 12  # a mark this many times longer than thick is an edge (the frame, a shelf), no character
PHOTO_MAX_MARK_FRAC = 0.6  # one mark wider or taller than this share of the photo is no character
PHOTO_BOARD_SEPARATION = 40  # grey levels between board and wall for the photo to count as showing a wall
PHOTO_EDGE_PX = 3  # the board's edge left out of the search (a blurred frame), at the working size
PHOTO_MIN_BOARD_FRAC = 0.05  # a brighter region smaller than this share of the photo is not the board
PHOTO_GAP_FRAC = 1.5  # marks closer than this many heights (the taller's) to a mark of the writing belong to it
PHOTO_MAX_HEIGHT_RATIO = 3.0  # a mark this many times taller or wider than characters are tall is no character
PHOTO_MARGIN_FRAC = 0.25  # the crop's margin around the writing, of the writing's height
PHOTO_MARGIN_MIN_PX = 4

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
    text: str,
    rng: np.random.Generator,
    font_name: str,
    size: tuple[int, int] = BOARD_SIZE,
    font_height_frac: tuple[float, float] = FONT_HEIGHT_FRAC,
) -> Image.Image:
    """An RGB whiteboard of `size` with `text` hand-written in marker, all ink inside text_region().

    The rng picks marker colour, font size (a share of the board's height drawn from `font_height_frac`), stroke
    weight, slant, rotation (±3°), a small offset from centre, and faint wipe marks; text that would not fit the
    region is scaled down to fit.
    """
    w, h = size
    colour_name = list(MARKER_RGB)[int(rng.integers(len(MARKER_RGB)))]
    font = load_font(font_name, max(8, int(h * rng.uniform(*font_height_frac))))
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


def photo_writing_box(image: Image.Image) -> tuple[int, int, int, int] | None:
    """The (left, top, right, bottom) pixel box, right/bottom exclusive, of the writing on a whiteboard photo,
    or None when no writing is found.

    Writing is what is clearly darker (or more coloured) than the board behind it, estimated by filling in every
    mark thinner than a sixteenth of the photo, so a gradient, a shadow or a glare does not read as ink. Only the
    bright board is searched, not the wall; specks, long straight edges (the frame) and outlines around other
    marks are ignored, and of the groups of marks close to each other the box keeps the one of most marks: a line
    of characters.
    """
    rgb = ImageOps.exif_transpose(image).convert("RGB")
    if min(rgb.size) < PHOTO_MIN_PX:
        return None
    ink_signal, scale = _photo_ink_signal(rgb)  # (h, w) uint8 min-channel at the working size
    k = max(PHOTO_CLOSING_MIN_PX, round(max(ink_signal.shape) * PHOTO_CLOSING_FRAC)) | 1
    # The board with its strokes filled in: marks thinner than k are gone, a shadow, a wall or a dark object larger
    # than k stays, so only strokes stand out against it.
    closed = _min_filter(_max_filter(ink_signal, k), k)
    board = _board_region(closed, erode=PHOTO_EDGE_PX)
    contrast = closed.astype(np.float64) - ink_signal
    ink = board & (contrast > np.maximum(PHOTO_INK_CONTRAST, PHOTO_INK_CONTRAST_FRAC * closed))
    boxes = _writing_marks(ink)
    if not len(boxes):
        return None
    cluster = _writing_cluster(boxes)
    if cluster is None:
        return None
    left, top, right, bottom = cluster
    w, h = rgb.size
    return (
        max(0, int(np.floor(left / scale))),
        max(0, int(np.floor(top / scale))),
        min(w, int(np.ceil(right / scale))),
        min(h, int(np.ceil(bottom / scale))),
    )


def fit_photo_to_board(
    image: Image.Image, box: tuple[int, int, int, int] | None, size: tuple[int, int] = BOARD_SIZE
) -> Image.Image:
    """An RGB board of `size` showing `box` of the photo (with a margin) as large as fits text_region(), centred
    on white; `box` None shows the whole photo, letterboxed on the face."""
    photo = ImageOps.exif_transpose(image).convert("RGB")
    if box is not None:
        left, top, right, bottom = box
        margin = max(PHOTO_MARGIN_MIN_PX, round(PHOTO_MARGIN_FRAC * (bottom - top)))
        photo = photo.crop(
            (
                max(0, left - margin),
                max(0, top - margin),
                min(photo.width, right + margin),
                min(photo.height, bottom + margin),
            )
        )
    # the writing found fills the region the sim's own boards write in, so it stands as large as what the model
    # read in training; the whole photo (no writing found) fills the face
    left, top, right, bottom = (
        text_region(size) if box is not None else (FRAME_PX, FRAME_PX, size[0] - FRAME_PX, size[1] - FRAME_PX)
    )
    photo = ImageOps.contain(photo, (right - left, bottom - top), Image.Resampling.LANCZOS)
    board = Image.new("RGB", size, BOARD_RGB)
    board.paste(photo, ((size[0] - photo.width) // 2, (size[1] - photo.height) // 2))
    _draw_frame(board)
    return board


def draw_whiteboard_from_photo(image: Image.Image, size: tuple[int, int] = BOARD_SIZE) -> Image.Image:
    """An RGB board of `size` showing a user's photo: its writing (photo_writing_box, with a margin) enlarged to
    fill the face, centred on white; a photo with no writing found is shown whole, letterboxed.

    A phone photo's writing is a small part of the frame: shown whole, it was 4-6 px tall in the board view,
    too few pixels to read."""
    return fit_photo_to_board(image, photo_writing_box(image), size)


def _photo_ink_signal(rgb: Image.Image) -> tuple[np.ndarray, float]:
    """(the darkest channel at about PHOTO_WORK_PX on the long side, uint8 (h, w); that size / the photo's).
    The darkest channel shows black, blue, red and green marker alike; each halving keeps the darkest pixel of
    each 3x3 first, so a thin stroke survives the shrinking."""
    ink = Image.fromarray(np.asarray(rgb).min(axis=2))
    while max(ink.size) > 2 * PHOTO_WORK_PX:
        ink = ink.filter(ImageFilter.MinFilter(3)).reduce(2)
    if max(ink.size) > PHOTO_WORK_PX:
        f = PHOTO_WORK_PX / max(ink.size)
        ink = ink.filter(ImageFilter.MinFilter(3)).resize(
            (max(1, round(ink.width * f)), max(1, round(ink.height * f))), Image.Resampling.BOX
        )
    return np.asarray(ink), ink.width / rgb.width


def _sliding(a: np.ndarray, k: int, axis: int, reduce) -> np.ndarray:
    pad = [(0, 0), (0, 0)]
    pad[axis] = (k // 2, k // 2)
    windows = np.lib.stride_tricks.sliding_window_view(np.pad(a, pad, mode="edge"), k, axis=axis)
    return reduce(windows, axis=-1)


def _max_filter(a: np.ndarray, k: int) -> np.ndarray:
    return _sliding(_sliding(a, k, 0, np.max), k, 1, np.max)


def _min_filter(a: np.ndarray, k: int) -> np.ndarray:
    return _sliding(_sliding(a, k, 0, np.min), k, 1, np.min)


def _board_region(closed: np.ndarray, erode: int) -> np.ndarray:
    """Where the board is: the largest bright region of the stroke-free photo, holes filled, shrunk by `erode`
    px so that its edge (the frame, the wall's shadow) never reads as ink. The whole photo when nothing stands
    out as a bright board (a close-up, a scan)."""
    whole = np.ones(closed.shape, dtype=bool)
    threshold, separation = _otsu(closed)
    if separation >= PHOTO_BOARD_SEPARATION:
        bright = closed > threshold
        labels, _ = _label(bright)
        areas = np.bincount(labels.ravel())
        areas[0] = 0
        board = labels == int(areas.argmax())
        # fill holes: the regions of not-board that do not touch the photo's edge
        holes, _ = _label(~board)
        edge = np.unique(np.concatenate([holes[0], holes[-1], holes[:, 0], holes[:, -1]]))
        board |= ~np.isin(holes, edge) & (holes > 0)
        if board.mean() >= PHOTO_MIN_BOARD_FRAC:
            whole = board
    whole[[0, -1], :] = whole[:, [0, -1]] = False
    return _min_filter(whole.astype(np.uint8), 2 * erode + 1).astype(bool)


def _otsu(values: np.ndarray) -> tuple[float, float]:
    """(Otsu's threshold of the values, the gap between the two classes' means in grey levels)."""
    hist = np.bincount(values.ravel(), minlength=256).astype(np.float64)
    levels = np.arange(256)
    w0 = np.cumsum(hist)
    w1 = w0[-1] - w0
    m0 = np.cumsum(hist * levels)
    mean0 = m0 / np.maximum(w0, 1)
    mean1 = (m0[-1] - m0) / np.maximum(w1, 1)
    between = w0 * w1 * (mean0 - mean1) ** 2
    t = int(between.argmax())
    return float(t), float(mean1[t] - mean0[t])


def _label(mask: np.ndarray) -> tuple[np.ndarray, int]:
    """(4-connected component labels, 1..n, 0 outside the mask; n), from runs of each row joined to the runs
    they touch in the row above."""
    h, w = mask.shape
    padded = np.zeros((h, w + 2), dtype=np.int8)
    padded[:, 1:-1] = mask
    steps = np.diff(padded, axis=1)
    rows, starts = np.nonzero(steps == 1)
    _, ends = np.nonzero(steps == -1)  # row-major order, so starts and ends pair up
    parent = list(range(len(rows)))

    def root(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    first_of_row = np.searchsorted(rows, np.arange(h + 1))
    for r in range(1, h):
        above = range(first_of_row[r - 1], first_of_row[r])
        for i in range(first_of_row[r], first_of_row[r + 1]):
            for j in above:
                if starts[j] < ends[i] and starts[i] < ends[j]:
                    a, b = root(i), root(j)
                    if a != b:
                        parent[max(a, b)] = min(a, b)
    roots = np.array([root(i) for i in range(len(rows))], dtype=np.int64)
    ids = np.unique(roots, return_inverse=True)[1] + 1 if len(rows) else roots
    labels = np.zeros((h, w), dtype=np.int64)
    for r, s, e, n in zip(rows, starts, ends, ids):
        labels[r, s:e] = n
    return labels, int(ids.max()) if len(rows) else 0


def _writing_marks(ink: np.ndarray) -> np.ndarray:
    """(left, top, right, bottom) exclusive of each component of the ink mask that may be a character, (n, 4):
    not a speck, not a straight edge (the frame, a shelf), not as large as much of the photo, not an outline
    around other marks (the frame again)."""
    labels, n = _label(ink)
    ys, xs = np.nonzero(labels)
    ids = labels[ys, xs] - 1
    area = np.bincount(ids, minlength=n).astype(np.float64)
    boxes = np.zeros((n, 4), dtype=np.int64)
    boxes[:, :2] = ink.shape[1], ink.shape[0]
    np.minimum.at(boxes[:, 0], ids, xs)
    np.minimum.at(boxes[:, 1], ids, ys)
    np.maximum.at(boxes[:, 2], ids, xs + 1)
    np.maximum.at(boxes[:, 3], ids, ys + 1)
    mx, my = np.bincount(ids, xs, n) / area, np.bincount(ids, ys, n) / area
    sxx = np.bincount(ids, xs * xs, n) / area - mx**2 + 1 / 12  # + a pixel's own spread
    syy = np.bincount(ids, ys * ys, n) / area - my**2 + 1 / 12
    sxy = np.bincount(ids, xs * ys, n) / area - mx * my
    root = np.sqrt(((sxx - syy) / 2) ** 2 + sxy**2)
    major, minor = (sxx + syy) / 2 + root, np.maximum((sxx + syy) / 2 - root, 1e-9)
    h, w = ink.shape
    keep = (
        (area >= PHOTO_SPECK_FRAC * ink.size)
        & (np.sqrt(major / minor) <= PHOTO_MAX_ELONGATION)
        & (boxes[:, 2] - boxes[:, 0] <= PHOTO_MAX_MARK_FRAC * w)
        & (boxes[:, 3] - boxes[:, 1] <= PHOTO_MAX_MARK_FRAC * h)
    )
    boxes = boxes[keep]
    inside = (
        (boxes[:, None, 0] < boxes[None, :, 0])
        & (boxes[:, None, 1] < boxes[None, :, 1])
        & (boxes[:, None, 2] > boxes[None, :, 2])
        & (boxes[:, None, 3] > boxes[None, :, 3])
    )  # [i, j]: mark j lies inside mark i's box
    return boxes[inside.sum(axis=1) < 2]


def _writing_cluster(boxes: np.ndarray) -> tuple[int, int, int, int] | None:
    """The box around the largest group of marks, a mark joining a group when it lies within PHOTO_GAP_FRAC of
    the taller one's height of one of its marks. A mark much taller or wider than the group's characters are tall
    (a frame's corner, an edge in the room next to the writing) is dropped and the rest grouped again; None when
    that leaves nothing (no mark is shaped like a character)."""
    while True:
        chosen = boxes[_largest_group(boxes)]
        heights = chosen[:, 3] - chosen[:, 1]
        # a character's height: "−", "=" and the dots of "÷" are short marks, so only the taller half counts
        usual = np.median(np.sort(heights)[len(heights) // 2 :])
        extent = np.maximum(heights, chosen[:, 2] - chosen[:, 0])
        tall = extent > PHOTO_MAX_HEIGHT_RATIO * usual
        if not tall.any():
            return (int(chosen[:, 0].min()), int(chosen[:, 1].min()), int(chosen[:, 2].max()), int(chosen[:, 3].max()))
        if tall.all():
            return None
        boxes = chosen[~tall]


def _largest_group(boxes: np.ndarray) -> np.ndarray:
    """Which marks (bool, (n,)) form the group of most marks (of most ink on a tie)."""
    heights = boxes[:, 3] - boxes[:, 1]
    gap = PHOTO_GAP_FRAC * np.maximum(heights[:, None], heights[None, :])
    near = (
        (boxes[:, None, 0] < boxes[None, :, 2] + gap)
        & (boxes[None, :, 0] < boxes[:, None, 2] + gap)
        & (boxes[:, None, 1] < boxes[None, :, 3] + gap)
        & (boxes[None, :, 1] < boxes[:, None, 3] + gap)
    )
    group = np.arange(len(boxes))
    while True:  # each mark takes the smallest group id among its neighbours until none changes
        merged = np.where(near, group[None, :], len(boxes)).min(axis=1)
        merged = merged[merged]
        if np.array_equal(merged, group):
            break
        group = merged
    ids, counts = np.unique(group, return_counts=True)
    ink_px = np.bincount(group, (boxes[:, 2] - boxes[:, 0]) * heights, len(boxes))[ids]
    return group == ids[np.lexsort((-ink_px, -counts))[0]]


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
