"""The prepared GPU check (scripts/gpu_check.py, issue 29): its CPU dry run, and the bundle's split and join."""

import importlib.util
import os
import subprocess
import sys
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "gpu_check.py"


def _module():
    spec = importlib.util.spec_from_file_location("gpu_check", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_split_and_join_restore_every_file(tmp_path):
    gc = _module()
    big, small = tmp_path / "a" / "big.whl", tmp_path / "a" / "small.whl"
    big.parent.mkdir()
    data = os.urandom(2500)
    big.write_bytes(data)
    small.write_bytes(b"tiny")
    parts = gc.split_file(big, limit=1000)
    assert [p.name for p in parts] == ["big.whl.part00", "big.whl.part01", "big.whl.part02"] and not big.exists()
    assert gc.split_file(small, limit=1000) == [small]
    other = tmp_path / "b"  # parts may sit in different bundle folders
    other.mkdir()
    parts[2].rename(other / parts[2].name)
    joined = gc.join_parts([tmp_path / "a", other], tmp_path / "out")
    assert sorted(p.name for p in joined) == ["big.whl", "small.whl"]
    assert (tmp_path / "out" / "big.whl").read_bytes() == data and (tmp_path / "out" / "small.whl").read_bytes() == b"tiny"


def test_bundle_holds_what_the_gpu_image_lacks():
    specs = _module().missing_closure()
    names = {s.split("==")[0] for s in specs}
    assert {"trl", "datasets", "math-verify"} <= names
    assert not names & {"torch", "transformers", "numpy", "pyarrow", "accelerate"}  # the image has them
    assert all("==" in s for s in specs)


@pytest.mark.slow
def test_dry_run_prints_the_table_for_every_arm(tmp_path):
    report = tmp_path / "table.md"
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    result = subprocess.run([sys.executable, str(SCRIPT), "run", "--dry-run", "--out", str(tmp_path / "o"),
                             "--report", str(report)], capture_output=True, text=True, timeout=600, env=env)
    assert result.returncode == 0, result.stderr[-3000:]
    rows = [line.split(" | ") for line in report.read_text().splitlines() if line.startswith("| ") and "---" not in line]
    arms = [r[0].strip("| ") for r in rows[1:]]
    assert arms == ["trl GRPOTrainer", "GHPOTrainer staged", "GHPOTrainer staged + dynamic sampling"]
    tokens = {arm: int(r[4]) for arm, r in zip(arms, rows[1:])}
    # hints and refills sample more than plain GRPO's one round, counted where generation happens
    assert 0 < tokens["trl GRPOTrainer"] <= tokens["GHPOTrainer staged"] <= tokens["GHPOTrainer staged + dynamic sampling"]
    assert "on CPU (dry run)" in report.read_text()
