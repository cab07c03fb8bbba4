"""Do hints help the embedded model, and where should they go? Generation only, no training.

For SmolLM2-135M-Instruct (or any model) on graded arithmetic (and gsm_symbolic), samples G completions per problem
without a hint and with a hint of each ratio, placement ('prompt': the paper's sentence in the user message;
'response': the hint opens the assistant's answer, which the model continues) and unit (policy tokens or whole
steps), at each temperature, exactly as GHPOTrainer renders and tokenizes them. Hints are cut by
``ghpo.guidance.cut_hint``: never the final answer, never the last reasoning step (issue 9).

Per cell it prints: accuracy (mean over problems of the share of right samples) with a 95% t-interval over
problems; the share of groups with a right answer (Wilson 95%); and the *rescue rate*: among problems whose
no-hint group was all wrong, the share the hinted group gets right, next to the same share for a second,
independent no-hint group (the re-roll baseline: an all-wrong group of 4 can simply be unlucky). For prompt-placed
hints also the *restatement rate*: the share of hinted samples (and of the right ones) whose completion writes out
every step of the hint, in order (``restates``). ``hint_training: original`` trains a hint-guided completion under the
unhinted prompt; that is a whole solution only where the completion restates its hint (issue 28).
Identical prompts are sampled once and shared by the cells that use them (e.g. 0.5 and 0.75 step cuts of a
2-step solution are the same 1-step hint).

    python benchmarks/hint_probe.py                                    # the docs/HINTS.md table
    python benchmarks/hint_probe.py --levels 3x1 --problems 8 --temperatures 1.0 --no-gsm   # a quick look
    python benchmarks/hint_probe.py --levels 4x1,5x1 --placements prompt --units step --ratios 0.5 \
        --temperatures 1.0 --gsm-ratios 0.5          # issue 28: does SmolLM2 restate prompt hints?
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import re
import statistics
import subprocess
import sys
import time

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

import torch  # noqa: E402

from ghpo.data import DEFAULT_SYSTEM_PROMPT, load_training_dataset, make_arith_dataset  # noqa: E402
from ghpo.evaluate import tokenize_prompt  # noqa: E402
from ghpo.guidance import (  # noqa: E402
    cut_hint,
    default_hint_template,
    render_hinted_prompt,
    split_steps,
    strip_final_answer,
    tokenizer_offsets,
)
from ghpo.models import load_model_and_tokenizer  # noqa: E402
from ghpo.report import mean_ci95  # noqa: E402
from ghpo.rewards import accuracy_reward  # noqa: E402

def wilson(k: int, n: int) -> tuple[float, float]:
    """95% Wilson interval of a proportion k/n."""
    if n == 0:
        return float("nan"), float("nan")
    z, p = 1.96, k / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return centre - half, centre + half


def load_problems(level: str, n: int, seed: int) -> list[dict]:
    if level == "gsm_symbolic":
        ds = load_training_dataset("gsm_symbolic", size=n, seed=seed, system_prompt=DEFAULT_SYSTEM_PROMPT)
    else:
        ds = make_arith_dataset(n, levels=[level], seed=seed, system_prompt=DEFAULT_SYSTEM_PROMPT)
    return [dict(r) for r in ds]


class Sampler:
    """Samples G completions per unique prompt (token ids), batched by length, cached across cells."""

    def __init__(self, model, tok, samples: int, max_new_tokens: int, batch_size: int):
        self.model, self.tok, self.G = model, tok, samples
        self.max_new_tokens, self.batch_size = max_new_tokens, batch_size
        self.cache: dict[tuple, list[str]] = {}
        self.tokens = 0

    @torch.no_grad()
    def run(self, prompt_ids: list[tuple[int, ...]], temperature: float, reps: int = 1) -> None:
        todo = sorted({p for p in prompt_ids if (p, temperature, reps) not in self.cache}, key=len)
        per_batch = max(1, self.batch_size // (self.G * reps))
        for start in range(0, len(todo), per_batch):
            chunk = todo[start:start + per_batch]
            width = max(map(len, chunk))
            pad = self.tok.pad_token_id
            ids = torch.tensor([[pad] * (width - len(p)) + list(p) for p in chunk])
            mask = torch.tensor([[0] * (width - len(p)) + [1] * len(p) for p in chunk])
            out = self.model.generate(input_ids=ids, attention_mask=mask, do_sample=True, temperature=temperature,
                                      top_p=1.0, top_k=0, max_new_tokens=self.max_new_tokens,
                                      num_return_sequences=self.G * reps, pad_token_id=pad)
            new = out[:, width:]
            self.tokens += int((new != pad).sum())
            texts = self.tok.batch_decode(new, skip_special_tokens=True)
            for k, p in enumerate(chunk):
                self.cache[(p, temperature, reps)] = texts[k * self.G * reps:(k + 1) * self.G * reps]


def hinted_prompt_ids(tok, row: dict, hint: str, placement: str) -> tuple[tuple[int, ...], str]:
    """(prompt ids, response prefix) as GHPOTrainer builds them; no hint -> the plain generation prompt."""
    if not hint:
        return tuple(tokenize_prompt(tok, row["prompt"])), ""
    template = default_hint_template(placement)
    prefix = template.format(hint=hint) if placement == "response" else ""
    return tuple(tokenize_prompt(tok, render_hinted_prompt(row["prompt"], hint, template, placement))), prefix


def restates(completion: str, hint: str) -> bool:
    r"""Whether ``completion`` writes out every step of ``hint`` in order (whitespace-insensitive).

    >>> restates("Step 1: 2 + 3 = 5\nStep 2: 5 - 1 = 4\n\\boxed{4}", "Step 1: 2 + 3 = 5")
    True
    >>> restates("Step 2: 5 - 1 = 4\n\\boxed{4}", "Step 1: 2 + 3 = 5")
    False
    >>> restates("Step 1:  2 + 3\n= 5", "Step 1: 2 + 3 = 5")
    True
    """
    text, pos = " ".join(completion.split()), 0
    for step in split_steps(hint):
        pos = text.find(" ".join(step.split()), pos)
        if pos < 0:
            return False
    return True


def score(texts: list[str], gold: str, prefix: str) -> list[float]:
    return [v or 0.0 for v in accuracy_reward(texts, [gold] * len(texts), response_prefix=[prefix] * len(texts))]


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", default="smollm2-135m-instruct")
    ap.add_argument("--levels", default="3x1,4x1,5x1", help="arith levels (AxD: A terms, A-1 steps)")
    ap.add_argument("--gsm", dest="gsm", action="store_true", default=True, help="also gsm_symbolic (default)")
    ap.add_argument("--no-gsm", dest="gsm", action="store_false")
    ap.add_argument("--gsm-temperatures", default="0.7", help="temperatures for gsm_symbolic (long answers: costly)")
    ap.add_argument("--ratios", default="0.25,0.5,0.75")
    ap.add_argument("--placements", default="prompt,response")
    ap.add_argument("--units", default="token,step")
    ap.add_argument("--temperatures", default="1.0,0.7")
    ap.add_argument("--problems", type=int, default=32)
    ap.add_argument("--samples", type=int, default=4, help="G: samples per problem and cell")
    ap.add_argument("--max-new-tokens", type=int, default=80)
    ap.add_argument("--gsm-max-new-tokens", type=int, default=160)
    ap.add_argument("--gsm-ratios", default="0.5,0.75", help="gsm_symbolic answers are long: fewer cells")
    ap.add_argument("--gsm-units", default="token")
    ap.add_argument("--batch-size", type=int, default=64, help="sequences per generate call")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--dtype", default="float32", help="model weights dtype (the quickstart trains in float32)")
    ap.add_argument("--out", default=None, help="JSON with every cell (default: none)")
    a = ap.parse_args(argv)
    torch.set_num_threads(a.threads)
    torch.manual_seed(a.seed)
    t_start = time.time()
    model, tok = load_model_and_tokenizer(a.model, dtype=a.dtype)
    ratios = [float(r) for r in a.ratios.split(",")]
    placements, units = a.placements.split(","), a.units.split(",")
    offsets = tokenizer_offsets(tok)

    # Temperatures outermost, gsm_symbolic last: the first rows printed already answer the main question.
    jobs = [(lv, float(t), a.max_new_tokens, ratios, units) for t in a.temperatures.split(",") for lv in a.levels.split(",") if lv]
    if a.gsm:
        gsm_ratios = [float(r) for r in a.gsm_ratios.split(",")]
        jobs += [("gsm_symbolic", float(t), a.gsm_max_new_tokens, gsm_ratios, a.gsm_units.split(","))
                 for t in a.gsm_temperatures.split(",")]

    cells, examples, leaks = [], [], []
    rows_by_level: dict[str, list[dict]] = {}
    samplers: dict[str, Sampler] = {}
    for level, temp, max_new, level_ratios, level_units in jobs:
        if level not in rows_by_level:
            rows_by_level[level] = load_problems(level, a.problems, a.seed)
            samplers[level] = Sampler(model, tok, a.samples, max_new, a.batch_size)
        rows, sampler = rows_by_level[level], samplers[level]
        steps = statistics.fmean(len(split_steps(strip_final_answer(r["solution_hint"]))) for r in rows)
        # Every condition's prompt per problem: (ratio, placement, unit) -> [(ids, prefix, hint)].
        conds: dict[tuple, list[tuple]] = {}
        for ratio in level_ratios:
            for unit in level_units:
                hints = [cut_hint(r["solution_hint"], ratio, unit, offsets if unit == "token" else None) for r in rows]
                for r, h in zip(rows, hints):
                    problem_numbers = set(_numbers(r.get("problem", "")))
                    if h and r["solution"] in set(_numbers(h)) - problem_numbers and temp == float(a.temperatures.split(",")[0]):
                        leaks.append(dict(level=level, ratio=ratio, unit=unit, gold=r["solution"], hint=h))
                for placement in placements:
                    conds[(ratio, placement, unit)] = [(*hinted_prompt_ids(tok, r, h, placement), h) for r, h in zip(rows, hints)]
        plain = [hinted_prompt_ids(tok, r, "", "prompt")[0] for r in rows]
        t0, tok0 = time.time(), sampler.tokens
        sampler.run(plain, temp, reps=2)  # two independent no-hint groups: the group and its re-roll
        sampler.run([ids for c in conds.values() for ids, _, _ in c], temp)
        gen_s, gen_tok = time.time() - t0, sampler.tokens - tok0
        base = [score(sampler.cache[(p, temp, 2)], r["solution"], "") for p, r in zip(plain, rows)]
        group_a = [b[: a.samples] for b in base]
        group_b = [b[a.samples:] for b in base]
        wrong = [i for i, g in enumerate(group_a) if max(g) == 0]
        reroll = sum(1 for i in wrong if max(group_b[i]) > 0)

        def cell(name, per_problem, hinted_n, restated=None):
            acc, half = mean_ci95([statistics.fmean(g) for g in per_problem])
            solved = sum(1 for g in per_problem if max(g) > 0)
            rescued = sum(1 for i in wrong if max(per_problem[i]) > 0)
            cells.append(dict(level=level, steps=steps, temperature=temp, condition=name, accuracy=acc,
                              accuracy_ci=half, groups_right=solved, groups=len(per_problem),
                              groups_right_ci=wilson(solved, len(per_problem)), all_wrong_unhinted=len(wrong),
                              rescued=rescued, rescued_ci=wilson(rescued, len(wrong)), reroll=reroll,
                              hinted_problems=hinted_n, gen_s=gen_s, gen_tokens=gen_tok,
                              **(restated or {})))
            print(format_row(cells[-1]), flush=True)

        cell("no hint", group_a, 0)
        for (ratio, placement, unit), c in conds.items():
            per_problem = [score(sampler.cache[(ids, temp, 1)], r["solution"], prefix)
                           for (ids, prefix, _), r in zip(c, rows)]
            restated = None
            if placement == "prompt":  # (restated, right) per hinted sample
                marks = [(restates(t, h), v > 0) for (ids, _, h), g in zip(c, per_problem) if h
                         for t, v in zip(sampler.cache[(ids, temp, 1)], g)]
                restated = dict(samples=len(marks), restated=sum(m for m, _ in marks),
                                right=sum(r for _, r in marks), right_restated=sum(m and r for m, r in marks))
            cell(f"{placement} {unit} {ratio:g}", per_problem, sum(1 for *_, h in c if h), restated)
            k = next((i for i, (*_, h) in enumerate(c) if h), None)
            if k is not None and ratio == level_ratios[-1] and unit == level_units[0] and temp == jobs[0][1]:
                examples.append(dict(level=level, placement=placement, unit=unit, ratio=ratio, gold=rows[k]["solution"],
                                     prompt=tok.decode(list(c[k][0])), completion=sampler.cache[(c[k][0], temp, 1)][0]))
        print(f"# {level} T={temp}: {len(rows)} problems, {gen_tok} tokens generated in {gen_s:.0f} s", flush=True)
        if a.out:  # after every level, so a long run that is stopped keeps what it measured
            with open(a.out, "w") as f:
                json.dump(dict(argv=sys.argv[1:] if argv is None else argv, cells=cells, examples=examples, leaks=leaks),
                          f, indent=1)

    header = ("| level | steps | T | condition | accuracy % (95% CI) | groups with a right answer | rescued / all-wrong "
              "unhinted (re-roll) | hinted problems | restate the hint: samples / right ones |")
    lines = [header, "|" + "---|" * 9] + [format_row(c) for c in cells]
    table = "\n".join(lines)
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True).stdout.strip()
    print()
    print(f"command: python benchmarks/{os.path.basename(__file__)} {' '.join(sys.argv[1:] if argv is None else argv)}")
    print(f"model {a.model}, G={a.samples}, {a.problems} problems per level, seed {a.seed}, torch {torch.__version__}, "
          f"{os.cpu_count()} CPUs ({platform.machine()}), commit {commit}, {time.time() - t_start:.0f} s in all")
    print(f"hints holding the gold answer as a number that the problem does not hold: {len(leaks)} (listed below; "
          "an intermediate result can equal the answer by chance)")
    print()
    print(table)
    print("\nExamples (first hinted problem, last ratio, first unit, first temperature; read them: no answer in a hint):")
    for e in examples:
        print(f"\n--- {e['level']} {e['placement']} {e['unit']} {e['ratio']:g} (gold {e['gold']})\n{e['prompt']}"
              f"[COMPLETION]{e['completion']}")
    for leak in leaks:
        print(f"  {leak}")
    return 0


def format_row(c: dict) -> str:
    lo, hi = c["groups_right_ci"]
    resc = f"{c['rescued']}/{c['all_wrong_unhinted']}" if c["condition"] != "no hint" else "-"
    return (f"| {c['level']} | {c['steps']:.1f} | {c['temperature']:g} | {c['condition']} | {100 * c['accuracy']:.1f} "
            f"± {100 * c['accuracy_ci']:.1f} | {c['groups_right']}/{c['groups']} ({100 * lo:.0f}-{100 * hi:.0f}%) | "
            f"{resc} ({c['reroll']}/{c['all_wrong_unhinted']}) | {c['hinted_problems']}/{c['groups']} | "
            + (f"{c['restated']}/{c['samples']} / {c['right_restated']}/{c['right']} |" if "restated" in c else "- |"))


def _numbers(text: str) -> list[str]:
    text = re.sub(r"Step \d+:", " ", text.replace(",", ""))  # step labels are not results
    return re.findall(r"-?\d+(?:\.\d+)?", text)


if __name__ == "__main__":
    sys.exit(main())
