"""What the no-leak rule costs: hint availability and length per stage, old rule against new, on real solutions.

No model runs. For each data set and hint unit, every problem's worked solution is cut at each stage ratio by
``ghpo.guidance.cut_hint`` twice: under the old rule (the answer line and the last reasoning step removed; gold
unknown) and under the new one (also stop before the first sentence that states the gold value; math-verify as
the fallback compare). Per stage it prints the share of problems with a usable (non-empty) hint and the mean hint
length as a share of the worked solution (characters, answer line excluded; 0 where no hint), with how many old
hints stated the gold (the leaks the new rule removes) and how often the gold is stated before the last step
(a true early statement or a coincidence: either way the hint gets shorter, the safe side).

    python benchmarks/hint_leak_rule.py                         # the docs/HINTS.md table
    python benchmarks/hint_leak_rule.py --gsm 200 --examples 5  # smaller, with examples of early statements
"""

from __future__ import annotations

import argparse
import os
import platform
import random
import subprocess
import sys
import time

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

from ghpo.data import load_champ_dataset, load_gsm_symbolic_dataset, make_arith_dataset  # noqa: E402
from ghpo.guidance import (  # noqa: E402
    STAGED_RATIOS,
    answer_step_start,
    cut_hint,
    gold_statement_start,
    states_gold,
    strip_final_answer,
    tokenizer_offsets,
)
from ghpo.organism.task import make_rows  # noqa: E402
from ghpo.rewards import same_math_value  # noqa: E402

UNITS = ("token", "step", "char")


def load_sets(gsm_size: int) -> dict[str, list[tuple[str, str]]]:
    """(worked solution, gold) per problem of each data set."""
    def pairs(rows):
        return [(r["solution_hint"], r["solution"]) for r in rows if r["solution_hint"]]

    return {
        f"gsm_symbolic ({gsm_size})": pairs(load_gsm_symbolic_dataset(gsm_size, seed=0, chat=False)),
        "champ (270)": pairs(load_champ_dataset(chat=False)),
        "arith:3x1,4x1 (quickstart, 256)": pairs(make_arith_dataset(256, ["3x1", "4x1"], seed=42, chat=False)),
        "organism 5x1 (600)": pairs(make_rows(600, ["5x1"], seed=0)),
    }


def policy_offsets():
    """The embedded SmolLM2's token offsets for the token unit (whitespace words if the model is not at hand)."""
    try:
        from transformers import AutoTokenizer

        from ghpo.models import resolve_model

        return tokenizer_offsets(AutoTokenizer.from_pretrained(resolve_model("smollm2-135m-instruct"))), "SmolLM2 tokens"
    except Exception as exc:  # noqa: BLE001 - any failure here only changes the unit's tokenizer, said in the table
        print(f"(token unit: whitespace words; SmolLM2 tokenizer unavailable: {type(exc).__name__}: {exc})", file=sys.stderr)
        return None, "whitespace words"


def measure(pairs, unit, offsets) -> dict:
    rows = {}
    for ratio in STAGED_RATIOS:
        old_len, new_len, old_ok, new_ok, leaks, new_leaks = [], [], 0, 0, 0, 0
        for solution, gold in pairs:
            body = len(strip_final_answer(solution)) or 1
            old = cut_hint(solution, ratio, unit, offsets)
            new = cut_hint(solution, ratio, unit, offsets, gold=gold, same_value=same_math_value)
            old_ok += bool(old)
            new_ok += bool(new)
            old_len.append(len(old) / body)
            new_len.append(len(new) / body)
            leaks += bool(old) and states_gold(old, gold, same_math_value)
            new_leaks += bool(new) and states_gold(new, gold, same_math_value)
        n = len(pairs)
        rows[ratio] = dict(old_ok=old_ok / n, new_ok=new_ok / n, old_len=sum(old_len) / n, new_len=sum(new_len) / n,
                           leaks=leaks / n, new_leaks=new_leaks)
    return rows


def early_statements(pairs, rng: random.Random, examples: int):
    """How often the gold is stated before the last reasoning step, and in the very first sentence; some examples."""
    early, first, shown = 0, 0, []
    for solution, gold in pairs:
        text = strip_final_answer(solution)
        at = gold_statement_start(text, gold, same_math_value)
        if at is not None and at < answer_step_start(text):
            early += 1
            first += at == 0
            shown.append((gold, text[: at + 160]))
    rng.shuffle(shown)
    return early / len(pairs), first / len(pairs), shown[:examples]


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--gsm", type=int, default=1000, help="gsm_symbolic problems (seed 0)")
    parser.add_argument("--examples", type=int, default=0, help="print this many early statements per set")
    args = parser.parse_args(argv)
    started = time.time()
    offsets, token_label = policy_offsets()
    sets = load_sets(args.gsm)
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True).stdout.strip()
    print(f"# python benchmarks/hint_leak_rule.py --gsm {args.gsm}   (commit {commit}, {platform.processor() or platform.machine()}; "
          f"token unit: {token_label})\n")
    print("| data | unit | stage | usable old | usable new | length old | length new | old hints stating the gold |")
    print("|---|---|---|---|---|---|---|---|")
    early_rows = []
    for name, pairs in sets.items():
        for unit in UNITS:
            for ratio, r in measure(pairs, unit, offsets if unit == "token" else None).items():
                assert r["new_leaks"] == 0, f"{name} {unit} {ratio}: {r['new_leaks']} new hints state the gold"
                print(f"| {name} | {unit} | {ratio:g} | {r['old_ok']:.0%} | {r['new_ok']:.0%} | {r['old_len']:.0%} | "
                      f"{r['new_len']:.0%} | {r['leaks']:.0%} |")
        early_rows.append((name, *early_statements(pairs, random.Random(0), args.examples)))
    print("\n| data | gold stated before the last step | ... in the first sentence (no hint at all) |")
    print("|---|---|---|")
    for name, early, first, _ in early_rows:
        print(f"| {name} | {early:.0%} | {first:.0%} |")
    for name, _, _, shown in early_rows:
        for gold, text in shown:
            print(f"\n[{name}] gold {gold!r}:\n{text}")
    print(f"\n({time.time() - started:.0f} s; new hints stating the gold: 0 in every cell, checked)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
