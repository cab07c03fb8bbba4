"""Issue 29 on the organism: what dynamic sampling and pre-rollout skipping buy per sampled token.

Two figures users need, per arm and rung: the sampled tokens (and training wall time) a run needed to reach plain
GRPO's final held-out accuracy (``tokens_to_reach``: GRPO's mean over seeds at the end of its step-count run; the
first evaluation at or above it, linearly interpolated in tokens between evaluations), and accuracy at equal tokens
(``PRIMARY_29`` and ``COMPARISONS_29``, read by ``paired.paired_difference`` with the hybrid issue's rules: the
pair's largest common budget and the end of the run, the co-primary valid@k, seed x problem bootstrap).
"""

from __future__ import annotations

import math
import statistics

from ghpo.organism.budget import HARD, Budget
from ghpo.organism.gates import _lvmean
from ghpo.organism.paired import MEASURES, Comparison, paired_differences
from ghpo.report import holm, mean_ci95

SELECTION_ARMS = ("grpo+dynamic", "grpo+skip", "staged+dynamic", "staged+skip", "grpo+dynamic+skip")
# The arms SELECTION.md reads; the rest of a rung is issue 28's.
REPORTED_ARMS = ("grpo", "grpo@staged", "staged", "reroll", *SELECTION_ARMS, "grpo+skip-cap64")
PRIMARY_29 = tuple(Comparison(arm, "grpo", metric, "common", "primary", declared="issue 29")
                   for arm in ("grpo+dynamic", "grpo+skip") for metric in ("hard/sampled", "hard/valid"))
"""Issue 29's primary family, declared before its arms ran: does dynamic sampling, or pre-rollout skipping, beat
plain GRPO on hard avg@k and on valid@k at the pair's largest common budget in sampled tokens? (Holm over these 4.)
The staged arm is chosen after the GRPO arms ("staged + the better of the two"), so its comparisons are exploratory."""
COMPARISONS_29 = (
    *PRIMARY_29,
    *(Comparison(arm, "grpo", metric, "end", declared="issue 29") for arm in ("grpo+dynamic", "grpo+skip")
      for metric in ("hard/sampled", "hard/valid")),
    # GRESO with the draw cap of the first runs (4 reserve prompts a group): added after those runs were read
    *(Comparison("grpo+skip-cap64", "grpo", metric, "common", declared="issue 29, after its first skip runs")
      for metric in ("hard/sampled", "hard/valid")),
    *(Comparison(arm, base, metric, budget, declared="issue 29") for arm in ("staged+dynamic", "staged+skip")
      for base in ("staged", "grpo") for metric in ("hard/sampled", "hard/valid") for budget in ("common", "end")),
    # added after staged+skip ran: against GRPO run on to staged's tokens, at the larger budget they share
    *(Comparison("staged+skip", "grpo@staged", metric, "common", declared="issue 29, after staged+skip ran")
      for metric in ("hard/sampled", "hard/valid")),
    # GRESO's own setting, added after the primary arms ran: against dynamic sampling alone, at the common budget
    *(Comparison("grpo+dynamic+skip", base, metric, "common", declared="issue 29, after its primary arms")
      for base in ("grpo+dynamic", "grpo") for metric in ("hard/sampled", "hard/valid")),
)


def _curve(run: dict, metric: str, budget: Budget) -> list[tuple[float, float, float]]:
    """(sampled tokens, training seconds, accuracy on the hard levels) at each evaluation of ``run``."""
    prefix = MEASURES[metric].format(k=budget.avg_k)
    seconds = [0.0]
    for s in run["step_s"]:
        seconds.append(seconds[-1] + s)
    return [(e["tokens"], seconds[min(e["step"], len(seconds) - 1)], _lvmean(e, HARD, prefix)) for e in run["evals"]]


def tokens_to_reach(run: dict, target: float, metric: str, budget: Budget) -> tuple[float, float] | None:
    """(sampled tokens, training seconds) at which ``run`` first reached ``target`` on ``metric``, interpolated
    linearly between the evaluation below it and the first at or above it; None if it never did.

    >>> run = {"step_s": [1.0] * 4, "evals": [{"step": 0, "tokens": 0, "avg@8/5x1": 0.1},
    ...        {"step": 2, "tokens": 100, "avg@8/5x1": 0.3}, {"step": 4, "tokens": 200, "avg@8/5x1": 0.5}]}
    >>> tokens_to_reach(run, 0.4, "hard/sampled", Budget())
    (150.0, 3.0)
    """
    points = _curve(run, metric, budget)
    if points[0][2] >= target:
        return float(points[0][0]), points[0][1]
    for (t0, s0, a0), (t1, s1, a1) in zip(points, points[1:]):
        if a1 >= target:
            f = (target - a0) / (a1 - a0)
            return t0 + f * (t1 - t0), s0 + f * (s1 - s0)
    return None


def reach_rows(runs: list[dict], budget: Budget, metric: str = "hard/sampled") -> list[dict]:
    """Per arm, against plain GRPO's final mean on ``metric``: the seeds that reached it, the mean tokens and wall
    seconds to reach it over those (95% t-interval), and the ratio to GRPO's own mean total tokens. ``gain`` False:
    GRPO's own change (end minus start per seed) has a 95% interval that reaches 0, so there is no gain to reach and
    the figure means nothing (a run 'reaches' it at step 0 or by noise)."""
    grpo = [r for r in runs if r["arm"] == "grpo"]
    if not grpo:
        return []
    curves = [_curve(r, metric, budget) for r in grpo]
    ends, starts = [c[-1][2] for c in curves], [c[0][2] for c in curves]
    target, start = statistics.mean(ends), statistics.mean(starts)
    change, hw = mean_ci95([e - s for e, s in zip(ends, starts)])
    gain = change - (0.0 if math.isnan(hw) else hw) > 0  # GRPO's own paired change, its 95% interval above 0
    grpo_total = statistics.mean(r["sampled_tokens"] for r in grpo)
    rows = []
    for arm in dict.fromkeys(r["arm"] for r in runs):
        mine = [r for r in runs if r["arm"] == arm]
        reached = [x for x in (tokens_to_reach(r, target, metric, budget) for r in mine) if x is not None]
        tokens = mean_ci95([t for t, _ in reached])
        seconds = mean_ci95([s for _, s in reached])
        rows.append({"arm": arm, "metric": metric, "target": target, "start": start, "gain": gain,
                     "seeds": len(mine), "reached": len(reached),
                     "tokens": tokens, "seconds": seconds,
                     "tokens_vs_grpo_total": tokens[0] / grpo_total if reached else math.nan,
                     "total_tokens_vs_grpo": statistics.mean(r["sampled_tokens"] for r in mine) / grpo_total})
    return rows


ACTIVITY = (("frac_reward_zero_std", "zero-std groups"), ("ghpo/prompts_skipped", "prompts skipped"),
            ("ghpo/prompts_drawn", "reserve prompts drawn"), ("ghpo/gen_batches", "generation batches"),
            ("ghpo/groups_dropped", "groups dropped"), ("ghpo/groups_unfilled", "groups unfilled at the cap"))
"""What selection did, per step (TRL's and ghpo's logged metrics; ``frac_reward_zero_std`` is TRL's share of the
trained batch's groups whose reward does not vary)."""


def selection_activity(runs: list[dict]) -> dict[str, dict[str, float]]:
    """Per arm, the mean over seeds and steps of each ``ACTIVITY`` metric (absent from an arm's logs: nan), and
    ``capped``: the share of steps with a group unfilled at the cap of generation batches.

    >>> runs = [{"arm": "grpo+skip", "log": [{"ghpo/prompts_skipped": 0.0}, {"ghpo/prompts_skipped": 64.0}]},
    ...         {"arm": "grpo", "log": [{"frac_reward_zero_std": 0.5}]}]
    >>> a = selection_activity(runs); a["grpo+skip"]["ghpo/prompts_skipped"], a["grpo"]["frac_reward_zero_std"]
    (32.0, 0.5)
    >>> math.isnan(a["grpo"]["ghpo/prompts_skipped"]), a["grpo"]["capped"]
    (True, 0.0)
    """
    out = {}
    for arm in dict.fromkeys(r["arm"] for r in runs):
        logs = [e for r in runs if r["arm"] == arm for e in r.get("log", [])]
        row = {}
        for key, _ in ACTIVITY:
            values = [e[key] for e in logs if key in e]
            row[key] = statistics.fmean(values) if values else math.nan
        row["capped"] = statistics.fmean(e.get("ghpo/groups_unfilled", 0) > 0 for e in logs) if logs else math.nan
        out[arm] = row
    return out


def selection_readings(rungs: dict[str, list[dict]], budget: Budget) -> list[dict]:
    """``COMPARISONS_29`` whose arms ran, per rung (``rungs``: rung name -> its runs), Holm over the primary family's
    rows with data across every rung."""
    rows = [{**row, "rung": rung} for rung, runs in rungs.items()
            for row in paired_differences(runs, budget, COMPARISONS_29)]
    raw = {f"{row['rung']}|{row['name']}": row["p"] for row in rows
           if row["comparison"].family == "primary" and not math.isnan(row["p"])}
    adjusted = holm(raw)
    for row in rows:
        row["p_holm"] = adjusted.get(f"{row['rung']}|{row['name']}", math.nan)
    return rows


def _ci(mean_hw: tuple[float, float], scale: float = 1.0, fmt: str = "{:.2f}") -> str:
    m, hw = mean_hw
    if math.isnan(m):
        return "n/a"
    return fmt.format(m * scale) + ("" if math.isnan(hw) else " ± " + fmt.format(hw * scale))


def selection_report(rungs: dict[str, list[dict]], budget: Budget, commands: list[str], verdict: str = "") -> str:
    """SELECTION.md: the commands, the ``verdict`` (hand-written, from these tables), tokens and wall time to GRPO's
    final accuracy per arm and rung, and the paired readings at equal tokens (primary family first, Holm-adjusted;
    the rest exploratory, raw p)."""
    L = ["# Spending rollouts where they teach (issue 29): dynamic sampling and pre-rollout skipping on the organism",
         "", "```", *commands, "```", "", *([verdict.strip(), ""] if verdict.strip() else []),
         "**Tokens to GRPO's final accuracy.** Target: plain GRPO's mean held-out hard-level score at the end of its "
         "run (avg@k: boxed answer; valid@k: every scratchpad line right). Per seed, the sampled completion tokens "
         "(all rounds, hints and refills) and training seconds when the run first reached it, interpolated between "
         "evaluations; mean ± 95% t-interval over the seeds that reached it.", "",
         "| rung | arm | metric | GRPO start -> target | reached | tokens to reach (M) | vs GRPO's total tokens "
         "| training s to reach | run's tokens vs GRPO's |", "|---|---|---|---|---|---|---|---|---|"]
    for rung, runs in rungs.items():
        for metric in ("hard/sampled", "hard/valid"):
            for r in reach_rows(runs, budget, metric):
                head = f"| {rung} | {r['arm']} | {metric} | {100 * r['start']:.1f} -> {100 * r['target']:.1f} | "
                if not r["gain"]:
                    L.append(head + "n/a: GRPO's own change is not above 0, no gain to reach | | | | "
                             f"{r['total_tokens_vs_grpo']:.2f}x |")
                    continue
                L.append(head + f"{r['reached']} of {r['seeds']} | {_ci(r['tokens'], 1e-6)} | "
                         f"{r['tokens_vs_grpo_total']:.2f}x | {_ci(r['seconds'], fmt='{:.0f}')} | "
                         f"{r['total_tokens_vs_grpo']:.2f}x |")
    L += ["", "**What selection did** (mean per step over seeds and steps; the accounting logged as metrics; "
          "'-': not logged by this arm).", "",
          "| rung | arm | " + " | ".join(label for _, label in ACTIVITY) + " | steps at the cap |",
          "|---|---|" + "---|" * (len(ACTIVITY) + 1)]
    for rung, runs in rungs.items():
        for arm, row in selection_activity(runs).items():
            cells = ["-" if math.isnan(row[key]) else f"{row[key]:.2f}" for key, _ in ACTIVITY]
            L.append(f"| {rung} | {arm} | " + " | ".join(cells) + f" | {100 * row['capped']:.0f}% |")
    readings = selection_readings(rungs, budget)
    L += ["", "**Accuracy at equal tokens** (arm minus baseline, points; `@common`: the pair's largest common budget in "
          "sampled tokens; no suffix: the end of each run; seed x problem bootstrap where per-problem outcomes are "
          "recorded). The primary family (declared before the runs) is Holm-adjusted across rungs; the rest is "
          "exploratory, raw p only.", "",
          "| rung | comparison | family | budget (tokens) | mean (95%) | interval | p | p (Holm) |",
          "|---|---|---|---|---|---|---|---|"]
    for row in sorted(readings, key=lambda r: r["comparison"].family != "primary"):
        at = "end" if row["at_tokens"] is None else f"{row['at_tokens'] / 1e6:.2f}M"
        mean = "n/a" if math.isnan(row["mean"]) else \
            f"{100 * row['mean']:+.1f} [{100 * row['lo']:+.1f}, {100 * row['hi']:+.1f}]"
        p = "n/a" if math.isnan(row["p"]) else f"{row['p']:.3f}"
        ph = "" if math.isnan(row["p_holm"]) else f"{row['p_holm']:.3f}"
        L.append(f"| {row['rung']} | {row['name']} | {row['comparison'].family} | {at} | {mean} | {row['method']} "
                 f"| {p} | {ph} |")
    return "\n".join(L) + "\n"
