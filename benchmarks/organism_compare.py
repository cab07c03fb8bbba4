"""Does GHPO help vs GRPO, and at what cost? The model organism on a CPU, several seeds, ablations.

Every arm starts from the same cached warm start (``ghpo.organism.warm_start``: a tiny char-level Llama fine-tuned
with TRL's SFTTrainer on the easy levels only), trains on the same mixed-level data for the same number of optimizer
steps, and is evaluated WITHOUT hints on held-out problems per level (greedy pass@1 and sampled avg@k) every K steps.

Arms (all GHPOTrainer; only the guidance settings differ):
  grpo              hint_schedule="none" (plain GRPO)
  fixed-0.5         one hint stage at w = 0.5 (GRPO-CL-H(0.5)-like)
  staged            the paper's 0.25 / 0.5 / 0.75, hints cut in policy tokens
  staged+memory     staged with hint_memory=True
  staged+coldstart  staged, hints only after hint_start_step
  staged-char       staged, hints cut in characters (official code's unit)

Cost accounting: every sampled completion token is counted at the source (``_generate_single_turn``), so hint-stage
rollouts that are thrown away count too; ``ghpo/extra_completion_tokens`` is cross-checked against it. Wall time is
training time with evaluation time subtracted. An overhead section times plain ``trl.GRPOTrainer`` against
GHPOTrainer (hints off / on) on identical data and seeds.

Writes <out>/RESULTS.md, <out>/organism_curves.png and <out>/organism_results.json.

    python benchmarks/organism_compare.py            # full run, writes docs/ (~1 h budget on 2 CPU cores)
    python benchmarks/organism_compare.py --quick --out /tmp/organism   # smoke test, ~2 min
"""

from __future__ import annotations

import argparse
import json
import logging
import math
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
import warnings
from dataclasses import asdict, dataclass, replace
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

import datasets  # noqa: E402
import torch  # noqa: E402
import transformers  # noqa: E402
import trl  # noqa: E402
from transformers import AutoModelForCausalLM, AutoTokenizer, PrinterCallback, TrainerCallback  # noqa: E402

from ghpo.organism import (  # noqa: E402
    EASY_LEVELS,
    HINT_TEMPLATE,
    EvalCallback,
    WarmStartSettings,
    eval_rows,
    load_warm_start,
    make_rows,
    warm_start,
)
from ghpo.organism.warmstart import STAMP, warm_start_dir  # noqa: E402
from ghpo.rewards import accuracy_reward  # noqa: E402
from ghpo.trainer import GHPOConfig, GHPOTrainer  # noqa: E402

ARMS: dict[str, dict] = {
    "grpo": dict(hint_schedule="none"),
    "fixed-0.5": dict(hint_schedule="fixed", hint_ratios=[0.5]),
    "staged": dict(hint_schedule="staged"),
    "staged+memory": dict(hint_schedule="staged", hint_memory=True),
    "staged+coldstart": dict(hint_schedule="staged"),  # hint_start_step set from the budget
    "staged-char": dict(hint_schedule="staged", hint_unit="char"),
}
# The benchmark's own level choice (6x1 needs ~65 completion tokens; dropped to keep rollouts short on a CPU).
BENCH_EASY = EASY_LEVELS  # SFT levels: forgetting check
BENCH_HARD = ("4x1", "5x1")  # never seen in SFT: longer chains than it was taught
EVAL_LEVELS = BENCH_EASY + BENCH_HARD
TRAIN_LEVELS = ("3x1", *BENCH_HARD)  # one level it can do, two it (almost) cannot


@dataclass
class Budget:
    """Sizes of one benchmark run (the full run and --quick differ only here)."""

    seeds: tuple[int, ...] = (0, 1, 2)
    steps: int = 48  # optimizer steps per arm
    prompts_per_step: int = 4  # B prompts x G completions per optimizer step
    num_generations: int = 8  # G
    max_completion_length: int = 56
    learning_rate: float = 5e-5  # 2e-4 lost 3x1 (97% -> 57% in 20 GRPO steps); see NOTES
    eval_every: int = 12
    eval_per_level: int = 30  # taken from the warm start's held-out set (never seen in SFT or RL)
    avg_k: int = 2
    train_rows: int = 48  # small on purpose: 48 steps x 4 prompts draw each problem ~4 times (hint_memory can act)
    coldstart_steps: int = 12
    overhead_steps: int = 5
    warm: WarmStartSettings = WarmStartSettings()


NOTES = [
    "- Sizing: the machine (2 cores) was shared with other jobs during development; one SFT step of a 0.8M-parameter "
    "model took ~2.5 s there, so the policy was cut to ~0.2M parameters (3 x 64). It was kept at that size in the "
    "re-budgeted run: the RL budget (48 steps x 6 arms x 3 seeds) had to fit ~35 minutes on the same shared machine, "
    "and a larger model would have cost optimizer steps. One torch thread was measured faster than two under that "
    "contention (0.2 s vs 0.35 s per forward+backward).",
    "- Learning rate, chosen on plain GRPO only (3x1 retention) and used for every arm: lr 1e-3 (a first v1 run) "
    "lost 3x1 entirely in 10 steps; with the v2 warm start, lr 2e-4 took 3x1 from 97% to 57% in 20 GRPO steps (and "
    "GRPO on 3x1 problems alone saw its mean reward fall 0.81 -> 0.47 in 10 steps, plain `trl.GRPOTrainer` "
    "identically), lr 5e-5 to 87%, lr 2e-5 to 90% after 10 steps. Adam moves every weight by ~lr per step "
    "whatever the gradient's size, and the 32-sample policy gradient is mostly noise for this sharply fitted tiny "
    "model, so larger steps erase what SFT taught. lr 5e-5 is used; nothing else was tuned.",
    "- Warm start v2 balances SFT across the easy levels: 2x1 has only 162 distinct problems (112 after removing "
    "held-out ones), so the v1 round-robin set was ~96% 3x1 and the v1 policy solved 2x1 only 4% of the time. v2 "
    "repeats the 2x1 problems up to 3x1's count (`balance_levels`).",
    "- Hints are appended as `{hint}\\n` right after the prompt, not with the paper's sentence: a ~0.2M-parameter "
    "model fine-tuned on plain prompts cannot read an English instruction, and this way a hinted prompt is a "
    "prefix of the worked solution it learnt to continue.",
    "- The previous committed run (v1 warm start, 10 steps per arm, 300 training problems) was inconclusive: every "
    "arm ended at 0-2% on 4x1/5x1, and staged+memory equalled staged because no problem recurred. This run gives "
    "each arm 48 steps and uses a 48-problem training set so problems recur.",
    "- Why the hard levels do not move (read from this run's tables): 86% of hard groups were never rescued by any "
    "hint stage and only ~1% were rescued at 0.75. Looking at the warm start's greedy outputs on 6 held-out 4x1/5x1 "
    "problems: unhinted, it writes `\\boxed{guess}` at once with no steps; given every step but the last as the "
    "hint, it boxes the running value instead of writing the last step (it never saw a third step in SFT). So hints rarely turn an all-wrong group into a learning signal here, and the few that "
    "do (mostly at 0.25, some of them lucky answers) did not add up to a measurable no-hint gain in 48 steps. The "
    "organism shows the capacity-difficulty mismatch but not a regime where hints close it.",
    "- staged+memory differs from staged only slightly (identical for seeds 0 and 1): `HintMemory` starts a "
    "recurring problem one stage below the stage that last rescued it, so it can only skip a stage for problems "
    "last rescued at 0.75, about 1% of hard groups here, although each training problem recurred ~4 times.",
]

QUICK = Budget(seeds=(0,), steps=2, eval_every=2, eval_per_level=4, avg_k=2, train_rows=12, coldstart_steps=1,
               overhead_steps=2, warm=WarmStartSettings(sft_steps=20, sft_rows=400, eval_per_level=4, eval_k=0))


# ----------------------------------------------------------------------------------------------------- training
def held_out_rows(budget: Budget) -> list[dict]:
    """``eval_per_level`` problems per level of EVAL_LEVELS from the warm start's own held-out set, which SFT
    excluded: evaluation never sees a problem from SFT (2x1 has only 162 problems, so a fresh draw would overlap)."""
    ws = budget.warm
    if budget.eval_per_level > ws.eval_per_level:
        raise ValueError(f"eval_per_level {budget.eval_per_level} > the warm start's held-out {ws.eval_per_level}")
    pool = eval_rows(ws.eval_levels, ws.eval_per_level)
    return [r for lv in EVAL_LEVELS for r in [x for x in pool if x["level"] == lv][: budget.eval_per_level]]


class _CountTokens:
    """Mixin: counts every sampled completion token (first round and hint stages) and times optimizer steps."""

    def __init__(self, *a, **k):
        super().__init__(*a, **k)
        self.sampled_tokens = 0
        self.sampled_tokens_by_step: list[int] = []

    def _generate_single_turn(self, prompt_ids, *a, **k):
        completion_ids, logprobs = super()._generate_single_turn(prompt_ids, *a, **k)
        self.sampled_tokens += sum(len(c) for c in completion_ids)
        return completion_ids, logprobs


class CountingGHPOTrainer(_CountTokens, GHPOTrainer):
    pass


class CountingGRPOTrainer(_CountTokens, trl.GRPOTrainer):
    pass


class StepClock(TrainerCallback):
    """Per-step wall time and cumulative sampled tokens (read from the trainer at each step end)."""

    def __init__(self):
        self.trainer = None
        self.step_s: list[float] = []
        self.tokens: list[int] = [0]  # cumulative sampled tokens after step i (index 0: before training)
        self._t0 = 0.0

    def on_step_begin(self, args, state, control, **kw):
        self._t0 = time.perf_counter()

    def on_step_end(self, args, state, control, **kw):
        self.step_s.append(time.perf_counter() - self._t0)  # evaluation runs after this, in EvalCallback
        self.tokens.append(self.trainer.sampled_tokens)


def _config(budget: Budget, seed: int, out: str, cls=GHPOConfig, steps: int | None = None, **guidance) -> object:
    kw = dict(
        output_dir=out, max_steps=steps or budget.steps, per_device_train_batch_size=budget.prompts_per_step * budget.num_generations,
        num_generations=budget.num_generations, max_completion_length=budget.max_completion_length,
        learning_rate=budget.learning_rate, lr_scheduler_type="constant", warmup_steps=0, temperature=1.0,
        logging_steps=1, report_to="none", save_strategy="no", use_cpu=True, bf16=False, seed=seed,
        disable_tqdm=True, dataloader_num_workers=0,
    )
    if cls is GHPOConfig:
        kw.update(hint_column="solution_hint", hint_template=HINT_TEMPLATE, **guidance)
    return cls(**kw)


def train_arm(model_dir, train_ds, eval_rows, budget: Budget, seed: int, arm: str, log) -> dict:
    guidance = dict(ARMS[arm])
    if arm == "staged+coldstart":
        guidance["hint_start_step"] = budget.coldstart_steps
    tok = AutoTokenizer.from_pretrained(model_dir)
    model = AutoModelForCausalLM.from_pretrained(model_dir)
    with tempfile.TemporaryDirectory() as tmp:
        args = _config(budget, seed, tmp, **guidance)
        ev = EvalCallback(tok, eval_rows, budget.eval_every, budget.max_completion_length, k=budget.avg_k, seed=seed)
        clock = StepClock()
        trainer = CountingGHPOTrainer(model=model, reward_funcs=[accuracy_reward], args=args, train_dataset=train_ds,
                                      processing_class=tok, callbacks=[clock, ev])
        clock.trainer = trainer
        trainer.remove_callback(PrinterCallback)
        t0 = time.perf_counter()
        trainer.train()
        wall = time.perf_counter() - t0
    steps = [h for h in trainer.state.log_history if "ghpo/hard_frac" in h or "completions/mean_length" in h]
    for r in ev.records:
        r["tokens"] = clock.tokens[r["step"]]
    result = {
        "arm": arm, "seed": seed, "evals": ev.records, "train_s": wall - ev.eval_seconds, "eval_s": ev.eval_seconds,
        "step_s": clock.step_s, "tokens_by_step": clock.tokens, "sampled_tokens": trainer.sampled_tokens,
        "log": [{k: v for k, v in h.items() if k.startswith(("ghpo/", "completions/", "rewards/", "reward"))}
                for h in steps],
    }
    last = ev.records[-1]
    log(f"  {arm:17s} seed {seed}: train {result['train_s']:.0f}s eval {result['eval_s']:.0f}s tokens "
        f"{trainer.sampled_tokens} | greedy " + " ".join(f"{lv}={last[f'greedy/{lv}']:.2f}" for lv in EVAL_LEVELS))
    return result


def overhead(model_dir, easy_ds, mixed_ds, budget: Budget, log) -> dict:
    """Plain trl.GRPOTrainer vs GHPOTrainer (hints off, hints on) on identical data and seed; median step time."""
    tok = AutoTokenizer.from_pretrained(model_dir)
    out = {}
    runs = [
        ("easy", "trl", None), ("easy", "ghpo-none", "none"), ("easy", "ghpo-staged", "staged"),
        ("mixed", "trl", None), ("mixed", "ghpo-staged", "staged"),
    ]
    for data_name, name, schedule in runs:
        ds = easy_ds if data_name == "easy" else mixed_ds
        model = AutoModelForCausalLM.from_pretrained(model_dir)
        with tempfile.TemporaryDirectory() as tmp:
            if schedule is None:
                args = _config(budget, 0, tmp, cls=trl.GRPOConfig, steps=budget.overhead_steps)
                cls = CountingGRPOTrainer
            else:
                args = _config(budget, 0, tmp, steps=budget.overhead_steps, hint_schedule=schedule)
                cls = CountingGHPOTrainer
            clock = StepClock()
            trainer = cls(model=model, reward_funcs=[accuracy_reward], args=args, train_dataset=ds,
                          processing_class=tok, callbacks=[clock])
            clock.trainer = trainer
            trainer.remove_callback(PrinterCallback)
            trainer.train()
        hard = [h["ghpo/hard_frac"] for h in trainer.state.log_history if "ghpo/hard_frac" in h]
        timed = clock.step_s[1:] or clock.step_s  # the first step pays one-off start-up costs
        out[f"{data_name}/{name}"] = {
            "median_step_s": statistics.median(timed), "sampled_tokens": trainer.sampled_tokens,
            "hard_frac": statistics.mean(hard) if hard else None,
        }
        log(f"  overhead {data_name:5s} {name:12s} median step {out[f'{data_name}/{name}']['median_step_s']:.2f}s "
            f"tokens {trainer.sampled_tokens}")
    return out


# ----------------------------------------------------------------------------------------------------- analysis
def _ms(values) -> tuple[float, float]:
    values = [v for v in values if v is not None and not (isinstance(v, float) and math.isnan(v))]
    if not values:
        return float("nan"), float("nan")
    return statistics.mean(values), (statistics.stdev(values) if len(values) > 1 else 0.0)


def _fmt(ms, pct=True) -> str:
    m, s = ms
    if math.isnan(m):
        return "-"
    return f"{100 * m:.1f} ± {100 * s:.1f}" if pct else f"{m:.0f} ± {s:.0f}"


def _hard_mean(rec: dict, prefix: str = "greedy") -> float:
    return statistics.mean(rec[f"{prefix}/{lv}"] for lv in BENCH_HARD)


def _at_tokens(evals: list[dict], budget_tokens: float, key) -> float:
    """Accuracy interpolated linearly in cumulative sampled tokens at ``budget_tokens``."""
    pts = [(r["tokens"], key(r)) for r in evals]
    for (t0, a0), (t1, a1) in zip(pts, pts[1:]):
        if t0 <= budget_tokens <= t1:
            return a0 if t1 == t0 else a0 + (a1 - a0) * (budget_tokens - t0) / (t1 - t0)
    return pts[-1][1]


def summarise(runs: list[dict], arms: list[str], budget: Budget) -> dict:
    by_arm = {a: [r for r in runs if r["arm"] == a] for a in arms}
    token_budget = min(r["sampled_tokens"] for r in runs)  # every run reached it
    rows = {}
    for arm, rs in by_arm.items():
        last = [r["evals"][-1] for r in rs]
        row = {f"greedy/{lv}": _ms([e[f"greedy/{lv}"] for e in last]) for lv in EVAL_LEVELS}
        row["greedy/hard"] = _ms([_hard_mean(e) for e in last])
        row[f"avg@{budget.avg_k}/hard"] = _ms([_hard_mean(e, f"avg@{budget.avg_k}") for e in last])
        row[f"avg@{budget.avg_k}/all"] = _ms([e[f"avg@{budget.avg_k}/all"] for e in last])
        row["greedy/hard@tokens"] = _ms([_at_tokens(r["evals"], token_budget, _hard_mean) for r in rs])
        row["greedy/all@tokens"] = _ms([_at_tokens(r["evals"], token_budget, lambda e: e["greedy/all"]) for r in rs])
        row["tokens"] = _ms([r["sampled_tokens"] for r in rs])
        row["extra_tokens"] = _ms([sum(h.get("ghpo/extra_completion_tokens", 0.0) for h in r["log"]) for r in rs])
        row["train_s"] = _ms([r["train_s"] for r in rs])
        row["step_s"] = _ms([statistics.median(r["step_s"]) for r in rs])
        row["hard_frac"] = _ms([_mean_metric(r, "ghpo/hard_frac") for r in rs])
        for w in ("0.25", "0.5", "0.75"):
            row[f"rescue/{w}"] = _ms([_rescue_rate(r, w) for r in rs])
        row["unsolved"] = _ms([_ratio_of_sums(r, "ghpo/unsolved_frac") for r in rs])
        rows[arm] = row
    return {"rows": rows, "token_budget": token_budget}


def _mean_metric(run: dict, key: str) -> float | None:
    values = [h[key] for h in run["log"] if key in h]
    return statistics.mean(values) if values else None


def _ratio_of_sums(run: dict, key: str) -> float | None:
    """Sum of a per-step fraction over steps divided by the summed hard fraction: a share of hard groups."""
    hard = sum(h.get("ghpo/hard_frac", 0.0) for h in run["log"])
    if not hard or not any(key in h for h in run["log"]):
        return None
    return sum(h.get(key, 0.0) for h in run["log"]) / hard


def _rescue_rate(run: dict, ratio: str) -> float | None:
    return _ratio_of_sums(run, f"ghpo/rescued_frac/{ratio}")


def plot(runs, arms, budget, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 3, figsize=(15, 4.2))
    for arm in arms:
        rs = [r for r in runs if r["arm"] == arm]
        steps = [e["step"] for e in rs[0]["evals"]]
        hard = [statistics.mean(_hard_mean(r["evals"][i]) for r in rs) for i in range(len(steps))]
        easy = [statistics.mean(statistics.mean(r["evals"][i][f"greedy/{lv}"] for lv in EASY_LEVELS) for r in rs)
                for i in range(len(steps))]
        tokens = [statistics.mean(r["evals"][i]["tokens"] for r in rs) for i in range(len(steps))]
        axes[0].plot(steps, hard, marker="o", label=arm)
        axes[1].plot(tokens, hard, marker="o", label=arm)
        axes[2].plot(steps, easy, marker="o", label=arm)
    axes[0].set(title=f"hard levels {'/'.join(BENCH_HARD)}, greedy, no hint", xlabel="optimizer step", ylabel="accuracy")
    axes[1].set(title="same, vs generated tokens", xlabel="sampled completion tokens (incl. hint stages)")
    axes[2].set(title=f"easy levels {'/'.join(EASY_LEVELS)}, greedy", xlabel="optimizer step")
    for ax in axes:
        ax.grid(alpha=0.3)
    axes[0].legend(fontsize=8)
    fig.suptitle(f"GHPO organism: mean over {len(budget.seeds)} seed(s)")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


# ----------------------------------------------------------------------------------------------------- report
def _git_commit() -> str:
    try:
        return subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, check=True,
                              cwd=Path(__file__).resolve().parent).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def _cpu_name() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def verdict(summary: dict, budget: Budget) -> list[str]:
    rows = summary["rows"]
    if "grpo" not in rows or "staged" not in rows:
        return ["(verdict needs the grpo and staged arms)"]
    g, s = rows["grpo"], rows["staged"]
    lines = []
    for key, what in (("greedy/hard", "at equal optimizer steps"), ("greedy/hard@tokens", "at equal generated tokens")):
        d = s[key][0] - g[key][0]
        noise = math.sqrt(s[key][1] ** 2 + g[key][1] ** 2) / math.sqrt(max(1, len(budget.seeds)))
        if abs(d) <= max(2 * noise, 0.01):
            word = "does NOT clearly beat GRPO (difference within seed noise)"
        elif d > 0:
            word = "beats GRPO"
        else:
            word = "is WORSE than GRPO"
        lines.append(f"- Hard-level greedy accuracy {what}: GHPO (staged) {100 * s[key][0]:.1f}% vs GRPO "
                     f"{100 * g[key][0]:.1f}% ({100 * d:+.1f} points; 2x std-error of the difference "
                     f"{200 * noise:.1f}): GHPO {word}.")
    best = max(rows, key=lambda a: rows[a]["greedy/hard"][0])
    lines.append(f"- Best arm on hard levels at equal steps: **{best}** ({100 * rows[best]['greedy/hard'][0]:.1f}%).")
    tok_ratio = s["tokens"][0] / g["tokens"][0]
    time_ratio = s["train_s"][0] / g["train_s"][0]
    lines.append(f"- Cost: staged GHPO sampled {tok_ratio:.2f}x the completion tokens of GRPO and took {time_ratio:.2f}x "
                 f"its training wall time for the same {budget.steps} optimizer steps.")
    return lines


def write_results(out: Path, command: str, budget: Budget, warm_info: dict, runs, arms, summary, over, total_s,
                  commit: str | None = None) -> None:
    rows = summary["rows"]
    k = budget.avg_k
    L = []
    L.append("# GHPO vs GRPO on the CPU model organism\n")
    L.append("Written by `benchmarks/organism_compare.py`; do not edit by hand. Re-run the command to refresh.\n")
    L.append("```\n" + command + "\n```\n")
    L.append(f"- Machine: {os.cpu_count()} CPU cores ({_cpu_name()}), torch threads {torch.get_num_threads()}, "
             f"Python {platform.python_version()}, torch {torch.__version__}, transformers {transformers.__version__}, "
             f"trl {trl.__version__}, git commit `{commit or _git_commit()}`.")
    built = warm_info.get("built_this_run")
    sft_note = ("included: the warm start was built in this run" if built else
                "excluded: the warm start came from the cache" if built is not None else "cache status not recorded")
    L.append(f"- Total wall time of this run: {total_s / 60:.1f} min (warm start SFT {warm_info.get('sft_seconds', 0):.0f} s, "
             f"{sft_note}). The machine was shared with other jobs, so timings are noisy.")
    ws = warm_info["settings"]
    L.append(f"- Policy: Llama {ws['layers']} layers x {ws['hidden_size']} hidden, {warm_info['n_params']:,} parameters, "
             f"character-level tokenizer (100 tokens). Warm start: TRL `SFTTrainer`, {ws['sft_steps']} steps x "
             f"{ws['sft_batch_size']} on levels {', '.join(ws['sft_levels'])} only ({warm_info['sft_rows']} rows"
             + (", balanced: " + ", ".join(f"{lv} {n} rows of {warm_info['sft_distinct_per_level'][lv]} distinct problems"
                                           for lv, n in warm_info["sft_rows_per_level"].items())
                if "sft_rows_per_level" in warm_info else "") + ").")
    L.append(f"- RL: {budget.steps} optimizer steps x {budget.prompts_per_step} prompts x G={budget.num_generations}, "
             f"max {budget.max_completion_length} completion tokens, lr {budget.learning_rate} constant, temperature 1, "
             f"TRL defaults otherwise (loss `dapo`, beta 0). Training data: {budget.train_rows} problems, levels "
             f"{', '.join(TRAIN_LEVELS)} round-robin, each problem drawn "
             f"~{budget.steps * budget.prompts_per_step / budget.train_rows:.1f} times in {budget.steps} steps (so "
             f"hint_memory can act). Arms: {', '.join(arms)}. Seeds {list(budget.seeds)}. Hint template `{{hint}}\\n` appended "
             "after the prompt (a hinted prompt is a prefix of the worked solution). Reward: `ghpo.rewards.accuracy_reward`.")
    L.append(f"- Evaluation: held-out problems ({budget.eval_per_level} per level from the warm start's held-out set: "
             "never seen in SFT or RL), NO hint, greedy "
             f"pass@1 and avg@{k} (temperature 1), every {budget.eval_every} steps. Level `AxD` = A one-digit terms "
             "(A-1 reasoning steps).\n")

    L.append("## Starting checkpoint: the capacity-difficulty mismatch\n")
    sa = warm_info["start_accuracy"]
    levels = ws["eval_levels"]
    L.append("| level | " + " | ".join(levels) + " |")
    L.append("|---|" + "---|" * len(levels))
    L.append("| greedy no-hint accuracy | " + " | ".join(f"{100 * sa[f'greedy/{lv}']:.0f}%" for lv in levels) + " |")
    sk = ws.get("eval_k", 0)
    if sk and f"avg@{sk}/{levels[0]}" in sa:
        L.append(f"| avg@{sk} (temperature 1) | " + " | ".join(f"{100 * sa[f'avg@{sk}/{lv}']:.0f}%" for lv in levels) + " |")
    L.append(f"\n({ws['eval_per_level']} held-out problems per level; SFT saw {', '.join(ws['sft_levels'])} only.)\n")

    L.append("## Results (mean ± std over seeds, accuracy in %, after the last step)\n")
    hdr = ["arm", *[f"{lv}" for lv in EVAL_LEVELS], "hard mean", f"hard avg@{k}",
           "hard mean @ equal tokens", "sampled tokens", "train s"]
    L.append("| " + " | ".join(hdr) + " |")
    L.append("|" + "---|" * len(hdr))
    for arm in arms:
        r = rows[arm]
        L.append("| " + " | ".join([arm, *[_fmt(r[f"greedy/{lv}"]) for lv in EVAL_LEVELS], f"**{_fmt(r['greedy/hard'])}**",
                                    _fmt(r[f"avg@{k}/hard"]), _fmt(r["greedy/hard@tokens"]), _fmt(r["tokens"], False),
                                    _fmt(r["train_s"], False)]) + " |")
    L.append(f"\nPer-level columns: greedy pass@1 with no hint. 'hard mean': mean over {', '.join(BENCH_HARD)}. "
             f"'@ equal tokens': hard mean interpolated at {summary['token_budget']:,} sampled tokens (the smallest "
             "total of any run), on the evaluation curve against cumulative sampled tokens.\n")
    # start point for reference
    start = [r["evals"][0] for r in runs]
    L.append(f"Starting point (step 0, same for every arm): hard mean {_fmt(_ms([_hard_mean(e) for e in start]))}.\n")

    L.append("## Guidance and cost accounting\n")
    hdr = ["arm", "hard frac", "rescued @0.25", "rescued @0.5", "rescued @0.75", "never rescued",
           "hint-stage tokens", "all sampled tokens", "median step s"]
    L.append("| " + " | ".join(hdr) + " |")
    L.append("|" + "---|" * len(hdr))
    for arm in arms:
        r = rows[arm]
        L.append("| " + " | ".join([arm, _fmt(r["hard_frac"]), _fmt(r["rescue/0.25"]), _fmt(r["rescue/0.5"]),
                                    _fmt(r["rescue/0.75"]), _fmt(r["unsolved"]), _fmt(r["extra_tokens"], False),
                                    _fmt(r["tokens"], False), f"{r['step_s'][0]:.2f}"]) + " |")
    L.append("\n'hard frac': share of groups all-wrong before hints (mean over steps; logged by GHPO arms, so `-` for "
             "grpo). 'rescued @w': share of hard groups first rescued at ratio w; 'never rescued': share no stage "
             "rescued. 'hint-stage tokens': sum of `ghpo/extra_completion_tokens`. 'all sampled tokens': every "
             "completion token sampled (first round + hint stages), counted in `_generate_single_turn`.\n")

    L.append("## Overhead vs plain TRL\n")
    L.append(f"Same data and seed, {budget.overhead_steps} steps each, median step time over steps 2..n. 'easy': levels "
             f"{', '.join(EASY_LEVELS)} (few or no hard groups); 'mixed': the training mix.\n")
    L.append("| data | trainer | median step s | ratio vs trl | sampled tokens | token ratio vs trl | hard frac |")
    L.append("|---|---|---|---|---|---|---|")
    for key, v in over.items():
        data_name, name = key.split("/")
        base = over[f"{data_name}/trl"]
        hf = "-" if v["hard_frac"] is None else f"{100 * v['hard_frac']:.0f}%"
        L.append(f"| {data_name} | {name} | {v['median_step_s']:.2f} | {v['median_step_s'] / base['median_step_s']:.2f}x | "
                 f"{v['sampled_tokens']:,} | {v['sampled_tokens'] / base['sampled_tokens']:.2f}x | {hf} |")
    L.append("")

    L.append("## Verdict\n")
    L.extend(verdict(summary, budget))
    L.append("")
    L.append("## Notes from building this benchmark (not computed by this run)\n")
    L.extend(NOTES)
    L.append("")
    L.append("![learning curves](organism_curves.png)\n")
    L.append("Left: hard-level no-hint greedy accuracy vs optimizer steps; middle: the same vs sampled tokens "
             "(hint stages included); right: easy levels (forgetting check).\n")
    (out / "RESULTS.md").write_text("\n".join(L))


# ----------------------------------------------------------------------------------------------------- main
def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--quick", action="store_true", help="Smoke test: 1 seed, 2 steps, tiny SFT and eval (~2 min).")
    p.add_argument("--out", default="docs", help="Folder for RESULTS.md, organism_curves.png, organism_results.json.")
    p.add_argument("--seeds", type=int, nargs="+", default=None, help="Seeds (default 0 1 2; --quick: 0).")
    p.add_argument("--steps", type=int, default=None, help="Optimizer steps per arm (default 10; --quick: 2).")
    p.add_argument("--arms", nargs="+", default=list(ARMS), choices=list(ARMS), help="Arms to run (default all).")
    p.add_argument("--report-only", action="store_true",
                   help="Rewrite RESULTS.md and the PNG from <out>/organism_results.json without training.")
    p.add_argument("--threads", type=int, default=1,
                   help="torch threads (default 1: measured fastest for this tiny model on a shared 2-core CPU).")
    a = p.parse_args(argv)

    budget = QUICK if a.quick else Budget()
    if a.seeds:
        budget = replace(budget, seeds=tuple(a.seeds))
    if a.steps:
        budget = replace(budget, steps=a.steps)
    torch.set_num_threads(a.threads)
    datasets.disable_progress_bars()
    transformers.logging.set_verbosity_error()
    logging.getLogger("ghpo.arith").setLevel(logging.ERROR)
    warnings.filterwarnings("ignore")
    out = Path(a.out)
    out.mkdir(parents=True, exist_ok=True)
    command = "python benchmarks/organism_compare.py " + " ".join(argv if argv is not None else sys.argv[1:])

    def log(msg):
        print(msg, flush=True)

    if a.report_only:
        saved = json.loads((out / "organism_results.json").read_text())
        b = dict(saved["budget"])
        b["warm"] = WarmStartSettings(**{k: tuple(v) if isinstance(v, list) else v for k, v in b["warm"].items()})
        budget = Budget(**{k: tuple(v) if k == "seeds" else v for k, v in b.items()})
        arms = [arm for arm in ARMS if any(r["arm"] == arm for r in saved["runs"])]
        summary = summarise(saved["runs"], arms, budget)
        plot(saved["runs"], arms, budget, out / "organism_curves.png")
        write_results(out, saved.get("command", "python benchmarks/organism_compare.py"), budget, saved["warm_start"], saved["runs"], arms, summary,
                      saved["overhead"], saved["total_s"], commit=saved.get("git_commit"))
        log(f"rewrote {out / 'RESULTS.md'}")
        return 0

    t_start = time.perf_counter()
    commit = _git_commit()  # the code that ran (a later --report-only keeps it)
    built = not (warm_start_dir(budget.warm) / STAMP).exists()
    model_dir = warm_start(budget.warm, log=log)
    warm_info = load_warm_start(model_dir)
    warm_info["built_this_run"] = built
    log(f"warm start: {model_dir} ({warm_info['n_params']:,} params); start accuracy {warm_info['start_accuracy']}")

    held_out = held_out_rows(budget)
    excl = [r["prompt"] for r in held_out]
    train_ds = datasets.Dataset.from_list(make_rows(budget.train_rows, TRAIN_LEVELS, seed=101, exclude=excl))
    easy_n = budget.prompts_per_step * (budget.overhead_steps + 2)
    easy_ds = datasets.Dataset.from_list(make_rows(easy_n, EASY_LEVELS, seed=202, exclude=excl))

    runs = []
    for seed in budget.seeds:
        for arm in a.arms:
            runs.append(train_arm(model_dir, train_ds, held_out, budget, seed, arm, log))
            (out / "organism_results.json").write_text(json.dumps({"budget": asdict(budget), "runs": runs}, default=str))
    log("overhead vs plain TRL:")
    over = overhead(model_dir, easy_ds, train_ds, budget, log)
    summary = summarise(runs, a.arms, budget)
    plot(runs, a.arms, budget, out / "organism_curves.png")
    total = time.perf_counter() - t_start
    write_results(out, command, budget, warm_info, runs, a.arms, summary, over, total, commit=commit)
    (out / "organism_results.json").write_text(json.dumps(
        {"command": command, "git_commit": commit, "budget": asdict(budget), "warm_start": warm_info, "runs": runs, "overhead": over,
         "summary": {k: {kk: list(vv) for kk, vv in v.items()} for k, v in summary["rows"].items()},
         "token_budget": summary["token_budget"], "total_s": total}, default=str, indent=1))
    log(f"done in {total / 60:.1f} min -> {out / 'RESULTS.md'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
