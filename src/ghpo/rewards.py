"""Reward functions for GHPO: answer accuracy (math-verify) and the open-r1 format reward.

A reward follows TRL's convention: ``f(completions, **dataset_columns) -> list[float | None]``, where
``None`` means "skip this row" (here: the gold answer could not be parsed). The GHPO paper (arXiv 2507.10628,
Sec. 4.1) trains with the open-r1 rule-based rewards: an accuracy reward from math-verify and a format reward.

Why the answer check runs in worker processes
--------------------------------------------
math-verify's own timeout uses ``signal.alarm``, which only works in the main thread, and the work it bounds
is often not interruptible anyway: ``\\boxed{9^{9^{9^{9}}}}`` makes sympy evaluate a huge integer power in a
single C call, and ``\\boxed{{{{{{{{{{{{{{{1}}}}}}}}}}}}}}}`` takes exponential time in the LaTeX parser. So:

1. cheap filters in the caller: non-strings score 0.0, only the last ``TAIL_CHARS`` characters are parsed
   (the final answer lives at the end), and a final answer with a numeric power tower, a huge exponent or
   factorial, or deeply nested braces scores 0.0 without being parsed (``_looks_hostile``);
2. a hard wall-clock bound: math-verify runs (with its own timeouts disabled) in a small pool of worker
   subprocesses; a worker that does not answer within ``ANSWER_CHECK_TIMEOUT_S`` seconds of receiving an item
   is killed and replaced, and that item scores 0.0.

The pool is started lazily on the first call (about 1-2 s), is shared by all threads (calls are serialised
by a lock) and works identically from the main thread or any other thread. Workers are plain subprocesses
(not ``multiprocessing``), so nothing is forked from a CUDA/threaded trainer and the training script is never
re-imported. They load this file by path, so importing the worker does not import the ``ghpo`` package.
"""

from __future__ import annotations

import atexit
import collections
import functools
import importlib
import json
import logging
import os
import re
import selectors
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Sequence
from typing import Any

from ghpo.guidance import last_boxed  # absolute: the math-verify worker loads this file alone

__all__ = [
    "ANSWER_CHECK_TIMEOUT_S",
    "REWARD_FUNCS",
    "TAIL_CHARS",
    "accuracy_reward",
    "check_answer",
    "extract_final_answer",
    "format_reward",
    "get_reward_func",
    "same_math_value",
]

ANSWER_CHECK_TIMEOUT_S = 5.0
"""Hard bound (seconds) on checking one completion, counted from when a ready worker receives it. A completion
that takes longer scores 0.0. A call on a batch of n completions returns within about
``ceil(n / workers) * ANSWER_CHECK_TIMEOUT_S`` plus worker start-up (~1-2 s, first call or after a kill)."""

TAIL_CHARS = 4000
"""Only the last this-many characters of a completion are parsed: the final answer lives at the end, and
this bounds the parser's input for 1 MB completions."""

_WORKER_START_TIMEOUT_S = 120.0  # importing sympy/math-verify on a loaded machine; failure here is a setup error
_WORKER_MEMORY_LIMIT_BYTES = 4 * 1024**3  # address-space cap per worker: a huge integer gets MemoryError, not OOM
_MAX_WORKERS = 8
_MAX_START_FAILURES = 3  # one failure may be an external kill; three in a row is a broken environment

logger = logging.getLogger(__name__)


# --------------------------------------------------------------------------------------------------------------
# Final-answer extraction (pure string code; no parsing of LaTeX)
# --------------------------------------------------------------------------------------------------------------

_BOXED_RE = re.compile(r"\\(?:boxed|fbox)\s*\{")
_ANSWER_TAG_RE = re.compile(r"<answer>(.*?)</answer>", re.DOTALL)
_ANSWER_IS_RE = re.compile(r"(?:answer\s*(?:is|:)|####)[ \t]*:?[ \t]*", re.IGNORECASE)  # the answer follows
_HASHES_RE = re.compile(r"^####[ \t]*([^\n]+)", re.MULTILINE)  # GSM8K-style final line
_NUMBER_RE = re.compile(r"-?\d[\d,]*(?:\.\d+)?(?:/\d+)?")
_BRACE_RE = re.compile(r"[{}]")


def _strip_answer(ans: str) -> str:
    ans = ans.strip().rstrip(".").strip()
    if len(ans) >= 2 and ans[0] == "$" and ans[-1] == "$":
        ans = ans.strip("$").strip()
    return ans


def extract_final_answer(text: str) -> str | None:
    r"""Return the final answer a completion commits to, as a string, or ``None`` if there is none.

    Looks at the last ``TAIL_CHARS`` characters, as the reward does. In order of preference: the content of the
    last ``\boxed{...}`` with balanced braces; the body of the last
    ``<answer>...</answer>``; the text after the last "answer is" / "Answer:" / "####"; the last number.
    Meant for audit logs: the reward itself is decided by math-verify (`check_answer`), not by this string.

    >>> extract_final_answer(r"so \boxed{\frac{1}{2}}.")
    '\\frac{1}{2}'
    >>> extract_final_answer("<think>\n...\n</think>\n<answer>\n42\n</answer>")
    '42'
    >>> extract_final_answer("2 + 3 = 5, then 5 * 2 = 10")
    '10'
    """
    if not isinstance(text, str) or not text:
        return None
    text = text[-TAIL_CHARS:]  # what the reward grades; and the <answer> search is quadratic in the length
    boxed = last_boxed(text)
    if boxed is not None:
        return boxed
    tags = _ANSWER_TAG_RE.findall(text)
    if tags and tags[-1].strip():
        return _strip_answer(tags[-1])
    for anchor in reversed(list(_ANSWER_IS_RE.finditer(text))):  # the last anchor, also within one line
        end = text.find("\n", anchor.end())
        answer = _strip_answer(text[anchor.end() : end if end >= 0 else len(text)])
        if answer:
            return answer
    numbers = _NUMBER_RE.findall(text)
    if numbers:
        return numbers[-1].rstrip(",")
    return None


# Heuristics for answers that would make sympy compute a gigantic number or the parser take exponential time.
# False positives (e.g. a true answer of 2^{2^{3}}) score 0.0; anything these miss is still bounded by the timeout.
_POWER_TOWER_RE = re.compile(r"\^\s*\{\s*[\d.]+\s*\^")  # 9^{9^{9}}, 10^{10^{10}}
_HUGE_EXPONENT_RE = re.compile(r"\^\s*\{?\s*\d{7,}")  # 9^{10000000}
_HUGE_FACTORIAL_RE = re.compile(r"\d{5,}\s*\}?\s*!")  # 100000!
_MAX_ANSWER_BRACE_DEPTH = 10  # the LaTeX parser is exponential in nesting; real answers stay below ~5
_MAX_ANSWER_CHARS = 1000


def _brace_depth(text: str) -> int:
    depth = deepest = 0
    for m in _BRACE_RE.finditer(text):
        depth = depth + 1 if m.group() == "{" else max(depth - 1, 0)
        deepest = max(deepest, depth)
    return deepest


def _looks_hostile(answer: str) -> bool:
    return (
        len(answer) > _MAX_ANSWER_CHARS
        or _brace_depth(answer) > _MAX_ANSWER_BRACE_DEPTH
        or bool(_POWER_TOWER_RE.search(answer) or _HUGE_EXPONENT_RE.search(answer) or _HUGE_FACTORIAL_RE.search(answer))
    )


def _prepare_prediction(completion: Any) -> tuple[str, bool] | None:
    """Cut a completion down to what the worker should parse: ``(text, anchored)``, or ``None`` for "score 0.0".

    The answer is chosen as in `extract_final_answer`, so the audit log shows what was graded: the last
    ``\\boxed{}`` (math-verify alone would grade the first one), else an ``<answer>`` body or a ``#### X``
    line (no anchor needed: the tag is one), else the tail, where math-verify needs an anchor
    (``\\boxed``, "the final answer is ..."), so a stray number in the reasoning is not taken as the answer.
    """
    if not isinstance(completion, str) or not completion:
        return None
    text = completion[-TAIL_CHARS:].replace("\x00", "")
    boxed = last_boxed(text)
    tags = _ANSWER_TAG_RE.findall(text)
    hashes = _HASHES_RE.findall(text)
    if boxed is not None:
        answer, pred, anchored = boxed, "\\boxed{" + boxed + "}", True
    elif tags and tags[-1].strip():
        answer = tags[-1].strip()
        pred, anchored = _wrap_bare_math(answer), False
    elif hashes and hashes[-1].strip():
        answer = hashes[-1].strip()
        pred, anchored = _wrap_bare_math(answer), False
    else:
        answer, pred, anchored = extract_final_answer(text), text, True
    if answer is not None and _looks_hostile(answer):
        return None
    return pred, anchored


def full_responses(completions: list[Any], response_prefix: list[str] | None = None) -> list[Any]:
    """The whole answer of each row: the completion's text, after the hint that opened it when one did.

    With ``hint_placement="response"`` the model continues an assistant turn that starts with the hint, so the
    sampled completion is only the continuation; GHPOTrainer passes the opening as the ``response_prefix``
    column. Any reward function can take it the same way: ``def my_reward(completions, response_prefix=None, **kw)``.
    """
    texts = [_completion_text(c) for c in completions]
    if response_prefix is None:
        return texts
    return [(p or "") + t if isinstance(t, str) else t for p, t in zip(response_prefix, texts)]


def _completion_text(completion: Any) -> Any:
    """A TRL completion is a string (standard format) or a list of messages (conversational format)."""
    if isinstance(completion, list) and completion and isinstance(completion[-1], dict):
        return completion[-1].get("content")
    return completion


# --------------------------------------------------------------------------------------------------------------
# Worker side: runs in a subprocess, in its main thread, with math-verify's signal timeouts disabled
# --------------------------------------------------------------------------------------------------------------


_PROSE_RE = re.compile(r"(?<!\\)\b[A-Za-z]{2,}\s+[A-Za-z]{2,}\b")  # two words in a row: not a formula
_BARE_MATH_RE = re.compile(r"[\\^_{}()\[\],=+*/]")  # LaTeX or structure: more than a plain number


def _wrap_bare_math(text: str) -> str:
    r"""``2\sqrt{2}`` -> ``$2\sqrt{2}$``. Unanchored, math-verify reads a formula only up to its first number
    (2 from ``2\sqrt{2}``, ``(1, 2)``, ``2^{10}``), which would score ``\boxed{2}`` right against them; wrapped,
    it is parsed whole. Plain numbers, prose ("12 dollars") and text with ``$`` or ``\boxed`` are kept."""
    if "$" in text or _BOXED_RE.search(text) or _PROSE_RE.search(text) or not _BARE_MATH_RE.search(text):
        return text
    return f"${text}$"


def _verify(pred: str, anchored: bool, gold: str) -> float | None:
    """math-verify on one item: 1.0 / 0.0, or ``None`` if the gold answer does not parse. Runs in a worker."""
    from latex2sympy2_extended import NormalizationConfig
    from math_verify import ExprExtractionConfig, LatexExtractionConfig, parse, verify

    wrapped = _wrap_bare_math(gold)
    gold_parsed = parse(wrapped, parsing_timeout=None)  # a formula that does not parse whole stays None
    if not gold_parsed and wrapped == gold and not _PROSE_RE.search(gold):
        # A bare LaTeX gold such as \sqrt{2} or (x+1)^2 only parses inside $...$; prose must stay unparsable.
        gold_parsed = parse(f"${gold}$", parsing_timeout=None)
    if not gold_parsed:
        return None
    # Same prediction config as TRL/open-r1 (boxed first, units normalised), plus plain expressions after
    # "answer is"; without an anchor only inside an <answer> tag.
    config = [
        LatexExtractionConfig(
            normalization_config=NormalizationConfig(units=True),
            boxed_match_priority=0,
            try_extract_without_anchor=not anchored,
        ),
        ExprExtractionConfig(try_extract_without_anchor=not anchored),
    ]
    pred_parsed = parse(pred, extraction_config=config, extraction_mode="first_match", parsing_timeout=None)
    return float(verify(gold_parsed, pred_parsed, timeout_seconds=None))


def _serve() -> None:
    """Worker loop: one JSON request per stdin line, one JSON reply per line on the original stdout."""
    try:
        import resource

        _, hard = resource.getrlimit(resource.RLIMIT_AS)
        limit = _WORKER_MEMORY_LIMIT_BYTES if hard == resource.RLIM_INFINITY else min(hard, _WORKER_MEMORY_LIMIT_BYTES)
        resource.setrlimit(resource.RLIMIT_AS, (limit, hard))
    except (ImportError, ValueError, OSError):
        pass
    # Keep the protocol channel private: anything the libraries print goes to stderr instead.
    out = os.fdopen(os.dup(1), "w", encoding="utf-8")
    os.dup2(2, 1)
    sys.stdout = sys.stderr
    logging.basicConfig(level=logging.ERROR)
    for name in ("math_verify", "latex2sympy2_extended"):
        logging.getLogger(name).setLevel(logging.CRITICAL)  # "Timeout is disabled" and per-item parse failures
    _verify(r"\boxed{\frac{1}{2}}", True, "0.5")  # warm up lazy imports and the ANTLR parser before "ready"
    out.write("ready\n")
    out.flush()
    for line in sys.stdin:
        idx, pred, anchored, gold = json.loads(line)
        try:
            result = _verify(pred, anchored, gold)
        except Exception:  # noqa: BLE001 -- an unparsable completion must score 0.0, whatever sympy raises
            result = 0.0
        out.write(json.dumps([idx, result]) + "\n")
        out.flush()


# --------------------------------------------------------------------------------------------------------------
# Caller side: a lazily started pool of worker subprocesses with a per-item deadline
# --------------------------------------------------------------------------------------------------------------

_BOOTSTRAP = (
    "import importlib.util, sys\n"
    "spec = importlib.util.spec_from_file_location('_ghpo_rewards_worker', sys.argv[1])\n"
    "mod = importlib.util.module_from_spec(spec)\n"
    "spec.loader.exec_module(mod)\n"
    "mod._serve()\n"
)


class _Worker:
    def __init__(self) -> None:
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join(p for p in sys.path if p)  # find math_verify exactly where we do
        env["PYTHONIOENCODING"] = "utf-8"
        self.proc = subprocess.Popen(
            [sys.executable, "-c", _BOOTSTRAP, os.path.abspath(__file__)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            env=env,
            close_fds=True,
        )
        os.set_blocking(self.proc.stdout.fileno(), False)
        self.buffer = b""
        self.ready = False
        self.item: int | None = None  # index of the item being checked
        self.deadline = time.monotonic() + _WORKER_START_TIMEOUT_S

    def send(self, idx: int, pred: str, anchored: bool, gold: str) -> None:
        self.proc.stdin.write((json.dumps([idx, pred, anchored, gold]) + "\n").encode("utf-8"))
        self.proc.stdin.flush()
        self.item = idx
        self.deadline = time.monotonic() + ANSWER_CHECK_TIMEOUT_S

    def read_lines(self) -> list[str] | None:
        """Complete lines received so far, or ``None`` if the worker has exited."""
        try:
            chunk = os.read(self.proc.stdout.fileno(), 1 << 16)
        except BlockingIOError:
            return self._split()
        if not chunk:
            return None
        self.buffer += chunk
        return self._split()

    def _split(self) -> list[str]:
        *lines, self.buffer = self.buffer.split(b"\n")
        return [line.decode("utf-8") for line in lines]

    def kill(self) -> None:
        try:
            self.proc.kill()
            self.proc.wait(timeout=5)
        except (OSError, subprocess.TimeoutExpired):
            pass
        for stream in (self.proc.stdin, self.proc.stdout):
            try:
                stream.close()
            except OSError:
                pass


class _Pool:
    def __init__(self, size: int) -> None:
        self.size = size
        self.pid = os.getpid()
        self.workers: list[_Worker] = []
        self.start_failures = 0  # consecutive workers that died or hung before saying "ready"

    def close(self) -> None:
        for w in self.workers:
            w.kill()
        self.workers = []

    def run(self, tasks: Sequence[tuple[str, bool, str]]) -> list[float | None]:
        """Check ``(pred, anchored, gold)`` tasks; an item past its deadline, or whose worker dies, scores 0.0."""
        results: list[float | None] = [0.0] * len(tasks)
        queue = collections.deque(range(len(tasks)))
        while len(self.workers) < self.size:  # all of them: after a kill, a spare is ready while one restarts
            self.workers.append(_Worker())
        selector = selectors.DefaultSelector()
        for w in self.workers:
            selector.register(w.proc.stdout, selectors.EVENT_READ, w)
        try:
            while queue or any(w.item is not None for w in self.workers):
                for w in list(self.workers):
                    if queue and w.ready and w.item is None:
                        i = queue.popleft()
                        try:
                            w.send(i, *tasks[i])
                        except OSError:  # the idle worker died since the last call: retry on a new one
                            queue.appendleft(i)
                            self._replace(w, selector, fail_start=False)
                waiting = [w for w in self.workers if not w.ready or w.item is not None]
                timeout = max(0.0, min(w.deadline for w in waiting) - time.monotonic())
                for key, _ in selector.select(timeout):
                    w = key.data
                    lines = w.read_lines()
                    if lines is None:  # the worker died (e.g. MemoryError at interpreter level)
                        self._replace(w, selector, fail_start=not w.ready)
                        continue
                    for line in lines:
                        if line == "ready":
                            w.ready = True
                            self.start_failures = 0
                        else:
                            idx, value = json.loads(line)
                            results[idx] = value
                            w.item = None
                now = time.monotonic()
                for w in list(self.workers):
                    if (not w.ready or w.item is not None) and now >= w.deadline:
                        if w.ready:
                            logger.warning("answer check exceeded %.1f s; scoring 0.0", ANSWER_CHECK_TIMEOUT_S)
                        self._replace(w, selector, fail_start=not w.ready)
        finally:
            selector.close()
        return results

    def _replace(self, w: _Worker, selector: selectors.BaseSelector, fail_start: bool) -> None:
        selector.unregister(w.proc.stdout)
        w.kill()
        self.workers.remove(w)
        self.start_failures += fail_start
        if self.start_failures >= _MAX_START_FAILURES:
            self.start_failures = 0
            raise RuntimeError(
                "ghpo.rewards: the math-verify worker process failed to start (see its stderr above); "
                f"check that `{sys.executable} -c 'import math_verify'` works."
            )
        new = _Worker()
        self.workers.append(new)
        selector.register(new.proc.stdout, selectors.EVENT_READ, new)


_POOL: _Pool | None = None
_POOL_LOCK = threading.Lock()


def _num_workers() -> int:
    try:
        cpus = len(os.sched_getaffinity(0))
    except AttributeError:
        cpus = os.cpu_count() or 1
    return max(1, min(_MAX_WORKERS, cpus))


def _run_checks(tasks: Sequence[tuple[str, bool, str]]) -> list[float | None]:
    global _POOL
    if not tasks:
        return []
    with _POOL_LOCK:
        if _POOL is None or _POOL.pid != os.getpid():  # a forked child must not share its parent's pipes
            _POOL = _Pool(_num_workers())
        try:
            return _POOL.run(tasks)
        except BaseException:
            _POOL.close()  # e.g. KeyboardInterrupt mid-batch: workers may hold stale replies
            raise


def _shutdown_pool() -> None:
    if _POOL is not None and _POOL.pid == os.getpid():
        _POOL.close()


atexit.register(_shutdown_pool)


# --------------------------------------------------------------------------------------------------------------
# Public rewards
# --------------------------------------------------------------------------------------------------------------


def _check_many(texts: Sequence[Any], golds: Sequence[str]) -> list[float | None]:
    results: list[float | None] = [0.0] * len(texts)
    tasks: list[tuple[str, bool, str]] = []
    where: list[int] = []
    for i, (text, gold) in enumerate(zip(texts, golds, strict=True)):
        if isinstance(gold, (int, float)) and not isinstance(gold, bool):
            gold = str(gold)  # a numeric dataset column
        if not isinstance(gold, str) or not gold.strip():
            results[i] = None
            continue
        prepared = _prepare_prediction(text)
        # A completion with nothing to parse still goes to the worker with an empty text, so that an
        # unparsable gold answer gives None (skip) rather than 0.0.
        tasks.append((*(prepared or ("", True)), gold))
        where.append(i)
    for i, value in zip(where, _run_checks(tasks), strict=True):
        results[i] = value
    return results


def check_answer(completion_text: str, gold: str) -> float | None:
    r"""Score one completion against a gold answer: 1.0 if equivalent, 0.0 if not, ``None`` if the gold does not parse.

    The gold may be ``"42"``, ``"$42$"``, ``"\boxed{42}"``, a fraction, or a worked solution ending in
    ``\boxed{...}``. The completion's answer is taken from its last ``TAIL_CHARS`` characters: a ``\boxed{}``,
    ``$...$`` or "the answer is ..." anchor, or the body of an ``<answer>`` tag. Returns within
    ``ANSWER_CHECK_TIMEOUT_S`` (plus worker start-up) from any thread; a timeout scores 0.0.

    >>> check_answer(r"Thus the answer is \boxed{\frac{1}{2}}.", "0.5")
    1.0
    >>> check_answer(r"\boxed{3}", "The sum is $1 + 1 = \boxed{2}$.")
    0.0
    """
    return _check_many([completion_text], [gold])[0]


class _NoTimeoutNotice(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        return "Timeout is disabled" not in record.getMessage()


_NO_TIMEOUT_NOTICE = _NoTimeoutNotice()  # one instance: addFilter keeps a filter once


@functools.lru_cache(maxsize=4096)
def same_math_value(gold: str, candidate: str) -> bool:
    r"""Whether ``candidate`` (an expression written in a worked solution) equals ``gold`` by math-verify.

    The fallback of the hint cutter's no-leak rule (``ghpo.guidance.gold_matcher``) where a string compare cannot
    tell (``\frac{n(n-3)}{2}`` against ``n(n-3)/2``). Runs in this process on dataset text, not on model output:
    inputs that look costly to parse (power towers, huge factorials, deep braces) count as not equal.

    >>> same_math_value("n(n-3)/2", r"\frac{n(n-3)}{2}"), same_math_value("2^(n-1)", "2^n")
    (True, False)
    """
    from math_verify import parse, verify

    if not gold or not candidate or _looks_hostile(gold) or _looks_hostile(candidate):
        return False
    for name in ("math_verify.parser", "math_verify.grader"):  # its "Timeout is disabled" notice, once per process
        logging.getLogger(name).addFilter(_NO_TIMEOUT_NOTICE)
    try:
        gold_parsed = parse(f"${gold}$", parsing_timeout=None)
        cand_parsed = parse(f"${candidate}$", parsing_timeout=None)
        return bool(gold_parsed and cand_parsed and verify(gold_parsed, cand_parsed, timeout_seconds=None))
    except Exception:  # math-verify raises many kinds on odd LaTeX; "cannot tell" is "not equal" here
        return False


def accuracy_reward(
    completions: list[Any],
    solution: list[str],
    log_extra: Callable[[str, list], None] | None = None,
    response_prefix: list[str] | None = None,
    **kwargs: Any,
) -> list[float | None]:
    r"""Accuracy reward (open-r1 / GHPO Sec. 4.1): 1.0 if the completion's final answer equals ``solution``, else 0.0.

    Args:
        completions: one per row, a string or a list of messages whose last ``"content"`` is the answer.
        solution: gold answers (dataset column ``solution``), see `check_answer`.
        log_extra: provided by TRL's trainer; adds an ``extracted_answer`` column to the completions table.
        response_prefix: set by GHPOTrainer with ``hint_placement="response"``: the hint that opened each answer
            ("" where none did); the answer graded is prefix + completion (see `full_responses`).

    Returns:
        One reward per row; ``None`` where the gold answer does not parse (TRL then ignores the row).

    >>> accuracy_reward([[{"role": "assistant", "content": r"\boxed{\frac{1}{3}}"}], r"\boxed{2}"], ["1/3", "3"])
    [1.0, 0.0]
    """
    texts = full_responses(completions, response_prefix)
    rewards = _check_many(texts, solution)
    if log_extra is not None:
        log_extra("extracted_answer", [extract_final_answer(t) if isinstance(t, str) else None for t in texts])
    return rewards


_FORMAT_RE = re.compile(r"^<think>\n.*?\n</think>\n<answer>\n.*?\n</answer>$", re.DOTALL)


def format_reward(completions: list[Any], response_prefix: list[str] | None = None, **kwargs: Any) -> list[float]:
    r"""Format reward (open-r1): 1.0 if the answer is ``<think>\n...\n</think>\n<answer>\n...\n</answer>``.

    With a prefilled answer (``response_prefix``, GHPO's ``hint_placement="response"``) the whole answer,
    prefix + completion, is judged: a hint template that should keep this format opens the think block
    (``"<think>\n{hint}\n"``); the default ``"{hint}\n"`` does not, so such hinted answers score 0.

    >>> format_reward(["<think>\nhmm\n</think>\n<answer>\n42\n</answer>", "42"])
    [1.0, 0.0]
    >>> format_reward(["more\n</think>\n<answer>\n42\n</answer>"], response_prefix=["<think>\n2 + 3 = 5\n"])
    [1.0]
    """
    rewards = []
    for text in full_responses(completions, response_prefix):
        ok = isinstance(text, str) and text.startswith("<think>\n") and bool(_FORMAT_RE.match(text))
        rewards.append(1.0 if ok else 0.0)
    return rewards


# --------------------------------------------------------------------------------------------------------------
# Registry
# --------------------------------------------------------------------------------------------------------------

REWARD_FUNCS: dict[str, Callable[..., list[float | None]]] = {
    "accuracy": accuracy_reward,
    "format": format_reward,
}
"""Reward functions by config name. TRL logs each under its ``__name__`` (``rewards/accuracy_reward/mean``)."""


def get_reward_func(name: str) -> Callable[..., list[float | None]]:
    """Return a reward function by registry name (``"accuracy"``) or dotted import path (``"pkg.module.func"``).

    >>> get_reward_func("format").__name__
    'format_reward'
    """
    if name in REWARD_FUNCS:
        return REWARD_FUNCS[name]
    valid = ", ".join(sorted(REWARD_FUNCS))
    if "." not in name:
        raise ValueError(f"Unknown reward function {name!r}. Valid names: {valid}, or a dotted path 'pkg.module.func'.")
    module_name, _, attr = name.rpartition(".")
    try:
        func = getattr(importlib.import_module(module_name), attr)
    except (ImportError, AttributeError) as err:
        raise ValueError(
            f"Cannot import reward function {name!r} ({err}). Valid names: {valid}, or a dotted path 'pkg.module.func'."
        ) from err
    if not callable(func):
        raise ValueError(f"{name!r} is not callable. Valid names: {valid}, or a dotted path 'pkg.module.func'.")
    return func
