"""Where the hard tokens of a 5x1 scratchpad are, per warm start: what each hint stage hands the policy, and what
Guide-GRPO's ratio does to the hint's tokens under ``hint_training: imitate`` (issue 28).

For each rung's warm start (the ladder's, from the cache; built if missing, ~7-12 min) and the RL training problems,
the warm start's probability of each token of the reference scratchpad given the problem and the lines before it,
summarised per line: the mean token probability, the mean of each line's least likely token, the mean probability
of the whole line, and the share of lines the warm start writes with probability above 0.5. Under
``hint_off_policy_correction: guide`` a copied hint token's ratio is this probability (its behaviour probability is
1), so where its group advantage is positive a hint token with probability 0.1 moves the policy about a tenth as
much as under plain ``imitate`` (where it is negative and the probability below 0.8, PPO's clip stops it).

    python benchmarks/organism_line_probability.py --glimpses 600 800 1500
"""

from __future__ import annotations

import argparse
import math
import sys

import torch


def line_probabilities(model, tok, rows: list[dict]) -> dict[int, list[tuple[float, float, float]]]:
    """Per scratchpad line (0-based): per problem, (mean token prob, least likely token's prob, line prob)."""
    by_line: dict[int, list[tuple[float, float, float]]] = {}
    for r in rows:
        ids, spans = list(tok(r["prompt"])["input_ids"]), []
        lines = r["solution_hint"].split("\n")
        for k, line in enumerate(lines):
            piece = tok(line + ("\n" if k < len(lines) - 1 else ""), add_special_tokens=False)["input_ids"]
            spans.append((len(ids), len(ids) + len(piece)))
            ids += piece
        with torch.no_grad():
            logp = torch.log_softmax(model(torch.tensor([ids])).logits[0].float(), dim=-1)
        for k, (a, b) in enumerate(spans):
            token_logp = [logp[t - 1, ids[t]].item() for t in range(a, b)]
            probs = [math.exp(x) for x in token_logp]
            by_line.setdefault(k, []).append((sum(probs) / len(probs), min(probs), math.exp(sum(token_logp))))
    return by_line


def main(argv=None) -> int:
    from ghpo.organism import warm_start
    from ghpo.organism.budget import Budget
    from ghpo.organism.results import cpu_name, git_commit
    from ghpo.organism.runs import quiet, train_rows, weights_sha256
    from transformers import AutoModelForCausalLM, AutoTokenizer

    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--glimpses", type=int, nargs="+", default=[600, 800, 1500])
    p.add_argument("--problems", type=int, default=300, help="RL training problems read per rung")
    a = p.parse_args(argv)
    torch.set_num_threads(1)
    quiet()
    command = "python benchmarks/organism_line_probability.py " + " ".join(argv if argv is not None else sys.argv[1:])
    print(f"```\n{command}\n```\nCommit `{git_commit()}`, {cpu_name()}.\n")
    print("| rung | weights | line | mean token prob | mean least likely token | mean line prob | lines > 0.5 |")
    print("|---|---|---|---|---|---|---|")
    for glimpse in a.glimpses:
        budget = Budget()
        budget = budget.with_glimpse(glimpse)
        model_dir = warm_start(budget.warm)
        tok = AutoTokenizer.from_pretrained(model_dir)
        model = AutoModelForCausalLM.from_pretrained(model_dir).eval()
        rows = [r for r in train_rows(budget) if r["level"] == "5x1"][: a.problems]
        sha = weights_sha256(model_dir)[:12]
        last = len(rows[0]["solution_hint"].split("\n")) - 1  # the \boxed{} line, never part of a hint
        for k, values in sorted(line_probabilities(model, tok, rows).items()):
            n = len(values)
            mean = [sum(v[i] for v in values) / n for i in range(3)]
            share = sum(v[2] > 0.5 for v in values) / n
            label = "boxed" if k == last else str(k + 1)
            print(f"| {glimpse} | `{sha}` | {label} | {mean[0]:.3f} | {mean[1]:.3f} | {mean[2]:.3f} | {share:.2f} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
