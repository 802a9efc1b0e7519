"""How a reasoning says where things are, and the one parser that reads its points back.

A reasoning names the thing it takes and where it puts it, each sentence ending with its point in the front camera's
frame (sim/calibration.py: integers 0-1000, x from the left, y from the top):
Math:  "... I pick the card 7 at (412, 655). I place it in the tray, at (391, 842)."
Toy:   "The red cube is at the front left, at (262, 701). I place it to the right of the blue duck, at (544, 610)."
It lives with the model because the action expert reads these points (model/geometry.py): the closed loop, the
probes and the playground read them through the same `reasoning_points`. The patterns tolerate any whitespace and
letter case, so they read a model's generated text; a part they cannot find comes back as None.
"""

from __future__ import annotations

import re

RELATION_PHRASES = {
    "left": "to the left of",
    "right": "to the right of",
    "front": "in front of",
    "behind": "behind",
    "in": "in",
}
PHRASE_TO_RELATION = {phrase: rel for rel, phrase in RELATION_PHRASES.items()}

_NAME = r"[a-z][a-z ]*?[a-z]"
_POINT_TEXT = r"\(\s*(\d+)\s*,\s*(\d+)\s*\)"
_AT_POINT = rf"(?:\s*,?\s*at\s*{_POINT_TEXT})?"  # a sentence's optional point, just before its full stop
TOY_PLACE = re.compile(
    rf"i place it (?P<rel>{'|'.join(sorted(map(re.escape, PHRASE_TO_RELATION), key=len, reverse=True))}) "
    rf"the (?P<target>{_NAME}){_AT_POINT}\s*(?:\.|$)",
    re.IGNORECASE,
)
TOY_WHERE = re.compile(
    rf"the (?P<object>{_NAME}) is at the (?P<depth>front|back) (?P<side>left|right){_AT_POINT}\s*\.", re.IGNORECASE
)
_PICK_POINT = re.compile(rf"i pick the card\s*\d+[^.]*?\bat\s*{_POINT_TEXT}", re.IGNORECASE)


def squash(text: str) -> str:
    """The text with every run of whitespace made one space."""
    return " ".join(str(text).split())


def point_text(point) -> str:
    """A point as a reasoning writes it: "(412, 655)"."""
    return f"({int(point[0])}, {int(point[1])})"


def parse_point(text: str) -> tuple[int, int] | None:
    """The first point "(x, y)" written in `text`, or None."""
    found = re.search(_POINT_TEXT, str(text))
    return (int(found.group(1)), int(found.group(2))) if found else None


def reasoning_points(text: str) -> dict[str, tuple[int, int] | None]:
    """The points a reasoning says: {"object": where the card or toy it takes is, "place": where it puts it};
    None for one it does not say. The one parser of points in a reasoning."""
    clean = squash(text)
    pick = _PICK_POINT.search(clean) or TOY_WHERE.search(clean)
    place = TOY_PLACE.search(clean)

    def point(found) -> tuple[int, int] | None:  # each pattern ends with the point's two groups
        x, y = found.groups()[-2:] if found else (None, None)
        return None if x is None else (int(x), int(y))

    return {"object": point(pick), "place": point(place)}


def with_point(text: str, role: str, point) -> str:
    """The reasoning (whitespace squashed) with the point of `role` ("object" or "place") moved to `point`, the
    words around it as they were: how a person, or the point-edit eval, tells the arm to go elsewhere."""
    if role not in ("object", "place"):
        raise ValueError(f"a reasoning points at the object or the place, not {role!r}")
    clean = squash(text)
    found = (_PICK_POINT.search(clean) or TOY_WHERE.search(clean)) if role == "object" else TOY_PLACE.search(clean)
    groups = len(found.groups()) if found else 0
    if not found or found.group(groups) is None:
        raise ValueError(f"the reasoning says no {role} point to move; it needs one such as (412, 655)")
    start = clean.rindex("(", 0, found.start(groups - 1))
    end = clean.index(")", found.end(groups)) + 1
    return f"{clean[:start]}{point_text(point)}{clean[end:]}"
