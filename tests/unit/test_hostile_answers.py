"""The hostile corpus (tests/unit/hostile_corpus.py) through `accuracy_reward`: right verdicts, bounded time, no crash.

Every case is scored in the main thread (one call each, so each call's time is measured against the bound) and
again from a ThreadPoolExecutor and from a plain thread as one batch, as TRL calls a reward. Most cases that run
into the hard timeout are left to ``benchmarks/fuzz_rewards.py``; CI keeps a few (`CI_SLOW_IDS`), with the
timeout shortened to `TEST_TIMEOUT_S`. The 25 cases of hostile_cases.py are tested in test_rewards.py.
"""

import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from ghpo import rewards
from ghpo.rewards import accuracy_reward, check_answer

from .hostile_corpus import CATEGORIES, CORPUS, SLOW_IDS, build_corpus

TEST_TIMEOUT_S = 2.0  # stands in for ANSWER_CHECK_TIMEOUT_S (5 s): a timeout costs ~2 s, a well-formed case < 0.4 s
RESTART_SLACK_S = 6.0  # a killed worker is replaced (imports sympy): slow on a loaded 2-core machine
BOUND_S = TEST_TIMEOUT_S + RESTART_SLACK_S  # per call, from the main thread
THREADS = 4

# One slow case per way of being slow: a value sympy cannot finish, parser depth, and a hostile gold answer.
CI_SLOW_IDS = ("huge_fact_of_power_boxed", "nested_parens_200_tag", "gold_tower", "gold_one_megabyte_text")
CI_CASES = [c for c in CORPUS if not c.slow or c.id in CI_SLOW_IDS]
# The threaded runs keep one slow completion and one slow gold answer: each slow case costs ~2 s of the budget.
THREADED_SLOW_IDS = ("huge_fact_of_power_boxed", "gold_tower")
THREADED_CASES = [c for c in CORPUS if not c.slow or c.id in THREADED_SLOW_IDS]


@pytest.fixture(scope="module", autouse=True)
def short_timeout():
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(rewards, "ANSWER_CHECK_TIMEOUT_S", TEST_TIMEOUT_S)
        accuracy_reward([r"\boxed{1}"], ["1"])  # start the worker pool outside the per-call timings
        yield


def timed_score(case):
    start = time.monotonic()
    result = accuracy_reward([case.completion], [case.gold])[0]
    return result, time.monotonic() - start


# --------------------------------------------------------------------------------------------------------------
# The corpus itself
# --------------------------------------------------------------------------------------------------------------


def test_corpus_is_large_deterministic_and_covers_every_category():
    counts = {category: sum(c.category == category for c in CORPUS) for category in CATEGORIES}
    assert len(CORPUS) >= 200 and counts["well_formed"] >= 40, counts
    assert set(counts) == {"well_formed", "huge_number", "nested", "unbalanced", "long", "unicode", "many_boxed",
                           "empty", "non_string", "chat", "hostile_gold"}
    again = build_corpus()
    assert [(c.id, c.expect, c.slow) for c in again] == [(c.id, c.expect, c.slow) for c in CORPUS]
    assert [c.completion for c in again if isinstance(c.completion, str)] == [
        c.completion for c in CORPUS if isinstance(c.completion, str)]
    assert set(CI_SLOW_IDS) <= SLOW_IDS and set(THREADED_SLOW_IDS) <= set(CI_SLOW_IDS)


def test_hostile_payloads_never_contain_the_gold():
    # "must score 0.0" only means something if the payload is not secretly right
    for case in CORPUS:
        if case.category in ("huge_number", "nested", "unbalanced", "empty") and isinstance(case.completion, str):
            assert "42" not in case.completion.replace("6 * 7 = 42?", ""), case.id


# --------------------------------------------------------------------------------------------------------------
# Main thread: one call per case, each within the bound
# --------------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("case", CI_CASES, ids=[c.id for c in CI_CASES])
def test_case_main_thread(case, alarm):
    result, seconds = timed_score(case)
    assert result in case.expect, f"{case.id}: got {result!r}, expected one of {case.expect}"
    assert seconds < BOUND_S, f"{case.id}: took {seconds:.2f} s (bound {BOUND_S} s)"


def test_well_formed_verdicts_also_as_chat_messages():
    cases = [c for c in CORPUS if c.category == "well_formed"]
    chats = [[{"role": "system", "content": "sys"}, {"role": "assistant", "content": c.completion}] for c in cases]
    assert accuracy_reward(chats, [c.gold for c in cases]) == [c.expect[0] for c in cases]


# --------------------------------------------------------------------------------------------------------------
# Worker threads: the same verdicts from a ThreadPoolExecutor and from a batch in a plain thread
# --------------------------------------------------------------------------------------------------------------


def test_cases_from_thread_pool_workers():
    # All calls are submitted at once and queue on one lock (not FIFO), so a call's time includes waiting for the
    # others: at worst all of them, i.e. every slow case (timeout + restart) and every fast one.
    wait_bound = len(THREADED_SLOW_IDS) * BOUND_S + 0.1 * len(THREADED_CASES)
    with ThreadPoolExecutor(max_workers=THREADS) as pool:
        futures = [pool.submit(timed_score, case) for case in THREADED_CASES]
        runs = [f.result(timeout=120) for f in futures]
    wrong = [(c.id, r) for c, (r, _) in zip(THREADED_CASES, runs) if r not in c.expect]
    assert not wrong
    slowest = max(seconds for _, seconds in runs)
    assert slowest < wait_bound, f"slowest call {slowest:.2f} s"


def test_one_batch_from_a_plain_thread_with_audit_column():
    logged = {}
    box = {}

    def target():
        start = time.monotonic()
        box["result"] = accuracy_reward([c.completion for c in THREADED_CASES], [c.gold for c in THREADED_CASES],
                                        log_extra=logged.__setitem__)
        box["seconds"] = time.monotonic() - start

    thread = threading.Thread(target=target, daemon=True)
    thread.start()
    thread.join(120)
    assert not thread.is_alive(), "batch still running after 120 s"
    wrong = [(c.id, r) for c, r in zip(THREADED_CASES, box["result"]) if r not in c.expect]
    assert not wrong
    # the slow items each cost one timeout plus a restart; every other item is milliseconds
    assert box["seconds"] < len(THREADED_SLOW_IDS) * BOUND_S + 20.0, f"batch took {box['seconds']:.2f} s"
    # the audit column (extract_final_answer over every completion, in this thread, outside the worker timeout)
    extracted = logged["extracted_answer"]
    assert len(extracted) == len(THREADED_CASES) and all(e is None or isinstance(e, str) for e in extracted)


def test_pool_is_healthy_after_the_corpus():
    assert check_answer(r"\boxed{42}", "42") == 1.0
    assert all(w.proc.poll() is None for w in rewards._POOL.workers)
