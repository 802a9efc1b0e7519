"""The app's default episode budget fits the task: the scripted expert, driven through the page's own control loop,
backend and budget, solves heldout scenes of both tasks."""

import pytest

from playground.control_loop import Budget
from playground.expert_ceiling import expert_episode, expert_solved
from playground.settings import AppSettings


@pytest.mark.slow
def test_the_scripted_expert_solves_49_of_50_heldout_scenes_of_each_task_within_the_apps_default_budget():
    budget = Budget.of(AppSettings())  # the defaults a visitor gets, not the tests' small MAX_CHUNKS
    result = expert_solved(50, budget, split="heldout")
    for task in ("math_matching", "toy_placement"):
        assert result[f"{task}_solved"] >= 49 / 50, result[f"{task}_failed"]
        assert result[f"{task}_steps_max"] <= budget.max_chunks * budget.chunk_steps


def test_a_budget_the_expert_does_not_fit_in_ends_out_of_budget():
    out = expert_episode("math_matching", 10_000, Budget(max_chunks=2))
    assert not out["solved"] and out["chunks"] == 2 and out["steps"] == 32
    assert "out of budget (2 chunks)" in out["verdict"]
