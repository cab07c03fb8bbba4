"""Organism v3 (issue 10): a healthy RL testbed first, then GHPO vs GRPO on it. CPU, several seeds, ablations.

Every arm starts from the same cached warm start (``ghpo.organism.warm_start``: a tiny char-level Llama fine-tuned
with TRL's SFTTrainer on scratchpad solutions of levels 2x1-4x1 plus a 600-row glimpse of 5x1), trains with
GHPOTrainer on the same small training set (level 5x1, small so problems recur and hint memory can act) for the same number of optimizer
steps, and is evaluated WITHOUT hints on held-out problems (greedy pass@1 and sampled avg@k) every K steps.

Two gates come first and are printed before any comparison:
  regime  on the hard training level (5x1) the warm start leaves >= 50% of groups of G all-wrong without a
          hint, and the staged hints (cut as the trainer cuts them) rescue >= 40% of those at some stage;
  health  plain GRPO (the ``grpo`` arm, every seed) raises held-out no-hint accuracy on its training levels, greedy
          and sampled, above noise (95% t-interval over seeds above 0 and the gain above 2 binomial standard
          errors of the held-out set), and keeps the easy levels (3x1, 4x1) within 5 points.

Arms (GHPOTrainer; only the guidance settings differ):
  grpo              hint_schedule="none" (plain GRPO)
  fixed-0.5         one hint stage at w = 0.5 (GRPO-CL-H(0.5)-like)
  staged            the paper's 0.25 / 0.5 / 0.75, hints cut in policy tokens (the default unit)
  staged+budgeted   staged + hint memory starting at the last rescuing stage, give up after 2 unrescued visits,
                    retry after 4 (issue 11; only when GHPOConfig has those fields)
  staged+budgeted+single   the same, every remaining stage in one generation call (hint_rounds="single")
  staged+budgeted-below    the same, memory starting one stage below the last rescuing one
  staged+budgeted+1stage   staged+budgeted, one stage per hard visit in one call (hint_stages_per_visit=1,
                    hint_rounds="single"): an unrescued problem starts one stage higher on its next visit
  staged+budgeted+2stage   the same with two stages per visit
  staged-char       staged, hints cut in characters (official code's unit)
  staged+coldstart  staged, hints only from step ``coldstart_steps`` on (the paper's cold start)

Parts (the full run is split so each part fits the machine; ``all`` runs both in order):
    python benchmarks/organism_compare.py --part gates     # warm start, regime probe, grpo arm x seeds, gates
    python benchmarks/organism_compare.py --part compare   # the other arms (needs passed gates), report
    python benchmarks/organism_compare.py --part all --steps 240 --arms staged --out docs/organism_240
                                                           # grpo and staged until GRPO plateaus (~90 min)
    python benchmarks/organism_compare.py --quick --out /tmp/organism   # CI smoke test (~1-2 min), any numbers

Writes <out>/RESULTS.md, <out>/organism_curves.png and <out>/organism_results.json (every seed's numbers).
"""

from __future__ import annotations

import argparse
import dataclasses
import hashlib
import json
import logging
import math
import os
import platform
import re
import statistics
import subprocess
import sys
import tempfile
import time
import warnings
from collections import defaultdict
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

from ghpo import guidance  # noqa: E402
from ghpo.organism import (  # noqa: E402
    HINT_TEMPLATE,
    EvalCallback,
    WarmStartSettings,
    boxed_accuracy_reward,
    eval_rows,
    load_warm_start,
    make_rows,
    score_boxed,
    score_steps,
    stepwise_accuracy_reward,
    valid_scratchpad,
    warm_start,
)
from ghpo.organism.evaluate import generate  # noqa: E402
from ghpo.organism.warmstart import STAMP, sft_rows, warm_start_dir  # noqa: E402
from ghpo.report import mean_ci95  # noqa: E402
from ghpo.trainer import GHPOConfig, GHPOTrainer  # noqa: E402

EVAL_LEVELS = ("3x1", "4x1", "5x1")
EASY = ("3x1", "4x1")  # SFT levels the warm start masters and RL never trains on: the forgetting check
TRAIN_LEVELS = ("5x1",)  # one step longer than SFT taught (bar a 600-row glimpse): the warm start rarely solves it
HARD = ("5x1",)
REWARD_NAME = "organism_reward"  # the trigger reward is chosen by name
# Training reward (--reward): 'boxed' pays a right final box; 'steps' also needs every scratchpad line right, so a
# lucky box after wrong steps earns nothing (on this warm start most right 5x1 boxes are lucky: see NOTES).
REWARDS = {"boxed": (boxed_accuracy_reward, score_boxed), "steps": (stepwise_accuracy_reward, score_steps)}

BUDGETED = dict(hint_schedule="staged", hint_memory=True, hint_memory_start="at", hint_give_up_after=2,
                hint_retry_after=4)


def arms_table() -> dict[str, dict]:
    """The comparison arms; ``staged+budgeted`` only when GHPOConfig has issue 11's fields."""
    fields = {f.name for f in dataclasses.fields(GHPOConfig)}
    arms = {
        "grpo": dict(hint_schedule="none"),
        "fixed-0.5": dict(hint_schedule="fixed", hint_ratios=[0.5]),
        "staged": dict(hint_schedule="staged"),
    }
    if "hint_give_up_after" in fields:
        arms["staged+budgeted"] = dict(BUDGETED)
        # Issue 11's fewer rounds: every remaining stage of the hard groups in one extra generation call.
        arms["staged+budgeted+single"] = dict(BUDGETED, hint_rounds="single")
        arms["staged+budgeted-below"] = dict(BUDGETED, hint_memory_start="below")  # issue 11: 'at' vs one below
    if "hint_stages_per_visit" in fields:
        # Issue 11's joint goal (tokens and rounds): k stages per hard visit in one call, climbing across visits.
        for k in (1, 2):
            arms[f"staged+budgeted+{k}stage"] = dict(BUDGETED, hint_rounds="single", hint_stages_per_visit=k)
    arms["staged-char"] = dict(hint_schedule="staged", hint_unit="char")
    arms["staged+coldstart"] = dict(hint_schedule="staged")  # hint_start_step set from the budget
    return arms


@dataclass
class Budget:
    """Sizes of one benchmark run (the full run and --quick differ only here)."""

    seeds: tuple[int, ...] = (0, 1, 2, 3, 4)
    steps: int = 120  # optimizer steps per arm (plain GRPO's 5x1 greedy plateaued from step ~80 in the pilots)
    prompts_per_step: int = 16  # B prompts x G completions per optimizer step
    num_generations: int = 8  # G
    max_completion_length: int = 64  # a 5x1 scratchpad is ~57 tokens with its eos
    learning_rate: float = 1e-4  # 3e-5 barely moved 5x1 in 80 steps; 3e-4 cost 4x1 25 points (NOTES)
    beta: float = 0.2  # KL to the warm start: at 0.04, 4x1 greedy fell 99% -> 89% in 160 steps; at 0.2, 99% -> 97%
    adam_epsilon: float = 1e-8  # TRL's default
    scale_rewards: str = "group"  # TRL's default
    eval_every: int = 20
    eval_per_level: int = 100  # the warm start's held-out set (never seen in SFT or RL)
    avg_k: int = 8  # sampled accuracy: k samples per held-out problem at temperature 1 (avg@2 was +-4.5: NOTES)
    train_rows: int = 320  # 120 steps x 16 prompts draw each problem 6 times (memory can act)
    # Replay (a pilot, off): this share of the training problems comes from easy levels (round-robin over
    # replay_levels). The idea: TRL's KL term to the warm start is taken only on what is sampled, so easy samples
    # might anchor the easy levels. Measured: it did not (4x1 fell more with replay than without; NOTES).
    replay_share: float = 0.0
    replay_levels: tuple[str, ...] = ("4x1",)  # every 3x1 problem is in SFT or the held-out set
    coldstart_steps: int = 20  # the paper's N = 20
    reward: str = "steps"  # a key of REWARDS; 'boxed' pays lucky boxes, and GRPO learnt half as fast with it (NOTES)
    probe_per_level: int = 96  # regime probe: training problems per level, groups of G
    # A 600-row 5x1 glimpse: on this Intel CPU the 300-row warm start solved 1% of 5x1 training groups' samples
    # (GRPO learnt nothing) where the same settings on AMD gave 9% greedy; 1000 rows gave 67% greedy (NOTES).
    warm: WarmStartSettings = WarmStartSettings(sft_glimpse=(("5x1", 600),))


QUICK = Budget(seeds=(0,), steps=2, prompts_per_step=4, eval_every=2, eval_per_level=4, avg_k=1, train_rows=12,
               coldstart_steps=1, probe_per_level=4,
               warm=WarmStartSettings(sft_steps=20, sft_rows=400, eval_per_level=4, eval_k=0))


# ----------------------------------------------------------------------------------------------------- data
def held_out_rows(budget: Budget) -> list[dict]:
    """``eval_per_level`` problems per EVAL_LEVELS level from the warm start's held-out set (SFT excluded them)."""
    ws = budget.warm
    if budget.eval_per_level > ws.eval_per_level:
        raise ValueError(f"eval_per_level {budget.eval_per_level} > the warm start's held-out {ws.eval_per_level}")
    pool = eval_rows(ws.eval_levels, ws.eval_per_level)
    return [r for lv in EVAL_LEVELS for r in [x for x in pool if x["level"] == lv][: budget.eval_per_level]]


def train_rows(budget: Budget) -> list[dict]:
    """RL problems: never held out, never in SFT (the SFT glimpse has rows of the training level)."""
    excl = [r["prompt"] for r in eval_rows(budget.warm.eval_levels, budget.warm.eval_per_level)]
    excl += [r["prompt"] for r in sft_rows(budget.warm)]
    n_replay = round(budget.train_rows * budget.replay_share) if budget.replay_levels else 0
    rows = make_rows(budget.train_rows - n_replay, TRAIN_LEVELS, seed=101, exclude=excl)
    # TRL's sampler shuffles the dataset, so appended replay rows are drawn among the others.
    return rows + (make_rows(n_replay, budget.replay_levels, seed=202, exclude=excl) if n_replay else [])


# ----------------------------------------------------------------------------------------------------- regime probe
def regime_probe(model_dir: str, rows: list[dict], budget: Budget, ratios=guidance.STAGED_RATIOS, seed: int = 0) -> dict:
    """On the warm start: per training level, the share of groups of G all-wrong without a hint and, for those,
    the stage (token-unit cut, the trainer's default) whose hinted group of G first has a right answer."""
    tok = AutoTokenizer.from_pretrained(model_dir)
    model = AutoModelForCausalLM.from_pretrained(model_dir)
    G = budget.num_generations
    score = REWARDS[budget.reward][1]

    def offsets(text):
        return tok(text, add_special_tokens=False, return_offsets_mapping=True)["offset_mapping"]

    out = {}
    for lv in TRAIN_LEVELS:
        probs = [r for r in rows if r["level"] == lv][: budget.probe_per_level]
        texts = generate(model, tok, [r["prompt"] for r in probs for _ in range(G)], budget.max_completion_length,
                         do_sample=True, generator_seed=seed)
        correct = [sum(score(texts[i * G + j], r["solution"]) for j in range(G)) for i, r in enumerate(probs)]
        # As the trainer: a stage whose cut is empty or repeats the last one is skipped; no usable cut -> not hard.
        plans = [guidance.plan_hint_cuts(r["solution_hint"], ratios, "token", offsets) for r in probs]
        still = [i for i, c in enumerate(correct) if c == 0 and any(plans[i])]
        hard = len(still)
        rescued = {}
        for s, w in enumerate(ratios):
            staged = [i for i in still if plans[i][s] is not None]
            if not staged:
                rescued[f"{w:g}"] = 0
                continue
            hinted = [probs[i]["prompt"] + HINT_TEMPLATE.format(hint=plans[i][s]) for i in staged]
            texts = generate(model, tok, [h for h in hinted for _ in range(G)], budget.max_completion_length,
                             do_sample=True, generator_seed=seed + 1 + s)
            ok = {i for k, i in enumerate(staged)
                  if any(score(plans[i][s] + texts[k * G + j], probs[i]["solution"]) for j in range(G))}
            rescued[f"{w:g}"] = len(ok)
            still = [i for i in still if i not in ok]
        out[lv] = {"groups": len(probs), "all_wrong": hard, "rescued": rescued, "never": len(still),
                   "mean_correct_unhinted": statistics.mean(correct) / G if correct else 0.0}
    return out


# ----------------------------------------------------------------------------------------------------- training
class CountingGHPOTrainer(GHPOTrainer):
    """Counts every sampled completion token (first round and hint stages) at the source."""

    def __init__(self, *a, **k):
        super().__init__(*a, **k)
        self.sampled_tokens = 0

    def _generate_single_turn(self, prompt_ids, *a, **k):
        completion_ids, logprobs = super()._generate_single_turn(prompt_ids, *a, **k)
        self.sampled_tokens += sum(len(c) for c in completion_ids)
        return completion_ids, logprobs


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


def recording_reward(calls: list, reward: str = "boxed"):
    """The training reward ``REWARDS[reward]`` that also records every call (trigger rounds, hint stages, TRL's final
    scoring): step, prompts, problem ids, gold answers and rewards. Read by ``analyse_calls``."""
    score_fn = REWARDS[reward][0]

    def organism_reward(completions, solution, prompts=None, id=None, solution_hint=None, trainer_state=None,  # noqa: A002
                        **kw):
        values = score_fn(completions, solution, prompts=prompts)
        step = trainer_state.global_step if trainer_state is not None else -1
        calls.append({"step": step, "prompts": list(prompts), "ids": list(id), "solution": list(solution),
                      "worked": list(solution_hint),
                      "rewards": values, "completions": [c if isinstance(c, str) else c[-1]["content"] for c in completions]})
        return values

    return organism_reward


def _config(budget: Budget, seed: int, out: str, **guidance_kw) -> GHPOConfig:
    return GHPOConfig(
        output_dir=out, max_steps=budget.steps, per_device_train_batch_size=budget.prompts_per_step * budget.num_generations,
        num_generations=budget.num_generations, max_completion_length=budget.max_completion_length,
        learning_rate=budget.learning_rate, beta=budget.beta, adam_epsilon=budget.adam_epsilon,
        scale_rewards=budget.scale_rewards, lr_scheduler_type="constant", warmup_steps=0,
        temperature=1.0, logging_steps=1, report_to="none", save_strategy="no", use_cpu=True, bf16=False, seed=seed,
        disable_tqdm=True, dataloader_num_workers=0, hint_column="solution_hint", hint_template=HINT_TEMPLATE,
        # The scratchpad states the answer only in its last line, which the last-step rule removes; the gold check
        # (issue 19) would only drop hints whose gold value is a problem term or an intermediate (22% of 5x1
        # problems unhintable: docs/HINTS.md) and change the regime every result here was measured in.
        hint_gold_column=None,
        hint_trigger_reward=REWARD_NAME, **guidance_kw,
    )


def train_arm(model_dir: str, train: list[dict], held_out: list[dict], budget: Budget, seed: int, arm: str) -> dict:
    guidance_kw = dict(arms_table()[arm])
    if arm == "staged+coldstart":
        guidance_kw["hint_start_step"] = budget.coldstart_steps
    tok = AutoTokenizer.from_pretrained(model_dir)
    model = AutoModelForCausalLM.from_pretrained(model_dir)
    calls: list[dict] = []
    with tempfile.TemporaryDirectory() as tmp:
        args = _config(budget, seed, tmp, **guidance_kw)
        ev = EvalCallback(tok, held_out, budget.eval_every, budget.max_completion_length, k=budget.avg_k, seed=seed)
        clock = StepClock()
        trainer = CountingGHPOTrainer(model=model, reward_funcs=[recording_reward(calls, budget.reward)], args=args,
                                      train_dataset=datasets.Dataset.from_list(train), processing_class=tok,
                                      callbacks=[clock, ev])
        clock.trainer = trainer
        trainer.remove_callback(PrinterCallback)
        t0 = time.perf_counter()
        trainer.train()
        wall = time.perf_counter() - t0
    for r in ev.records:
        r["tokens"] = clock.tokens[r["step"]]
    keep = ("ghpo/", "frac_reward_zero_std", "reward", "kl", "completions/mean_length")
    log = [{k: v for k, v in h.items() if k.startswith(keep)} for h in trainer.state.log_history
           if "frac_reward_zero_std" in h]
    return {
        "arm": arm, "seed": seed, "evals": ev.records, "train_s": wall - ev.eval_seconds, "eval_s": ev.eval_seconds,
        "step_s": clock.step_s, "tokens_by_step": clock.tokens, "sampled_tokens": trainer.sampled_tokens,
        "log": log, "groups": analyse_calls(calls, budget.num_generations),
    }


def _run_job(job) -> dict:
    """Worker entry (one process per job slot): one arm x seed."""
    model_dir, train, held_out, budget_dict, seed, arm = job
    torch.set_num_threads(1)
    _quiet()
    budget = _budget_from_dict(budget_dict)
    return train_arm(model_dir, train, held_out, budget, seed, arm)


# ----------------------------------------------------------------------------------------------------- group analysis
def _advantage_mass(rewards: list[float]) -> float:
    """Sum of |advantage| over a group, as TRL computes it (scale_rewards='group': (r - mean) / (std + 1e-4),
    unbiased std)."""
    m = statistics.mean(rewards)
    s = statistics.stdev(rewards) if len(rewards) > 1 else 0.0
    return sum(abs(r - m) for r in rewards) / (s + 1e-4)


def hint_states_answer(hint: str, worked: str) -> bool:
    """True when ``hint`` is not a prefix of the worked solution or reaches into its last step (``= <answer>``)."""
    return not worked.startswith(hint) or len(hint) > worked.rindex("\n= ")


def analyse_calls(calls: list[dict], G: int, examples: int = 4) -> dict:
    """Where the learning signal comes from, read from every call of the reward function in training.

    Per step, the first call scores round 0 (no hint). Later calls score hint stages (hinted prompts); a later
    call's unhinted groups are TRL's own scoring of round-0 completions (grpo, cold-start steps) and add nothing.
    GHPOTrainer answers TRL's scoring of guided steps from the trigger values it already has, so the trained
    completions are reconstructed: a rescued group trains on the stage that rescued it, any other on round 0 or on
    an all-wrong stage (no advantage either way)."""
    by_step: dict[int, list[dict]] = defaultdict(list)
    for c in calls:
        by_step[c["step"]].append(c)
    level_hard = defaultdict(lambda: [0, 0])  # level -> [all-wrong round-0 groups, groups]
    level_rescued = defaultdict(int)  # level -> hard groups rescued at some stage
    mass_total = mass_rescued = 0.0
    visits: dict[str, list[tuple[int, int, bool]]] = defaultdict(list)  # id -> (step, round-0 correct, rescued)
    leaks = hinted_groups = 0
    valid = {"round0": [0, 0], "rescued": [0, 0]}  # right answers with every scratchpad line right: [valid, right]
    shown: list[dict] = []
    for step in sorted(by_step):
        first, *later = by_step[step]
        rescue_rewards: dict[str, list[float]] = {}  # id -> rewards of the stage that rescued it
        seen_hints = set()
        for c in later:
            for g in range(len(c["ids"]) // G):
                sl = slice(g * G, (g + 1) * G)
                pid, prompt = c["ids"][g * G], c["prompts"][g * G]
                hint = prompt[prompt.index("\n") + 1 :]
                if not hint or (pid, hint) in seen_hints:
                    continue  # TRL scoring an unhinted group again, or a hinted group scored twice
                seen_hints.add((pid, hint))
                hinted_groups += 1
                leaks += hint_states_answer(hint, c["worked"][g * G])
                if any(c["rewards"][sl]) and pid not in rescue_rewards:
                    rescue_rewards[pid] = list(c["rewards"][sl])
                    for x, r in zip(c["completions"][sl], c["rewards"][sl]):
                        if r:
                            valid["rescued"][0] += valid_scratchpad(hint + x, c["solution"][g * G])
                            valid["rescued"][1] += 1
                    if len(shown) < examples:
                        right = next(x for x, r in zip(c["completions"][sl], c["rewards"][sl]) if r)
                        shown.append({"step": step, "hinted_prompt": prompt, "gold": c["solution"][g * G],
                                      "correct_completion": right, "n_correct": int(sum(c["rewards"][sl]))})
        for g in range(len(first["ids"]) // G):
            pid = first["ids"][g * G]
            r0 = first["rewards"][g * G : (g + 1) * G]
            n_ok = int(sum(r0))
            for x, r in zip(first["completions"][g * G : (g + 1) * G], r0):
                if r:
                    valid["round0"][0] += valid_scratchpad(x, first["solution"][g * G])
                    valid["round0"][1] += 1
            lv = pid.split(":")[0]
            level_hard[lv][1] += 1
            if n_ok == 0:
                level_hard[lv][0] += 1
                level_rescued[lv] += pid in rescue_rewards
            visits[pid].append((step, n_ok, pid in rescue_rewards))
            if n_ok == 0 and pid in rescue_rewards:
                mass = _advantage_mass(rescue_rewards[pid])
                mass_rescued += mass
            else:
                mass = _advantage_mass(r0)
            mass_total += mass
    # Next visit of a problem that was all-wrong unhinted: solved unhinted then (>= 1 of G right)?
    nxt = {"rescued": [0, 0], "not_rescued": [0, 0]}
    for seq in visits.values():
        for (s0, ok0, resc), (s1, ok1, _) in zip(seq, seq[1:]):
            if ok0 == 0:
                key = "rescued" if resc else "not_rescued"
                nxt[key][1] += 1
                nxt[key][0] += ok1 > 0
    return {
        "level_hard": {lv: v for lv, v in level_hard.items()}, "level_rescued": dict(level_rescued),
        "adv_mass_total": mass_total, "adv_mass_rescued": mass_rescued, "steps": len(by_step),
        "next_visit": nxt, "answer_leaks": int(leaks), "hinted_groups": hinted_groups, "examples": shown,
        "valid_steps": valid,
    }


# ----------------------------------------------------------------------------------------------------- summaries
def _lvmean(rec: dict, levels, prefix: str) -> float:
    return statistics.mean(rec[f"{prefix}/{lv}"] for lv in levels)


def _at_tokens(evals: list[dict], budget_tokens: float, key) -> float:
    """Accuracy interpolated linearly in cumulative sampled tokens at ``budget_tokens``."""
    pts = [(r["tokens"], key(r)) for r in evals]
    for (t0, a0), (t1, a1) in zip(pts, pts[1:]):
        if t0 <= budget_tokens <= t1:
            return a0 if t1 == t0 else a0 + (a1 - a0) * (budget_tokens - t0) / (t1 - t0)
    return pts[-1][1]


def _eval_at_step(evals: list[dict], step: int) -> dict:
    """The evaluation nearest to ``step`` (evaluations run every ``eval_every`` steps)."""
    return min(evals, key=lambda e: abs(e["step"] - step))


def _plateau_eval(evals: list[dict], budget: Budget) -> dict:
    """Where the plateau check starts: the evaluation nearest two thirds of training."""
    return _eval_at_step(evals, 2 * budget.steps // 3)


def _above_zero(ms: tuple[float, float]) -> bool:
    """A (mean, 95% half-width) difference whose whole interval lies above 0 (False without an interval)."""
    return ms[0] - ms[1] > 0


def health_gate(runs: list[dict], budget: Budget) -> dict:
    """Plain GRPO, per seed: final - start accuracy on the training levels (greedy, sampled) and each easy level."""
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
        noise = 2 * math.sqrt(max(p * (1 - p), 1e-9) / (n * (budget.avg_k if "sampled" in name else 1)))
        d, hw = out[name]["delta"]
        checks[name] = {"noise_2se": noise, "pass": bool(d - (hw if not math.isnan(hw) else 0) > 0 and d > noise)}
    for name, _, _ in per_easy:  # every easy level on its own: a mean could hide one level's forgetting
        checks[name] = {"pass": bool(out[name]["delta"][0] >= -0.05)}
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


def summarise(runs: list[dict], arms: list[str], budget: Budget) -> dict:
    k = f"avg@{budget.avg_k}"
    token_budget = min(r["sampled_tokens"] for r in runs)  # every run reached it
    by_seed_grpo = {r["seed"]: r for r in runs if r["arm"] == "grpo"}
    by_seed_staged = {r["seed"]: r for r in runs if r["arm"] == "staged"}
    rows = {}
    for arm in arms:
        rs = sorted([r for r in runs if r["arm"] == arm], key=lambda r: r["seed"])
        if not rs:
            continue
        row = {"n": len(rs)}
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
        for name, f in metrics.items():
            row[name] = mean_ci95([f(r) for r in rs])
            if arm != "grpo" and not name.startswith("easy"):
                paired = [f(r) - f(by_seed_grpo[r["seed"]]) for r in rs if r["seed"] in by_seed_grpo]
                row[f"diff/{name}"] = mean_ci95(paired)
            # Ablations of staged (hint unit, cold start, memory) are read against staged itself, seed by seed.
            if arm.startswith("staged") and arm != "staged" and name.startswith("hard/") and by_seed_staged:
                paired = [f(r) - f(by_seed_staged[r["seed"]]) for r in rs if r["seed"] in by_seed_staged]
                row[f"vs_staged/{name}"] = mean_ci95(paired)
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


# ----------------------------------------------------------------------------------------------------- plot
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
    arms = [a for a in arms_table() if any(r["arm"] == a for r in saved["runs"])]
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
    L.append(f"- Machine: {os.cpu_count()} CPU cores ({_cpu_name()}), no GPU, torch threads 1 per job, Python "
             f"{platform.python_version()}, torch {torch.__version__}, transformers {transformers.__version__}, trl "
             f"{trl.__version__}.")
    for p in saved["parts"]:
        L.append(f"- Part `{p['part']}`: git commit `{p['commit']}`, {p['jobs']} parallel job(s), wall time "
                 f"{p['wall_s'] / 60:.1f} min, load average (1 min) at start {p['load'][0]:.1f}, at end {p['load'][1]:.1f}"
                 + (" (other jobs shared the cores: wall times are noisy; accuracy and token counts are not)."
                    if max(p["load"]) > p["jobs"] + 1 else " (no other load at start or end; the load between is not "
                    "sampled, see the notes)."))
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
        hdr = ["arm", "sampled tokens", "hint-stage tokens", "gen rounds / step", "train s", "frac_reward_zero_std",
               "hard frac", "rescued @0.25", "@0.5", "@0.75", "skipped stages"]
        L.append("| " + " | ".join(hdr) + " |")
        L.append("|" + "---|" * len(hdr))
        for arm, r in rows.items():
            L.append("| " + " | ".join([arm, _num(r["tokens"]), _num(r["extra_tokens"]), _num(r["gen_rounds"], "{:.2f}"),
                                        _num(r["train_s"]), _pct(r["zero_std"]), _pct(r["ghpo/hard_frac"]),
                                        _pct(r["rescue/0.25"]), _pct(r["rescue/0.5"]), _pct(r["rescue/0.75"]),
                                        _num(r["ghpo/skipped_stages"], "{:.2f}")]) + " |")
        L.append("\n'sampled tokens': every completion token sampled (first round + hint stages), counted in "
                 "`_generate_single_turn`. 'hint-stage tokens': sum of `ghpo/extra_completion_tokens`. 'gen rounds': "
                 "mean `ghpo/gen_rounds` (1 for grpo). 'train s': training wall time without evaluation, one torch thread per "
                 "job; compare it across arms only where the parts above ran with the same number of jobs at a similar "
                 "load (tokens and rounds do not depend on load). 'frac_reward_zero_std': TRL's share of groups whose final rewards have zero "
                 "std (no advantage), mean over steps. 'hard frac': `ghpo/hard_frac` over all training levels. "
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

        L.append("## Verdict\n")
        L.extend(verdict(summary, budget))
        L.append("")
    L.extend(saved.get("notes", []))
    L.append("\n![learning curves](organism_curves.png)\n")
    L.append("Left to right: hard-level no-hint accuracy vs optimizer steps (solid greedy, dashed sampled); the same "
             "(greedy) vs sampled completion tokens; easy level greedy (forgetting); TRL `frac_reward_zero_std`.\n")
    (out / "RESULTS.md").write_text("\n".join(L))


# ----------------------------------------------------------------------------------------------------- main
def _quiet():
    datasets.disable_progress_bars()
    transformers.logging.set_verbosity_error()
    logging.getLogger("ghpo.arith").setLevel(logging.ERROR)
    warnings.filterwarnings("ignore")


def _weights_sha256(model_dir: str) -> str:
    return hashlib.sha256((Path(model_dir) / "model.safetensors").read_bytes()).hexdigest()


def _budget_from_dict(b: dict) -> Budget:
    b = {**asdict(Budget()), **b}  # a JSON written before a field existed has that field's default
    b["warm"] = WarmStartSettings(**{k: tuple(v) if isinstance(v, list) else v for k, v in b["warm"].items()})
    return Budget(**{k: tuple(v) if k in ("seeds", "replay_levels") else v for k, v in b.items()})


def run_jobs(jobs: list, n_jobs: int, log) -> list[dict]:
    results = []
    if n_jobs <= 1:
        for job in jobs:
            results.append(_run_job(job))
            _log_run(results[-1], log)
        return results
    import concurrent.futures as cf
    import multiprocessing as mp

    with cf.ProcessPoolExecutor(max_workers=n_jobs, mp_context=mp.get_context("spawn")) as pool:
        for fut in cf.as_completed([pool.submit(_run_job, j) for j in jobs]):
            results.append(fut.result())
            _log_run(results[-1], log)
    return results


def _log_run(r: dict, log) -> None:
    last = r["evals"][-1]
    log(f"  {r['arm']:17s} seed {r['seed']}: train {r['train_s']:.0f}s eval {r['eval_s']:.0f}s tokens "
        f"{r['sampled_tokens']} | greedy " + " ".join(f"{lv}={last[f'greedy/{lv}']:.2f}" for lv in EVAL_LEVELS))


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


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--quick", action="store_true", help="Smoke test: 1 seed, 2 steps, tiny SFT and eval (~1-2 min).")
    p.add_argument("--part", choices=("gates", "compare", "all"), default="all",
                   help="gates: warm start, regime probe, grpo arm, gates; compare: the other arms (needs the gates "
                        "part's results in --out and passed gates unless --force); all: both.")
    p.add_argument("--out", default="docs", help="Folder for RESULTS.md, organism_curves.png, organism_results.json.")
    p.add_argument("--seeds", type=int, nargs="+", default=None, help="Seeds (default 0 1 2 3 4; --quick: 0).")
    p.add_argument("--steps", type=int, default=None, help="Optimizer steps per arm (default 120; --quick: 2).")
    p.add_argument("--lr", type=float, default=None, help="Learning rate (default 1e-4).")
    p.add_argument("--replay", type=float, default=None,
                   help="Share of training problems from the easy level 4x1 (default 0: none).")
    p.add_argument("--prompts-per-step", type=int, default=None, help="Prompts per optimizer step (default 16).")
    p.add_argument("--beta", type=float, default=None, help="KL coefficient to the warm start (default 0.2).")
    p.add_argument("--train-rows", type=int, default=None, help="Distinct training problems (default 320).")
    p.add_argument("--reward", choices=sorted(REWARDS), default=None,
                   help="Training reward: boxed (right final box) or steps (right box and every line right; default).")
    p.add_argument("--glimpse", type=int, default=None, help="Rows of 5x1 in the SFT warm start (default 300).")
    p.add_argument("--adam-eps", type=float, default=None, help="Adam epsilon (default 1e-8, TRL's).")
    p.add_argument("--scale-rewards", choices=("group", "batch", "none"), default=None,
                   help="TRL's advantage scaling (default group).")
    p.add_argument("--width", type=int, default=None, help="Hidden size of the organism (default 64; a new warm start).")
    p.add_argument("--avg-k", type=int, default=None, help="Samples per held-out problem for avg@k (default 2).")
    p.add_argument("--train-levels", nargs="+", default=None,
                   help="Pilots only: RL training levels (default 5x1); the easy check keeps the other levels below.")
    p.add_argument("--arms", nargs="+", default=None, help="Comparison arms (default all available).")
    p.add_argument("--jobs", type=int, default=1, help="Runs in parallel, one process and one torch thread each.")
    p.add_argument("--force", action="store_true", help="Run the comparison even if a gate failed (labelled).")
    p.add_argument("--report-only", action="store_true", help="Rewrite RESULTS.md and the PNG from the JSON.")
    a = p.parse_args(argv)

    budget = QUICK if a.quick else Budget()
    if a.seeds:
        budget = replace(budget, seeds=tuple(a.seeds))
    if a.steps:
        budget = replace(budget, steps=a.steps)
    if a.lr:
        budget = replace(budget, learning_rate=a.lr)
    if a.replay is not None:
        budget = replace(budget, replay_share=a.replay)
    if a.prompts_per_step:
        budget = replace(budget, prompts_per_step=a.prompts_per_step)
    if a.beta is not None:
        budget = replace(budget, beta=a.beta)
    if a.train_rows:
        budget = replace(budget, train_rows=a.train_rows)
    if a.reward:
        budget = replace(budget, reward=a.reward)
    if a.adam_eps is not None:
        budget = replace(budget, adam_epsilon=a.adam_eps)
    if a.scale_rewards:
        budget = replace(budget, scale_rewards=a.scale_rewards)
    if a.width is not None:
        budget = replace(budget, warm=replace(budget.warm, hidden_size=a.width))
    if a.avg_k is not None:
        budget = replace(budget, avg_k=a.avg_k)
    if a.train_levels:  # module constants, read in this process only (train rows and gates are made here)
        global TRAIN_LEVELS, EASY
        TRAIN_LEVELS = tuple(a.train_levels)
        EASY = tuple(lv for lv in EVAL_LEVELS if lv not in TRAIN_LEVELS and lv not in HARD)
    if a.glimpse is not None:
        budget = replace(budget, warm=replace(budget.warm, sft_glimpse=(("5x1", a.glimpse),) if a.glimpse else ()))
    torch.set_num_threads(1)
    _quiet()
    out = Path(a.out)
    out.mkdir(parents=True, exist_ok=True)
    json_path = out / "organism_results.json"
    command = "python benchmarks/organism_compare.py " + " ".join(argv if argv is not None else sys.argv[1:])

    def log(msg):
        print(msg, flush=True)

    def save(saved):
        json_path.write_text(json.dumps(saved, default=str, indent=1))

    def finish(saved):
        b = _budget_from_dict(saved["budget"])
        arms = [x for x in arms_table() if any(r["arm"] == x for r in saved["runs"])]
        if saved["runs"]:
            plot(saved["runs"], arms, b, out / "organism_curves.png")
        saved["notes"] = NOTES
        save(saved)
        write_results(out, saved, b)
        log(f"wrote {out / 'RESULTS.md'}")

    if a.report_only:
        saved = json.loads(json_path.read_text())
        if any(r["arm"] == "grpo" for r in saved["runs"]):  # the gate's definition may be newer than the runs
            saved["gates"]["health"] = health_gate(saved["runs"], _budget_from_dict(saved["budget"]))
        finish(saved)
        return 0

    t_start, load0 = time.perf_counter(), os.getloadavg()[0]
    commit = _git_commit()
    model_dir = warm_start(budget.warm, log=log)
    warm_info = load_warm_start(model_dir)
    # SFT is not bit-reproducible across CPUs (same settings, another warm start: NOTES), so a part run elsewhere
    # must not be paired with this one: the weights' hash names the warm start.
    warm_info["weights_sha256"] = _weights_sha256(model_dir)
    held_out = held_out_rows(budget)
    train = train_rows(budget)
    arms = arms_table()
    bd = asdict(budget)

    if a.part in ("gates", "all"):
        saved = {"budget": bd, "warm_start": warm_info, "parts": [], "runs": [], "gates": {}}
        log(f"warm start {model_dir}: {warm_info['n_params']:,} params, start accuracy "
            + ", ".join(f"{k}={v:.2f}" for k, v in warm_info["start_accuracy"].items() if k.startswith("greedy")))
        saved["probe"] = regime_probe(model_dir, train, budget)
        saved["gates"]["regime"] = regime_gate(saved["probe"])
        log(f"REGIME GATE: {saved['gates']['regime']}")
        for lv, pr in saved["probe"].items():
            log(f"  probe {lv}: {pr}")
        save(saved)
        jobs = [(model_dir, train, held_out, bd, s, "grpo") for s in budget.seeds]
        saved["runs"] = run_jobs(jobs, a.jobs, log)
        saved["gates"]["health"] = health_gate(saved["runs"], budget)
        h = saved["gates"]["health"]
        log(f"HEALTH GATE: {'PASS' if h['pass'] else 'FAIL'} " + json.dumps(
            {k: v for k, v in h.items() if k in ("train/greedy", "train/sampled", "checks") or k.startswith("easy/")},
            default=str))
        saved["parts"].append({"part": "gates", "command": command.replace("--part all", "--part gates"),
                               "commit": commit, "jobs": a.jobs,
                               "wall_s": time.perf_counter() - t_start, "load": [load0, os.getloadavg()[0]]})
        finish(saved)

    if a.part in ("compare", "all"):
        t_cmp, load1 = time.perf_counter(), os.getloadavg()[0]
        saved = json.loads(json_path.read_text())
        same = {k: v for k, v in json.loads(json.dumps(bd, default=str)).items() if k != "seeds"}
        older = json.loads(json.dumps(asdict(_budget_from_dict(saved["budget"])), default=str))  # fields added since
        if {k: v for k, v in older.items() if k != "seeds"} != same:
            raise SystemExit(f"{json_path} was written with another budget; run --part gates with the same options first.")
        theirs = saved["warm_start"].get("weights_sha256")
        if theirs and theirs != warm_info["weights_sha256"]:
            raise SystemExit(f"{json_path} was written from another warm start (weights {theirs[:12]} here "
                             f"{warm_info['weights_sha256'][:12]}: SFT differs across CPUs); run --part gates here first.")
        if not set(budget.seeds) <= set(saved["budget"]["seeds"]):  # paired with grpo by seed
            raise SystemExit(f"seeds {list(budget.seeds)} are not all among the gates part's {saved['budget']['seeds']}.")
        gates_ok = saved["gates"].get("regime", {}).get("pass") and saved["gates"].get("health", {}).get("pass")
        if not gates_ok and not (a.force or a.quick):  # --quick: a smoke test, its tiny warm start cannot pass
            log("GATES FAILED: comparison not run (use --force to run it anyway, labelled).")
            return 1
        chosen = [x for x in (a.arms or arms) if x != "grpo"]
        unknown = [x for x in chosen if x not in arms]
        if unknown:
            raise SystemExit(f"unknown arm(s) {unknown}; valid: {', '.join(arms)}")
        jobs = [(model_dir, train, held_out, bd, s, arm) for s in budget.seeds for arm in chosen]
        # Runs of other arms or seeds are kept, so the comparison can be run in named chunks.
        kept = [r for r in saved["runs"] if not (r["arm"] in chosen and r["seed"] in budget.seeds)]
        saved["runs"] = kept + run_jobs(jobs, a.jobs, log)
        saved["parts"].append({"part": "compare " + " ".join(chosen), "command": command.replace("--part all", "--part compare"),
                               "commit": commit, "jobs": a.jobs, "wall_s": time.perf_counter() - t_cmp,
                               "load": [load1, os.getloadavg()[0]], "forced": bool(not gates_ok)})
        finish(saved)
    log(f"done in {(time.perf_counter() - t_start) / 60:.1f} min")
    return 0


if __name__ == "__main__":
    sys.exit(main())
