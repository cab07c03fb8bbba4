"""`ghpo train | eval | report`.

`ghpo train` parses GHPOConfig (TRL's GRPOConfig + guidance fields), TRL's ModelConfig and script arguments
with TRL's parser, so `--config recipe.yaml` and `--key value` overrides work as in `trl grpo`. With no
arguments it runs the CPU quickstart recipe on the embedded SmolLM2. Everything that can be wrong with the
input (recipe keys, dataset columns, reward names, model name) is checked before a model loads.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
import warnings
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

from transformers import TrainerCallback
from transformers.trainer_callback import ProgressCallback
from trl import ModelConfig, ScriptArguments, TrlParser

from .data import (
    BUILTIN_SOURCES,
    DEFAULT_SYSTEM_PROMPT,
    GOLD_COLUMN,
    HINT_COLUMN,
    DatasetValidationError,
    load_training_dataset,
    validate_dataset,
)
from .rollouts import set_aside_records_from
from .trainer import GHPOConfig

QUICKSTART = "quickstart_cpu"
DEFAULT_MODEL = "smollm2-135m-instruct"


@dataclass
class GHPOScriptArguments(ScriptArguments):
    """What to train on and with which rewards (the rest is GHPOConfig and ModelConfig)."""

    dataset_name: str | None = field(
        default="arith:2x1,2x2",
        metadata={
            "help": "Training data: a built-in ('arith', 'arith:2x2,3x2', 'gsm_symbolic', 'champ'), a local "
            ".jsonl/.json/.parquet/.csv file, or a Hugging Face hub dataset id (with --dataset_config)."
        },
    )
    dataset_size: int | None = field(
        default=None, metadata={"help": "Rows to use (built-ins generate this many; files and hub sets are cut)."}
    )
    dataset_prompt_column: str = field(
        default="problem",
        metadata={"help": "Column with the problem text, turned into a chat prompt (ignored when 'prompt' exists)."},
    )
    dataset_solution_column: str = field(
        default="solution", metadata={"help": "Column with the gold answer checked by math-verify."}
    )
    system_prompt: str | None = field(
        default=DEFAULT_SYSTEM_PROMPT, metadata={"help": "System prompt of chat prompts (open-r1 convention)."}
    )
    chat: bool = field(default=True, metadata={"help": "Build chat-message prompts (else plain text prompts)."})
    reward_funcs: list[str] = field(
        default_factory=lambda: ["accuracy"],
        metadata={
            "help": "Reward functions: registry names ('accuracy', 'format') or dotted import paths "
            "('my_lib.rewards.fn'). Weights: --reward_weights. The hint trigger is chosen by --hint_trigger_reward."
        },
    )


def recipe_path(name_or_path: str) -> str:
    """A recipe file path, or the name of a recipe shipped with ghpo (e.g. 'quickstart_cpu')."""
    if os.path.exists(name_or_path):
        return name_or_path
    shipped = resources.files("ghpo") / "recipes" / f"{name_or_path.removesuffix('.yaml')}.yaml"
    if shipped.is_file():
        return str(shipped)
    raise FileNotFoundError(f"Recipe {name_or_path!r} is neither a file nor a shipped recipe ({', '.join(list_recipes())}).")


def list_recipes() -> list[str]:
    """Training recipes shipped with ghpo, by name (accelerate launch configs are not recipes)."""
    root = Path(str(resources.files("ghpo") / "recipes"))
    return sorted(
        str(p.relative_to(root)).removesuffix(".yaml") for p in root.rglob("*.yaml") if p.parent.name != "accelerate"
    )


def make_train_parser() -> TrlParser:
    return TrlParser((GHPOScriptArguments, GHPOConfig, ModelConfig), prog="ghpo train")


def with_default_recipe(argv: list[str]) -> tuple[list[str], str | None]:
    """Without ``--config``, arguments override the CPU quickstart recipe (so ``ghpo train --max_steps 2`` is the
    quickstart, shorter); ``--config none`` starts from GHPOConfig's defaults instead. Returns the arguments to
    parse and a line saying what runs (None when a recipe was named)."""
    argv = list(argv)
    if "--config" in argv:
        i = argv.index("--config")
        if i + 1 < len(argv) and argv[i + 1].lower() == "none":
            return argv[:i] + argv[i + 2:], None
        return argv, None
    if any(a in ("-h", "--help") for a in argv):
        return argv, None
    overrides = f" with your overrides ({' '.join(argv)})" if argv else ""
    note = (f"ghpo train: no --config, running the CPU quickstart recipe ({recipe_path(QUICKSTART)}){overrides}. "
            "Name a recipe with --config, or --config none for GHPOConfig's defaults.")
    return ["--config", QUICKSTART, *argv], note


def parse_train_args(argv: list[str]):
    """Parse `ghpo train` arguments; a bad key in a recipe is an error here, before anything loads."""
    argv = list(argv)
    if "--config" in argv:
        i = argv.index("--config") + 1
        if i < len(argv):
            argv[i] = recipe_path(argv[i])
    script_args, training_args, model_args = make_train_parser().parse_args_and_config(args=argv)
    if model_args.model_name_or_path is None:
        model_args.model_name_or_path = DEFAULT_MODEL
    return script_args, training_args, model_args


def prepare_training(script_args, training_args, model_args):
    """Load and validate data and rewards, then resolve the model: everything that can fail fast."""
    from .models import check_model_available, resolve_model
    from .rewards import get_reward_func

    reward_funcs = [get_reward_func(name) for name in script_args.reward_funcs]
    dataset = load_training_dataset(
        script_args.dataset_name,
        config=script_args.dataset_config,
        split=script_args.dataset_train_split,
        size=script_args.dataset_size,
        seed=training_args.seed,
        system_prompt=script_args.system_prompt,
        problem_column=script_args.dataset_prompt_column,
        solution_column=script_args.dataset_solution_column,
        hint_column=training_args.hint_column,
        chat=script_args.chat,
    )
    # The loader put the user's gold and worked-solution columns under the contract names: the trainer reads those.
    if training_args.hint_column is not None:
        training_args.hint_column = HINT_COLUMN
    if training_args.hint_gold_column is not None:
        training_args.hint_gold_column = GOLD_COLUMN
    hint_column = training_args.hint_column if training_args.hint_schedule != "none" else None
    report = validate_dataset(dataset, hint_column=hint_column)
    check_model_available(model_args.model_name_or_path)
    model_path = resolve_model(model_args.model_name_or_path)
    return dataset, reward_funcs, model_path, report


class MetricsFileCallback(TrainerCallback):
    """Appends every log line (one per logged step) to <output_dir>/metrics.jsonl; after a resume, the lines of the
    steps after the checkpoint (logged again) move to metrics.jsonl.superseded."""

    def on_train_begin(self, args, state, control, **kwargs):
        if state.is_world_process_zero and state.global_step > 0:
            set_aside_records_from(os.path.join(args.output_dir, "metrics.jsonl"), state.global_step + 1)

    def on_log(self, args, state, control, logs=None, **kwargs):
        if not state.is_world_process_zero or not logs:
            return
        os.makedirs(args.output_dir, exist_ok=True)
        with open(os.path.join(args.output_dir, "metrics.jsonl"), "a") as f:
            f.write(json.dumps({"step": state.global_step, "time": time.time(), **logs}) + "\n")


def summarize_step(logs: dict, step: int, max_steps: int) -> str:
    """One line per step: the numbers a GHPO user watches."""
    parts = [f"step {step}/{max_steps}"]

    def add(label, key, fmt="{:.3f}"):
        if key in logs:
            parts.append(f"{label} {fmt.format(logs[key])}")

    add("loss", "loss", "{:.4f}")
    add("reward", "reward")
    acc = next((k for k in logs if k.startswith("rewards/") and "accuracy" in k and k.endswith("/mean")), None)
    if acc:
        add("acc", acc)
    add("hard", "ghpo/hard_frac", "{:.2f}")
    rescued = sorted((float(k.rsplit("/", 1)[1]), v) for k, v in logs.items() if k.startswith("ghpo/rescued_frac/"))
    if rescued:
        parts.append("rescued " + "/".join(f"{v:.2f}" for _, v in rescued))
    add("unsolved", "ghpo/unsolved_frac", "{:.2f}")
    add("hint_tok", "ghpo/hint_tokens_mean", "{:.0f}")
    add("extra_tok", "ghpo/extra_completion_tokens", "{:.0f}")
    add("batches", "ghpo/gen_batches", "{:.1f}")  # dynamic sampling / pre-rollout skipping
    add("dropped", "ghpo/groups_dropped", "{:.0f}")
    add("skipped", "ghpo/prompts_skipped", "{:.0f}")
    add("len", "completions/mean_length", "{:.0f}")
    add("s/step", "step_time", "{:.1f}")
    return " | ".join(parts)


class SummaryProgressCallback(ProgressCallback):
    """TRL's progress bar, with a one-line summary per step instead of the full log dict."""

    def on_log(self, args, state, control, logs=None, **kwargs):
        if state.is_world_process_zero and self.training_bar is not None and logs and "loss" in logs:
            self.training_bar.write(summarize_step(logs, state.global_step, state.max_steps))


def train_main(argv: list[str]) -> int:
    from .report import main_report
    from .trainer import GHPOTrainer

    # TRL 1.16 calls transformers' deprecated gradient_checkpointing* names around every generation round.
    warnings.filterwarnings("ignore", message=r".*gradient_checkpointing.* is deprecated", category=FutureWarning)

    argv, note = with_default_recipe(argv)
    if note:
        print(note, flush=True)
    try:
        script_args, training_args, model_args = parse_train_args(argv)
        hint_source = training_args.hint_column
        dataset, reward_funcs, model_path, report = prepare_training(script_args, training_args, model_args)
    except (ValueError, FileNotFoundError, ConnectionError, ImportError, DatasetValidationError) as e:
        print(f"ghpo train: error: {e}", file=sys.stderr)
        return 2
    # Name the user's columns and the contract names they now have: later lines (hint data) use the latter.
    columns = "" if script_args.dataset_name.partition(":")[0] in BUILTIN_SOURCES else (
        f" (gold from {script_args.dataset_solution_column!r} as {GOLD_COLUMN!r}, hints from {hint_source!r}"
        + (f" as {HINT_COLUMN!r})" if hint_source is not None else ")"))
    print(
        f"ghpo train: {len(dataset)} problems from {script_args.dataset_name}{columns} ({report.num_without_hint} without "
        f"a hint), model {model_args.model_name_or_path}, hints {training_args.hint_schedule}, output {training_args.output_dir}",
        flush=True,
    )
    training_args.model_init_kwargs = {
        **(training_args.model_init_kwargs or {}),
        "dtype": model_args.dtype,
        "revision": model_args.model_revision,
        "attn_implementation": model_args.attn_implementation,
    }
    from trl import get_peft_config

    trainer = GHPOTrainer(
        model=model_path,
        reward_funcs=reward_funcs,
        args=training_args,
        train_dataset=dataset,
        peft_config=get_peft_config(model_args),
        callbacks=[MetricsFileCallback()],
    )
    if not training_args.disable_tqdm:
        trainer.remove_callback(ProgressCallback)
        trainer.add_callback(SummaryProgressCallback())
    trainer.train(resume_from_checkpoint=training_args.resume_from_checkpoint)
    trainer.save_model(training_args.output_dir)
    if trainer.accelerator.is_main_process:
        png, table = main_report([training_args.output_dir])
        print(table)
        print(f"ghpo train: model, metrics.jsonl and {Path(png).name} in {training_args.output_dir}")
    return 0


def report_main(args) -> int:
    from .report import main_report

    png, table = main_report(args.run_dirs, out=args.out)
    print(table)
    print(f"wrote {png}")
    return 0


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    parser = argparse.ArgumentParser(prog="ghpo", description="GHPO: GRPO that rescues all-wrong groups with hints.")
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser(
        "train", add_help=False, help="train with GHPO (no arguments: CPU quickstart); 'ghpo train --help' for options"
    )
    rep = sub.add_parser("report", help="plots and a summary table from one or more run directories")
    rep.add_argument("run_dirs", nargs="+", help="run directories holding metrics.jsonl")
    rep.add_argument("--out", default=None, help="PNG path or folder (default: <first run>/report.png)")
    ev = sub.add_parser("eval", help="evaluate a model on math benchmarks, with and without hints")
    try:
        from .evaluate import add_eval_arguments
    except ImportError:  # pragma: no cover - evaluate is part of the package; guard keeps train usable
        add_eval_arguments = None
    if add_eval_arguments is not None:
        add_eval_arguments(ev)

    if argv and argv[0] == "train":
        return train_main(argv[1:])
    args = parser.parse_args(argv)
    if args.command == "report":
        return report_main(args)
    from .evaluate import run_eval_from_args

    return run_eval_from_args(args)


if __name__ == "__main__":
    sys.exit(main())
