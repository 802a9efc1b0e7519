"""The Probe tab's questions and scores: the same heldout OCR, math and spatial questions as `chatvla2-lite probe`."""

from __future__ import annotations

from chatvla2_lite.evaluation.probe import SUITES, probe_rows


def run_probes(policy, run_lock, n: int = 4, seed: int = 20_000, suites=SUITES) -> dict:
    """{suite: {"accuracy", "correct", "total", "rows": [(question, expected, answer, ok)]}} for the model."""
    scores = {}
    for suite in suites:
        rows = probe_rows(policy, suite, questions=n, seed=seed, lock=run_lock, progress=False)
        correct = sum(ok for *_, ok in rows)
        scores[suite] = {
            "accuracy": correct / len(rows) if rows else 0.0,
            "correct": correct,
            "total": len(rows),
            "rows": rows,
        }
    return scores
