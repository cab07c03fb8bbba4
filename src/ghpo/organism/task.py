"""The organism's task: graded arithmetic as short plain-text rows (prompt -> compact worked solution).

Problems come from ``ghpo.arith`` (the gold answer is computed from the terms, never parsed from text). Only the
rendering differs from ``ghpo.data.make_arith_dataset``: a one-line plain prompt and a compact solution, so a
character-level policy generates few tokens per rollout (CPU speed is the whole point of the organism):

    prompt:        "Calculate 4 + 8 - 3.\\n"
    solution_hint: "4 + 8 = 12\\n12 - 3 = 9\\n\\\\boxed{9}"        (one step per line, answer line last)
    solution:      "73"

A hint cut (``ghpo.guidance.cut_hint``) drops the ``\\boxed`` line first, so hints are whole or partial steps and
never the answer. The prompt ends with a newline and the organism's hint template is ``"{hint}\\n"``, so a hinted
prompt is exactly a prefix of the worked solution: the policy continues it as it learnt in SFT.

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

EASY_LEVELS: tuple[str, ...] = ("2x1", "3x1")
"""Levels the warm start is fine-tuned on (the policy should solve these)."""
HARD_LEVELS: tuple[str, ...] = ("4x1", "5x1", "6x1")
"""Levels it never sees in SFT: more steps than it was taught (the capacity-difficulty mismatch)."""
ORGANISM_LEVELS: tuple[str, ...] = EASY_LEVELS + HARD_LEVELS
"""Every level the benchmark evaluates, easy -> hard (non-decreasing number of steps)."""

HINT_TEMPLATE = "{hint}\n"
"""Hint appended right after the prompt's newline: q* is a prefix of the worked solution (see module doc)."""


def level_steps(level: str) -> int:
    """Reasoning steps of a level's worked solution (one per operator), the difficulty axis."""
    return arith_level_spec(level).num_steps


def render_prompt(problem: ArithProblem) -> str:
    return f"Calculate {problem.expression}.\n"


def render_solution(problem: ArithProblem) -> str:
    """One "a op b = c" line per step, then ``\\boxed{answer}`` (the answer line, never part of a hint)."""
    return "\n".join([*problem.steps, f"\\boxed{{{problem.answer}}}"])


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
