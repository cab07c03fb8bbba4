"""Issue 28: the ladder's comparisons, declared in one table (``COMPARISONS``) and read by one function
(``paired_difference``): per-seed differences, mean, 95% interval and raw p, paired by seed and, where the evaluation
records hold per-problem outcomes, by held-out problem (seed x problem bootstrap; else the seeds' t-interval,
labelled "seeds only").

A comparison reads a measure at a budget: ``end`` (the end of each step-count run), ``grpo`` (GRPO's token total:
its smallest seed's, so every run reached it) or ``common`` (the largest common budget: the smallest token total
among the pair's runs), counted in one of two token conventions: ``sampled`` (completion tokens sampled, hint stages
included) or ``with_hints`` (the same plus the hint tokens every hinted sample reads as prefill). Holm is applied
to the small declared primary family only; every other row is exploratory, raw p only.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from ghpo.organism.budget import HARD, Budget
from ghpo.organism.gates import _at_tokens, _lvmean, problem_vector
from ghpo.report import bootstrap_paired, mean_ci95, t_pvalue

MEASURES = {"hard/sampled": "avg@{k}", "hard/valid": "valid@{k}", "hard/greedy": "greedy",
            "hard/valid_greedy": "valid_greedy"}
"""Measure -> evaluation-record prefix, over the hard levels, no hint: boxed-answer avg@k and greedy, and the
co-primary scored by the training reward's rule (every scratchpad line right)."""
BUDGETS = {"end": "", "grpo": "@tokens", "common": "@common"}
"""Budget -> the suffix of a comparison's name (issue 21's names: ``hard/sampled@tokens`` is at GRPO's tokens)."""
CONVENTIONS = {"sampled": "", "with_hints": "+hints"}


@dataclass(frozen=True)
class Comparison:
    """``arm`` minus ``baseline`` on ``metric`` (a ``MEASURES`` key) at ``budget`` (a ``BUDGETS`` key) counted in
    ``tokens`` (a ``CONVENTIONS`` key); ``family`` "primary" (Holm-adjusted together) or "exploratory" (raw p);
    ``declared`` names the issue that declared it (the report groups rows by it)."""

    arm: str
    baseline: str
    metric: str
    budget: str
    family: str = "exploratory"
    tokens: str = "sampled"
    declared: str = "issue 28"

    @property
    def name(self) -> str:
        return f"{self.arm} - {self.baseline}: {self.metric}{BUDGETS[self.budget]}{CONVENTIONS[self.tokens]}"


VARIANTS = ("staged+keep1", "staged+budgeted+1stage")
HYBRID = "staged+imitate"
"""Issue 28's arm: the hint trained as the answer's opening (``hint_training: imitate``) in half-unhinted groups."""
CORRECTED = "staged+imitate+guide"
"""Issue 28's corrected variant: ``imitate`` with Guide-GRPO's ratio (the copied hint's behaviour probability is 1),
added after the primary family was declared and read: exploratory."""
PRIMARY = tuple(Comparison(HYBRID, base, metric, "common", "primary")
                for base in ("staged", "reroll") for metric in ("hard/sampled", "hard/valid"))
"""Issue 28's primary family, declared before its arms ran: does training the hint beat training on the hinted
prompt (staged) and the re-roll control, on hard avg@k and on its co-primary valid@k (every scratchpad line right),
at the pair's largest common budget in sampled tokens? (The question the issue asks: a mode that beats both on the
stuck or a middle rung becomes the default for its placement.)"""
COMPARISONS = (
    *PRIMARY,
    # the positive control (LUFFY-style reference traces) and the hybrid against plain GRPO and at GRPO's tokens
    *(Comparison(arm, base, metric, "common") for arm, base in (("reference", "grpo"), ("reference", "staged"),
                                                                (HYBRID, "grpo"), (HYBRID, "grpo@staged"))
      for metric in ("hard/sampled", "hard/valid")),
    *(Comparison("reference", base, metric, "common", declared="issue 28, after its primary")
      for base in ("reroll", HYBRID) for metric in ("hard/sampled", "hard/valid")),
    *(Comparison(HYBRID, base, metric, "grpo") for base in ("staged", "reroll", "grpo")
      for metric in ("hard/sampled", "hard/valid")),
    # the corrected variant against the uncorrected one and the primary's baselines
    *(Comparison(CORRECTED, base, metric, "common", declared="issue 28, after its primary")
      for base in (HYBRID, "staged", "reroll") for metric in ("hard/sampled", "hard/valid")),
    # issue 21's question re-read with issue 28's measurement (staged's primary before the hybrid arms)
    *(Comparison("staged", base, metric, "common") for base in ("reroll", "grpo")
      for metric in ("hard/sampled", "hard/valid")),
    # issue 21's secondary comparisons (Holm-adjusted together then; exploratory now)
    *(Comparison("staged", base, metric, budget, declared="issue 21")
      for base in ("grpo", "reroll")
      for metric, budget in (("hard/greedy", "end"), ("hard/sampled", "end"), ("hard/greedy", "grpo"))),
    *(Comparison(variant, base, metric, budget, declared="issue 21")
      for variant in VARIANTS for base in ("staged", "grpo")
      for metric, budget in (("hard/sampled", "grpo"), ("hard/sampled", "end"), ("hard/greedy", "end"))),
    # issue 21's primary measure (at GRPO's tokens), now one reading among others
    *(Comparison("staged", base, "hard/sampled", "grpo") for base in ("reroll", "grpo")),
    # the primary family and staged's old question with hint prefill counted, and at GRPO's tokens
    *(Comparison(c.arm, c.baseline, c.metric, "common", tokens="with_hints") for c in PRIMARY),
    *(Comparison("staged", base, metric, "common", tokens="with_hints") for base in ("reroll", "grpo")
      for metric in ("hard/sampled", "hard/valid")),
    *(Comparison("staged", base, "hard/valid", "grpo") for base in ("reroll", "grpo")),
    # GRPO run on to staged's token total (``--until-tokens-of staged``): staged against it at staged's budget
    *(Comparison("staged", "grpo@staged", metric, "common", tokens=tokens)
      for metric in ("hard/sampled", "hard/valid") for tokens in CONVENTIONS),
    *(Comparison(variant, base, metric, "common") for variant in VARIANTS for base in ("staged", "grpo")
      for metric in ("hard/sampled", "hard/valid")),
)


# token counts of a run, in either convention
def hint_prefill_by_eval(run: dict, budget: Budget) -> tuple[list[float], bool]:
    """Per evaluation, the hint tokens read as prefill up to it, and whether that is exact: counted at the source
    (``tokens_with_hints`` in records from issue 28 on) or, for older records, estimated from the logged
    ``ghpo/hint_tokens_mean`` (hint tokens of the stage each group trained on, per group; times groups and G per
    step): a lower bound, since the hints of stages tried before the rescuing one are left out."""
    evals = run["evals"]
    if all("tokens_with_hints" in e for e in evals):
        return [e["tokens_with_hints"] - e["tokens"] for e in evals], True
    per_step = [h.get("ghpo/hint_tokens_mean", 0.0) * budget.prompts_per_step * budget.num_generations
                for h in run["log"]]
    cumulative = [0.0]
    for x in per_step:
        cumulative.append(cumulative[-1] + x)
    return [cumulative[min(e["step"], len(per_step))] for e in evals], False


def tokens_axis(run: dict, tokens: str, budget: Budget) -> list[float]:
    """Cumulative tokens at each of ``run``'s evaluations in convention ``tokens``."""
    if tokens == "sampled":
        return [e["tokens"] for e in run["evals"]]
    return [e["tokens"] + h for e, h in zip(run["evals"], hint_prefill_by_eval(run, budget)[0])]


def run_total(run: dict, tokens: str, budget: Budget) -> float:
    """A run's whole token count in convention ``tokens`` (its last evaluation is at its last step)."""
    return run["sampled_tokens"] if tokens == "sampled" else tokens_axis(run, tokens, budget)[-1]


def run_samples(run: dict, budget: Budget) -> int:
    """Completions a run drew (first round and hint stages or re-rolls): counted at the source from issue 28 on,
    else G per prompt per step plus G per hinted (or re-rolled) group in the rollout records."""
    if "sampled_completions" in run:
        return run["sampled_completions"]
    G = budget.num_generations
    return len(run["log"]) * budget.prompts_per_step * G + G * run["groups"]["hinted_groups"]


def budget_tokens(c: Comparison, runs: list[dict], budget: Budget) -> float | None:
    """The token count comparison ``c`` reads at (None: at the end of each run; NaN: GRPO's total without GRPO)."""
    if c.budget == "end":
        return None
    arms = ("grpo",) if c.budget == "grpo" else (c.arm, c.baseline)
    return min((run_total(r, c.tokens, budget) for r in runs if r["arm"] in arms), default=math.nan)


def _read(run: dict, c: Comparison, at: float | None, budget: Budget):
    """(value, per-problem vector or None) of ``run`` on ``c.metric`` at ``at`` tokens (None: its last evaluation);
    NaN when the records lack the measure (valid@k before issue 28)."""
    prefix = MEASURES[c.metric].format(k=budget.avg_k)
    evals = run["evals"]
    if not all(f"{prefix}/{lv}" in e for e in evals for lv in HARD):
        return math.nan, None
    value = lambda e: _lvmean(e, HARD, prefix)  # noqa: E731
    vector = lambda e: problem_vector(e, HARD, prefix)  # noqa: E731
    has_problems = all(vector(e) is not None for e in evals)
    if at is None:
        return value(evals[-1]), vector(evals[-1]) if has_problems else None
    pts = list(zip(evals, tokens_axis(run, c.tokens, budget)))  # (record, tokens) pairs
    read = lambda key: _at_tokens(pts, at, lambda p: key(p[0]), tokens=lambda p: p[1])  # noqa: E731
    return read(value), read(vector) if has_problems else None


def paired_difference(c: Comparison, runs: list[dict], budget: Budget, n_boot: int = 2000, seed: int = 0) -> dict:
    """``c`` read over the seeds both arms ran: per-seed differences, their mean, a 95% interval and a raw two-sided
    p. With per-problem outcomes in every record read, the interval and p come from ``bootstrap_paired`` (seeds and,
    within them, problems resampled; fixed ``seed``), else from the seeds' t-interval (``method`` says which; "n/a"
    when the records lack the measure). ``seeds_t`` is the seeds' t-reading in every case: (mean, half-width, p)."""
    mine = {r["seed"]: r for r in runs if r["arm"] == c.arm}
    theirs = {r["seed"]: r for r in runs if r["arm"] == c.baseline}
    seeds = sorted(set(mine) & set(theirs))
    at = budget_tokens(c, runs, budget)
    if at is not None and math.isnan(at):
        seeds = []
    a = [_read(mine[s], c, at, budget) for s in seeds]
    b = [_read(theirs[s], c, at, budget) for s in seeds]
    per_seed = [x[0] - y[0] for x, y in zip(a, b)]
    m, hw = mean_ci95(per_seed)
    p_t = t_pvalue(per_seed)
    row = {"comparison": c, "name": c.name, "seeds": seeds, "per_seed": per_seed, "at_tokens": at,
           "seeds_t": (m, hw, p_t)}
    if not seeds or any(math.isnan(d) for d in per_seed):
        return {**row, "mean": math.nan, "lo": math.nan, "hi": math.nan, "p": math.nan, "method": "n/a"}
    if all(x[1] is not None and y[1] is not None for x, y in zip(a, b)):
        mean, lo, hi, p = bootstrap_paired([x[1] - y[1] for x, y in zip(a, b)], n_boot=n_boot, seed=seed)
        return {**row, "mean": mean, "lo": lo, "hi": hi, "p": p, "method": "seeds x problems"}
    return {**row, "mean": m, "lo": m - hw, "hi": m + hw, "p": p_t, "method": "seeds only"}


def paired_differences(runs: list[dict], budget: Budget, comparisons=COMPARISONS) -> list[dict]:
    """Every declared comparison whose two arms ran, in declaration order."""
    arms = {r["arm"] for r in runs}
    return [paired_difference(c, runs, budget) for c in comparisons if c.arm in arms and c.baseline in arms]
