"""The CLI spells out some of its choices (importing the modules that own them would slow every command down):
each must stay the set its owner accepts."""

import argparse

from chatvla2_lite.cli import build_parser
from chatvla2_lite.evaluation.probe import ALL_SUITES
from chatvla2_lite.model.configuration_chatvla2 import OBJECTIVES
from chatvla2_lite.quantization import QUANTIZATIONS
from chatvla2_lite.training.recipe import RECIPES, STAGES
from sim.env import TASKS
from sim.splits import SPLITS
from sim.world import CARD_LAYOUTS

OWNED = {
    "card_layout": set(CARD_LAYOUTS),
    "split": set(SPLITS),
    "task": set(TASKS),
    "quantization": {q or "none" for q in QUANTIZATIONS},
    "stage": set(STAGES),
    "recipe": set(RECIPES),
    "suite": set(ALL_SUITES) | {"all"},
    "action_objective": set(OBJECTIVES),
}


def _choices(parser: argparse.ArgumentParser, path: str = "chatvla2-lite"):
    """(command path, option dest, choices) of every option with choices, in every subcommand."""
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                yield from _choices(sub, f"{path} {name}")
        elif action.choices is not None:
            yield path, action.dest, set(action.choices)


def test_every_spelled_out_choice_is_the_set_its_owner_accepts():
    found = list(_choices(build_parser()))
    unowned = sorted({dest for _, dest, _ in found} - set(OWNED))
    assert not unowned, f"choices with no owner to check them against: {unowned}"
    drifted = [(path, dest, choices ^ OWNED[dest]) for path, dest, choices in found if choices != OWNED[dest]]
    assert not drifted, f"choices that differ from their owner's (path, option, difference): {drifted}"
    assert {dest for _, dest, _ in found} >= {"card_layout", "split", "task", "stage", "suite"}
