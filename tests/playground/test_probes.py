"""The probe suite asks real questions with ground truth from the sim and scores exact answers."""

import threading

from playground.probes import board_questions, run_probes, spatial_questions


def test_questions_carry_their_ground_truth():
    qs = board_questions(2, seed=0)
    assert [q.suite for q in qs] == ["ocr", "math", "ocr", "math"]
    assert qs[0].expected.endswith("= ?") and qs[1].expected.isdigit()
    assert qs[0].observation["observation.images.front"].shape == (224, 224, 3)
    sp = spatial_questions(2, seed=0)
    assert sp[1].expected in ("left", "right", "front", "behind", "in")


def test_untrained_model_scores_near_zero_and_every_answer_is_recorded(nano_policy):
    scores = run_probes(nano_policy, threading.Lock(), n=2)
    assert set(scores) == {"ocr", "math", "spatial"}
    for s in scores.values():
        assert s["total"] == 2 and len(s["rows"]) == 2 and 0.0 <= s["accuracy"] <= 1.0
    assert sum(s["correct"] for s in scores.values()) <= 1, "random weights should not read the board"
