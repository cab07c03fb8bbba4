"""Training data for GHPO: the column contract, its validation, prompt building and built-in sources.

Column contract (TRL / open-r1 conventions, see DESIGN.md "Data contract"):

- `prompt`: plain text, or chat messages `[{"role": "system" | "user" | "assistant", "content": str}, ...]`
  with at least one user message.
- `solution`: the gold answer as text, checked by math-verify (TRL's `accuracy_reward` convention).
- `solution_hint` (configurable): the worked reference solution; GHPO shows its first fraction as a hint
  to all-wrong groups (paper Sec. 3). May be None/empty: such rows are never hinted.
- `id` (optional): a stable problem id, used e.g. by hint memory.

`validate_dataset` checks this before any model loads and names the first bad row and column.
`load_training_dataset` is the one entry point: a built-in source ("arith", "arith:2x2,3x2",
"gsm_symbolic", "champ"), a local file (.jsonl/.json/.parquet/.csv, or a `save_to_disk` folder),
or a Hugging Face hub id.

>>> ds = load_training_dataset("arith:3x2", size=2)
>>> ds[0]["prompt"][-1]["content"] == ds[0]["problem"], ds[0]["solution_hint"].count("\\n")
(True, 2)
"""

from __future__ import annotations

import hashlib
import logging
import math
import os
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

import datasets
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from ghpo.arith import ARITH_LEVELS, arith_level_spec, generate_arith_problems, render_arith_solution
from ghpo.guidance import final_answer_of

__all__ = [
    "ARITH_LEVELS",
    "BUILTIN_SOURCES",
    "DEFAULT_SYSTEM_PROMPT",
    "DatasetValidationError",
    "ValidationReport",
    "HintDataReport",
    "arith_level_spec",
    "check_hint_columns",
    "format_prompts",
    "load_champ_dataset",
    "load_gsm_symbolic_dataset",
    "load_training_dataset",
    "make_arith_dataset",
    "make_arith_eval_set",
    "make_conversation",
    "make_problem_id",
    "normalize_champ_answer",
    "spread_rows",
    "validate_dataset",
]

logger = logging.getLogger(__name__)

DEFAULT_SYSTEM_PROMPT = (
    "A conversation between User and Assistant. The user asks a question, and the Assistant solves it. "
    "The Assistant first reasons step by step, then gives the final answer within \\boxed{}."
)
"""open-r1 / GHPO-paper style system prompt; the final answer goes in \\boxed{} for math-verify."""

BUILTIN_SOURCES = ("arith", "gsm_symbolic", "champ")
GOLD_COLUMN = "solution"
"""Where `load_training_dataset` puts the gold answer (TRL's `accuracy_reward` reads this column)."""
HINT_COLUMN = "solution_hint"
"""Where `load_training_dataset` puts the worked solution hints are cut from, whatever its column was called."""
DEFAULT_BUILTIN_SIZE = 1000
"""Rows generated for "arith" and "gsm_symbolic" when `size` is None."""

_ROLES = ("system", "user", "assistant")
_FILE_FORMATS = {".jsonl": "json", ".json": "json", ".parquet": "parquet", ".csv": "csv"}
_MAX_REPR = 80
_MAX_LISTED_ROWS = 10


# ---------------------------------------------------------------------------------------------- validation


class DatasetValidationError(ValueError):
    """A dataset breaks the column contract. `row` and `column` locate it (None when not row-specific)."""

    def __init__(self, message: str, *, row: int | None = None, column: str | None = None, value: Any = None):
        self.row, self.column, self.value = row, column, value
        where = ", ".join(part for part in (
            f"row {row}" if row is not None else "",
            f"column {column!r}" if column is not None else "",
        ) if part)
        super().__init__(f"{where}: {message}" if where else message)


def _short_repr(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= _MAX_REPR else text[: _MAX_REPR - 3] + "..."


@dataclass
class ValidationReport:
    """What `validate_dataset` found in a dataset that passed."""

    num_rows: int
    num_without_hint: int = 0
    rows_without_hint: list[int] = field(default_factory=list)
    """The first few (up to 10) indices of rows without a hint."""
    warnings: list[str] = field(default_factory=list)


def _column_arrays(dataset: datasets.Dataset, columns: Sequence[str]) -> dict[str, pa.Array]:
    # Whole Arrow columns: ~10x faster than iterating rows or `dataset[col]`; respects select/shuffle.
    indices = getattr(dataset, "_indices", None)  # set by select/shuffle; one `take` beats per-row gathering
    if indices is not None and isinstance(getattr(dataset.data, "table", None), pa.Table):
        table = dataset.data.table.select(list(columns)).take(indices.column(0))
    else:
        table = dataset.select_columns(list(columns)).with_format("arrow")[:]
    return {name: table.column(name).combine_chunks() for name in columns}


def _suspect_chat_rows(prompts: pa.Array) -> list[int] | None:
    """Rows of a list<struct<role, content>> column that may break the chat contract, found with Arrow
    compute (turning 100k chat prompts into Python objects takes seconds); None if the column has
    another type, so every row is checked in Python."""
    if not pa.types.is_list(prompts.type) and not pa.types.is_large_list(prompts.type):
        return None
    item = prompts.type.value_type
    if not pa.types.is_struct(item) or {f.name for f in item} != {"role", "content"}:
        return None
    if not all(pa.types.is_string(item.field(f).type) for f in ("role", "content")):
        return None
    messages = pc.list_flatten(prompts)
    parents = pc.list_parent_indices(prompts).to_numpy(zero_copy_only=False)
    role, content = messages.field("role"), messages.field("content")
    bad_message = pc.fill_null(
        pc.or_(pc.invert(pc.is_in(role, value_set=pa.array(_ROLES))), pc.is_null(content)), True)
    bad_message = pc.or_(bad_message, pc.is_null(messages)).to_numpy(zero_copy_only=False)
    is_user = pc.fill_null(pc.equal(role, "user"), False).to_numpy(zero_copy_only=False)
    # a user message that is empty (or only whitespace) leaves the model nothing to solve
    empty_user = pc.fill_null(pc.equal(pc.utf8_trim_whitespace(content), ""), False).to_numpy(zero_copy_only=False)
    bad_message = bad_message | (is_user & empty_user)
    bad = np.ones(len(prompts), dtype=bool)
    bad[parents[is_user]] = False  # rows with a user message
    bad[parents[bad_message]] = True
    bad |= pc.fill_null(pc.equal(pc.list_value_length(prompts), 0), True).to_numpy(zero_copy_only=False)
    return np.flatnonzero(bad).tolist()


def _check_prompt(row: int, column: str, prompt: Any) -> None:
    if isinstance(prompt, str):
        if not prompt.strip():
            raise DatasetValidationError(
                f"empty prompt; got {_short_repr(prompt)}. Drop the row or fill in the problem text.",
                row=row, column=column, value=prompt)
        return
    if not isinstance(prompt, list) or not prompt:
        raise DatasetValidationError(
            f"a prompt must be a non-empty string or a non-empty list of chat messages "
            f"[{{'role': 'user', 'content': ...}}]; got {type(prompt).__name__} {_short_repr(prompt)}. "
            "Build prompts from a problem column with ghpo.data.format_prompts.",
            row=row, column=column, value=prompt)
    for message in prompt:
        if not isinstance(message, dict) or message.get("role") not in _ROLES or not isinstance(
            message.get("content"), str
        ):
            raise DatasetValidationError(
                f"each chat message must be {{'role': one of {list(_ROLES)}, 'content': str}}; "
                f"got {_short_repr(message)}. Fix the message or build prompts with ghpo.data.make_conversation.",
                row=row, column=column, value=prompt)
    for message in prompt:
        if message["role"] == "user" and not message["content"].strip():
            raise DatasetValidationError(
                f"empty user message; got {_short_repr(prompt)}. Drop the row or fill in the problem text.",
                row=row, column=column, value=prompt)
    if not any(message["role"] == "user" for message in prompt):
        raise DatasetValidationError(
            f"chat prompt has no user message; got {_short_repr(prompt)}. Add {{'role': 'user', 'content': "
            "<problem>}} (ghpo.data.make_conversation builds one).",
            row=row, column=column, value=prompt)


def _check_solution(row: int, column: str, solution: Any) -> None:
    if isinstance(solution, str) and solution.strip():
        return
    if isinstance(solution, str):
        problem = "empty gold answer"
        fix = "Drop the row or fill in its answer"
    elif solution is None or (isinstance(solution, float) and math.isnan(solution)):
        problem = f"missing gold answer ({type(solution).__name__}: an empty cell in the file?)"
        fix = "Drop the row or fill in its answer"
    else:
        problem = f"the gold answer must be a non-empty string, got {type(solution).__name__}"
        fix = ("Convert it, e.g. dataset.map(lambda r: {'solution': str(r['solution'])}), or load the data "
               "with ghpo.data.load_training_dataset, which does")
    raise DatasetValidationError(f"{problem}; got {_short_repr(solution)}. {fix}.",
                                 row=row, column=column, value=solution)


def validate_dataset(
    dataset: datasets.Dataset,
    *,
    prompt_column: str = "prompt",
    solution_column: str = "solution",
    hint_column: str | None = "solution_hint",
    id_column: str | None = "id",
    require_hint: bool = False,
) -> ValidationReport:
    """Check the column contract before any model loads; raise `DatasetValidationError` at the first bad row.

    Checks: the dataset is non-empty; the columns exist; every prompt is a non-empty string or chat
    messages with a user message; every gold answer is a non-empty string; every hint is a string or
    None (None/blank: a warning, the row counted as "no hint", GHPO never hints it; an error when
    `require_hint`); ids, when the `id_column` exists, are unique. `hint_column=None` means no hints
    at all (plain GRPO). A missing `id_column` is fine (ids are optional).

    >>> ds = datasets.Dataset.from_dict({"prompt": ["1+1?"], "solution": ["2"], "solution_hint": [None]})
    >>> validate_dataset(ds).num_without_hint
    1
    """
    if isinstance(dataset, datasets.DatasetDict):
        raise DatasetValidationError(
            f"got a DatasetDict with splits {list(dataset)}; pass one split, e.g. dataset['train']")
    if not isinstance(dataset, datasets.Dataset):
        raise DatasetValidationError(
            f"expected a datasets.Dataset, got {type(dataset).__name__}; wrap rows with datasets.Dataset.from_list")
    if len(dataset) == 0:
        raise DatasetValidationError("the dataset is empty; check the file, split or filters that produced it")

    available = list(dataset.column_names)
    for role, name in (("prompt", prompt_column), ("gold answer", solution_column), ("hint", hint_column)):
        if name is not None and name not in available:
            fix = f"pass the right column name ({role}_column=...)" if role != "gold answer" else (
                "pass solution_column=...")
            if role == "prompt" and "problem" in available:
                fix += ", or build prompts from 'problem' with ghpo.data.format_prompts"
            if role == "hint":
                fix += ", or hint_column=None to train without hints"
            raise DatasetValidationError(
                f"no {role} column {name!r}; available columns: {available}. Fix: {fix}.", column=name)

    check_ids = id_column is not None and id_column in available
    wanted = [prompt_column, solution_column] + [c for c in (hint_column, id_column if check_ids else None) if c]
    arrays = _column_arrays(dataset, list(dict.fromkeys(wanted)))
    values = {name: array.to_pylist() for name, array in arrays.items() if name != prompt_column}
    report = ValidationReport(num_rows=len(dataset))

    suspects = _suspect_chat_rows(arrays[prompt_column])
    if suspects is None:
        for row, prompt in enumerate(arrays[prompt_column].to_pylist()):
            _check_prompt(row, prompt_column, prompt)
    else:
        for row in suspects:
            _check_prompt(row, prompt_column, arrays[prompt_column][row].as_py())
    for row, solution in enumerate(values[solution_column]):
        _check_solution(row, solution_column, solution)

    if hint_column is None:
        report.num_without_hint = len(dataset)
        report.rows_without_hint = list(range(min(len(dataset), _MAX_LISTED_ROWS)))
        report.warnings.append("hint_column=None: no row has a hint, so GHPO never hints (plain GRPO)")
    else:
        for row, hint in enumerate(values[hint_column]):
            if hint is not None and not isinstance(hint, str):
                raise DatasetValidationError(
                    f"a hint must be a string or None, got {type(hint).__name__} {_short_repr(hint)}. "
                    "Convert it to the worked solution text, or set it to None for rows without one.",
                    row=row, column=hint_column, value=hint)
            if hint is None or not hint.strip():
                if require_hint:
                    raise DatasetValidationError(
                        f"missing hint (require_hint=True); got {_short_repr(hint)}. Fill in the worked "
                        "solution, drop the row, or pass require_hint=False to train it without hints.",
                        row=row, column=hint_column, value=hint)
                report.num_without_hint += 1
                if len(report.rows_without_hint) < _MAX_LISTED_ROWS:
                    report.rows_without_hint.append(row)
        if report.num_without_hint:
            report.warnings.append(
                f"{report.num_without_hint} of {len(dataset)} rows have no hint in column {hint_column!r} "
                f"(first rows: {report.rows_without_hint}); GHPO never hints them")

    if check_ids:
        first_row: dict[Any, int] = {}
        for row, problem_id in enumerate(values[id_column]):
            if problem_id is None:
                raise DatasetValidationError(
                    "missing id; fill it in or drop the column (load_training_dataset derives ids from the problem)",
                    row=row, column=id_column, value=problem_id)
            if problem_id in first_row:
                raise DatasetValidationError(
                    f"rows {first_row[problem_id]} and {row} share the id {_short_repr(problem_id)}; ids must be "
                    "unique: deduplicate the problems or make the ids distinct",
                    row=row, column=id_column, value=problem_id)
            first_row[problem_id] = row

    for warning in report.warnings:
        logger.warning(warning)
    return report


def dataset_columns(dataset) -> list[str] | None:
    """A training set's column names; for an IterableDataset whose features are unknown (built from a generator),
    the keys of its first row, read from a fresh iterator (training iterates its own). None: no rows to read."""
    columns = getattr(dataset, "column_names", None)
    if columns is None and isinstance(dataset, datasets.IterableDataset):
        first = next(iter(dataset), None)
        columns = list(first) if isinstance(first, dict) else None
    return columns


def check_hint_columns(columns: Sequence[str] | None, hint_column: str | None, gold_column: str | None) -> None:
    """The columns guidance reads must exist: a missing hint column would silently make GHPO plain GRPO.
    ``columns`` None (an IterableDataset without known features): nothing to check."""
    if not columns:
        return
    for field_name, name, holds, off in (("hint_column", hint_column, "worked solution", "plain GRPO"),
                                         ("hint_gold_column", gold_column, "gold answer", "no gold check in hints")):
        if name is not None and name not in columns:
            raise DatasetValidationError(
                f"{field_name}={name!r} is not a column of train_dataset; its columns are {list(columns)}. Name the "
                f"column that holds the {holds}, or {field_name}=None ({off}).", column=name)


@dataclass
class HintDataReport:
    """What guidance can do with a training set, known before any generation (``GHPOTrainer.inspect_hint_data``):
    rows whose gold answer the trigger cannot parse (their groups are never hard) and rows without a usable hint
    (no text, one step, or the gold value stated in the first sentence)."""

    hint_column: str
    trigger: str
    rows_checked: int
    rows_total: int
    gold_unparsable: int
    without_usable_hint: int

    def summary(self) -> str:
        of = f"of {self.rows_checked} rows" + (
            f" (spread over {self.rows_total})" if self.rows_checked < self.rows_total else "")
        return (f"GHPO hint data: hints cut from column {self.hint_column!r}; {self.gold_unparsable} {of} have a gold "
                f"answer the trigger {self.trigger!r} cannot parse (never hinted); {self.without_usable_hint} have no "
                "usable hint (no text, one step, or the gold stated in the first sentence).")


def spread_rows(dataset: datasets.Dataset, max_rows: int) -> list[dict]:
    """At most ``max_rows`` rows spread evenly over ``dataset`` (all of them when it is smaller)."""
    n = len(dataset)
    k = min(n, max_rows)
    return [dataset[i] for i in sorted({i * n // k for i in range(k)})]


# ---------------------------------------------------------------------------------------------- prompts


def make_conversation(problem: str, system_prompt: str | None = None) -> list[dict[str, str]]:
    """Chat prompt for one problem (open-r1's `make_conversation`).

    >>> make_conversation("1+1?", "Be brief.")
    [{'role': 'system', 'content': 'Be brief.'}, {'role': 'user', 'content': '1+1?'}]
    """
    messages = [{"role": "system", "content": system_prompt}] if system_prompt else []
    messages.append({"role": "user", "content": problem})
    return messages


def format_prompts(
    dataset: datasets.Dataset,
    *,
    problem_column: str = "problem",
    system_prompt: str | None = None,
    chat: bool = True,
) -> datasets.Dataset:
    """Add a `prompt` column built from `problem_column`: chat messages, or plain text when `chat=False`
    (the system prompt, a blank line, then the problem). A dataset that already has `prompt` is returned as is."""
    if "prompt" in dataset.column_names:
        return dataset
    if problem_column not in dataset.column_names:
        raise DatasetValidationError(
            f"no 'prompt' column and no problem column {problem_column!r} to build it from; available columns: "
            f"{dataset.column_names}. Pass problem_column=...", column=problem_column)

    def build(batch: dict[str, list]) -> dict[str, list]:
        # A missing problem stays None so validate_dataset reports its row.
        problems = batch[problem_column]
        return {"prompt": [None if p is None else _render_prompt(p, system_prompt, chat) for p in problems]}

    return dataset.map(build, batched=True, desc="Building prompts")


# ---------------------------------------------------------------------------------------------- ids


def make_problem_id(text: str) -> str:
    """Stable id of a problem: the first 16 hex digits of SHA-1 of its text."""
    return hashlib.sha1(text.encode("utf-8")).hexdigest()[:16]


def _unique_ids(texts: Sequence[str]) -> list[str]:
    # Repeated problems get "#2", "#3", ... in order so ids stay unique and stable for a fixed dataset.
    counts: dict[str, int] = {}
    ids = []
    for text in texts:
        base = make_problem_id(text)
        counts[base] = counts.get(base, 0) + 1
        ids.append(base if counts[base] == 1 else f"{base}#{counts[base]}")
    return ids


def _prompt_text(prompt: Any) -> str:
    if isinstance(prompt, list):
        return "\n".join(str(m.get("content", "")) for m in prompt if isinstance(m, dict))
    return "" if prompt is None else str(prompt)


def _render_prompt(problem: str, system_prompt: str | None, chat: bool) -> list[dict[str, str]] | str:
    if chat:
        return make_conversation(problem, system_prompt)
    return f"{system_prompt}\n\n{problem}" if system_prompt else problem


def _build_rows(rows: list[dict[str, Any]], system_prompt: str | None, chat: bool) -> datasets.Dataset:
    for row in rows:
        row["prompt"] = _render_prompt(row["problem"], system_prompt, chat)
    return datasets.Dataset.from_list(rows)


# ---------------------------------------------------------------------------------------------- built-ins


def make_arith_dataset(
    n: int,
    levels: Sequence[str] = ARITH_LEVELS,
    seed: int = 0,
    system_prompt: str | None = DEFAULT_SYSTEM_PROMPT,
    *,
    chat: bool = True,
    exclude: Sequence[str] = (),
) -> datasets.Dataset:
    """`n` distinct arithmetic problems over `levels` (round-robin), reproducible from `seed`.

    Columns: problem ("Calculate 47 + 38 - 12."), prompt, solution ("73"), solution_hint (one step per
    line, "The final answer is \\\\boxed{73}." last), id ("arith-<level>-<hash>"), level ("3x2"),
    source ("arith"). `exclude` holds problem texts never to produce (see `make_arith_eval_set`).
    """
    excluded = {_arith_expression(text) for text in exclude}
    problems = generate_arith_problems(n, levels=levels, seed=seed, exclude=excluded)
    rows = []
    for p in problems:
        problem = f"Calculate {p.expression}."
        rows.append({
            "problem": problem,
            "solution": str(p.answer),
            "solution_hint": render_arith_solution(p.steps, p.answer),
            "id": f"arith-{p.level}-{make_problem_id(p.expression)}",
            "level": p.level,
            "source": "arith",
        })
    if not rows:
        raise ValueError("make_arith_dataset needs n >= 1")
    return _build_rows(rows, system_prompt, chat)


def _arith_expression(problem: str) -> str:
    return problem.removeprefix("Calculate ").removesuffix(".")


def make_arith_eval_set(
    n_per_level: int,
    levels: Sequence[str] = ARITH_LEVELS,
    seed: int = 1,
    *,
    exclude: datasets.Dataset | Sequence[str] | None = None,
    system_prompt: str | None = DEFAULT_SYSTEM_PROMPT,
    chat: bool = True,
) -> datasets.Dataset:
    """A held-out arithmetic set: `n_per_level` problems per level, none of them in `exclude`
    (a training dataset with a `problem` column, or a list of problem texts)."""
    if isinstance(exclude, datasets.Dataset):
        exclude = exclude["problem"] if "problem" in exclude.column_names else []
    return make_arith_dataset(n_per_level * len(levels), levels, seed, system_prompt, chat=chat,
                              exclude=list(exclude or []))


_GSM_FINAL_RE = re.compile(r"^\s*####\s*(.*?)\s*$")


def _gsm_hint(answer_cot: str) -> str:
    # GSM8K-style "#### 41" final line -> "The final answer is \boxed{41}." (the format the prompt asks for).
    lines = answer_cot.strip().splitlines()
    if lines and (match := _GSM_FINAL_RE.match(lines[-1])):
        lines[-1] = f"The final answer is \\boxed{{{match.group(1)}}}."
    return "\n".join(lines)


def load_gsm_symbolic_dataset(
    size: int = DEFAULT_BUILTIN_SIZE, seed: int = 0, system_prompt: str | None = DEFAULT_SYSTEM_PROMPT,
    *, chat: bool = True,
) -> datasets.Dataset:
    """GSM-Symbolic problems from `reasoning_gym` (templated GSM8K variants, generated offline).

    solution = the numeric answer ("41"); solution_hint = the worked solution (`answer_cot`), one step per
    line, its "#### 41" line rewritten as "The final answer is \\\\boxed{41}.".
    """
    try:
        import reasoning_gym
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise ImportError("the 'gsm_symbolic' source needs reasoning_gym: pip install reasoning-gym") from exc
    items = reasoning_gym.create_dataset("gsm_symbolic", size=size, seed=seed)
    rows = []
    for item in items:
        metadata = item.get("metadata", {})
        rows.append({
            "problem": item["question"],
            "solution": str(item["answer"]).strip(),
            "solution_hint": _gsm_hint(metadata.get("answer_cot") or "") or None,
            "level": str(metadata.get("difficulty", "")),
            "source": "gsm_symbolic",
        })
    ids = _unique_ids([r["problem"] for r in rows])
    for row, problem_id in zip(rows, ids):
        row["id"] = f"gsm_symbolic-{problem_id}"
    return _build_rows(rows, system_prompt, chat)


_CHAMP_ANSWER_RULES = (
    # (pattern, group holding the answer), tried in order; answers matching none are kept verbatim.
    (re.compile(r"^.*,\s*or equivalently\s+(.+)$"), 1),  # "C(10, 5), or equivalently 252" -> "252"
    (re.compile(r"^(.+?),\s*or approximately .+$"), 1),  # "5/14, or approximately 35.7%" -> "5/14"
    (re.compile(r"^(.+?)\s*\(i\.e\.,.*\)$"), 1),  # "100 (i.e., all values)" -> "100"
    (re.compile(r"^(.+?) is the only possible value$"), 1),  # "0 is the only possible value" -> "0"
    (re.compile(r"^The limit exists and is equal to (.+)$"), 1),
    (re.compile(r"^The only possible value for the limit is (.+)$"), 1),
)


def normalize_champ_answer(answer: str) -> str:
    """Reduce a CHAMP final answer to the expression math-verify should match, when a rule applies.

    >>> normalize_champ_answer("C(10, 5), or equivalently 252")
    '252'
    """
    answer = answer.strip()
    for pattern, group in _CHAMP_ANSWER_RULES:
        if match := pattern.match(answer):
            return match.group(group).strip()
    return answer


@lru_cache(maxsize=1)
def _champ_problems() -> tuple:
    try:
        import champ_dataset
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise ImportError("the 'champ' source needs champ_dataset: pip install champ-dataset") from exc
    return tuple(champ_dataset.load("v0").problems.values())  # ~2 s: a 70 MB JSON file


def load_champ_dataset(
    size: int | None = None, seed: int = 0, system_prompt: str | None = DEFAULT_SYSTEM_PROMPT,
    *, chat: bool = True,
) -> datasets.Dataset:
    """The 270 CHAMP competition problems (Mao et al., 2024) from the `champ_dataset` package.

    solution = the final answer, reduced by `normalize_champ_answer` ("252", "2^(n-1)", or free text like
    "No positive integer solutions"); solution_hint = the reference solution, one step per line, then
    "The final answer is \\\\boxed{<solution>}."; id = CHAMP's id ("P_Combinatorics_1"); level = the
    category. `size` picks a seeded random subset.
    """
    rows = []
    for p in _champ_problems():
        answer = normalize_champ_answer(p.answer)
        steps = [step.text.strip() for step in (p.solution.steps if p.solution else []) if step.text.strip()]
        hint = "\n".join(steps + [f"The final answer is \\boxed{{{answer}}}."]) if steps else None
        rows.append({"problem": p.text, "solution": answer, "solution_hint": hint, "id": p.identifier,
                     "level": p.category, "source": "champ"})
    dataset = _build_rows(rows, system_prompt, chat)
    if size is not None:
        if not 1 <= size <= len(dataset):
            raise ValueError(f"size for 'champ' must be in [1, {len(dataset)}], got {size}")
        dataset = dataset.shuffle(seed=seed).select(range(size)).flatten_indices()
    return dataset


# ---------------------------------------------------------------------------------------------- files / hub


def _load_file(path: str, split: str) -> datasets.Dataset:
    if os.path.isdir(path):
        if os.path.exists(os.path.join(path, "state.json")) or os.path.exists(os.path.join(path, "dataset_dict.json")):
            loaded = datasets.load_from_disk(path)
            return loaded[split] if isinstance(loaded, datasets.DatasetDict) else loaded
        return datasets.load_dataset(path, split=split)
    extension = os.path.splitext(path)[1].lower()
    if extension not in _FILE_FORMATS:
        raise ValueError(f"unsupported data file {path!r}: use one of {sorted(_FILE_FORMATS)}")
    if os.path.getsize(path) == 0:
        raise DatasetValidationError(f"could not read any rows from {path!r}: the file is empty")
    # A single local file loads as split "train" whatever `split` says.
    try:
        return datasets.load_dataset(_FILE_FORMATS[extension], data_files=path, split="train")
    except (StopIteration, ValueError) as exc:  # an empty file, or a CSV with only a header
        raise DatasetValidationError(
            f"could not read any rows from {path!r} ({type(exc).__name__}: {exc}); check that the file has rows "
            f"in {_FILE_FORMATS[extension]} format") from exc


def _load_hub(name: str, config: str | None, split: str) -> datasets.Dataset:
    try:
        return datasets.load_dataset(name, config, split=split)
    except (ConnectionError, TimeoutError, OSError) as exc:
        raise ConnectionError(
            f"could not reach the Hugging Face hub to load {name!r} ({type(exc).__name__}: {exc}). If it is "
            "cached, set HF_HUB_OFFLINE=1 and HF_DATASETS_OFFLINE=1 to use the cache; otherwise pass a local "
            f"file (.jsonl/.json/.parquet/.csv) or a built-in source ({', '.join(BUILTIN_SOURCES)})."
        ) from exc


def _to_answer_text(value: Any) -> Any:
    if isinstance(value, bool) or value is None:
        return value
    if isinstance(value, float) and math.isnan(value):
        return None  # a missing number (NaN) must fail validation, not become the gold answer "nan"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, (int, float)):
        return str(value)
    return value


def _gold_of(value: Any, worked: bool) -> Any:
    """The gold answer of a gold-column cell: a worked solution (the column is also the hint column, or it ends in
    GSM8K's ``#### N`` line) gives its ``\\boxed{}`` or ``####`` answer; anything else is kept as it is."""
    if not isinstance(value, str):
        return value
    lines = value.strip().split("\n")
    if worked or (len(lines) > 1 and _GSM_FINAL_RE.match(lines[-1])):
        return final_answer_of(value)
    return value


def _to_contract_columns(
    dataset: datasets.Dataset, problem_column: str, solution_column: str, hint_column: str | None
) -> datasets.Dataset:
    available = dataset.column_names
    for role, name in (("gold answer", solution_column),):
        if name not in available:
            raise DatasetValidationError(
                f"no {role} column {name!r}; available columns: {available}. Pass solution_column=...", column=name)
    if hint_column is not None and hint_column != HINT_COLUMN and hint_column not in available:
        raise DatasetValidationError(
            f"no hint column {hint_column!r}; available columns: {available}. Pass hint_column=...", column=hint_column)
    sources = {"solution": solution_column}
    if hint_column is not None and hint_column in available:
        sources[HINT_COLUMN] = hint_column
    if problem_column in available:
        sources["problem"] = problem_column
    # map() keeps the type of a column it overwrites: numbers written back into an int/float "solution" column
    # would stay numbers (NaN stays NaN), so an existing "solution" column is read under a temporary name.
    old_solution = "__ghpo_file_solution"
    if "solution" in available:
        dataset = dataset.rename_column("solution", old_solution)
        sources = {target: old_solution if source == "solution" else source for target, source in sources.items()}

    def remap(batch: dict[str, list]) -> dict[str, list]:
        out = {target: list(batch[source]) for target, source in sources.items()}
        out["solution"] = [_gold_of(_to_answer_text(v), worked=solution_column == hint_column) for v in out["solution"]]
        return out

    dataset = dataset.map(remap, batched=True, desc="Mapping columns")
    consumed = {s for t, s in sources.items() if s != t} - {"problem", "prompt", "solution", "solution_hint", "id"}
    consumed |= {old_solution} & set(dataset.column_names)
    if consumed:
        dataset = dataset.remove_columns(sorted(consumed))
    if "solution_hint" not in dataset.column_names:
        logger.warning("no hint column %r: GHPO will never hint these rows (plain GRPO)", hint_column)
        dataset = dataset.add_column("solution_hint", [None] * len(dataset))
    return dataset


# ---------------------------------------------------------------------------------------------- entry point


def _parse_builtin(name: str) -> tuple[str, list[str] | None] | None:
    base, _, suffix = name.partition(":")
    if base not in BUILTIN_SOURCES:
        return None
    if suffix and base != "arith":
        raise ValueError(f"only 'arith' takes levels after ':' (e.g. 'arith:2x2,3x2'), got {name!r}")
    levels = [level.strip() for level in suffix.split(",") if level.strip()] if suffix else None
    return base, levels


def load_training_dataset(
    name: str,
    *,
    config: str | None = None,
    split: str = "train",
    size: int | None = None,
    seed: int = 0,
    levels: Sequence[str] | None = None,
    system_prompt: str | None = DEFAULT_SYSTEM_PROMPT,
    problem_column: str = "problem",
    solution_column: str = "solution",
    hint_column: str | None = "solution_hint",
    chat: bool = True,
) -> datasets.Dataset:
    """Load a training dataset in the column contract (prompt, solution, solution_hint, id, ...).

    `name` is, in order: a built-in source ("arith", "arith:2x2,3x2", "gsm_symbolic", "champ"); an
    existing local path (.jsonl/.json/.parquet/.csv file or a folder); else a Hugging Face hub id loaded
    with `datasets.load_dataset(name, config, split=split)`. For files and hub datasets, the
    `problem_column`, `solution_column` and `hint_column` are renamed to problem/solution/solution_hint
    (`GOLD_COLUMN`, `HINT_COLUMN`: train with `hint_column="solution_hint"`, whatever the file called it; the
    hint column may be the solution column, e.g. GSM8K's `answer`: it is then copied, and the gold becomes its
    `\\boxed{}` or `#### N` answer; a gold column ending in a `#### N` line gives N too), numeric answers become text, a
    `prompt` is built from `problem` when missing (chat messages with `system_prompt`, or text when
    `chat=False`), and `id` is added as a hash of the problem text when missing. `size` keeps the first
    `size` rows of a file (built-ins: how many to generate; "champ": a seeded subset). The result is not
    validated: call `validate_dataset` before loading a model.
    """
    builtin = _parse_builtin(name)
    if builtin is not None:
        source, name_levels = builtin
        if source == "arith":
            chosen = name_levels or levels or ARITH_LEVELS
            return make_arith_dataset(size or DEFAULT_BUILTIN_SIZE, chosen, seed, system_prompt, chat=chat)
        if levels or name_levels:
            raise ValueError(f"levels only apply to the 'arith' source, not {source!r}")
        if source == "gsm_symbolic":
            return load_gsm_symbolic_dataset(size or DEFAULT_BUILTIN_SIZE, seed, system_prompt, chat=chat)
        return load_champ_dataset(size, seed, system_prompt, chat=chat)

    looks_like_file = os.path.splitext(name)[1].lower() in _FILE_FORMATS or name.startswith((".", "/", "~"))
    path = os.path.expanduser(name)
    if os.path.exists(path):
        dataset = _load_file(path, split)
    elif looks_like_file:
        raise FileNotFoundError(
            f"data file {name!r} does not exist (working directory: {os.getcwd()}); check the path, or use a "
            f"built-in source ({', '.join(BUILTIN_SOURCES)}) or a hub id")
    else:
        dataset = _load_hub(name, config, split)
    if isinstance(dataset, datasets.DatasetDict):  # pragma: no cover - load_dataset with a split never returns one
        dataset = dataset[split]

    if size is not None:
        dataset = dataset.select(range(min(size, len(dataset))))
    dataset = _to_contract_columns(dataset, problem_column, solution_column, hint_column)
    dataset = format_prompts(dataset, problem_column="problem", system_prompt=system_prompt, chat=chat)
    if "id" not in dataset.column_names:
        texts = dataset["problem"] if "problem" in dataset.column_names else dataset["prompt"]
        dataset = dataset.add_column("id", _unique_ids([_prompt_text(t) for t in texts]))
    return dataset
