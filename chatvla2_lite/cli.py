"""The one console script, `chatvla2-lite`. Measuring subcommands print one JSON object as the last line."""

from __future__ import annotations

import argparse
import json
import logging
import sys

from chatvla2_lite.errors import ChatVLA2Error


def _emit(result: dict, as_json: bool) -> None:
    if as_json:
        print(json.dumps(result, sort_keys=True))
    else:
        width = max(len(k) for k in result)
        for key, value in result.items():
            print(f"{key:<{width}}  {value}")


def _bench_sim(args: argparse.Namespace) -> dict:
    from sim.bench import run_sim_benchmark

    return run_sim_benchmark(episodes=args.episodes, seed=args.seed, progress=not args.json)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="chatvla2-lite", description=__doc__)
    parser.add_argument("-v", "--verbose", action="store_true", help="log at INFO level")
    sub = parser.add_subparsers(dest="command", required=True)

    bench = sub.add_parser("bench", help="measure speed and success of a part of the system")
    bench_sub = bench.add_subparsers(dest="target", required=True)
    bench_sim = bench_sub.add_parser("sim", help="scripted expert success and simulator speed")
    bench_sim.add_argument("--episodes", type=int, default=20, help="episodes per task")
    bench_sim.add_argument("--seed", type=int, default=0, help="first episode seed")
    bench_sim.add_argument("--json", action="store_true", help="print one JSON object as the last line")
    bench_sim.set_defaults(func=_bench_sim)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    try:
        result = args.func(args)
    except ChatVLA2Error as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    _emit(result, getattr(args, "json", False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
