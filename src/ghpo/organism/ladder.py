"""Issue 21's difficulty ladder: the organism benchmark run on several warm starts (rungs, by the size of the 5x1
glimpse in SFT), from "GRPO stuck" to "easy", and GHPO's gain mapped against each rung's training signal.

Each rung is an ordinary ``organism_compare.py`` run in its own folder (``<out>/glimpse<N>/organism_results.json``).
This module reads them and writes ``<out>/LADDER.md`` and ``<out>/ladder.png``:

- per rung, the gates and a health check that asks only what the rung can show: RL does not break the easy levels
  (every rung), and plain GRPO improves the training level (only where GRPO can learn: training signal >=
  ``LEARNABLE_FROM``); the noise bound counts held-out problems, not the k samples of a problem;
- the primary measure (``gates.PRIMARY``, declared before the runs): staged minus re-roll and staged minus GRPO,
  hard-level avg@k at GRPO's sampled tokens, paired by seed, 95% t-interval;
- the secondary comparisons, with Holm-adjusted p-values over all of them (their number stated);
- hint dependence (held-out greedy accuracy with a 0.25 / 0.5 hint next to no hint), where it was measured.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

from ghpo.organism.budget import EASY, HARD, TRAIN_LEVELS, budget_from_dict
from ghpo.organism.gates import _lvmean, health_gate, primary_measure, regime_gate, run_metrics, summarise
from ghpo.report import holm, mean_ci95, t_pvalue

LEARNABLE_FROM = 0.02
"""Training signal (share of unhinted samples on the training problems that earn the training reward, measured by
the regime probe on the warm start) from which plain GRPO is expected to learn; a rung below it is 'stuck': the
health check does not ask it to improve. The signal, not the held-out box-only avg@k, places a rung: the training
reward also needs every line right, and on the 600-row warm start 7% of boxes but 1.4% of samples earn it."""
EASY_FROM = 0.30
VERDICT = "VERDICT.md"

SECONDARY = ("hard/greedy", "hard/sampled", "hard/greedy@tokens")
"""Secondary measures, each compared staged - GRPO and staged - re-roll (and GRPO's own rise is in the gates)."""


VARIANTS = {"staged+keep1": ("remedy", "^"), "staged+budgeted+1stage": ("cheaper", "v")}
"""Variants of staged, each read against staged and GRPO on ``VARIANT_MEASURES`` (secondary, counted in the Holm
adjustment), with their role and plot marker: the remedy for hint reliance (issue 21: where staged does not transfer),
NuRL's one unhinted sample kept in each hinted group; and the cheaper schedule (issue 11: hint memory, one stage per
hard visit), which asks whether hints pay per token when they cost fewer tokens."""
VARIANT_MEASURES = ("hard/sampled@tokens", "hard/sampled", "hard/greedy")
ARM_ORDER = ("grpo", "staged", "reroll", *VARIANTS)

PER_ARM = ("hard/sampled", "hard/sampled@tokens", "hard/greedy", "easy/sampled_delta", "tokens", "gen_rounds", "zero_std")
"""Per-arm columns of the ladder's arm table (``gates.summarise`` rows): end of training, at GRPO's tokens, cost."""


def rung_name(signal: float) -> str:
    """What the training signal predicts: 'stuck' (GRPO almost never rewarded), 'middle' (GRPO should learn), 'easy'.
    Whether GRPO did learn is the health column's answer, not the name's."""
    return "stuck" if signal < LEARNABLE_FROM else "middle" if signal < EASY_FROM else "easy"


def rung_summary(saved: dict) -> dict:
    """One rung from its ``organism_results.json``: base accuracy, gates, rung-specific health, primary measure,
    secondary comparisons with raw p-values (adjusted across the ladder by ``ladder_summary``)."""
    budget = budget_from_dict(saved["budget"])
    runs = saved["runs"]
    k = f"avg@{budget.avg_k}"
    grpo = [r for r in runs if r["arm"] == "grpo"]
    base = sum(_lvmean(r["evals"][0], HARD, k) for r in grpo) / max(1, len(grpo))
    greedy0 = sum(_lvmean(r["evals"][0], HARD, "greedy") for r in grpo) / max(1, len(grpo))
    probe = [saved["probe"][lv] for lv in TRAIN_LEVELS]
    signal = sum(p["mean_correct_unhinted"] * p["groups"] for p in probe) / max(1, sum(p["groups"] for p in probe))
    health = health_gate(runs, budget, independent_samples=False)
    learnable = signal >= LEARNABLE_FROM
    checks = {name: c["pass"] for name, c in health["checks"].items()
              if name.startswith("easy/") or learnable}  # a stuck rung is not asked to improve
    arms = [a for a in ARM_ORDER if any(r["arm"] == a for r in runs)]
    summary = summarise(runs, arms, budget) if arms else {"rows": {}, "token_budget": None}
    metrics = run_metrics(budget, summary["token_budget"] or 0)
    by = {a: {r["seed"]: r for r in runs if r["arm"] == a} for a in arms}
    secondary = {}
    pairs = [("staged", other, SECONDARY) for other in ("grpo", "reroll")]
    pairs += [(variant, other, VARIANT_MEASURES) for variant in VARIANTS for other in ("staged", "grpo")]
    for arm, other, names in pairs:
        if arm not in by or other not in by:
            continue
        for name in names:
            diffs = [metrics[name](r) - metrics[name](by[other][s]) for s, r in by[arm].items() if s in by[other]]
            secondary[f"{arm} - {other}: {name}"] = (mean_ci95(diffs), t_pvalue(diffs))
    hint_dep = hint_dependence(runs, arms)
    return {
        "glimpse": dict(budget.warm.sft_glimpse).get("5x1", 0), "base": base, "greedy0": greedy0,
        "signal": signal, "name": rung_name(signal), "regime": saved["gates"].get("regime") or regime_gate(saved["probe"]),
        "health": {"checks": checks, "pass": all(checks.values()), "asked_to_learn": learnable},
        "primary": primary_measure(summary) if summary["rows"] else {}, "secondary": secondary,
        "tokens": {a: summary["rows"][a]["tokens"][0] for a in arms if a in summary["rows"]},
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
    """Rungs sorted by training signal, with Holm-adjusted p-values over every secondary comparison of the ladder."""
    rungs = sorted(rungs, key=lambda r: r["signal"])
    raw = {(i, name): p for i, r in enumerate(rungs) for name, (_, p) in r["secondary"].items()}
    adjusted = holm({f"{i}|{name}": p for (i, name), p in raw.items()})
    for i, r in enumerate(rungs):
        r["secondary_holm"] = {name: adjusted[f"{i}|{name}"] for name in r["secondary"]}
        r["n_secondary"] = len(raw)
    return rungs


def _pm(ms, scale=100.0, sign="+") -> str:
    """``(mean, half-width)`` as points, ``+1.2 ± 0.3`` (``sign=""``: no plus); '-' for no mean."""
    m, hw = ms
    if m is None or math.isnan(m):
        return "-"
    return f"{scale * m:{sign}.1f}" + ("" if math.isnan(hw) else f" ± {scale * hw:.1f}")


def plot_ladder(rungs: list[dict], path: Path) -> None:
    """GHPO's gain (primary measure) against the rung's training signal, with 95% intervals."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6.5, 4.8))
    for r in rungs:  # every rung, compared or not, so the span of the ladder shows
        ax.axvline(100 * r["signal"], color="grey", lw=0.6, ls=":")
        # the rung's name above the axes, clear of the error bars
        ax.text(100 * r["signal"], 1.01, f"{r['name']} ({r['glimpse']})" + ("" if r["primary"] else "\ngates only"),
                transform=ax.get_xaxis_transform(), ha="center", va="bottom", fontsize=7, color="grey")
    series = [(name, lambda r, name=name: r["primary"].get(name), 1.0 + 0.06 * i, {"marker": marker})
              for i, (name, marker) in enumerate((("staged - grpo", "o"), ("staged - reroll", "s")))]
    # the variants are secondary: drawn open so they are not read as the primary measure
    series += [(f"{variant} - grpo ({role}, secondary)",
                lambda r, key=f"{variant} - grpo: hard/sampled@tokens": r["secondary"].get(key, (None,))[0],
                0.94 - 0.06 * i, {"marker": marker, "mfc": "none"})
               for i, (variant, (role, marker)) in enumerate(VARIANTS.items())]
    for label, value, shift, style in series:
        pts = [(100 * r["signal"] * shift, 100 * ms[0], 100 * ms[1]) for r in rungs
               if (ms := value(r)) is not None and not math.isnan(ms[0])]
        if pts:
            xs, ys, es = zip(*pts)
            ax.errorbar(xs, ys, yerr=[0 if math.isnan(e) else e for e in es], capsize=4, label=label, **style)
    ax.axhline(0, color="grey", lw=0.8)
    ax.set_xscale("log")
    ax.set_xlim(0.8, 80)
    ax.set(xlabel="rung: warm start's training signal (% of unhinted samples rewarded, log scale)",
           ylabel="gain, avg@k at GRPO's tokens (points)")
    ax.set_title("Where GHPO's gain lives (primary measure)", pad=16)
    ax.grid(alpha=0.3)
    if ax.get_legend_handles_labels()[0]:  # below the axes: the points span the whole plot
        ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.16), ncol=2, fontsize=7, frameon=False)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def write_ladder(out: Path, rungs: list[dict], command: str) -> None:
    rungs = ladder_summary(rungs)
    plot_ladder(rungs, out / "ladder.png")
    L = ["# The difficulty ladder (issue 21)\n", f"```\n{command}\n```\n"]
    for r in rungs:
        for part in r["parts"]:
            L.append(f"- glimpse {r['glimpse']} ([RESULTS.md](glimpse{r['glimpse']}/RESULTS.md)): `{part['command']}` (commit `{part['commit']}`, "
                     f"{part['wall_s'] / 60:.1f} min, {part.get('jobs', 1)} jobs" + (f", {part['cpu']}" if part.get("cpu") else "") + ")")
    L.append("\n**Primary measure (declared before the runs):** hard-level sampled accuracy (avg@k, no hint) at GRPO's "
             "sampled tokens, staged minus re-roll and staged minus GRPO, paired by seed, mean ± 95% t-interval over "
             "seeds, in points.\n")
    L.append("| rung | 5x1 glimpse | training signal | base avg@k | base greedy | all-wrong / rescued (probe) | health (asks) | "
             "staged - grpo | staged - reroll | tokens staged / reroll / grpo | warm start |")
    L.append("|---|---|---|---|---|---|---|---|---|---|---|")
    for r in rungs:
        failed = [c for c, ok in r["health"]["checks"].items() if not ok]
        asks = "easy kept, GRPO learns" if r["health"]["asked_to_learn"] else "easy kept"
        health = ("PASS" if r["health"]["pass"] else "FAIL: " + ", ".join(failed)) + f" ({asks})"
        t = r["tokens"]
        tokens = " / ".join(f"{t[a] / t['grpo']:.2f}x" if "grpo" in t and a in t else "-"
                            for a in ("staged", "reroll", "grpo"))
        L.append(f"| {r['name']} | {r['glimpse']} | {100 * r['signal']:.1f}% | {100 * r['base']:.1f}% | {100 * r['greedy0']:.1f}% | "
                 f"{100 * r['regime']['all_wrong']:.0f}% / {100 * r['regime']['rescued_any']:.0f}% | {health} | "
                 f"{_pm(r['primary'].get('staged - grpo', (math.nan, math.nan)))} | "
                 f"{_pm(r['primary'].get('staged - reroll', (math.nan, math.nan)))} | {tokens} | `{r['weights']}` |")
    L.append("\n**Per arm** (mean ± 95% over seeds; hard = 5x1, no hint; 'at GRPO's tokens' = when the arm had sampled "
             "as many completion tokens as GRPO's whole run; easy = 3x1, 4x1 avg@k change from step 0):\n")
    L.append("| rung | arm | hard avg@k | hard avg@k at GRPO's tokens | hard greedy | easy avg@k change | tokens | "
             "rounds / step | groups zero-std |")
    L.append("|---|---|---|---|---|---|---|---|---|")
    for r in rungs:
        grpo_tokens = r["per_arm"].get("grpo", {}).get("tokens", (math.nan, math.nan))[0]
        for arm, m in r["per_arm"].items():
            pct = [_pm(m[k], sign="") for k in ("hard/sampled", "hard/sampled@tokens", "hard/greedy")]
            L.append(f"| {r['name']} ({r['glimpse']}) | {arm} | {' | '.join(pct)} | {_pm(m['easy/sampled_delta'])} | "
                     f"{m['tokens'][0] / grpo_tokens:.2f}x | {m['gen_rounds'][0]:.2f} | {100 * m['zero_std'][0]:.0f}% |")
    n = rungs[0]["n_secondary"] if rungs else 0
    L.append(f"\n**Secondary comparisons** ({n} in all, Holm-adjusted over the whole ladder; p < 0.05 after "
             "adjustment is the bar):\n")
    L.append("| rung | comparison | mean ± 95% | p | p (Holm) |")
    L.append("|---|---|---|---|---|")
    for r in rungs:
        for name, (ms, p) in r["secondary"].items():
            L.append(f"| {r['name']} ({r['glimpse']}) | {name} | {_pm(ms)} | {p:.3f} | {r['secondary_holm'][name]:.3f} |")
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
            if arm != "grpo":
                (a, na), (b, nb) = nv["rescued"], nv["not_rescued"]
                L.append(f"- {r['name']} ({r['glimpse']}), {arm}: {100 * a:.0f}% of {na} / {100 * b:.0f}% of {nb}")
    L.append(f"\nEasy levels checked: {', '.join(EASY)}. ![ladder](ladder.png)\n")
    if (out / VERDICT).exists():  # the reading in words, written by hand after the runs (kept across regenerations)
        L.append(f"\n## What it says (hand-written: [{VERDICT}]({VERDICT}))\n\n" + (out / VERDICT).read_text())
    (out / "LADDER.md").write_text("\n".join(L))
    (out / "ladder.json").write_text(json.dumps(rungs, indent=1, default=str))
