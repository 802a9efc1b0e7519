"""Instruction templates for the tabletop tasks, and a parser that inverts every one of them.

Each template has an id that `sim.splits` assigns to exactly one split, so heldout episodes use
wordings the model never trained on. A template is a format string with slots {object},
{target} and, for spatial placement, {rel}: a relation phrase from the template's own wording
table ("to the left of", "left of", ...), so the canonical relation ids stay the same everywhere.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from sim.splits import SplitSpec, as_split

RELATIONS = ("left", "right", "front", "behind")  # spatial relations; "in" is for containers
IN = "in"
TASKS = ("toy_placement", "math_matching")
MATH_OBJECT, MATH_TARGET = "answer card", "tray"  # what parse_instruction reports for math instructions

_TO_THE = {"left": "to the left of", "right": "to the right of", "front": "in front of", "behind": "behind"}
_BARE = {"left": "left of", "right": "right of", "front": "in front of", "behind": "behind"}


@dataclass(frozen=True)
class Template:
    """One instruction wording: its id, task, the relation kind it expresses and its format string."""

    id: str
    task: str  # one of TASKS
    kind: str  # "relation" (needs {rel}), "in" (a container) or "math" (no slots)
    text: str
    rel_phrases: tuple[tuple[str, str], ...] = ()  # (relation id, phrase) for kind == "relation"


TEMPLATES: dict[str, Template] = {
    t.id: t
    for t in (
        # train
        Template(
            "pick_place_rel",
            "toy_placement",
            "relation",
            "Pick the {object} and place it {rel} the {target}",
            tuple(_TO_THE.items()),
        ),
        Template(
            "pick_up_set_rel",
            "toy_placement",
            "relation",
            "Pick up the {object} and set it down {rel} the {target}",
            tuple(_TO_THE.items()),
        ),
        Template("pick_place_in", "toy_placement", "in", "Pick the {object} and place it in the {target}"),
        Template("pick_up_drop_in", "toy_placement", "in", "Pick up the {object} and drop it into the {target}"),
        Template(
            "math_tray",
            "math_matching",
            "math",
            "Solve the problem on the whiteboard and place the answer card in the tray",
        ),
        # heldout
        Template("put_rel", "toy_placement", "relation", "Put the {object} {rel} the {target}", tuple(_TO_THE.items())),
        Template(
            "move_so_rel",
            "toy_placement",
            "relation",
            "Move the {object} so it is {rel} the {target}",
            tuple(_BARE.items()),
        ),
        Template("put_inside", "toy_placement", "in", "Put the {object} inside the {target}"),
        Template(
            "math_tray_paraphrase",
            "math_matching",
            "math",
            "Work out the sum written on the whiteboard, then put the card with that number into the tray",
        ),
    )
}


def render_template(template_id: str, object: str = "", relation: str = "", target: str = "") -> str:
    """The instruction that template `template_id` makes from these slots (deterministic)."""
    t = TEMPLATES[template_id]
    if t.kind == "math":
        return t.text + "."
    if t.kind == "relation":
        phrases = dict(t.rel_phrases)
        if relation not in phrases:
            raise ValueError(f"relation {relation!r} is not one of {', '.join(RELATIONS)} for template {t.id!r}")
        return t.text.format(object=object, rel=phrases[relation], target=target) + "."
    if relation != IN:
        raise ValueError(f"template {t.id!r} places into a container; pass relation='in', not {relation!r}")
    return t.text.format(object=object, target=target) + "."


def templates_for(split: str | SplitSpec, task: str, relation: str | None = None) -> tuple[str, ...]:
    """The ids of `split`'s templates for `task` that can express `relation` (None: any)."""
    if task not in TASKS:
        raise ValueError(f"unknown task {task!r}; use one of {', '.join(TASKS)}")
    ids = []
    for tid in as_split(split).phrasings:
        t = TEMPLATES[tid]
        fits = t.kind == "math" or relation is None or (relation == IN) == (t.kind == "in")
        if t.task == task and fits:
            ids.append(tid)
    return tuple(ids)


def render_instruction(rng: np.random.Generator, split: str | SplitSpec, task: str = "toy_placement", **slots) -> str:
    """An instruction in one of `split`'s wordings, picked by `rng`.

    toy_placement takes object=, relation= (one of RELATIONS or "in") and target=;
    math_matching takes no slots.
    """
    relation = slots.get("relation")
    if task == "toy_placement" and relation not in RELATIONS + (IN,):
        raise ValueError(f"relation must be one of {', '.join(RELATIONS + (IN,))}, got {relation!r}")
    ids = templates_for(split, task, relation)
    return render_template(ids[int(rng.integers(len(ids)))], **slots)


_NAME = r"[a-z][a-z ]*?[a-z]"  # lowercase words; lazy so the literal text after it decides the end


@lru_cache(maxsize=1)
def _patterns() -> tuple[tuple[Template, re.Pattern], ...]:
    out = []
    for t in TEMPLATES.values():
        body = re.escape(t.text)
        body = body.replace(re.escape("{object}"), f"(?P<object>{_NAME})")
        body = body.replace(re.escape("{target}"), f"(?P<target>{_NAME})")
        if t.kind == "relation":
            # Longest phrase first so "to the left of" wins over any shorter phrase it contains.
            alts = sorted((p for _, p in t.rel_phrases), key=len, reverse=True)
            body = body.replace(re.escape("{rel}"), "(?P<rel>" + "|".join(map(re.escape, alts)) + ")")
        out.append((t, re.compile(body + r"\s*[.!]?", re.IGNORECASE)))
    return tuple(out)


def parse_instruction(text: str) -> dict[str, str]:
    """{"task", "object", "relation", "target", "template"} read from an instruction of any template.

    Matching ignores case, surrounding spaces and a final full stop; the slot values come back
    lower-case. Raises ValueError when no template (or more than one reading) fits.
    """
    clean = " ".join(text.strip().split())
    readings = {}
    for t, pattern in _patterns():
        m = pattern.fullmatch(clean)
        if m is None:
            continue
        if t.kind == "math":
            reading = {"task": t.task, "object": MATH_OBJECT, "relation": IN, "target": MATH_TARGET}
        else:
            rel = IN
            if t.kind == "relation":
                rel = {p: r for r, p in t.rel_phrases}[m.group("rel").lower()]
            reading = {
                "task": t.task,
                "object": m.group("object").lower(),
                "relation": rel,
                "target": m.group("target").lower(),
            }
        readings[tuple(reading.items())] = t.id
    if len(readings) != 1:
        why = "no template fits it" if not readings else "it reads more than one way"
        raise ValueError(
            f"cannot parse instruction {text!r}: {why}; "
            "write e.g. 'Pick the red cube and place it to the left of the bowl'"
        )
    ((items, tid),) = readings.items()
    return dict(items) | {"template": tid}
