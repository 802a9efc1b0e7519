"""Zero-shot probing of board reading by condition: the board's font, its writing's size, noise on it, the operator.

Each question is a whiteboard drawn under one condition (one level of one factor, the others at their usual
setting), put on the board of a math_matching scene and photographed by the front camera, as the robot sees it; the
model is asked to read it (ocr) and to solve it (math), and scored as `chatvla2-lite probe` scores. Problems come
from the split asked for (heldout: problems the model never trained on); fonts, when the font is not the factor,
from that split's fonts. `probe_board_conditions` gives one row per question, its board image included, so a
notebook can chart accuracy by condition and show the boards it failed on.
"""

from __future__ import annotations

import zlib
from collections.abc import Iterator
from contextlib import nullcontext

import numpy as np
from PIL import Image
from tqdm.auto import tqdm

from chatvla2_lite.data.image_text import MATH_QUESTION, OCR_QUESTION
from chatvla2_lite.evaluation.probe import normalize_answer
from sim.conventions import image_key
from sim.splits import SPLITS, get_split
from sim.tasks.math_problems import SINGLE_STEP_FORMS, TWO_STEP_FORMS, equation_with_answer, split_problems
from sim.textures import FONT_HEIGHT_FRAC, draw_whiteboard
from sim.world import World

BOARD_KEY = "probe_board"  # a texture key of our own: the scene's own board is "board"
# the writing's height, as a share of the board's (the sim draws 0.28-0.40); text too wide for the board is scaled
# down to fit, so a long problem comes out no larger at "large" than at "usual"
SIZES = {"small": (0.12, 0.16), "usual": FONT_HEIGHT_FRAC, "large": (0.5, 0.6)}
NOISE = {"none": 0.0, "light": 12.0, "heavy": 40.0}  # sigma, grey levels, of Gaussian noise on the board's pixels
OPERATORS = {"+": [("+",)], "-": [("-",)], "×": [("×",)], "÷": [("÷",)], "two steps": list(TWO_STEP_FORMS)}
FACTORS = ("font", "size", "noise", "operator")


def levels(factor: str) -> list[str]:
    """The levels of `factor`: every font of both splits (train ones first), or the SIZES, NOISE or OPERATORS."""
    if factor == "font":
        return [font for split in ("train", "heldout") for font in SPLITS[split].fonts]
    if factor in ("size", "noise", "operator"):
        return list({"size": SIZES, "noise": NOISE, "operator": OPERATORS}[factor])
    raise ValueError(f"unknown factor {factor!r}; use one of {', '.join(FACTORS)}")


def font_split(font: str) -> str:
    """The split whose boards are written in `font` ("train" or "heldout")."""
    return next(name for name, spec in SPLITS.items() if font in spec.fonts)


def draw_condition_board(factor: str, level: str, split: str, rng: np.random.Generator):
    """(board PIL image, the problem) drawn under one condition, the other factors at their usual setting."""
    spec = get_split(split)
    forms = OPERATORS[level] if factor == "operator" else list(SINGLE_STEP_FORMS + TWO_STEP_FORMS)
    pool = [p for form in forms for p in split_problems(spec, form)]
    problem = pool[int(rng.integers(len(pool)))]
    font = level if factor == "font" else spec.fonts[int(rng.integers(len(spec.fonts)))]
    size = SIZES[level] if factor == "size" else FONT_HEIGHT_FRAC
    board = draw_whiteboard(problem.text, rng, font, font_height_frac=size)
    sigma = NOISE[level] if factor == "noise" else 0.0
    if sigma:
        noisy = np.asarray(board, dtype=np.float64) + rng.normal(0.0, sigma, size=(board.height, board.width, 1))
        board = Image.fromarray(np.clip(noisy, 0, 255).astype(np.uint8))
    return board, problem


def iter_condition_scenes(
    factor: str, level: str, count: int, split: str = "heldout", seed: int = 30_000, world=None, cameras=("front",)
) -> Iterator[dict]:
    """`count` math_matching scenes whose board shows a board drawn under (factor, level): per scene the
    observation (the cameras' images, the arm's joints, the task's instruction), the board, the problem's text and
    its solution. Scene j of a level draws from its own generator, so
    adding a level or a factor never changes another's boards."""
    import sim

    condition = zlib.crc32(f"{factor}/{level}".encode())

    env = sim.make_env("math_matching", split, cameras=tuple(cameras), world=World.of(world))
    try:
        for j in range(count):
            rng = np.random.default_rng((seed, condition, j))
            board, problem = draw_condition_board(factor, level, split, rng)
            observation, _ = env.reset(seed=int(rng.integers(2**31 - 1)))
            env.scene.set_board_image(board, key=BOARD_KEY)
            observation.update({image_key(cam): env.cameras.render(cam) for cam in cameras})
            yield {
                "observation": observation,
                "board": board,
                "equation": problem.text,
                "solution": equation_with_answer(problem),
            }
    finally:
        env.close()


def probe_board_conditions(
    policy,
    conditions: dict[str, list[str]] | None = None,
    questions: int = 8,
    split: str = "heldout",
    seed: int = 30_000,
    max_new_tokens: int = 24,
    lock=None,
    progress: bool = True,
) -> list[dict]:
    """One row per question: factor, level, kind ("ocr" or "math"), question, answer, said, right, board (PIL),
    observation (the scene as the robot saw it: act on it); `questions` scenes per level, each asked both
    questions. `conditions`: factor -> the levels to ask (None: every level of every factor)."""
    conditions = conditions or {factor: levels(factor) for factor in FACTORS}
    for factor, asked in conditions.items():
        unknown = sorted(set(asked) - set(levels(factor)))
        if unknown:
            raise ValueError(f"{factor} has no levels {unknown}; its levels are {', '.join(levels(factor))}")
    cameras = tuple(policy.processor.camera_names)
    rows = []
    todo = [(factor, level) for factor, asked in conditions.items() for level in asked]
    for factor, level in tqdm(todo, desc="board conditions", disable=not progress):
        for scene in iter_condition_scenes(factor, level, questions, split, seed, policy.processor.world, cameras):
            for kind, question, answer in (
                ("ocr", OCR_QUESTION, scene["equation"]),
                ("math", MATH_QUESTION, scene["solution"]),
            ):
                with lock or nullcontext():
                    said = policy.reason(scene["observation"], question, max_new_tokens=max_new_tokens).text
                right = normalize_answer(said) == normalize_answer(answer)
                rows.append(
                    {
                        "factor": factor,
                        "level": level,
                        "kind": kind,
                        "question": question,
                        "answer": answer,
                        "said": said,
                        "right": right,
                        "board": scene["board"],
                        "observation": scene["observation"],
                    }
                )
    return rows
