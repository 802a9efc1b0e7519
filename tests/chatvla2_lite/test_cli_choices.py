"""The CLI spells out a few of its choices (importing the modules that own them would slow every command down):
each must stay the set its owner accepts."""

import argparse

from chatvla2_lite.cli import build_parser
from chatvla2_lite.data.lerobot_dataset import VIDEO_CODECS
from chatvla2_lite.evaluation.probe import PROBE_SUITES
from chatvla2_lite.quantization import QUANTIZATIONS
from chatvla2_lite.robots.so100.lerobot_driver import DRIVERS
from chatvla2_lite.training.recipe import recipe_names
from sim.env import TASKS
from sim.splits import SPLITS
from sim.world import CARD_LAYOUTS

OWNED = {
    "card_layout": set(CARD_LAYOUTS),
    "split": set(SPLITS),
    "task": set(TASKS),
    "quantization": {q or "none" for q in QUANTIZATIONS},
    "recipe": set(recipe_names()),
    "suite": set(PROBE_SUITES) | {"all"},
    "command": {"record", "train", "export", "eval", "probe", "bench", "so100"},
    "target": {"sim", "model", "train"},
    "action": {"calibrate", "test-move", "bench"},  # so100's
    "driver": set(DRIVERS),
    "codec": set(VIDEO_CODECS),  # record's
}


def _choices(parser: argparse.ArgumentParser, path: str = "chatvla2-lite"):
    """(command path, option dest, choices) of every option with choices, in every subcommand."""
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            yield path, action.dest, set(action.choices)
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
    assert {dest for _, dest, _ in found} >= {"card_layout", "split", "task", "recipe", "suite"}


def test_the_product_cli_is_a_few_verbs_with_few_options():
    parser = build_parser()
    options = [dest for _, dest, _ in _all_options(parser)]
    # 70 before the real arm's so100 verb (its port, id and driver once, on so100 itself; --json, --yes, --emulated)
    assert len(options) <= 78, f"{len(options)} options (107 before the diagnostics moved to experiments/)"


def _all_options(parser, path="chatvla2-lite"):
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                yield from _all_options(sub, f"{path} {name}")
        elif action.option_strings and action.dest != "help":
            yield path, action.dest, action.choices
