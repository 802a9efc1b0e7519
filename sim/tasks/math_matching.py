"""math_matching: the board shows a one-digit-answer problem; put the answer card in the tray.

Success: the answer card rests inside the tray and no other card does.
"""

from __future__ import annotations

import numpy as np

from sim.catalog import NUMBER_CARD, container
from sim.expert import PickPlace
from sim.splits import as_split, board_font
from sim.tasks.base import (
    LAYOUT_TRIES,
    Episode,
    LayoutError,
    box_grasp_yaws,
    obstacle_boxes,
    resting_on,
    sample_positions,
)
from sim.tasks.math_problems import equation_with_answer, sample_problem
from sim.tasks.phrasing import render_instruction
from sim.textures import draw_digit_card, draw_whiteboard

CARD_COUNT = (3, 5)  # candidates on the table, the answer among them
CARD_GAP = 0.065  # m between card centres, so the opening jaw mostly clears the neighbours
CARDS_X = (0.14, 0.28)
TRAY_CLEARANCE = 0.11  # m from the tray's centre to any card's centre
TRAY_X = (0.17, 0.21)
TRAY_ABS_Y = (0.13, 0.15)
INSIDE_MARGIN = 0.004  # m a card's centre must stay inside the tray's inner walls, beyond its half size
SCATTERED_TURN = np.pi / 4  # rad either way a scattered card is turned
# The row layout (sim.world.CARD_LAYOUTS): at the back of the cards' band, where the front camera sees every card
# whole, evenly spaced across the band, each turned so its digit stands upright in the front camera's frame.
ROW_X = 0.26
ROW_END_MARGIN = 0.01  # m between the band's ends and the outer cards
ROW_YAW = -np.pi / 2


def card_name(digit: int) -> str:
    """The scene body name of the card showing `digit`."""
    return f"card_{digit}"


def card_in_tray(scene, digit: int) -> bool:
    """True when the card showing `digit` rests on the tray's floor, inside its walls."""
    tray, card = scene.bodies["tray"], scene.bodies[card_name(digit)]
    tray_pos, _ = scene.pose(tray)
    local = _to_local(scene, tray, scene.pose(card)[0] - tray_pos)
    kind = container("tray")
    half_in = np.array(kind.inner_size[:2]) / 2 - NUMBER_CARD.size[0] / 2 + INSIDE_MARGIN
    floor = tray_pos[2] + kind.parts[0].size[2]
    return bool(np.all(np.abs(local[:2]) <= half_in)) and resting_on(scene, card, floor, NUMBER_CARD.size[2])


def _to_local(scene, body: int, v: np.ndarray) -> np.ndarray:
    yaw = scene.yaw(body)
    c, s = np.cos(yaw), np.sin(yaw)
    return np.array([c * v[0] + s * v[1], -s * v[0] + c * v[1], v[2]])


def row_positions(count: int, y_range: tuple[float, float]) -> list[np.ndarray]:
    """`count` table positions (x, y) in one row at ROW_X, evenly spaced across `y_range` (ascending y)."""
    ys = np.linspace(y_range[0] + ROW_END_MARGIN, y_range[1] - ROW_END_MARGIN, count)
    return [np.array([ROW_X, y]) for y in ys]


class MathMatching:
    """The math_matching task; `card_layout` is one of sim.world.CARD_LAYOUTS, `fonts` sim.splits.FONT_SOURCES."""

    name = "math_matching"

    def __init__(self, card_layout: str = "scattered", fonts: str = "matplotlib"):
        from sim.world import CARD_LAYOUTS

        if card_layout not in CARD_LAYOUTS:
            raise ValueError(f"unknown card layout {card_layout!r}; use one of {', '.join(CARD_LAYOUTS)}")
        self.card_layout, self.fonts = card_layout, fonts

    def build(self, scene, rng: np.random.Generator, split) -> Episode:
        """Write a problem on the board, lay out candidate cards and the tray; the answer card is the pick.

        Both layouts make the same draws, so a seed gives the same board, cards and tray in either; only where the
        cards lie and how they are turned differ."""
        split = as_split(split)
        problem = sample_problem(rng, split)
        font = board_font(split, rng, self.fonts)
        scene.set_board_image(draw_whiteboard(problem.text, rng, font))
        count = int(rng.integers(CARD_COUNT[0], CARD_COUNT[1] + 1))
        others = [d for d in range(10) if d != problem.answer]
        digits = [problem.answer] + [int(d) for d in rng.choice(others, size=count - 1, replace=False)]
        rng.shuffle(digits)
        for attempt in range(LAYOUT_TRIES):  # a rare crowded draw fails to place every card: draw the tray again
            side = 1.0 if rng.random() < 0.5 else -1.0
            tray_xy = (rng.uniform(*TRAY_X), side * rng.uniform(*TRAY_ABS_Y))
            tray_yaw = float(rng.uniform(-0.2, 0.2))
            cards_y = (-0.15, 0.07) if side > 0 else (-0.07, 0.15)
            # clear of the tray by a finger's width, so the open jaw never lands on its wall
            keep_out = ((*tray_xy, TRAY_CLEARANCE),)
            try:
                positions = sample_positions(rng, count, CARD_GAP, x_range=CARDS_X, y_range=cards_y, keep_out=keep_out)
                break
            except LayoutError:
                if attempt == LAYOUT_TRIES - 1:
                    raise
        yaws = [float(rng.uniform(-SCATTERED_TURN, SCATTERED_TURN)) for _ in digits]
        if self.card_layout == "row":
            positions, yaws = row_positions(count, cards_y), [ROW_YAW] * count
        scene.add_container("tray", "tray", tray_xy, yaw=tray_yaw)
        for digit, xy, yaw in zip(digits, positions, yaws):
            scene.add_card(card_name(digit), draw_digit_card(digit), xy, yaw)
        scene.settle(0.2)
        return Episode(
            instruction=render_instruction(rng, split, task=self.name),
            pick=card_name(problem.answer),
            ground_truth={
                "equation": problem.text,
                "solution": equation_with_answer(problem),
                "answer": problem.answer,
                "candidates": sorted(digits),
                "font": font,
                "card_layout": self.card_layout,
            },
        )

    def is_success(self, scene, episode: Episode) -> bool:
        """The answer card rests in the tray and no other card does."""
        answer = episode.ground_truth["answer"]
        if not card_in_tray(scene, answer):
            return False
        return not any(card_in_tray(scene, d) for d in episode.ground_truth["candidates"] if d != answer)

    def expert_plan(self, scene, episode: Episode) -> PickPlace:
        """Pick the answer card across two opposite faces and put it down in the tray's middle."""
        card = scene.bodies[episode.pick]
        pos, _ = scene.pose(card)
        tray_pos, _ = scene.pose(scene.bodies["tray"])
        return PickPlace(
            pick_xy=(float(pos[0]), float(pos[1])),
            object_height=NUMBER_CARD.size[2],
            grasp_yaws=tuple(box_grasp_yaws(scene.yaw(card))),
            place_xy=(float(tray_pos[0]), float(tray_pos[1])),
            place_surface_z=container("tray").parts[0].size[2],
            obstacles=obstacle_boxes(scene, card),
        )
