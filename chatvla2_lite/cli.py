"""The one console script, `chatvla2-lite`. Measuring subcommands print one JSON object as the last line."""

from __future__ import annotations

import argparse
import json
import logging
import sys

from chatvla2_lite.errors import ChatVLA2Error
from chatvla2_lite.training.recipe import RECIPES, STAGES
from sim.errors import SimError
from sim.world import World


def _emit(result: dict, as_json: bool) -> None:
    if as_json:
        print(json.dumps(result, sort_keys=True))
    else:
        width = max(len(k) for k in result)
        for key, value in result.items():
            print(f"{key:<{width}}  {value}")


def _bench_sim(args: argparse.Namespace) -> dict:
    from sim.bench import run_sim_benchmark

    return run_sim_benchmark(
        episodes=args.episodes, seed=args.seed, split=args.split, progress=True, world=_world(args)
    )


def _bench_cards(args: argparse.Namespace) -> dict:
    from sim.card_visibility import run_card_visibility

    try:
        return run_card_visibility(scenes=args.scenes, split=args.split, seed=args.seed, world=_world(args))
    except ValueError as exc:
        raise ChatVLA2Error(str(exc)) from exc


def _bench_digits(args: argparse.Namespace) -> dict:
    import torch

    from chatvla2_lite.evaluation.tower_digits import check_settings, tower_digit_scores
    from chatvla2_lite.model.policy_chatvla2 import load_policy

    try:
        check_settings(args.scenes, args.heldout_scenes)  # before the model loads, as the world is
    except ValueError as exc:
        raise ChatVLA2Error(str(exc)) from exc
    _check_world(args)
    torch.set_num_threads(args.threads)
    policy = load_policy(args.model, None)
    _move_to_world(policy, args)
    try:
        return tower_digit_scores(policy, args.scenes, args.heldout_scenes)  # in the world set just above
    except ValueError as exc:
        raise ChatVLA2Error(str(exc)) from exc


def _bench_model(args: argparse.Namespace) -> dict:
    from chatvla2_lite.evaluation.bench_model import run_model_benchmark

    return run_model_benchmark(
        model=args.model,
        quantization=args.quantization,
        revision=args.revision,
        repeats=args.repeats,
        threads=args.threads,
    )


def _bench_train(args: argparse.Namespace) -> dict:
    from chatvla2_lite.training.bench_train import run_train_benchmark

    try:
        return run_train_benchmark(
            args.stage,
            args.recipe,
            steps=args.steps,
            warmup=args.warmup,
            batch_size=args.batch_size,
            threads=args.threads,
        )
    except ValueError as exc:
        raise ChatVLA2Error(str(exc)) from exc


def _record(args: argparse.Namespace) -> dict:
    from chatvla2_lite.data.record import record_dataset

    try:
        return record_dataset(
            task=args.task,
            episodes=args.episodes,
            out=args.out,
            split=args.split,
            seed=args.seed,
            max_tries=args.max_tries,
            use_videos=not args.images,
            progress=True,
            world=_world(args),
        )
    except (FileExistsError, RuntimeError) as exc:  # a used folder, or an expert that never succeeded
        raise ChatVLA2Error(str(exc)) from exc


def _world(args: argparse.Namespace):
    """The sim world of --camera-size and --card-layout, each left as the default world's when not given."""
    from sim.world import World

    try:
        return World().overridden(args.camera_size, args.card_layout)
    except ValueError as exc:
        raise ChatVLA2Error(str(exc)) from exc


def _shares(
    pairs: list[str] | None, option: str = "--mix", example: str = "SOURCE=SHARE pairs such as near_misses=1"
) -> dict[str, float] | None:
    """["near_misses=1", "robot=0.25"] -> {"near_misses": 1.0, "robot": 0.25}."""
    if not pairs:
        return None
    out = {}
    for pair in pairs:
        name, _, share = pair.partition("=")
        try:
            out[name] = float(share)
        except ValueError:
            raise ChatVLA2Error(f"{option} takes {example}, got {pair!r}") from None
    return out


def _eval(args: argparse.Namespace) -> dict:
    import torch

    from chatvla2_lite.model.policy_chatvla2 import load_policy

    torch.set_num_threads(args.threads)
    _check_world(args)
    policy = load_policy(args.model, None if args.quantization == "none" else args.quantization)
    _move_to_world(policy, args)
    if args.place and args.task != "toy_placement":
        raise ChatVLA2Error("--place holds the toy low where it goes: use --task toy_placement")
    if args.wrong_card and args.task != "math_matching":
        raise ChatVLA2Error("--wrong-card hovers over another card: use --task math_matching")
    try:
        result = _eval_mode(policy, args)
    except ValueError as exc:
        raise ChatVLA2Error(str(exc)) from exc
    return {"world": World.of(policy.processor.world).to_dict(), **result}  # the open-loop modes say where they ran too


def _eval_mode(policy, args: argparse.Namespace) -> dict:
    """The scores of the eval mode args ask for: one of the open-loop probes, else the closed loop."""
    from chatvla2_lite.evaluation.closed_loop import evaluate

    if args.first_chunk:
        from chatvla2_lite.evaluation.first_chunk import first_chunk_scores

        return first_chunk_scores(policy, args.task, args.split, args.episodes, seed=args.seed)
    if args.aim:
        from chatvla2_lite.evaluation.aim import aim_scores

        return aim_scores(policy, args.task, args.split, args.episodes, seed=args.seed)
    if args.wrong_card:
        from chatvla2_lite.evaluation.wrong_card import wrong_card_scores

        return wrong_card_scores(policy, args.split, args.episodes, seed=args.seed)
    if args.place:
        from chatvla2_lite.evaluation.place_probe import place_scores

        return place_scores(policy, args.split, args.episodes, seed=args.seed)
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
    import torch

    from chatvla2_lite.evaluation.probe import probe
    from chatvla2_lite.model.policy_chatvla2 import load_policy

    if args.blind < 0:  # before the model loads
        raise ChatVLA2Error(f"--blind takes a number of train questions, 0 or more, not {args.blind}")
    torch.set_num_threads(args.threads)
    _check_world(args)
    policy = load_policy(args.model, None if args.quantization == "none" else args.quantization)
    _move_to_world(policy, args)
    if args.views:
        try:
            policy.processor = policy.processor.with_views(args.views)
        except ValueError as exc:
            raise ChatVLA2Error(str(exc)) from exc
    result = probe(policy, args.suite, questions=args.questions, split=args.split, seed=args.seed, blind=args.blind)
    return {**result, "views": [v["name"] for v in policy.processor.views or ()]}


def _check_world(args: argparse.Namespace) -> None:
    """--camera-size and --card-layout checked before a model loads: a bad one fails at once."""
    from sim.world import World

    try:
        World().overridden(args.camera_size, args.card_layout)
    except ValueError as exc:
        raise ChatVLA2Error(str(exc)) from exc


def _move_to_world(policy, args: argparse.Namespace) -> None:
    """Put a loaded policy in the world --camera-size and --card-layout ask for (unset: the one it was trained in),
    to see how it does zero-shot where it never learnt."""
    world = World.of(policy.processor.world).overridden(args.camera_size, args.card_layout)
    policy.processor.world = world.to_dict()


def _train(args: argparse.Namespace) -> dict:
    import torch

    from chatvla2_lite.training.run import run_training

    if args.threads:
        torch.set_num_threads(args.threads)
    try:
        return run_training(
            args.stage,
            args.out,
            recipe=args.recipe,
            init=args.init,
            robot_data=args.robot_data,
            seed=args.seed,
            steps=args.steps,
            batch_size=args.batch_size,
            lr=args.lr,
            cache=args.cache,
            rollouts=args.rollouts,
            near_misses=args.near_misses,
            wrong_picks=args.wrong_picks,
            recover_picks=args.recover_picks,
            follow_picks=args.follow_picks,
            rename=args.rename,
            action_objective=args.action_objective,
            pixel_cameras=args.pixel_cameras,
            pixel_size=args.pixel_size,
            camera_size=args.camera_size,
            card_layout=args.card_layout,
            add_views=args.add_views,
            export=args.export,
            kinds=_shares(args.kinds, "--kinds", "KIND=WEIGHT pairs such as cards=4"),
            shares=_shares(args.mix),
        )
    except ValueError as exc:
        raise ChatVLA2Error(str(exc)) from exc


def _add_world_options(
    parser: argparse.ArgumentParser, size_help: str, layout_help: str, size_aliases: tuple[str, ...] = ()
) -> None:
    """--camera-size (also spelled as `size_aliases`) and --card-layout: the sim world (sim/world.py)."""
    parser.add_argument(
        "--camera-size", *size_aliases, dest="camera_size", type=int, default=None, metavar="PX", help=size_help
    )
    # sim.world.CARD_LAYOUTS, spelled out so that the CLI starts without importing the sim
    parser.add_argument("--card-layout", choices=("scattered", "row"), default=None, help=layout_help)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="chatvla2-lite", description=__doc__)
    parser.add_argument("-v", "--verbose", action="store_true", help="log at INFO level")
    sub = parser.add_subparsers(dest="command", required=True)

    bench = sub.add_parser("bench", help="measure speed and success of a part of the system")
    bench_sub = bench.add_subparsers(dest="target", required=True)
    bench_sim = bench_sub.add_parser("sim", help="scripted expert success and simulator speed")
    bench_sim.add_argument("--episodes", type=int, default=20, help="episodes per task")
    bench_sim.add_argument("--seed", type=int, default=0, help="first episode seed")
    bench_sim.add_argument("--split", choices=("train", "heldout"), default="train", help="which split's scenes")
    _add_world_options(
        bench_sim, "the cameras' frame side (default 224)", "how math_matching lays out its cards (default scattered)"
    )
    bench_sim.add_argument("--json", action="store_true", help="print one JSON object as the last line")
    bench_sim.set_defaults(func=_bench_sim)
    bench_cards = bench_sub.add_parser("cards", help="cards the arm hides from the front camera, and their size")
    bench_cards.add_argument("--scenes", type=int, default=200, help="math scenes, one per seed")
    bench_cards.add_argument("--split", choices=("train", "heldout"), default="heldout", help="which split's scenes")
    bench_cards.add_argument("--seed", type=int, default=20_000, help="first scene seed")
    # --side: these two benches' name for it before they took the whole world; the training log's commands use it
    _add_world_options(
        bench_cards,
        "the cameras' frame side (default 224)",
        "how the cards are laid out (default scattered)",
        size_aliases=("--side",),
    )
    bench_cards.add_argument("--json", action="store_true", help="print one JSON object as the last line")
    bench_cards.set_defaults(func=_bench_cards)
    bench_digits = bench_sub.add_parser("digits", help="a linear read of each card's digit from the vision tower")
    bench_digits.add_argument("--scenes", type=int, default=600, help="train-split math scenes the read is fitted on")
    bench_digits.add_argument("--heldout-scenes", type=int, default=200, help="heldout math scenes it is scored on")
    _add_world_options(
        bench_digits,
        "render the scenes at this frame side (default: the model's world)",
        "lay the cards out so (default: the model's world)",
        size_aliases=("--side",),
    )
    bench_digits.add_argument("--model", default=None, help="Hub id or local folder (default: the nano checkpoint)")
    bench_digits.add_argument("--threads", type=int, default=2, help="torch threads")
    bench_digits.add_argument("--json", action="store_true", help="print one JSON object as the last line")
    bench_digits.set_defaults(func=_bench_digits)
    bench_model = bench_sub.add_parser("model", help="model size, memory footprint and CPU speed")
    bench_model.add_argument("--model", default=None, help="Hub id or local folder (default: nano, random weights)")
    bench_model.add_argument("--revision", default=None, help="branch, tag or commit of a Hub model")
    bench_model.add_argument(
        "--quantization",
        choices=["4bit", "8bit", "none"],
        default="none",
        help="the variant that is timed (both footprints are always reported)",
    )
    bench_model.add_argument("--repeats", type=int, default=3, help="timed repeats after one warm-up")
    bench_model.add_argument("--threads", type=int, default=None, help="torch intra-op threads (default: torch's)")
    bench_model.add_argument("--json", action="store_true", help="print one JSON object as the last line")
    bench_model.set_defaults(func=_bench_model)
    bench_train = bench_sub.add_parser(
        "train", help="seconds per training step of a stage (CPU or GPU), no data making"
    )
    bench_train.add_argument("--stage", choices=STAGES, required=True, help="which stage")
    bench_train.add_argument("--recipe", choices=RECIPES, default="chatvla2", help="which recipe")
    bench_train.add_argument("--steps", type=int, default=20, help="timed steps")
    bench_train.add_argument("--warmup", type=int, default=3, help="untimed steps first")
    bench_train.add_argument("--batch-size", type=int, default=None, help="override the recipe's batch size")
    bench_train.add_argument("--threads", type=int, default=None, help="torch intra-op threads (default: torch's)")
    bench_train.add_argument("--json", action="store_true", help="print one JSON object as the last line")
    bench_train.set_defaults(func=_bench_train)

    record = sub.add_parser("record", help="record scripted-expert demos as a LeRobot v3.0 dataset")
    record.add_argument("--task", choices=("math_matching", "toy_placement"), required=True, help="which sim task")
    record.add_argument("--episodes", type=int, required=True, help="successful episodes to keep")
    record.add_argument("--out", required=True, help="a new (or empty) folder for the dataset")
    record.add_argument("--split", choices=("train", "heldout"), default="train", help="which split's scenes")
    record.add_argument("--seed", type=int, default=0, help="first episode seed; later tries count up")
    record.add_argument("--max-tries", type=int, default=None, help="episodes to try at most (default 2N + 10)")
    record.add_argument("--images", action="store_true", help="store PNG frames in the parquet instead of mp4 videos")
    _add_world_options(
        record, "the cameras' frame side (default 224)", "how math_matching lays out its cards (default scattered)"
    )
    record.add_argument("--json", action="store_true", help="print one JSON object as the last line")
    record.set_defaults(func=_record)

    ev = sub.add_parser("eval", help="closed-loop scores of a model in the sim")
    ev.add_argument("--task", choices=("math_matching", "toy_placement"), required=True, help="which sim task")
    ev.add_argument("--split", choices=("train", "heldout"), default="heldout", help="which split's scenes")
    ev.add_argument("--episodes", type=int, default=100, help="episodes to run")
    ev.add_argument("--seed", type=int, default=10_000, help="first episode seed")
    ev.add_argument("--model", default=None, help="Hub id or local folder (default: the nano checkpoint)")
    ev.add_argument("--quantization", choices=["4bit", "8bit", "none"], default="none", help="load the backbone so")
    ev.add_argument(
        "--true-reasoning",
        action="store_true",
        help="act on the ground truth's reasoning: success_rate then scores the action expert alone",
    )
    mode = ev.add_mutually_exclusive_group()
    mode.add_argument(
        "--counterfactual",
        action="store_true",
        help="replace the reasoning with one naming another card; report follow_rate",
    )
    mode.add_argument(
        "--first-chunk",
        action="store_true",
        help="open loop: the first chunk against the scripted expert's, with the true reasoning",
    )
    mode.add_argument(
        "--aim",
        action="store_true",
        help="open loop: hovering up to 3 cm beside the object, how much of the offset the chunk steers",
    )
    mode.add_argument(
        "--wrong-card",
        action="store_true",
        help="open loop (math): hovering over another card, how much of the way to the answer card it goes",
    )
    mode.add_argument(
        "--place",
        action="store_true",
        help="open loop (toy): holding the toy 2.5 cm up where it goes, how often the chunk lifts it again",
    )
    ev.add_argument("--max-steps", type=int, default=450, help="control steps per episode at most")
    ev.add_argument("--threads", type=int, default=1, help="torch threads (the sim uses the other core)")
    _add_world_options(
        ev,
        "run the model with the cameras at this frame side (default: the model's world)",
        "run the model with math_matching's cards laid out so (default: the model's world)",
    )
    ev.add_argument("--json", action="store_true", help="print one JSON object as the last line")
    ev.set_defaults(func=_eval)

    pr = sub.add_parser("probe", help="VQA accuracy on heldout OCR, math, spatial (or card) questions")
    # evaluation.probe.ALL_SUITES, spelled out: importing it would load numpy and tqdm for every command
    pr.add_argument(
        "--suite",
        choices=("ocr", "math", "spatial", "cards", "card_list", "all"),
        default="all",
        help="which questions (all: ocr, math and spatial, the retention suites)",
    )
    pr.add_argument("--questions", type=int, default=50, help="questions per suite")
    pr.add_argument(
        "--views",
        nargs="+",
        default=None,
        help="feed the backbone only these views, as a stage that trained on them (read: board)",
    )
    pr.add_argument("--split", choices=("train", "heldout"), default="heldout", help="which split's questions")
    pr.add_argument("--seed", type=int, default=20_000, help="first question seed")
    pr.add_argument(
        "--blind",
        type=int,
        default=0,
        metavar="N",
        help="also score a blind answer: each question's commonest answer over N train questions",
    )
    pr.add_argument("--model", default=None, help="Hub id or local folder (default: the nano checkpoint)")
    pr.add_argument("--quantization", choices=["4bit", "8bit", "none"], default="none", help="load the backbone so")
    pr.add_argument("--threads", type=int, default=1, help="torch threads")
    _add_world_options(
        pr,
        "ask about scenes with the cameras at this frame side (default: the model's world)",
        "ask about math_matching's cards laid out so (default: the model's world)",
    )
    pr.add_argument("--json", action="store_true", help="print one JSON object as the last line")
    pr.set_defaults(func=_probe)

    train = sub.add_parser("train", help="train one stage of a recipe (resumes from OUT/state)")
    train.add_argument("--stage", choices=STAGES, required=True, help="which stage")
    train.add_argument("--recipe", choices=RECIPES, default="chatvla2", help="the paper's or the baseline")
    train.add_argument("--out", required=True, help="folder for metrics.jsonl, state/ and model/")
    train.add_argument("--init", default=None, help="model folder of the previous stage (default: a fresh nano)")
    train.add_argument("--robot-data", nargs="*", default=None, help="LeRobot dataset folders from `record`")
    train.add_argument("--steps", type=int, default=None, help="override the recipe's steps")
    train.add_argument("--batch-size", type=int, default=None, help="override the recipe's batch size")
    train.add_argument("--lr", type=float, default=None, help="override the recipe's learning rate")
    train.add_argument(
        "--cache",
        type=int,
        default=None,
        help="image-text samples rendered once and reused (0: on the fly; default: the recipe's)",
    )
    train.add_argument(
        "--rollouts",
        type=int,
        default=None,
        help="action stage: also read this many scenes of scripted-expert rollouts, one render per chunk",
    )
    train.add_argument(
        "--near-misses",
        type=int,
        default=None,
        help="action stage: also read this many scenes where a decoy expert aims beside the object and "
        "a restarted expert labels the way back at each look",
    )
    train.add_argument(
        "--wrong-picks",
        type=float,
        default=None,
        metavar="SHARE",
        help="share of the near misses' math scenes whose decoy heads for another card, each look "
        "labelled with the way to the answer card (default 0)",
    )
    train.add_argument(
        "--follow-picks",
        type=float,
        default=None,
        metavar="SHARE",
        help="share of the rollouts' math scenes where the expert takes another card than the "
        "answer, with a reasoning that comes to that card: the arm learns to follow the "
        "reasoning (default 0)",
    )
    train.add_argument(
        "--recover-picks",
        action="store_true",
        help="the wrong picks' decoy, stopped over the other card, hands over to the true expert, which "
        "takes the answer card to its place, its looks labelled too (kept where it places it)",
    )
    # configuration_chatvla2.OBJECTIVES, spelled out: importing it would load transformers for every command
    train.add_argument(
        "--action-objective",
        choices=("flow_matching", "ddim", "regression"),
        default=None,
        help="switch the action expert's objective before a stage that trains it (default: keep the model's)",
    )
    train.add_argument(
        "--pixel-cameras",
        nargs="+",
        default=None,
        metavar="CAMERA",
        help="give the action expert its own conv net over these cameras' pixels (e.g. wrist)",
    )
    train.add_argument("--pixel-size", type=int, default=64, help="the pixel encoder's image side (multiple of 16)")
    train.add_argument(
        "--mix",
        nargs="+",
        default=None,
        metavar="SOURCE=SHARE",
        help="set some shares of the stage's data mix, keep the rest (e.g. near_misses=1 robot=0.25)",
    )
    _add_world_options(
        train,
        "the cameras' frame side the model learns at, saved with it (default: the --init model's, else 224)",
        "how math_matching lays out its cards for this model, saved with it "
        "(default: the --init model's, else scattered)",
    )
    train.add_argument(
        "--add-views",
        nargs="+",
        default=None,
        metavar="VIEW",
        help="give the backbone more views of the cameras, saved with the model and kept by later "
        "stages (cards: the row world's cards at a 448-px front camera's resolution)",
    )
    train.add_argument(
        "--kinds",
        nargs="+",
        default=None,
        metavar="KIND=WEIGHT",
        help="the image-text questions' kinds and relative weights, the rest left out (e.g. cards=4 "
        "ocr=1 math=1 spatial=1; default: every kind alike)",
    )
    train.add_argument(
        "--rename",
        type=float,
        default=None,
        metavar="SHARE",
        help="share of toy demos whose toys get made-up names in instruction and reasoning alike, so "
        "the model learns to copy names it never saw (default: the recipe's)",
    )
    train.add_argument(
        "--export",
        action="store_true",
        help="write OUT/model from OUT/state as it stands (a run stopped early), training nothing; "
        "give the run's own --init and model options",
    )
    train.add_argument("--seed", type=int, default=0, help="data and initialisation seed")
    train.add_argument("--threads", type=int, default=None, help="torch threads (default: torch's)")
    train.add_argument("--json", action="store_true", help="print one JSON object as the last line")
    train.set_defaults(func=_train)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(
        level=logging.INFO if args.verbose else logging.WARNING, format="%(levelname)s %(name)s: %(message)s"
    )
    try:
        result = args.func(args)
    except (ChatVLA2Error, SimError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    _emit(result, getattr(args, "json", False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
