"""How much of the reading does the model lose on fonts it never trained on?

    python -m experiments.font_gap [--questions 200] [--model M] --json

The same OCR probe twice: on train-split boards from a stream no training drew from (seed 900,000: the training
fonts and problems on fresh boards), and on heldout boards (fonts and problems never trained on). The gap is what
the heldout fonts cost; the train figure is how well it reads even in its own fonts.
"""

from __future__ import annotations

import sys

from chatvla2_lite.evaluation.probe import probe
from experiments import common

FRESH_TRAIN_SEED = 900_000  # far above every stream a training stage draws from (they start at 0)


def main(argv: list[str] | None = None) -> int:
    p = common.parser(__doc__, "font_gap")
    p.add_argument("--questions", type=int, default=200, help="OCR questions per split")
    args = p.parse_args(argv)

    def measure(a):
        policy = common.load(a)
        train = probe(policy, "ocr", questions=a.questions, split="train", seed=FRESH_TRAIN_SEED)
        heldout = probe(policy, "ocr", questions=a.questions, split="heldout")
        return {
            "ocr_train_fonts": train["ocr"],
            "ocr_heldout_fonts": heldout["ocr"],
            "gap": round(train["ocr"] - heldout["ocr"], 3),
            "questions_per_split": a.questions,
            "world": train["world"],
            "wall_s": round(train["wall_s"] + heldout["wall_s"], 1),
        }

    return common.run(measure, args)


if __name__ == "__main__":
    sys.exit(main())
