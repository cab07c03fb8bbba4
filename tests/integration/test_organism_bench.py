"""Smoke test of the organism benchmark: --quick produces the report, curves and raw results (not any result)."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.slow
def test_organism_compare_quick_writes_report(tmp_path):
    env = dict(os.environ, GHPO_CACHE=str(tmp_path / "cache"), HF_HUB_OFFLINE="1")
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT / "src"), env.get("PYTHONPATH", "")])
    out = tmp_path / "out"
    proc = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "organism_compare.py"), "--quick", "--out", str(out)],
        env=env, capture_output=True, text=True, timeout=600,  # ~65 s CPU; minutes on a loaded machine
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    report = (out / "RESULTS.md").read_text()
    for needle in ("organism_compare.py --quick", "capacity-difficulty mismatch", "| grpo |", "| staged |",
                   "| staged-char |", "Overhead vs plain TRL", "Verdict"):
        assert needle in report, needle
    assert (out / "organism_curves.png").stat().st_size > 1000
    results = json.loads((out / "organism_results.json").read_text())
    assert {r["arm"] for r in results["runs"]} >= {"grpo", "fixed-0.5", "staged", "staged+memory",
                                                    "staged+coldstart", "staged-char"}
    assert all(r["sampled_tokens"] > 0 for r in results["runs"])
    # The warm start is cached on disk, keyed by its settings.
    assert list((tmp_path / "cache" / "organism").glob("*/organism.json"))


def test_organism_compare_help():
    proc = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "organism_compare.py"), "--help"],
                          capture_output=True, text=True, timeout=120,
                          env=dict(os.environ, PYTHONPATH=str(ROOT / "src")))
    assert proc.returncode == 0 and "--quick" in proc.stdout
