"""The one console script, `chatvla2-lite`. Measuring subcommands print one JSON object as the last line.

    record   scripted-expert demos as a LeRobot v3.0 dataset
    train    a named recipe's runs (training/recipes/<name>.toml), each resumable
    export   a stopped run's model from its state, or a recipe's model scored and shipped as a checkpoint
    eval     closed-loop scores of a model in the sim
    probe    VQA retention suites of a model's backbone
    bench    sim | model | train: speed and success of a part of the system
    so100    a real SO-100 arm: calibrate | test-move | bench (bench --emulated: on the bus emulator, no arm)

Diagnostics beyond these are `python -m experiments.NAME` (experiments/README.md); the app's benchmark is
`python -m playground.bench_app`.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys

from chatvla2_lite.errors import ChatVLA2Error
from chatvla2_lite.training.recipe import DEFAULT_OUT, recipe_names
from sim.conventions import SPLIT_NAMES, TASK_NAMES
from sim.errors import SimError
from sim.world import CARD_LAYOUTS, World

QUANTIZATIONS = ("4bit", "8bit", "none")
DRIVERS = ("chatvla2", "lerobot")  # chatvla2_lite.robots.so100.lerobot_driver.DRIVERS
TEST_MOVE_DEGREES, TEST_MOVE_SPEED = 5.0, 0.3  # "a few degrees at low speed" (rad/s), fixed: one thing to trust


def _emit(result: dict, as_json: bool) -> None:
    if as_json:
        print(json.dumps(result, sort_keys=True))
    else:
        width = max(len(k) for k in result)
        for key, value in result.items():
            print(f"{key:<{width}}  {value}")


def _world(args: argparse.Namespace) -> World:
    """The sim world of --camera-size and --card-layout, each left as the default world's when not given."""
    return World().overridden(camera_size=args.camera_size, card_layout=args.card_layout)


def _threads(args: argparse.Namespace) -> None:
    if args.threads:
        import torch

        torch.set_num_threads(args.threads)


def _quantization(args: argparse.Namespace) -> str | None:
    return None if args.quantization == "none" else args.quantization


def _record(args: argparse.Namespace) -> dict:
    from chatvla2_lite.data.record import record_dataset

    return record_dataset(
        task=args.task,
        episodes=args.episodes,
        out=args.out,
        split=args.split,
        seed=args.seed,
        max_tries=args.max_tries,
        use_videos=not args.images,
        codec=args.codec,
        world=_world(args),
    )


def _recipe(args: argparse.Namespace):
    from chatvla2_lite.training.recipe import load_recipe

    recipe = load_recipe(args.recipe, args.set)
    if args.stage is not None:
        recipe.run(args.stage)  # an unknown run fails before anything loads
    return recipe


def _out(args: argparse.Namespace):
    return args.out or DEFAULT_OUT / args.recipe


def _train(args: argparse.Namespace) -> dict:
    recipe = _recipe(args)
    if args.show:
        return recipe.to_dict()
    from chatvla2_lite.training.run import train_recipe

    _threads(args)
    return train_recipe(recipe, _out(args), only=args.stage, seed=args.seed)


def _export(args: argparse.Namespace) -> dict:
    recipe = _recipe(args)
    _threads(args)
    if args.to is None:  # a stopped run's model from its state
        from chatvla2_lite.training.run import export_run

        return export_run(recipe, recipe.run(args.stage or recipe.card.model), _out(args), seed=args.seed)
    if args.stage is not None:
        raise ChatVLA2Error("--to ships the recipe's card model; leave --stage out")
    from chatvla2_lite.training.export import score, ship

    return ship(recipe, _out(args), args.to, score(recipe, _out(args)))


def _eval(args: argparse.Namespace) -> dict:
    from chatvla2_lite.evaluation.closed_loop import evaluate
    from chatvla2_lite.model.policy_chatvla2 import load_policy

    if args.point_edit and args.task != "toy_placement":
        raise ValueError("--point-edit moves a toy's placement point; use --task toy_placement")
    _threads(args)
    policy = load_policy(args.model, _quantization(args))
    if args.point_edit:
        from chatvla2_lite.evaluation.point_edit import evaluate_point_edit

        return evaluate_point_edit(policy, args.split, args.episodes, args.seed, args.max_steps)
    return evaluate(
        policy,
        args.task,
        args.split,
        args.episodes,
        seed=args.seed,
        counterfactual=args.counterfactual,
        max_steps=args.max_steps,
        true_reasoning=args.true_reasoning,
    )


def _probe(args: argparse.Namespace) -> dict:
    from chatvla2_lite.evaluation.probe import probe
    from chatvla2_lite.model.policy_chatvla2 import load_policy

    _threads(args)
    policy = load_policy(args.model, _quantization(args))
    return probe(policy, args.suite, questions=args.questions, split=args.split, seed=args.seed)


def _bench_sim(args: argparse.Namespace) -> dict:
    from sim.bench import run_sim_benchmark

    return run_sim_benchmark(episodes=args.episodes, seed=args.seed, split=args.split, world=_world(args))


def _bench_model(args: argparse.Namespace) -> dict:
    from chatvla2_lite.evaluation.bench_model import run_model_benchmark

    return run_model_benchmark(args.model, args.quantization, args.revision, args.repeats, threads=args.threads)


def _bench_train(args: argparse.Namespace) -> dict:
    from chatvla2_lite.training.bench_train import run_train_benchmark

    recipe = _recipe(args)
    if args.stage is None:
        raise ChatVLA2Error(f"name the run to time with --stage, one of {[r.name for r in recipe.runs]}")
    return run_train_benchmark(
        recipe, args.stage, steps=args.steps, warmup=args.warmup, batch_size=args.batch_size, threads=args.threads
    )


def _so100_config(args: argparse.Namespace):
    from chatvla2_lite.robots.so100.config_so100 import SO100Config

    if args.port is None:
        raise ChatVLA2Error("give the arm's port before the action: chatvla2-lite so100 --port /dev/ttyACM0 ...")
    return SO100Config(port=args.port, id=args.id)


def _enter_pressed():
    """A callable that turns true once ENTER is pressed (read in a thread, so the caller keeps polling)."""
    import threading

    pressed = threading.Event()
    threading.Thread(target=lambda: (sys.stdin.readline(), pressed.set()), daemon=True).start()
    return pressed.is_set


def _so100_calibrate(args: argparse.Namespace) -> dict:
    from chatvla2_lite.robots.so100.routines import calibrate
    from chatvla2_lite.robots.so100.so100 import SO100

    if args.driver != "chatvla2":
        raise ChatVLA2Error("calibrate with LeRobot's own `lerobot-calibrate`; this command is the chatvla2 driver's")
    waiting = {}

    def ask(prompt: str) -> None:
        print(prompt, file=sys.stderr, flush=True)
        if "stop recording" in prompt:
            waiting["done"] = _enter_pressed()
        else:
            sys.stdin.readline()

    calibration, path = calibrate(SO100(_so100_config(args)), ask, lambda: waiting["done"]())
    return {"id": args.id, "path": str(path), "calibration": {m: vars(c) for m, c in calibration.items()}}


def _so100_test_move(args: argparse.Namespace) -> dict:
    from chatvla2_lite.robots.so100.lerobot_driver import make_robot
    from chatvla2_lite.robots.so100.routines import test_move

    config = _so100_config(args)
    if not args.yes:
        print(
            f"The arm on {args.port} will move each joint {TEST_MOVE_DEGREES:g} degrees and back at "
            f"{TEST_MOVE_SPEED:g} rad/s. "
            "Clear the space around it and keep a hand on its power switch. Type yes to go on: ",
            end="",
            file=sys.stderr,
            flush=True,
        )
        if sys.stdin.readline().strip().lower() != "yes":
            raise ChatVLA2Error("not confirmed: nothing moved")
    return test_move(make_robot(config, args.driver), TEST_MOVE_DEGREES, TEST_MOVE_SPEED)


def _so100_bench(args: argparse.Namespace) -> dict:
    from chatvla2_lite.robots.so100.bench import run_bench

    return run_bench(None if args.emulated else _so100_config(args), emulated=args.emulated)


def _add_world(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--camera-size", type=int, default=None, metavar="PX", help="cameras' frame side (224)")
    parser.add_argument("--card-layout", choices=CARD_LAYOUTS, default=None, help="math cards' layout (scattered)")


def _add_recipe(parser: argparse.ArgumentParser, stage_help: str) -> None:
    parser.add_argument("--recipe", choices=recipe_names(), required=True, help="training/recipes/<name>.toml")
    parser.add_argument("--stage", default=None, metavar="RUN", help=stage_help)
    parser.add_argument(
        "--set", nargs="+", default=None, metavar="KEY=VALUE", help="change the recipe: steps=10, r01/vlm.lr=1e-3, ..."
    )
    parser.add_argument("--out", default=None, help="the recipe's output folder (default: outputs/<recipe>)")


def _add_model(parser: argparse.ArgumentParser, threads: int | None) -> None:
    parser.add_argument("--model", default=None, help="Hub id or local folder (default: the nano checkpoint)")
    parser.add_argument("--quantization", choices=QUANTIZATIONS, default="none", help="load the backbone so")
    parser.add_argument("--threads", type=int, default=threads, help="torch threads (the sim uses the other core)")


def _add_json(parser: argparse.ArgumentParser, func) -> None:
    parser.add_argument("--json", action="store_true", help="print one JSON object as the last line")
    parser.set_defaults(func=func)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="chatvla2-lite", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="log at INFO level")
    sub = parser.add_subparsers(dest="command", required=True)

    record = sub.add_parser("record", help="record scripted-expert demos as a LeRobot v3.0 dataset")
    record.add_argument("--task", choices=TASK_NAMES, required=True, help="which sim task")
    record.add_argument("--episodes", type=int, required=True, help="successful episodes to keep")
    record.add_argument("--out", required=True, help="a new (or empty) folder for the dataset")
    record.add_argument("--split", choices=SPLIT_NAMES, default="train", help="which split's scenes")
    record.add_argument("--seed", type=int, default=0, help="first episode seed; later tries count up")
    record.add_argument("--max-tries", type=int, default=None, help="episodes to try at most (default 2N + 10)")
    record.add_argument("--images", action="store_true", help="store PNG frames in the parquet instead of mp4 videos")
    record.add_argument(
        "--codec",
        choices=("av1", "h264"),
        default="av1",
        help="video codec (av1, LeRobot's default, merges with its own)",
    )
    _add_world(record)
    _add_json(record, _record)

    train = sub.add_parser("train", help="train a recipe's runs in order (each resumes from its state/)")
    _add_recipe(train, "train this run alone (e.g. r01/vlm); the runs it starts from must be done")
    train.add_argument("--show", action="store_true", help="print every setting of every run, train nothing")
    train.add_argument("--seed", type=int, default=0, help="data and initialisation seed")
    train.add_argument("--threads", type=int, default=None, help="torch threads (default: torch's)")
    _add_json(train, _train)

    export = sub.add_parser("export", help="a run's model from its state, or the recipe's checkpoint (--to)")
    _add_recipe(export, "the run whose model to write from its state (default: the card's model)")
    export.add_argument("--to", default=None, help="score the card model and ship it here (with card and lineage)")
    export.add_argument("--seed", type=int, default=0, help="the seed the run was trained with")
    export.add_argument("--threads", type=int, default=1, help="torch threads for the scores")
    _add_json(export, _export)

    ev = sub.add_parser("eval", help="closed-loop scores of a model in the sim")
    ev.add_argument("--task", choices=TASK_NAMES, required=True, help="which sim task")
    ev.add_argument("--split", choices=SPLIT_NAMES, default="heldout", help="which split's scenes")
    ev.add_argument("--episodes", type=int, default=100, help="episodes to run")
    ev.add_argument("--seed", type=int, default=10_000, help="first episode seed")
    reasoning = ev.add_mutually_exclusive_group()
    reasoning.add_argument(
        "--true-reasoning", action="store_true", help="act on the ground truth's reasoning: the action expert alone"
    )
    reasoning.add_argument(
        "--counterfactual", action="store_true", help="act on a reasoning naming another card; report follow_rate"
    )
    reasoning.add_argument(
        "--point-edit", action="store_true", help="move the true reasoning's placement point; report point_follow_rate"
    )
    ev.add_argument("--max-steps", type=int, default=450, help="control steps per episode at most")
    _add_model(ev, threads=1)
    _add_json(ev, _eval)

    pr = sub.add_parser("probe", help="VQA accuracy on heldout OCR, math and spatial questions (retention)")
    suites = ("ocr", "math", "spatial", "photo", "grounding", "all")  # evaluation.probe.PROBE_SUITES
    pr.add_argument("--suite", choices=suites, default="all", help="which questions (all: ocr, math and spatial)")
    pr.add_argument("--questions", type=int, default=50, help="questions per suite")
    pr.add_argument("--split", choices=SPLIT_NAMES, default="heldout", help="which split's questions")
    pr.add_argument("--seed", type=int, default=20_000, help="first question seed")
    _add_model(pr, threads=1)
    _add_json(pr, _probe)

    bench = sub.add_parser("bench", help="measure speed and success of a part of the system")
    bench_sub = bench.add_subparsers(dest="target", required=True)
    bench_sim = bench_sub.add_parser("sim", help="scripted expert success and simulator speed")
    bench_sim.add_argument("--episodes", type=int, default=20, help="episodes per task")
    bench_sim.add_argument("--seed", type=int, default=0, help="first episode seed")
    bench_sim.add_argument("--split", choices=SPLIT_NAMES, default="train", help="which split's scenes")
    _add_world(bench_sim)
    _add_json(bench_sim, _bench_sim)
    bench_model = bench_sub.add_parser("model", help="model size, memory footprint and CPU speed")
    bench_model.add_argument("--model", default=None, help="Hub id or local folder (default: nano, random weights)")
    bench_model.add_argument("--revision", default=None, help="branch, tag or commit of a Hub model")
    bench_model.add_argument(
        "--quantization", choices=QUANTIZATIONS, default="none", help="the variant timed (both footprints reported)"
    )
    bench_model.add_argument("--repeats", type=int, default=3, help="timed repeats after one warm-up")
    bench_model.add_argument("--threads", type=int, default=None, help="torch intra-op threads (default: torch's)")
    _add_json(bench_model, _bench_model)
    bench_train = bench_sub.add_parser("train", help="seconds per training step of a recipe's run, no data making")
    _add_recipe(bench_train, "the run whose step is timed (e.g. r01/cotrain)")
    bench_train.add_argument("--steps", type=int, default=20, help="timed steps")
    bench_train.add_argument("--warmup", type=int, default=3, help="untimed steps first")
    bench_train.add_argument("--batch-size", type=int, default=None, help="override the run's batch size")
    bench_train.add_argument("--threads", type=int, default=None, help="torch intra-op threads (default: torch's)")
    _add_json(bench_train, _bench_train)

    so100 = sub.add_parser(
        "so100",
        help="a real SO-100 arm: calibrate, test-move, bench",
        description="The arm's options come before the action: so100 --port /dev/ttyACM0 --id my_arm test-move. "
        "Its LeRobot calibration is read from and written to $HF_LEROBOT_CALIBRATION (LeRobot's folder).",
    )
    so100.add_argument("--port", default=None, help="the arm's serial port (/dev/ttyACM0)")
    so100.add_argument("--id", default="so100_follower", help="the arm's id: names its LeRobot calibration file")
    so100.add_argument("--driver", choices=DRIVERS, default="chatvla2", help="this project's driver, or LeRobot's")
    so100_sub = so100.add_subparsers(dest="action", required=True)
    calibrate = so100_sub.add_parser("calibrate", help="LeRobot's calibration, written as LeRobot's file for --id")
    _add_json(calibrate, _so100_calibrate)
    test_move = so100_sub.add_parser(
        "test-move", help="move each joint 5 degrees and back at 0.3 rad/s, once confirmed"
    )
    test_move.add_argument("--yes", action="store_true", help="do not ask for confirmation")
    _add_json(test_move, _so100_test_move)
    so100_bench = so100_sub.add_parser("bench", help="sync read/write and control loop rates at 1 Mbaud")
    so100_bench.add_argument("--emulated", action="store_true", help="on the bus emulator (no arm needed)")
    _add_json(so100_bench, _so100_bench)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    level = logging.INFO if args.verbose else logging.WARNING
    logging.basicConfig(level=level, format="%(levelname)s %(name)s: %(message)s")
    try:
        result = args.func(args)
    except KeyboardInterrupt:  # a real arm's driver has released its torque on the way out
        print("interrupted", file=sys.stderr)
        return 130
    except (ChatVLA2Error, SimError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except (ValueError, FileExistsError, RuntimeError) as exc:  # bad settings, a used folder, an expert that failed
        if args.verbose:
            raise
        print(f"error: {exc} (-v shows where)", file=sys.stderr)
        return 2
    _emit(result, getattr(args, "json", False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
