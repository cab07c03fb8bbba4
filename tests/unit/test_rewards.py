"""Unit tests for ghpo.rewards: verdicts, hostile inputs (bounded time, any thread), format reward, registry."""

import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from ghpo import rewards
from ghpo.rewards import (
    ANSWER_CHECK_TIMEOUT_S,
    REWARD_FUNCS,
    accuracy_reward,
    check_answer,
    extract_final_answer,
    format_reward,
    get_reward_func,
)

from .hostile_cases import HOSTILE_COMPLETIONS

# Tests shorten the hard bound so that the cases that really time out cost ~1 s, not 5 s.
TEST_TIMEOUT_S = 1.0
# Worker start-up after a timeout kill (imports sympy); generous for a loaded 2-core CI machine.
RESTART_SLACK_S = 4.0

WORKED = r"We compute $1 + 1 = 2$, then multiply by $21$. Hence the result is $\boxed{42}$."


def chat(text):
    return [{"role": "assistant", "content": text}]


@pytest.fixture
def short_timeout(monkeypatch):
    monkeypatch.setattr(rewards, "ANSWER_CHECK_TIMEOUT_S", TEST_TIMEOUT_S)


def run_in_thread(fn, limit_s):
    """Run fn() in a plain threading.Thread; return (result, seconds); fail if it is still running after limit_s."""
    box = {}

    def target():
        start = time.monotonic()
        box["result"] = fn()
        box["seconds"] = time.monotonic() - start

    thread = threading.Thread(target=target, daemon=True)
    thread.start()
    thread.join(limit_s)
    assert not thread.is_alive(), f"call still running after {limit_s} s"
    return box["result"], box["seconds"]


# --------------------------------------------------------------------------------------------------------------
# Verdicts
# --------------------------------------------------------------------------------------------------------------

VERDICTS = [
    # (completion, gold, expected)
    (r"\boxed{42}", "42", 1.0),
    (r"\boxed{41}", "42", 0.0),
    (r"\boxed{42}", "$42$", 1.0),
    (r"\boxed{42}", r"\boxed{42}", 1.0),
    (r"\boxed{42}", WORKED, 1.0),
    (r"\boxed{2}", WORKED, 0.0),  # the worked solution's intermediate 2 is not its answer
    ("The answer is $42$.", "42", 1.0),
    ("The answer is 42.", "42", 1.0),
    ("Answer: 42", "42", 1.0),
    ("Natalia sold 48 + 24 = 72 clips.\n#### 72", "72", 1.0),
    ("<think>\nwork\n</think>\n<answer>\n42\n</answer>", "42", 1.0),
    ("<think>\nwork\n</think>\n<answer>\n41\n</answer>", "42", 0.0),
    ("I think it is 42", "42", 0.0),  # no anchor: a stray number is not an answer
    (r"first \boxed{41}, correction: \boxed{42}", "42", 1.0),  # the last box counts
    (r"first \boxed{42}, correction: \boxed{41}", "42", 0.0),
    (r"\boxed{\frac{1}{2}}", "0.5", 1.0),
    (r"\boxed{0.5}", r"\frac{1}{2}", 1.0),
    (r"\boxed{\frac{2}{4}}", r"$\frac{1}{2}$", 1.0),
    (r"\boxed{\dfrac{1}{2}}", "1/2", 1.0),
    (r"\boxed{1/2}", r"\frac12", 1.0),
    (r"\boxed{\frac{1}{3}}", "0.5", 0.0),
    (r"\boxed{-3}", "-3", 1.0),
    (r"\boxed{3}", "-3", 0.0),
    (r"\boxed{1,000}", "1000", 1.0),
    (r"\boxed{\sqrt{2}}", r"\sqrt{2}", 1.0),  # bare LaTeX gold
    (r"\boxed{x^2+2x+1}", "(x+1)^2", 1.0),
    (r"$\boxed{\pi}$", r"\pi", 1.0),
    (r"\boxed{3.14}", r"\pi", 0.0),
    (r"\boxed{42}", 42, 1.0),  # numeric gold column
    (r"\boxed{0.5}", 0.5, 1.0),
]


@pytest.mark.parametrize("completion,gold,expected", VERDICTS)
def test_check_answer_verdicts(completion, gold, expected):
    assert check_answer(completion, gold) == expected


def test_accuracy_reward_matches_check_answer_on_strings_and_chat():
    completions = [c for c, _, _ in VERDICTS]
    golds = [g for _, g, _ in VERDICTS]
    expected = [e for _, _, e in VERDICTS]
    assert accuracy_reward(completions, golds) == expected
    assert accuracy_reward([chat(c) for c in completions], golds) == expected


@pytest.mark.parametrize("gold", ["", "   ", "no answer here", "see the figure above", None])
def test_unparsable_gold_gives_none(gold):
    assert check_answer(r"\boxed{42}", gold) is None
    assert accuracy_reward([r"\boxed{42}", None], [gold, gold]) == [None, None]


def test_accuracy_reward_logs_extracted_answers():
    logged = {}
    accuracy_reward([r"so \boxed{7}", chat("Answer: 8"), None], ["7", "8", "9"], log_extra=logged.__setitem__)
    assert logged == {"extracted_answer": ["7", "8", None]}


def test_accuracy_reward_rejects_length_mismatch():
    with pytest.raises(ValueError):
        accuracy_reward([r"\boxed{1}", r"\boxed{2}"], ["1"])


def test_batch_of_64_is_fast():
    completions = [f"Let me think step by step. 6 * 7 = 42, so the answer is \\boxed{{{40 + i % 4}}}." for i in range(64)]
    accuracy_reward(completions[:4], ["42"] * 4)  # start the worker pool
    start = time.monotonic()
    result = accuracy_reward(completions, ["42"] * 64)
    elapsed = time.monotonic() - start
    assert result == [1.0 if i % 4 == 2 else 0.0 for i in range(64)]
    assert elapsed < 2.0, f"64 short completions took {elapsed:.2f} s"


# --------------------------------------------------------------------------------------------------------------
# Hostile completions: always a float, always within the bound, from the main thread and from worker threads
# --------------------------------------------------------------------------------------------------------------

HOSTILE_IDS = [case_id for case_id, _ in HOSTILE_COMPLETIONS]
HOSTILE = [completion for _, completion in HOSTILE_COMPLETIONS]


@pytest.mark.parametrize("completion", HOSTILE, ids=HOSTILE_IDS)
def test_hostile_completion_main_thread(completion, short_timeout, alarm):
    start = time.monotonic()
    result = check_answer(completion, "42")
    elapsed = time.monotonic() - start
    assert result in (0.0, 1.0)
    assert elapsed < TEST_TIMEOUT_S + RESTART_SLACK_S, f"took {elapsed:.2f} s"


def test_hostile_batch_from_a_thread(short_timeout):
    # Worst case per item is the timeout; only a few cases reach it, so the batch is far below len * timeout.
    result, seconds = run_in_thread(lambda: accuracy_reward(HOSTILE, ["42"] * len(HOSTILE)), limit_s=60)
    assert all(r in (0.0, 1.0) for r in result), result
    assert seconds < 3 * (TEST_TIMEOUT_S + RESTART_SLACK_S), f"took {seconds:.2f} s"


def test_hostile_from_thread_pool_workers(short_timeout):
    # The slow-but-finishing cases are covered by the two tests above; keep the one that needs a kill.
    cases = [c for case_id, c in HOSTILE_COMPLETIONS if case_id not in ("symbolic_tower", "nested_frac")]
    with ThreadPoolExecutor(max_workers=4) as pool:
        futures = [pool.submit(check_answer, c, "42") for c in cases]
        results = [f.result(timeout=60) for f in futures]
    assert all(r in (0.0, 1.0) for r in results), results


def test_timeout_scores_zero_and_pool_recovers(short_timeout, alarm):
    hanging = dict(HOSTILE_COMPLETIONS)["factorial_of_power"]
    start = time.monotonic()
    assert check_answer(hanging, "42") == 0.0
    elapsed = time.monotonic() - start
    assert TEST_TIMEOUT_S * 0.9 <= elapsed < TEST_TIMEOUT_S + RESTART_SLACK_S  # it really hit the hard bound
    assert check_answer(r"\boxed{42}", "42") == 1.0


def test_pool_recovers_from_externally_killed_workers(alarm):
    assert check_answer(r"\boxed{1}", "1") == 1.0
    dead = next(w for w in rewards._POOL.workers if w.ready)  # the first ready worker gets the first item
    dead.proc.kill()
    dead.proc.wait()
    assert accuracy_reward([r"\boxed{1}", r"\boxed{2}", r"\boxed{3}"], ["1", "2", "4"]) == [1.0, 1.0, 0.0]


def test_broken_worker_environment_raises(monkeypatch, alarm):
    monkeypatch.setattr(rewards, "_POOL", None)
    monkeypatch.setattr(rewards, "_BOOTSTRAP", "import sys; sys.exit(3)")
    with pytest.raises(RuntimeError, match="failed to start"):
        check_answer(r"\boxed{1}", "1")


def test_default_timeout_constant():
    assert 0 < ANSWER_CHECK_TIMEOUT_S <= 10


# --------------------------------------------------------------------------------------------------------------
# extract_final_answer
# --------------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text,expected",
    [
        (r"so \boxed{\frac{1}{2}}.", r"\frac{1}{2}"),
        (r"a \boxed{x} b \boxed{\frac{1}{2}} c", r"\frac{1}{2}"),  # last box
        (r"\boxed{a} then \boxed{b", "a"),  # last *balanced* box
        (r"\boxed{ \{1, 2\} }", r"\{1, 2\}"),
        (r"\fbox{3}", "3"),
        ("<think>\n1 + 1\n</think>\n<answer>\n42\n</answer>", "42"),
        ("<answer> 7 </answer>", "7"),
        (r"<answer>\boxed{9}</answer>", "9"),
        ("The answer is $12$.", "12"),
        ("So the final answer is 3/4.", "3/4"),
        ("Answer: 5", "5"),
        ("#### 72", "72"),
        ("1,234 apples and 3.5 pears.", "3.5"),
        ("we owe -17 dollars", "-17"),
        ("no numbers here", None),
        ("", None),
        (None, None),
        ("x" * 1_000_000, None),
    ],
)
def test_extract_final_answer(text, expected):
    assert extract_final_answer(text) == expected


def test_extract_final_answer_is_linear_on_many_open_boxes():
    start = time.monotonic()
    assert extract_final_answer(r"\boxed{" * 50_000) is None
    assert time.monotonic() - start < 2.0


# --------------------------------------------------------------------------------------------------------------
# format_reward
# --------------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "completion,expected",
    [
        ("<think>\nreasoning\n</think>\n<answer>\n42\n</answer>", 1.0),
        ("<think>\nmulti\nline\n</think>\n<answer>\n\\boxed{42}\n</answer>", 1.0),
        (chat("<think>\nr\n</think>\n<answer>\n42\n</answer>"), 1.0),
        ("<think>reasoning</think><answer>42</answer>", 0.0),  # newlines are required
        ("<think>\nr\n</think>\n<answer>\n42\n</answer>\ntrailing text", 0.0),
        ("preamble <think>\nr\n</think>\n<answer>\n42\n</answer>", 0.0),
        ("<think>\nr\n</think>\n42", 0.0),
        (r"\boxed{42}", 0.0),
        ("", 0.0),
        (None, 0.0),
        (42, 0.0),
        (chat(None), 0.0),
    ],
)
def test_format_reward(completion, expected):
    assert format_reward([completion]) == [expected]


# --------------------------------------------------------------------------------------------------------------
# Registry
# --------------------------------------------------------------------------------------------------------------


def test_registry_names_and_metric_keys():
    assert REWARD_FUNCS["accuracy"] is accuracy_reward
    assert REWARD_FUNCS["format"] is format_reward
    assert accuracy_reward.__name__ == "accuracy_reward"  # TRL logs rewards/<__name__>/mean
    assert format_reward.__name__ == "format_reward"


@pytest.mark.parametrize(
    "name,expected",
    [
        ("accuracy", accuracy_reward),
        ("format", format_reward),
        ("ghpo.rewards.format_reward", format_reward),
        ("ghpo.rewards.accuracy_reward", accuracy_reward),
    ],
)
def test_get_reward_func(name, expected):
    assert get_reward_func(name) is expected


@pytest.mark.parametrize("name", ["acuracy", "ghpo.rewards.no_such_reward", "no_such_pkg.module.func", "ghpo.rewards.TAIL_CHARS"])
def test_get_reward_func_unknown_lists_valid_names(name):
    with pytest.raises(ValueError) as err:
        get_reward_func(name)
    for valid in REWARD_FUNCS:
        assert valid in str(err.value)


def test_prefilled_answer_is_graded_whole():
    """hint_placement='response': the completion continues a hint; rewards grade prefix + completion."""
    from ghpo.rewards import format_reward, full_responses

    completion = "more\n</think>\n<answer>\n42\n</answer>"
    assert format_reward([completion]) == [0.0]  # alone it does not open the think block
    assert format_reward([completion], response_prefix=["<think>\n2 + 3 = 5\n"]) == [1.0]
    assert format_reward([completion], response_prefix=["2 + 3 = 5\n"]) == [0.0]  # default template: no <think>
    chat = [[{"role": "assistant", "content": "12 - 3 = 9\nThe final answer is \\boxed{9}."}]]
    assert full_responses(chat, ["4 + 8 = 12\n"]) == ["4 + 8 = 12\n12 - 3 = 9\nThe final answer is \\boxed{9}."]
    assert full_responses(["x"], [""]) == ["x"] and full_responses(["x"]) == ["x"]
    assert accuracy_reward(chat, ["9"], response_prefix=["4 + 8 = 12\n"]) == [1.0]
    # The answer must come from the completion: a prefix alone (never holding the answer) does not score.
    assert accuracy_reward(["I am not sure."], ["9"], response_prefix=["4 + 8 = 12\n"]) == [0.0]
