"""Instruction templates: every wording round-trips through parse_instruction."""

import numpy as np
import pytest

from sim import catalog
from sim.splits import SPLITS
from sim.tasks import phrasing

TOYS = [catalog.display_name(k, c) for k in catalog.OBJECT_KINDS for c in catalog.COLOURS]
TARGETS = TOYS + list(catalog.CONTAINERS)


@pytest.mark.parametrize("template_id", list(phrasing.TEMPLATES))
def test_every_template_round_trips_every_slot_value(template_id):
    t = phrasing.TEMPLATES[template_id]
    if t.kind == "math":
        got = phrasing.parse_instruction(phrasing.render_template(template_id))
        assert got == {
            "task": "math_matching",
            "object": "answer card",
            "relation": "in",
            "target": "tray",
            "template": template_id,
        }
        return
    relations = phrasing.RELATIONS if t.kind == "relation" else (phrasing.IN,)
    targets = TARGETS if t.kind == "relation" else list(catalog.CONTAINERS)
    for obj in TOYS:
        for rel in relations:
            for target in targets:
                text = phrasing.render_template(template_id, object=obj, relation=rel, target=target)
                got = phrasing.parse_instruction(text)
                assert got == {
                    "task": t.task,
                    "object": obj,
                    "relation": rel,
                    "target": target,
                    "template": template_id,
                }, text


def test_parse_ignores_case_spacing_and_full_stop():
    got = phrasing.parse_instruction("  pick the RED cube and place it   to the left of the bowl ")
    assert (got["object"], got["relation"], got["target"]) == ("red cube", "left", "bowl")


@pytest.mark.parametrize("text", ["", "Dance.", "Pick the red cube", "Put the red cube near the bowl."])
def test_parse_refuses_unknown_wordings(text):
    with pytest.raises(ValueError, match="cannot parse"):
        phrasing.parse_instruction(text)


@pytest.mark.parametrize("split", list(SPLITS))
def test_render_instruction_uses_only_its_split_and_is_deterministic(split):
    allowed = set(SPLITS[split].phrasings)
    for seed in range(40):
        rng = np.random.default_rng(seed)
        rel = (phrasing.RELATIONS + (phrasing.IN,))[seed % 5]
        text = phrasing.render_instruction(rng, split, object="green sphere", relation=rel, target="tray")
        got = phrasing.parse_instruction(text)
        assert got["template"] in allowed and got["relation"] == rel
        again = phrasing.render_instruction(
            np.random.default_rng(seed), split, object="green sphere", relation=rel, target="tray"
        )
        assert again == text
    math_text = phrasing.render_instruction(np.random.default_rng(0), split, "math_matching")
    assert phrasing.parse_instruction(math_text)["template"] in allowed


def test_render_instruction_refuses_bad_relations_and_tasks():
    rng = np.random.default_rng(0)
    with pytest.raises(ValueError):
        phrasing.render_instruction(rng, "train", object="red cube", relation="above", target="bowl")
    with pytest.raises(ValueError):
        phrasing.render_instruction(rng, "train", "juggling")
