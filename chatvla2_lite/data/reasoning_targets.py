"""Reasoning targets written from an episode's ground truth, and the parsers that read them back.

Math:  "The board says 3 + 4 = ?. 3 + 4 = 7. I pick the card 7."
       in the row world (sim/world.py): "... 3 + 4 = 7. The cards are 2, 7 and 9. I pick the card 7, the second
       from the left."
Toy:   "The red cube is at the front left. I place it to the right of the blue duck."

In a world whose reasoning points (sim/world.py; its envs' info says "points": true), each sentence that names a
thing ends with its point in the front camera's frame (sim/points.py: integers 0-1000, x from the left, y from the
top):
Math:  "The board says 3 + 4 = ?. 3 + 4 = 7. I pick the card 7 at (412, 655). I place it in the tray, at (391, 842)."
Toy:   "The red cube is at the front left, at (262, 701). I place it to the right of the blue duck, at (544, 610)."
`reasoning_points` (model/reasoning_points.py, where the action expert reads them) reads them back: the one parser
of points, for the action expert, the closed loop, the probes and the playground.

Where a toy stands is said as the front camera sees the table (sim/tasks/toy_placement.py): left is
+y, right is -y, front is toward the camera (smaller x), back is toward the board (larger x), split at
the middle of the workspace. The parsers tolerate any whitespace and letter case, so they can score a
model's generated text; a part they cannot find comes back as None.
"""

from __future__ import annotations

import re

from chatvla2_lite.model.reasoning_points import (
    PHRASE_TO_RELATION,
    RELATION_PHRASES,
    TOY_PLACE,
    TOY_WHERE,
    point_text,
    squash,
)
from sim.points import to_point
from sim.tasks.toy_placement import DIRECTIONS, PLACE_DISTANCE

# The middle of the reachable workspace (sim.tasks.base.WORKSPACE_X / _Y): the line between the halves.
TABLE_MID_X = 0.21
TABLE_MID_Y = 0.0
_EQUATION_TOKEN = re.compile(r"\d+|[+\-−×x*÷/:=?]")
_BOARD = re.compile(r"the board says\s*([^.]*)", re.IGNORECASE)  # an equation holds no full stop
_CARD = re.compile(r"i pick the card\s*(\d+)", re.IGNORECASE)
_RESULT = re.compile(r"=\s*(\d+)")  # the solution's "= 7"; the board's own equation ends "= ?"
_CARD_LIST = re.compile(r"the cards are\s*([^.]*)", re.IGNORECASE)
_PLACE = re.compile(r"i pick the card\s*\d+\s*,\s*the (\w+) from the left", re.IGNORECASE)
ORDINALS = ("first", "second", "third", "fourth", "fifth")  # math_matching lays out at most five cards


def canonical_equation(text: str) -> str:
    """The equation with one space between tokens: "3+4 =?" -> "3 + 4 = ?" (ASCII aliases kept as written)."""
    return " ".join(_EQUATION_TOKEN.findall(text))


def math_reasoning(info: dict) -> str:
    """The math_matching reasoning target from info's equation, solution and answer (and in the row world, its
    cards' places; in a world with points, the card's and the tray's points)."""
    return f"The board says {info['equation']}. {info['solution']}. {pick_sentences(info, int(info['answer']))}"


def followed_math_reasoning(info: dict, card: int) -> str:
    """A math reasoning that comes to `card`, the answer or not: the board as it reads, a result of `card` and the
    pick of it, as a model that misread or miscounted writes it (its pick follows its result)."""
    solution = info["equation"].replace("= ?", f"= {card}")
    return f"The board says {info['equation']}. {solution}. {pick_sentences(info, card)}"


def pick_sentences(info: dict, card: int) -> str:
    """How a math reasoning ends when it picks `card`: "I pick the card 7."; where the cards stand in a row
    (info's card_layout), first every card from left to right and then the pick's place among them, so the arm is
    told where to reach in words the model reads off the row: "The cards are 2, 7 and 9. I pick the card 7, the
    second from the left.". In a world with points, the pick ends with the card's point and the tray's follows:
    "I pick the card 7 at (412, 655). I place it in the tray, at (391, 842)."."""
    points = bool(info.get("points"))
    at = f" at {point_text(to_point(info['positions'][f'card_{card}']))}" if points else ""
    tray = f" I place it in the tray, at {point_text(to_point(info['positions']['tray']))}." if points else ""
    if info.get("card_layout") != "row":
        return f"I pick the card {card}{at}.{tray}"
    order = cards_left_to_right(info)
    listed, place = spoken_list([str(d) for d in order]), ORDINALS[order.index(card)]
    return f"The cards are {listed}. I pick the card {card}, the {place} from the left{',' if at else ''}{at}.{tray}"


def spoken_list(words: list[str]) -> str:
    """["2", "7", "9"] -> "2, 7 and 9", as the card and toy lists are said."""
    return words[0] if len(words) == 1 else ", ".join(words[:-1]) + " and " + words[-1]


def cards_left_to_right(info: dict) -> list[int]:
    """A math_matching info's card digits as the front camera sees them, from left (+y) to right."""
    return sorted((int(d) for d in info["candidates"]), key=lambda d: -info["positions"][f"card_{d}"][1])


def parse_math_reasoning(text: str) -> tuple[str | None, int | None]:
    """(the equation the text says the board shows, the card it picks); None for a part not found."""
    clean = squash(text)
    board = _BOARD.search(clean)
    card = _CARD.search(clean)
    equation = canonical_equation(board.group(1)) if board else None
    return (equation or None), (int(card.group(1)) if card else None)


def parse_math_parts(text: str) -> dict:
    """Every part a math reasoning says, for scoring them one by one: the board's equation, the solution's result,
    the cards listed from left to right and the pick's place among them (row world), and the card picked; None
    for a part not found."""
    clean = squash(text)
    equation, card = parse_math_reasoning(clean)
    board = _BOARD.search(clean)
    result = _RESULT.search(clean, board.end() if board else 0)
    listed = _CARD_LIST.search(clean)
    place = _PLACE.search(clean)
    ordinal = place.group(1).lower() if place else None
    return {
        "equation": equation,
        "result": int(result.group(1)) if result else None,
        "cards": [int(d) for d in re.findall(r"\d+", listed.group(1))] if listed else None,
        "card": card,
        "place": ORDINALS.index(ordinal) if ordinal in ORDINALS else None,
    }


def table_location(xy) -> tuple[str, str]:
    """(depth, side) of a table position as the front camera sees it: ("front"|"back", "left"|"right")."""
    x, y = float(xy[0]), float(xy[1])
    return ("front" if x < TABLE_MID_X else "back"), ("left" if y >= TABLE_MID_Y else "right")


def toy_reasoning(info: dict) -> str:
    """The toy_placement reasoning target: where the object stands now, then where it goes; in a world with
    points, each with its point (the toy's, and the place it is put: PLACE_DISTANCE along the relation, or the
    container's middle)."""
    depth, side = table_location(info["positions"]["toy_0"])
    phrase = RELATION_PHRASES[info["relation"]]
    if not info.get("points"):
        return f"The {info['object']} is at the {depth} {side}. I place it {phrase} the {info['target']}."
    toy, place = point_text(to_point(info["positions"]["toy_0"])), point_text(to_point(placement_xyz(info)))
    where = f"The {info['object']} is at the {depth} {side}, at {toy}."
    return f"{where} I place it {phrase} the {info['target']}, at {place}."


def placement_xyz(info: dict, relation: str | None = None, target_body: str | None = None) -> list[float]:
    """Where a toy_placement episode's object goes on the table (z 0): PLACE_DISTANCE along the relation from the
    target, or the container's middle for "in"; `relation` and `target_body` ask it of another pair."""
    relation, body = relation or info["relation"], target_body or info["target_body"]
    x, y = info["positions"][body][:2]
    if relation == "in":
        return [float(x), float(y), 0.0]
    dx, dy = DIRECTIONS[relation]
    return [float(x + dx * PLACE_DISTANCE), float(y + dy * PLACE_DISTANCE), 0.0]


def parse_toy_reasoning(text: str) -> tuple[str | None, str | None, str | None]:
    """(object, relation id, target) read from a toy reasoning text, lower-case; None for a part not found."""
    clean = squash(text)
    where = TOY_WHERE.search(clean)
    place = TOY_PLACE.search(clean)
    obj = where.group("object").lower() if where else None
    if place is None:
        return obj, None, None
    return obj, PHRASE_TO_RELATION[place.group("rel").lower()], place.group("target").lower()


def parse_toy_location(text: str) -> tuple[str, str] | None:
    """(depth, side) the toy reasoning says the object stands at, or None."""
    where = TOY_WHERE.search(squash(text))
    return (where.group("depth").lower(), where.group("side").lower()) if where else None


def reasoning_target(info: dict) -> str:
    """The reasoning target of an episode, for either task, from its (reset-time) info."""
    task = info.get("task")
    if task == "math_matching":
        return math_reasoning(info)
    if task == "toy_placement":
        return toy_reasoning(info)
    raise ValueError(
        f"no reasoning target for task {task!r}; pass the info of a math_matching or toy_placement episode"
    )
