"""Procedurally generated, graded arithmetic problems with step-by-step reference solutions.

A small, fully offline training source for GHPO: every problem comes with a worked solution
(`solution_hint`, one step per line, the final-answer line last) so hint cutting (the first
fraction of the solution, GHPO paper Sec. 3) has natural step boundaries, and difficulty is
controlled by the level:

    "<terms>x<digits>[m]"   e.g. "3x2" = three 2-digit terms joined by + or -;
                            the "m" suffix also allows multiplication by a 1-digit factor.

More terms means more steps (one step per operator), so the levels in `ARITH_LEVELS` are ordered
easy -> hard. The gold answer is computed from the terms and operators (`evaluate_arith`), never
parsed back from the solution text.

>>> solve_arith_steps([47, 38, 12], ["+", "-"])
(['47 + 38 = 85', '85 - 12 = 73'], 73)
"""

from __future__ import annotations

import logging
import random
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

__all__ = [
    "ARITH_LEVELS",
    "ArithLevel",
    "ArithProblem",
    "arith_level_spec",
    "evaluate_arith",
    "format_arith_expression",
    "generate_arith_problems",
    "render_arith_solution",
    "solve_arith_steps",
]

ARITH_LEVELS: tuple[str, ...] = ("2x1", "2x2", "3x2", "3x3", "4x2m", "4x3", "5x3m", "6x3m")
"""Curated levels, easy -> hard (non-decreasing number of steps). Any "<terms>x<digits>[m]" name works."""

_LEVEL_RE = re.compile(r"^(\d+)x(\d+)(m?)$")
_MAX_TERMS = 12
_MAX_DIGITS = 9
_MAX_ATTEMPTS = 1000  # rejection-sampling tries before a level counts as exhausted

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class ArithLevel:
    """One difficulty level: `num_terms` terms of `digits` digits joined by `ops`."""

    name: str
    num_terms: int
    digits: int
    ops: tuple[str, ...]

    @property
    def num_steps(self) -> int:
        """Steps in the worked solution, final-answer line excluded: one per operator."""
        return self.num_terms - 1


@dataclass(frozen=True)
class ArithProblem:
    """A generated problem: `terms[0] ops[0] terms[1] ...` with its worked solution and answer."""

    level: str
    terms: tuple[int, ...]
    ops: tuple[str, ...]
    answer: int
    steps: tuple[str, ...]

    @property
    def expression(self) -> str:
        return format_arith_expression(self.terms, self.ops)


def arith_level_spec(name: str) -> ArithLevel:
    """Parse a level name like "3x2" or "4x2m" into an `ArithLevel`.

    >>> arith_level_spec("4x2m")
    ArithLevel(name='4x2m', num_terms=4, digits=2, ops=('+', '-', '*'))
    """
    match = _LEVEL_RE.match(name.strip()) if isinstance(name, str) else None
    if match is None:
        raise ValueError(
            f"unknown arithmetic level {name!r}: use '<terms>x<digits>' with an optional 'm' suffix "
            f"for multiplication, e.g. one of {', '.join(ARITH_LEVELS)}"
        )
    num_terms, digits = int(match.group(1)), int(match.group(2))
    if not 2 <= num_terms <= _MAX_TERMS or not 1 <= digits <= _MAX_DIGITS:
        raise ValueError(
            f"arithmetic level {name!r} out of range: terms must be in [2, {_MAX_TERMS}] and digits in "
            f"[1, {_MAX_DIGITS}]"
        )
    ops = ("+", "-", "*") if match.group(3) else ("+", "-")
    return ArithLevel(name=name.strip(), num_terms=num_terms, digits=digits, ops=ops)


def format_arith_expression(terms: Sequence[int], ops: Sequence[str]) -> str:
    """`[47, 38, 12], ["+", "-"]` -> "47 + 38 - 12" (valid Python, so tests can `eval` it)."""
    if len(ops) != len(terms) - 1:
        raise ValueError(f"need len(ops) == len(terms) - 1, got {len(terms)} terms and {len(ops)} ops")
    parts = [str(terms[0])]
    for op, term in zip(ops, terms[1:]):
        parts += [op, str(term)]
    return " ".join(parts)


def _apply(a: int, op: str, b: int) -> int:
    if op == "+":
        return a + b
    if op == "-":
        return a - b
    if op == "*":
        return a * b
    raise ValueError(f"unknown operator {op!r}; valid: '+', '-', '*'")


def evaluate_arith(terms: Sequence[int], ops: Sequence[str]) -> int:
    """The answer with the usual precedence (multiplication first), computed independently of
    `solve_arith_steps`: a running sum of signed products."""
    total, product, sign = 0, terms[0], 1
    for op, term in zip(ops, terms[1:]):
        if op == "*":
            product *= term
            continue
        if op not in ("+", "-"):
            raise ValueError(f"unknown operator {op!r}; valid: '+', '-', '*'")
        total += sign * product
        sign, product = (1 if op == "+" else -1), term
    return total + sign * product


def solve_arith_steps(terms: Sequence[int], ops: Sequence[str]) -> tuple[list[str], int]:
    """Worked solution: one "a op b = c" step per operator and the result.

    Multiplications are done first (left to right), then additions and subtractions left to right,
    so a problem with k operators always has k steps.

    >>> solve_arith_steps([5, 3, 4, 2], ["+", "*", "-"])
    (['3 * 4 = 12', '5 + 12 = 17', '17 - 2 = 15'], 15)
    """
    if len(ops) != len(terms) - 1 or not terms:
        raise ValueError(f"need len(ops) == len(terms) - 1 >= 0, got {len(terms)} terms and {len(ops)} ops")
    values, rest_ops, steps = [terms[0]], [], []
    for op, term in zip(ops, terms[1:]):
        if op == "*":
            result = values[-1] * term
            steps.append(f"{values[-1]} * {term} = {result}")
            values[-1] = result
        else:
            values.append(term)
            rest_ops.append(op)
    acc = values[0]
    for op, term in zip(rest_ops, values[1:]):
        result = _apply(acc, op, term)
        steps.append(f"{acc} {op} {term} = {result}")
        acc = result
    return steps, acc


def render_arith_solution(steps: Sequence[str], answer: int) -> str:
    """"Step 1: ...\\nStep 2: ...\\nThe final answer is \\\\boxed{73}." (the answer line last)."""
    lines = [f"Step {i}: {step}" for i, step in enumerate(steps, start=1)]
    lines.append(f"The final answer is \\boxed{{{answer}}}.")
    return "\n".join(lines)


def _sample(level: ArithLevel, rng: random.Random) -> tuple[tuple[int, ...], tuple[str, ...]]:
    low, high = (1 if level.digits == 1 else 10 ** (level.digits - 1)), 10**level.digits - 1
    ops = tuple(rng.choice(level.ops) for _ in range(level.num_terms - 1))
    # A factor after "*" is a single digit in [2, 9] so products stay readable.
    terms = [rng.randint(low, high)]
    terms += [rng.randint(2, 9) if op == "*" else rng.randint(low, high) for op in ops]
    return tuple(terms), ops


def generate_arith_problems(
    n: int, levels: Sequence[str] = ARITH_LEVELS, seed: int = 0, exclude: Iterable[str] = ()
) -> list[ArithProblem]:
    """`n` distinct problems, assigned to `levels` round-robin, reproducible from `seed`.

    `exclude` holds expressions (`ArithProblem.expression`) never to produce, e.g. a training set's
    problems when building a held-out set. A level that runs out of distinct problems (there are only
    162 "2x1" problems) leaves the rotation with a logged warning and the other levels fill in; ValueError
    when every level has run out.
    """
    if n < 0:
        raise ValueError(f"n must be >= 0, got {n}")
    if not levels:
        raise ValueError(f"levels must name at least one level, e.g. {list(ARITH_LEVELS)}")
    active = [arith_level_spec(name) for name in levels]
    rng = random.Random(seed)
    seen = set(exclude)
    problems: list[ArithProblem] = []
    turn = 0
    while len(problems) < n:
        level = active[turn % len(active)]
        for _attempt in range(_MAX_ATTEMPTS):
            terms, ops = _sample(level, rng)
            expression = format_arith_expression(terms, ops)
            if expression not in seen:
                break
        else:
            active.remove(level)
            made = sum(p.level == level.name for p in problems)
            if not active:
                raise ValueError(
                    f"arithmetic levels {list(levels)} ran out of distinct problems after {len(problems)} of {n} "
                    "rows; ask for fewer rows or add harder levels")
            logger.warning("arithmetic level %r ran out of distinct problems after %d rows; the other levels "
                           "fill in", level.name, made)
            continue  # the next level takes this turn
        seen.add(expression)
        steps, answer = solve_arith_steps(terms, ops)
        problems.append(ArithProblem(level.name, terms, ops, answer, tuple(steps)))
        turn += 1
    return problems
