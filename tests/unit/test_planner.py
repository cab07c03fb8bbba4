"""GuidancePlanner, table-driven and without torch: which (group, stage) jobs each round samples, which stage each
group trains on, and what the hint memory learns, for every budget combination (issue 20)."""

import pytest

from ghpo.guidance import GuidanceBudget, GuidancePlanner, HintMemory

G = 2
PLAN = ["h1", "h1 h2", "h1 h2 h3"]


def run_visit(rescue_stage, budget=GuidanceBudget(), memory=None, round0=None, plans=None, keys=None):
    """One batch through the planner. ``rescue_stage[g]``: the least stage whose hint makes group g right (None:
    none does); the scripted sampler answers right from that stage on. Returns (jobs per round, outcome)."""
    n = len(rescue_stage)
    round0 = round0 or [[0.0] * G for _ in range(n)]
    plans = plans or [list(PLAN) for _ in range(n)]
    planner = GuidancePlanner(round0, [bool(p) for p in plans], lambda g: plans[g], keys or [f"p{g}" for g in range(n)],
                              len(PLAN), budget, memory)
    seen = []
    for jobs in planner.rounds():
        seen.append(list(jobs))
        for g, s in jobs:
            right = rescue_stage[g] is not None and s >= rescue_stage[g]
            planner.record(g, s, [1.0 if right else 0.0, 0.0])
    return seen, planner.finish()


def test_sequential_rounds_try_each_stage_on_still_hard_groups_only():
    round0 = [[0.0, 0.0], [0.0, 0.0], [0.0, 0.0], [1.0, 0.0], [0.0, 0.0], [None, 0.0]]
    plans = [PLAN, PLAN, PLAN, PLAN, [], PLAN]  # group 4: no hint text; group 5: an unscored answer
    jobs, out = run_visit([1, 0, None, 0, None, 0], round0=round0, plans=plans)
    assert jobs == [[(0, 0), (1, 0), (2, 0)], [(0, 1), (2, 1)], [(2, 2)]]
    assert out.hard == [True, True, True, False, False, False] and out.all_wrong[4] is False
    assert out.rescued_at == {0: 1, 1: 0}
    assert out.trained_stage == {0: 1, 1: 0, 2: 2}  # never rescued: the last stage (the paper)
    assert (out.rounds, out.skipped) == (4, 0)


def test_unrescued_original_trains_on_the_unhinted_samples():
    _, out = run_visit([None], GuidanceBudget(unrescued="original"))
    assert out.trained_stage == {} and out.rescued_at == {}


def test_single_round_samples_every_stage_and_trains_on_the_least_help():
    """Catches the mutation 'the highest instead of the lowest rescuing stage chosen'."""
    jobs, out = run_visit([1, 0, None], GuidanceBudget(rounds="single"))
    assert jobs == [[(g, s) for s in range(3) for g in range(3)]]
    assert out.rescued_at == {0: 1, 1: 0} and out.trained_stage == {0: 1, 1: 0, 2: 2} and out.rounds == 2


def test_empty_and_repeated_stages_are_skipped_and_counted():
    plans = [["h1", None, "h1 h2"], [None, None, None]]  # group 1: no usable cut, so not hard
    jobs, out = run_visit([2, None], plans=plans)
    assert jobs == [[(0, 0)], [(0, 2)]] and out.skipped == 1
    assert out.all_wrong == [True, True] and out.hard == [True, False]
    assert out.rescued_at == {0: 2}


@pytest.mark.parametrize("start, expected_first", [("at", 1), ("below", 0)])
def test_memory_starts_the_next_visit_at_or_below_the_last_rescue(start, expected_first):
    memory, budget = HintMemory(), GuidanceBudget(memory=True, memory_start=start)
    run_visit([1], budget, memory)
    assert memory.rescued_stage == {"p0": 1}
    jobs, out = run_visit([1], budget, memory)
    assert jobs[0] == [(0, expected_first)]
    assert out.saved_stages == expected_first  # stages below the start are not paid for


def test_memory_forgets_a_problem_solved_unaided():
    memory, budget = HintMemory(), GuidanceBudget(memory=True, memory_start="at")
    run_visit([2], budget, memory)
    run_visit([None], budget, memory, round0=[[1.0, 0.0]])  # right without a hint
    assert memory.rescued_stage == {}


@pytest.mark.parametrize("retry_after, hinted", [
    (2, [True, True, False, False, True]),  # 2 failed visits, 2 skipped, then tried again
    (0, [True, True, False, False, False]),  # 0: given up for good
])
def test_give_up_after_failed_visits_then_retry(retry_after, hinted):
    memory, budget = HintMemory(), GuidanceBudget(memory=True, give_up_after=2, retry_after=retry_after)
    seen = []
    for _ in hinted:
        jobs, out = run_visit([None], budget, memory)
        seen.append(bool(jobs))
        assert out.given_up == (0 if jobs else 1)
    assert seen == hinted


def test_one_stage_per_visit_climbs_across_visits():
    memory, budget = HintMemory(), GuidanceBudget(memory=True, memory_start="at", stages_per_visit=1)
    firsts = []
    for _ in range(4):
        jobs, out = run_visit([2], budget, memory)
        firsts.append(jobs[0][0][1])
        assert len(jobs) == 1 and len(jobs[0]) == 1  # one stage, one round
    assert firsts == [0, 1, 2, 2]  # climbs one stage a visit, then starts at the rescue
    assert memory.rescued_stage == {"p0": 2}


def test_one_stage_per_visit_in_a_single_round():
    memory = HintMemory()
    budget = GuidanceBudget(rounds="single", memory=True, memory_start="at", stages_per_visit=1)
    jobs, out = run_visit([None, 0], budget, memory)
    assert jobs == [[(0, 0), (1, 0)]] and out.rounds == 2 and out.trained_stage == {0: 0, 1: 0}
    assert memory.next_stage == {"p0": 1} and memory.rescued_stage == {"p1": 0}


def test_rescue_reads_any_right_answer_above_the_threshold():
    planner = GuidancePlanner([[0.2, 0.1]], [True], lambda g: PLAN, ["p"], 3, GuidanceBudget(threshold=0.5))
    rounds = planner.rounds()
    assert next(rounds) == [(0, 0)]
    planner.record(0, 0, [0.4, 0.6])
    assert list(rounds) == [] and planner.finish().rescued_at == {0: 0}


def test_budget_memory_needs_a_memory():
    with pytest.raises(ValueError, match="HintMemory"):
        GuidancePlanner([[0.0]], [True], lambda g: PLAN, ["p"], 3, GuidanceBudget(memory=True))
