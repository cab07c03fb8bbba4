"""The organism benchmark's report: curves, verdict in words, RESULTS.md, and the notes of earlier pilots."""

from __future__ import annotations

import json
import math
import os
import platform
import statistics
import subprocess
from pathlib import Path

import torch
import transformers
import trl

from ghpo.organism.budget import (
    EASY,
    EVAL_LEVELS,
    HARD,
    TRAIN_LEVELS,
    Budget,
    arms_of,
)
from ghpo.organism.gates import (
    _above_zero,
    _lvmean,
    _plateau_eval,
    primary_measure,
    summarise,
)
from ghpo.organism.paired import PRIMARY, paired_differences


# plot
def plot(runs, arms, budget, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    k = f"avg@{budget.avg_k}"
    fig, axes = plt.subplots(1, 4, figsize=(20, 4.2))
    for arm in arms:
        rs = [r for r in runs if r["arm"] == arm]
        if not rs:
            continue
        n = min(len(r["evals"]) for r in rs)
        steps = [rs[0]["evals"][i]["step"] for i in range(n)]
        hard = [statistics.mean(_lvmean(r["evals"][i], HARD, "greedy") for r in rs) for i in range(n)]
        hard_s = [statistics.mean(_lvmean(r["evals"][i], HARD, k) for r in rs) for i in range(n)]
        easy = [statistics.mean(_lvmean(r["evals"][i], EASY, "greedy") for r in rs) for i in range(n)]
        tokens = [statistics.mean(r["evals"][i]["tokens"] for r in rs) for i in range(n)]
        (line,) = axes[0].plot(steps, hard, marker="o", label=f"{arm} greedy")
        axes[0].plot(steps, hard_s, ls="--", color=line.get_color())
        axes[1].plot(tokens, hard, marker="o", color=line.get_color())
        axes[2].plot(steps, easy, marker="o", color=line.get_color())
        zs = [statistics.mean(r["log"][i]["frac_reward_zero_std"] for r in rs) for i in range(min(len(r["log"]) for r in rs))]
        win = max(1, len(zs) // 20)
        smooth = [statistics.mean(zs[max(0, i - win + 1) : i + 1]) for i in range(len(zs))]
        axes[3].plot(range(1, len(zs) + 1), smooth, color=line.get_color(), label=arm)
    axes[0].set(title=f"hard {'/'.join(HARD)}, no hint (solid greedy, dashed {k})", xlabel="optimizer step",
                ylabel="accuracy")
    axes[1].set(title="hard, greedy, vs generated tokens", xlabel="sampled completion tokens (incl. hint stages)")
    axes[2].set(title=f"easy {'/'.join(EASY)}, greedy (forgetting)", xlabel="optimizer step")
    axes[3].set(title="TRL frac_reward_zero_std (moving mean)", xlabel="optimizer step")
    for ax in axes:
        ax.grid(alpha=0.3)
    axes[3].legend(fontsize=8)
    fig.suptitle("GHPO organism v3: mean over each arm's seeds (see RESULTS.md)")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


# report
def git_commit() -> str:
    try:
        return subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, check=True,
                              cwd=Path(__file__).resolve().parent).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def cpu_name() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def _pct(ms, signed=False) -> str:
    m, hw = ms
    if m is None or math.isnan(m):
        return "-"
    s = f"{100 * m:+.1f}" if signed else f"{100 * m:.1f}"
    return s + ("" if math.isnan(hw) else f" ± {100 * hw:.1f}")


def _num(ms, fmt="{:.0f}") -> str:
    m, hw = ms
    if m is None or math.isnan(m):
        return "-"
    return fmt.format(m) + ("" if math.isnan(hw) else " ± " + fmt.format(hw))


def verdict(summary: dict, budget: Budget) -> list[str]:
    rows = summary["rows"]
    if "grpo" not in rows or len(rows) < 2:
        return ["(no verdict: the comparison arms did not run)"]
    lines = []
    for arm, r in rows.items():
        if arm == "grpo":
            continue
        parts = []
        for key, what in (("hard/greedy", "greedy, equal steps"), ("hard/sampled", "sampled, equal steps"),
                          ("hard/greedy@tokens", "greedy, equal tokens"), ("hard/sampled@tokens", "sampled, equal tokens")):
            d, hw = r[f"diff/{key}"]
            if math.isnan(hw):
                word = "one seed, no interval"
            elif _above_zero((d, hw)):
                word = "BETTER"
            elif d + hw < 0:
                word = "WORSE"
            else:
                word = "no difference"
            parts.append(f"{what} {100 * d:+.1f} ± {100 * hw:.1f} ({word})")
        lines.append(f"- **{arm}** minus grpo on hard levels (paired by seed, 95% t-interval): " + "; ".join(parts) + ".")
    for arm in ("staged", "staged+budgeted"):
        if arm not in rows:
            continue
        r, g = rows[arm], rows["grpo"]
        nv_r, nv_n, nv_g = r["next_visit/rescued"], r["next_visit/not_rescued"], g["next_visit/not_rescued"]
        lines.append(
            f"- Where {arm}'s hint signal goes: {_pct(r['hard_levels_rescued'])}% of its all-wrong {'/'.join(HARD)} "
            f"groups were rescued; rescued groups carried {_pct(r['adv_mass_rescued_share'])}% of its advantage mass "
            f"(advantage mass per step {r['adv_mass_per_step'][0]:.1f} vs grpo {g['adv_mass_per_step'][0]:.1f}). When "
            f"a rescued problem came back, it was solved without a hint {100 * nv_r[0]:.0f}% of the time ({nv_r[1]} "
            f"cases) vs {100 * nv_n[0]:.0f}% for all-wrong problems no hint rescued ({nv_n[1]}) and "
            f"{100 * nv_g[0]:.0f}% for all-wrong problems under grpo ({nv_g[1]}); not a causal effect: the problems "
            f"a hint rescues are likely the easier all-wrong ones, which would come back solved more often anyway. "
            f"Of the right answers in rescued "
            f"groups, {100 * r['valid/rescued'][0]:.0f}% had every scratchpad step right ({r['valid/rescued'][1]} "
            f"answers), vs {100 * r['valid/round0'][0]:.0f}% of right answers without a hint.")
    lines += budget_goal(rows)

    def wins(r, keys):
        return [k for k in keys if _above_zero(r[f"diff/{k}"])]

    steps, tokens = ("hard/greedy", "hard/sampled"), ("hard/greedy@tokens", "hard/sampled@tokens")
    others = {a: r for a, r in rows.items() if a != "grpo"}
    better = [a for a, r in others.items() if len(wins(r, steps)) == 2]
    partly = [f"{a} ({' and '.join(k.split('/')[1] for k in wins(r, steps))} only)" for a, r in others.items()
              if len(wins(r, steps)) == 1]
    at_tokens = [a for a, r in others.items() if wins(r, tokens)]
    if better:
        lines.append(f"- In words: {', '.join(better)} beat plain GRPO on the hard levels at equal optimizer steps, "
                     "greedy and sampled, by more than the seed-to-seed noise.")
    else:
        lines.append("- In words: no GHPO arm beats plain GRPO on the hard levels at equal optimizer steps on both "
                     "greedy and sampled accuracy by more than the seed-to-seed noise (95% interval)"
                     + (f"; better on one of the two: {', '.join(partly)}." if partly else "."))
    lines.append("- At equal sampled tokens: " + (f"better on some measure: {', '.join(at_tokens)}." if at_tokens else
                 "no GHPO arm is better than plain GRPO on any measure (the hint stages cost tokens)."))
    return lines


def budget_goal(rows: dict) -> list[str]:
    """Issue 11's goal per budgeted arm: <= 1.5x grpo's sampled tokens, <= 2 generation rounds a step, and hard-level
    greedy accuracy (mean) not below staged's 95% interval."""
    if "grpo" not in rows or "staged" not in rows:
        return []
    floor = rows["staged"]["hard/greedy"][0] - rows["staged"]["hard/greedy"][1]
    lines = []
    for arm, r in rows.items():
        if not arm.startswith("staged+budgeted"):
            continue
        ratio, rounds, acc = r["tokens"][0] / rows["grpo"]["tokens"][0], r["gen_rounds"][0], r["hard/greedy"][0]
        checks = [(ratio <= 1.5, f"tokens {ratio:.2f}x grpo"), (rounds <= 2.0, f"{rounds:.2f} rounds a step"),
                  (acc >= floor, f"hard greedy {100 * acc:.1f} vs staged's floor {100 * floor:.1f}")]
        met = all(ok for ok, _ in checks)
        lines.append(f"- Issue 11 goal, **{arm}**: " + "; ".join(f"{what} ({'met' if ok else 'NOT met'})"
                                                                 for ok, what in checks)
                     + (": **all met**." if met else "."))
    return lines


def write_results(out: Path, saved: dict, budget: Budget) -> None:
    arms = arms_of(saved["runs"])
    runs = saved["runs"]
    summary = summarise(runs, arms, budget) if runs else {"rows": {}, "token_budget": 0}
    rows = summary["rows"]
    k = budget.avg_k
    warm_info = saved["warm_start"]
    ws = warm_info["settings"]
    L = ["# GHPO vs GRPO on the CPU model organism (v3)\n",
         "Written by `benchmarks/organism_compare.py`; do not edit by hand. Commands that produced this file, in order:\n",
         "```\n" + "\n".join(dict.fromkeys(p["command"] for p in saved["parts"])) + "\n```\n"]
    # Runs with other budgets written into sub-folders (e.g. --steps 240 --out docs/organism_240) are named here.
    for other in sorted(out.glob("*/organism_results.json")):
        o = json.loads(other.read_text())
        arms_run = list(dict.fromkeys(r["arm"] for r in o["runs"]))
        L.append(f"Another run of this script: [{other.parent.name}/RESULTS.md]({other.parent.name}/RESULTS.md) "
                 f"({o['budget']['steps']} steps, arms {', '.join(arms_run)}).\n")
    if (out / "ladder" / "LADDER.md").exists():  # issue 21: the same benchmark over warm starts of graded difficulty
        L.append("The difficulty ladder (GHPO vs GRPO vs re-roll on warm starts from 'GRPO stuck' to 'easy'): "
                 "[ladder/LADDER.md](ladder/LADDER.md).\n")
    # The machine the parts ran on (recorded since issue 21), not the one writing the report.
    cpus = ", ".join(dict.fromkeys(p.get("cpu") or cpu_name() for p in saved["parts"])) or cpu_name()
    L.append(f"- Machine: {os.cpu_count()} CPU cores ({cpus}), no GPU, torch threads 1 per job, Python "
             f"{platform.python_version()}, torch {torch.__version__}, transformers {transformers.__version__}, trl "
             f"{trl.__version__}.")
    for p in saved["parts"]:
        L.append(f"- Part `{p['part']}`: git commit `{p['commit']}`, {p['jobs']} parallel job(s), wall time "
                 f"{p['wall_s'] / 60:.1f} min, load average (1 min) at start {p['load'][0]:.1f}, at end {p['load'][1]:.1f}"
                 + (" (other jobs shared the cores: wall times are noisy; accuracy and token counts are not)."
                    if max(p["load"]) > p["jobs"] + 1 else " (no other load at start or end; the load between is not "
                    "sampled, see the notes).") + (f" Note: {p['note']}." if p.get("note") else ""))
    L.append(f"- Policy: Llama {ws['layers']} layers x {ws['hidden_size']} hidden, {warm_info['n_params']:,} parameters, "
             f"char-level tokenizer. Warm start: TRL `SFTTrainer`, {ws['sft_steps']} steps x {ws['sft_batch_size']}, "
             f"lr {ws['sft_lr']} cosine, scratchpad solutions of levels {', '.join(ws['sft_levels'])} "
             f"({warm_info['sft_rows']} rows, levels balanced by repetition"
             + "".join(f", plus a glimpse of {n} {lv} rows" for lv, n in ws.get("sft_glimpse", ()))
             + f"), {warm_info['sft_seconds']:.0f} s.")
    L.append(f"- RL: {budget.steps} optimizer steps x {budget.prompts_per_step} prompts x G={budget.num_generations}, "
             f"max {budget.max_completion_length} completion tokens, lr {budget.learning_rate} constant, beta "
             f"{budget.beta} (KL to the warm start), temperature 1, scale_rewards `{budget.scale_rewards}`, adam_epsilon "
             f"{budget.adam_epsilon:g}, TRL defaults otherwise (loss `dapo`). Training set: {budget.train_rows} problems, levels {', '.join(TRAIN_LEVELS)} "
             + (f"plus {100 * budget.replay_share:.0f}% replay of {', '.join(budget.replay_levels)} (easy problems "
                "SFT never saw, so TRL's KL term, taken on sampled completions only, also sees an easy level), "
                if budget.replay_share else "")
             + f"round-robin, each drawn ~{budget.steps * budget.prompts_per_step / budget.train_rows:.0f} times. Seeds "
             f"{list(budget.seeds)}. Hint template `{{hint}}` right after the prompt's newline (a hinted prompt is a "
             f"prefix of prompt + worked solution). Reward "
             + ("`stepwise_accuracy_reward`: 1 when the last `\\boxed{}` holds the answer AND every scratchpad line "
                "(hint included) keeps the expression's value, else 0 (binary; no lucky boxes)."
                if budget.reward == "steps" else "`boxed_accuracy_reward` (exact integer in the last `\\boxed{}`).")
             + " No-hint evaluation scores the final box only (accuracy as a user reads it).")
    L.append(f"- Evaluation: {budget.eval_per_level} held-out problems per level (never seen in SFT or RL), NO hint, "
             f"greedy pass@1 and avg@{k} at temperature 1, every {budget.eval_every} steps. 'hard' = mean of "
             f"{', '.join(HARD)}; 'train' = mean of {', '.join(TRAIN_LEVELS)}; 'easy' = {', '.join(EASY)}. "
             "'±' is the half-width of the 95% Student t-interval over seeds.\n")

    L.append("## Warm start (step 0)\n")
    sa = warm_info["start_accuracy"]
    levels = ws["eval_levels"]
    L.append("| level | " + " | ".join(levels) + " |")
    L.append("|---|" + "---|" * len(levels))
    L.append("| greedy | " + " | ".join(f"{100 * sa[f'greedy/{lv}']:.0f}%" for lv in levels) + " |")
    sk = ws.get("eval_k", 0)
    if sk and f"avg@{sk}/{levels[0]}" in sa:
        L.append(f"| avg@{sk} (T=1) | " + " | ".join(f"{100 * sa[f'avg@{sk}/{lv}']:.0f}%" for lv in levels) + " |")
    glimpse = "".join(f" and {n} rows of {lv}" for lv, n in ws.get("sft_glimpse", ()))
    L.append(f"\n({ws['eval_per_level']} held-out problems per level; SFT saw {', '.join(ws['sft_levels'])}{glimpse}.)\n")

    L.append("## Gate 1: regime (warm start, before any training)\n")
    probe = saved["probe"]
    L.append(f"Groups of G={budget.num_generations} at temperature 1 on up to {budget.probe_per_level} training "
             "problems per level; hard groups get the staged hints in order (token-unit cut, as the `staged` arm), a "
             "group leaves at the first stage with a right answer. Rescued columns: share of all-wrong groups.\n")
    L.append("| level | groups | all-wrong unhinted | rescued @0.25 | rescued @0.5 | rescued @0.75 | rescued at some stage | never |")
    L.append("|---|---|---|---|---|---|---|---|")
    for lv, p in probe.items():
        h = p["all_wrong"]
        cells = [f"{100 * p['rescued'][w] / h:.0f}%" if h else "-" for w in ("0.25", "0.5", "0.75")]
        anyr = sum(p["rescued"].values())
        L.append(f"| {lv} | {p['groups']} | {100 * h / p['groups']:.0f}% | " + " | ".join(cells) +
                 f" | {100 * anyr / h:.0f}% | {p['never']} |" if h else f"| {lv} | {p['groups']} | 0% | - | - | - | - | 0 |")
    rg = saved["gates"]["regime"]
    L.append(f"\n**Regime gate ({'/'.join(HARD)} pooled): all-wrong {100 * rg['all_wrong']:.0f}% (need >= 50%), rescued "
             f"at some stage {100 * rg['rescued_any']:.0f}% of those (need >= 40%): {'PASS' if rg['pass'] else 'FAIL'}.**\n")

    L.append("## Gate 2: health (plain GRPO, every seed)\n")
    hg = saved["gates"].get("health")
    if hg:
        L.append("| no-hint accuracy | step 0 | last step | change (95% t-interval) | check |")
        L.append("|---|---|---|---|---|")
        for name, label in (("train/greedy", f"train levels {'/'.join(TRAIN_LEVELS)}, greedy"),
                            ("train/sampled", f"train levels, avg@{k}"), ("hard/greedy", "hard levels, greedy"),
                            ("hard/sampled", f"hard levels, avg@{k}"),
                            *[(f"easy/{lv}/{m}", f"easy {lv}, {'greedy' if m == 'greedy' else f'avg@{k}'}")
                              for lv in EASY for m in ("greedy", "sampled")]):
            v = hg[name]
            chk = hg["checks"].get(name)
            if chk is None:
                c = "-"
            elif "noise_2se" in chk:
                c = f"{'pass' if chk['pass'] else 'FAIL'} (interval above 0, gain above 2 SE = {100 * chk['noise_2se']:.1f})"
            else:
                c = f"{'pass' if chk['pass'] else 'FAIL'} (within 5 points)"
            L.append(f"| {label} | {_pct(v['start'])} | {_pct(v['end'])} | {_pct(v['delta'], True)} | {c} |")
        L.append(f"\n**Health gate: {'PASS' if hg['pass'] else 'FAIL'}.** Per-seed change on the training levels, greedy: "
                 + ", ".join(f"{100 * d:+.1f}" for d in hg["train/greedy"]["per_seed_delta"]) + ".\n")
    else:
        L.append("(not run yet)\n")

    if len(rows) > 1:
        L.append("## Comparison: hard levels, no hint (mean ± 95% t-interval over seeds)\n")
        if any(p.get("forced") for p in saved["parts"]):
            failed = [name for name, c in (hg or {}).get("checks", {}).items() if not c["pass"]]
            if not saved["gates"]["regime"]["pass"]:
                failed.insert(0, "regime")
            learns = hg and all(hg["checks"][n]["pass"] for n in ("train/greedy", "train/sampled"))
            L.append(f"**Run with `--force` although gate checks FAILED (see above: {', '.join(failed) or 'none now'}). "
                     + ("Plain GRPO does learn here (the training-level checks pass), so the comparison is between "
                        "arms that learn; the failed check(s) are forgetting on an easy level, read them with the "
                        "table.**\n" if learns else
                        "Plain GRPO does not improve held-out accuracy here, so the table cannot say whether GHPO helps "
                        "a healthy RL run; it is kept because it shows where the hint signal goes.**\n"))
        hdr = ["arm", "seeds", "hard greedy", "hard avg@k", "Δ greedy vs grpo", "Δ avg@k vs grpo",
               "hard greedy @ equal tokens", "hard avg@k @ equal tokens", "Δ greedy @ tokens", "train greedy",
               "easy Δ greedy", "easy Δ avg@k"]
        L.append("| " + " | ".join(h.replace("avg@k", f"avg@{k}") for h in hdr) + " |")
        L.append("|" + "---|" * len(hdr))
        for arm, r in rows.items():
            d = lambda key: _pct(r[key], True) if key in r else "-"  # noqa: E731
            L.append("| " + " | ".join([arm, str(r["n"]), f"**{_pct(r['hard/greedy'])}**", _pct(r["hard/sampled"]),
                                        d("diff/hard/greedy"), d("diff/hard/sampled"), _pct(r["hard/greedy@tokens"]),
                                        _pct(r["hard/sampled@tokens"]), d("diff/hard/greedy@tokens"),
                                        _pct(r["train/greedy"]), _pct(r["easy/greedy_delta"], True),
                                        _pct(r["easy/sampled_delta"], True)]) + " |")
        L.append(f"\nAfter {budget.steps} optimizer steps. 'Δ vs grpo': paired by seed (same seed = same data order "
                 f"and sampling seed). '@ equal tokens': accuracy interpolated on each run's evaluation curve at "
                 f"{summary['token_budget']:,} sampled completion tokens (the smallest total of any run, i.e. what "
                 "plain GRPO spends in all its steps). 'easy Δ': last minus step 0 (forgetting).\n")
        ablations = {arm: r for arm, r in rows.items() if "vs_staged/hard/greedy" in r}
        if ablations:
            L.append("Ablations of staged, paired by seed against staged itself (what changes when one setting "
                     "changes; 95% t-interval):\n")
            keys = ("hard/greedy", "hard/sampled", "hard/greedy@tokens", "hard/sampled@tokens")
            L.append(f"| arm | Δ greedy vs staged | Δ avg@{k} vs staged | Δ greedy @ equal tokens | "
                     f"Δ avg@{k} @ equal tokens | tokens vs staged |")
            L.append("|" + "---|" * 6)
            for arm, r in ablations.items():
                ratio = r["tokens"][0] / rows["staged"]["tokens"][0]
                L.append(f"| {arm} | " + " | ".join(_pct(r[f"vs_staged/{x}"], True) for x in keys) + f" | {ratio:.2f}x |")
            L.append("")
        third = _plateau_eval(saved["runs"][0]["evals"], budget)["step"]
        L.append(f"Plateau check, change over the last third of training (step {third} -> {budget.steps}; a "
                 "curve still rising by more than the noise has not plateaued): " + "; ".join(
                     f"{arm} greedy {_pct(r['hard/greedy_last_third'], True)}, avg@{k} "
                     f"{_pct(r['hard/sampled_last_third'], True)}" for arm, r in rows.items()) + ".\n")
        L.append("Per level, greedy, last step: " + "; ".join(
            f"{arm}: " + ", ".join(f"{lv} {_pct(r[f'greedy/{lv}'])}" for lv in EVAL_LEVELS) for arm, r in rows.items()) + ".\n")

        L.append("## Cost and guidance accounting (issue 11: same run, side by side)\n")
        hdr = ["arm", "sampled tokens", "tokens after round 1", "gen rounds / step", "train s", "frac_reward_zero_std",
               "hard frac", "rescued @0.25", "@0.5", "@0.75", "skipped stages"]
        L.append("| " + " | ".join(hdr) + " |")
        L.append("|" + "---|" * len(hdr))
        for arm, r in rows.items():
            L.append("| " + " | ".join([arm, _num(r["tokens"]), _num(r["extra_tokens"]), _num(r["gen_rounds"], "{:.2f}"),
                                        _num(r["train_s"]), _pct(r["zero_std"]), _pct(r["ghpo/hard_frac"]),
                                        _pct(r["rescue/0.25"]), _pct(r["rescue/0.5"]), _pct(r["rescue/0.75"]),
                                        _num(r["ghpo/skipped_stages"], "{:.2f}")]) + " |")
        L.append("\n'sampled tokens': every completion token sampled (first round, hint stages, refills), counted "
                 "in `_generate_single_turn`. 'tokens after round 1': sum of `ghpo/extra_completion_tokens` (hint "
                 "stages and dynamic sampling's refill batches). 'gen rounds': mean `ghpo/gen_rounds` (1 for grpo). "
                 "'train s': training wall time without evaluation, one torch thread per job; compare it across arms "
                 "only where the parts above ran with the same number of jobs at a similar load (tokens and rounds do "
                 "not depend on load). 'frac_reward_zero_std': TRL's share of groups whose final rewards have zero std "
                 "(no advantage), mean over steps. 'hard frac': `ghpo/hard_frac` over all training levels. "
                 "'rescued @w': share of hard groups first rescued at w.\n")

        L.append("## Where the signal goes\n")
        hdr = ["arm", f"{'/'.join(HARD)} groups all-wrong unhinted", "of those rescued", "advantage mass / step",
               "share from rescued groups", "next visit solved unhinted: after a rescue", "... after no rescue",
               "right answers with all steps right: unhinted", "... in rescued groups", "hints with the answer"]
        L.append("| " + " | ".join(hdr) + " |")
        L.append("|" + "---|" * len(hdr))
        for arm, r in rows.items():
            nv = lambda key: (f"{100 * r[key][0]:.0f}% of {r[key][1]}" if r[key][1] else "-")  # noqa: E731
            L.append("| " + " | ".join([arm, _pct(r["hard_levels_all_wrong"]), _pct(r["hard_levels_rescued"]),
                                        _num(r["adv_mass_per_step"], "{:.1f}"), _pct(r["adv_mass_rescued_share"]),
                                        nv("next_visit/rescued"), nv("next_visit/not_rescued"), nv("valid/round0"),
                                        nv("valid/rescued"),
                                        f"{r['answer_leaks']} of {r['hinted_groups']}"]) + " |")
        L.append("\nRead from every reward call of training (first call of a step = round 0 without hints, later "
                 "hinted calls = hint stages; a rescued group trains on its rescuing stage). 'advantage mass': sum over trained completions of |advantage| as TRL "
                 "computes it ((r - mean) / (std + 1e-4) per group); a group of equal rewards carries none. 'next "
                 "visit': when a training problem was all-wrong unhinted, was it solved (>= 1 of G) unhinted the next "
                 "time it was drawn? 'all steps right': share of right answers (reward 1) whose every scratchpad line "
                 "(hint included) is well formed and keeps the expression's value; the rest are lucky boxes after "
                 "wrong steps (100% by construction when the training reward is the stepwise one). 'hints with the answer': hinted groups whose hint is not a prefix of the worked "
                 "solution or reaches into its last step `= <answer>` (must be 0).\n")
        ex = [x for r in runs if r["arm"] == "staged" for x in r["groups"]["examples"]][:4]
        if ex:
            L.append("Rescued groups from the `staged` arm, read by eye (the hint is everything after the first line):\n")
            L.append("```")
            for x in ex:
                L.append(f"# step {x['step']}, gold {x['gold']}, {x['n_correct']}/{budget.num_generations} right")
                L.append(x["hinted_prompt"] + "|" + x["correct_completion"])
                L.append("")
            L.append("```")
            L.append("(`|` marks where the prompt ends and the sampled completion begins.)\n")

        primary = primary_measure(summary)
        if primary:
            L.append("## Primary measures\n")
            L.append(f"Issue 21's (declared before its runs): hard-level sampled accuracy (avg@{budget.avg_k}, no hint) "
                     "at equal sampled tokens (GRPO's), paired by seed, mean ± 95% t-interval over seeds:\n")
            for name, ms in primary.items():
                L.append(f"- {name}: {_pct(ms, signed=True)} points")
            L.append("\nIssue 28's family (`ghpo.organism.paired.PRIMARY`: avg@k and valid@k, every scratchpad line "
                     "right, at the pair's largest common budget; seed x problem bootstrap where per-problem outcomes "
                     "are recorded, else 'seeds only'; raw p here, Holm across the ladder in LADDER.md):\n")
            for row in paired_differences(runs, budget, PRIMARY):
                reading = ("n/a (not in these records)" if row["method"] == "n/a" else
                           f"{100 * row['mean']:+.1f} [{100 * row['lo']:+.1f}, {100 * row['hi']:+.1f}] points "
                           f"({row['method']}, p = {row['p']:.3f})")
                L.append(f"- {row['name']} (at {row['at_tokens']:.0f} sampled tokens): {reading}")
            L.append("")
        L.append("## Verdict\n")
        L.extend(verdict(summary, budget))
        L.append("")
    L.extend(saved.get("notes", []))
    L.append("\n![learning curves](organism_curves.png)\n")
    L.append("Left to right: hard-level no-hint accuracy vs optimizer steps (solid greedy, dashed sampled); the same "
             "(greedy) vs sampled completion tokens; easy level greedy (forgetting); TRL `frac_reward_zero_std`.\n")
    (out / "RESULTS.md").write_text("\n".join(L))


NOTES = [
    "## Notes from building v3 (measured while building it, not computed by the run above)\n",
    "Enough steps for GRPO to plateau (second session of 2026-11-28, same Intel machine and warm start, weights "
    "`8ad5aa5ad9f7`): `python benchmarks/organism_compare.py --part all --jobs 2 --steps 240 --arms staged --out "
    "docs/organism_240` (89.9 min; its report is `docs/organism_240/RESULTS.md`, the 120-step report "
    "`docs/RESULTS.md`). Training is deterministic on one machine: every run's evaluations "
    "up to step 120 equal the 120-step run's, so the 240-step runs continue those runs exactly.",
    "- Plain GRPO has plateaued by 240 steps on sampled accuracy: 5x1 avg@8 10.9 ± 1.6 at step 120 and 10.9 ± 0.2 at "
    "240 (change over steps 160-240 +0.8 ± 1.5). Its greedy accuracy is noisy (four of five seeds dip at step 160) and "
    "ends 1.8 points above step 120 (20.8 -> 22.6 ± 2.9; per seed +3 +6 +2 -3 +1).",
    "- Staged GHPO keeps learning where GRPO has stopped: 5x1 greedy 25.4 -> 30.0 ± 3.3, avg@8 13.0 -> 18.3 ± 1.6 "
    "(steps 160-240: +3.2 ± 1.9 sampled). Paired by seed at 240 steps: greedy +7.4 ± 4.7 and avg@8 +7.4 ± 1.8 "
    "(both BETTER); at equal sampled tokens (GRPO's 240-step total, which staged reaches near step 145): greedy "
    "+2.1 ± 5.5 (no difference), avg@8 +3.3 ± 2.0 (BETTER). Staged spends 1.66x GRPO's tokens per step, cuts "
    "`frac_reward_zero_std` from 65% to 17%, and forgets a little more (easy levels avg@8 -3.0 ± 1.3 vs -0.5 ± 0.9, "
    "greedy 4x1 98.4 vs 99.0; inside the 5-point limit). No hint held the answer (0 of 17,478 hinted groups).",
    "- So the 120-step verdict (a sampled win at equal steps only, nothing at equal tokens) measured a budget too short "
    "for hints to pay back their tokens: at 120 steps the equal-token point is GRPO's 120-step total, which staged "
    "reaches near step 67.",
    "- Load: CI (`CI=true bash .ci/run`, 17 min) ran alongside from the last GRPO seed to the first two staged seeds, "
    "so those runs' train s (grpo seed 4 654 s; staged seeds 0 / 1 1037 / 1065 s against 815 / 845 / 764 s for the "
    "others) are inflated; accuracies and token counts do not depend on load.",
    "- The staged-char and staged+coldstart arms ran at 120 steps only (ablations of staged table in the 120-step "
    "report: char vs token +1.4 ± 3.5 greedy, -0.1 ± 2.3 avg@8; cold start on vs off -0.0 ± 4.8, +0.2 ± 2.1).\n",
    "The first 2026-11-28 session's pilots (Intel Xeon @ 2.50GHz, 2 cores, nothing else running; 2 seeds each, avg@8):",
    "- SFT is not bit-reproducible across CPUs. The run before this one (commit `9a137f8`) was on an AMD EPYC with a "
    "300-row 5x1 glimpse. The same settings here (`--part gates --seeds 0 1 --jobs 2 --avg-k 8 --lr 5e-5 --steps 240 "
    "--glimpse 300`, 21 min with SFT) gave another warm start: greedy 4x1 96%, 5x1 8% (AMD: 99%, 9%), regime probe "
    "all-wrong 91%, rescued 68% (AMD: 79%, 79%), and plain GRPO had no signal: stepwise training reward 0.5-1.1% "
    "throughout, 5x1 greedy 8% -> 5% / 7%, avg@8 6.8 / 4.9% -> 5.1 / 7.4%. The JSON now records the warm start's "
    "weight hash, and a compare part refuses gates run from other weights.",
    "- The glimpse size is a knife edge: 600 / 1000 rows of 5x1 (`WarmStartSettings(sft_glimpse=((\"5x1\", n),))`, "
    "772 / 845 s each, built side by side) gave greedy 5x1 12% / 67%. 1000 makes 5x1 an easy level; 600 is the new "
    "default (regime probe: all-wrong 75%, rescued 85%).",
    "- On the 600-row warm start, plain GRPO, lr 1e-4, beta 0.2, 120 steps (`--part gates --seeds 0 1 --avg-k 8 "
    "--glimpse 600`): 5x1 greedy +7 / +7, avg@8 +3.1 / +1.4; 4x1 greedy 99% -> 99%, avg@8 -1.1 / -1.2. The 4x1 "
    "forgetting that failed the AMD gate (avg@8 -7.1 ± 1.8) did not appear on this warm start, whose 4x1 avg@8 starts "
    "at 94.9% (AMD: ~88%): fewer near-miss samples to lose.",
    "- Replay (`--replay 0.25`: a quarter of the training problems are unseen 4x1 problems, so TRL's KL term, taken "
    "on sampled completions only, also anchors an easy level): no help. 5x1 greedy +6 / +4, 4x1 greedy 99% -> 97% / "
    "97%, avg@8 -2.0 / -3.4 (why is not measured). Default 0.",
    "",
    "Earlier pilots, on a quiet AMD EPYC machine (2026-11-25 to 11-27) with the 300-row warm start; one seed each "
    "unless said, so each number is a single run; the commands use the flags of this script (`--glimpse`, "
    "`--reward`; add `--glimpse 300 --avg-k 2` for the defaults of then); SFT pilots built `WarmStartSettings(...)` "
    "with the fields named. Their warm starts cannot be rebuilt bit for bit on another CPU (above).",
    "- Why the first v3 run (80 steps, SFT 700 steps on 3000 rows, boxed reward, RL on 4x1 + 5x1) failed its health "
    "gate: that warm start made off-by-one sums (`= 5 - 7` / `= -1`; greedy 3x1 68%, 4x1 40%), so its errors were "
    "spread over every line and RL on 160 problems learnt them without transfer (held-out -1.9 ± 0.5 points).",
    "- SFT 2000 steps on 20000 rows (`sft_steps=2000, sft_rows=20000`, 306 s on 2 threads): greedy 2x1 93%, 3x1 100%, "
    "4x1 97%, but 5x1 2%, and hints stopped working: regime probe 5x1 all-wrong 88%, rescued 25% (FAIL). Read by "
    "eye, the model writes the number of terms it learnt per line position, whatever the prompt (`9 + 3 - 3 + 4 - 2` "
    "-> `= 8 - 4 - 8`), and continues a hinted first line with the wrong count as well.",
    "- A glimpse of 5x1 in SFT (`sft_glimpse=((\"5x1\", n),)`, added after balancing): n = 100: greedy 5x1 2%, probe "
    "all-wrong 71%, rescued 76%; but with the boxed reward plain GRPO did not learn (lr 3e-5 / 1e-4, 80 steps: 5x1 "
    "greedy 2% -> 2% / 3%; lr 1e-4 and 3e-4, 300 steps, 640 problems: 2% -> 4% / 5%, training reward flat at 0.04; "
    "3e-4 cost 4x1 25 points). Of 512 samples on its 5x1 training problems, 25 had the right box, 1 the right steps, "
    "0 the right first line: every reward was a lucky box. n = 300 (the default): greedy 2x1 97%, 3x1 100%, 4x1 "
    "99%, 5x1 9%, 6x1 3%; first line right in 401 of 512 samples, 45 right boxes, 17 of them with right steps.",
    "- Reward, n = 300, plain GRPO, lr 1e-4, 200 steps, 640 problems (`python benchmarks/organism_compare.py --part "
    "gates --seeds 0 --lr 1e-4 --steps 200 --train-rows 640 --reward boxed|steps --out /tmp/org/R...`): boxed: "
    "5x1 greedy 9% -> 18%, avg@2 6% -> 17%, 4x1 greedy 99% -> 87%; steps: 9% -> 30%, 6% -> 22.5%, 4x1 99% -> 90%. "
    "Regime probe: boxed all-wrong 58%, rescued 80%; steps 79%, 79%. The stepwise reward (a right box AND right "
    "lines) was kept: it is still binary and verifiable, it pays only the skill hints teach, and GRPO learnt about "
    "twice as fast with it. RL trains on 5x1 only (4x1 groups were all right: no advantage); 3x1 and 4x1 are the "
    "forgetting check, each level on its own.",
    "- Forgetting, plain GRPO, lr 1e-4, 160 steps, stepwise reward, seed 0 unless said: beta 0.04, RL on 5x1 "
    "(`--part gates --steps 160 --beta 0.04`, stopped after 2 seeds): 5x1 greedy 9% -> 26% / 25% (seeds 0 / 1), "
    "4x1 greedy 99% -> 89% / 93%. beta 0.04, RL on 4x1 + 5x1 (a copy of this script with TRAIN_LEVELS = 4x1, 5x1; "
    "not a flag): 5x1 greedy 9% -> 21%, 4x1 greedy 99% -> 100% but 4x1 avg@2 92.5% -> 84%. beta 0.2, RL on 5x1 "
    "(`--part gates --seeds 0 --steps 160 --beta 0.2 --out /tmp/org/Pd`): 5x1 greedy 9% -> 20%, avg@2 6% -> 14%, "
    "4x1 greedy 99% -> 97%, avg@2 92.5% -> 84%. beta 0.2 on 5x1 was kept and steps cut to 120 (the 5x1 curve was "
    "flat from step ~80); sampled 4x1 lost ~8 points in every setting tried, so that check may fail (see the gate).",
    "- More KL to hold 4x1 (2 seeds each, 120 steps, `--part gates --seeds 0 1 --beta B --jobs 2 --out /tmp/org/bB`; "
    "the same seeds at beta 0.2 in the full run: 5x1 greedy +13 / +13, 4x1 avg@2 -7.5 / -6.5): beta 0.3: 5x1 greedy "
    "+5 / +5, avg@2 +7 / +3.5, 4x1 avg@2 -4 / -3; beta 0.5: 5x1 greedy +6 / +3, avg@2 -1 / +2.5, 4x1 avg@2 -2 / -3. "
    "KL cuts the learning faster than the forgetting, so beta 0.2 was kept and the forgetting check left as measured.",
    "- Is the 4x1 forgetting real or avg@2 noise (± 4.5)? Read by eye after 120 GRPO steps (seed 0, 100 held-out 4x1 "
    "problems x 8 samples at T=1, a throw-away script): 87.1% -> 84.0%; the errors are the warm start's own kind, a "
    "slipped digit in one scratchpad line (94 -> 120 of 800 samples), not a new habit from 5x1. The health gate "
    "again with avg@8 (now `--part gates --avg-k 8 --jobs 2`; run at commit `3d06d2a`, where avg@8 was briefly the "
    "default, as the gates of `--part all`, stopped after them; 8.2 min; the training trajectories "
    "differ from the avg@2 run because each evaluation reseeds the sampler): 5x1 greedy +12.0 ± 5.6, avg@8 +7.6 ± "
    "2.0 (pass); 3x1 avg@8 -2.8 ± 0.7 (pass); 4x1 greedy -1.2 ± 1.0 (pass); **4x1 avg@8 -7.1 ± 1.8 (FAIL, per seed "
    "-5.9, -7.5, -6.1, -9.4, -6.5)**. The forgetting is real: sampled 4x1 loses about 7 points, beyond the limit.",
    "- Pilots to stop it, all `--part gates --seeds 0 1 --avg-k 8 --jobs 2` plus the flag named (seeds 0 / 1; the "
    "avg@8 gate run above for the same seeds: 5x1 greedy +16 / +12, 4x1 avg@8 -5.9 / -7.5): RL on 4x1 + 5x1 "
    "(`--train-levels 4x1 5x1`): 4x1 avg@8 -3.5 / -2.9 but 5x1 greedy only +6 / +8 (half the 5x1 prompts), and a "
    "level it trains on should not fall at all; `--adam-eps 1e-6` / `1e-5` (is it Adam's noise drift on weights "
    "with tiny gradients?): 4x1 avg@8 -8.2 / -5.0 and -9.4 / -7.7, no better; `--scale-rewards none` (Dr. GRPO: no "
    "division by the group's std): 4x1 avg@8 -1.3 / -0.9 but 5x1 greedy +4 / +2, because the policy gradient "
    "shrinks ~3x against the same KL (as beta 0.5 above); with `--scale-rewards none --beta 0.05` it learns again "
    "(5x1 greedy +15 / +12, avg@8 +11 / +11) and forgets more (4x1 avg@8 -17 / -11). On this 203k-parameter model "
    "every setting tried moves 5x1 learning and 4x1 sampled forgetting together.",
    "- A wider organism (`--part gates --seeds 0 1 --avg-k 8 --width 128 --jobs 2`, 29.4 min with its SFT: 800,128 "
    "parameters, SFT 2000 steps ~21 min on 2 threads, RL ~350 s a run): warm start greedy 3x1 100%, 4x1 99%, 5x1 5%; "
    "regime probe 5x1: 96 of 96 groups all-wrong, staged hints rescue 57% (@0.25 1, @0.5 37, @0.75 17). Plain GRPO "
    "has no signal at all (training reward 0.00 from step 20 on; 5x1 greedy 5% -> 5%) and forgets little (4x1 "
    "avg@8 -1.8 / -2.4). This is the regime GHPO is for (only hints give any advantage), but it fails the health "
    "gate by construction; a larger 5x1 glimpse in SFT is the next thing to try there.",
    "- Width 128 with an 800-row glimpse (`... --width 128 --glimpse 800`, 30.0 min with its SFT): warm start 3x1 "
    "100%, 4x1 99%, 5x1 greedy 14% (2x1 fell to 58%: not an evaluated level); regime probe 5x1 all-wrong 77%, "
    "rescued 89% (@0.25 30, @0.5 33, @0.75 3), the best regime so far. Plain GRPO at lr 1e-4, beta 0.2, 120 steps "
    "barely learns (training reward 0.02-0.06; 5x1 greedy 14% -> 11% / 7%, avg@8 8.6 / 8.0% -> 10.0 / 10.8%) and "
    "forgets little (4x1 avg@8 -1.8 / -0.1). Untried there: more steps or a higher lr.",
    "- 6x1 stays out of training: a scratchpad needs ~75 completion tokens against ~57 for 5x1 (tokens are the CPU "
    "budget), and the old warm start's probe rescued only 21% of its all-wrong groups.",
    "- Token vs char unit: the organism's tokenizer has one token per character, so the two units cut at the same "
    "place except that the token unit backs off to a word boundary (a char cut may end inside a number: `= 1` of "
    "`= 15`). A staged-char arm measures exactly that, not a subword-vs-char difference.",
    "- Hints never reach the last scratchpad line `= <answer>` (ghpo.guidance, issue 9: the cut stops before the "
    "last reasoning step); the 'hints with the answer' column checks every hinted group of every run.",
]
