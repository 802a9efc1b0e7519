"""A small zero-shot probe suite generated from the simulator: read the board (OCR), solve it (math), and
name what moves where (spatial). Answers are scored exactly, after trimming case, spaces and a final full stop.

It stands in for `chatvla2-lite probe` until that command exists; the questions carry their ground truth.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

SUITES = ("ocr", "math", "spatial")
MAX_ANSWER_TOKENS = 16  # answers are a few words; a short budget keeps the suite fast on a CPU


@dataclass
class Question:
    suite: str
    question: str
    expected: str
    observation: dict


def normalize(text: str) -> str:
    """Lower case, single spaces, the board's minus/times signs as ASCII, no trailing full stop."""
    table = str.maketrans({"−": "-", "×": "x", "*": "x", "÷": "/"})
    return " ".join(str(text).translate(table).lower().split()).rstrip(".").strip()


def board_observation(board, question: str) -> dict:
    """The board image letterboxed into both 224x224 cameras, the arm at rest: what an OCR question sees."""
    from PIL import ImageOps

    image = np.asarray(ImageOps.pad(board, (224, 224), color=(255, 255, 255)), dtype=np.uint8)
    return {"observation.images.front": image, "observation.images.wrist": image.copy(),
            "observation.state": np.zeros(6, dtype=np.float32), "task": question}


def board_questions(n: int, seed: int) -> list[Question]:
    """n OCR and n math questions on boards drawn with sim.textures, each with its ground truth."""
    from sim.splits import get_split
    from sim.tasks.math_problems import sample_problem
    from sim.textures import draw_whiteboard

    split = get_split("train")
    out = []
    for i in range(n):
        rng = np.random.default_rng(seed + i)
        problem = sample_problem(rng, split)
        board = draw_whiteboard(problem.text, rng, split.fonts[int(rng.integers(len(split.fonts)))])
        ask = "What is written on the whiteboard? Answer with the problem only."
        out.append(Question("ocr", ask, normalize(problem.text), board_observation(board, ask)))
        ask = "What is the answer to the problem on the whiteboard? Answer with one digit."
        out.append(Question("math", ask, str(problem.answer), board_observation(board, ask)))
    return out


def spatial_questions(n: int, seed: int) -> list[Question]:
    """n questions on toy_placement scenes: which toy moves, and where (its relation to the target)."""
    import sim

    env = sim.make_env("toy_placement", "train", cameras=("front", "wrist"))
    try:
        out = []
        for i in range(n):
            obs, info = env.reset(seed=seed + i)
            if i % 2 == 0:
                ask = f"{info['instruction']} Which toy must be moved? Answer with its colour and name."
                expected = info["object"]
            else:
                ask = (f"{info['instruction']} Where must the {info['object']} go relative to the {info['target']}? "
                       "Answer left, right, front, behind or in.")
                expected = info["relation"]
            out.append(Question("spatial", ask, normalize(expected), {**obs, "task": ask}))
        return out
    finally:
        env.close()


def run_probes(policy, run_lock, n: int = 4, seed: int = 1000, suites=SUITES) -> dict:
    """{suite: {"accuracy", "correct", "total", "rows": [(question, expected, answer, ok)]}} for the model."""
    questions = [q for q in board_questions(n, seed) if q.suite in suites]
    if "spatial" in suites:
        questions += spatial_questions(n, seed)
    scores = {s: {"accuracy": 0.0, "correct": 0, "total": 0, "rows": []} for s in suites}
    for q in questions:
        with run_lock:
            answer = policy.reason(q.observation, q.question, max_new_tokens=MAX_ANSWER_TOKENS).text
        ok = normalize(answer) == q.expected
        s = scores[q.suite]
        s["correct"] += ok
        s["total"] += 1
        s["rows"].append((q.question, q.expected, answer, ok))
    for s in scores.values():
        s["accuracy"] = s["correct"] / s["total"] if s["total"] else 0.0
    return scores
