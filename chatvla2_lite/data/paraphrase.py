"""Training-time rewordings of train-split instructions, so the model learns the task's slots, not one sentence.

A recorded demo carries one of the train split's few wordings ("Pick the red cube and place it to the left of
the bowl."). Trained on those alone, the nano model derailed on any other wording: heldout wordings turned its
reasoning into gibberish. `paraphrase` keeps the slots (object,
relation, target) and rebuilds the sentence from a grammar of verbs, connectives, politeness and word drops.

The grammar avoids the heldout templates' own wordings ("Put ...", "Move ... so it is", "inside", "Work out
the sum"), so the heldout split still measures wordings the model never trained on; a test checks that no
rewording parses as a heldout template.
"""

from __future__ import annotations

import re
import string
from functools import lru_cache

import numpy as np

from sim.catalog import COLOURS, CONTAINERS, OBJECT_KINDS
from sim.tasks.phrasing import IN, TEMPLATES, parse_instruction

_PICK = ("Pick", "Pick up", "Grab", "Take", "Lift", "Get", "Grasp", "Fetch")
_PLACE = ("place it", "set it down", "put it down", "drop it", "leave it", "position it", "lay it", "release it")
_CARRY = ("Place", "Bring", "Carry", "Take", "Set", "Transfer")  # one verb for the whole move
_REL = {
    "left": ("to the left of", "on the left of", "left of", "at the left of", "to the left side of"),
    "right": ("to the right of", "on the right of", "right of", "at the right of", "to the right side of"),
    "front": ("in front of", "just in front of", "in front of", "before"),
    "behind": ("behind", "just behind", "at the back of", "in back of"),
    IN: ("in", "into", "in", "into"),
}
_PREFIX = ("", "", "", "Please ", "Robot, ", "Now ", "Next, ", "Okay, ", "Could you ")
_SUFFIX = (".", ".", ".", "!", " please.", " now.", "", ", thanks.")
_MATH_DO = ("Solve", "Compute", "Calculate", "Answer", "Read and solve", "Find the answer to", "Do")
_MATH_WHAT = ("the problem", "the equation", "the question", "the math problem", "the exercise", "the task")
_MATH_WHERE = ("on the whiteboard", "on the board", "written on the board", "on the white board", "shown on the board")
_MATH_JOIN = (" and ", ", then ", ". Then ", " and then ", ", and ")  # what follows stays lower-case
_MATH_PLACE = ("place", "drop", "set", "bring", "carry", "lay")
_MATH_CARD = (
    "the answer card",
    "the card with the answer",
    "the right card",
    "the matching card",
    "the card showing the answer",
    "the correct card",
)
_MATH_TRAY = ("in the tray", "into the tray", "on the tray", "in the box tray")


def _pick(rng: np.random.Generator, options: tuple[str, ...]) -> str:
    return options[int(rng.integers(len(options)))]


def _toy_sentence(rng, obj: str, relation: str, target: str) -> str:
    rel = _pick(rng, _REL[relation])
    form = int(rng.integers(4))
    if form == 0:
        return f"{_pick(rng, _PICK)} the {obj} and {_pick(rng, _PLACE)} {rel} the {target}"
    if form == 1:
        return f"{_pick(rng, _CARRY)} the {obj} {rel} the {target}"
    if form == 2:
        return f"The {obj} goes {rel} the {target}"
    return f"{_pick(rng, _PICK)} the {obj}, then {_pick(rng, _PLACE)} {rel} the {target}"


def _math_sentence(rng) -> str:
    first = f"{_pick(rng, _MATH_DO)} {_pick(rng, _MATH_WHAT)} {_pick(rng, _MATH_WHERE)}"
    second = f"{_pick(rng, _MATH_PLACE)} {_pick(rng, _MATH_CARD)} {_pick(rng, _MATH_TRAY)}"
    return first + _pick(rng, _MATH_JOIN) + second


def _drop_words(rng, text: str, p: float) -> str:
    """Each "the" dropped with probability p: people write terse commands."""
    words = [w for w in text.split(" ") if not (w == "the" and rng.random() < p)]
    return " ".join(words)


def paraphrase(instruction: str, rng: np.random.Generator) -> str:
    """`instruction` (any template's wording) said another way with the same object, relation and target."""
    slots = parse_instruction(instruction)
    if slots["task"] == "math_matching":
        body = _math_sentence(rng)
    else:
        body = _toy_sentence(rng, slots["object"], slots["relation"], slots["target"])
    body = _drop_words(rng, body, 0.15)
    prefix = _pick(rng, _PREFIX)
    if prefix:
        body = body[0].lower() + body[1:]
    text = prefix + body + ("?" if prefix == "Could you " else _pick(rng, _SUFFIX))
    return text[0].upper() + text[1:]


def reworded(instruction: str, rng: np.random.Generator, share: float = 0.5) -> str:
    """The instruction as recorded with probability 1 - share, else a paraphrase of it."""
    return paraphrase(instruction, rng) if rng.random() < share else instruction


# Made-up toy names for `renamed`: non-words, mostly pronounceable ("kivo dasun"), some random letters ("qexd"), far
# too many to learn by heart, so the only way to write the name is to copy it from the instruction, letter by letter
# (every letter turns up, as in names the model never saw). A small pool of real words (240 pairs) was learnt by heart
# instead: the model wrote pool words, never the instruction's.
_ONSETS = (
    "b",
    "c",
    "d",
    "f",
    "g",
    "h",
    "j",
    "k",
    "l",
    "m",
    "n",
    "p",
    "r",
    "s",
    "t",
    "v",
    "w",
    "z",
    "sh",
    "ch",
    "tr",
    "bl",
    "gr",
    "pl",
    "dd",
    "nn",
    "tt",
    "pp",
)
_VOWELS = ("a", "e", "i", "o", "u", "y", "ee", "ou")
_CODAS = ("n", "m", "l", "r", "s", "t", "ck", "ng", "rt", "nd")


def _made_up_word(rng: np.random.Generator) -> str:
    """Mostly syllables, some closed ("pur-ple") and some ending in -y ("ted-dy"), as English names go: open
    syllables alone taught a model to write "pucple" for the heldout "purple" and "teddyke" for "teddy"."""
    if rng.random() < 0.25:
        return "".join(string.ascii_lowercase[i] for i in rng.integers(26, size=int(rng.integers(3, 8))))
    syllables = int(rng.integers(1, 4))
    word = "".join(
        _pick(rng, _ONSETS) + _pick(rng, _VOWELS) + (_pick(rng, _CODAS) if rng.random() < 0.35 else "")
        for _ in range(syllables)
    )
    return word + ("y" if rng.random() < 0.15 else "")


@lru_cache(maxsize=1)
def _taken_words() -> frozenset[str]:
    """Words a made-up name must not be: the catalog's names (the heldout ones above all) and every word of the
    task wordings of either split, of this grammar and of the reasoning targets ("and", "of", "left")."""
    wordings = [t.text.format(object="", rel="", target="") for t in TEMPLATES.values()]
    wordings += [phrase for t in TEMPLATES.values() for _, phrase in t.rel_phrases]
    grammar = [
        *_PICK,
        *_PLACE,
        *_CARRY,
        *(p for options in _REL.values() for p in options),
        *_PREFIX,
        *_SUFFIX,
        *_MATH_DO,
        *_MATH_WHAT,
        *_MATH_WHERE,
        *_MATH_JOIN,
        *_MATH_PLACE,
        *_MATH_CARD,
        *_MATH_TRAY,
        "goes then",
    ]
    reasoning = "The is at the front back left right I place it"
    words = {word.strip(".,!?").lower() for phrase in (*wordings, *grammar, reasoning) for word in phrase.split()}
    return frozenset(words | set(COLOURS) | set(OBJECT_KINDS) | set(CONTAINERS))


def _made_up_name(rng: np.random.Generator) -> str:
    """A colour-and-kind name that no split uses and no wording holds."""
    while True:
        words = (_made_up_word(rng), _made_up_word(rng))
        if not set(words) & _taken_words() and words[0] != words[1]:
            return " ".join(words)


def renamed(instruction: str, reasoning: str, rng: np.random.Generator, share: float = 0.25) -> tuple[str, str]:
    """With probability `share`, a toy demo's object (and toy target) given a made-up name in both the instruction
    and the reasoning target; else both as recorded. Trained only on the train split's names, the nano model wrote a
    train name for every heldout toy (recognition 0.00); renamed demos are meant to teach it to copy the
    name the instruction gives. Math instructions and containers keep their names."""
    if rng.random() >= share:
        return instruction, reasoning
    slots = parse_instruction(instruction)
    if slots["task"] != "toy_placement":
        return instruction, reasoning
    names = [slots["object"]] + ([slots["target"]] if slots["relation"] != IN else [])
    fresh: list[str] = []
    while len(fresh) < len(names):
        name = _made_up_name(rng)
        fresh += [name] if name not in fresh else []
    # longest first, so "red cube" is not half-replaced inside a longer name
    swaps = sorted(zip(names, fresh), key=lambda pair: -len(pair[0]))
    pattern = re.compile("|".join(rf"\b{re.escape(old)}\b" for old, _ in swaps), re.IGNORECASE)
    table = {old.lower(): new for old, new in swaps}

    def swap(text: str) -> str:
        return pattern.sub(lambda m: table[m.group(0).lower()], text)

    return swap(instruction), swap(reasoning)
