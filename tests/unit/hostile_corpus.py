r"""A deterministic corpus of hostile, odd and well-formed inputs for `ghpo.rewards.accuracy_reward`.

Each `Case` is one (completion, gold) pair with the results it may score (`expect`). Most hostile cases are
templates x payloads: a payload (a huge power, deep nesting, a confusable digit...) put where a final answer
goes (``\boxed{}``, an ``<answer>`` tag, "The final answer is $...$", a ``####`` line). Gold is "42" unless the
case says otherwise, and hostile payloads never contain 42, so those must score 0.0.

`slow` marks the cases that reach the worker and run into the hard timeout (measured with
``benchmarks/fuzz_rewards.py``): the CI test (tests/unit/test_hostile_answers.py) runs only a few of them,
the benchmark runs them all. The existing 25 cases of ``hostile_cases.py`` are not repeated here.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

ZERO = (0.0,)
ONE = (1.0,)
SKIP = (None,)  # the gold answer does not parse (or is not text): the row is skipped
VERDICT = (0.0, 1.0)  # some float verdict; which one is math-verify's business (e.g. a confusable digit)
ANY = (0.0, 1.0, None)  # a hostile gold: skipped, or scored 0.0 when its check errs or times out
MB = 1_000_000


@dataclass(frozen=True)
class Case:
    id: str
    category: str
    completion: Any
    gold: Any = "42"
    expect: tuple = ZERO
    slow: bool = False

    def __repr__(self) -> str:  # pytest ids and failure messages must not print 1 MB
        return f"Case({self.id})"


def _boxed(x: str) -> str:
    return "\\boxed{" + x + "}"


def _prose_boxed(x: str) -> str:
    return "Let me work through this.\n6 * 7 = 42? No, recheck.\nTherefore the final answer is $\\boxed{" + x + "}$."


def _tag(x: str) -> str:
    return "<think>\nwork\n</think>\n<answer>\n" + x + "\n</answer>"


def _answer_is(x: str) -> str:
    return "The final answer is $" + x + "$."


def _hashes(x: str) -> str:
    return "step one\nstep two\n#### " + x


WRAPPERS = {"boxed": _boxed, "prose_boxed": _prose_boxed, "tag": _tag, "answer_is": _answer_is, "hashes": _hashes}


# --------------------------------------------------------------------------------------------------------------
# well_formed: known verdicts, each checked by hand (math, not just "what math-verify said")
# --------------------------------------------------------------------------------------------------------------

WELL_FORMED = [
    # integers and signs
    (r"\boxed{7}", "7", 1.0),
    (r"\boxed{-7}", "-7", 1.0),
    (r"\boxed{7}", "-7", 0.0),
    (r"\boxed{-0}", "0", 1.0),
    (r"\boxed{007}", "7", 1.0),
    (r"\boxed{+5}", "5", 1.0),
    (r"\boxed{1000000}", "1,000,000", 1.0),
    (r"\boxed{10^6}", "1000000", 1.0),
    (r"\boxed{2^{10}}", "1024", 1.0),
    # fractions vs decimals, \frac vs /
    (r"\boxed{\frac{3}{4}}", "0.75", 1.0),
    (r"\boxed{0.75}", "3/4", 1.0),
    (r"\boxed{\tfrac{5}{2}}", "2.5", 1.0),
    (r"\boxed{-\frac{1}{2}}", "-0.5", 1.0),
    (r"\boxed{\frac{-1}{2}}", "-1/2", 1.0),
    (r"\boxed{\frac{6}{8}}", "3/4", 1.0),
    (r"\boxed{\frac{4}{3}}", "3/4", 0.0),
    (r"\boxed{\frac{1}{3}}", "0.333", 0.0),  # a truncated decimal is not 1/3
    (r"\boxed{\dfrac{7}{2}}", "3.5", 1.0),
    (r"\boxed{3.50}", "3.5", 1.0),
    (r"\boxed{0.1+0.2}", "0.3", 1.0),
    # roots
    (r"\boxed{2\sqrt{2}}", r"\sqrt{8}", 1.0),
    (r"\boxed{\sqrt{8}}", r"2\sqrt{2}", 1.0),
    (r"\boxed{\sqrt{3}}", r"\sqrt{2}", 0.0),
    (r"\boxed{\frac{\sqrt{2}}{2}}", r"\frac{1}{\sqrt{2}}", 1.0),
    (r"\boxed{1.414}", r"\sqrt{2}", 0.0),
    (r"\boxed{\sqrt[3]{8}}", "2", 1.0),
    # pi
    (r"\boxed{2\pi}", r"2\pi", 1.0),
    (r"\boxed{\pi/2}", r"\frac{\pi}{2}", 1.0),
    (r"\boxed{6.28}", r"2\pi", 0.0),
    (r"\boxed{\frac{\pi}{3}}", r"\frac{\pi}{6}", 0.0),
    # intervals (ordered, endpoints matter)
    (r"\boxed{(1, 2)}", "(1, 2)", 1.0),
    (r"\boxed{[1, 2)}", "[1, 2)", 1.0),
    (r"\boxed{[1, 2]}", "(1, 2)", 0.0),
    (r"\boxed{(-\infty, 3]}", r"(-\infty, 3]", 1.0),
    (r"\boxed{(0,\infty)}", r"(0, \infty)", 1.0),
    (r"\boxed{[0, 1]}", "[0, 1)", 0.0),
    (r"\boxed{(1,2)}", "(2,1)", 0.0),
    # sets (unordered)
    (r"\boxed{\{1, 2, 3\}}", r"\{3, 2, 1\}", 1.0),
    (r"\boxed{\{1, 2\}}", r"\{1, 2, 3\}", 0.0),
    (r"\boxed{1, 2, 3}", r"\{1,2,3\}", 1.0),
    (r"\boxed{3, 2}", "2, 3", 1.0),
    # percentages
    (r"\boxed{50\%}", "50", 1.0),
    (r"\boxed{50}", r"50\%", 1.0),
    (r"\boxed{25\%}", r"25\%", 1.0),
    (r"\boxed{30\%}", r"25\%", 0.0),
    # units and currency are stripped
    (r"\boxed{5 \text{ cm}}", "5", 1.0),
    (r"\boxed{12 \text{ dollars}}", "12", 1.0),
    (r"\boxed{\$12}", "12", 1.0),
    (r"\boxed{90^\circ}", "90", 1.0),
    (r"\boxed{6 \text{ cm}}", "5", 0.0),
    # algebra
    (r"\boxed{2x+2}", "2(x+1)", 1.0),
    (r"\boxed{x^2-1}", "(x-1)(x+1)", 1.0),
    (r"\boxed{x^2+1}", "(x+1)^2", 0.0),
    (r"\boxed{x = 5}", "5", 1.0),
    (r"\boxed{\log_2 8}", "3", 1.0),
    (r"\boxed{\binom{5}{2}}", "10", 1.0),
    (r"\boxed{5!}", "120", 1.0),
    (r"\boxed{\sin(\pi/6)}", "1/2", 1.0),
    (r"\boxed{\infty}", r"\infty", 1.0),
    # multiple choice
    (r"\boxed{\text{A}}", "A", 1.0),
    (r"\boxed{B}", "A", 0.0),
    (r"\boxed{\textbf{(C)}}", "C", 1.0),
    # \boxed{} vs <answer> vs "answer is" vs ####
    ("<answer>3/4</answer>", "0.75", 1.0),
    ("<answer>\\frac{3}{4}</answer>", "3/4", 1.0),
    ("<answer>-2</answer>", "-2", 1.0),
    ("<answer>2</answer>", "-2", 0.0),
    ("<answer>x = 5</answer>", "5", 1.0),
    ("<think>x</think><answer>\\boxed{5}</answer>", "5", 1.0),
    ("<answer>2\\sqrt{2}</answer>", r"2\sqrt{2}", 1.0),
    ("The final answer is $\\frac{3}{4}$.", "0.75", 1.0),
    ("Answer: -7", "-7", 1.0),
    ("The answer is 41. Wait, no: the answer is 42.", "42", 1.0),  # the last anchor counts
    ("The answer is 42. Wait, no: the answer is 41.", "42", 0.0),
    ("#### 1,234", "1234", 1.0),
    # a formula is graded whole, never by its first number (regression: these all scored 1.0 before the fix)
    (r"\boxed{2}", r"2\sqrt{2}", 0.0),
    (r"\boxed{2}", "(1, 2)", 0.0),
    (r"\boxed{2}", r"2\pi", 0.0),
    (r"\boxed{2}", "2^(n-1)", 0.0),
    (r"\boxed{2^{n-1}}", "2^(n-1)", 1.0),
    (r"\boxed{3}", "2, 3", 0.0),
    (r"\boxed{2}", "2(x+1)", 0.0),
    ("<answer>2^{10}</answer>", "2", 0.0),
    ("<answer>2\\pi</answer>", "2", 0.0),
    ("<answer>(1, 2)</answer>", "2", 0.0),
    ("#### 2\\pi", "2", 0.0),
]


def _well_formed() -> list[Case]:
    return [Case(f"wf_{i:02d}", "well_formed", c, g, (e,)) for i, (c, g, e) in enumerate(WELL_FORMED)]


# --------------------------------------------------------------------------------------------------------------
# huge_number: answers whose value sympy would compute for minutes, or run out of memory on
# --------------------------------------------------------------------------------------------------------------

HUGE = {
    "tower_9": r"9^{9^{9^{9}}}",
    "tower_2x6": r"2^{2^{2^{2^{2^{2}}}}}",
    "tower_unbraced": r"9^9^9^9",
    "tower_python": "9**9**9**9",
    "tower_parens": "10^(10^(10^10))",
    "exp_7_digits": r"7^{123456789}",
    "exp_of_power": r"2^{10^{8}}",
    "fact_5_digits": r"123456!",
    "fact_braced": r"{99999}!",
    "fact_of_power": r"(10^{7})!",
    "double_fact": r"(10^{6})!!",
    "exp_exp": r"e^{e^{e^{e^{10}}}}",
    "binom_huge": r"\binom{10^{9}}{5 \cdot 10^{8}}",
    "sci_huge": r"1e1000000",
    "product_huge": r"\prod_{k=1}^{10^{9}} k",
}


def _huge() -> list[Case]:
    return [Case(f"huge_{name}_{w}", "huge_number", wrap(p))
            for name, p in HUGE.items() for w, wrap in WRAPPERS.items()]


# --------------------------------------------------------------------------------------------------------------
# nested: deep braces, fractions, roots, parentheses (the LaTeX parser is exponential in brace depth)
# --------------------------------------------------------------------------------------------------------------

NESTED = {
    "braces_11": "{" * 11 + "1" + "}" * 11,
    "braces_30": "{" * 30 + "1" + "}" * 30,
    "braces_5000": "{" * 5000 + "1" + "}" * 5000,
    "frac_8": r"\frac{1}{" * 8 + "3" + "}" * 8,
    "frac_40": r"\frac{1}{" * 40 + "3" + "}" * 40,
    "sqrt_9": r"\sqrt{" * 9 + "3" + "}" * 9,
    "sqrt_100": r"\sqrt{" * 100 + "3" + "}" * 100,
    "parens_200": "(" * 200 + "1" + ")" * 200,
    "parens_5000": "(" * 5000 + "1" + ")" * 5000,
    "brackets_500": "[" * 500 + "1" + "]" * 500,
    "left_right_100": r"\left(" * 100 + "1" + r"\right)" * 100,
    "sym_tower_10": "x^{" * 10 + "x" + "}" * 10,
}


def _nested() -> list[Case]:
    wrappers = {w: WRAPPERS[w] for w in ("boxed", "tag", "answer_is")}
    return [Case(f"nested_{name}_{w}", "nested", wrap(p)) for name, p in NESTED.items() for w, wrap in wrappers.items()]


# --------------------------------------------------------------------------------------------------------------
# unbalanced: broken LaTeX and markup
# --------------------------------------------------------------------------------------------------------------

UNBALANCED = [
    r"\boxed{\frac{1}{",
    r"\boxed{\frac{}{}}",
    r"\boxed{\sqrt}",
    r"\boxed{\left( 1 }",
    r"\boxed{1 \right)}",
    r"\boxed{\begin{pmatrix} 1 & 2}",
    r"\boxed{\end{array}}",
    r"\boxed{^^^^}",
    r"\boxed{_{_{_{}}}}",
    r"\boxed{}}}}}}",
    r"}}}}}}\boxed{",
    r"\boxed{\boxed{\boxed{",
    r"\boxed{\text{}",
    r"$$$$$$ \boxed{ $$ }",
    r"\[ \boxed{1 \]",
    r"<answer><answer>1</answer",
    r"</answer>1<answer>",
    r"<answer>\frac{1}{</answer>",
    "#### {{{",
    r"\boxed{\frac{1}{2}}} }",  # extra closer after a valid box: graded as 1/2
    r"\boxed{1}{2}",
    r"\boxed{\\\\\\\\}",
    r"\boxed{\mathrm{\mathbf{\mathit{",
    r"\boxed{\undefinedcommand{3}}",
]


def _unbalanced() -> list[Case]:
    return [Case(f"unbalanced_{i:02d}", "unbalanced", c) for i, c in enumerate(UNBALANCED)]


# --------------------------------------------------------------------------------------------------------------
# long: 1 MB strings (only the last TAIL_CHARS characters are parsed)
# --------------------------------------------------------------------------------------------------------------


def _long() -> list[Case]:
    box = r"\boxed{42}"
    cases = [
        ("pad_then_box", "x" * MB + box, ONE),
        ("box_then_pad", box + "x" * MB, ZERO),  # the box is not in the tail: no final answer
        ("digits", "9" * MB, ZERO),
        ("boxed_digits", _boxed("9" * MB), ZERO),
        ("newlines_then_box", "\n" * MB + box, ONE),
        ("dollars", "$" * MB, ZERO),
        ("backslashes", "\\" * MB, ZERO),
        ("closers", "}" * MB, ZERO),
        ("unicode_then_box", "é" * MB + box, ONE),
        ("open_tags", "<answer>" * (MB // 8), ZERO),
        ("tag_of_digits", _tag("4" * MB), ZERO),
        ("hashes", "#### " * (MB // 5), ZERO),
        ("frac_chain", r"\frac{1}{2}+" * (MB // 12) + "1", ZERO),
        ("answer_is_chain", "The answer is 41. " * (MB // 18) + "The answer is 42.", ONE),
    ]
    return [Case(f"long_{name}", "long", c, "42", e) for name, c, e in cases]


# --------------------------------------------------------------------------------------------------------------
# unicode: confusables, invisible characters, direction marks, NUL and control characters
# --------------------------------------------------------------------------------------------------------------

# (name, answer text, expect): VERDICT where a reader could call it 42 (math-verify may or may not).
UNICODE = [
    ("fullwidth", "４２", VERDICT),
    ("arabic_indic", "٤٢", VERDICT),
    ("devanagari", "४२", VERDICT),
    ("superscript", "⁴²", VERDICT),
    ("math_bold", "𝟒𝟐", VERDICT),
    ("zwsp_inside", "4\u200b2", VERDICT),
    ("zwsp_around", "\u200b42\u200b", VERDICT),
    ("zwj_zwnj", "4\u200d\u200c2", VERDICT),
    ("bom", "\ufeff42", VERDICT),
    ("rlm", "\u200f42", VERDICT),
    ("rtl_override_24", "\u202e24", ZERO),  # displays as 42, is 24
    ("nbsp_inside", "4\u00a02", VERDICT),
    ("combining_acute", "42\u0301", VERDICT),
    ("keycap_emoji", "4\ufe0f\u20e32\ufe0f\u20e3", VERDICT),
    ("ansi_escape", "\x1b[31m42\x1b[0m", VERDICT),
    ("nul_around", "\x0042\x00", ONE),  # NUL is removed before parsing
    ("bell_backspace", "\x074\x082", VERDICT),
    ("line_separator", "4\u20282", VERDICT),
    ("cyrillic_o_as_zero", "4О", ZERO),  # Cyrillic capital O, not 0; and 40 is not 42 anyway
    ("greek_letters", "αβγ", ZERO),
    ("minus_sign_41", "\u221241", ZERO),
    ("lone_surrogates", "\udc00\ud800", ZERO),
]

# Confusable letters and signs compared against a gold in plain ASCII.
UNICODE_GOLD = [
    ("cyrillic_x", _boxed("х"), "x", VERDICT),  # Cyrillic small ha
    ("greek_omicron", _boxed("ο"), "o", VERDICT),
    ("unicode_minus", _boxed("\u22123"), "-3", VERDICT),
    ("unicode_pi", _boxed("π"), r"\pi", VERDICT),
    ("vulgar_half", _boxed("½"), "1/2", VERDICT),
    ("unicode_sqrt", _boxed("√2"), r"\sqrt{2}", VERDICT),
    ("unicode_infinity", _boxed("∞"), r"\infty", VERDICT),
    ("roman_twelve", _boxed("Ⅻ"), "12", VERDICT),
]


def _unicode() -> list[Case]:
    cases = [
        Case(f"unicode_{name}_{w}", "unicode", WRAPPERS[w](text), "42", expect)
        for name, text, expect in UNICODE
        for w in ("boxed", "tag")
    ]
    cases += [Case(f"unicode_{name}", "unicode", c, g, e) for name, c, g, e in UNICODE_GOLD]
    return cases


# --------------------------------------------------------------------------------------------------------------
# many_boxed: thousands of answers; the last balanced \boxed{} is the one graded
# --------------------------------------------------------------------------------------------------------------


def _many_boxed() -> list[Case]:
    cases = [
        ("ones_5000", r"\boxed{1}" * 5000, ZERO),
        ("last_is_right", r"\boxed{41}" * 999 + r"\boxed{42}", ONE),
        ("last_is_wrong", r"\boxed{42}" * 999 + r"\boxed{41}", ZERO),
        ("empty_10000", r"\boxed{}" * 10000, ZERO),
        ("nested_boxes", r"\boxed{\boxed{\boxed{42}}}", ONE),
        ("fbox", r"\fbox{42}", ONE),
        ("space_before_brace", r"\boxed {42}", ONE),
        ("split_digits", r"\boxed{4}\boxed{2}", ZERO),
        ("boxed_beats_tag", r"\boxed{41} <answer>42</answer>", ZERO),
        ("tags_last_right", "<answer>41</answer>" * 1000 + "<answer>42</answer>", ONE),
        ("hashes_last_right", "#### 41\n" * 1000 + "#### 42", ONE),
        ("unclosed_after_good", r"\boxed{42}" + r"\boxed{4" * 300, ONE),
        ("good_box_beyond_tail", r"\boxed{42}" + r"\boxed{4" * 1000, ZERO),  # 8000 chars later: not in the tail
        ("boxes_in_tag", "<answer>" + r"\boxed{1}" * 2000 + "</answer>", ZERO),
    ]
    return [Case(f"many_boxed_{name}", "many_boxed", c, "42", e) for name, c, e in cases]


# --------------------------------------------------------------------------------------------------------------
# empty: nothing to grade
# --------------------------------------------------------------------------------------------------------------

EMPTY = ["", " ", "\n" * 10_000, "\t", r"\boxed{}", r"\boxed{ }", "<answer></answer>", "<answer> </answer>", "####",
         "$$", "$", "\\", "{}", "The answer is", "Answer:", "<think></think>", "\x00"]


def _empty() -> list[Case]:
    return [Case(f"empty_{i:02d}", "empty", c) for i, c in enumerate(EMPTY)]


# --------------------------------------------------------------------------------------------------------------
# non_string: what a buggy pipeline may pass as a completion; all score 0.0 (np.str_ is a str)
# --------------------------------------------------------------------------------------------------------------


class _Explosive:
    """An object whose str/repr/eq raise: the reward must not touch them."""

    def __str__(self):
        raise RuntimeError("str called")

    __repr__ = __str__

    def __eq__(self, other):
        raise RuntimeError("eq called")

    __hash__ = object.__hash__


NON_STRINGS = [
    ("none", None, ZERO),
    ("int_equal_to_gold", 42, ZERO),
    ("float", 42.0, ZERO),
    ("bool", True, ZERO),
    ("bytes", b"\\boxed{42}", ZERO),
    ("bytearray", bytearray(b"\\boxed{42}"), ZERO),
    ("list_of_int", [42], ZERO),
    ("list_of_str", ["\\boxed{42}"], ZERO),
    ("tuple", ("\\boxed{42}",), ZERO),
    ("set", {42}, ZERO),
    ("dict_message_not_in_list", {"role": "assistant", "content": "\\boxed{42}"}, ZERO),
    ("complex", 42 + 0j, ZERO),
    ("nan", float("nan"), ZERO),
    ("numpy_int", np.int64(42), ZERO),
    ("numpy_array", np.array([4, 2]), ZERO),
    ("numpy_str", np.str_("\\boxed{42}"), ONE),
    ("object", object(), ZERO),
    ("explosive", _Explosive(), ZERO),
    ("type", str, ZERO),
    ("function", len, ZERO),
]


def _non_strings() -> list[Case]:
    return [Case(f"non_string_{name}", "non_string", c, "42", e) for name, c, e in NON_STRINGS]


# --------------------------------------------------------------------------------------------------------------
# chat: conversational completions (a list of messages whose last content is the answer)
# --------------------------------------------------------------------------------------------------------------


def _msg(content: Any, role: str = "assistant") -> dict:
    return {"role": role, "content": content}


CHAT = [
    ("empty_list", [], ZERO),
    ("empty_message", [{}], ZERO),
    ("right", [_msg(r"\boxed{42}")], ONE),
    ("wrong", [_msg(r"\boxed{41}")], ZERO),
    ("last_message_counts", [_msg(r"\boxed{41}"), _msg(r"\boxed{42}")], ONE),
    ("earlier_right_last_wrong", [_msg(r"\boxed{42}"), _msg(r"\boxed{41}")], ZERO),
    ("no_role", [{"content": r"\boxed{41}"}], ZERO),
    ("int_content", [_msg(42)], ZERO),
    ("bytes_content", [_msg(b"\\boxed{42}")], ZERO),
    ("multimodal_parts", [_msg([{"type": "text", "text": r"\boxed{42}"}])], ZERO),
    ("dict_content", [_msg({"text": r"\boxed{42}"})], ZERO),
    ("tool_call_only", [{"role": "assistant", "content": None, "tool_calls": [{"name": "calc"}]}], ZERO),
    ("none_in_list", [None], ZERO),
    ("string_last", [_msg(r"\boxed{41}"), r"\boxed{42}"], ZERO),
    ("nested_lists", [[_msg(r"\boxed{42}")]], ZERO),
    ("one_megabyte_content", [_msg("x" * MB + r"\boxed{42}")], ONE),
    ("hostile_content", [_msg(r"\boxed{9^{9^{9^{9}}}}")], ZERO),
    ("many_keys", [{**{f"k{i}": i for i in range(10_000)}, "role": "assistant", "content": r"\boxed{42}"}], ONE),
    ("nul_content", [_msg("\x00" * 1000 + r"\boxed{42}")], ONE),
    ("explosive_content", [_msg(_Explosive())], ZERO),
]


def _chat() -> list[Case]:
    return [Case(f"chat_{name}", "chat", c, "42", e) for name, c, e in CHAT]


# --------------------------------------------------------------------------------------------------------------
# hostile_gold: the gold answer (a dataset column) is the odd one; the completion is a plain \boxed{42}
# --------------------------------------------------------------------------------------------------------------

HOSTILE_GOLDS = [
    ("none", None, SKIP),
    ("empty", "", SKIP),
    ("blank", " \n\t ", SKIP),
    ("int", 42, ONE),  # a numeric column is converted to text
    ("float", 42.0, ONE),
    ("numpy_float", np.float64(42.0), ONE),  # a float subclass
    ("bool", True, SKIP),
    ("nan", float("nan"), ANY),
    ("inf", float("inf"), ANY),
    ("numpy_int", np.int64(42), SKIP),  # not an int subclass: not text, skipped
    ("list", [42], SKIP),
    ("dict", {"answer": "42"}, SKIP),
    ("bytes", b"42", SKIP),
    ("prose", "no idea", SKIP),
    ("see_figure", "see the figure above", SKIP),
    ("fullwidth", "４２", ANY),
    ("zwsp", "4\u200b2", ANY),
    ("rtl_override", "\u202e24", ANY),
    ("nul", "\x00", ANY),
    ("lone_surrogate", "\ud800", ANY),
    ("unbalanced", r"\frac{1}{", ANY),
    ("dollars", "$$$$", ANY),
    ("backslash", "\\", ANY),
    ("empty_box", r"\boxed{}", ANY),
    ("tower", r"9^{9^{9^{9}}}", ANY),
    ("huge_factorial", r"100000!", ANY),
    ("factorial_of_power", r"(10^{6})!", ANY),
    ("nested_braces", "{" * 40 + "42" + "}" * 40, ANY),
    ("open_boxes", r"\boxed{" * 5000, ANY),
    ("one_megabyte_text", "x" * MB, ANY),
    ("one_megabyte_digits", "4" * MB, ANY),
    ("box_then_megabyte", r"\boxed{42}" + " x" * (MB // 2), ANY),
    ("many_boxes", r"\boxed{42}" * 5000, ANY),
]


def _hostile_golds() -> list[Case]:
    return [Case(f"gold_{name}", "hostile_gold", r"\boxed{42}", g, e) for name, g, e in HOSTILE_GOLDS]


# --------------------------------------------------------------------------------------------------------------

# Cases that took over 1 s with a 1 s timeout or over 2.5 s with the 5 s default, on a loaded 2-core machine
# (benchmarks/fuzz_rewards.py): the payloads that pass the cheap filters and reach a worker.
_SLOW_HUGE = ("fact_of_power", "double_fact", "binom_huge", "exp_exp")
SLOW_IDS: frozenset[str] = frozenset(
    [f"huge_{name}_{w}" for name in _SLOW_HUGE for w in WRAPPERS]
    + [f"huge_sci_huge_{w}" for w in ("boxed", "prose_boxed", "tag", "answer_is")]
    + [f"nested_{name}_{w}" for name in ("parens_200", "sym_tower_10") for w in ("boxed", "tag", "answer_is")]
    + [f"gold_{name}" for name in ("tower", "factorial_of_power", "nested_braces", "open_boxes", "one_megabyte_text",
                                   "one_megabyte_digits", "box_then_megabyte")]
)


def build_corpus() -> list[Case]:
    cases = (_well_formed() + _huge() + _nested() + _unbalanced() + _long() + _unicode() + _many_boxed() + _empty()
             + _non_strings() + _chat() + _hostile_golds())
    ids = [c.id for c in cases]
    assert len(ids) == len(set(ids)), "case ids must be unique"
    unknown = SLOW_IDS - set(ids)
    assert not unknown, f"SLOW_IDS names unknown cases: {sorted(unknown)}"
    return [Case(c.id, c.category, c.completion, c.gold, c.expect, c.id in SLOW_IDS) for c in cases]


CORPUS = build_corpus()
CATEGORIES = tuple(dict.fromkeys(c.category for c in CORPUS))
