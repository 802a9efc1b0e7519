"""Whiteboard math problems whose answer is one digit, and a pure parser that solves them.

Every operand is a single digit and every answer is in 0..9, so one number card answers any
problem. Two-step problems only use operator orders where left-to-right and the usual precedence
give the same result (`a + b - c`, `a × b + c`, ...), and every intermediate value is a whole
number >= 0, so a child (or a model) never meets a negative or fractional step.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache

import numpy as np

from sim.splits import SplitSpec, as_split

DIGITS = range(10)
ANSWERS = range(10)
SINGLE_STEP_FORMS: tuple[tuple[str, ...], ...] = (("+",), ("-",), ("×",), ("÷",))
# The first operator binds at least as tightly as the second, so no form depends on precedence.
TWO_STEP_FORMS: tuple[tuple[str, ...], ...] = (
    ("+", "+"),
    ("+", "-"),
    ("-", "+"),
    ("-", "-"),
    ("×", "+"),
    ("×", "-"),
    ("÷", "+"),
    ("÷", "-"),
)
TWO_STEP_PROB = 0.3  # share of sampled problems that take two steps

# What solve() accepts for each operator: typed ASCII, the board's symbols, and the Unicode minus.
_OPERATOR_ALIASES = {"+": "+", "-": "-", "−": "-", "×": "×", "x": "×", "*": "×", "÷": "÷", "/": "÷", ":": "÷"}
_KEY_SYMBOL = {"+": "+", "-": "-", "×": "*", "÷": "/"}
_TOKEN = re.compile(r"\s*(?:(\d+)|([+\-−×x*÷/:]))")
_QUESTION = re.compile(r"\s*=\s*\??\s*$")


@dataclass(frozen=True)
class MathProblem:
    """One problem: the board text, its one-digit answer, and the numbers and operators in it."""

    text: str  # "3 + 4 = ?"
    answer: int  # 0..9
    operands: tuple[int, ...]  # (3, 4)
    operators: tuple[str, ...]  # ("+",), symbols from "+", "-", "×", "÷"

    @property
    def key(self) -> str:
        """The canonical ASCII key ("3+4", "6/2-1") that sim.splits hashes to pick a split."""
        return problem_key(self.operands, self.operators)


def problem_key(operands: tuple[int, ...], operators: tuple[str, ...]) -> str:
    """The canonical ASCII key of a problem, e.g. (6, 2, 1), ("÷", "-") -> "6/2-1"."""
    parts = [str(operands[0])]
    for op, x in zip(operators, operands[1:]):
        parts += [_KEY_SYMBOL[op], str(x)]
    return "".join(parts)


def _apply(op: str, a: int, b: int) -> int | None:
    """a op b as a whole number, or None when it is not one (negative, fractional, b == 0)."""
    if op == "+":
        return a + b
    if op == "-":
        return a - b if a >= b else None
    if op == "×":
        return a * b
    if op == "÷":
        return a // b if b != 0 and a % b == 0 else None
    raise ValueError(f"unknown operator {op!r}; use one of + - × ÷")


def _evaluate_left_to_right(operands: tuple[int, ...], operators: tuple[str, ...]) -> int | None:
    value: int | None = operands[0]
    for op, x in zip(operators, operands[1:]):
        value = None if value is None else _apply(op, value, x)
    return value


def _make(operands: tuple[int, ...], operators: tuple[str, ...], answer: int) -> MathProblem:
    body = " ".join([str(operands[0])] + [f"{op} {x}" for op, x in zip(operators, operands[1:])])
    return MathProblem(text=f"{body} = ?", answer=answer, operands=operands, operators=operators)


@cache
def problems_of_form(operators: tuple[str, ...]) -> tuple[MathProblem, ...]:
    """Every problem with these operators whose steps are whole numbers >= 0 and answer is 0..9."""
    out = []
    for flat in np.ndindex(*([len(DIGITS)] * (len(operators) + 1))):
        operands = tuple(int(d) for d in flat)
        answer = _evaluate_left_to_right(operands, operators)
        if answer is not None and answer in ANSWERS:
            out.append(_make(operands, operators, answer))
    return tuple(out)


def all_forms() -> tuple[tuple[str, ...], ...]:
    """Every operator pattern, single-step first."""
    return SINGLE_STEP_FORMS + TWO_STEP_FORMS


@cache
def _split_problems(split: SplitSpec, operators: tuple[str, ...]) -> tuple[MathProblem, ...]:
    return tuple(p for p in problems_of_form(operators) if split.has_math_problem(p.key))


def split_problems(split: str | SplitSpec, operators: tuple[str, ...] | None = None) -> tuple[MathProblem, ...]:
    """The problems that belong to `split`, of one operator pattern or (None) of all of them."""
    spec = as_split(split)
    forms = all_forms() if operators is None else (tuple(operators),)
    return tuple(p for form in forms for p in _split_problems(spec, form))


def sample_problem(
    rng: np.random.Generator, split: str | SplitSpec, two_step_prob: float = TWO_STEP_PROB
) -> MathProblem:
    """A problem of `split`: first single- or two-step, then an operator pattern, then a problem."""
    spec = as_split(split)
    # Pick the pattern before the problem so rare patterns (÷ has few one-digit answers) still show up.
    forms = TWO_STEP_FORMS if rng.random() < two_step_prob else SINGLE_STEP_FORMS
    forms = tuple(f for f in forms if _split_problems(spec, f))
    pool = _split_problems(spec, forms[int(rng.integers(len(forms)))])
    return pool[int(rng.integers(len(pool)))]


def equation_with_answer(problem: MathProblem) -> str:
    """The problem's text with its answer in place of the question mark: "3 + 4 = 7"."""
    return problem.text.replace("= ?", f"= {problem.answer}")


def _garbage(text: str, why: str) -> ValueError:
    return ValueError(f"cannot solve {text!r}: {why}; write a problem like '3 + 4 = ?' or '6 ÷ 2 - 1'")


def solve(text: str) -> int:
    """The whole-number value of a problem string such as "3 + 4 = ?" or "6 ÷ 2 - 1".

    Accepts + - − × x * ÷ / : between non-negative integers, an optional trailing "= ?", and the
    usual precedence (× and ÷ before + and -). Raises ValueError for anything else, for division
    by zero and for a division that is not exact.
    """
    if not isinstance(text, str):
        raise _garbage(str(text), "it is not a string")
    body = _QUESTION.sub("", text)
    if "=" in body:
        raise _garbage(text, "only '= ?' may follow the problem")
    numbers: list[int] = []
    operators: list[str] = []
    pos = 0
    while pos < len(body.rstrip()):
        m = _TOKEN.match(body, pos)
        if m is None:
            raise _garbage(text, f"unexpected character {body[pos:].strip()[:1]!r}")
        expect_number = len(numbers) == len(operators)
        if (m.group(1) is not None) != expect_number:
            raise _garbage(text, "numbers and operators must alternate")
        if m.group(1) is not None:
            numbers.append(int(m.group(1)))
        else:
            operators.append(_OPERATOR_ALIASES[m.group(2)])
        pos = m.end()
    if not numbers or len(numbers) != len(operators) + 1:
        raise _garbage(text, "it must start and end with a number")
    return _evaluate_with_precedence(text, numbers, operators)


def _evaluate_with_precedence(text: str, numbers: list[int], operators: list[str]) -> int:
    # First fold × and ÷ into the running term, then add up the terms with their signs.
    terms, signs = [numbers[0]], [1]
    for op, x in zip(operators, numbers[1:]):
        if op == "×":
            terms[-1] *= x
        elif op == "÷":
            if x == 0:
                raise _garbage(text, "it divides by zero")
            if terms[-1] % x:
                raise _garbage(text, "its division is not exact")
            terms[-1] //= x
        else:
            terms.append(x)
            signs.append(1 if op == "+" else -1)
    return int(sum(s * t for s, t in zip(signs, terms)))
