"""Issue 21: the organism on a difficulty ladder of warm starts, GHPO's gain against each rung's base accuracy.

A rung is a warm start with a given 5x1 glimpse in SFT (more rows: an easier hard level). Each rung runs the ordinary
benchmark (``organism_compare.py``) in ``<out>/glimpse<N>``: ``gates`` (warm start, regime probe, plain GRPO x seeds),
then ``compare`` (the arms, run on every rung even where a gate fails: the point is what each rung can show, so each
comparison is labelled with its gates), then ``report`` writes ``<out>/LADDER.md`` and ``<out>/ladder.png``
(``ghpo.organism.ladder``). Every rung must be built on the machine that runs its parts: warm starts differ across
CPUs, and a part refuses a warm start whose weights differ from its gates part's.

    python benchmarks/organism_ladder.py --glimpses 600 800 1000 --part probe               # warm starts + regime only
    python benchmarks/organism_ladder.py --glimpses 600 800 1000 --part gates --jobs 2      # per rung ~20-40 min
    python benchmarks/organism_ladder.py --glimpses 600 800 1000 --part compare --jobs 2    # ~45 min a rung
    python benchmarks/organism_ladder.py --glimpses 600 800 1000 --part compare --arms grpo --until-tokens-of staged
                                                       # GRPO run on to staged's token total (arm grpo@staged)
    python benchmarks/organism_ladder.py --glimpses 600 800 1000 --part report
    python benchmarks/organism_ladder.py --quick --out /tmp/ladder                          # smoke test

A part that an earlier sitting already left in a rung's folder (the gates; an arm run for every seed) is skipped, so
``--part all`` resumes a ladder; ``--redo`` runs it again.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import sys
from pathlib import Path

from ghpo.organism.budget import token_budget_label
from ghpo.organism.ladder import rung_summary, write_ladder

HERE = Path(__file__).resolve().parent
ARMS = ("staged", "reroll")


def _compare_main():
    spec = importlib.util.spec_from_file_location("organism_compare", HERE / "organism_compare.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.main


def write_probe(out: Path, glimpses: list[int], command: str, quick: bool = False) -> None:
    """Per rung: build (or load) the warm start as the benchmark does (one torch thread), then its starting accuracy
    and the regime probe on the training level (groups of G all wrong unhinted, and rescued by which stage)."""
    import time

    import torch

    from ghpo.organism import load_warm_start, warm_start
    from ghpo.organism.budget import QUICK, Budget
    from ghpo.organism.results import cpu_name, git_commit
    from ghpo.organism.runs import quiet, regime_probe, train_rows, weights_sha256

    torch.set_num_threads(1)
    quiet()
    L = ["# Ladder probe: where each warm start lands (issue 21)\n", f"```\n{command}\n```\n",
         f"Commit `{git_commit()}`, {cpu_name()}. Starting accuracy: greedy, 100 held-out problems per level. Probe: "
         "96 training problems of 5x1, groups of 8 at temperature 1, unhinted then staged hints (token cut).\n",
         "| 5x1 glimpse | warm start (s) | greedy 2x1 / 3x1 / 4x1 | greedy 5x1 | unhinted sampled 5x1 | groups all wrong | "
         "rescued @0.25 / 0.5 / 0.75 | rescued of all-wrong | weights |", "|---|---|---|---|---|---|---|---|---|"]
    for g in glimpses:
        budget = QUICK if quick else Budget()
        budget = budget.with_glimpse(g)
        t0 = time.perf_counter()
        model_dir = warm_start(budget.warm, log=print)
        built = time.perf_counter() - t0
        acc = load_warm_start(model_dir)["start_accuracy"]
        pr = regime_probe(model_dir, train_rows(budget), budget)["5x1"]
        rescued = sum(pr["rescued"].values())
        L.append(f"| {g} | {built:.0f} | {100 * acc['greedy/2x1']:.0f} / {100 * acc['greedy/3x1']:.0f} / "
                 f"{100 * acc['greedy/4x1']:.0f}% | {100 * acc['greedy/5x1']:.0f}% | "
                 f"{100 * pr['mean_correct_unhinted']:.1f}% | {pr['all_wrong']} of {pr['groups']} | "
                 f"{' / '.join(str(v) for v in pr['rescued'].values())} | "
                 f"{100 * rescued / max(1, pr['all_wrong']):.0f}% | `{weights_sha256(model_dir)[:12]}` |")
        print(L[-1], flush=True)
    (out / "PROBE.md").write_text("\n".join(L) + "\n")


def done_parts(rung: Path, seeds) -> dict:
    """What an earlier sitting left in ``rung``: whether its gates part ran, and the arms run for every seed (a
    ladder is run in parts over several sittings; the compare part itself refuses results from another warm start)."""
    path = rung / "organism_results.json"
    if not path.exists():
        return {"gates": False, "arms": set()}
    saved = json.loads(path.read_text())
    want = set(seeds or saved["budget"]["seeds"])
    arms = {arm for arm in {r["arm"] for r in saved["runs"]}
            if want <= {r["seed"] for r in saved["runs"] if r["arm"] == arm}}
    return {"gates": any(p["part"] == "gates" for p in saved["parts"]), "arms": arms}


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--glimpses", type=int, nargs="+", default=[600, 800, 1000], help="5x1 SFT rows per rung.")
    p.add_argument("--part", choices=("probe", "gates", "compare", "all", "report"), default="all",
                   help="probe: each rung's warm start, starting accuracy and regime probe only (PROBE.md), to place "
                        "the rungs before spending hours; gates, compare: the benchmark's parts; report: LADDER.md.")
    p.add_argument("--out", default="docs/ladder")
    p.add_argument("--steps", type=int, default=240, help="Optimizer steps per arm (GRPO plateaued by 240 on v3).")
    p.add_argument("--eval-every", type=int, default=40, help="Steps between evaluations (v3: 20; 40 halves eval time).")
    p.add_argument("--arms", nargs="+", default=list(ARMS), help="Arms besides grpo (default: staged reroll).")
    tokens = p.add_mutually_exclusive_group()
    tokens.add_argument("--until-tokens-of", metavar="ARM", default=None,
                        help="compare part: run --arms (grpo allowed) until each rung's run has sampled ARM's mean "
                             "token total at that rung, stored as <arm>@<ARM> (organism_compare.py's option).")
    tokens.add_argument("--max-tokens", type=int, default=None,
                        help="compare part: run --arms until this many sampled completion tokens, stored as <arm>@<N>.")
    p.add_argument("--jobs", type=int, default=2)
    p.add_argument("--seeds", type=int, nargs="+", default=None)
    p.add_argument("--quick", action="store_true", help="Smoke test: organism_compare --quick on each rung.")
    p.add_argument("--redo", action="store_true", help="Run parts again that an earlier sitting already left in the "
                                                      "rung's folder (default: skip them, so a ladder resumes).")
    a = p.parse_args(argv)
    out = Path(a.out)
    out.mkdir(parents=True, exist_ok=True)
    command = "python benchmarks/organism_ladder.py " + " ".join(argv if argv is not None else sys.argv[1:])
    if a.part == "probe":
        write_probe(out, a.glimpses, command, quick=a.quick)
        return 0
    compare = _compare_main() if a.part != "report" else None
    for g in a.glimpses:
        rung = out / f"glimpse{g}"
        done = done_parts(rung, a.seeds) if not (a.redo or a.quick) else {"gates": False, "arms": set()}
        common = ["--glimpse", str(g), "--out", str(rung), "--jobs", str(a.jobs), "--eval-hints", "0.25", "0.5"]
        common += ["--quick"] if a.quick else ["--steps", str(a.steps), "--eval-every", str(a.eval_every)]
        common += ["--seeds", *map(str, a.seeds)] if a.seeds else []
        if a.part in ("gates", "all"):
            if done["gates"]:
                print(f"glimpse {g}: gates part already in {rung} (--redo to run it again)")
            else:
                compare(["--part", "gates", *common])
        if a.part in ("compare", "all"):
            to_tokens = (["--until-tokens-of", a.until_tokens_of] if a.until_tokens_of else
                         ["--max-tokens", str(a.max_tokens)] if a.max_tokens is not None else [])
            arms = [arm for arm in a.arms if (token_budget_label(arm, a.until_tokens_of, a.max_tokens)
                                              if to_tokens else arm) not in done["arms"]]
            if arms:
                compare(["--part", "compare", "--force", "--arms", *arms, *to_tokens, *common])
            else:
                print(f"glimpse {g}: arms {' '.join(a.arms)} already in {rung} (--redo to run them again)")
    rungs = [rung_summary(json.loads((out / f"glimpse{g}" / "organism_results.json").read_text()))
             for g in a.glimpses if (out / f"glimpse{g}" / "organism_results.json").exists()]
    if rungs:
        write_ladder(out, rungs, command)
        print(f"wrote {out / 'LADDER.md'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
