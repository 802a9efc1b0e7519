"""Training rewordings keep the instruction's slots and never reproduce a heldout wording."""

import re

import numpy as np
import pytest

from chatvla2_lite.data.paraphrase import paraphrase, renamed, reworded
from chatvla2_lite.data.reasoning_targets import parse_toy_reasoning
from sim.splits import get_split
from sim.tasks.phrasing import RELATIONS, parse_instruction, render_template

HELDOUT_TEMPLATES = set(get_split("heldout").phrasings)
TRAIN_INSTRUCTIONS = [
    render_template("pick_place_rel", object="red cube", relation=rel, target="blue duck") for rel in RELATIONS
] + [
    render_template("pick_up_drop_in", object="green sphere", relation="in", target="bowl"),
    render_template("math_tray"),
]


@pytest.mark.parametrize("instruction", TRAIN_INSTRUCTIONS)
def test_rewordings_vary_and_keep_the_object_and_target(instruction):
    rng = np.random.default_rng(0)
    slots = parse_instruction(instruction)
    said = {paraphrase(instruction, rng) for _ in range(200)}
    assert len(said) > 50, "a handful of wordings would teach little"
    if slots["task"] == "toy_placement":
        assert all(slots["object"] in s.lower() and slots["target"] in s.lower() for s in said)
    else:
        assert all("board" in s.lower() and "tray" in s.lower() for s in said)


def test_no_rewording_is_a_heldout_wording():
    rng = np.random.default_rng(1)
    for instruction in TRAIN_INSTRUCTIONS:
        for _ in range(500):
            text = paraphrase(instruction, rng)
            try:
                template = parse_instruction(text)["template"]
            except ValueError:
                continue  # not any template's wording: the point
            assert template not in HELDOUT_TEMPLATES, text


def test_reworded_keeps_the_recorded_instruction_for_the_rest():
    rng = np.random.default_rng(2)
    instruction = TRAIN_INSTRUCTIONS[0]
    said = [reworded(instruction, rng, share=0.25) for _ in range(400)]
    kept = sum(s == instruction for s in said) / len(said)
    assert 0.65 < kept < 0.85
    assert all(s == instruction for s in (reworded(instruction, rng, share=0.0) for _ in range(20)))


def test_renamed_toys_keep_the_relation_and_never_take_a_name_of_either_split():
    from sim.catalog import COLOURS, CONTAINERS, OBJECT_KINDS

    known = set(COLOURS) | set(OBJECT_KINDS) | set(CONTAINERS)
    instruction = TRAIN_INSTRUCTIONS[0]  # red cube, left of the blue duck
    reasoning = "The red cube is at the front left. I place it to the left of the blue duck."
    rng = np.random.default_rng(0)
    pairs = [renamed(instruction, reasoning, rng, share=1.0) for _ in range(300)]
    # too many names to learn by heart, over every letter: writing one means copying it from the instruction
    assert len(set(pairs)) > 290
    assert set("".join(parse_instruction(said)["object"] for said, _ in pairs)) >= set("abcdefghijklmnopqrstuvwxyz")
    # the shapes of English names too: a closed syllable inside a word ("pur-ple") and a final -y ("ted-dy")
    words = [w for said, _ in pairs for w in parse_instruction(said)["object"].split()]
    assert sum(bool(re.search(r"[aeiou](r|rt|nd|ng|ck)[^aeiouy]", w)) for w in words) > 30
    assert sum(w.endswith("y") for w in words) > 30
    for said, thought in pairs:
        slots = parse_instruction(said)
        obj, relation, target = parse_toy_reasoning(thought)
        assert (slots["object"], slots["relation"], slots["target"]) == (
            obj,
            relation,
            target,
        )  # the same names in both
        assert relation == "left" and obj != target and "front left" in thought
        assert not set((obj + " " + target).split()) & known


def test_renaming_spares_containers_and_math_and_holds_its_share():
    rng = np.random.default_rng(1)
    into_bowl = TRAIN_INSTRUCTIONS[-2]
    said, thought = renamed(into_bowl, "The green sphere is at the back right. I place it in the bowl.", rng, share=1.0)
    assert "green sphere" not in said and parse_instruction(said)["target"] == "bowl" and thought.endswith("the bowl.")
    math = TRAIN_INSTRUCTIONS[-1]
    assert renamed(math, "The board says 1 + 2 = ?. 1 + 2 = 3. I pick the card 3.", rng, share=1.0)[0] == math
    kept = sum(renamed(TRAIN_INSTRUCTIONS[0], "x", rng, share=0.25)[0] == TRAIN_INSTRUCTIONS[0] for _ in range(2000))
    assert 0.70 < kept / 2000 < 0.80
