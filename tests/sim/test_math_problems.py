"""One-digit math problems: answers in 0..9, solve() agrees, the parser refuses garbage."""

import numpy as np
import pytest

from sim.tasks.math_problems import (
    MathProblem,
    all_forms,
    equation_with_answer,
    problems_of_form,
    sample_problem,
    solve,
    split_problems,
)


def test_every_problem_has_a_one_digit_answer_single_digit_operands_and_solves():
    for form in all_forms():
        for p in problems_of_form(form):
            assert 0 <= p.answer <= 9
            assert all(0 <= x <= 9 for x in p.operands)
            assert p.operators == form and len(p.operands) == len(form) + 1
            assert solve(p.text) == p.answer, p.text


def test_intermediate_values_are_whole_and_non_negative():
    for form in all_forms():
        for p in problems_of_form(form):
            first = solve(f"{p.operands[0]} {p.operators[0]} {p.operands[1]}")
            assert first >= 0
            if "÷" in p.operators:
                assert p.operands[p.operators.index("÷") + 1] != 0


@pytest.mark.parametrize("split", ["train", "heldout"])
def test_samples_solve_and_stay_in_their_split(split):
    rng = np.random.default_rng(7)
    keys = {p.key for p in split_problems(split)}
    seen_forms = set()
    for _ in range(3000):
        p = sample_problem(rng, split)
        assert p.key in keys
        assert solve(p.text) == p.answer
        seen_forms.add(p.operators)
    assert seen_forms == set(all_forms())


def test_sampling_is_deterministic_for_a_seed():
    a = [sample_problem(np.random.default_rng(3), "train") for _ in range(1)]
    b = [sample_problem(np.random.default_rng(3), "train") for _ in range(1)]
    assert a == b
    draws = {sample_problem(np.random.default_rng(s), "train").text for s in range(50)}
    assert len(draws) > 10


def test_equation_with_answer():
    p = MathProblem(text="3 + 4 = ?", answer=7, operands=(3, 4), operators=("+",))
    assert equation_with_answer(p) == "3 + 4 = 7"
    assert p.key == "3+4"


@pytest.mark.parametrize(
    "text,value",
    [
        ("3 + 4 = ?", 7),
        ("3+4=?", 7),
        ("8 - 3", 5),
        ("8 − 3 = ?", 5),
        ("2 × 3 + 1 = ?", 7),
        ("1 + 2 × 3", 7),
        ("2 x 4", 8),
        ("8 ÷ 2 - 1 =", 3),
        ("9 / 3", 3),
        ("  12 * 2 = ? ", 24),
    ],
)
def test_solve_reads_typed_variants_with_precedence(text, value):
    assert solve(text) == value


@pytest.mark.parametrize(
    "text",
    [
        "",
        "?",
        "3 +",
        "+ 3",
        "3 ++ 4",
        "3 4",
        "abc",
        "3 + four",
        "7 ÷ 2",
        "4 / 0",
        "3 + 4 = 7",
        "3 = 3 = ?",
    ],
)
def test_solve_refuses_garbage_with_value_error(text):
    with pytest.raises(ValueError, match="cannot solve"):
        solve(text)
