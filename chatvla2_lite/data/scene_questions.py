"""Questions about a sim scene, answered from the sim's ground truth (pure functions of `info`).

Kinds for a toy_placement scene: recognition ("What toys are on the table?"), colour ("What colour
is the duck?"), count ("How many toys are on the table?") and spatial ("Is the red cube left of the
bowl?", "What is behind the blue duck?", "Where is the green sphere?"). For a math_matching scene,
cards ("What cards are on the table, from left to right?", "Where is the card 4?", "What is left of
the card 7?"): the skill the arm needs to find the card its reasoning names; card_list asks the list question
alone, every card's digit in one answer (the densest digit signal, for a reading curriculum). Directions are as the
front camera sees the table (sim/tasks/toy_placement.py): left is +y, behind is +x. One thing is `rel` of another when
`rel`'s axis carries most of the offset; pairs near the diagonal are never asked about, so every
answer is clear from the picture.
"""

from __future__ import annotations

import numpy as np

from chatvla2_lite.data.grounding_questions import place_point_questions, toy_point_questions
from chatvla2_lite.data.reasoning_targets import spoken_list, table_location

SCENE_KINDS = ("recognition", "colour", "count", "spatial")
CARD_KINDS = ("cards", "card_list")
YES_NO_KINDS = ("spatial", "cards")  # kinds whose yes/no questions are drawn half yes, half no
QUESTION_RELATIONS = {"left": "left of", "right": "right of", "front": "in front of", "behind": "behind"}
DIAGONAL_MARGIN = 0.02  # m: | |dx| - |dy| | below this is too close to the diagonal to call
CARD_LIST_QUESTION = "What cards are on the table, from left to right?"
MIN_GAP = 0.03  # m: things closer than this are not compared


def scene_entities(info: dict) -> list[tuple[str, np.ndarray]]:
    """(name, xy) of every toy ("red cube") and container ("bowl") in a toy_placement info."""
    out = []
    for body, pos in info["positions"].items():
        if body.startswith("toy_"):
            out.append((info["toys"][int(body.split("_")[1])], np.asarray(pos[:2], float)))
        else:
            out.append((body, np.asarray(pos[:2], float)))
    return out


def relation_between(a_xy, b_xy) -> str | None:
    """The relation ("left", "right", "front", "behind") of a to b, or None when it is not clear."""
    dx, dy = float(a_xy[0] - b_xy[0]), float(a_xy[1] - b_xy[1])
    if np.hypot(dx, dy) < MIN_GAP or abs(abs(dx) - abs(dy)) < DIAGONAL_MARGIN:
        return None
    if abs(dy) > abs(dx):
        return "left" if dy > 0 else "right"
    return "behind" if dx > 0 else "front"


def _split_name(name: str) -> tuple[str, str]:
    colour, shape = name.split(" ", 1)
    return colour, shape


def recognition_questions(info: dict, shapes: tuple[str, ...]) -> list[tuple[str, str]]:
    """(question, answer) pairs about which toys are there; `shapes` are the split's toy shapes."""
    toys = list(info["toys"])
    by_left = sorted(((name, xy) for name, xy in scene_entities(info) if name in toys), key=lambda e: -e[1][1])
    out = []
    gaps = [a[1][1] - b[1][1] for a, b in zip(by_left, by_left[1:])]
    if all(gap >= DIAGONAL_MARGIN for gap in gaps):  # an order the picture shows plainly
        out.append(("What toys are on the table, from left to right?", spoken_list([name for name, _ in by_left])))
    present = {_split_name(t)[1] for t in toys}
    out += [(f"Is there a {shape} on the table?", "yes" if shape in present else "no") for shape in shapes]
    colours = [_split_name(t)[0] for t in toys]
    for toy in toys:
        colour, shape = _split_name(toy)
        if colours.count(colour) == 1:
            out.append((f"What is the {colour} toy?", f"a {shape}"))
    return out


def colour_questions(info: dict) -> list[tuple[str, str]]:
    """(question, answer) pairs asking the colour of a toy named by its shape alone (when that is unique)."""
    shapes = [_split_name(t)[1] for t in info["toys"]]
    return [
        (f"What colour is the {shape}?", colour)
        for colour, shape in map(_split_name, info["toys"])
        if shapes.count(shape) == 1
    ]


def count_questions(info: dict, colours: tuple[str, ...]) -> list[tuple[str, str]]:
    """(question, answer) pairs counting all toys and the toys of each of the split's `colours`."""
    toys = list(info["toys"])
    out = [("How many toys are on the table?", str(len(toys)))]
    toy_colours = [_split_name(t)[0] for t in toys]
    out += [(f"How many {c} toys are on the table?", str(toy_colours.count(c))) for c in colours]
    return out


def spatial_questions(info: dict) -> list[tuple[str, str]]:
    """(question, answer) pairs about where things stand: yes/no per relation, which one, and where."""
    things = scene_entities(info)
    out = []
    for name, xy in things:
        if name in info["toys"]:
            depth, side = table_location(xy)
            out.append((f"Where is the {name}?", f"at the {depth} {side}"))
    return out + relation_questions(things)


def card_entities(info: dict) -> list[tuple[str, np.ndarray]]:
    """(name, xy) of every card ("card 4") and the tray in a math_matching info."""
    out = [(f"card {d}", np.asarray(info["positions"][f"card_{d}"][:2], float)) for d in info["candidates"]]
    return out + [("tray", np.asarray(info["positions"]["tray"][:2], float))]


def card_questions(info: dict) -> list[tuple[str, str]]:
    """(question, answer) pairs about the cards of a math_matching scene: which, whether, where, next to what."""
    things = card_entities(info)
    cards = _cards(things)
    out = _list_question(cards)
    out += [(f"Is there a card {d} on the table?", "yes" if d in info["candidates"] else "no") for d in range(10)]
    for name, xy in cards:
        depth, side = table_location(xy)
        out.append((f"Where is the {name}?", f"at the {depth} {side}"))
    return out + relation_questions(things)


def card_list_questions(info: dict) -> list[tuple[str, str]]:
    """The cards from left to right ("What cards are on the table, from left to right?" -> "4, 7 and 9"), when every
    card stands clearly left or right of the next; else none."""
    return _list_question(_cards(card_entities(info)))


def _cards(things: list[tuple[str, np.ndarray]]) -> list[tuple[str, np.ndarray]]:
    return [(name, xy) for name, xy in things if name.startswith("card")]


def _list_question(cards: list[tuple[str, np.ndarray]]) -> list[tuple[str, str]]:
    by_left = sorted(cards, key=lambda e: -e[1][1])
    if not all(a[1][1] - b[1][1] >= DIAGONAL_MARGIN for a, b in zip(by_left, by_left[1:])):
        return []
    return [(CARD_LIST_QUESTION, spoken_list([n.split()[1] for n, _ in by_left]))]


def relation_questions(things: list[tuple[str, np.ndarray]]) -> list[tuple[str, str]]:
    """Yes/no per relation between two things, and "what is <rel> B?" where exactly one thing is."""
    out = []
    for b_name, b_xy in things:
        related = {rel: [] for rel in QUESTION_RELATIONS}
        unclear = False
        for a_name, a_xy in things:
            if a_name == b_name:
                continue
            rel = relation_between(a_xy, b_xy)
            if rel is None:
                unclear = True
                continue
            related[rel].append(a_name)
            for ask, phrase in QUESTION_RELATIONS.items():
                out.append((f"Is the {a_name} {phrase} the {b_name}?", "yes" if ask == rel else "no"))
        if unclear:  # "what is behind B?" needs every other thing's relation to B to be clear
            continue
        for rel, names in related.items():
            if len(names) == 1:
                out.append((f"What is {QUESTION_RELATIONS[rel]} the {b_name}?", f"the {names[0]}"))
    return out


def scene_question_pool(
    info: dict, shapes: tuple[str, ...], colours: tuple[str, ...]
) -> dict[str, list[tuple[str, str]]]:
    """Every question of every scene kind this scene answers clearly: kind -> [(question, answer)], and the
    pointing kinds' [(question, answer, truth)]."""
    return {
        "recognition": recognition_questions(info, shapes),
        "colour": colour_questions(info),
        "count": count_questions(info, colours),
        "spatial": spatial_questions(info),
        "point_toy": toy_point_questions(info),
        "point_place": place_point_questions(info),
    }


def pick_questions(pool: dict[str, list[tuple]], kinds: list[str], rng: np.random.Generator) -> list[dict]:
    """One {"kind", "question", "answer"} per entry of `kinds` (and "target", the truth a pointing question is scored
    against), no question twice; a kind with none left is skipped.

    Yes/no spatial questions are drawn so "yes" and "no" come equally often.
    """
    used: set[str] = set()
    out = []
    for kind in kinds:
        options = [qa for qa in pool.get(kind, []) if qa[0] not in used]
        if kind in YES_NO_KINDS:
            yes, no = ([qa for qa in options if qa[1] == word] for word in ("yes", "no"))
            if rng.random() < 0.5:  # half the spatial questions are yes/no, as many yes as no
                options = (yes if rng.random() < 0.5 else no) or yes or no
            else:
                options = [qa for qa in options if qa[1] not in ("yes", "no")] or options
        if not options:
            continue
        question, answer, *truth = options[int(rng.integers(len(options)))]  # a pointing question holds its truth
        used.add(question)
        out.append({"kind": kind, "question": question, "answer": answer, **({"target": truth[0]} if truth else {})})
    return out
