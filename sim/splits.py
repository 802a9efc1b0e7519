"""The train / heldout split table: which fonts, math problems, toys, colours and phrasings each uses.

One table, read by every task. The splits are disjoint in every dimension, so a heldout episode
shows the model a font, a problem, a toy shape, a colour and an instruction wording it never
trained on. Math problems are split by a fixed hash of their canonical key (not by an RNG at
import), so the partition is the same on every machine and in every process.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from sim.errors import UnknownNameError

# Hash buckets for math problems: a problem whose key hashes to bucket b belongs to the split
# whose `math_buckets` holds b. 8 of 10 buckets train, 2 heldout: roughly 80/20.
MATH_BUCKETS = 10


@dataclass(frozen=True)
class SplitSpec:
    """One split: the names it may draw from in each dimension (all names exist in their module)."""

    name: str
    fonts: tuple[str, ...]  # sim.fonts names, matplotlib fonts only (same pixels everywhere)
    math_buckets: frozenset[int]  # of range(MATH_BUCKETS), see math_bucket()
    shapes: tuple[str, ...]  # sim.catalog object kind names
    colours: tuple[str, ...]  # sim.catalog colour names
    phrasings: tuple[str, ...]  # sim.tasks.phrasing template ids

    def has_math_problem(self, key: str) -> bool:
        """True when the math problem with canonical key `key` (e.g. "3+4-2") belongs here."""
        return math_bucket(key) in self.math_buckets


def math_bucket(key: str) -> int:
    """The hash bucket in range(MATH_BUCKETS) of a math problem's canonical key."""
    # sha256, not hash(): Python salts str hashes per process, which would reshuffle the split.
    return int.from_bytes(hashlib.sha256(key.encode("utf-8")).digest()[:8], "big") % MATH_BUCKETS


SPLITS: dict[str, SplitSpec] = {
    "train": SplitSpec(
        name="train",
        fonts=(
            "dejavu_sans",
            "dejavu_sans_bold",
            "dejavu_sans_oblique",
            "dejavu_serif",
            "dejavu_serif_bold",
            "dejavu_mono",
            "dejavu_mono_bold",
            "stix_general",
        ),
        math_buckets=frozenset(range(0, 8)),
        shapes=("cube", "cylinder", "sphere", "duck"),
        colours=("red", "green", "blue", "yellow"),
        phrasings=("pick_place_rel", "pick_up_set_rel", "pick_place_in", "pick_up_drop_in", "math_tray"),
    ),
    "heldout": SplitSpec(
        name="heldout",
        fonts=("dejavu_serif_italic", "dejavu_mono_bold_oblique", "stix_general_bold_italic"),
        math_buckets=frozenset(range(8, MATH_BUCKETS)),
        shapes=("teddy", "bunny"),
        colours=("orange", "purple"),
        phrasings=("put_rel", "move_so_rel", "put_inside", "math_tray_paraphrase"),
    ),
}


def get_split(name: str) -> SplitSpec:
    """The SplitSpec called `name` ("train" or "heldout"); raises UnknownNameError otherwise."""
    if name not in SPLITS:
        raise UnknownNameError("split", name, SPLITS)
    return SPLITS[name]


def as_split(split: str | SplitSpec) -> SplitSpec:
    """`split` itself when it is a SplitSpec, else the split it names."""
    return split if isinstance(split, SplitSpec) else get_split(split)


FONT_SOURCES = ("matplotlib", "corpus")  # where a world's boards take their fonts (sim/world.py)


def board_font(spec: SplitSpec, rng, source: str = "matplotlib") -> str:
    """The font a board of split `spec` is written in: one of its matplotlib fonts, or, from the corpus
    (sim/font_corpus.py, fetched by `make fonts`), a face of one of its families."""
    if source == "matplotlib":
        return spec.fonts[int(rng.integers(len(spec.fonts)))]
    if source == "corpus":
        from sim.font_corpus import draw_corpus_font  # reads the manifest: only for a corpus world

        return draw_corpus_font(spec.name, rng)
    raise UnknownNameError("font source", source, FONT_SOURCES)
