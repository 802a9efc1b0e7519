"""Seeded image-text (VQA) samples: the stand-in for a VLM's pretraining data, on sim/'s train/heldout splits.

A sample is a dict:
    images    {"board": uint8 (H, W, 3)} for a whiteboard, or {"front": ..., ["wrist": ...]} for a sim render
    question  "What is written on the board?"
    answer    "3 + 4 = ?"
    kind      one of KINDS: ocr | math | recognition | colour | count | spatial | cards | card_list | point_card |
              point_toy | point_place
    target    (pointing kinds) the world position (m) the answer's point is scored against
    split     "train" | "heldout" (fonts, problems, toy shapes and colours follow sim.splits)
    seed      the seed the board or scene was made from
    index     the sample's position in its stream

Whiteboards are drawn with sim.textures.draw_whiteboard (cheap, no physics); with
`board_view="front"` the board is instead photographed by the front camera in a math_matching scene.
Scene questions come from one front-camera render of a toy_placement scene (no expert), several
questions per render, answered from the sim's ground truth (chatvla2_lite.data.scene_questions);
card questions, one per render, from a math_matching scene (card_list: only the cards from left to right, asked
when the scene answers it clearly; not in the default mix).
The same (split, seed, config) gives the same stream, sample for sample.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from dataclasses import dataclass, replace

import numpy as np

import sim
from chatvla2_lite.data.grounding_questions import GROUNDING_KINDS, card_point_questions
from chatvla2_lite.data.scene_questions import (
    CARD_KINDS,
    SCENE_KINDS,
    card_list_questions,
    card_questions,
    pick_questions,
    scene_question_pool,
)
from sim.conventions import image_key
from sim.splits import board_font, get_split
from sim.tasks.math_problems import equation_with_answer, sample_problem
from sim.textures import draw_whiteboard
from sim.world import World

log = logging.getLogger(__name__)

BOARD_KINDS = ("ocr", "math")
KINDS = BOARD_KINDS + SCENE_KINDS + CARD_KINDS + GROUNDING_KINDS
# the list question is already among the cards ones; pointing (data/grounding_questions.py) is asked for by name
DEFAULT_KINDS = BOARD_KINDS + SCENE_KINDS + ("cards",)
MATH_SCENE_KINDS = BOARD_KINDS + CARD_KINDS + ("point_card",)  # asked of a math_matching scene, one per scene
TOY_SCENE_KINDS = SCENE_KINDS + ("point_toy", "point_place")  # asked of a toy_placement scene, several per scene
OCR_QUESTION = "What is written on the board?"
MATH_QUESTION = "Solve the problem on the board."
SOLVED_BOARD_PROB = 0.3  # share of OCR boards that show the solved equation ("3 + 4 = 7") instead of the problem


@dataclass(frozen=True)
class ImageTextConfig:
    """What the image-text stream mixes and how its pictures are made."""

    kinds: tuple[str, ...] = DEFAULT_KINDS
    weights: tuple[float, ...] | None = None  # per kind, relative; None: equal shares
    board_view: str = "board"  # "board": the drawn whiteboard image; "front": the front camera in a math scene
    # cameras rendered for scene questions (and board_view="front"); both, so the samples fit the robot's inputs
    scene_cameras: tuple[str, ...] = ("front", "wrist")
    questions_per_scene: int = 4  # questions drawn from each scene render (renders cost the most)
    world: World = World()  # the scenes' camera size and card layout (sim/world.py), the model's own

    def __post_init__(self):
        unknown = [k for k in self.kinds if k not in KINDS]
        if unknown or not self.kinds:
            raise ValueError(f"unknown image-text kinds {unknown}; use some of {', '.join(KINDS)}")
        if self.weights is not None and (len(self.weights) != len(self.kinds) or min(self.weights) < 0):
            raise ValueError("weights needs one non-negative number per kind")
        if self.board_view not in ("board", "front"):
            raise ValueError(f"board_view must be 'board' or 'front', not {self.board_view!r}")
        if self.questions_per_scene < 1:
            raise ValueError("questions_per_scene must be at least 1")
        object.__setattr__(self, "world", World.of(self.world))  # a model's processor keeps it as a dict

    def shares(self) -> dict[str, float]:
        """Kind -> share of the samples, summing to 1."""
        w = np.ones(len(self.kinds)) if self.weights is None else np.asarray(self.weights, float)
        return dict(zip(self.kinds, (w / w.sum()).tolist()))


def draw_board_question(kind: str, split: str, rng: np.random.Generator, fonts: str = "matplotlib") -> tuple:
    """(whiteboard PIL image, question, answer) of one OCR or math question of `split` (its fonts, its problems);
    `fonts` the world's font source (sim.splits.FONT_SOURCES)."""
    spec = get_split(split)
    problem = sample_problem(rng, spec)
    font = board_font(spec, rng, fonts)
    text, question, answer = board_question(kind, problem, rng)
    return draw_whiteboard(text, rng, font), question, answer


def board_question(kind: str, problem, rng: np.random.Generator) -> tuple[str, str, str]:
    """(what the board shows, question, answer) of an OCR or math question on `problem`: an OCR board shows the
    problem, or SOLVED_BOARD_PROB of the time the solved equation."""
    solved = equation_with_answer(problem)
    if kind == "ocr":
        text = solved if rng.random() < SOLVED_BOARD_PROB else problem.text
        return text, OCR_QUESTION, text
    if kind == "math":
        return problem.text, MATH_QUESTION, solved
    raise ValueError(f"{kind!r} is not a board kind; use one of {', '.join(BOARD_KINDS)}")


def board_sample(kind: str, split: str, rng: np.random.Generator, fonts: str = "matplotlib") -> dict:
    """One OCR or math sample on a freshly drawn whiteboard of `split` (its fonts, its problems)."""
    board, question, answer = draw_board_question(kind, split, rng, fonts)
    return {
        "images": {"board": np.asarray(board, dtype=np.uint8)},
        "question": question,
        "answer": answer,
        "kind": kind,
        "split": split,
    }


class SceneRenderer:
    """Builds seeded sim scenes and renders their cameras once; one env per task, reused. Close it when done."""

    def __init__(self, split: str, cameras: tuple[str, ...] = ("front",), world: World | None = None):
        self.split, self.cameras, self.world = split, tuple(cameras), World.of(world)
        self._envs: dict = {}

    def render(self, task: str, seed: int) -> tuple[dict[str, np.ndarray], dict]:
        """({camera: uint8 (H, W, 3)}, the reset info) of the `task` scene with this seed."""
        if task not in self._envs:
            self._envs[task] = sim.make_env(task, self.split, cameras=self.cameras, world=self.world)
        obs, info = self._envs[task].reset(seed=int(seed))
        return {cam: obs[image_key(cam)] for cam in self.cameras}, info

    def close(self) -> None:
        for env in self._envs.values():
            env.close()
        self._envs.clear()

    def __enter__(self) -> SceneRenderer:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def front_board_sample(kind: str, split: str, seed: int, renderer: SceneRenderer) -> dict:
    """One OCR or math sample whose picture is the front camera looking at a math_matching scene's board."""
    images, info = renderer.render("math_matching", seed)
    if kind == "ocr":
        question, answer = OCR_QUESTION, info["equation"]
    elif kind == "math":
        question, answer = MATH_QUESTION, info["solution"]
    else:
        raise ValueError(f"{kind!r} is not a board kind; use one of {', '.join(BOARD_KINDS)}")
    return {"images": images, "question": question, "answer": answer, "kind": kind, "split": split}


def card_samples(kind: str, split: str, seed: int, renderer: SceneRenderer, rng: np.random.Generator) -> list[dict]:
    """One question of `kind` about the cards of a math_matching scene (cards: which, where, next to what;
    card_list: which from left to right, none when the scene's cards do not stand clearly apart; point_card: a
    card's or the tray's point)."""
    images, info = renderer.render("math_matching", seed)
    pool = {"cards": card_questions, "card_list": card_list_questions, "point_card": card_point_questions}[kind](info)
    return [{"images": images, **qa, "split": split} for qa in pick_questions({kind: pool}, [kind], rng)]


def scene_samples(
    kinds: list[str], split: str, seed: int, renderer: SceneRenderer, rng: np.random.Generator
) -> list[dict]:
    """Questions of the given kinds (one each, fewer when a scene has none of a kind) about one toy scene."""
    spec = get_split(split)
    images, info = renderer.render("toy_placement", seed)
    pool = scene_question_pool(info, spec.shapes, spec.colours)
    return [{"images": images, **qa, "split": split} for qa in pick_questions(pool, kinds, rng)]


def _draw_unit(config: ImageTextConfig, rng: np.random.Generator) -> list[str]:
    """The kinds of the next unit of work: one board or card kind, or `questions_per_scene` scene kinds."""
    shares = config.shares()
    board = {k: s for k, s in shares.items() if k in MATH_SCENE_KINDS and s > 0}
    scene = {k: s for k, s in shares.items() if k in TOY_SCENE_KINDS and s > 0}
    q = config.questions_per_scene
    # A scene unit yields q samples, so it is drawn q times less often to keep the kinds' shares.
    p_board = sum(board.values()) / (sum(board.values()) + sum(scene.values()) / q)
    group, n = (board, 1) if rng.random() < p_board else (scene, q)
    names, probs = list(group), np.asarray(list(group.values()))
    return [names[i] for i in rng.choice(len(names), size=n, p=probs / probs.sum())]


def iter_image_text(
    split: str = "train",
    seed: int = 0,
    config: ImageTextConfig | None = None,
    renderer: SceneRenderer | None = None,
    start: int = 0,
) -> Iterator[dict]:
    """An endless, seeded stream of samples; unit j of work draws from np.random.default_rng((seed, j)).
    `start` skips to unit `start` (a scene, or one board): the same samples, so shards add up; "index" counts the
    samples from there."""
    get_split(split)  # an unknown split fails here, before any work
    config = config or ImageTextConfig()
    own = renderer is None
    renderer = renderer or SceneRenderer(split, config.scene_cameras, config.world)
    index = 0
    try:
        for unit in range(start, 2**62):
            rng = np.random.default_rng((seed, unit))
            kinds = _draw_unit(config, rng)
            scene_seed = int(rng.integers(2**31 - 1))
            if kinds[0] in BOARD_KINDS:
                if config.board_view == "board":
                    samples = [board_sample(kinds[0], split, rng, config.world.fonts)]
                else:
                    samples = [front_board_sample(kinds[0], split, scene_seed, renderer)]
            elif kinds[0] in MATH_SCENE_KINDS:
                samples = card_samples(kinds[0], split, scene_seed, renderer, rng)
            else:
                samples = scene_samples(kinds, split, scene_seed, renderer, rng)
            for sample in samples:
                yield {**sample, "seed": scene_seed, "index": index, "unit": unit}
                index += 1
    finally:
        if own:
            renderer.close()


def make_image_text(
    count: int, split: str = "train", seed: int = 0, config: ImageTextConfig | None = None
) -> list[dict]:
    """The first `count` samples of the (split, seed, config) stream."""
    stream = iter_image_text(split, seed, config)
    try:
        return [next(stream) for _ in range(count)]
    finally:
        stream.close()


def to_processor_inputs(sample: dict) -> tuple[dict, str, str]:
    """(observation, instruction, reasoning) for ChatVLA2Processor: the question is the instruction, the answer
    the reasoning target. Scene samples carry the robot's cameras; a drawn-board sample has one "board" picture,
    for a processor whose camera_names is ("board",)."""
    observation = {image_key(name): image for name, image in sample["images"].items()}
    return observation, sample["question"], sample["answer"]


def _rate(count: int, split: str, seed: int, config: ImageTextConfig) -> tuple[float, float]:
    start = time.perf_counter()
    make_image_text(count, split, seed, config)
    wall = time.perf_counter() - start
    return wall, count / wall


def measure_image_text_speed(
    count: int = 200, split: str = "train", seed: int = 0, config: ImageTextConfig | None = None, per_kind: int = 0
) -> dict:
    """Samples per second of the on-the-fly stream (one process, renderer start included); with
    `per_kind` > 0 also the rate of a stream of each kind alone, over that many samples."""
    config = config or ImageTextConfig()
    wall, rate = _rate(count, split, seed, config)
    result = {"samples": count, "split": split, "wall_s": round(wall, 3), "samples_per_s": round(rate, 1)}
    if per_kind:
        result["per_kind_samples_per_s"] = {
            kind: round(_rate(per_kind, split, seed, replace(config, kinds=(kind,), weights=None))[1], 1)
            for kind in config.kinds
        }
    return result
