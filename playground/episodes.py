"""Scenes built from what a visitor asks for: a typed equation, a whiteboard photo, a spatial instruction.

Each builder takes a sim env of the right task, resets it, and returns a Scenario: what the arm is asked,
the ground truth when there is one, and the board image. The env's own success check keeps working
because the episode it judges is the one we built (same body names and ground-truth keys as sim/tasks).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from chatvla2_lite.errors import InvalidInstructionError
from sim.catalog import COLOURS, CONTAINERS, OBJECT_KINDS, display_name
from sim.tasks.base import Episode, sample_positions
from sim.tasks.math_matching import card_in_tray
from sim.tasks.math_problems import sample_problem, solve
from sim.tasks.phrasing import IN, parse_instruction
from sim.tasks.toy_placement import DIRECTIONS, PLACE_DISTANCE, TOY_GAP, sample_target_xy
from sim.textures import draw_whiteboard, draw_whiteboard_from_photo

SEED_SEARCH = 2000  # seeds tried to find a math episode whose answer card is the one we need
BOARD_KEY = "playground_board"  # a texture key of our own: the scene caches textures by key, "board" is taken


@dataclass
class Scenario:
    """One episode as the playground shows it."""

    task: str  # "math_matching" | "toy_placement"
    instruction: str
    source: str  # "random", "typed equation", "photo", "typed instruction"
    seed: int
    truth: dict = field(default_factory=dict)  # shown to the visitor; empty when there is no ground truth
    board: object = None  # PIL image on the whiteboard (math only)

    @property
    def has_truth(self) -> bool:
        return bool(self.truth)

    def describe(self) -> str:
        """One markdown line: the instruction and the ground truth (or that there is none)."""
        truth = ", ".join(f"{k}: {v}" for k, v in self.truth.items()) if self.truth else "none (an uploaded photo)"
        return f"**Instruction:** {self.instruction}  \n**Ground truth:** {truth}  \n_seed {self.seed}, {self.source}_"


def _math_truth(gt: dict) -> dict:
    return {"equation": gt["equation"], "answer": gt["answer"], "candidates": gt["candidates"]}


def seed_with_answer(answer: int, start: int, split: str = "train") -> int:
    """The first seed >= start whose math_matching episode has `answer` as its answer card.

    MathMatching.build draws the problem first from the seed's generator, so the answer is known without
    building the scene; the caller checks it against the built episode anyway.
    """
    for seed in range(start, start + SEED_SEARCH):
        if sample_problem(np.random.default_rng(seed), split).answer == answer:
            return seed
    raise RuntimeError(f"no math episode with answer {answer} in {SEED_SEARCH} seeds from {start}")


def _reset_with_answer(env, answer: int, seed: int) -> dict:
    seed = seed_with_answer(answer, seed, env.split.name)
    _, info = env.reset(seed=seed)
    if info["answer"] != answer:  # the task changed how it draws problems: say so rather than mislabel
        raise RuntimeError(f"seed {seed} gave answer {info['answer']}, expected {answer}; update seed_with_answer")
    return info


def random_math(env, seed: int) -> Scenario:
    """The math_matching episode of `seed`, as the dataset has it."""
    _, info = env.reset(seed=int(seed))
    return Scenario(
        "math_matching", info["instruction"], "random", info["seed"], _math_truth(info), board=_board_of(info, seed)
    )


def _board_of(info: dict, seed: int):
    # the env does not keep the board image; drawing it again from the same seed gives the same problem text
    return draw_whiteboard(info["equation"], np.random.default_rng(seed), info["font"])


def typed_math(env, seed: int, equation: str, answer: int) -> Scenario:
    """A math episode whose board shows `equation` and whose answer card (`answer`, 0-9) lies on the table."""
    if solve(equation) != answer:
        raise InvalidInstructionError(f"{equation!r} does not equal {answer}; check the equation")
    info = _reset_with_answer(env, answer, int(seed))
    board = draw_whiteboard(equation, np.random.default_rng(info["seed"]), info["font"])
    env.scene.set_board_image(board, key=BOARD_KEY)
    gt = env.episode.ground_truth
    gt.update(equation=equation, solution=equation.replace("= ?", f"= {answer}"))
    return Scenario("math_matching", info["instruction"], "typed equation", info["seed"], _math_truth(gt), board)


def photo_math(env, seed: int, photo, expected: int | None) -> Scenario:
    """A math episode with the visitor's photo on the board; ground truth only when they typed the answer."""
    if expected is None:
        _, info = env.reset(seed=int(seed))
    else:
        info = _reset_with_answer(env, expected, int(seed))
    board = draw_whiteboard_from_photo(photo)
    env.scene.set_board_image(board, key=BOARD_KEY)
    gt = env.episode.ground_truth
    # the sim's drawn problem is gone from the board, so its equation is no truth about what the arm sees
    gt.update(equation="(photo)", solution="(photo)")
    truth = {} if expected is None else {"answer": expected, "candidates": gt["candidates"]}
    return Scenario("math_matching", info["instruction"], "photo", info["seed"], truth, board)


def cards_in_tray(env) -> list[int]:
    """The digits of the number cards that rest in the tray now."""
    return [d for d in env.episode.ground_truth["candidates"] if card_in_tray(env.scene, d)]


def random_spatial(env, seed: int) -> Scenario:
    """The toy_placement episode of `seed`, as the dataset has it."""
    _, info = env.reset(seed=int(seed))
    return Scenario("toy_placement", info["instruction"], "random", info["seed"], _spatial_truth(info))


def _spatial_truth(gt: dict) -> dict:
    return {"object": gt["object"], "relation": gt["relation"], "target": gt["target"]}


def resolve_toy(words: str, rng: np.random.Generator, taken: set[str]) -> tuple[str, str]:
    """(kind, colour) for "red duck" or "duck" (a free colour is drawn); unknown words raise with the valid ones."""
    parts = words.split()
    kind = parts[-1]
    if kind not in OBJECT_KINDS or len(parts) > 2 or (len(parts) == 2 and parts[0] not in COLOURS):
        raise InvalidInstructionError(
            f"there is no toy called {words!r}; use a toy ({', '.join(OBJECT_KINDS)}), optionally with a colour "
            f"({', '.join(COLOURS)}), e.g. 'Put the red duck to the left of the bowl'"
        )
    if len(parts) == 2:
        return kind, parts[0]
    free = [c for c in COLOURS if f"{c} {kind}" not in taken]
    return kind, free[int(rng.integers(len(free)))]


def parse_spatial(instruction: str) -> dict:
    """{"object", "relation", "target"} of a typed instruction, or InvalidInstructionError with an example."""
    try:
        reading = parse_instruction(instruction)
    except ValueError as exc:
        raise InvalidInstructionError(
            f"cannot read {instruction!r} as a placement; write e.g. 'Put the duck to the left of the bowl' or "
            "'Pick the red cube and place it in the tray'"
        ) from exc
    if reading["task"] != "toy_placement":
        raise InvalidInstructionError("that is the whiteboard task; use the Whiteboard mode for it")
    return reading


def typed_spatial(env, seed: int, instruction: str) -> Scenario:
    """A toy_placement scene that fits the typed instruction: the object, the target and maybe one distractor."""
    reading = parse_spatial(instruction)
    relation, target_words = reading["relation"], reading["target"]
    if relation == IN and target_words not in CONTAINERS:
        raise InvalidInstructionError(
            f"only a container ({', '.join(CONTAINERS)}) can hold a toy, not {target_words!r}"
        )
    rng = np.random.default_rng(int(seed))
    toys: list[tuple[str, str]] = []  # (kind, colour) in body order: toy_0 is the object
    obj = resolve_toy(reading["object"], rng, set())
    toys.append(obj)
    names = {display_name(*obj)}
    if target_words not in CONTAINERS:
        target = resolve_toy(target_words, rng, names)
        if display_name(*target) in names:
            raise InvalidInstructionError("the object and the target are the same toy; name two different toys")
        toys.append(target)
        names.add(display_name(*target))
    if rng.random() < 0.5:  # a distractor, so the model must read which toy is meant
        kinds = [k for k in ("cube", "cylinder", "sphere", "duck") if all(f"{c} {k}" not in names for c in COLOURS)]
        if kinds:
            toys.append(resolve_toy(kinds[int(rng.integers(len(kinds)))], rng, names))

    # names are checked above, before the env is touched, so a bad instruction leaves the last scene intact
    env.reset(seed=int(seed))  # a clean arm pose and episode counters; its own toys are cleared next
    scene = env.scene
    scene.reset()
    if relation == IN:
        target_xy = np.array([rng.uniform(0.17, 0.22), rng.uniform(-0.12, 0.12)])
        keep_out = ((*target_xy, 0.11),)
        positions = sample_positions(rng, len(toys), TOY_GAP, keep_out=keep_out)
    else:
        target_xy = sample_target_xy(rng, relation)
        goal = target_xy + np.asarray(DIRECTIONS[relation]) * PLACE_DISTANCE
        clearance = 0.11 if target_words in CONTAINERS else TOY_GAP
        keep_out = ((*target_xy, clearance), (*goal, TOY_GAP))
        others = sample_positions(rng, len(toys) - (0 if target_words in CONTAINERS else 1), TOY_GAP, keep_out=keep_out)
        positions = others if target_words in CONTAINERS else [others[0], target_xy] + others[1:]

    if target_words in CONTAINERS:
        scene.add_container(target_words, target_words, tuple(target_xy), yaw=float(rng.uniform(-0.3, 0.3)))
        target_body, target_label = target_words, target_words
    else:
        target_body, target_label = "toy_1", display_name(*toys[1])
    for i, ((kind, col), xy) in enumerate(zip(toys, positions)):
        scene.add_toy(f"toy_{i}", kind, COLOURS[col].rgba, tuple(xy), float(rng.uniform(-np.pi, np.pi)))
    scene.settle(0.2)
    env.episode = Episode(
        instruction=instruction,
        pick="toy_0",
        ground_truth={
            "object": display_name(*obj),
            "object_kind": obj[0],
            "relation": relation,
            "target": target_label,
            "target_body": target_body,
            "toys": [display_name(*t) for t in toys],
        },
    )
    return Scenario(
        "toy_placement", instruction, "typed instruction", int(seed), _spatial_truth(env.episode.ground_truth)
    )
