"""The Probe tab asks the CLI's heldout questions and scores exact answers, recording every one."""

import threading

from playground.probes import run_probes


def test_untrained_model_scores_near_zero_and_every_answer_is_recorded(nano_policy):
    scores = run_probes(nano_policy, threading.Lock(), n=2)
    assert set(scores) == {"ocr", "math", "spatial"}
    for s in scores.values():
        assert s["total"] == 2 and len(s["rows"]) == 2 and 0.0 <= s["accuracy"] <= 1.0
        question, expected, answer, ok = s["rows"][0]
        assert question and expected and isinstance(ok, bool)
    assert scores["ocr"]["rows"][0][1].endswith("= ?") or "=" in scores["ocr"]["rows"][0][1]
    assert sum(s["correct"] for s in scores.values()) <= 1, "random weights should not read the board"


def test_a_held_lock_blocks_the_probe():
    from types import SimpleNamespace

    from sim.world import World

    lock = threading.Lock()
    calls = []

    class Policy:
        processor = SimpleNamespace(world=World())

        def reason(self, observation, question, max_new_tokens=None):
            calls.append(lock.locked())
            return SimpleNamespace(text="")

    run_probes(Policy(), lock, n=1, suites=("spatial",))
    assert calls == [True], "the shared model must be called under the run lock"
