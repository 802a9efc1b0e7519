"""Markers on the front camera's image where the reasoning points (sim/points.py): what the model says it will take,
and where it will put it."""

from __future__ import annotations

import numpy as np
from PIL import Image, ImageDraw

from chatvla2_lite.model.reasoning_points import reasoning_points
from sim.points import POINT_SCALE, to_pixel

MARKER_RGB = {"object": (255, 140, 0), "place": (40, 200, 80)}  # orange: take this; green: put it here


def said_points(text: str) -> dict[str, tuple[int, int]]:
    """The points a (partial) reasoning has said so far, by role; roles it has not said are left out."""
    return {role: point for role, point in reasoning_points(text or "").items() if point is not None}


def mark_points(image: np.ndarray, points: dict[str, tuple[int, int]]) -> np.ndarray:
    """A copy of the front image with a ring and cross at each point; the image itself when there are none."""
    if not points:
        return image
    h, w = image.shape[:2]
    marked = Image.fromarray(image)
    draw = ImageDraw.Draw(marked)
    r = max(3, round(w / 45))  # about 5 px at 224: seen, without hiding a card
    for role, point in points.items():
        x, y = to_pixel(point, w, h)
        colour = MARKER_RGB[role]
        draw.ellipse([x - r, y - r, x + r, y + r], outline=colour, width=max(1, r // 3))
        draw.line([x - r / 2, y, x + r / 2, y], fill=colour)
        draw.line([x, y - r / 2, x, y + r / 2], fill=colour)
    return np.asarray(marked)


def clicked_point(index, front_shape) -> tuple[int, int]:
    """The point (sim/points.py) of a click at pixel `index` (column, row) on the front | wrist view, whose front
    frame is `front_shape` (H, W, ...); a click on the wrist half is refused, its pixels are not the front camera's."""
    column, row = (float(c) for c in index)
    height, width = front_shape[:2]
    if not (0 <= column < width and 0 <= row < height):
        raise ValueError("click the front camera (the left image): a reasoning's points are in its frame")
    return round(column / width * POINT_SCALE), round(row / height * POINT_SCALE)
