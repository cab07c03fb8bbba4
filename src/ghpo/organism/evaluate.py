"""No-hint evaluation of the organism's policy: batched ``model.generate`` (left padding), per level.

Scoring here is an exact integer match on the last ``\\boxed{...}`` (``score_boxed``): the organism's answers are
integers, so this equals ``ghpo.rewards.accuracy_reward`` on them (checked in the unit tests) and costs
microseconds instead of a math-verify subprocess round trip. Training still uses ``accuracy_reward``.
"""

from __future__ import annotations

import re
import time
from collections import defaultdict
from collections.abc import Sequence

import torch
from transformers import TrainerCallback

from ..guidance import cut_hint, tokenizer_offsets
from .task import HINT_TEMPLATE

__all__ = ["EvalCallback", "boxed_accuracy_reward", "evaluate_policy", "generate", "score_boxed", "score_steps",
           "stepwise_accuracy_reward", "valid_scratchpad"]

_BOXED_INT = re.compile(r"\\boxed\{\s*(-?\d+)\s*\}")
_LINE = re.compile(r"^= (-?(?:0|[1-9]\d*)(?: [+-] (?:0|[1-9]\d*))*)$")


def score_boxed(completion: str, gold: str) -> float:
    """1.0 when the last ``\\boxed{n}`` in ``completion`` is the integer ``gold``, else 0.0."""
    found = _BOXED_INT.findall(completion)
    return float(bool(found) and int(found[-1]) == int(gold))


def valid_scratchpad(text: str, gold: str) -> bool:
    """Every ``= ...`` line of ``text`` (hint + completion) is well formed and equals the answer: a right answer
    reached by right steps, not by a lucky box (each line rewrites the remaining expression, so keeps its value)."""
    lines = [x for x in text.split("\n") if x.startswith("=")]

    def value(expr: str) -> int:
        parts = expr.split(" ")
        return int(parts[0]) + sum(int(t) if op == "+" else -int(t) for op, t in zip(parts[1::2], parts[2::2]))

    return bool(lines) and all((m := _LINE.match(x)) is not None and value(m.group(1)) == int(gold) for x in lines)


def score_steps(text: str, gold: str) -> float:
    """1.0 when the last box holds ``gold`` AND every scratchpad line of ``text`` keeps the expression's value."""
    return float(score_boxed(text, gold) == 1.0 and valid_scratchpad(text, gold))


def stepwise_accuracy_reward(completions, solution, prompts=None, **kwargs) -> list[float]:
    """``score_steps`` as a TRL reward: binary, verifiable, and it pays no lucky box after wrong steps.

    A hinted prompt's hint (the text after the prompt's first line) is checked with the completion, so a hint's
    partial line and its continuation are read as one line."""
    prompts = prompts or [""] * len(completions)
    out = []
    for c, g, p in zip(completions, solution, prompts):
        text = c if isinstance(c, str) else c[-1]["content"]
        hint = p.split("\n", 1)[1] if isinstance(p, str) and "\n" in p else ""
        out.append(score_steps(hint + text, g))
    return out


def boxed_accuracy_reward(completions, solution, **kwargs) -> list[float]:
    """The organism's training reward: ``score_boxed`` as a TRL reward function (plain-text completions).

    Equal to ``ghpo.rewards.accuracy_reward`` on the organism's integer answers (unit-tested), without its
    math-verify subprocess: the benchmark scores up to 4 x 128 completions per step on a 2-core CPU.
    """
    return [score_boxed(c if isinstance(c, str) else c[-1]["content"], g) for c, g in zip(completions, solution)]


@torch.no_grad()
def generate(
    model,
    tokenizer,
    prompts: Sequence[str],
    max_new_tokens: int,
    do_sample: bool = False,
    temperature: float = 1.0,
    batch_size: int = 256,
    generator_seed: int | None = None,
) -> list[str]:
    """Completions (text, special tokens dropped) for ``prompts``, in batches, left padded.

    ``generator_seed`` seeds the sampler inside a fork of torch's RNG state, restored on exit: ``model.generate``
    samples from the global RNG, and an evaluation inside training must not reseed the stream training continues
    with (before issue 28 it did: every evaluation changed the rest of the run)."""
    was_training = model.training
    model.eval()
    out: list[str] = []
    devices = [model.device] if model.device.type == "cuda" else []
    try:
        with torch.random.fork_rng(devices=devices, enabled=generator_seed is not None):
            if generator_seed is not None:
                torch.manual_seed(generator_seed)
            for start in range(0, len(prompts), batch_size):
                batch = tokenizer(list(prompts[start : start + batch_size]), return_tensors="pt", padding=True,
                                  padding_side="left").to(model.device)
                kwargs = dict(do_sample=True, temperature=temperature, top_k=0, top_p=1.0) if do_sample else dict(do_sample=False)
                ids = model.generate(**batch, max_new_tokens=max_new_tokens, pad_token_id=tokenizer.pad_token_id,
                                     eos_token_id=tokenizer.eos_token_id, **kwargs)
                out += tokenizer.batch_decode(ids[:, batch["input_ids"].shape[1] :], skip_special_tokens=True)
    finally:
        model.train(was_training)
    return out


def evaluate_policy(
    model, tokenizer, rows: Sequence[dict], max_new_tokens: int, k: int = 0, temperature: float = 1.0, seed: int = 0,
    hint_ratios: Sequence[float] = (), hint_levels: Sequence[str] = (),
) -> dict:
    """Accuracy per level on ``rows`` (dicts with prompt, solution, level; solution_hint for hints).

    Returns ``greedy/<level>`` (pass@1, greedy decoding) and, when ``k > 0``, ``avg@k/<level>`` (mean accuracy of
    ``k`` samples at ``temperature``), plus ``greedy/all`` / ``avg@k/all`` (mean over levels): all without hints,
    scored on the boxed answer. Beside them (issue 28) the same samples scored by the training reward's rule
    (``score_steps``: right box AND every scratchpad line right, what RL pays): ``valid_greedy/<level>`` and
    ``valid@k/<level>`` (and ``/all``). Per problem, in ``rows`` order within a level: ``problems/<mode>/<level>``,
    the number right out of 1 (greedy modes) or ``k`` (sampled modes), for bootstraps over problems.
    With ``hint_ratios``, also ``hint@<w>/greedy/<level>`` for ``hint_levels``: greedy accuracy with the first w of
    the worked solution after the prompt, cut as the trainer cuts it (policy tokens, the last-step rule), over the
    problems that have such a cut: how much the policy still leans on hints (hint dependence).
    """
    prompts = [r["prompt"] for r in rows]
    result: dict = {}
    modes = [("greedy", "valid_greedy", 1, False)] + ([(f"avg@{k}", f"valid@{k}", k, True)] if k > 0 else [])
    for name, valid_name, reps, sample in modes:
        texts = generate(model, tokenizer, [p for p in prompts for _ in range(reps)], max_new_tokens, do_sample=sample,
                         temperature=temperature, generator_seed=seed if sample else None)
        for mode, score in ((name, score_boxed), (valid_name, score_steps)):
            per_level: dict[str, list[int]] = defaultdict(list)  # level -> right answers per problem (of reps)
            for i, row in enumerate(rows):
                per_level[row["level"]].append(int(sum(score(t, row["solution"]) for t in texts[i * reps : (i + 1) * reps])))
            for level, counts in per_level.items():
                result[f"{mode}/{level}"] = sum(counts) / (reps * len(counts))
                result[f"problems/{mode}/{level}"] = counts
            result[f"{mode}/all"] = sum(result[f"{mode}/{lv}"] for lv in per_level) / len(per_level)
    offsets = tokenizer_offsets(tokenizer)
    for w in hint_ratios:
        hinted = [(r, cut_hint(r["solution_hint"], w, "token", offsets)) for r in rows if r["level"] in hint_levels]
        hinted = [(r, h) for r, h in hinted if h]
        texts = generate(model, tokenizer, [r["prompt"] + HINT_TEMPLATE.format(hint=h) for r, h in hinted],
                         max_new_tokens)
        per_level = defaultdict(list)
        for (r, _), text in zip(hinted, texts):
            per_level[r["level"]].append(score_boxed(text, r["solution"]))
        for level, values in per_level.items():
            result[f"hint@{w:g}/greedy/{level}"] = sum(values) / len(values)
    return result


class EvalCallback(TrainerCallback):
    """Evaluates the policy without hints at step 0 and every ``every`` optimizer steps (and at the end).

    Each record is ``{"step", "eval_s", **evaluate_policy(...)}`` appended to ``self.records``; evaluation time is
    measured separately so training wall time can exclude it.
    """

    def __init__(self, tokenizer, rows, every: int, max_new_tokens: int, k: int = 0, seed: int = 0,
                 hint_ratios: Sequence[float] = (), hint_levels: Sequence[str] = ()):
        self.tokenizer, self.rows, self.every = tokenizer, list(rows), every
        self.max_new_tokens, self.k, self.seed = max_new_tokens, k, seed
        self.hint_ratios, self.hint_levels = tuple(hint_ratios), tuple(hint_levels)
        self.records: list[dict] = []
        self.eval_seconds = 0.0

    def _run(self, model, step: int) -> None:
        t0 = time.perf_counter()
        metrics = evaluate_policy(model, self.tokenizer, self.rows, self.max_new_tokens, self.k, seed=self.seed + step,
                                  hint_ratios=self.hint_ratios, hint_levels=self.hint_levels)
        dt = time.perf_counter() - t0
        self.eval_seconds += dt
        self.records.append({"step": step, "eval_s": dt, **metrics})

    def on_train_begin(self, args, state, control, model=None, **kwargs):
        self._run(model, 0)

    def on_step_end(self, args, state, control, model=None, **kwargs):
        if state.global_step % self.every == 0 and state.global_step < state.max_steps:
            self._run(model, state.global_step)

    def on_train_end(self, args, state, control, model=None, **kwargs):
        if not self.records or self.records[-1]["step"] != state.global_step:
            self._run(model, state.global_step)
