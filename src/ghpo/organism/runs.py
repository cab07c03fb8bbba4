"""The organism benchmark's runs: training and held-out rows, the regime probe on the warm start, one arm x seed
trained with GHPOTrainer (its own rollout records kept for the analysis), and jobs over processes."""

from __future__ import annotations

import hashlib
import json
import logging
import os
import statistics
import tempfile
import time
import warnings
from pathlib import Path

import datasets
import torch
import transformers
from transformers import (
    AutoModelForCausalLM,
    AutoTokenizer,
    PrinterCallback,
    TrainerCallback,
)

from ghpo import guidance
from ghpo.organism import (
    HINT_TEMPLATE,
    EvalCallback,
    eval_rows,
    make_rows,
)
from ghpo.organism.analysis import analyse_rollouts
from ghpo.organism.budget import (
    EVAL_LEVELS,
    HARD,
    REWARD_NAME,
    REWARDS,
    TRAIN_LEVELS,
    Budget,
    arms_table,
    budget_from_dict,
)
from ghpo.organism.evaluate import generate
from ghpo.organism.warmstart import sft_rows
from ghpo.rollouts import ROLLOUTS_FILE
from ghpo.trainer import GHPOConfig, GHPOTrainer


# data
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


# regime probe
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


# training
class CountingGHPOTrainer(GHPOTrainer):
    """Counts at the source every sampled completion token and completion (first round and hint stages), and the
    hint tokens each hinted sample reads as prefill (the second token convention, issue 28: a hint is not sampled,
    but every one of the G samples under q* processes it)."""

    def __init__(self, *a, **k):
        super().__init__(*a, **k)
        self.sampled_tokens = 0
        self.sampled_completions = 0
        self.hint_prefill_tokens = 0

    def _generate_single_turn(self, prompt_ids, *a, **k):
        completion_ids, logprobs = super()._generate_single_turn(prompt_ids, *a, **k)
        self.sampled_tokens += sum(len(c) for c in completion_ids)
        self.sampled_completions += len(completion_ids)
        return completion_ids, logprobs

    def _sample_hinted(self, heads, hints, *a, **k):
        template = self.args.hint_template
        self.hint_prefill_tokens += self.num_generations * sum(
            len(self._tokenizer(template.format(hint=h), add_special_tokens=False)["input_ids"]) for h in hints if h)
        return super()._sample_hinted(heads, hints, *a, **k)


class StepClock(TrainerCallback):
    """Per-step wall time and cumulative counts (read from the trainer at each step end): sampled completion tokens,
    the same plus hint prefill tokens, and completions drawn."""

    def __init__(self):
        self.trainer = None
        self.step_s: list[float] = []
        self.tokens: list[int] = [0]  # cumulative sampled tokens after step i (index 0: before training)
        self.tokens_with_hints: list[int] = [0]
        self.samples: list[int] = [0]
        self._t0 = 0.0

    def on_step_begin(self, args, state, control, **kw):
        self._t0 = time.perf_counter()

    def on_step_end(self, args, state, control, **kw):
        self.step_s.append(time.perf_counter() - self._t0)  # evaluation runs after this, in EvalCallback
        t = self.trainer
        self.tokens.append(t.sampled_tokens)
        self.tokens_with_hints.append(t.sampled_tokens + t.hint_prefill_tokens)
        self.samples.append(t.sampled_completions)


def token_budget_reached(tokens: int, max_tokens: int | None) -> bool:
    """Whether a run with ``max_tokens`` stops after a step that left it at ``tokens`` cumulative sampled tokens: the
    first step that reaches the budget is the last (so the run ends at most one step past it)."""
    return max_tokens is not None and tokens >= max_tokens


class TokenBudgetStop(TrainerCallback):
    """Stops training once the trainer's cumulative sampled tokens reach ``max_tokens`` (issue 28: run an arm out to
    another arm's token total instead of a step count); ``max_steps`` stays a cap."""

    def __init__(self, max_tokens: int | None, tokens):
        self.max_tokens, self.tokens = max_tokens, tokens  # tokens: () -> cumulative sampled tokens

    def on_step_end(self, args, state, control, **kw):
        if token_budget_reached(self.tokens(), self.max_tokens):
            control.should_training_stop = True
        return control


def organism_reward_func(reward: str = "steps"):
    """The training reward ``REWARDS[reward]`` under the trigger's name (the trainer picks its trigger by name)."""
    score_fn = REWARDS[reward][0]

    def organism_reward(completions, solution, prompts=None, **kw):
        return score_fn(completions, solution, prompts=prompts)

    organism_reward.__name__ = REWARD_NAME
    return organism_reward


MAX_STEPS_WITH_TOKEN_BUDGET = 10
"""A run to a token budget stops there; ``max_steps`` (``budget.steps`` times this) only caps a budget never reached."""


def _config(budget: Budget, seed: int, out: str, max_steps: int | None = None, **guidance_kw) -> GHPOConfig:
    return GHPOConfig(
        output_dir=out, max_steps=max_steps or budget.steps, per_device_train_batch_size=budget.prompts_per_step * budget.num_generations,
        num_generations=budget.num_generations, max_completion_length=budget.max_completion_length,
        learning_rate=budget.learning_rate, beta=budget.beta, adam_epsilon=budget.adam_epsilon,
        scale_rewards=budget.scale_rewards, lr_scheduler_type="constant", warmup_steps=0,
        temperature=1.0, logging_steps=1, report_to="none", save_strategy="no", use_cpu=True, bf16=False, seed=seed,
        disable_tqdm=True, dataloader_num_workers=0, hint_column="solution_hint", hint_template=HINT_TEMPLATE,
        # The scratchpad states the answer only in its last line, which the last-step rule removes; the gold check
        # (issue 19) would only drop hints whose gold value is a problem term or an intermediate (22% of 5x1
        # problems unhintable: docs/HINTS.md) and change the regime every result here was measured in.
        hint_gold_column=None,
        hint_trigger_reward=REWARD_NAME, log_rollouts=True, **guidance_kw,  # the analysis reads the records
    )


def train_arm(model_dir: str, train: list[dict], held_out: list[dict], budget: Budget, seed: int, arm: str,
              max_tokens: int | None = None, label: str | None = None) -> dict:
    """One arm x seed. With ``max_tokens``, trained until its cumulative sampled completion tokens reach it (not for
    ``budget.steps``) and recorded under ``label`` (e.g. ``grpo@staged``), so it sits beside the step-count run."""
    guidance_kw = dict(arms_table()[arm])
    if arm == "staged+coldstart":
        guidance_kw["hint_start_step"] = budget.coldstart_steps
    tok = AutoTokenizer.from_pretrained(model_dir)
    model = AutoModelForCausalLM.from_pretrained(model_dir)
    with tempfile.TemporaryDirectory() as tmp:
        max_steps = budget.steps * MAX_STEPS_WITH_TOKEN_BUDGET if max_tokens is not None else None
        args = _config(budget, seed, tmp, max_steps=max_steps, **guidance_kw)
        ev = EvalCallback(tok, held_out, budget.eval_every, budget.max_completion_length, k=budget.avg_k, seed=seed,
                          hint_ratios=budget.eval_hint_ratios, hint_levels=HARD)
        clock = StepClock()
        stop = TokenBudgetStop(max_tokens, tokens=lambda: clock.tokens[-1])
        trainer = CountingGHPOTrainer(model=model, reward_funcs=[organism_reward_func(budget.reward)], args=args,
                                      train_dataset=datasets.Dataset.from_list(train), processing_class=tok,
                                      callbacks=[clock, stop, ev])
        clock.trainer = trainer
        trainer.remove_callback(PrinterCallback)
        t0 = time.perf_counter()
        trainer.train()
        wall = time.perf_counter() - t0
        with open(os.path.join(tmp, ROLLOUTS_FILE)) as f:
            records = [json.loads(line) for line in f]
    for r in ev.records:
        r["tokens"] = clock.tokens[r["step"]]
        r["tokens_with_hints"] = clock.tokens_with_hints[r["step"]]
        r["samples"] = clock.samples[r["step"]]
    keep = ("ghpo/", "frac_reward_zero_std", "reward", "kl", "completions/mean_length", "num_tokens")
    log = [{k: v for k, v in h.items() if k.startswith(keep)} for h in trainer.state.log_history
           if "frac_reward_zero_std" in h]
    out = {
        "arm": label or arm, "seed": seed, "evals": ev.records, "train_s": wall - ev.eval_seconds,
        "eval_s": ev.eval_seconds, "step_s": clock.step_s, "tokens_by_step": clock.tokens,
        "tokens_with_hints_by_step": clock.tokens_with_hints, "samples_by_step": clock.samples,
        "sampled_tokens": trainer.sampled_tokens, "hint_prefill_tokens": trainer.hint_prefill_tokens,
        "sampled_completions": trainer.sampled_completions, "steps": trainer.state.global_step,
        "log": log, "groups": analyse_rollouts(records, {r["id"]: r["solution_hint"] for r in train},
                                                golds={r["id"]: r["solution"] for r in train}),
    }
    if max_tokens is not None:
        out.update(base_arm=arm, max_tokens=max_tokens)
    return out


def _run_job(job) -> dict:
    """Worker entry (one process per job slot): one arm x seed, optionally to a token budget under a label."""
    model_dir, train, held_out, budget_dict, seed, arm, *budgeted = job
    torch.set_num_threads(1)
    quiet()
    budget = budget_from_dict(budget_dict)
    return train_arm(model_dir, train, held_out, budget, seed, arm, *budgeted)


def quiet():
    datasets.disable_progress_bars()
    transformers.logging.set_verbosity_error()
    logging.getLogger("ghpo.arith").setLevel(logging.ERROR)
    warnings.filterwarnings("ignore")


def weights_sha256(model_dir: str) -> str:
    return hashlib.sha256((Path(model_dir) / "model.safetensors").read_bytes()).hexdigest()


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
