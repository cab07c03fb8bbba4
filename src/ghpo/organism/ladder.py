"""Issue 21's difficulty ladder: the organism benchmark run on several warm starts (rungs, by the size of the 5x1
glimpse in SFT), from "GRPO stuck" to "easy", and GHPO's gain mapped against each rung's training signal.

Each rung is an ordinary ``organism_compare.py`` run in its own folder (``<out>/glimpse<N>/organism_results.json``).
This module reads them and writes ``<out>/LADDER.md``, ``<out>/ladder.png`` and ``<out>/ladder_curves.png``:

- per rung, the gates and a health check that asks only what the rung can show: RL does not break the easy levels
  (every rung), and plain GRPO improves the training level (only where GRPO can learn: training signal >=
  ``LEARNABLE_FROM``), tested as a paired change against 0 (``gates.health_gate_paired``, issue 28);
- every comparison declared in ``paired.COMPARISONS``, read by ``paired.paired_difference`` (seed x problem bootstrap
  where the records hold per-problem outcomes, else the seeds' t-interval): the primary family (``paired.PRIMARY``,
  issue 28: the hybrid arm staged+imitate minus staged and minus re-roll on hard avg@k and valid@k at the pair's
  largest common budget), Holm-adjusted across the ladder, and exploratory rows with raw p only (staged's own
  comparisons, issue 21's primary and secondary set among them);
- costs per arm in sampled tokens, with hint prefill, and in completions drawn; accuracy-vs-tokens curves per rung;
- hint dependence (held-out greedy accuracy with a 0.25 / 0.5 hint next to no hint), where it was measured.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

from ghpo.organism.budget import EASY, HARD, TRAIN_LEVELS, arms_of, budget_from_dict
from ghpo.organism.gates import _lvmean, health_gate_paired, regime_gate, summarise
from ghpo.organism.paired import (
    COMPARISONS,
    PRIMARY,
    hint_prefill_by_eval,
    paired_differences,
    run_samples,
    run_total,
)
from ghpo.report import holm, mean_ci95

LEARNABLE_FROM = 0.02
"""Training signal (share of unhinted samples on the training problems that earn the training reward, measured by
the regime probe on the warm start) from which plain GRPO is expected to learn; a rung below it is 'stuck': the
health check does not ask it to improve. The signal, not the held-out box-only avg@k, places a rung: the training
reward also needs every line right, and on the 600-row warm start 7% of boxes but 1.4% of samples earn it."""
EASY_FROM = 0.30
VERDICT = "VERDICT.md"

VARIANTS = {"staged+keep1": ("remedy", "^"), "staged+budgeted+1stage": ("cheaper", "v")}
"""Variants of staged, read against staged and GRPO (``paired.COMPARISONS``), with their role and plot marker: the
remedy for hint reliance (issue 21: where staged does not transfer), NuRL's one unhinted sample kept in each hinted
group; and the cheaper schedule (issue 11: hint memory, one stage per hard visit), which asks whether hints pay per
token when they cost fewer tokens."""
VARIANT_MEASURES = tuple(dict.fromkeys(c.name.split(": ")[1] for c in COMPARISONS
                                       if c.declared == "issue 21" and c.arm in VARIANTS))
"""Issue 21's measures for the variants (its secondary set), by their names in the declared table."""
ARM_ORDER = ("grpo", "staged", "reroll", *VARIANTS)

PER_ARM = ("hard/sampled", "hard/sampled@tokens", "hard/greedy", "easy/sampled_delta", "tokens", "gen_rounds", "zero_std")
"""Per-arm columns of the ladder's arm table (``gates.summarise`` rows): end of training, at GRPO's tokens, cost."""


def rung_name(signal: float) -> str:
    """What the training signal predicts: 'stuck' (GRPO almost never rewarded), 'middle' (GRPO should learn), 'easy'.
    Whether GRPO did learn is the health column's answer, not the name's."""
    return "stuck" if signal < LEARNABLE_FROM else "middle" if signal < EASY_FROM else "easy"


def _curves(runs: list[dict], arms: list[str], budget) -> dict:
    """Per arm, mean over seeds at each evaluation: sampled tokens, hard avg@k and (where recorded) valid@k."""
    out = {}
    for arm in arms:
        rs = [r for r in runs if r["arm"] == arm]
        n = min(len(r["evals"]) for r in rs)
        mean = lambda f: [sum(f(r["evals"][i]) for r in rs) / len(rs) for i in range(n)]  # noqa: E731
        valid = f"valid@{budget.avg_k}"
        out[arm] = {"tokens": mean(lambda e: e["tokens"]), "sampled": mean(lambda e: _lvmean(e, HARD, f"avg@{budget.avg_k}")),
                    "valid": mean(lambda e: _lvmean(e, HARD, valid))
                    if all(f"{valid}/{lv}" in r["evals"][i] for r in rs for i in range(n) for lv in HARD) else None}
    return out


def rung_summary(saved: dict) -> dict:
    """One rung from its ``organism_results.json``: base accuracy, gates, the paired health check, every declared
    comparison (``paired.COMPARISONS``: primary rows Holm-adjusted across the ladder by ``ladder_summary``), costs
    per arm in both token conventions and in samples, hint dependence, transfer, curves."""
    budget = budget_from_dict(saved["budget"])
    runs = saved["runs"]
    k = f"avg@{budget.avg_k}"
    grpo = [r for r in runs if r["arm"] == "grpo"]
    base = sum(_lvmean(r["evals"][0], HARD, k) for r in grpo) / max(1, len(grpo))
    greedy0 = sum(_lvmean(r["evals"][0], HARD, "greedy") for r in grpo) / max(1, len(grpo))
    probe = [saved["probe"][lv] for lv in TRAIN_LEVELS]
    signal = sum(p["mean_correct_unhinted"] * p["groups"] for p in probe) / max(1, sum(p["groups"] for p in probe))
    health = health_gate_paired(runs, budget)
    learnable = signal >= LEARNABLE_FROM
    checks = {name: c["pass"] for name, c in health["checks"].items()
              if name.startswith("easy/") or learnable}  # a stuck rung is not asked to improve
    present = arms_of(runs)
    arms = [a for a in ARM_ORDER if a in present] + [a for a in present if a not in ARM_ORDER]
    summary = summarise(runs, arms, budget) if arms else {"rows": {}, "token_budget": None}
    rows = paired_differences(runs, budget)
    by_name = {row["name"]: row for row in rows}
    hint_dep = hint_dependence(runs, arms)
    mean_of = lambda f, arm: mean_ci95([f(r) for r in runs if r["arm"] == arm])[0]  # noqa: E731
    return {
        "glimpse": dict(budget.warm.sft_glimpse).get("5x1", 0), "base": base, "greedy0": greedy0,
        "signal": signal, "name": rung_name(signal), "regime": saved["gates"].get("regime") or regime_gate(saved["probe"]),
        "health": {"checks": checks, "pass": all(checks.values()), "asked_to_learn": learnable,
                   "paired": {name: health[name] for name in health["checks"]}},
        "comparisons": rows,
        # Issue 21's readings by their names, seeds' t-interval and p: its primary measure (staged minus GRPO and
        # re-roll, avg@k at GRPO's tokens; the ladder plot's issue-21 points) and its secondary set.
        "primary": {f"staged - {b}": by_name[f"staged - {b}: hard/sampled@tokens"]["seeds_t"][:2]
                    for b in ("grpo", "reroll") if f"staged - {b}: hard/sampled@tokens" in by_name},
        "secondary": {row["name"]: (row["seeds_t"][:2], row["seeds_t"][2]) for row in rows
                      if row["comparison"].declared == "issue 21"},
        "tokens": {a: summary["rows"][a]["tokens"][0] for a in arms if a in summary["rows"]},
        "tokens_with_hints": {a: mean_of(lambda r: run_total(r, "with_hints", budget), a) for a in arms},
        "hint_prefill_exact": all(hint_prefill_by_eval(r, budget)[1] for r in runs),
        "samples": {a: mean_of(lambda r: run_samples(r, budget), a) for a in arms},
        "curves": _curves(runs, arms, budget),
        "hint_dependence": hint_dep,
        # Transfer: an all-wrong problem a hint rescued, solved unhinted on its next visit? (share, visits)
        "next_visit": {a: {k: summary["rows"][a][f"next_visit/{k}"] for k in ("rescued", "not_rescued")}
                       for a in arms if a in summary["rows"]},
        "per_arm": {a: {m: summary["rows"][a][m] for m in PER_ARM} for a in arms if a in summary["rows"]},
        "arms": arms, "parts": saved.get("parts", []), "weights": saved["warm_start"].get("weights_sha256", "")[:12],
    }


def hint_dependence(runs: list[dict], arms: list[str]) -> dict:
    """Per arm, held-out hard-level greedy accuracy with no hint and with each evaluated hint ratio, at step 0 and at
    the last step (mean ± 95% over seeds): does the arm learn the skill, or only to use a hint? {} if not measured."""
    out = {}
    for arm in arms:
        mine = [r for r in runs if r["arm"] == arm]
        ratios = sorted({k.split("/")[0] for r in mine for k in r["evals"][-1] if k.startswith("hint@")})
        if not ratios:
            continue
        cols = {"no hint": "greedy", **{ratio: f"{ratio}/greedy" for ratio in ratios}}
        out[arm] = {col: {when: mean_ci95([_lvmean(r["evals"][i], HARD, prefix) for r in mine])
                          for when, i in (("start", 0), ("end", -1))}
                    for col, prefix in cols.items()}
    return out


def ladder_summary(rungs: list[dict]) -> list[dict]:
    """Rungs sorted by training signal; Holm-adjusted p-values over the declared primary family only, across the
    ladder (every primary row of every rung that has data; the rest is exploratory, raw p only)."""
    rungs = sorted(rungs, key=lambda r: r["signal"])
    raw = {f"{i}|{row['name']}": row["p"] for i, r in enumerate(rungs) for row in r["comparisons"]
           if row["comparison"].family == "primary"}
    adjusted = holm(raw)
    for i, r in enumerate(rungs):
        for row in r["comparisons"]:
            row["p_holm"] = adjusted.get(f"{i}|{row['name']}", math.nan)
        r["n_primary"] = sum(not math.isnan(p) for p in raw.values())
    return rungs


def _share(share: float, n: int) -> str:
    """``42% of 1817``; ``none of 0`` where no visit counted (the share is NaN then).

    >>> _share(0.42, 1817), _share(float("nan"), 0)
    ('42% of 1817', 'none of 0')
    """
    return f"{100 * share:.0f}% of {n}" if n else "none of 0"


def _pm(ms, scale=100.0, sign="+") -> str:
    """``(mean, half-width)`` as points, ``+1.2 ± 0.3`` (``sign=""``: no plus); '-' for no mean."""
    m, hw = ms
    if m is None or math.isnan(m):
        return "-"
    return f"{scale * m:{sign}.1f}" + ("" if math.isnan(hw) else f" ± {scale * hw:.1f}")


def _interval(row: dict) -> str:
    """A comparison's mean and 95% interval in points: ``+1.2 ± 0.3`` (seeds' t-interval, symmetric) or
    ``+1.2 [-0.1, +2.4]`` (seed x problem bootstrap); 'n/a' where the records lack the measure."""
    if row["method"] == "n/a":
        return "n/a"
    if row["method"] == "seeds only":
        return _pm(row["seeds_t"][:2])
    return f"{100 * row['mean']:+.1f} [{100 * row['lo']:+.1f}, {100 * row['hi']:+.1f}]"


def _p(p: float) -> str:
    return "-" if math.isnan(p) else f"{p:.3f}"


def _row_of(rung: dict, name: str) -> dict | None:
    return next((row for row in rung["comparisons"] if row["name"] == name), None)


def plot_ladder(rungs: list[dict], path: Path) -> None:
    """GHPO's gain (primary family, avg@k at the pair's largest common budget) against the rung's training signal,
    with 95% intervals; the variants (exploratory) drawn open."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6.5, 4.8))
    for r in rungs:  # every rung, compared or not, so the span of the ladder shows
        ax.axvline(100 * r["signal"], color="grey", lw=0.6, ls=":")
        # the rung's name above the axes, clear of the error bars
        ax.text(100 * r["signal"], 1.01, f"{r['name']} ({r['glimpse']})" + ("" if r["comparisons"] else "\ngates only"),
                transform=ax.get_xaxis_transform(), ha="center", va="bottom", fontsize=7, color="grey")
    primary = [c for c in PRIMARY if c.metric == "hard/sampled"]
    series = [(f"{c.arm} - {c.baseline} (primary)", c.name, 1.0 + 0.06 * i, {"marker": marker})
              for i, (c, marker) in enumerate(zip(primary, "DP"))]
    series += [(f"staged - {b} (exploratory)", f"staged - {b}: hard/sampled@common", 0.88 - 0.06 * i,
                {"marker": marker}) for i, (b, marker) in enumerate((("grpo", "o"), ("reroll", "s")))]
    series += [(f"{variant} - grpo ({role}, exploratory)", f"{variant} - grpo: hard/sampled@common", 0.94 - 0.06 * i,
                {"marker": marker, "mfc": "none"}) for i, (variant, (role, marker)) in enumerate(VARIANTS.items())]
    for label, name, shift, style in series:
        pts = [(100 * r["signal"] * shift, 100 * row["mean"], 100 * (row["mean"] - row["lo"]), 100 * (row["hi"] - row["mean"]))
               for r in rungs if (row := _row_of(r, name)) is not None and not math.isnan(row["mean"])]
        if pts:
            xs, ys, lo, hi = zip(*pts)
            err = [[0 if math.isnan(e) else e for e in lo], [0 if math.isnan(e) else e for e in hi]]
            ax.errorbar(xs, ys, yerr=err, capsize=4, label=label, **style)
    ax.axhline(0, color="grey", lw=0.8)
    ax.set_xscale("log")
    ax.set_xlim(0.8, 80)
    ax.set(xlabel="rung: warm start's training signal (% of unhinted samples rewarded, log scale)",
           ylabel="gain, avg@k at the pair's largest common budget (points)")
    ax.set_title("Where GHPO's gain lives (primary family, avg@k)", pad=16)
    ax.grid(alpha=0.3)
    if ax.get_legend_handles_labels()[0]:  # below the axes: the points span the whole plot
        ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.16), ncol=2, fontsize=7, frameon=False)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def plot_curves(rungs: list[dict], path: Path) -> None:
    """Held-out hard avg@k (solid; valid@k dashed where recorded) against cumulative sampled tokens, mean over seeds,
    per arm, one panel per rung: where the curves cross is what a reading at one budget cannot show."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, max(1, len(rungs)), figsize=(4.2 * max(1, len(rungs)), 3.8), squeeze=False)
    colours = {}
    for ax, r in zip(axes[0], rungs):
        for arm, c in r["curves"].items():
            colour = colours.setdefault(arm, f"C{len(colours) % 10}")
            ax.plot([t / 1e6 for t in c["tokens"]], [100 * v for v in c["sampled"]], marker="o", ms=3, color=colour,
                    label=arm)
            if c["valid"] is not None:
                ax.plot([t / 1e6 for t in c["tokens"]], [100 * v for v in c["valid"]], ls="--", color=colour)
        ax.set(title=f"{r['name']} ({r['glimpse']})", xlabel="sampled completion tokens (millions)")
        ax.grid(alpha=0.3)
    axes[0][0].set_ylabel("hard avg@k, no hint (%; dashed valid@k)")
    handles, labels = axes[0][0].get_legend_handles_labels()
    for ax in axes[0][1:]:  # every arm once, whichever panel it first appears in
        for h, label in zip(*ax.get_legend_handles_labels()):
            if label not in labels:
                handles.append(h)
                labels.append(label)
    if handles:
        fig.legend(handles, labels, loc="lower center", ncol=min(6, len(labels)), fontsize=8, frameon=False)
    fig.tight_layout(rect=(0, 0.08, 1, 1))
    fig.savefig(path, dpi=100)
    plt.close(fig)


def _ratio(values: dict, arm: str, ref: str = "grpo") -> str:
    return f"{values[arm] / values[ref]:.2f}x" if arm in values and ref in values and values[ref] else "-"


def write_ladder(out: Path, rungs: list[dict], command: str) -> None:
    rungs = ladder_summary(rungs)
    plot_ladder(rungs, out / "ladder.png")
    plot_curves(rungs, out / "ladder_curves.png")
    L = ["# The difficulty ladder (issues 21, 28)\n", f"```\n{command}\n```\n"]
    for r in rungs:
        for part in r["parts"]:
            L.append(f"- glimpse {r['glimpse']} ([RESULTS.md](glimpse{r['glimpse']}/RESULTS.md)): `{part['command']}` (commit `{part['commit']}`, "
                     f"{part['wall_s'] / 60:.1f} min, {part.get('jobs', 1)} jobs" + (f", {part['cpu']}" if part.get("cpu") else "") + ")")
    L.append("\n**Rungs.** Health: plain GRPO's paired change (end - start per seed; seed x problem bootstrap where "
             "per-problem outcomes are recorded, else the seeds' t-interval), a training-level check passing when its 95% "
             "interval is above 0, an easy-level one when the mean change is above -5 points. Costs against GRPO's: "
             "sampled completion tokens; the same with the hint tokens every hinted sample reads as prefill ('+ hints'; "
             "'est.': estimated from the logged hint length of the trained stage, a lower bound); completions drawn.\n")
    L.append("| rung | 5x1 glimpse | training signal | base avg@k | base greedy | all-wrong / rescued (probe) | health (asks) | "
             "tokens staged / reroll / grpo | + hints staged / reroll | samples staged / reroll | warm start |")
    L.append("|---|---|---|---|---|---|---|---|---|---|---|")
    for r in rungs:
        failed = [c for c, ok in r["health"]["checks"].items() if not ok]
        asks = "easy kept, GRPO learns" if r["health"]["asked_to_learn"] else "easy kept"
        health = ("PASS" if r["health"]["pass"] else "FAIL: " + ", ".join(failed)) + f" ({asks})"
        tokens = " / ".join(_ratio(r["tokens"], a) for a in ("staged", "reroll", "grpo"))
        hints = " / ".join(_ratio(r["tokens_with_hints"], a) for a in ("staged", "reroll"))
        hints += "" if r["hint_prefill_exact"] else " (est.)"
        samples = " / ".join(_ratio(r["samples"], a) for a in ("staged", "reroll"))
        L.append(f"| {r['name']} | {r['glimpse']} | {100 * r['signal']:.1f}% | {100 * r['base']:.1f}% | {100 * r['greedy0']:.1f}% | "
                 f"{100 * r['regime']['all_wrong']:.0f}% / {100 * r['regime']['rescued_any']:.0f}% | {health} | "
                 f"{tokens} | {hints} | {samples} | `{r['weights']}` |")
    n = rungs[0]["n_primary"] if rungs else 0
    pairs = " and ".join(dict.fromkeys(f"{c.arm} minus {c.baseline}" for c in PRIMARY))
    L.append(f"\n**Primary measures (issue 28, declared before its runs):** {pairs} on "
             "held-out hard-level avg@k (boxed answer, no hint) and on valid@k (the same samples scored by the training "
             "reward's rule: every scratchpad line right), each at the pair's largest common budget (the smallest "
             "sampled-token total among the two arms' runs), paired by seed, in points. Interval: seed x problem "
             "bootstrap (2000 replicates, fixed seed) where the records hold per-problem outcomes, else the seeds' "
             f"t-interval ('seeds only'); 'n/a': not recorded then. Holm-adjusted over this family only ({n} with data, "
             "across the ladder). The last column reads the same at the budget counted with hint prefill (exploratory).\n")
    L.append("| rung | comparison | budget (tokens) | mean (95%) | interval | p | p (Holm) | with hint prefill: mean (95%) |")
    L.append("|---|---|---|---|---|---|---|---|")
    for r in rungs:
        for row in r["comparisons"]:
            c = row["comparison"]
            if c.family != "primary":
                continue
            hinted = _row_of(r, row["name"] + "+hints")
            L.append(f"| {r['name']} ({r['glimpse']}) | {row['name']} | {row['at_tokens'] / 1e6:.2f}M | {_interval(row)} | "
                     f"{row['method']} | {_p(row['p'])} | {_p(row['p_holm'])} | "
                     + (f"{_interval(hinted)} at {hinted['at_tokens'] / 1e6:.2f}M" if hinted else "-") + " |")
    L.append("\n**Per arm** (mean ± 95% over seeds; hard = 5x1, no hint; 'at GRPO's tokens' = when the arm had sampled "
             "as many completion tokens as GRPO's whole run; easy = 3x1, 4x1 avg@k change from step 0; valid@k at the "
             "end of the run, 'n/a' where not recorded; costs against GRPO's):\n")
    L.append("| rung | arm | hard avg@k | hard avg@k at GRPO's tokens | hard greedy | easy avg@k change | tokens | "
             "rounds / step | groups zero-std | hard valid@k | tokens + hints | samples |")
    L.append("|---|---|---|---|---|---|---|---|---|---|---|---|")
    for r in rungs:
        grpo_tokens = r["per_arm"].get("grpo", {}).get("tokens", (math.nan, math.nan))[0]
        for arm, m in r["per_arm"].items():
            pct = [_pm(m[k], sign="") for k in ("hard/sampled", "hard/sampled@tokens", "hard/greedy")]
            curve = r["curves"][arm]["valid"]
            valid = "n/a" if curve is None else f"{100 * curve[-1]:.1f}"
            L.append(f"| {r['name']} ({r['glimpse']}) | {arm} | {' | '.join(pct)} | {_pm(m['easy/sampled_delta'])} | "
                     f"{m['tokens'][0] / grpo_tokens:.2f}x | {m['gen_rounds'][0]:.2f} | {100 * m['zero_std'][0]:.0f}% | "
                     f"{valid} | {_ratio(r['tokens_with_hints'], arm)} | {_ratio(r['samples'], arm)} |")
    blocks = (("issue 21", "**Exploratory: issue 21's secondary comparisons** ({n} in all; Holm-adjusted together in "
               "issue 21's reports, exploratory here: raw p only, none is a finding on its own):\n"),
              ("issue 28", "**Exploratory: further readings** ({n} in all, raw p only; '@tokens' = at GRPO's token total, "
               "'@common' = at the pair's largest common budget, '+hints' = budget counted with hint prefill; "
               "`grpo@staged` = GRPO run on to staged's mean token total):\n"),
              ("issue 28, after its primary", "**Exploratory: added after the primary family was read** ({n} in all, "
               "raw p only: the corrected variant `staged+imitate+guide`, and the positive control against re-roll "
               "and imitate):\n"))
    for declared, heading in blocks:
        mine = [(r, row) for r in rungs for row in r["comparisons"]
                if row["comparison"].family == "exploratory" and row["comparison"].declared == declared]
        if not mine:
            continue
        L.append("\n" + heading.format(n=len(mine)))
        L.append("| rung | comparison | mean (95%) | interval | p |")
        L.append("|---|---|---|---|---|")
        for r, row in mine:
            L.append(f"| {r['name']} ({r['glimpse']}) | {row['name']} | {_interval(row)} | {row['method']} | {_p(row['p'])} |")
    if any(r["hint_dependence"] for r in rungs):
        L.append("\n**Hint dependence** (held-out hard-level greedy accuracy, no hint and with the first w of the worked "
                 "solution, step 0 -> last step, mean ± 95% over seeds; a gain with a hint and none without is reliance):\n")
        cols = sorted({c for r in rungs for arm in r["hint_dependence"].values() for c in arm}, key=lambda c: (c != "no hint", c))
        L.append("| rung | arm | " + " | ".join(cols) + " |")
        L.append("|---|---|" + "---|" * len(cols))
        for r in rungs:
            for arm, by_col in r["hint_dependence"].items():
                cells = [f"{100 * by_col[c]['start'][0]:.1f} -> {_pm(by_col[c]['end'], sign='')}" if c in by_col else "-"
                         for c in cols]
                L.append(f"| {r['name']} ({r['glimpse']}) | {arm} | " + " | ".join(cells) + " |")
    L.append("\n**Transfer** (an all-wrong problem, solved without a hint on its next visit: share of such visits, "
             "after a rescue / after none):\n")
    for r in rungs:
        for arm, nv in r.get("next_visit", {}).items():
            if arm.split("@")[0] != "grpo":  # GRPO, to any budget, hints nothing
                (a, na), (b, nb) = nv["rescued"], nv["not_rescued"]
                L.append(f"- {r['name']} ({r['glimpse']}), {arm}: {_share(a, na)} / {_share(b, nb)}")
    L.append(f"\nEasy levels checked: {', '.join(EASY)}. ![ladder](ladder.png)\n")
    L.append("![curves: held-out hard avg@k against sampled tokens, per arm, one panel per rung](ladder_curves.png)\n")
    if (out / VERDICT).exists():  # the reading in words, written by hand after the runs (kept across regenerations)
        L.append(f"\n## What it says (hand-written: [{VERDICT}]({VERDICT}))\n\n" + (out / VERDICT).read_text())
    (out / "LADDER.md").write_text("\n".join(L))
    (out / "ladder.json").write_text(json.dumps(rungs, indent=1, default=str))
