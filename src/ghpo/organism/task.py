"""The organism's task: graded arithmetic as short plain-text rows (prompt -> compact worked solution).

Problems come from ``ghpo.arith`` (the gold answer is computed from the terms, never parsed from text). Only the
rendering differs from ``ghpo.data.make_arith_dataset``: a one-line plain prompt and a *scratchpad* solution in
which every line rewrites the remaining expression after one more operation (v3; issue 10), so each step is local
(read two numbers at the front, write their result, copy the rest) and a policy taught 3 steps can run 5:

    prompt:        "Calculate 4 + 8 - 3 + 5.\\n"
    solution_hint: "= 12 - 3 + 5\\n= 9 + 5\\n= 14\\n\\\\boxed{14}"   (one line per step, answer line last)
    solution:      "14"

A hint cut (``ghpo.guidance.cut_hint``) drops the ``\\boxed`` line first (and, from issue 9 on, the last step
``= 14``, which states the answer), so hints are whole or partial rewrite steps and never the answer. The prompt ends with a newline and the organism's hint template is ``"{hint}"``, so a hinted prompt is
exactly a prefix of prompt + worked solution: the policy continues it as it learnt in SFT.

>>> row = make_rows(1, ["3x1"], seed=0)[0]
>>> row["prompt"].startswith("Calculate ") and row["solution_hint"].endswith("}")
True
"""

from __future__ import annotations

from collections.abc import Sequence

from ..arith import ArithProblem, arith_level_spec, generate_arith_problems

__all__ = [
    "EASY_LEVELS",
    "HARD_LEVELS",
    "HINT_TEMPLATE",
    "ORGANISM_LEVELS",
    "level_steps",
    "make_rows",
    "render_prompt",
    "render_solution",
]

EASY_LEVELS: tuple[str, ...] = ("2x1", "3x1", "4x1")
"""Levels the warm start is fine-tuned on (the policy should mostly solve these)."""
HARD_LEVELS: tuple[str, ...] = ("5x1", "6x1")
"""Levels it never sees in SFT: more steps than it was taught (the capacity-difficulty mismatch)."""
ORGANISM_LEVELS: tuple[str, ...] = EASY_LEVELS + HARD_LEVELS
"""Every level the benchmark evaluates, easy -> hard (non-decreasing number of steps)."""

HINT_TEMPLATE = "{hint}"
"""Hint appended right after the prompt's newline, nothing added: q* = prompt + the first part of the worked
solution, exactly a prefix of what SFT taught, for every hint unit. A token or char cut may end inside a line
(``= 16 + 8 -``); the policy then continues that line, where ``"{hint}\n"`` would break it (v2 used that)."""


def level_steps(level: str) -> int:
    """Reasoning steps of a level's worked solution (one per operator), the difficulty axis."""
    return arith_level_spec(level).num_steps


def render_prompt(problem: ArithProblem) -> str:
    return f"Calculate {problem.expression}.\n"


def render_solution(problem: ArithProblem) -> str:
    """Scratchpad: one ``= <remaining expression>`` line per operation (left to right), the last one ``= answer``,
    then ``\\boxed{answer}`` (the answer line, never part of a hint).

    >>> from ghpo.arith import ArithProblem
    >>> print(render_solution(ArithProblem("4x1", (4, 8, 3, 5), ("+", "-", "+"), 14, ())))
    = 12 - 3 + 5
    = 9 + 5
    = 14
    \\boxed{14}
    """
    if "*" in problem.ops:
        raise ValueError(f"the scratchpad renders + and - only (left to right); level {problem.level!r} has '*'")
    acc, lines = problem.terms[0], []
    for i, (op, term) in enumerate(zip(problem.ops, problem.terms[1:])):
        acc = acc + term if op == "+" else acc - term
        rest = "".join(f" {o} {t}" for o, t in zip(problem.ops[i + 1 :], problem.terms[i + 2 :]))
        lines.append(f"= {acc}{rest}")
    if acc != problem.answer:
        raise ValueError(f"scratchpad value {acc} != answer {problem.answer} for {problem.expression}")
    return "\n".join([*lines, f"\\boxed{{{problem.answer}}}"])


def make_rows(
    n: int, levels: Sequence[str], seed: int = 0, exclude: Sequence[str] = ()
) -> list[dict[str, str]]:
    """``n`` distinct problems over ``levels`` (round-robin) as dict rows with the ghpo data-contract columns
    prompt, solution, solution_hint, id, level. ``exclude`` holds prompts never to produce (held-out sets)."""
    excluded = {p.removeprefix("Calculate ").rstrip().removesuffix(".") for p in exclude}
    problems = generate_arith_problems(n, levels=levels, seed=seed, exclude=excluded)
    return [
        {
            "prompt": render_prompt(p),
            "solution": str(p.answer),
            "solution_hint": render_solution(p),
            "id": f"{p.level}:{p.expression}",
            "level": p.level,
        }
        for p in problems
    ]
