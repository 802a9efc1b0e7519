"""What every experiment's command line shares: the model options, the world it runs in, one JSON line out."""

from __future__ import annotations

import argparse
import json
import sys

from chatvla2_lite.errors import ChatVLA2Error
from sim.errors import SimError
from sim.world import CARD_LAYOUTS, World


def parser(module_doc: str, prog: str, model: bool = True) -> argparse.ArgumentParser:
    """An argument parser for `python -m experiments.<prog>` with --json (and --model, --threads, the world)."""
    p = argparse.ArgumentParser(prog=f"python -m experiments.{prog}", description=module_doc.splitlines()[0])
    if model:
        p.add_argument("--model", default=None, help="Hub id or local folder (default: the nano checkpoint)")
        p.add_argument("--threads", type=int, default=1, help="torch threads (the sim uses the other core)")
    p.add_argument("--camera-size", type=int, default=None, metavar="PX", help="the cameras' frame side")
    p.add_argument("--card-layout", choices=CARD_LAYOUTS, default=None, help="how math_matching lays out its cards")
    p.add_argument("--json", action="store_true", help="print one JSON object as the last line")
    return p


def episode_options(p: argparse.ArgumentParser, episodes: int, each: str) -> None:
    """--split, --episodes (`episodes` by default; `each` says what one episode gives) and --seed, as every
    experiment that plays episodes of the sim takes them."""
    p.add_argument("--split", choices=("train", "heldout"), default="heldout", help="which split's scenes")
    p.add_argument("--episodes", type=int, default=episodes, help=f"episodes, {each}")
    p.add_argument("--seed", type=int, default=10_000, help="first episode seed")


def world_of(args: argparse.Namespace, base=None) -> World:
    """`base` (a World, its dict or None) with the --camera-size and --card-layout given; a bad one fails here."""
    return World.of(base).overridden(camera_size=args.camera_size, card_layout=args.card_layout)


def load(args: argparse.Namespace):
    """The policy of --model, put in the world --camera-size and --card-layout ask for (unset: its own)."""
    import torch

    from chatvla2_lite.model.policy_chatvla2 import load_policy

    world_of(args)  # a bad world fails before the model loads
    torch.set_num_threads(args.threads)
    policy = load_policy(args.model)
    policy.processor.world = world_of(args, policy.processor.world).to_dict()
    return policy


def run(measure, args: argparse.Namespace) -> int:
    """Print measure(args) as one JSON line (or a table); a project error is one line on stderr and exit code 2."""
    try:
        result = measure(args)
    except (ChatVLA2Error, SimError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if args.json:
        print(json.dumps(result, sort_keys=True))
    else:
        for key, value in result.items():
            print(f"{key}  {value}")
    return 0
