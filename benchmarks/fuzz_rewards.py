r"""Fuzz `ghpo.rewards.accuracy_reward` with the full hostile corpus, from the main thread and from worker threads.

Every case of tests/unit/hostile_corpus.py (plus the 25 of tests/unit/hostile_cases.py, category "legacy") is
scored one call at a time, first in the main thread, then from a ThreadPoolExecutor (all cases submitted at
once, so calls queue on the shared worker pool), then as one batch from a plain thread (as the trainer does).
Prints, per category: cases, cases past half the timeout, max/median seconds per call, verdict counts,
verdicts outside the expected set, and calls that raised. Usage (the figures in docs/RELIABILITY.md):

    python benchmarks/fuzz_rewards.py                   # the library's ANSWER_CHECK_TIMEOUT_S (5 s)
    python benchmarks/fuzz_rewards.py --timeout 1 --threads 4 --category huge_number,nested

The main-thread pass measures the per-call bound (ANSWER_CHECK_TIMEOUT_S per completion, plus a worker restart
after a kill). A thread-pool call's time also includes waiting for the other threads' calls: they share one worker
pool behind one lock, which is not FIFO, so a call may wait for many others. A trainer calls its rewards from one
thread per process, so it never waits that way.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import subprocess
import sys
import threading
import time
from collections import Counter, defaultdict
from concurrent.futures import ThreadPoolExecutor
from importlib.metadata import version
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT / "src"), str(ROOT)]  # this checkout's ghpo, whatever the venv has installed

from ghpo import rewards  # noqa: E402
from tests.unit.hostile_cases import HOSTILE_COMPLETIONS  # noqa: E402
from tests.unit.hostile_corpus import CORPUS, VERDICT, Case  # noqa: E402


def legacy_cases() -> list[Case]:
    return [Case(f"legacy_{name}", "legacy", c, "42", VERDICT) for name, c in HOSTILE_COMPLETIONS]


def score(case: Case) -> tuple[object, float, str | None]:
    """(result, seconds, error) for one call."""
    start = time.monotonic()
    try:
        result = rewards.accuracy_reward([case.completion], [case.gold])[0]
        error = None
    except BaseException as exc:  # noqa: BLE001 -- the point is to count them
        result, error = "crash", f"{type(exc).__name__}: {exc}"[:200]
    return result, time.monotonic() - start, error


def run_main_thread(cases: list[Case]) -> list[tuple[object, float, str | None]]:
    out = []
    for i, case in enumerate(cases):
        out.append(score(case))
        if out[-1][1] > 1.0:
            print(f"  [{i + 1}/{len(cases)}] {case.id}: {out[-1][1]:.2f} s", file=sys.stderr, flush=True)
    return out


def run_thread_pool(cases: list[Case], threads: int) -> list[tuple[object, float, str | None]]:
    with ThreadPoolExecutor(max_workers=threads) as pool:
        return list(pool.map(score, cases))


def run_batch_in_thread(cases: list[Case]) -> tuple[list, float]:
    box = {}

    def target():
        start = time.monotonic()
        box["result"] = rewards.accuracy_reward([c.completion for c in cases], [c.gold for c in cases])
        box["seconds"] = time.monotonic() - start

    thread = threading.Thread(target=target)
    thread.start()
    thread.join()
    return box["result"], box["seconds"]


def fmt_verdicts(results) -> str:
    counts = Counter("1.0" if r == 1.0 else "0.0" if r == 0.0 else "None" if r is None else "other" for r in results)
    return " ".join(f"{k}:{counts[k]}" for k in ("1.0", "0.0", "None", "other") if counts[k])


def table(title: str, cases: list[Case], runs, timeout: float) -> dict:
    print(f"\n### {title}\n")
    print("| category | cases | > timeout/2 | max s | median s | verdicts | unexpected | crashes |")
    print("|---|---:|---:|---:|---:|---|---:|---:|")
    by_cat = defaultdict(list)
    for case, run in zip(cases, runs):
        by_cat[case.category].append((case, run))
    totals = {"cases": 0, "slow": 0, "unexpected": [], "crashes": [], "times": []}
    for category, items in list(by_cat.items()) + [("**all**", [x for v in by_cat.values() for x in v])]:
        times = [run[1] for _, run in items]
        results = [run[0] for _, run in items]
        unexpected = [(c.id, r) for c, (r, _, e) in items if e is None and r not in c.expect]
        crashes = [(c.id, e) for c, (_, _, e) in items if e is not None]
        slow = sum(t > timeout / 2 for t in times)
        print(f"| {category} | {len(items)} | {slow} | {max(times):.2f} | {statistics.median(times):.3f} | "
              f"{fmt_verdicts(results)} | {len(unexpected)} | {len(crashes)} |")
        if category == "**all**":
            totals.update(cases=len(items), slow=slow, unexpected=unexpected, crashes=crashes, times=times)
    for case_id, result in totals["unexpected"]:
        print(f"unexpected verdict: {case_id} -> {result!r}")
    for case_id, error in totals["crashes"]:
        print(f"crash: {case_id} -> {error}")
    return totals


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--timeout", type=float, default=rewards.ANSWER_CHECK_TIMEOUT_S,
                    help="ANSWER_CHECK_TIMEOUT_S for this run (default: the library's)")
    ap.add_argument("--threads", type=int, default=4, help="ThreadPoolExecutor workers for the threaded pass")
    ap.add_argument("--category", default="", help="comma-separated categories to run (default: all)")
    ap.add_argument("--skip-threads", action="store_true", help="only the main-thread pass")
    a = ap.parse_args()
    rewards.ANSWER_CHECK_TIMEOUT_S = a.timeout

    cases = CORPUS + legacy_cases()
    if a.category:
        wanted = set(a.category.split(","))
        cases = [c for c in cases if c.category in wanted]
    git = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True)
    commit = git.stdout.strip()
    print(f"command: python benchmarks/fuzz_rewards.py {' '.join(sys.argv[1:])}".rstrip())
    print(f"commit {commit}; python {platform.python_version()}; math-verify {version('math-verify')}; "
          f"latex2sympy2_extended {version('latex2sympy2_extended')}; sympy {version('sympy')}; "
          f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f} at start; "
          f"ANSWER_CHECK_TIMEOUT_S={a.timeout}; answer-check workers={rewards._num_workers()}")
    print(f"{len(cases)} cases: " + ", ".join(f"{k} {v}" for k, v in Counter(c.category for c in cases).items()))

    rewards.accuracy_reward([r"\boxed{1}"], ["1"])  # start the worker pool outside the timings
    start = time.monotonic()
    main_runs = run_main_thread(cases)
    main_totals = table(f"main thread, one call per case ({time.monotonic() - start:.0f} s)", cases, main_runs,
                        a.timeout)
    bad = bool(main_totals["unexpected"] or main_totals["crashes"])
    if not a.skip_threads:
        start = time.monotonic()
        pool_runs = run_thread_pool(cases, a.threads)
        pool_totals = table(f"ThreadPoolExecutor({a.threads}), one call per case, all submitted at once "
                            f"({time.monotonic() - start:.0f} s)", cases, pool_runs, a.timeout)
        bad |= bool(pool_totals["unexpected"] or pool_totals["crashes"])
        batch, seconds = run_batch_in_thread(cases)
        mismatched = [c.id for c, r in zip(cases, batch) if r not in c.expect]
        print(f"\n### one batch of {len(cases)} from a threading.Thread: {seconds:.1f} s, "
              f"{len(mismatched)} unexpected {mismatched[:10]}")
        bad |= bool(mismatched)
    slow = sorted(c.id for c, (_, t, _) in zip(cases, main_runs) if t > a.timeout / 2)
    print(f"\nmain-thread max {max(main_totals['times']):.2f} s per call (bound: ANSWER_CHECK_TIMEOUT_S={a.timeout} s "
          f"+ worker restart); cases past timeout/2 ({len(slow)}): {slow}")
    print(f"load average {os.getloadavg()[0]:.1f} at end (timings on a shared machine are noisy)")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
