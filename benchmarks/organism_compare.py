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
  reroll            the control (issue 21): staged's rounds and stages, each re-sampling the unchanged prompt
  staged+keep1      staged, one unhinted sample kept in each hinted group (NuRL-style remedy for hint reliance)
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

The benchmark itself lives in ``ghpo.organism`` (``budget``: sizes and arms; ``runs``: the warm start's rows, the
regime probe, one arm x seed; ``analysis``: the trainer's rollout records read for where the signal goes; ``gates``:
the gates and per-arm statistics; ``results``: curves and RESULTS.md); this script only parses options and runs parts.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from dataclasses import asdict, replace
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

import torch  # noqa: E402

from ghpo.organism import load_warm_start, warm_start  # noqa: E402
from ghpo.organism.budget import (  # noqa: E402
    QUICK,
    REWARDS,
    Budget,
    arms_of,
    arms_table,
    budget_from_dict,
    token_budget_label,
    token_target,
)
from ghpo.organism.gates import health_gate, regime_gate  # noqa: E402
from ghpo.organism.results import NOTES, cpu_name, git_commit, plot, write_results  # noqa: E402
from ghpo.organism.runs import (  # noqa: E402
    held_out_rows,
    quiet,
    regime_probe,
    run_jobs,
    train_rows,
    weights_sha256,
)


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
    p.add_argument("--arms", nargs="+", default=None, help="Comparison arms (default all available).")
    p.add_argument("--eval-every", type=int, default=None, help="Optimizer steps between evaluations (default 20).")
    p.add_argument("--eval-hints", type=float, nargs="+", default=None,
                   help="Also evaluate the hard level greedily with these hint ratios (hint dependence; default none).")
    tokens = p.add_mutually_exclusive_group()
    tokens.add_argument("--until-tokens-of", metavar="ARM", default=None,
                        help="--part compare: run each arm (grpo allowed) until its cumulative sampled completion tokens "
                             "reach ARM's mean total in --out, instead of --steps; stored as <arm>@<ARM> beside the "
                             "step-count runs (e.g. grpo@staged: GRPO read at staged's tokens).")
    tokens.add_argument("--max-tokens", type=int, default=None,
                        help="--part compare: run each arm until it has sampled this many completion tokens, instead of "
                             "--steps (stored as <arm>@<N>).")
    p.add_argument("--jobs", type=int, default=1, help="Runs in parallel, one process and one torch thread each.")
    p.add_argument("--force", action="store_true", help="Run the comparison even if a gate failed (labelled).")
    p.add_argument("--report-only", action="store_true", help="Rewrite RESULTS.md and the PNG from the JSON.")
    a = p.parse_args(argv)
    if (a.until_tokens_of is not None or a.max_tokens is not None) and a.part != "compare":
        p.error("--until-tokens-of / --max-tokens run arms of the compare part: use them with --part compare")

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
    if a.eval_every:
        budget = replace(budget, eval_every=a.eval_every)
    if a.eval_hints:
        budget = replace(budget, eval_hint_ratios=tuple(a.eval_hints))
    if a.glimpse is not None:
        budget = budget.with_glimpse(a.glimpse)
    torch.set_num_threads(1)
    quiet()
    out = Path(a.out)
    out.mkdir(parents=True, exist_ok=True)
    json_path = out / "organism_results.json"
    command = "python benchmarks/organism_compare.py " + " ".join(argv if argv is not None else sys.argv[1:])

    def log(msg):
        print(msg, flush=True)

    def save(saved):
        json_path.write_text(json.dumps(saved, default=str, indent=1))

    def finish(saved):
        b = budget_from_dict(saved["budget"])
        arms = arms_of(saved["runs"])
        if saved["runs"]:
            plot(saved["runs"], arms, b, out / "organism_curves.png")
        saved["notes"] = NOTES
        save(saved)
        write_results(out, saved, b)
        log(f"wrote {out / 'RESULTS.md'}")

    if a.report_only:
        saved = json.loads(json_path.read_text())
        if any(r["arm"] == "grpo" for r in saved["runs"]):  # the gate's definition may be newer than the runs
            saved["gates"]["health"] = health_gate(saved["runs"], budget_from_dict(saved["budget"]))
        finish(saved)
        return 0

    t_start, load0 = time.perf_counter(), os.getloadavg()[0]
    commit = git_commit()
    model_dir = warm_start(budget.warm, log=log)
    warm_info = load_warm_start(model_dir)
    # SFT is not bit-reproducible across CPUs (same settings, another warm start: NOTES), so a part run elsewhere
    # must not be paired with this one: the weights' hash names the warm start.
    warm_info["weights_sha256"] = weights_sha256(model_dir)
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
                               "commit": commit, "jobs": a.jobs, "cpu": cpu_name(),
                               "wall_s": time.perf_counter() - t_start, "load": [load0, os.getloadavg()[0]]})
        finish(saved)

    if a.part in ("compare", "all"):
        t_cmp, load1 = time.perf_counter(), os.getloadavg()[0]
        saved = json.loads(json_path.read_text())
        same = {k: v for k, v in json.loads(json.dumps(bd, default=str)).items() if k != "seeds"}
        older = json.loads(json.dumps(asdict(budget_from_dict(saved["budget"])), default=str))  # fields added since
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
        to_tokens = a.until_tokens_of is not None or a.max_tokens is not None
        # grpo's step-count runs are the gates part's; to a token budget it is an arm like the others
        chosen = [x for x in (a.arms or arms) if x != "grpo" or to_tokens]
        unknown = [x for x in chosen if x not in arms]
        if unknown:
            raise SystemExit(f"unknown arm(s) {unknown}; valid: {', '.join(arms)}")
        try:
            max_tokens = token_target(saved["runs"], a.until_tokens_of, a.max_tokens)
        except ValueError as e:
            raise SystemExit(f"--until-tokens-of in {json_path}: {e}") from None
        if a.until_tokens_of is not None:
            log(f"running {', '.join(chosen)} to {a.until_tokens_of}'s mean total, {max_tokens} sampled tokens")
        labels = {x: token_budget_label(x, a.until_tokens_of, max_tokens) if to_tokens else x for x in chosen}
        budgeted = lambda x: (max_tokens, labels[x]) if to_tokens else ()  # noqa: E731
        jobs = [(model_dir, train, held_out, bd, s, arm, *budgeted(arm)) for s in budget.seeds for arm in chosen]
        # Runs of other arms or seeds are kept, so the comparison can be run in named chunks.
        kept = [r for r in saved["runs"] if not (r["arm"] in labels.values() and r["seed"] in budget.seeds)]
        saved["runs"] = kept + run_jobs(jobs, a.jobs, log)
        saved["parts"].append({"part": "compare " + " ".join(labels.values()), "command": command.replace("--part all", "--part compare"),
                               "commit": commit, "jobs": a.jobs, "cpu": cpu_name(), "wall_s": time.perf_counter() - t_cmp,
                               "load": [load1, os.getloadavg()[0]], "forced": bool(not gates_ok)})
        finish(saved)
    log(f"done in {(time.perf_counter() - t_start) / 60:.1f} min")
    return 0


if __name__ == "__main__":
    sys.exit(main())
