"""Pointing questions: "Point to the card 7." answered with the card's point in the front camera's frame.

Kinds: point_card (a math_matching scene: each card), point_toy (a toy_placement scene: each toy) and point_place
(where a toy goes: "Point to where the red cube goes to the left of the blue duck."). The answer is a point as
sim/points.py defines it, written as a reasoning writes it ("(412, 655)"). It counts as right when the ray through
it meets the table within POINT_TOLERANCE_M of the truth, at the height of the thing pointed at. Each question
carries the truth (world x, y, z in m) it is scored against.
"""

from __future__ import annotations

import numpy as np

from chatvla2_lite.data.reasoning_targets import placement_xyz
from chatvla2_lite.model.reasoning_points import RELATION_PHRASES, parse_point, point_text
from sim.points import on_plane, to_point
from sim.tasks.base import WORKSPACE_X, WORKSPACE_Y
from sim.tasks.toy_placement import DIRECTIONS

GROUNDING_KINDS = ("point_card", "point_toy", "point_place")
POINT_TOLERANCE_M = {"point_card": 0.015, "point_toy": 0.02, "point_place": 0.02}
PLACE_MARGIN = 0.01  # m beyond the workspace a place may lie and still be asked about: the expert reaches it


def _question(question: str, xyz) -> tuple[str, str, list[float]]:
    xyz = [float(v) for v in xyz]
    return question, point_text(to_point(xyz)), xyz


def card_point_questions(info: dict) -> list[tuple[str, str, list[float]]]:
    """(question, answer, truth) for every card of a math_matching scene, and its tray."""
    out = [_question(f"Point to the card {d}.", info["positions"][f"card_{d}"]) for d in info["candidates"]]
    return out + [_question("Point to the tray.", info["positions"]["tray"])]


def _toys(info: dict) -> list[tuple[str, list[float]]]:
    return [
        (info["toys"][int(body.split("_")[1])], pos) for body, pos in info["positions"].items() if body[:4] == "toy_"
    ]


def toy_point_questions(info: dict) -> list[tuple[str, str, list[float]]]:
    """(question, answer, truth) for every toy of a toy_placement scene, and its container if it has one."""
    out = [_question(f"Point to the {name}.", pos) for name, pos in _toys(info)]
    return out + [_question(f"Point to the {b}.", p) for b, p in info["positions"].items() if b[:4] != "toy_"]


def place_point_questions(info: dict) -> list[tuple[str, str, list[float]]]:
    """(question, answer, truth): where each toy goes by each relation to each other thing (and in a container),
    where that lies on the reachable table (the episode's own placement always does); z 0, the table."""
    out = []
    for toy, _ in _toys(info):
        for body in info["positions"]:
            target = info["toys"][int(body[4:])] if body[:4] == "toy_" else body
            if target == toy:
                continue
            for relation in [*DIRECTIONS, *(["in"] if body[:4] != "toy_" else [])]:
                xyz = placement_xyz(info, relation, body)
                if relation == "in" or _reachable(xyz):
                    out.append(
                        _question(f"Point to where the {toy} goes {RELATION_PHRASES[relation]} the {target}.", xyz)
                    )
    return out


def _reachable(xyz) -> bool:
    return all(lo - PLACE_MARGIN <= v <= hi + PLACE_MARGIN for v, (lo, hi) in zip(xyz, (WORKSPACE_X, WORKSPACE_Y)))


def point_error_m(said: str, truth) -> float | None:
    """How far (m) from `truth` on the table the first point in `said` lands, at the truth's height; None when
    `said` holds no point."""
    point = parse_point(said)
    if point is None:
        return None
    return float(np.linalg.norm(on_plane(point, float(truth[2])) - np.asarray(truth[:2], float)))
