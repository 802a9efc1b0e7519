"""How does a model do zero-shot in a sim world it never learnt in (another camera size or card layout)?

    python -m experiments.other_world --card-layout row [--camera-size 448] --eval math_matching [--episodes 30] --json
    python -m experiments.other_world --card-layout row --probe all [--questions 50] --json

The model's processor names the world it was trained in, and the product's eval and probe always run there; this
moves it first, so the figures say what the other world alone costs.
"""

from __future__ import annotations

import sys

from chatvla2_lite.evaluation.closed_loop import evaluate
from chatvla2_lite.evaluation.probe import SUITES, probe
from experiments import common
from sim.conventions import TASK_NAMES


def main(argv: list[str] | None = None) -> int:
    p = common.parser(__doc__, "other_world")
    what = p.add_mutually_exclusive_group(required=True)
    what.add_argument("--eval", choices=TASK_NAMES, help="closed-loop episodes of this task")
    what.add_argument("--probe", choices=(*SUITES, "all"), help="VQA questions of this suite")
    p.add_argument("--episodes", type=int, default=30, help="eval episodes (heldout seeds from 10,000)")
    p.add_argument("--questions", type=int, default=50, help="probe questions per suite (heldout)")
    args = p.parse_args(argv)

    def measure(a):
        policy = common.load(a)
        if a.eval:
            return evaluate(policy, a.eval, "heldout", a.episodes)
        return probe(policy, a.probe, questions=a.questions)

    return common.run(measure, args)


if __name__ == "__main__":
    sys.exit(main())
