"""`ghpo eval`: score a model on the GHPO paper's benchmarks (and offline ones), with and without hints.

One command: load the benchmarks (fail fast, before the model), render every prompt the way `ghpo train`
does (same system prompt, chat template on by default), generate all samples in one go (vLLM when installed,
else batched transformers `generate`), check every answer (math-verify, or a letter for multiple choice),
then print a markdown table and write a JSON file with every sample for auditing.

Metrics (per benchmark; the macro average is the plain mean over benchmarks):

- ``avg@k``: mean accuracy over the k samples of each problem, averaged over problems. With k = 1 and
  temperature 0 this is greedy pass@1; with k > 1 it is the unbiased pass@1 estimate (the paper reports
  AIME24 as avg@32, arXiv 2507.10628 Sec. 4.1).
- ``pass@j``: the unbiased estimator of Chen et al. 2021 (arXiv 2107.03374): 1 - C(n-c, j) / C(n, j).
- hint dependence (``--hint-ratio w``): accuracy when the first w of the reference solution is appended with
  GHPO's hint sentence (`ghpo.guidance.cut_hint` + `render_hinted_prompt`, exactly as in training), next to
  the accuracy without a hint on the same problems. The paper trains on hinted prompts but never measures how
  much a model still leans on hints; ``hint_gain`` = hinted - unhinted makes that visible.

>>> pass_at_k(n=5, c=2, k=2)
0.7
>>> [b for b in PAPER_BENCHMARKS]
['aime24', 'math500', 'olympiadbench', 'amc23', 'minerva', 'gpqa_diamond']
"""

from __future__ import annotations

import argparse
import hashlib
import importlib.util
import json
import logging
import math
import os
import platform
import random
import re
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field, fields
from typing import Any

from ghpo.data import DEFAULT_SYSTEM_PROMPT
from ghpo.guidance import (
    HINT_PLACEMENTS,
    HINT_UNITS,
    cut_hint,
    default_hint_template,
    render_hinted_prompt,
    tokenizer_offsets,
)

__all__ = [
    "ANSWER_KINDS",
    "BACKENDS",
    "BENCHMARKS",
    "OFFLINE_BENCHMARKS",
    "PAPER_BENCHMARKS",
    "Benchmark",
    "BenchmarkUnavailableError",
    "EvalConfig",
    "EvalProblem",
    "Sample",
    "TransformersBackend",
    "VLLMBackend",
    "add_eval_arguments",
    "evaluate_model",
    "extract_answer",
    "extract_choice",
    "format_results_table",
    "load_benchmark",
    "parse_k_spec",
    "pass_at_k",
    "resolve_benchmark_names",
    "run_eval_from_args",
    "score_completions",
    "select_backend",
    "summarize_benchmark",
]

logger = logging.getLogger(__name__)


# --------------------------------------------------------------------------------------------------------------
# Metrics
# --------------------------------------------------------------------------------------------------------------


def pass_at_k(n: int, c: int, k: int) -> float:
    """Unbiased pass@k from n samples of which c are correct: 1 - C(n-c, k) / C(n, k) (Chen et al. 2021).

    Computed as 1 - prod_{i=n-c+1}^{n} (1 - k/i), which never builds the huge binomials.

    >>> pass_at_k(10, 3, 5)  # 1 - C(7,5)/C(10,5) = 1 - 21/252
    0.9166666666666666
    >>> pass_at_k(4, 1, 4), pass_at_k(4, 0, 1)
    (1.0, 0.0)
    """
    if not 0 <= c <= n:
        raise ValueError(f"need 0 <= c <= n, got n={n}, c={c}")
    if not 1 <= k <= n:
        raise ValueError(f"need 1 <= k <= n, got k={k}, n={n}: draw at least k samples per problem")
    if n - c < k:
        return 1.0
    prod = 1.0
    for i in range(n - c + 1, n + 1):
        prod *= 1.0 - k / i
    return 1.0 - prod


def _pass_ks(n: int) -> list[int]:
    """The j of the pass@j reported for n samples: powers of two below n, and n."""
    ks = [1 << i for i in range(n.bit_length()) if (1 << i) < n]
    return ks + [n]


def _mean(values: Sequence[float]) -> float | None:
    return sum(values) / len(values) if values else None


def summarize_benchmark(
    verdicts: Sequence[Sequence[float | None]],
    hinted: dict[float, Sequence[Sequence[float | None] | None]] | None = None,
    *,
    greedy: bool = False,
    finish_reasons: Sequence[str] = (),
) -> dict[str, Any]:
    """Metrics of one benchmark from per-problem sample verdicts (1.0 / 0.0 / None = gold unparsable).

    An unscorable sample (None) counts as wrong and is counted in ``num_unscorable``. ``hinted`` maps a hint
    ratio w to per-problem verdicts under the hinted prompt (None for problems without a hint); hint
    metrics compare against the unhinted accuracy on the same problems.
    """
    if not verdicts:
        raise ValueError("no problems to summarize")
    n = len(verdicts[0])
    if n == 0 or any(len(v) != n for v in verdicts):
        raise ValueError("every problem needs the same number (>= 1) of samples")
    correct = [sum(1 for x in v if x is not None and x > 0) for v in verdicts]
    per_problem = [c / n for c in correct]
    metrics: dict[str, Any] = {
        "num_problems": len(verdicts),
        "k": n,
        "greedy": greedy,
        f"avg@{n}": _mean(per_problem),
    }
    for j in _pass_ks(n):
        metrics[f"pass@{j}"] = _mean([pass_at_k(n, c, j) for c in correct])
    metrics["num_unscorable"] = sum(1 for v in verdicts for x in v if x is None)
    if finish_reasons:
        metrics["truncated_frac"] = sum(1 for r in finish_reasons if r == "length") / len(finish_reasons)
    for ratio, rows in (hinted or {}).items():
        pairs = [(p, h) for p, h in zip(per_problem, rows, strict=True) if h is not None]
        w = _ratio_label(ratio)
        metrics[f"num_with_hint@{w}"] = len(pairs)
        plain = _mean([p for p, _ in pairs])
        with_hint = _mean([sum(1 for x in h if x is not None and x > 0) / len(h) for _, h in pairs])
        metrics[f"acc_no_hint@{w}"] = plain  # same problems as the hinted accuracy
        metrics[f"acc_hint@{w}"] = with_hint
        metrics[f"hint_gain@{w}"] = None if plain is None else with_hint - plain
    return metrics


def _ratio_label(ratio: float) -> str:
    return f"{ratio:g}"


# --------------------------------------------------------------------------------------------------------------
# Answers
# --------------------------------------------------------------------------------------------------------------

ANSWER_KINDS = ("math", "choice")
"""``math``: math-verify equivalence (`ghpo.rewards.check_answer`); ``choice``: a multiple-choice letter."""

_CHOICE_PATTERNS = (
    # \boxed{C}, \boxed{(c)}, \boxed{\text{C}}, \boxed{C) text}
    re.compile(r"\\boxed\s*\{\s*(?:\\text(?:bf)?\s*\{)?\s*\(?([A-Z])\)?\s*(?:\}|[).:\s])", re.IGNORECASE),
    re.compile(r"<answer>\s*\(?([A-Z])\)?(?:[\s).:]|</answer>)", re.IGNORECASE),
    # "answer is (c)", "Answer: C", "answer is **D**"; a bare lower-case letter is an article ("is a prime")
    re.compile(r"(?i:answer\s*(?:is|:)\s*(?:option\s*)?)[*\s]*(?:\(([A-Za-z])\)|([A-Z])(?![A-Za-z]))"),
    re.compile(r"^\s*[*\s]*\(?([A-Z])\)?[*.\s]*$", re.MULTILINE),  # a line holding just "C", "(C)" or "**C**"
)


def extract_choice(text: str, letters: str = "ABCD") -> str | None:
    r"""The multiple-choice letter a completion commits to, or None.

    In order: the last ``\boxed{C}``; the last ``<answer>C</answer>``; the last "answer is (C)" / "Answer: C";
    the last line holding only a letter. Letters outside ``letters`` are ignored.

    >>> extract_choice(r"... so the answer is \boxed{B}.")
    'B'
    >>> extract_choice("The answer is (d)"), extract_choice("no idea")
    ('D', None)
    """
    if not isinstance(text, str) or not text:
        return None
    for pattern in _CHOICE_PATTERNS:
        hits = [next(g for g in m.groups() if g).upper() for m in pattern.finditer(text)]
        hits = [h for h in hits if h in letters]
        if hits:
            return hits[-1]
    return None


def extract_answer(text: str, kind: str = "math") -> str | None:
    r"""The final answer a completion commits to (for the audit log): see `ghpo.rewards.extract_final_answer`
    for ``math``, `extract_choice` for ``choice``.

    >>> extract_answer(r"so \boxed{\frac{1}{2}}"), extract_answer("Answer: (C)", "choice")
    ('\\frac{1}{2}', 'C')
    """
    if kind == "choice":
        return extract_choice(text)
    if kind == "math":
        from ghpo.rewards import extract_final_answer

        return extract_final_answer(text)
    raise ValueError(f"unknown answer kind {kind!r}; valid: {', '.join(ANSWER_KINDS)}")


def score_completions(texts: Sequence[str], golds: Sequence[str], kind: str = "math") -> list[float | None]:
    """1.0 / 0.0 per completion (None: the gold answer does not parse). ``math`` runs math-verify in one
    batch (`ghpo.rewards.accuracy_reward`, bounded per item); ``choice`` compares letters."""
    if kind == "choice":
        return [None if not gold else float(extract_choice(t) == gold.strip().upper()) for t, gold in zip(texts, golds, strict=True)]
    if kind == "math":
        from ghpo.rewards import accuracy_reward

        return accuracy_reward(list(texts), list(golds))
    raise ValueError(f"unknown answer kind {kind!r}; valid: {', '.join(ANSWER_KINDS)}")


# --------------------------------------------------------------------------------------------------------------
# Benchmark registry
# --------------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Benchmark:
    """A hub benchmark: where it lives and how a row becomes (problem text, gold answer, hint)."""

    name: str
    title: str
    hub_id: str
    split: str
    problem_column: str
    answer_column: str
    config: str | None = None
    hint_column: str | None = None
    """Worked solution used for hint-dependence runs; None: the benchmark has none."""
    answer_kind: str = "math"
    gold_format: str = "plain"
    """How the answer column becomes a gold string: ``plain`` (as is; numbers as text), ``gsm8k`` (the number
    after '####', commas removed), ``list`` (a list of answers joined by ', '), ``gpqa`` (build 4 options)."""
    num_problems: int | None = None
    gated: bool = False
    in_paper: bool = False


GOLD_FORMATS = ("plain", "gsm8k", "list", "gpqa")

BENCHMARKS: dict[str, Benchmark] = {
    b.name: b
    for b in (
        Benchmark("aime24", "AIME 2024", "HuggingFaceH4/aime_2024", "train", "problem", "answer",
                  hint_column="solution", num_problems=30, in_paper=True),
        Benchmark("math500", "MATH-500", "HuggingFaceH4/MATH-500", "test", "problem", "answer",
                  hint_column="solution", num_problems=500, in_paper=True),
        Benchmark("olympiadbench", "OlympiadBench (OE_TO_maths_en_COMP)", "Hothan/OlympiadBench", "train",
                  "question", "final_answer", config="OE_TO_maths_en_COMP", hint_column="solution",
                  gold_format="list", num_problems=674, in_paper=True),
        Benchmark("amc23", "AMC 2023", "math-ai/amc23", "test", "question", "answer", num_problems=40,
                  in_paper=True),
        Benchmark("minerva", "Minerva Math", "math-ai/minervamath", "test", "question", "answer",
                  num_problems=272, in_paper=True),
        Benchmark("gpqa_diamond", "GPQA-Diamond", "Idavidrein/gpqa", "train", "Question", "Correct Answer",
                  config="gpqa_diamond", hint_column="Explanation", answer_kind="choice", gold_format="gpqa",
                  num_problems=198, gated=True, in_paper=True),
        Benchmark("gsm8k", "GSM8K", "openai/gsm8k", "test", "question", "answer", config="main",
                  hint_column="answer", gold_format="gsm8k", num_problems=1319),
    )
}
"""Hub benchmarks by name. The six with ``in_paper`` are the GHPO paper's (Table 1)."""

PAPER_BENCHMARKS = tuple(b.name for b in BENCHMARKS.values() if b.in_paper)
OFFLINE_BENCHMARKS = ("arith", "gsm_symbolic", "champ")
"""Built-in sources that need no network (`ghpo.data`): ``arith`` takes levels (``arith:2x2,4x3``)."""

_ALIASES = {
    "aime": "aime24", "aime_2024": "aime24", "aime2024": "aime24", "math_500": "math500", "math-500": "math500",
    "olympiad": "olympiadbench", "olympiad_bench": "olympiadbench", "amc": "amc23", "amc2023": "amc23",
    "minerva_math": "minerva", "minervamath": "minerva", "gpqa": "gpqa_diamond", "gpqa-diamond": "gpqa_diamond",
}
_GROUPS = {"paper": PAPER_BENCHMARKS}

DEFAULT_OFFLINE_SIZE = {"arith": 100, "gsm_symbolic": 500}
"""Problems per arith level / gsm_symbolic problems when --limit is not given (champ: all 270)."""
EVAL_DATA_SEED = 1
"""Seed of generated eval sets: training draws use seed 0, so evaluation is a different draw. arith also
excludes the default training draw (1,000 problems, seed 0) so its problems are held out."""


def _looks_like_file(name: str) -> bool:
    return name.endswith((".jsonl", ".json", ".parquet", ".csv")) or name.startswith((".", "/", "~"))


def resolve_benchmark_names(spec: str | Sequence[str]) -> list[str]:
    """Split a comma list into benchmark names: registry names (aliases allowed), ``paper`` (the six),
    offline sources (``arith``, ``arith:2x2,4x3``), local files or other hub ids (``owner/name``).

    A comma directly after ``arith:`` levels belongs to the levels: ``arith:2x2,4x3,math500`` reads as
    ``arith:2x2,4x3`` and ``math500``.

    >>> resolve_benchmark_names("paper")[:2], resolve_benchmark_names("arith:2x2,4x3,gsm8k")
    (['aime24', 'math500'], ['arith:2x2,4x3', 'gsm8k'])
    """
    parts = [p.strip() for p in (spec.split(",") if isinstance(spec, str) else spec) if p and p.strip()]
    names: list[str] = []
    level_re = re.compile(r"^\d+x\d+m?$")
    for part in parts:
        if level_re.match(part) and names and names[-1].startswith("arith:"):
            names[-1] += f",{part}"
            continue
        key = part.lower()
        if key in _GROUPS:
            names.extend(_GROUPS[key])
        elif key in BENCHMARKS or key in _ALIASES:
            names.append(_ALIASES.get(key, key))
        elif key.partition(":")[0] in OFFLINE_BENCHMARKS:
            names.append(part)
        elif os.path.exists(os.path.expanduser(part)) or _looks_like_file(part) or "/" in part:
            names.append(part)
        else:
            valid = ", ".join([*BENCHMARKS, *OFFLINE_BENCHMARKS, "paper"])
            raise ValueError(
                f"unknown benchmark {part!r}. Valid names: {valid}; 'arith:<levels>' (e.g. arith:2x2,4x3); "
                "a local .jsonl/.json/.parquet/.csv file; or a hub id owner/name")
    if not names:
        raise ValueError("no benchmarks given; e.g. --benchmarks math500,aime24 or --benchmarks paper")
    return list(dict.fromkeys(names))


class BenchmarkUnavailableError(ConnectionError):
    """A hub benchmark cannot be loaded (offline, unreachable, gated, or missing)."""


@dataclass
class EvalProblem:
    """One problem ready for generation: ``prompt`` is chat messages or text, as `ghpo train` builds it."""

    id: str
    prompt: list[dict[str, str]] | str
    gold: str
    hint: str | None = None
    answer_kind: str = "math"


def _answer_text(value: Any) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return "" if value is None else str(value).strip()


def _gsm8k_gold(answer: str) -> str:
    """'... #### 1,234' -> '1234'."""
    return answer.rsplit("####", 1)[-1].strip().replace(",", "") if "####" in answer else answer.strip()


def _gpqa_problem(row: dict[str, Any]) -> tuple[str, str]:
    """Question + 4 lettered options (Correct Answer + 3 Incorrect Answers) in an order fixed by a hash of the
    question (the same on every machine and run); returns (problem text, gold letter)."""
    correct = str(row["Correct Answer"]).strip()
    options = [correct] + [str(row[f"Incorrect Answer {i}"]).strip() for i in (1, 2, 3)]
    seed = int(hashlib.sha256(str(row["Question"]).encode("utf-8")).hexdigest()[:16], 16)
    random.Random(seed).shuffle(options)
    letters = "ABCD"
    lines = [str(row["Question"]).strip(), ""] + [f"{letter}) {opt}" for letter, opt in zip(letters, options)]
    lines += ["", "Answer with the letter of the correct option."]
    return "\n".join(lines), letters[options.index(correct)]


def _hub_row_to_problem(spec: Benchmark, row: dict[str, Any]) -> tuple[str, str, str | None]:
    """(problem text, gold answer, hint or None) of one hub row."""
    if spec.gold_format == "gpqa":
        problem, gold = _gpqa_problem(row)
    else:
        problem = str(row[spec.problem_column]).strip()
        context = row.get("context")
        if isinstance(context, str) and context.strip():  # OlympiadBench: shared context of a multi-part problem
            problem = f"{context.strip()}\n\n{problem}"
        raw = row[spec.answer_column]
        if spec.gold_format == "gsm8k":
            gold = _gsm8k_gold(str(raw))
        elif spec.gold_format == "list":
            gold = ", ".join(_answer_text(a) for a in raw) if isinstance(raw, list) else _answer_text(raw)
        else:
            gold = _answer_text(raw)
    hint = row.get(spec.hint_column) if spec.hint_column else None
    if isinstance(hint, list):
        hint = "\n".join(str(h) for h in hint)
    return problem, gold, (hint if isinstance(hint, str) and hint.strip() else None)


def _load_hub_rows(spec: Benchmark) -> list[dict[str, Any]]:
    import datasets

    try:
        dataset = datasets.load_dataset(spec.hub_id, spec.config, split=spec.split)
    except (ConnectionError, TimeoutError, OSError) as exc:  # offline, unreachable, gated (HTTP 401/403), missing
        offline = any(os.environ.get(v, "").lower() in ("1", "true", "yes", "on")
                      for v in ("HF_HUB_OFFLINE", "HF_DATASETS_OFFLINE"))
        reason = ("the hub is unreachable: HF_HUB_OFFLINE/HF_DATASETS_OFFLINE is set and no copy is cached"
                  if offline else "the hub is unreachable or refused the request")
        gated = (f" {spec.title} is gated: accept its terms at https://huggingface.co/datasets/{spec.hub_id} "
                 "and log in (`hf auth login` or HF_TOKEN)." if spec.gated else "")
        raise BenchmarkUnavailableError(
            f"cannot load benchmark {spec.name!r} ({spec.hub_id}"
            f"{', ' + spec.config if spec.config else ''}, split {spec.split}): {reason} "
            f"({type(exc).__name__}: {exc}).{gated} Run once with network access to cache it, or evaluate offline "
            f"on {', '.join(OFFLINE_BENCHMARKS)} or a local .jsonl/.parquet file.") from exc
    missing = [c for c in (spec.problem_column, spec.answer_column) if c not in dataset.column_names]
    if missing:
        raise ValueError(f"benchmark {spec.name!r}: columns {missing} not in {dataset.column_names}; "
                         "the hub dataset changed, update ghpo.evaluate.BENCHMARKS")
    return list(dataset)


def _render(problem: str, system_prompt: str | None, chat: bool) -> list[dict[str, str]] | str:
    # The same prompt `ghpo train` builds (ghpo.data.format_prompts): chat messages, or system + blank line + problem.
    from ghpo.data import make_conversation

    if chat:
        return make_conversation(problem, system_prompt)
    return f"{system_prompt}\n\n{problem}" if system_prompt else problem


def _problem_id(name: str, index: int, text: str) -> str:
    return f"{name}-{index}-{hashlib.sha1(text.encode('utf-8')).hexdigest()[:8]}"


def _from_training_source(
    name: str, *, limit: int | None, system_prompt: str | None, chat: bool, problem_column: str,
    solution_column: str, hint_column: str, config: str | None, split: str,
) -> list[EvalProblem]:
    from ghpo.data import load_training_dataset, make_arith_eval_set

    base, _, suffix = name.partition(":")
    if base == "arith":
        from ghpo.arith import ARITH_LEVELS, generate_arith_problems
        from ghpo.data import DEFAULT_BUILTIN_SIZE

        levels = [lv.strip() for lv in suffix.split(",") if lv.strip()] or list(ARITH_LEVELS)
        per_level = math.ceil(limit / len(levels)) if limit else DEFAULT_OFFLINE_SIZE["arith"]
        train = generate_arith_problems(DEFAULT_BUILTIN_SIZE, levels=levels, seed=0)
        dataset = make_arith_eval_set(per_level, levels, seed=EVAL_DATA_SEED, system_prompt=system_prompt,
                                      chat=chat, exclude=[f"Calculate {p.expression}." for p in train])
    elif base in ("gsm_symbolic", "champ"):
        if suffix:
            raise ValueError(f"only 'arith' takes levels after ':', got {name!r}")
        size = limit or DEFAULT_OFFLINE_SIZE.get(base)
        if base == "champ" and size is not None:
            size = min(size, 270)
        dataset = load_training_dataset(base, size=size, seed=EVAL_DATA_SEED, system_prompt=system_prompt, chat=chat)
    else:  # a local file or another hub id, with the training column options
        try:
            dataset = load_training_dataset(
                name, config=config, split=split, size=limit, system_prompt=system_prompt, chat=chat,
                problem_column=problem_column, solution_column=solution_column, hint_column=hint_column)
        except ConnectionError as exc:
            raise BenchmarkUnavailableError(f"cannot load benchmark {name!r}: {exc}") from exc
    rows = list(dataset)[:limit] if limit else list(dataset)
    problems = []
    for i, row in enumerate(rows):
        hint = row.get("solution_hint")
        problems.append(EvalProblem(
            id=str(row.get("id") or _problem_id(name, i, str(row.get("problem")))),
            prompt=row["prompt"], gold=_answer_text(row["solution"]),
            hint=hint if isinstance(hint, str) and hint.strip() else None))
    return problems


def load_benchmark(
    name: str,
    *,
    limit: int | None = None,
    system_prompt: str | None = DEFAULT_SYSTEM_PROMPT,
    chat: bool = True,
    problem_column: str = "problem",
    solution_column: str = "solution",
    hint_column: str = "solution_hint",
    config: str | None = None,
    split: str = "test",
) -> list[EvalProblem]:
    """The problems of one benchmark (see `resolve_benchmark_names` for what ``name`` may be), the first
    ``limit`` of them. Prompts are built like `ghpo train` builds them (``system_prompt``, ``chat``).
    The column options, ``config`` and ``split`` apply to local files and unregistered hub ids only.

    Raises `BenchmarkUnavailableError` when a hub benchmark cannot be reached (e.g. HF_HUB_OFFLINE=1 and not
    cached): the message says why and what to run instead.
    """
    if limit is not None and limit < 1:
        raise ValueError(f"limit must be >= 1, got {limit}")
    spec = BENCHMARKS.get(_ALIASES.get(name.lower(), name.lower()))
    if spec is None:
        return _from_training_source(
            name, limit=limit, system_prompt=system_prompt, chat=chat, problem_column=problem_column,
            solution_column=solution_column, hint_column=hint_column, config=config, split=split)
    rows = _load_hub_rows(spec)
    if limit:
        rows = rows[:limit]
    problems = []
    for i, row in enumerate(rows):
        problem, gold, hint = _hub_row_to_problem(spec, row)
        row_id = row.get("id") or row.get("unique_id") or row.get("Record ID")
        problems.append(EvalProblem(
            id=f"{spec.name}-{row_id}" if row_id is not None else _problem_id(spec.name, i, problem),
            prompt=_render(problem, system_prompt, chat), gold=gold, hint=hint, answer_kind=spec.answer_kind))
    return problems


# --------------------------------------------------------------------------------------------------------------
# Generation backends
# --------------------------------------------------------------------------------------------------------------

BACKENDS = ("auto", "vllm", "transformers")


@dataclass
class Sample:
    """One generated completion."""

    text: str
    num_tokens: int
    finish_reason: str  # "stop" (eos) or "length" (hit max_new_tokens)


def vllm_available() -> bool:
    return importlib.util.find_spec("vllm") is not None


def select_backend(requested: str = "auto") -> str:
    """``auto``: vLLM when it is installed (and a CUDA device is present), else transformers."""
    if requested not in BACKENDS:
        raise ValueError(f"unknown backend {requested!r}; valid: {', '.join(BACKENDS)}")
    if requested == "vllm" and not vllm_available():
        raise ImportError("--backend vllm needs vLLM: pip install vllm (on a CUDA machine), or use --backend transformers")
    if requested != "auto":
        return requested
    if vllm_available():
        import torch

        if torch.cuda.is_available():
            return "vllm"
    return "transformers"


def tokenize_prompt(tokenizer, prompt: list[dict[str, str]] | str) -> list[int]:
    """Prompt token ids exactly as TRL's GRPOTrainer builds them: the chat template with a generation prompt for
    chat messages, the plain tokenizer (its special tokens included) for text."""
    if isinstance(prompt, str):
        return list(tokenizer(prompt)["input_ids"])
    if getattr(tokenizer, "chat_template", None) is None:
        raise ValueError("the model's tokenizer has no chat template; evaluate with --no-chat (plain text prompts)")
    if prompt[-1].get("role") == "assistant":  # a hint that opens the answer, rendered exactly as in training
        from ghpo.trainer import render_continued_chat

        return list(render_continued_chat(tokenizer, [prompt])[0])
    ids = tokenizer.apply_chat_template(prompt, add_generation_prompt=True, tokenize=True, return_dict=True)["input_ids"]
    return list(ids[0] if ids and isinstance(ids[0], list) else ids)


class TransformersBackend:
    """Batched ``model.generate``: left padding, prompts sorted by length, ``batch_size`` sequences per call."""

    name = "transformers"

    def __init__(self, model_name: str, *, dtype: str = "auto", device: str | None = None, batch_size: int = 32):
        import torch

        from ghpo.models import load_model_and_tokenizer

        if device is None:
            device = "cuda" if torch.cuda.is_available() else "cpu"
        if dtype == "auto":
            dtype = "bfloat16" if device.startswith("cuda") else "float32"
        self.model, self.tokenizer = load_model_and_tokenizer(model_name, dtype=dtype, device=device)
        self.device, self.dtype, self.batch_size = device, dtype, batch_size

    def generate(self, prompt_ids: Sequence[list[int]], num_samples: Sequence[int], *, temperature: float,
                 top_p: float, max_new_tokens: int, seed: int, progress: bool = True) -> list[list[Sample]]:
        import torch
        from tqdm.auto import tqdm
        from transformers import GenerationConfig, set_seed

        set_seed(seed)
        tok = self.tokenizer
        eos = self.model.generation_config.eos_token_id
        eos_ids = set(eos if isinstance(eos, list) else [eos] if eos is not None else [])
        eos_ids.add(tok.eos_token_id)
        pad = tok.pad_token_id
        # A fresh config, not the model's: its defaults (e.g. Qwen's repetition_penalty, top_k) would otherwise
        # apply here but not in vLLM, and the saved settings would not be the whole story.
        greedy = temperature == 0
        gen_config = GenerationConfig(
            max_new_tokens=max_new_tokens, do_sample=not greedy, temperature=None if greedy else temperature,
            top_p=None if greedy else top_p, top_k=None, eos_token_id=sorted(eos_ids), pad_token_id=pad,
            bos_token_id=self.model.generation_config.bos_token_id)
        # One row per sample, longest prompts first (similar lengths share a batch, OOM shows up at once).
        rows = [(i, j) for i, n in enumerate(num_samples) for j in range(n)]
        rows.sort(key=lambda r: -len(prompt_ids[r[0]]))
        out: list[list[Sample | None]] = [[None] * n for n in num_samples]
        bar = tqdm(total=len(rows), desc="generating", unit="sample", disable=not progress)
        for start in range(0, len(rows), self.batch_size):
            batch = rows[start : start + self.batch_size]
            width = max(len(prompt_ids[i]) for i, _ in batch)
            input_ids = torch.full((len(batch), width), pad, dtype=torch.long)
            attention = torch.zeros((len(batch), width), dtype=torch.long)
            for r, (i, _) in enumerate(batch):
                ids = prompt_ids[i]
                input_ids[r, width - len(ids):] = torch.tensor(ids)
                attention[r, width - len(ids):] = 1
            with torch.no_grad():
                generated = self.model.generate(
                    input_ids=input_ids.to(self.model.device), attention_mask=attention.to(self.model.device),
                    generation_config=gen_config)
            for r, (i, j) in enumerate(batch):
                completion = generated[r, width:].tolist()
                stop = next((t for t, token in enumerate(completion) if token in eos_ids), None)
                kept = completion if stop is None else completion[:stop]
                out[i][j] = Sample(tok.decode(kept, skip_special_tokens=True), len(kept) + (stop is not None),
                                   "length" if stop is None else "stop")
            bar.update(len(batch))
        bar.close()
        return out  # type: ignore[return-value]


class VLLMBackend:
    """vLLM's offline engine: one ``LLM.generate`` call for every prompt, ``SamplingParams(n=k)`` per prompt."""

    name = "vllm"

    def __init__(self, model_name: str, *, dtype: str = "auto", seed: int = 0, tensor_parallel_size: int = 1,
                 gpu_memory_utilization: float = 0.9, max_model_len: int | None = None):
        from transformers import AutoTokenizer
        from vllm import LLM

        from ghpo.models import ensure_pad_token, resolve_model

        path = resolve_model(model_name)
        self.tokenizer = ensure_pad_token(AutoTokenizer.from_pretrained(path))
        self.llm = LLM(model=path, dtype=dtype, seed=seed, tensor_parallel_size=tensor_parallel_size,
                       gpu_memory_utilization=gpu_memory_utilization, max_model_len=max_model_len)
        self.dtype = dtype

    def generate(self, prompt_ids: Sequence[list[int]], num_samples: Sequence[int], *, temperature: float,
                 top_p: float, max_new_tokens: int, seed: int, progress: bool = True) -> list[list[Sample]]:
        from vllm import SamplingParams

        # Token ids, not text: vLLM would add a BOS to text prompts that the chat template already holds.
        prompts = [{"prompt_token_ids": list(ids)} for ids in prompt_ids]
        params = [SamplingParams(n=n, temperature=temperature, top_p=1.0 if temperature == 0 else top_p,
                                 max_tokens=max_new_tokens) for n in num_samples]
        outputs = self.llm.generate(prompts, params, use_tqdm=progress)
        return [[Sample(o.text, len(o.token_ids), "length" if o.finish_reason == "length" else "stop")
                 for o in request.outputs] for request in outputs]


# --------------------------------------------------------------------------------------------------------------
# The evaluation run
# --------------------------------------------------------------------------------------------------------------


def parse_k_spec(spec: str | int) -> tuple[int, dict[str, int]]:
    """``"1,aime24=32"`` -> (1, {"aime24": 32}): a default k and per-benchmark overrides.

    >>> parse_k_spec("4,aime24=32"), parse_k_spec(8)
    ((4, {'aime24': 32}), (8, {}))
    """
    if isinstance(spec, int):
        default, overrides = spec, {}
    else:
        default, overrides = 1, {}
        for part in (p.strip() for p in str(spec).split(",") if p.strip()):
            name, eq, value = part.rpartition("=")
            try:
                number = int(value)
            except ValueError:
                raise ValueError(f"bad --k entry {part!r}: use an integer or name=integer, e.g. --k 1,aime24=32") from None
            if eq:
                key = name.strip().lower()
                overrides[_ALIASES.get(key, key)] = number
            else:
                default = number
    for value in [default, *overrides.values()]:
        if value < 1:
            raise ValueError(f"k must be >= 1, got {value}")
    return default, overrides


@dataclass
class EvalConfig:
    """Settings of one `ghpo eval` run (saved in the JSON output). Each field's help is the CLI's."""

    model: str = field(metadata={"help": "Model to evaluate: a hub id, a local directory (e.g. a ghpo train "
                                         "output_dir) or an embedded name (smollm2-135m-instruct)."})
    benchmarks: list[str] = field(default_factory=lambda: list(PAPER_BENCHMARKS), metadata={
        "help": "Comma list: " + ", ".join(BENCHMARKS) + "; 'paper' (the six of the GHPO paper); offline: "
                "arith (or arith:2x2,4x3), gsm_symbolic, champ; a local .jsonl/.json/.parquet/.csv file; or "
                "another hub id. Default: paper."})
    k: str = field(default="1", metadata={
        "help": "Samples per problem: an integer, optionally with per-benchmark overrides, e.g. '1,aime24=32' "
                "(the paper's avg@32 on AIME24). k > 1 needs --temperature > 0."})
    temperature: float = field(default=0.0, metadata={
        "help": "Sampling temperature; 0 = greedy decoding (k must then be 1). Paper-style runs: 0.6."})
    top_p: float = field(default=1.0, metadata={"help": "Nucleus sampling top-p (ignored when greedy). Paper-style: 0.95."})
    max_new_tokens: int = field(default=2048, metadata={
        "help": "Completion length limit in tokens; truncated samples are counted in 'trunc'. Default 2048 = the "
                "paper's training completion length."})
    hint_ratios: list[float] = field(default_factory=list, metadata={
        "help": "Hint dependence: also evaluate with the first w of the reference solution as a hint (comma "
                "list, e.g. 0.5 or 0.25,0.5,0.75). Only benchmarks with a solution column are hinted."})
    hint_unit: str = field(default="token", metadata={"help": f"How hints are cut ({', '.join(HINT_UNITS)}), as in training."})
    hint_placement: str = field(default="prompt", metadata={
        "help": "Where the hint goes, as in training: 'prompt' (appended to the problem) or 'response' (it opens the "
                "answer, which the model continues; the answer graded is hint + continuation)."})
    hint_template: str | None = field(default=None, metadata={
        "help": "'{hint}' is replaced by the solution prefix. Default, as in training: the paper's sentence for "
                "'prompt', '{hint}\\n' for 'response'."})
    limit: int | None = field(default=None, metadata={"help": "Evaluate only the first N problems of each benchmark."})
    batch_size: int = field(default=32, metadata={"help": "Sequences per generate call (transformers backend)."})
    backend: str = field(default="auto", metadata={
        "help": "auto (vLLM if installed and a GPU is present, else transformers), vllm or transformers."})
    system_prompt: str | None = field(default=DEFAULT_SYSTEM_PROMPT, metadata={
        "help": "System prompt, as in `ghpo train` (default: ghpo's open-r1 style prompt asking for \\boxed{}). "
                "Pass '' for none."})
    chat: bool = field(default=True, metadata={"help": "Use the model's chat template (--no-chat: plain text prompts)."})
    seed: int = field(default=0, metadata={"help": "Sampling seed."})
    dtype: str = field(default="auto", metadata={"help": "Weights dtype: auto (bfloat16 on GPU, float32 on CPU), "
                                                          "float32, bfloat16 or float16."})
    device: str | None = field(default=None, metadata={"help": "transformers device (default: cuda if available, else cpu)."})
    tensor_parallel_size: int = field(default=1, metadata={"help": "vLLM: GPUs to shard the model over."})
    gpu_memory_utilization: float = field(default=0.9, metadata={"help": "vLLM: fraction of GPU memory it may use."})
    max_model_len: int | None = field(default=None, metadata={"help": "vLLM: context length (default: the model's)."})
    problem_column: str = field(default="problem", metadata={"help": "Local files / other hub ids: problem column."})
    solution_column: str = field(default="solution", metadata={"help": "Local files / other hub ids: gold answer column."})
    hint_column: str = field(default="solution_hint", metadata={"help": "Local files / other hub ids: worked solution column."})
    split: str = field(default="test", metadata={"help": "Other hub ids: split to evaluate."})
    output: str | None = field(default=None, metadata={
        "help": "JSON file for settings, metrics and every sample (default: eval_results.json in the working directory)."})

    def __post_init__(self):
        if isinstance(self.benchmarks, str):
            self.benchmarks = resolve_benchmark_names(self.benchmarks)
        if isinstance(self.hint_ratios, (int, float)):
            self.hint_ratios = [float(self.hint_ratios)]
        self.k = str(self.k)
        default_k, overrides = parse_k_spec(self.k)
        if self.temperature < 0:
            raise ValueError(f"temperature must be >= 0, got {self.temperature}")
        if self.temperature == 0 and (default_k > 1 or any(v > 1 for v in overrides.values())):
            raise ValueError("greedy decoding (temperature 0) gives k identical samples: use k = 1, or sample with "
                             "e.g. --temperature 0.6 --top_p 0.95")
        if not 0 < self.top_p <= 1:
            raise ValueError(f"top_p must be in (0, 1], got {self.top_p}")
        if self.max_new_tokens < 1 or self.batch_size < 1:
            raise ValueError("max_new_tokens and batch_size must be >= 1")
        for w in self.hint_ratios:
            if not 0 < w <= 1:
                raise ValueError(f"hint ratio {w} must be in (0, 1]")
        if self.hint_unit not in HINT_UNITS:
            raise ValueError(f"hint_unit {self.hint_unit!r} is not one of {', '.join(HINT_UNITS)}")
        if self.hint_placement not in HINT_PLACEMENTS:
            raise ValueError(f"hint_placement {self.hint_placement!r} is not one of {', '.join(HINT_PLACEMENTS)}")
        if self.hint_template is None:
            self.hint_template = default_hint_template(self.hint_placement)
        if "{hint}" not in self.hint_template:
            raise ValueError("hint_template must contain '{hint}' where the solution prefix goes")
        if self.backend not in BACKENDS:
            raise ValueError(f"unknown backend {self.backend!r}; valid: {', '.join(BACKENDS)}")
        if self.limit is not None and self.limit < 1:
            raise ValueError(f"limit must be >= 1, got {self.limit}")
        if self.system_prompt == "":
            self.system_prompt = None

    def k_for(self, benchmark: str) -> int:
        default, overrides = parse_k_spec(self.k)
        return overrides.get(benchmark.lower(), default)


def _make_backend(config: EvalConfig, name: str):
    if name == "vllm":
        return VLLMBackend(config.model, dtype=config.dtype, seed=config.seed,
                           tensor_parallel_size=config.tensor_parallel_size,
                           gpu_memory_utilization=config.gpu_memory_utilization, max_model_len=config.max_model_len)
    return TransformersBackend(config.model, dtype=config.dtype, device=config.device, batch_size=config.batch_size)




def _environment() -> dict[str, Any]:
    from importlib.metadata import PackageNotFoundError, version

    env: dict[str, Any] = {"python": platform.python_version(), "platform": platform.platform()}
    for package in ("ghpo", "torch", "transformers", "vllm", "math-verify", "datasets"):
        try:
            env[package] = version(package)
        except PackageNotFoundError:
            env[package] = None
    try:
        import torch

        env["device"] = torch.cuda.get_device_name(0) if torch.cuda.is_available() else "cpu"
    except ImportError:  # pragma: no cover
        pass
    return env


def evaluate_model(config: EvalConfig, backend=None, progress: bool = True, log: Callable[[str], None] = print) -> dict:
    """Run one evaluation; returns the result dict that `run_eval_from_args` saves as JSON.

    ``backend``: an object with ``name``, ``tokenizer`` and ``generate(prompt_ids, num_samples, *, temperature,
    top_p, max_new_tokens, seed, progress) -> list[list[Sample]]`` (tests pass a scripted one); None builds the
    backend ``config.backend`` selects. Benchmarks load before the model, so a bad name or an unreachable hub
    fails in seconds.
    """
    started = time.time()
    problems_by_bench: dict[str, list[EvalProblem]] = {}
    for name in config.benchmarks:
        problems_by_bench[name] = load_benchmark(
            name, limit=config.limit, system_prompt=config.system_prompt, chat=config.chat,
            problem_column=config.problem_column, solution_column=config.solution_column,
            hint_column=config.hint_column, split=config.split)
        log(f"ghpo eval: {name}: {len(problems_by_bench[name])} problems, k={config.k_for(name)}")

    if backend is None:
        chosen = select_backend(config.backend)
        reason = "" if config.backend != "auto" else (
            " (auto: vLLM is installed)" if chosen == "vllm" else
            " (auto: vLLM not installed)" if not vllm_available() else " (auto: no CUDA device for vLLM)")
        log(f"ghpo eval: backend {chosen}{reason}; loading {config.model}")
        backend = _make_backend(config, chosen)
    tokenizer = backend.tokenizer
    offsets = tokenizer_offsets(tokenizer) if config.hint_unit == "token" else None
    from ghpo.rewards import same_math_value  # the no-leak rule's fallback, as in training

    # Every (benchmark, problem, variant) becomes one request; all go to the backend in one call.
    requests: list[tuple[str, int, str]] = []
    prompt_ids: list[list[int]] = []
    num_samples: list[int] = []
    hints: dict[tuple[str, int, str], str] = {}
    for name, problems in problems_by_bench.items():
        k = config.k_for(name)
        for i, p in enumerate(problems):
            variants = [("plain", p.prompt)]
            if p.hint:
                for w in config.hint_ratios:
                    hint = cut_hint(p.hint, w, config.hint_unit, offsets, gold=p.gold, same_value=same_math_value)
                    if not hint:  # e.g. a 1-step solution: no hint without its answer step, as in training
                        continue
                    hints[(name, i, f"hint@{_ratio_label(w)}")] = hint
                    variants.append((f"hint@{_ratio_label(w)}", render_hinted_prompt(
                        p.prompt, hint, config.hint_template, config.hint_placement)))
            for variant, prompt in variants:
                requests.append((name, i, variant))
                prompt_ids.append(tokenize_prompt(tokenizer, prompt))
                num_samples.append(k)
    log(f"ghpo eval: generating {sum(num_samples)} samples for {len(requests)} prompts "
        f"(temperature {config.temperature}, top_p {config.top_p}, max_new_tokens {config.max_new_tokens})")
    gen_started = time.time()
    outputs = backend.generate(prompt_ids, num_samples, temperature=config.temperature, top_p=config.top_p,
                               max_new_tokens=config.max_new_tokens, seed=config.seed, progress=progress)
    gen_seconds = time.time() - gen_started

    def response_prefix(request) -> str:  # a hint that opened the answer is part of the answer graded
        if config.hint_placement != "response" or request[2] == "plain":
            return ""
        return config.hint_template.format(hint=hints[request])

    # Score per answer kind in one batch each (math-verify runs in worker processes).
    flat: list[tuple[int, int]] = [(r, s) for r, samples in enumerate(outputs) for s in range(len(samples))]
    verdicts: dict[tuple[int, int], float | None] = {}
    for kind in ANSWER_KINDS:
        idx = [(r, s) for r, s in flat if problems_by_bench[requests[r][0]][requests[r][1]].answer_kind == kind]
        texts = [response_prefix(requests[r]) + outputs[r][s].text for r, s in idx]
        golds = [problems_by_bench[requests[r][0]][requests[r][1]].gold for r, _ in idx]
        verdicts.update(zip(idx, score_completions(texts, golds, kind) if idx else []))

    records: dict[str, list[dict]] = {name: [] for name in problems_by_bench}
    for name, problems in problems_by_bench.items():
        for i, p in enumerate(problems):
            records[name].append({"id": p.id, "gold": p.gold, "answer_kind": p.answer_kind,
                                  "has_hint": p.hint is not None, "variants": {}})
    for r, (name, i, variant) in enumerate(requests):
        kind = problems_by_bench[name][i].answer_kind
        samples = [{"text": smp.text, "extracted": extract_answer(smp.text, kind), "verdict": verdicts[(r, s)],
                    "num_tokens": smp.num_tokens, "finish_reason": smp.finish_reason}
                   for s, smp in enumerate(outputs[r])]
        entry = {"prompt": tokenizer.decode(prompt_ids[r]), "num_correct": sum(1 for x in samples if x["verdict"]),
                 "samples": samples}
        if variant != "plain":
            entry["hint"] = hints[(name, i, variant)]
        records[name][i]["variants"][variant] = entry

    summary: dict[str, dict] = {}
    for name, rows in records.items():
        plain = [[s["verdict"] for s in row["variants"]["plain"]["samples"]] for row in rows]
        hinted = {w: [[s["verdict"] for s in row["variants"][f"hint@{_ratio_label(w)}"]["samples"]]
                      if f"hint@{_ratio_label(w)}" in row["variants"] else None for row in rows]
                  for w in config.hint_ratios}
        reasons = [s["finish_reason"] for row in rows for s in row["variants"]["plain"]["samples"]]
        tokens = [s["num_tokens"] for row in rows for s in row["variants"]["plain"]["samples"]]
        summary[name] = summarize_benchmark(plain, hinted, greedy=config.temperature == 0, finish_reasons=reasons)
        summary[name]["mean_completion_tokens"] = _mean(tokens)
    macro: dict[str, Any] = {"avg": _mean([m[f"avg@{m['k']}"] for m in summary.values()])}
    for w in config.hint_ratios:
        label = _ratio_label(w)
        with_hints = [m for m in summary.values() if m.get(f"num_with_hint@{label}")]
        macro[f"acc_no_hint@{label}"] = _mean([m[f"acc_no_hint@{label}"] for m in with_hints])
        macro[f"acc_hint@{label}"] = _mean([m[f"acc_hint@{label}"] for m in with_hints])
        macro[f"hint_gain@{label}"] = _mean([m[f"hint_gain@{label}"] for m in with_hints])

    settings = asdict(config)
    settings["k_per_benchmark"] = {name: config.k_for(name) for name in config.benchmarks}
    return {
        "settings": settings,
        "backend": backend.name,
        "dtype": getattr(backend, "dtype", None),
        "environment": _environment(),
        "seconds": {"total": time.time() - started, "generation": gen_seconds},
        "macro": macro,
        "metrics": summary,
        "problems": records,
    }


def _fmt(value: float | None) -> str:
    return "-" if value is None else f"{value:.3f}"


def format_results_table(result: dict) -> str:
    """A markdown table: one row per benchmark (avg@k, pass@k, truncated share, hint columns), then the macro
    average."""
    ratios = [_ratio_label(w) for w in result["settings"].get("hint_ratios", [])]
    header = ["benchmark", "problems", "k", "avg@k", "pass@k", "trunc"]
    for w in ratios:
        header += [f"no hint ({w})", f"hint {w}", "gain"]
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join(["---"] + ["---:"] * (len(header) - 1)) + "|"]
    for name, m in result["metrics"].items():
        k = m["k"]
        cells = [name, str(m["num_problems"]), f"{k}{' (greedy)' if m['greedy'] else ''}", _fmt(m[f"avg@{k}"]),
                 _fmt(m[f"pass@{k}"]) if k > 1 else "-", _fmt(m.get("truncated_frac"))]
        for w in ratios:
            if m.get(f"num_with_hint@{w}"):
                cells += [_fmt(m[f"acc_no_hint@{w}"]), _fmt(m[f"acc_hint@{w}"]), _fmt(m[f"hint_gain@{w}"])]
            else:
                cells += ["-", "-", "-"]
        lines.append("| " + " | ".join(cells) + " |")
    macro = result["macro"]
    cells = ["macro avg", "", "", _fmt(macro["avg"]), "", ""]
    for w in ratios:
        cells += [_fmt(macro.get(f"acc_no_hint@{w}")), _fmt(macro.get(f"acc_hint@{w}")), _fmt(macro.get(f"hint_gain@{w}"))]
    lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


# --------------------------------------------------------------------------------------------------------------
# CLI: `ghpo eval` (ghpo.cli wires these) and `python -m ghpo.evaluate`
# --------------------------------------------------------------------------------------------------------------

_HELP = {f.name: f.metadata.get("help", "") for f in fields(EvalConfig)}


def _float_list(text: str) -> list[float]:
    try:
        return [float(x) for x in text.split(",") if x.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected comma-separated numbers, got {text!r}") from None


def add_eval_arguments(parser: argparse.ArgumentParser) -> argparse.ArgumentParser:
    """Add `ghpo eval`'s arguments to ``parser`` (help texts come from `EvalConfig`)."""
    d = EvalConfig.__dataclass_fields__
    parser.add_argument("model", help=_HELP["model"])
    parser.add_argument("--benchmarks", default="paper", help=_HELP["benchmarks"])
    parser.add_argument("--k", default=d["k"].default, help=_HELP["k"])
    parser.add_argument("--temperature", type=float, default=d["temperature"].default, help=_HELP["temperature"])
    parser.add_argument("--top_p", "--top-p", dest="top_p", type=float, default=d["top_p"].default, help=_HELP["top_p"])
    parser.add_argument("--max_new_tokens", "--max-new-tokens", dest="max_new_tokens", type=int,
                        default=d["max_new_tokens"].default, help=_HELP["max_new_tokens"])
    parser.add_argument("--hint-ratio", "--hint_ratio", "--hint-ratios", dest="hint_ratios", type=_float_list,
                        default=[], help=_HELP["hint_ratios"])
    parser.add_argument("--hint-unit", "--hint_unit", dest="hint_unit", default=d["hint_unit"].default,
                        choices=HINT_UNITS, help=_HELP["hint_unit"])
    parser.add_argument("--hint-placement", "--hint_placement", dest="hint_placement",
                        default=d["hint_placement"].default, choices=HINT_PLACEMENTS, help=_HELP["hint_placement"])
    parser.add_argument("--hint-template", "--hint_template", dest="hint_template",
                        default=d["hint_template"].default, help=_HELP["hint_template"])
    parser.add_argument("--limit", type=int, default=None, help=_HELP["limit"])
    parser.add_argument("--batch-size", "--batch_size", dest="batch_size", type=int, default=d["batch_size"].default,
                        help=_HELP["batch_size"])
    parser.add_argument("--backend", choices=BACKENDS, default="auto", help=_HELP["backend"])
    parser.add_argument("--system-prompt", "--system_prompt", dest="system_prompt", default=DEFAULT_SYSTEM_PROMPT,
                        help=_HELP["system_prompt"])
    parser.add_argument("--no-chat", dest="chat", action="store_false", help=_HELP["chat"])
    parser.add_argument("--seed", type=int, default=0, help=_HELP["seed"])
    parser.add_argument("--dtype", default="auto", help=_HELP["dtype"])
    parser.add_argument("--device", default=None, help=_HELP["device"])
    parser.add_argument("--tensor-parallel-size", dest="tensor_parallel_size", type=int, default=1,
                        help=_HELP["tensor_parallel_size"])
    parser.add_argument("--gpu-memory-utilization", dest="gpu_memory_utilization", type=float, default=0.9,
                        help=_HELP["gpu_memory_utilization"])
    parser.add_argument("--max-model-len", dest="max_model_len", type=int, default=None, help=_HELP["max_model_len"])
    parser.add_argument("--problem-column", "--dataset_prompt_column", dest="problem_column", default="problem",
                        help=_HELP["problem_column"])
    parser.add_argument("--solution-column", "--dataset_solution_column", dest="solution_column", default="solution",
                        help=_HELP["solution_column"])
    parser.add_argument("--hint-column", "--hint_column", dest="hint_column", default="solution_hint",
                        help=_HELP["hint_column"])
    parser.add_argument("--split", default="test", help=_HELP["split"])
    parser.add_argument("--output", "-o", default=None, help=_HELP["output"])
    parser.add_argument("--quiet", action="store_true", help="No progress bar.")
    return parser


def config_from_args(args: argparse.Namespace) -> EvalConfig:
    names = {f.name for f in fields(EvalConfig)}
    return EvalConfig(**{k: v for k, v in vars(args).items() if k in names})


def run_eval_from_args(args: argparse.Namespace) -> int:
    """Run `ghpo eval` from parsed arguments: print the backend, a progress bar and the table; save the JSON.
    Returns the exit status (1 with a one-line message for a bad setting, missing model or unreachable hub)."""
    from ghpo.data import DatasetValidationError
    from ghpo.models import ModelNotAvailableError

    try:
        config = config_from_args(args)
        result = evaluate_model(config, progress=not getattr(args, "quiet", False))
    except (ValueError, ImportError, BenchmarkUnavailableError, ModelNotAvailableError, FileNotFoundError,
            DatasetValidationError) as exc:
        print(f"ghpo eval: error: {exc}", file=sys.stderr)
        return 1
    output = config.output or "eval_results.json"
    os.makedirs(os.path.dirname(os.path.abspath(output)), exist_ok=True)
    with open(output, "w", encoding="utf-8") as f:
        json.dump(result, f, indent=1, ensure_ascii=False)
    print(f"\nghpo eval: {config.model}, backend {result['backend']}, "
          f"{result['seconds']['generation']:.1f} s generating\n")
    print(format_results_table(result))
    print(f"\nghpo eval: every sample, its extracted answer and verdict saved to {output}")
    return 0


def make_eval_parser(prog: str = "ghpo eval") -> argparse.ArgumentParser:
    return add_eval_arguments(argparse.ArgumentParser(
        prog=prog, description="Evaluate a model on the GHPO paper's benchmarks (and offline ones), with and "
                               "without hints. See docs/EVAL.md."))


def main(argv: Sequence[str] | None = None) -> int:
    return run_eval_from_args(make_eval_parser().parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
