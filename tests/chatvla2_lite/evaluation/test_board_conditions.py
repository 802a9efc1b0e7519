"""The board-condition probe: each level draws its own kind of board, and rows score as `probe` does."""

import numpy as np
import pytest

from chatvla2_lite.evaluation.board_conditions import FACTORS, draw_condition_board, levels, probe_board_conditions
from sim.splits import SPLITS
from sim.tasks.math_problems import solve


def test_every_factor_has_levels_and_the_fonts_are_both_splits():
    assert all(levels(f) for f in FACTORS)
    assert levels("font") == list(SPLITS["train"].fonts + SPLITS["heldout"].fonts)
    with pytest.raises(ValueError, match="unknown factor"):
        levels("colour")


@pytest.mark.parametrize("factor", FACTORS)
def test_each_level_draws_a_heldout_problem(factor):
    for level in levels(factor):
        board, problem = draw_condition_board(factor, level, "heldout", np.random.default_rng(0))
        assert board.size == (448, 224) and solve(problem.text) == problem.answer
        assert SPLITS["heldout"].has_math_problem(problem.key)
        if factor == "operator" and level != "two steps":
            assert problem.operators == ({"-": "-"}.get(level, level),)


def test_noise_changes_the_board_and_size_the_writing():
    rng = lambda: np.random.default_rng(3)  # noqa: E731
    clean, _ = draw_condition_board("noise", "none", "heldout", rng())
    noisy, _ = draw_condition_board("noise", "heavy", "heldout", rng())
    assert np.abs(np.asarray(clean, float) - np.asarray(noisy, float)).mean() > 10
    heights = []
    for size in ("small", "usual"):
        rows = np.nonzero(
            (np.asarray(draw_condition_board("size", size, "heldout", rng())[0]).min(axis=2) < 150).any(1)
        )
        heights.append(rows[0].max() - rows[0].min())
    assert heights[0] < heights[1]


class _Echo:
    """A policy that says what it is told to (the board's problem), so every ocr row is right."""

    class processor:  # noqa: N801
        camera_names = ("front", "wrist")
        world = None

    def __init__(self):
        self.truth = None

    def reason(self, observation, question, max_new_tokens=24):
        from types import SimpleNamespace

        return SimpleNamespace(text=self.truth)


@pytest.mark.slow
def test_rows_carry_the_scene_and_score_answers(monkeypatch):
    import chatvla2_lite.evaluation.board_conditions as bc

    echo = _Echo()
    scenes = bc.iter_condition_scenes

    def spy(*args, **kwargs):
        for scene in scenes(*args, **kwargs):
            echo.truth = scene["equation"]
            yield scene

    monkeypatch.setattr(bc, "iter_condition_scenes", spy)
    rows = probe_board_conditions(echo, {"size": ["large"]}, questions=1, progress=False)
    assert [r["kind"] for r in rows] == ["ocr", "math"]
    assert rows[0]["right"] and not rows[1]["right"]
    assert rows[0]["observation"]["observation.images.front"].shape == (224, 224, 3)
    assert rows[0]["observation"]["observation.state"].shape == (6,)
    with pytest.raises(ValueError, match="has no levels"):
        probe_board_conditions(echo, {"size": ["huge"]}, questions=1, progress=False)
