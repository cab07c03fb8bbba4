"""A model organism for GHPO: a tiny char-level Llama, warm-started on easy arithmetic, facing harder levels.

It reproduces the paper's capacity-difficulty mismatch (arXiv 2507.10628, Sec. 1) on a CPU in minutes: the
starting policy solves the easy levels it was fine-tuned on and almost never the longer ones, so plain GRPO gets
all-wrong groups (no signal) on hard problems, exactly where GHPO's hints act. ``benchmarks/organism_compare.py``
trains GRPO and GHPO variants from the same warm start; ``docs/RESULTS.md`` holds its numbers.

Files: ``task.py`` (rows from ``ghpo.arith``), ``tokenizer.py`` (char tokenizer), ``warmstart.py`` (model + cached
SFT warm start), ``evaluate.py`` (no-hint per-level accuracy, a training callback).
"""

from .evaluate import (
    EvalCallback,
    boxed_accuracy_reward,
    evaluate_policy,
    score_boxed,
    score_steps,
    stepwise_accuracy_reward,
    valid_scratchpad,
)
from .task import EASY_LEVELS, HARD_LEVELS, HINT_TEMPLATE, ORGANISM_LEVELS, level_steps, make_rows
from .tokenizer import build_char_tokenizer
from .warmstart import WarmStartSettings, build_model, eval_rows, load_warm_start, warm_start, warm_start_dir

__all__ = [
    "EASY_LEVELS",
    "HARD_LEVELS",
    "HINT_TEMPLATE",
    "ORGANISM_LEVELS",
    "EvalCallback",
    "WarmStartSettings",
    "boxed_accuracy_reward",
    "build_char_tokenizer",
    "build_model",
    "eval_rows",
    "evaluate_policy",
    "level_steps",
    "load_warm_start",
    "make_rows",
    "score_boxed",
    "score_steps",
    "stepwise_accuracy_reward",
    "valid_scratchpad",
    "warm_start",
    "warm_start_dir",
]
