"""The organism benchmark's statistics: the regime and health gates, and the per-arm summary (paired by seed, at
equal steps and at equal sampled tokens, plateau check)."""

from __future__ import annotations

import math
import statistics

from ghpo.organism.budget import EASY, EVAL_LEVELS, HARD, TRAIN_LEVELS, Budget
from ghpo.report import mean_ci95, t_pvalue


# summaries
def _lvmean(rec: dict, levels, prefix: str) -> float:
    return statistics.mean(rec[f"{prefix}/{lv}"] for lv in levels)


def _at_tokens(evals: list[dict], budget_tokens: float, key, tokens=lambda r: r["tokens"]):
    """Accuracy interpolated linearly in cumulative sampled tokens at ``budget_tokens`` (``tokens``: another count,
    e.g. with hint prefill; ``key`` may return an array, e.g. per-problem accuracies)."""
    pts = [(tokens(r), key(r)) for r in evals]
    for (t0, a0), (t1, a1) in zip(pts, pts[1:]):
        if t0 <= budget_tokens <= t1:
            return a0 if t1 == t0 else a0 + (a1 - a0) * (budget_tokens - t0) / (t1 - t0)
    return pts[-1][1]


def problem_vector(rec: dict, levels, prefix: str):
    """Per held-out problem of ``levels`` (concatenated; every level has ``eval_per_level`` problems, so their mean is
    ``_lvmean``), the share right in evaluation record ``rec`` under ``prefix`` (``problems/<prefix>/<level>``
    holds counts out of k for ``avg@k`` / ``valid@k``, 0/1 for greedy), as an array; None if the record has none."""
    import numpy as np

    keys = [f"problems/{prefix}/{lv}" for lv in levels]
    if not all(k in rec for k in keys):
        return None
    reps = int(prefix.split("@")[1]) if "@" in prefix else 1
    return np.concatenate([np.asarray(rec[k], dtype=float) for k in keys]) / reps


def _eval_at_step(evals: list[dict], step: int) -> dict:
    """The evaluation nearest to ``step`` (evaluations run every ``eval_every`` steps)."""
    return min(evals, key=lambda e: abs(e["step"] - step))


def _plateau_eval(evals: list[dict], budget: Budget) -> dict:
    """Where the plateau check starts: the evaluation nearest two thirds of training."""
    return _eval_at_step(evals, 2 * budget.steps // 3)


def _above_zero(ms: tuple[float, float]) -> bool:
    """A (mean, 95% half-width) difference whose whole interval lies above 0 (False without an interval)."""
    return ms[0] - ms[1] > 0


def health_gate(runs: list[dict], budget: Budget, independent_samples: bool = True) -> dict:
    """Plain GRPO, per seed: final - start accuracy on the training levels (greedy, sampled) and each easy level.

    A training-level check passes when the gain's 95% interval over seeds is above 0 and the gain exceeds 2 standard
    errors of the held-out set. ``independent_samples`` (the v3 reports) counts the k samples of a problem as k
    trials; False (issue 21) counts problems only, a bound that holds however a problem's samples correlate."""
    grpo = [r for r in runs if r["arm"] == "grpo"]
    k = f"avg@{budget.avg_k}"
    out = {}
    n = budget.eval_per_level * len(TRAIN_LEVELS)
    per_easy = [(f"easy/{lv}/{mode}", (lv,), prefix) for lv in EASY for mode, prefix in (("greedy", "greedy"), ("sampled", k))]
    for name, levels, prefix in (("train/greedy", TRAIN_LEVELS, "greedy"), ("train/sampled", TRAIN_LEVELS, k),
                                 ("hard/greedy", HARD, "greedy"), ("hard/sampled", HARD, k), *per_easy):
        start = [_lvmean(r["evals"][0], levels, prefix) for r in grpo]
        end = [_lvmean(r["evals"][-1], levels, prefix) for r in grpo]
        out[name] = {"start": mean_ci95(start), "end": mean_ci95(end),
                     "delta": mean_ci95([e - s for s, e in zip(start, end)]),
                     "per_seed_delta": [e - s for s, e in zip(start, end)]}
    checks = {}
    for name in ("train/greedy", "train/sampled"):
        p = out[name]["start"][0]
        trials = n * (budget.avg_k if "sampled" in name and independent_samples else 1)
        noise = 2 * math.sqrt(max(p * (1 - p), 1e-9) / trials)
        d, hw = out[name]["delta"]
        checks[name] = {"noise_2se": noise, "pass": bool(d - (hw if not math.isnan(hw) else 0) > 0 and d > noise)}
    for name, _, _ in per_easy:  # every easy level on its own: a mean could hide one level's forgetting
        checks[name] = {"pass": bool(out[name]["delta"][0] >= -0.05)}
    out["checks"] = checks
    out["pass"] = all(c["pass"] for c in checks.values())
    return out


def health_gate_paired(runs: list[dict], budget: Budget, n_boot: int = 2000, seed: int = 0) -> dict:
    """Plain GRPO's health as paired changes (issue 28): per seed, end - start on the training levels (greedy,
    sampled) and on each easy level, and the change tested against 0: with per-problem outcomes at start and end,
    by a seed x problem bootstrap of the per-problem changes (``ghpo.report.bootstrap_paired``), else by the seeds'
    t-interval (``method`` "seeds only"). A training-level check passes when the change's 95% interval lies above
    0; an easy-level check when the mean change is above -5 points (as ``health_gate``). Replaces ``health_gate``'s
    comparison of a change with one level's binomial standard error, which is not the change's noise."""
    from ghpo.report import bootstrap_paired

    grpo = sorted((r for r in runs if r["arm"] == "grpo"), key=lambda r: r["seed"])
    k = f"avg@{budget.avg_k}"
    named = [("train/greedy", TRAIN_LEVELS, "greedy"), ("train/sampled", TRAIN_LEVELS, k)]
    named += [(f"easy/{lv}/{mode}", (lv,), prefix) for lv in EASY for mode, prefix in (("greedy", "greedy"), ("sampled", k))]
    out, checks = {}, {}
    for name, levels, prefix in named:
        deltas = [_lvmean(r["evals"][-1], levels, prefix) - _lvmean(r["evals"][0], levels, prefix) for r in grpo]
        m, hw = mean_ci95(deltas)
        vectors = [(problem_vector(r["evals"][0], levels, prefix), problem_vector(r["evals"][-1], levels, prefix))
                   for r in grpo]
        if grpo and all(s is not None and e is not None for s, e in vectors):
            mean, lo, hi, p = bootstrap_paired([e - s for s, e in vectors], n_boot=n_boot, seed=seed)
            method = "seeds x problems"
        else:
            mean, lo, hi, p, method = m, m - hw, m + hw, t_pvalue(deltas), "seeds only"
        out[name] = {"per_seed_delta": deltas, "mean": mean, "lo": lo, "hi": hi, "p": p, "method": method}
        if name.startswith("train/"):
            checks[name] = {"pass": bool(lo > 0)}  # NaN (one seed, no interval) fails
        else:  # every easy level on its own: a mean could hide one level's forgetting
            checks[name] = {"pass": bool(mean >= -0.05)}
    out["checks"] = checks
    out["pass"] = all(c["pass"] for c in checks.values())
    return out


def regime_gate(probe: dict) -> dict:
    hard = sum(probe[lv]["all_wrong"] for lv in HARD)
    groups = sum(probe[lv]["groups"] for lv in HARD)
    rescued = sum(sum(probe[lv]["rescued"].values()) for lv in HARD)
    all_wrong = hard / groups if groups else 0.0
    rescue = rescued / hard if hard else 0.0
    return {"all_wrong": all_wrong, "rescued_any": rescue, "pass": bool(all_wrong >= 0.5 and rescue >= 0.4)}


def run_metrics(budget: Budget, token_budget: float) -> dict:
    """Per-run measures, each a function of one run: hard/train level accuracy at the end and at ``token_budget``
    sampled tokens, easy-level change, the plateau check (change over the last third), per-level greedy."""
    k = f"avg@{budget.avg_k}"
    metrics = {
        "hard/greedy": lambda r: _lvmean(r["evals"][-1], HARD, "greedy"),
        "hard/sampled": lambda r: _lvmean(r["evals"][-1], HARD, k),
        "hard/greedy@tokens": lambda r: _at_tokens(r["evals"], token_budget, lambda e: _lvmean(e, HARD, "greedy")),
        "hard/sampled@tokens": lambda r: _at_tokens(r["evals"], token_budget, lambda e: _lvmean(e, HARD, k)),
        "train/greedy": lambda r: _lvmean(r["evals"][-1], TRAIN_LEVELS, "greedy"),
        "train/sampled": lambda r: _lvmean(r["evals"][-1], TRAIN_LEVELS, k),
        "easy/greedy_delta": lambda r: _lvmean(r["evals"][-1], EASY, "greedy") - _lvmean(r["evals"][0], EASY, "greedy"),
        "easy/sampled_delta": lambda r: _lvmean(r["evals"][-1], EASY, k) - _lvmean(r["evals"][0], EASY, k),
    }
    # Plateau check: the change over the last third of training (a curve still rising has not plateaued).
    for name, key in (("hard/greedy_last_third", "greedy"), ("hard/sampled_last_third", k)):
        metrics[name] = (lambda key: lambda r: _lvmean(r["evals"][-1], HARD, key)
                         - _lvmean(_plateau_eval(r["evals"], budget), HARD, key))(key)
    for lv in EVAL_LEVELS:
        metrics[f"greedy/{lv}"] = (lambda lv: lambda r: r["evals"][-1][f"greedy/{lv}"])(lv)
    return metrics


def summarise(runs: list[dict], arms: list[str], budget: Budget) -> dict:
    token_budget = min(r["sampled_tokens"] for r in runs)  # every run reached it
    by_seed_grpo = {r["seed"]: r for r in runs if r["arm"] == "grpo"}
    by_seed_staged = {r["seed"]: r for r in runs if r["arm"] == "staged"}
    by_seed_reroll = {r["seed"]: r for r in runs if r["arm"] == "reroll"}
    rows = {}
    for arm in arms:
        rs = sorted([r for r in runs if r["arm"] == arm], key=lambda r: r["seed"])
        if not rs:
            continue
        row = {"n": len(rs)}
        metrics = run_metrics(budget, token_budget)
        for name, f in metrics.items():
            row[name] = mean_ci95([f(r) for r in rs])
            if arm != "grpo" and not name.startswith("easy"):
                paired = [f(r) - f(by_seed_grpo[r["seed"]]) for r in rs if r["seed"] in by_seed_grpo]
                row[f"diff/{name}"] = mean_ci95(paired)
            # Ablations of staged (hint unit, cold start, memory) are read against staged itself, seed by seed.
            if arm.startswith("staged") and arm != "staged" and name.startswith("hard/") and by_seed_staged:
                paired = [f(r) - f(by_seed_staged[r["seed"]]) for r in rs if r["seed"] in by_seed_staged]
                row[f"vs_staged/{name}"] = mean_ci95(paired)
            # Issue 21: is it the hint or the extra samples? staged against the re-roll control, seed by seed.
            if arm == "staged" and name.startswith("hard/") and by_seed_reroll:
                paired = [f(r) - f(by_seed_reroll[r["seed"]]) for r in rs if r["seed"] in by_seed_reroll]
                row[f"vs_reroll/{name}"] = mean_ci95(paired)
        row["zero_std"] = mean_ci95([statistics.mean(h["frac_reward_zero_std"] for h in r["log"]) for r in rs])
        row["tokens"] = mean_ci95([r["sampled_tokens"] for r in rs])
        row["gen_rounds"] = mean_ci95([statistics.mean(h.get("ghpo/gen_rounds", 1.0) for h in r["log"]) for r in rs])
        row["train_s"] = mean_ci95([r["train_s"] for r in rs])
        row["extra_tokens"] = mean_ci95([sum(h.get("ghpo/extra_completion_tokens", 0.0) for h in r["log"]) for r in rs])
        for key in ("ghpo/hard_frac", "ghpo/skipped_stages"):
            vals = [statistics.mean(h[key] for h in r["log"] if key in h) for r in rs if any(key in h for h in r["log"])]
            row[key] = mean_ci95(vals)
        # Per-ratio rescue as a share of hard groups (summed over steps).
        for w in ("0.25", "0.5", "0.75"):
            vals = []
            for r in rs:
                hard = sum(h.get("ghpo/hard_frac", 0.0) for h in r["log"])
                if hard and any(f"ghpo/rescued_frac/{w}" in h for h in r["log"]):
                    vals.append(sum(h.get(f"ghpo/rescued_frac/{w}", 0.0) for h in r["log"]) / hard)
            row[f"rescue/{w}"] = mean_ci95(vals)
        g = [r["groups"] for r in rs]
        row["hard_levels_all_wrong"] = mean_ci95([sum(x["level_hard"].get(lv, [0, 0])[0] for lv in HARD) /
                                             max(1, sum(x["level_hard"].get(lv, [0, 0])[1] for lv in HARD)) for x in g])
        row["hard_levels_rescued"] = mean_ci95([sum(x["level_rescued"].get(lv, 0) for lv in HARD) /
                                           max(1, sum(x["level_hard"].get(lv, [0, 0])[0] for lv in HARD)) for x in g])
        row["adv_mass_per_step"] = mean_ci95([x["adv_mass_total"] / max(1, x["steps"]) for x in g])
        row["adv_mass_rescued_share"] = mean_ci95([x["adv_mass_rescued"] / x["adv_mass_total"] if x["adv_mass_total"] else 0.0
                                              for x in g])
        for key in ("rescued", "not_rescued"):
            num = sum(x["next_visit"][key][0] for x in g)
            den = sum(x["next_visit"][key][1] for x in g)
            row[f"next_visit/{key}"] = (num / den if den else float("nan"), den)
        for key in ("round0", "rescued"):
            num = sum(x.get("valid_steps", {}).get(key, [0, 0])[0] for x in g)
            den = sum(x.get("valid_steps", {}).get(key, [0, 0])[1] for x in g)
            row[f"valid/{key}"] = (num / den if den else float("nan"), den)
        row["answer_leaks"] = sum(x["answer_leaks"] for x in g)
        row["hinted_groups"] = sum(x["hinted_groups"] for x in g)
        rows[arm] = row
    return {"rows": rows, "token_budget": token_budget}


PRIMARY = "hard/sampled@tokens"
"""Issue 21's primary measure, declared before the runs: hard-level sampled accuracy (avg@k, no hint) at equal
sampled tokens, staged minus re-roll and staged minus GRPO, paired by seed, 95% t-interval over seeds. Every other
comparison in the report is secondary. From issue 28 on the ladder declares its comparisons in ``paired.COMPARISONS``
(this one among its exploratory rows, ``hard/sampled@tokens``); RESULTS.md still prints it."""


def primary_measure(summary: dict) -> dict[str, tuple[float, float]]:
    """``{"staged - reroll": (mean, half-width), "staged - grpo": ...}`` for the arms that ran."""
    staged = summary["rows"].get("staged", {})
    out = {}
    for other, key in (("reroll", f"vs_reroll/{PRIMARY}"), ("grpo", f"diff/{PRIMARY}")):
        if key in staged:
            out[f"staged - {other}"] = staged[key]
    return out
