"""What does GHPO cost when no group needs a hint? Step time of GHPOTrainer vs plain ``trl.GRPOTrainer``.

On the organism's warm start and its easiest level (2x1: one step, so even an all-wrong group has no usable hint and
guidance finds no hard group, yet scores, selects and logs as usual), trains three arms from the same checkpoint with the same data and seed:
``trl`` (``trl.GRPOTrainer``), ``ghpo-none`` (GHPOTrainer, hint_schedule="none") and ``ghpo-staged`` (GHPOTrainer,
staged hints). The reward is ``ghpo.rewards.accuracy_reward`` (math-verify in worker processes), the real cost that
scoring the trigger twice used to double. Arms alternate, repetition by repetition, so load drift on a shared
machine hits them alike; the first steps of each run are warm-up and dropped. Prints per-arm median step time,
the ratio to ``trl`` per repetition, the hard fraction guidance saw, and the trigger-reward calls per step.

    python benchmarks/guidance_overhead.py                 # 4 repetitions x 15 steps per arm
    python benchmarks/guidance_overhead.py --reps 1 --steps 4   # smoke
"""

from __future__ import annotations

import argparse
import logging
import os
import statistics
import subprocess
import sys
import tempfile
import time
import warnings

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

import torch  # noqa: E402
from datasets import Dataset  # noqa: E402
from transformers import PrinterCallback, TrainerCallback  # noqa: E402
from trl import GRPOConfig, GRPOTrainer  # noqa: E402

from ghpo.organism import make_rows, warm_start  # noqa: E402
from ghpo.rewards import accuracy_reward  # noqa: E402
from ghpo.trainer import GHPOConfig, GHPOTrainer  # noqa: E402

ARMS = ("trl", "ghpo-none", "ghpo-staged")


class StepTimes(TrainerCallback):
    def __init__(self):
        self.times, self._t = [], None

    def on_step_begin(self, args, state, control, **kwargs):
        self._t = time.perf_counter()

    def on_step_end(self, args, state, control, **kwargs):
        self.times.append(time.perf_counter() - self._t)


def counted(func, calls: list):
    def accuracy_reward(*args, **kwargs):  # keeps the name: it is the hint trigger
        calls.append(len(kwargs.get("completions", args[0] if args else [])))
        return func(*args, **kwargs)

    return accuracy_reward


def run_arm(arm: str, model_dir: str, rows: list[dict], steps: int, seed: int, out: str) -> dict:
    common = dict(output_dir=out, per_device_train_batch_size=32, num_generations=8, max_completion_length=48,
                  max_steps=steps, learning_rate=1e-5, logging_steps=1, report_to="none", save_strategy="no",
                  seed=seed, use_cpu=True, bf16=False, temperature=1.0, beta=0.0, disable_tqdm=True)
    calls: list[int] = []
    reward = counted(accuracy_reward, calls)
    clock = StepTimes()
    data = Dataset.from_list(rows)
    if arm == "trl":
        trainer = GRPOTrainer(model=model_dir, reward_funcs=[reward], args=GRPOConfig(**common), train_dataset=data,
                              callbacks=[clock])
    else:
        schedule = "none" if arm == "ghpo-none" else "staged"
        args = GHPOConfig(**common, hint_schedule=schedule, hint_template="{hint}")
        trainer = GHPOTrainer(model=model_dir, reward_funcs=[reward], args=args, train_dataset=data, callbacks=[clock])
    trainer.remove_callback(PrinterCallback)
    trainer.train()
    hard = [h["ghpo/hard_frac"] for h in trainer.state.log_history if "ghpo/hard_frac" in h]
    rounds = [h["ghpo/gen_rounds"] for h in trainer.state.log_history if "ghpo/gen_rounds" in h]
    return dict(arm=arm, times=clock.times, hard=hard, rounds=rounds, calls_per_step=len(calls) / steps)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--reps", type=int, default=4)
    ap.add_argument("--steps", type=int, default=15)
    ap.add_argument("--warmup", type=int, default=2, help="first steps of each run dropped")
    ap.add_argument("--threads", type=int, default=1)
    a = ap.parse_args(argv)
    torch.set_num_threads(a.threads)
    warnings.filterwarnings("ignore")
    logging.getLogger("ghpo.arith").setLevel(logging.ERROR)
    import transformers

    transformers.logging.set_verbosity_error()
    t0 = time.time()
    model_dir = warm_start()
    rows = make_rows(4 * a.steps, ["2x1"], seed=7)  # 4 prompts a step; 2x1 has 162 problems in all
    results: dict[str, list[dict]] = {arm: [] for arm in ARMS}
    with tempfile.TemporaryDirectory() as tmp:
        for rep in range(a.reps):
            order = ARMS if rep % 2 == 0 else ARMS[::-1]
            for arm in order:
                r = run_arm(arm, model_dir, rows, a.steps, seed=rep, out=os.path.join(tmp, f"{arm}-{rep}"))
                results[arm].append(r)
                med = statistics.median(r["times"][a.warmup:])
                print(f"rep {rep} {arm:12s} median step {med:.3f} s  hard {statistics.fmean(r['hard'] or [0]):.3f}",
                      flush=True)

    def med(r):
        return statistics.median(r["times"][a.warmup:])

    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True).stdout.strip()
    print(f"\ncommand: python benchmarks/guidance_overhead.py {' '.join(sys.argv[1:] if argv is None else argv)}")
    print(f"commit {commit}, torch {torch.__version__}, threads {a.threads}, {a.reps} reps x {a.steps} steps "
          f"(first {a.warmup} dropped), 4 prompts x G=8 per step, level 2x1, {time.time() - t0:.0f} s in all\n")
    print("| arm | median step s | ratio to trl per rep | median ratio | hard frac | gen rounds | trigger calls/step |")
    print("|---|---|---|---|---|---|---|")
    for arm in ARMS:
        ratios = [med(r) / med(t) for r, t in zip(results[arm], results["trl"])]
        hard = [h for r in results[arm] for h in r["hard"]]
        rounds = [x for r in results[arm] for x in r["rounds"]]
        print(f"| {arm} | {statistics.median(med(r) for r in results[arm]):.3f} | "
              f"{', '.join(f'{x:.2f}' for x in ratios)} | {statistics.median(ratios):.2f} | "
              f"{statistics.fmean(hard) if hard else float('nan'):.3f} | "
              f"{statistics.fmean(rounds) if rounds else 1.0:.2f} | "
              f"{statistics.fmean(r['calls_per_step'] for r in results[arm]):.2f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
