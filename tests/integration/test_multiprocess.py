"""Two CPU processes (torchrun + accelerate, gloo) take the same GHPO decisions as one process on the same data."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

HERE = Path(__file__).parent


def _run(model_dir, out_dir, processes, per_device):
    env = {**os.environ, "PYTHONPATH": f"{HERE}{os.pathsep}{os.environ.get('PYTHONPATH', '')}", "OMP_NUM_THREADS": "1"}
    # torchrun sets RANK/WORLD_SIZE; accelerate then runs gloo on the CPU (its own multi-CPU launcher needs MPI).
    cmd = [sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", str(processes),
           "--master_port", str(29500 + processes + os.getpid() % 1000),
           str(HERE / "two_proc_run.py"), model_dir, str(out_dir), str(per_device)]
    result = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-4000:]
    trace = [json.loads(line) for line in open(out_dir / "rollouts.jsonl")]
    return [(r["step"], r["problem_id"], r["hard"], r["trained_ratio"], [(s["ratio"], s["trigger"]) for s in r["stages"]])
            for r in trace]


@pytest.mark.slow
def test_two_processes_agree_with_one(tiny_model_dir, tmp_path):
    one = _run(tiny_model_dir, tmp_path / "one", processes=1, per_device=12)
    two = _run(tiny_model_dir, tmp_path / "two", processes=2, per_device=6)
    assert one == two
    hard = [(step, pid) for step, pid, is_hard, _, _ in one if is_hard]
    assert hard == [(0, "needs-half"), (1, "never"), (1, "needs-quarter")]
    ratios = {(step, pid): ratio for step, pid, _, ratio, _ in one}
    assert ratios[(0, "needs-half")] == 0.5 and ratios[(1, "needs-quarter")] == 0.25 and ratios[(1, "never")] == 0.75
