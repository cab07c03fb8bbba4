"""Which built-in levels make a good CPU quickstart for the embedded SmolLM2: weak without a hint, helped by one.

Prints a table of per-level accuracy (math-verify on \\boxed answers) without a hint and with hints of several
ratios, sampled like training (chat prompt with the default system prompt). Usage:
    python benchmarks/quickstart_levels.py --levels 2x1,2x2,3x2 --problems 8 --samples 4
"""

import argparse
import time

import torch

from ghpo.data import DEFAULT_SYSTEM_PROMPT, make_arith_dataset
from ghpo.guidance import cut_hint, render_hinted_prompt
from ghpo.models import load_model_and_tokenizer
from ghpo.rewards import check_answer


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", default="smollm2-135m-instruct")
    ap.add_argument("--levels", default="2x1,2x2,3x2")
    ap.add_argument("--ratios", default="0,0.5")
    ap.add_argument("--problems", type=int, default=8)
    ap.add_argument("--samples", type=int, default=4)
    ap.add_argument("--temperature", type=float, default=1.0)
    ap.add_argument("--max_new_tokens", type=int, default=128)
    ap.add_argument("--seed", type=int, default=0)
    a = ap.parse_args()
    torch.manual_seed(a.seed)
    model, tok = load_model_and_tokenizer(a.model)
    rows = []
    for level in a.levels.split(","):
        ds = make_arith_dataset(a.problems, levels=[level], seed=a.seed, system_prompt=DEFAULT_SYSTEM_PROMPT)
        for ratio in [float(r) for r in a.ratios.split(",")]:
            t0 = time.time()
            prompts = [
                render_hinted_prompt(r["prompt"], cut_hint(r["solution_hint"], ratio, unit="token")) if ratio else r["prompt"]
                for r in ds
            ]
            texts = [tok.apply_chat_template(p, tokenize=False, add_generation_prompt=True) for p in prompts]
            enc = tok(texts, return_tensors="pt", padding=True, add_special_tokens=False)
            with torch.no_grad():
                out = model.generate(**enc, do_sample=True, temperature=a.temperature, max_new_tokens=a.max_new_tokens,
                                     num_return_sequences=a.samples, pad_token_id=tok.pad_token_id)
            completions = tok.batch_decode(out[:, enc["input_ids"].shape[1]:], skip_special_tokens=True)
            scores = [check_answer(c, ds[i // a.samples]["solution"]) or 0.0 for i, c in enumerate(completions)]
            groups = [scores[i * a.samples:(i + 1) * a.samples] for i in range(len(ds))]
            solved = sum(1 for g in groups if max(g) > 0)
            rows.append((level, ratio, sum(scores) / len(scores), solved, len(ds), time.time() - t0))
            print(f"| {level} | {ratio:.2f} | {rows[-1][2]:.1%} | {solved}/{len(ds)} | {rows[-1][5]:.0f}s |", flush=True)
    print("\n| level | hint ratio | accuracy | groups with >=1 right | time |\n|---|---|---|---|---|")
    for level, ratio, acc, solved, n, dt in rows:
        print(f"| {level} | {ratio:.2f} | {acc:.1%} | {solved}/{n} | {dt:.0f}s |")


if __name__ == "__main__":
    main()
