"""GHPO's own idea, as pure functions over plain lists. No torch here.

Paper: "GHPO: Adaptive Guidance for Stable and Efficient LLM Reinforcement Learning", Liu et al. 2025,
arXiv 2507.10628, Sec. 3 (difficulty detection, adaptive prompt refinement, multi-stage guidance).
The semantics are fixed in shared/DESIGN.md; the trainer (``ghpo.trainer``) only wires these into TRL.

>>> select_hard_groups([[0.0, 0.0], [0.0, 1.0], [None, 0.0]], has_hint=[True, True, True])
[True, False, False]
>>> hint_schedule("staged")
(0.25, 0.5, 0.75)
>>> cut_hint("Step 1: 2 + 3 = 5\\nStep 2: 5 + 4 = 9\\nThe final answer is \\\\boxed{9}.", 0.5, unit="step")
'Step 1: 2 + 3 = 5'
>>> plan_hint_cuts("Step 1: 2 + 3 = 5\\nStep 2: 5 + 4 = 9\\nThe final answer is \\\\boxed{9}.", (0.25, 0.5, 0.75), "step")
['Step 1: 2 + 3 = 5', None, None]
"""

from __future__ import annotations

import functools
import hashlib
import json
import math
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any

# The sentence the official code appends before the solution prefix (PAPER.md, "Method").
DEFAULT_HINT_TEMPLATE = (
    "\n\nThe following text is the beginning part of the answer, which you can refer to for solving the problem:\n"
    "{hint}"
)

# With the hint as the start of the assistant's answer, the model simply continues it on the next line.
RESPONSE_HINT_TEMPLATE = "{hint}\n"

HINT_SCHEDULES = ("auto", "staged", "fixed", "reroll", "reference", "none")
HINT_PLACEMENTS = ("prompt", "response")
HINT_UNITS = ("token", "step", "sentence", "char")
STAGED_RATIOS = (0.25, 0.5, 0.75)
FIXED_RATIO = 0.5  # GRPO-CL-H(0.5) in the paper's ablation


# --------------------------------------------------------------------------------------------------------------
# Schedules
# --------------------------------------------------------------------------------------------------------------
def hint_schedule(name: str, ratios: Sequence[float] | None = None) -> tuple[float, ...]:
    """The hint ratios tried, in order, on a group that stays all-wrong.

    ``staged`` is the paper's multi-stage guidance (0.25, 0.5, 0.75); ``fixed`` tries one ratio (0.5 by default:
    GRPO-CL-H(0.5) / QuestA-style baselines); ``reroll`` is the control without hints: the rounds and stages of
    ``staged`` (its ratios only decide which stages a problem has), each re-sampling the unchanged prompt; ``none``
    is plain GRPO. ``reference`` samples nothing more: one sample of each all-wrong group is replaced by the reference
    solution itself (LUFFY-style, arXiv 2504.14945: an off-policy trace among on-policy rollouts), the imitation
    baseline without guidance; its one "stage" is the whole solution. ``auto`` (GHPOConfig's default) reads as ``staged`` here: the trainer turns it into plain GRPO,
    once at start, where the run lacks what hints need.
    """
    if name not in HINT_SCHEDULES:
        raise ValueError(f"Unknown hint schedule {name!r}; valid: {', '.join(HINT_SCHEDULES)}.")
    if name == "none":
        return ()
    if name == "reference":
        if ratios is not None and tuple(ratios) != (1.0,):
            raise ValueError(f"The 'reference' schedule uses the whole solution; hint_ratios must be unset, got {list(ratios)}.")
        return (1.0,)
    if ratios is None:
        ratios = (FIXED_RATIO,) if name == "fixed" else STAGED_RATIOS
    ratios = tuple(float(r) for r in ratios)
    if not ratios:
        raise ValueError(f"Hint schedule {name!r} needs at least one ratio.")
    if name == "fixed" and len(ratios) != 1:
        raise ValueError(f"The 'fixed' hint schedule takes exactly one ratio, got {list(ratios)}; e.g. hint_ratios=[0.5].")
    for r in ratios:
        if not 0.0 < r <= 1.0:
            raise ValueError(f"Hint ratio {r} is out of range; each ratio must be in (0, 1].")
    if list(ratios) != sorted(ratios) or len(set(ratios)) != len(ratios):
        raise ValueError(f"Hint ratios must be strictly increasing (more help at each stage), got {list(ratios)}.")
    return ratios


# --------------------------------------------------------------------------------------------------------------
# Difficulty detection
# --------------------------------------------------------------------------------------------------------------
def select_hard_groups(
    trigger_groups: Sequence[Sequence[float | None]],
    has_hint: Sequence[bool],
    threshold: float = 0.0,
) -> list[bool]:
    """Which groups are *hard*: every completion scored, none above ``threshold`` (Sec. 3.1, all-wrong).

    A group with any unscorable value (None or NaN: the gold answer did not parse) is never hard, since
    "all wrong" cannot be known; a group without hint text is never hard, since there is nothing to add.
    """
    if len(trigger_groups) != len(has_hint):
        raise ValueError(f"{len(trigger_groups)} groups but {len(has_hint)} has_hint flags.")
    return [
        bool(hint) and len(group) > 0 and all(not is_unscored(v) and v <= threshold for v in group)
        for group, hint in zip(trigger_groups, has_hint)
    ]


def is_unscored(value: float | None) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


def group_has_unscored(group: Sequence[float | None]) -> bool:
    return any(is_unscored(v) for v in group)


def is_rescued(group: Sequence[float | None], threshold: float = 0.0) -> bool:
    """A hinted group is rescued when at least one completion scores above ``threshold``."""
    return any(not is_unscored(v) and v > threshold for v in group)


def assign_groups_to_processes(group_ids: Sequence[int], num_processes: int) -> list[list[int]]:
    """Split hard groups over processes so each process samples the same number of whole groups.

    Every generation backend (vLLM server, colocate, ZeRO-3 ``generate``) needs the same number of prompts on
    each process, in whole groups, so short shards are padded by repeating their last group (or the first
    group overall). Padding rollouts are thrown away and counted as extra tokens, never trained on.
    """
    if not group_ids:
        return [[] for _ in range(num_processes)]
    per_process = math.ceil(len(group_ids) / num_processes)
    shards = [list(group_ids[p * per_process : (p + 1) * per_process]) for p in range(num_processes)]
    for shard in shards:
        filler = shard[-1] if shard else group_ids[0]
        shard.extend([filler] * (per_process - len(shard)))
    return shards


# --------------------------------------------------------------------------------------------------------------
# Hint cutting
# --------------------------------------------------------------------------------------------------------------
_BOXED = re.compile(r"\\(?:boxed|fbox)\s*\{")
_ANSWER_LINE = re.compile(
    r"^\s*(?:#{2,}\s*\S|(?:the\s+)?(?:final\s+)?answer\s*(?:is|:)|therefore,?\s+the\s+(?:final\s+)?answer)",
    re.IGNORECASE,
)
_MATH_SPANS = re.compile(r"\$\$.*?\$\$|\$.*?\$|\\\(.*?\\\)|\\\[.*?\\\]", re.DOTALL)
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[A-Z0-9\\$(])")


def _matching_braces(text: str) -> dict[int, int]:
    """Map the index of each balanced ``{`` to the index of its ``}`` (one linear pass)."""
    stack: list[int] = []
    pairs: dict[int, int] = {}
    for m in re.finditer(r"[{}]", text):
        i = m.start()
        if text[i] == "{":
            stack.append(i)
        elif stack:
            pairs[stack.pop()] = i
    return pairs


def last_boxed(text: str) -> str | None:
    """The content of the last ``\\boxed{...}`` (or ``\\fbox``) with balanced braces, stripped; None if none."""
    starts = [m.end() - 1 for m in _BOXED.finditer(text)]  # index of the opening brace
    if not starts:
        return None
    pairs = _matching_braces(text)
    for open_idx in reversed(starts):
        if open_idx in pairs:
            return text[open_idx + 1 : pairs[open_idx]].strip()
    return None


def strip_final_answer(solution: str) -> str:
    """The worked solution without its final answer, so a hint never gives the answer away.

    Drops the line holding the last ``\\boxed{...}`` (or, for a one-line solution, the sentence holding it),
    and a trailing answer line such as ``#### 42`` or ``The answer is 42``.
    """
    text = solution.rstrip()
    boxes = list(_BOXED.finditer(text))
    if boxes:
        start = boxes[-1].start()
        line_start = text.rfind("\n", 0, start) + 1
        if line_start > 0:
            text = text[:line_start]
        else:  # one line: drop the sentence that holds the box
            sentence_starts = [m.end() for m in _SENTENCE_END.finditer(text, 0, start)]
            text = text[: sentence_starts[-1]] if sentence_starts else ""
    lines = text.rstrip().split("\n")
    while lines and (not lines[-1].strip() or _ANSWER_LINE.match(lines[-1])):
        lines.pop()
    return "\n".join(lines).rstrip()


def split_steps(text: str) -> list[str]:
    """Reasoning steps: non-empty lines; a single-line text is split into sentences outside math spans."""
    lines = [line for line in text.split("\n") if line.strip()]
    if len(lines) > 1:
        return lines
    if not lines:
        return []
    return [lines[0][a:b].strip() for a, b in sentence_spans(lines[0])]  # never split inside $...$


def _step_ends(text: str, steps: list[str]) -> list[int]:
    """Character offset in ``text`` where each step ends."""
    ends, pos = [], 0
    for step in steps:
        pos = text.index(step, pos) + len(step)
        ends.append(pos)
    return ends


def _back_to_word_boundary(text: str, end: int) -> int:
    """Largest cut <= end that does not split a word; falls forward to the next boundary if none."""
    if end >= len(text) or end <= 0 or text[end - 1].isspace() or text[end].isspace():
        return end
    back = max(text.rfind(" ", 0, end), text.rfind("\n", 0, end))
    if back > 0:
        return back
    forward = re.search(r"\s", text[end:])
    return end + forward.start() if forward else len(text)


TokenOffsets = Callable[[str], Sequence[tuple[int, int]]]


def tokenizer_offsets(tokenizer) -> TokenOffsets | None:
    """``token_offsets`` for ``cut_hint`` from a fast Hugging Face tokenizer (character spans of its tokens); None
    for a slow one, which gives no offsets (``cut_hint`` then counts whitespace words)."""
    if not getattr(tokenizer, "is_fast", False):
        return None

    def offsets(text: str):
        return tokenizer(text, add_special_tokens=False, return_offsets_mapping=True)["offset_mapping"]

    return offsets


def _whitespace_offsets(text: str) -> list[tuple[int, int]]:
    return [m.span() for m in re.finditer(r"\S+", text)]


def cut_hint(
    solution: str,
    ratio: float,
    unit: str = "token",
    token_offsets: TokenOffsets | None = None,
    keep_final_answer: bool = False,
    gold: str | None = None,
    same_value: SameValue | None = None,
) -> str:
    """The first ``ratio`` of a worked solution, used as the hint (Sec. 3.2, "adaptive prompt refinement").

    unit ``token``: the first round(ratio * n) policy tokens (``token_offsets`` maps text to (start, end)
    character spans, e.g. a fast tokenizer's offsets; whitespace words if None), then backed off to a word
    boundary. ``step``/``sentence``: whole reasoning steps (lines, or sentences outside math). ``char``: plain
    character slicing, the official code's behaviour, kept for parity.

    No leak (``ratio < 1``): the final answer (the ``\\boxed`` or answer line) is removed first; the cut then stops
    before the last reasoning step (it states the answer: "= 72 clips") and, given the ``gold`` answer, before the
    first sentence that states the gold value (``gold_statement_start``: "gives $x = 4$. We check: ..."). So a
    1-step solution, or one whose first sentence holds the gold value, gives no hint at all. ``keep_final_answer``
    turns all of this off (the user asks for the answer).

    >>> cut_hint("Halve 8: $x = 4$.\\nCheck: 2*4 = 8.\\nThe final answer is \\\\boxed{4}.", 0.75, "step", gold="4")
    ''
    """
    _check_cut(unit, ratio)
    text = solution.strip() if keep_final_answer else strip_final_answer(solution)
    if not text or ratio == 0.0:
        return ""
    # w is a fraction of the whole worked solution (the paper's meaning); the caps only remove what states the answer.
    cap = len(text) if keep_final_answer or ratio >= 1.0 else _answer_cap(text, gold, same_value)
    return _cut(text, ratio, unit, token_offsets, cap, gold, same_value)


def _check_cut(unit: str, ratio: float) -> None:
    if unit not in HINT_UNITS:
        raise ValueError(f"Unknown hint unit {unit!r}; valid: {', '.join(HINT_UNITS)}.")
    if not 0.0 <= ratio <= 1.0:
        raise ValueError(f"Hint ratio {ratio} must be in [0, 1].")


@functools.lru_cache(maxsize=4096)
def _answer_cap(text: str, gold: str | None, same_value: SameValue | None) -> int:
    """Where a cut with w < 1 must stop in ``text`` (a solution without its answer line): before the last step, and
    before the first sentence that states the gold value. Cached: every stage of a plan asks it for the same text,
    and the gold scan may call math-verify."""
    cap = answer_step_start(text)
    stated = gold_statement_start(text, gold, same_value) if gold is not None else None
    return cap if stated is None else min(cap, stated)


def _cut(text: str, ratio: float, unit: str, token_offsets: TokenOffsets | None, cap: int, gold: str | None,
         same_value: SameValue | None) -> str:
    """The first ``ratio`` of ``text`` in ``unit``, at most up to ``cap`` (``cut_hint`` without its checks)."""
    if unit == "char":
        end = int(len(text) * ratio)
    elif unit in ("step", "sentence"):
        ends = _step_ends(text, split_steps(text))
        n = min(len(ends), math.floor(ratio * len(ends) + 0.5))
        while n and ends[n - 1] > cap:  # whole steps only: a step holding the cap is left out entirely
            n -= 1
        end = ends[n - 1] if n else 0
    else:
        spans = [s for s in (token_offsets or _whitespace_offsets)(text) if s[1] > s[0]]
        n = min(len(spans), math.floor(ratio * len(spans) + 0.5))
        end = _back_to_word_boundary(text, spans[n - 1][1]) if n else 0
    cut = text[: min(end, cap)]
    if cut and gold is not None and cap < len(text):
        # A cut inside a number can write a new one ("= 12" cut to "= 1", gold 1): end before that sentence too.
        stated = gold_statement_start(cut, gold, same_value)
        cut = cut if stated is None else cut[:stated]
    return cut if unit == "char" else cut.rstrip()  # char: plain slicing, as the official code does


def answer_step_start(text: str) -> int:
    """Character offset where the last reasoning step of ``text`` (a solution without its answer line) starts:
    everything before it may be hinted; that step itself states the answer."""
    ends = _step_ends(text, split_steps(text))
    return ends[-2] if len(ends) > 1 else 0


# --------------------------------------------------------------------------------------------------------------
# No leak: where a worked solution first states the gold value
# --------------------------------------------------------------------------------------------------------------
SameValue = Callable[[str, str], bool]
"""``same_value(gold, candidate)``: whether a math expression equals the gold answer (e.g. math-verify, injected by
the caller so this module stays free of parsers); used only where a string compare cannot tell."""

_STEP_LABEL = re.compile(r"^\s*(?:step\s*\d+\s*[:.)]|\(?\d+[.)])\s+", re.IGNORECASE)  # "Step 2:", "2.", "(3)"
_FRAC = re.compile(r"\\[dt]?frac\s*(?:\{\s*([-\d.,]+)\s*\}|(\d))\s*(?:\{\s*([-\d.,]+)\s*\}|(\d))")
_SLASH = re.compile(r"(\d+(?:\.\d+)?)\s*/\s*(\d+(?:\.\d+)?)")
_NUMBER = re.compile(r"(?<![\d.])(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?(?:\s*\\?%)?|(?<!\d)\.\d+")
_GOLD_NOISE = re.compile(
    r"\\(?:text|mathrm|textbf|mbox)\s*\{[^{}]*\}|\^\s*\{?\\circ\}?|\\[,;!: ]|\\left|\\right|\\\$|\$|\\displaystyle")
_NUMERIC_GOLD = re.compile(r"-?(?:\d[\d,]*(?:\.\d+)?|\.\d+)\s*%?")
_MATH_TOKEN = re.compile(r"[^\s,;:]*[\d^*/=+()\\][^\s,;:]*")
_RELATION = re.compile(r"=|\\[lg]eq?|\\neq|≤|≥|<|>|\\approx|\\implies|\\to")
_MAX_SAME_VALUE_CALLS = 40  # per sentence: bounds the fallback's cost on long steps


def final_answer_of(text: str) -> str:
    r"""The gold answer held in a text that may be a whole worked solution: the last ``\boxed{...}``, else a final
    ``#### N`` line (GSM8K), else the text itself, stripped.

    >>> final_answer_of("Half of 8 is 4.\n#### 4"), final_answer_of(r"So $x=\boxed{\frac{1}{2}}$."), final_answer_of(" 7 ")
    ('4', '\\frac{1}{2}', '7')
    """
    boxed = last_boxed(text)
    if boxed is not None:
        return boxed
    lines = text.strip().split("\n")
    match = re.match(r"^\s*####\s*(.+?)\s*$", lines[-1]) if lines else None
    return match.group(1) if match else text.strip()


def _clean_gold(gold: str) -> str:
    gold = final_answer_of(gold)
    return _GOLD_NOISE.sub(" ", gold).strip().rstrip(".").strip()


def _to_fraction(text: str) -> Fraction | None:
    try:
        return Fraction(text.replace(",", "").replace(" ", ""))
    except (ValueError, ZeroDivisionError):
        return None


def _numeric_gold(gold: str) -> set[Fraction] | None:
    """The values a numeric gold answer may be written as (a percent also as a fraction), or None if not numeric."""
    negative = gold.startswith(("-", "−"))
    body = gold.lstrip("-−").strip()
    frac = _FRAC.fullmatch(body)
    slash = _SLASH.fullmatch(body)
    if frac or slash:
        num, den = (frac.group(1) or frac.group(2), frac.group(3) or frac.group(4)) if frac else slash.groups()
        a, b = _to_fraction(num), _to_fraction(den)
        if a is None or not b:
            return None
        values = {a / b}
    elif _NUMERIC_GOLD.fullmatch(body):
        value = _to_fraction(body.rstrip("%").strip())
        if value is None:
            return None
        values = {value, value / 100} if body.endswith("%") else {value}
    else:
        return None
    return {-v for v in values} if negative else values


def _numbers_in(sentence: str) -> set[Fraction]:
    """Every number a sentence writes: integers, decimals, 1,000-style, a/b and \\frac{a}{b} as their value (their
    parts too), n% as n and n/100. Each as a positive value; also as a negative one after an attached minus ("-4",
    "5-4"): a positive gold matches either way, a negative gold needs its minus (the safe side for both)."""
    found: set[Fraction] = set()

    def add(value: Fraction | None, start: int) -> None:
        if value is None:
            return
        found.add(abs(value))
        if start > 0 and sentence[start - 1] in "-−":
            found.add(-abs(value))

    for m in _FRAC.finditer(sentence):
        a, b = _to_fraction(m.group(1) or m.group(2)), _to_fraction(m.group(3) or m.group(4))
        if a is not None and b:
            add(a / b, m.start())
    for m in _SLASH.finditer(sentence):
        a, b = _to_fraction(m.group(1)), _to_fraction(m.group(2))
        if a is not None and b:
            add(a / b, m.start())
    for m in _NUMBER.finditer(sentence):
        text = m.group()
        percent = text.rstrip().endswith("%")
        digits = text.rstrip("%\\ ")
        for part in {digits, *digits.split(",")}:  # "12,170": 12170, and 12 and 170 as a list would read
            value = _to_fraction(part)
            add(value, m.start())
            if percent and value is not None:
                add(value / 100, m.start())
    return found


def _normalise_math(text: str) -> str:
    r"""A compare key for simple LaTeX and plain-text math: no ``$`` or spaces around symbols, ``\dfrac``/``\tfrac`` as ``\frac``,
    braces as parentheses, ``\cdot``/``\times`` as ``*``, ``\sqrt3`` as ``sqrt(3)``, ``\pi`` as ``pi``."""
    text = _GOLD_NOISE.sub("", text)
    text = re.sub(r"\s*([^\w\s])\s*", r"\1", text)  # no spaces around symbols; words keep theirs ("is 4")
    text = re.sub(r"\\[dt]frac", r"\\frac", text)
    text = re.sub(r"\\frac\s*(\w)\s*(\w)", r"\\frac{\1}{\2}", text)
    text = re.sub(r"\\frac\s*\{([^{}]*)\}\s*\{([^{}]*)\}", r"(\1)/(\2)", text)
    text = re.sub(r"\\sqrt\s*(\w)", r"\\sqrt{\1}", text)
    text = re.sub(r"\\(cdot|times)", "*", text)
    text = re.sub(r"\\(sqrt|pi|infty|ln|log|sin|cos|tan)\b", r" \1", text)  # a word of its own: "area pi"
    text = text.replace("{", "(").replace("}", ")").replace("**", "^")
    text = re.sub(r"\((\w+)\)", r"\1", text)  # (3) -> 3, ^(n) -> ^n; (n-1) keeps its parentheses
    return re.sub(r"\s+", " ", text).strip()


def _contains_standalone(haystack: str, needle: str) -> bool:
    """``needle`` in ``haystack``, not inside a longer word or number ("n" is not in "and"; "2" not in "12")."""
    for m in re.finditer(re.escape(needle), haystack):
        before = haystack[m.start() - 1] if m.start() else " "
        after = haystack[m.end()] if m.end() < len(haystack) else " "
        if not ((needle[0].isalnum() and before.isalnum()) or (needle[-1].isalnum() and after.isalnum())):
            return True
    return False


def _math_candidates(sentence: str) -> list[str]:
    """Expressions a sentence may state a value with: each side of a relation inside a math span or math-like token."""
    spans = [m.group().strip("$").removeprefix("\\(").removesuffix("\\)") for m in _MATH_SPANS.finditer(sentence)]
    spans += _MATH_TOKEN.findall(_MATH_SPANS.sub(" ", sentence))
    sides = [side.strip(" .,;") for span in spans for side in _RELATION.split(span)]
    return [side for side in dict.fromkeys(sides) if side][:_MAX_SAME_VALUE_CALLS]


def gold_matcher(gold: str | None, same_value: SameValue | None = None) -> Callable[[str], bool] | None:
    """A test "does this sentence state the gold value?", or None when the gold is empty.

    Numeric gold (``4``, ``-3``, ``2.50``, ``1/2``, ``\\frac{1}{2}``, ``25%``, ``1,000``; ``$``, ``\\text{units}``
    and ``^\\circ`` ignored): the sentence writes that value, in any of those forms (``_numbers_in``). Other gold
    (``2^{n-1}``, ``\\sqrt{3}``, ``No``): its normalised text stands in the sentence's (``_normalise_math``; words
    compared case-insensitively), or else ``same_value`` (math-verify) finds it equal to one side of a relation
    in the sentence.
    """
    if gold is None:
        return None
    clean = _clean_gold(str(gold))
    if not clean:
        return None
    values = _numeric_gold(clean)
    if values is not None:
        return lambda sentence: not values.isdisjoint(_numbers_in(sentence))
    key = _normalise_math(clean)
    words = bool(re.fullmatch(r"[A-Za-z][A-Za-z ]*", clean))  # prose: "No", "Yes", "No solutions"

    def states(sentence: str) -> bool:
        if words:
            return _contains_standalone(sentence.lower(), clean.lower())
        if _contains_standalone(_normalise_math(sentence), key):
            return True
        return same_value is not None and any(same_value(clean, c) for c in _math_candidates(sentence))

    return states


def sentence_spans(text: str) -> list[tuple[int, int]]:
    """(start, end) offsets of each sentence of ``text``: lines, split into sentences outside math spans."""
    spans = []
    for line in re.finditer(r"[^\n]+", text):
        masked = _MATH_SPANS.sub(lambda m: "x" * len(m.group()), line.group())
        bounds = [0, *(m.start() for m in _SENTENCE_END.finditer(masked)), len(masked)]
        for a, b in zip(bounds, bounds[1:]):
            piece = line.group()[a:b]
            if piece.strip():
                start = line.start() + a + len(piece) - len(piece.lstrip())
                spans.append((start, line.start() + b))
    return spans


def gold_statement_start(text: str, gold: str | None, same_value: SameValue | None = None) -> int | None:
    r"""Character offset of the first sentence of ``text`` that states the gold value (``gold_matcher``), or None.

    A leading step label ("Step 2:", "2.") is not read as a value. A gold value that appears by coincidence before
    the answer is derived ("2 apples ..." with gold 2) also counts: hints get shorter, never leakier.

    >>> text = "He uses 9, so 36 - 9 = 27 eggs remain.\nCheck: 27 + 9 = 36."
    >>> gold_statement_start(text, "27"), gold_statement_start(text, "36"), gold_statement_start(text, "5")
    (0, 0, None)
    >>> gold_statement_start("Let $y = 2x$. Then $x = \\frac{1}{2}$.", "0.5")
    14
    """
    matcher = gold_matcher(gold, same_value)
    if matcher is None:
        return None
    for start, end in sentence_spans(text):
        if matcher(_STEP_LABEL.sub("", text[start:end], count=1)):
            return start
    return None


def states_gold(hint: str, gold: str | None, same_value: SameValue | None = None) -> bool:
    """Whether any sentence of ``hint`` states the gold value (the check every cut must pass)."""
    return gold_statement_start(hint, gold, same_value) is not None


def plan_hint_cuts(
    solution: str,
    ratios: Sequence[float],
    unit: str = "token",
    token_offsets: TokenOffsets | None = None,
    keep_final_answer: bool = False,
    gold: str | None = None,
    same_value: SameValue | None = None,
) -> list[str | None]:
    """The hint of each stage, or None where the stage would add nothing and is skipped.

    A stage is skipped when its cut is empty or the same as the last stage that is not skipped: sampling G more
    completions under an unchanged prompt is a re-roll, not more guidance. All None: the problem has no usable
    hint (e.g. a 1-step solution), so an all-wrong group of it is not 'hard'. ``gold`` and ``same_value``: as in
    ``cut_hint``.
    """
    plan: list[str | None] = []
    last = ""
    for ratio in ratios:
        cut = cut_hint(solution, ratio, unit, token_offsets, keep_final_answer, gold, same_value)
        plan.append(cut if cut and cut != last else None)
        last = cut or last
    return plan


# --------------------------------------------------------------------------------------------------------------
# Prompt rendering
# --------------------------------------------------------------------------------------------------------------
def render_hinted_prompt(
    prompt: str | list[dict[str, Any]], hint: str, template: str = DEFAULT_HINT_TEMPLATE, placement: str = "prompt"
):
    """q* = q + template(hint). Returns a new object; the input prompt is never mutated.

    ``placement="prompt"`` (the paper): appended to a text prompt, or to the last user message of a chat prompt.
    ``placement="response"``: the hint is the beginning of the assistant's answer, which the model continues: a
    chat prompt gets a final assistant message holding it (render it with ``continue_final_message=True``); a
    text prompt has no turns, so it is appended, on a new line if the prompt does not end with whitespace.

    >>> render_hinted_prompt([{"role": "user", "content": "2+3+4?"}], "2 + 3 = 5", "{hint}\\n", "response")[-1]
    {'role': 'assistant', 'content': '2 + 3 = 5\\n'}
    """
    if "{hint}" not in template:
        raise ValueError("The hint template must contain '{hint}' where the solution prefix goes.")
    if placement not in HINT_PLACEMENTS:
        raise ValueError(f"Unknown hint placement {placement!r}; valid: {', '.join(HINT_PLACEMENTS)}.")
    addition = template.format(hint=hint)
    if isinstance(prompt, str):
        if placement == "response" and prompt and not prompt[-1].isspace():
            addition = "\n" + addition  # the answer starts on a line of its own
        return prompt + addition
    messages = [dict(m) for m in prompt]
    if placement == "response":
        if messages and messages[-1].get("role") == "assistant":
            raise ValueError("Chat prompt already ends with an assistant message; cannot open the answer with a hint.")
        return [*messages, {"role": "assistant", "content": addition}]
    for i in range(len(messages) - 1, -1, -1):
        if messages[i].get("role") == "user":
            content = messages[i]["content"]
            if isinstance(content, str):
                messages[i]["content"] = content + addition
            else:  # content blocks: [{"type": "text", "text": ...}, ...]
                messages[i]["content"] = [*content, {"type": "text", "text": addition}]
            return messages
    raise ValueError("Chat prompt has no user message to append the hint to.")


def default_hint_template(placement: str) -> str:
    """The paper's sentence for hints in the prompt; the bare hint and a newline for hints that open the answer."""
    return RESPONSE_HINT_TEMPLATE if placement == "response" else DEFAULT_HINT_TEMPLATE


# --------------------------------------------------------------------------------------------------------------
# Hint memory (beyond the paper; DESIGN.md "Beyond the paper")
# --------------------------------------------------------------------------------------------------------------
def problem_key(problem_id: Any, prompt: Any) -> str:
    """Stable key of a problem: the dataset ``id`` when present, else a hash of the prompt."""
    if problem_id is not None and problem_id != "":
        return str(problem_id)
    return hashlib.sha1(json.dumps(prompt, sort_keys=True, default=str).encode()).hexdigest()[:16]


MEMORY_STARTS = ("below", "at")
HINT_ROUNDS = ("sequential", "single")


@dataclass
class HintMemory:
    """What guidance learnt about each problem, so hints are paid for only where they help (beyond the paper).

    ``rescued_stage``: the stage index that last rescued the problem; next time start there (``start="at"``) or
    one stage below (``"below"``: the model may show it needs less help). ``failed_visits``: hard visits in a row
    that no stage rescued; after ``give_up_after`` of them the problem's visits are not hinted, until
    ``retry_after`` such visits have been skipped (a model that improved gets another chance). ``next_stage``: where
    the next visit starts when a visit tried only some stages (``stages_per_visit``) and none rescued: guidance
    climbs one visit at a time instead of one round at a time.

    >>> m = HintMemory()
    >>> m.record_failure("p"); m.record_failure("p")
    >>> [m.take_visit("p", give_up_after=2, retry_after=2) for _ in range(4)]
    [False, False, True, False]
    """

    rescued_stage: dict[str, int] = field(default_factory=dict)
    failed_visits: dict[str, int] = field(default_factory=dict)
    skipped_visits: dict[str, int] = field(default_factory=dict)
    next_stage: dict[str, int] = field(default_factory=dict)

    def first_stage(self, key: str, start: str = "below") -> int:
        if start not in MEMORY_STARTS:
            raise ValueError(f"Unknown memory start {start!r}; valid: {', '.join(MEMORY_STARTS)}.")
        if key in self.next_stage:  # the stages below were tried on the last visit and stayed all wrong
            return self.next_stage[key]
        stage = self.rescued_stage.get(key, 0)
        return stage if start == "at" else max(0, stage - 1)

    def take_visit(self, key: str, give_up_after: int = 0, retry_after: int = 0) -> bool:
        """Whether this hard visit of ``key`` is hinted. False: given up on, the skip is counted (retry after
        ``retry_after`` skips; 0: never, the problem is given up for good)."""
        if give_up_after <= 0 or self.failed_visits.get(key, 0) < give_up_after:
            return True
        skipped = self.skipped_visits.get(key, 0) + 1
        if 0 < retry_after < skipped:
            self.skipped_visits.pop(key, None)
            return True
        self.skipped_visits[key] = skipped
        return False

    def update(self, key: str, stage: int) -> None:
        """Record that stage index ``stage`` rescued ``key``."""
        self.rescued_stage[key] = stage
        for table in (self.failed_visits, self.skipped_visits, self.next_stage):
            table.pop(key, None)

    def climb(self, key: str, stage: int) -> None:
        """The stages tried on this visit of ``key`` stayed all wrong: the next visit starts at stage ``stage``."""
        self.next_stage[key] = stage

    def end_visit(self, key: str, rescued_at: int | None, top_tried: int, usable: Sequence[int], climb: bool) -> None:
        """After the hinted stages of a hard visit of ``key``: ``rescued_at`` is the stage that rescued it (None: none
        did), ``top_tried`` the highest stage sampled, ``usable`` its stages with a hint. An unrescued visit that left
        higher stages untried (``hint_stages_per_visit``) climbs to the next one; one that tried them all counts a
        failure, and with ``climb`` stays at the most help rather than starting again from the bottom.

        >>> m = HintMemory(); m.end_visit("p", None, 0, [0, 1, 2], climb=True); m.next_stage, m.failed_visits
        ({'p': 1}, {})
        """
        higher = [s for s in usable if s > top_tried]
        if rescued_at is not None:
            self.update(key, rescued_at)
        elif higher:
            self.climb(key, higher[0])
        else:
            self.record_failure(key)
            if climb:
                self.climb(key, top_tried)

    def record_failure(self, key: str) -> None:
        """Every stage tried on a hard visit of ``key`` stayed all wrong."""
        self.failed_visits[key] = self.failed_visits.get(key, 0) + 1

    def forget(self, key: str) -> None:
        """The problem was solved without a hint: it needs no head start, and is not given up on."""
        for table in (self.rescued_stage, self.failed_visits, self.skipped_visits, self.next_stage):
            table.pop(key, None)

    def to_json(self) -> str:
        return json.dumps({name: getattr(self, name) for name in _MEMORY_TABLES}, sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> HintMemory:
        data = json.loads(text)  # older checkpoints lack the later tables (first rescued_stage only)
        return cls(**{name: {str(k): int(v) for k, v in data.get(name, {}).items()} for name in _MEMORY_TABLES})


_MEMORY_TABLES = ("rescued_stage", "failed_visits", "skipped_visits", "next_stage")


def visit_stages(usable: Sequence[int], first: int, per_visit: int = 0) -> list[int]:
    """The stage indices one hard visit may try: the usable ones from ``first`` on, at most ``per_visit`` of them
    (0: all, the paper). Fewer stages a visit bounds the extra rounds and tokens; memory climbs across visits.

    >>> visit_stages([0, 1, 2], first=1, per_visit=1), visit_stages([0, 2], first=0, per_visit=2)
    ([1], [0, 2])
    """
    tried = [s for s in usable if s >= first]
    return tried[:per_visit] if per_visit > 0 else tried


# --------------------------------------------------------------------------------------------------------------
# The round planner: which (group, stage) jobs each round samples, and what each group trains on
# --------------------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class GuidanceBudget:
    """The scalar knobs of guidance (``GHPOConfig``'s ``hint_*`` budget fields; DESIGN.md "Beyond the paper").

    ``memory``: whether a ``HintMemory`` is kept (start, give-up and climb rules need it). ``rounds``: ``sequential``
    (a round per stage, still-hard groups only; the paper) or ``single`` (every stage at once). ``unrescued``: what a
    group no stage rescued trains on, ``last_stage`` (the paper) or ``original``.
    """

    threshold: float = 0.0
    rounds: str = "sequential"
    unrescued: str = "last_stage"
    memory: bool = False
    memory_start: str = "below"
    give_up_after: int = 0
    retry_after: int = 4
    stages_per_visit: int = 0


@dataclass
class GuidanceOutcome:
    """What guidance decided for one batch: the trainer swaps rows by ``trained_stage`` and logs the rest."""

    all_wrong: list[bool]
    hard: list[bool]
    rescued_at: dict[int, int]  # group -> the least stage whose samples had a right answer
    trained_stage: dict[int, int]  # group -> the stage whose samples it trains on (absent: its unhinted samples)
    rounds: int  # generation rounds, round 0 included
    skipped: int  # (group, stage) jobs not sampled: the stage's cut was empty or repeated
    given_up: int  # hard groups not hinted this visit (memory gave up on them)
    saved_stages: int  # usable stages memory spared this visit


class GuidancePlanner:
    """GHPO's decisions for one batch of groups, as plan -> run -> report (the shape of vLLM's scheduler):

    >>> planner = GuidancePlanner([[0.0, 0.0], [1.0, 0.0]], [True, True], lambda g: ["h1", "h2"], ["a", "b"], 2)
    >>> rounds = planner.rounds()
    >>> next(rounds)  # group 1 has a right answer: plain GRPO; group 0 is hard
    [(0, 0)]
    >>> planner.record(0, 0, [0.0, 1.0])  # rescued at stage 0: no further round
    >>> list(rounds), planner.finish().trained_stage
    ([], {0: 0})

    ``round0``: each group's trigger values before hints (DESIGN.md step 3); ``has_hint``: whether it has hint text;
    ``plan_of(g)``: its per-stage hints (``plan_hint_cuts``; None = skipped stage), asked only for all-wrong groups;
    ``keys``: problem keys for the memory. ``rounds()`` yields each round's (group, stage) jobs; the caller samples
    them and ``record``s each job's trigger values before asking for the next round; ``finish()`` chooses the stage
    each group trains on and updates the memory.
    """

    def __init__(self, round0: Sequence[Sequence[float | None]], has_hint: Sequence[bool],
                 plan_of: Callable[[int], list[str | None]], keys: Sequence[str], num_stages: int,
                 budget: GuidanceBudget = GuidanceBudget(), memory: HintMemory | None = None):
        if budget.rounds not in HINT_ROUNDS:
            raise ValueError(f"Unknown hint rounds {budget.rounds!r}; valid: {', '.join(HINT_ROUNDS)}.")
        if budget.memory and memory is None:
            raise ValueError("budget.memory needs a HintMemory.")
        self.budget, self.memory, self.keys, self.num_stages = budget, memory if budget.memory else None, keys, num_stages
        self.round0 = [list(t) for t in round0]
        n = len(self.round0)
        self.all_wrong = select_hard_groups(self.round0, has_hint, budget.threshold)
        self.plans = {g: plan_of(g) for g in range(n) if self.all_wrong[g]}
        self.hard = [self.all_wrong[g] and any(self.plans[g]) for g in range(n)]  # no usable hint: nothing to add
        self.usable = {g: [s for s, h in enumerate(plan) if h is not None] for g, plan in self.plans.items()}
        # The stage indices this visit may use: first[g] <= s <= last[g].
        self.first, self.last = [0] * n, [num_stages - 1] * n
        self.given_up: set[int] = set()
        self.saved = 0
        if self.memory is not None:
            self._consult_memory()
        self.triggers: dict[int, dict[int, list[float | None]]] = {}
        self.rescued_at: dict[int, int] = {}
        self.num_rounds, self.skipped = 1, 0

    def _consult_memory(self) -> None:
        b, memory = self.budget, self.memory
        for g in range(len(self.round0)):
            key = self.keys[g]
            if not self.hard[g]:
                if is_rescued(self.round0[g], b.threshold):
                    memory.forget(key)  # solved unaided: needs no head start any more
                continue
            self.first[g] = memory.first_stage(key, b.memory_start)
            if not memory.take_visit(key, b.give_up_after, b.retry_after):
                self.given_up.add(g)
            tried = visit_stages(self.usable[g], self.first[g], b.stages_per_visit)
            if b.stages_per_visit:
                self.last[g] = tried[-1] if tried else -1
            self.saved += len(self.usable[g]) if g in self.given_up else len(self.usable[g]) - len(tried)

    def rounds(self):
        """Each round's jobs, (group, stage) pairs: one round per stage for the groups still hard (sequential), or
        every remaining stage at once (single). Empty or repeated stages are skipped, a round with no job too."""
        still_hard = [g for g, h in enumerate(self.hard) if h and g not in self.given_up]
        stage_lists = [[s] for s in range(self.num_stages)]
        if self.budget.rounds == "single":
            stage_lists = [list(range(self.num_stages))]
        for stages in stage_lists:
            due = [(g, s) for s in stages for g in still_hard if self.first[g] <= s <= self.last[g]]
            jobs = [(g, s) for g, s in due if self.plans[g][s] is not None]
            self.skipped += len(due) - len(jobs)
            if not jobs:
                continue
            self.num_rounds += 1
            yield jobs
            for g in still_hard:
                right = [s for s in sorted(self.triggers.get(g, {}))
                         if is_rescued(self.triggers[g][s], self.budget.threshold)]
                if right:
                    self.rescued_at[g] = right[0]  # the least help that was enough
            still_hard = [g for g in still_hard if g not in self.rescued_at]

    def record(self, group: int, stage: int, triggers: Sequence[float | None]) -> None:
        """The trigger values of the G samples of ``group`` under stage ``stage``'s hint."""
        self.triggers.setdefault(group, {})[stage] = list(triggers)

    def finish(self) -> GuidanceOutcome:
        """The stage each group trains on (its rescue, or if none its last stage with ``unrescued="last_stage"``),
        and the memory's end-of-visit update for every group that was sampled with a hint."""
        trained: dict[int, int] = {}
        for g, by_stage in self.triggers.items():
            s = self.rescued_at.get(g, max(by_stage))
            if g in self.rescued_at or self.budget.unrescued == "last_stage":
                trained[g] = s
            if self.memory is not None:
                self.memory.end_visit(self.keys[g], self.rescued_at.get(g), max(by_stage), self.usable[g],
                                      climb=bool(self.budget.stages_per_visit))
        return GuidanceOutcome(self.all_wrong, self.hard, dict(self.rescued_at), trained, self.num_rounds,
                               self.skipped, len(self.given_up), self.saved)


# --------------------------------------------------------------------------------------------------------------
# Training a rescued group: what each loss row is made of (DESIGN.md "Training a rescued group")
# --------------------------------------------------------------------------------------------------------------
HINT_TRAINING = ("hinted", "original", "official", "imitate")
OFF_POLICY_CORRECTIONS = ("none", "guide")


@dataclass(frozen=True)
class LossRow:
    """What one row of the loss batch is built from.

    ``stage``: the hint stage whose sample fills the row (None: the row's own unhinted sample, untouched).
    ``prompt``: ``"sampled"``, the prompt ids the completion was sampled from (q*), or ``"original"``, the unhinted
    prompt q. ``hint_in_completion``: the hint's tokens open the completion (``imitate``), so they are trained.
    """

    stage: int | None = None
    prompt: str = "sampled"
    hint_in_completion: bool = False

    @property
    def off_prompt(self) -> bool:
        """Trained under another context than it was sampled in (q, sampled under q + h): its sampling log-probs do
        not describe the loss context."""
        return self.stage is not None and self.prompt == "original" and not self.hint_in_completion


UNHINTED_ROW = LossRow()


def _train_hinted(stage: int, last_stage: int) -> LossRow:
    return LossRow(stage, "sampled")  # on-policy: the loss sees q*, the hint is prompt


def _train_original(stage: int, last_stage: int) -> LossRow:
    return LossRow(stage, "original")  # y ~ pi(.|q, h) trained as if from pi(.|q): STaR-like rationalisation


def _train_official(stage: int, last_stage: int) -> LossRow:
    # hkgc-1/GHPO rebuilds the batch's prompt ids after every stage that sampled on a process: the still-all-wrong
    # groups get that stage's hinted prompt, every other group the original one. So a group keeps q* only when it
    # was sampled at the last stage that ran on its process; one rescued earlier trains its completions under q.
    return LossRow(stage, "sampled" if stage == last_stage else "original")


def _train_imitate(stage: int, last_stage: int) -> LossRow:
    return LossRow(stage, "original", hint_in_completion=True)  # prompt q, completion h + y: the hint is trained


TRAINING_STRATEGIES: dict[str, Callable[[int, int], LossRow]] = {
    "hinted": _train_hinted, "original": _train_original, "official": _train_official, "imitate": _train_imitate}


def plan_loss_rows(trained_stage: dict[int, int], num_groups: int, G: int, mode: str = "hinted",
                   keep_unhinted: int = 0, last_stage: dict[int, int] | None = None) -> list[LossRow]:
    """The ``LossRow`` of every row of a batch of ``num_groups`` groups of ``G`` (row ``g * G + j``).

    ``trained_stage``: group -> the stage whose samples it trains on (``GuidanceOutcome.trained_stage``); the first
    ``keep_unhinted`` samples of such a group stay its unhinted ones (NuRL's remedy; ``imitate`` needs them: every
    hinted sample shares the hint, so under group-normalised advantages its tokens' gradients cancel unless unhinted
    samples share the group). ``last_stage``: group -> the last stage sampled on its process (``official`` only).

    >>> [r.prompt for r in plan_loss_rows({0: 0, 1: 1}, 3, 1, "official", last_stage={0: 1, 1: 1, 2: 1})]
    ['original', 'sampled', 'sampled']
    """
    if mode not in TRAINING_STRATEGIES:
        raise ValueError(f"Unknown hint training {mode!r}; valid: {', '.join(TRAINING_STRATEGIES)}.")
    if mode == "official" and last_stage is None:
        raise ValueError("hint_training='official' needs each group's last sampled stage (last_stage).")
    strategy = TRAINING_STRATEGIES[mode]
    rows = []
    for g in range(num_groups):
        stage = trained_stage.get(g)
        for j in range(G):
            if stage is None or j < keep_unhinted:
                rows.append(UNHINTED_ROW)
            else:
                rows.append(strategy(stage, last_stage[g] if last_stage is not None else stage))
    return rows


def last_sampled_stage(triggers: dict[int, dict[int, Any]], group_process: Sequence[int]) -> dict[int, int]:
    """Per group, the highest stage sampled on its process this batch (-1: none): where the official code's last
    prompt rebuild happened (``official``). ``triggers``: group -> {stage: values} (``GuidancePlanner.triggers``);
    ``group_process``: the process each group's rows sit on.

    >>> last_sampled_stage({0: {0: [0.0]}, 1: {0: [0.0], 1: [1.0]}}, [0, 0, 1])
    {0: 1, 1: 1, 2: -1}
    """
    top: dict[int, int] = {}
    for g, by_stage in triggers.items():
        p = group_process[g]
        top[p] = max(top.get(p, -1), max(by_stage))
    return {g: top.get(p, -1) for g, p in enumerate(group_process)}


def split_imitation(prompt_ids: Sequence[int], hinted_prompt_ids: Sequence[int]) -> int:
    """Where ``imitate`` splits a hinted sample's prompt: the length of the longest common prefix of the unhinted
    and hinted prompt ids. The hinted prompt opens the answer with the hint (``hint_placement="response"``), so
    what follows the split is the hint, trained as the completion's opening; prompt + completion stay exactly the
    ids that were sampled.

    >>> split_imitation([5, 6, 7], [5, 6, 7, 8, 9]), split_imitation([5, 6, 7], [5, 6, 70, 8])
    (3, 2)
    """
    n = 0
    for a, b in zip(prompt_ids, hinted_prompt_ids):
        if a != b:
            break
        n += 1
    return n


def guidance_metrics(round0: Sequence[Sequence[float | None]], outcome: GuidanceOutcome, ratios: Sequence[float],
                     hint_tokens: int, extra_tokens: int, memory: bool = False, hinted: bool = True) -> dict[str, float]:
    """The ``ghpo/*`` metrics of one batch (docs/GUIDE.md glossary): fractions are of all groups; ``hint_tokens`` is the
    total policy tokens of the hints trained on, ``extra_tokens`` every token sampled by hint stages. ``hinted``
    False (the ``reroll`` schedule): stages re-sample without a hint, so the trained hint ratio is 0."""
    n = len(outcome.hard)
    metrics = {
        "ghpo/hard_frac": sum(outcome.hard) / n,
        "ghpo/unhintable_frac": (sum(outcome.all_wrong) - sum(outcome.hard)) / n,
        "ghpo/trigger_none_frac": sum(group_has_unscored(t) for t in round0) / n,
        **{f"ghpo/rescued_frac/{r:g}": sum(1 for v in outcome.rescued_at.values() if v == s) / n
           for s, r in enumerate(ratios)},
        "ghpo/unsolved_frac": (sum(outcome.hard) - len(outcome.rescued_at)) / n,
        "ghpo/hint_ratio_mean": sum(ratios[s] for s in outcome.trained_stage.values()) / n if hinted else 0.0,
        "ghpo/hint_tokens_mean": hint_tokens / n,
        "ghpo/gen_rounds": float(outcome.rounds),
        "ghpo/skipped_stages": float(outcome.skipped),
    }
    if memory:
        metrics["ghpo/memory_given_up"] = outcome.given_up / n
        metrics["ghpo/memory_saved_stages"] = float(outcome.saved_stages)
    metrics["ghpo/extra_completion_tokens"] = float(extra_tokens)
    return metrics
