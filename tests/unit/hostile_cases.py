"""Completions a policy (or an adversary) can emit that would hang or crash a naive math-verify call.

Each entry is ``(case_id, completion)``; every one must score a float (0.0 or 1.0) within
``ANSWER_CHECK_TIMEOUT_S``. The timings in comments are for plain math-verify 0.9 without our guards.
"""

HOSTILE_COMPLETIONS = [
    ("power_tower", r"\boxed{9^{9^{9^{9}}}}"),  # > 20 s, one uninterruptible big-int power
    ("power_tower_text", r"The final answer is $10^{10^{10}}$."),  # > 20 s
    ("huge_exponent", r"\boxed{9^{387420489}}"),
    ("huge_factorial", r"\boxed{100000!}"),
    ("factorial_of_power", r"\boxed{(10^{6})!}"),  # passes the heuristics: only the hard timeout stops it
    ("nested_braces", r"\boxed{" + "{" * 15 + "1" + "}" * 16),  # > 20 s, exponential in depth
    ("nested_braces_deep", r"\boxed{" + "{" * 200 + "1" + "}" * 201),
    ("nested_frac", r"\boxed{" + r"\frac{1}{" * 9 + "2" + "}" * 10),
    ("symbolic_tower", r"\boxed{x^{x^{x^{x^{x}}}}}"),
    ("one_megabyte", "x" * 1_000_000 + r" so the answer is \boxed{42}"),
    ("one_megabyte_braces", "{" * 1_000_000),
    ("unbalanced", r"\boxed{\frac{1}{2"),
    ("unbalanced_left_right", r"$\frac{1}{2} \left( \right. \sqrt{ \boxed{"),
    ("nul_chars", "\x00\\boxed{4\x002}\x00"),
    ("many_boxed", r"\boxed{1}" * 5000),
    ("many_open_boxed", r"\boxed{" * 20000),
    ("long_product", r"\boxed{" + r" \cdot ".join(["99999999"] * 2000) + "}"),
    ("lone_surrogate", "\ud800 \\boxed{42}"),
    ("empty", ""),
    ("whitespace", " \n\t "),
    ("none", None),
    ("integer", 42),
    ("list_of_ints", [1, 2, 3]),
    ("message_without_content", [{"role": "assistant"}]),
    ("message_with_none", [{"role": "assistant", "content": None}]),
]
