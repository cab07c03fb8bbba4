"""The pure rollout-selection rules (ghpo.sampling): prompt reserve, group kinds, drops, GRESO's skipper."""

import json
import math

import pytest

from ghpo.sampling import (
    MIXED,
    SOLVED,
    UNSOLVED,
    GresoSettings,
    PreRolloutSkipper,
    PromptReserve,
    fill_skipped,
    group_kind,
    groups_to_drop,
    visit_kind,
)


def test_reserve_draws_every_row_once_a_pass_and_reshuffles():
    r = PromptReserve(10, seed=3)
    first, second = r.draw(10), r.draw(10)
    assert sorted(first) == sorted(second) == list(range(10))
    assert first != second  # a new order each pass
    assert r.state() == {"size": 10, "seed": 3, "epoch": 2, "position": 0}


def test_reserve_draws_across_a_pass_boundary_and_depends_on_the_seed():
    a, b = PromptReserve(5, seed=0), PromptReserve(5, seed=0)
    assert a.draw(3) + a.draw(4) == b.draw(7)
    assert PromptReserve(50, seed=0).draw(50) != PromptReserve(50, seed=1).draw(50)


def test_reserve_state_round_trip_resumes_exactly():
    r = PromptReserve(7, seed=1)
    r.draw(9)
    resumed = PromptReserve.from_state(json.loads(json.dumps(r.state())), 7)
    assert resumed.draw(12) == r.draw(12)


def test_reserve_refuses_another_dataset_and_an_empty_one():
    with pytest.raises(ValueError, match="drawn from 7 rows, this training set has 8"):
        PromptReserve.from_state(PromptReserve(7).state(), 8)
    with pytest.raises(ValueError, match="non-empty"):
        PromptReserve(0)


@pytest.mark.parametrize("values, metric, kind", [
    ([1.0, 1.0, 1.0], "trigger", SOLVED),
    ([0.0, 0.0], "trigger", UNSOLVED),
    ([0.0, 1.0], "trigger", MIXED),
    ([0.0, None], "trigger", None),  # unscored: never dropped, never skipped
    ([float("nan"), 1.0], "trigger", None),
    ([], "trigger", None),
    ([0.3, 0.3], "reward", SOLVED),  # equal totals above the threshold
    ([-0.2, -0.2], "reward", UNSOLVED),
    ([0.3, 0.30001], "reward", MIXED),
    ([0.5, 0.5], "trigger", SOLVED),
])
def test_group_kind(values, metric, kind):
    assert group_kind(values, 0.0, metric) == kind


def test_group_kind_names_a_bad_metric():
    with pytest.raises(ValueError, match="valid: trigger, reward"):
        group_kind([1.0], metric="acc")


@pytest.mark.parametrize("unhinted, trained, kind", [
    (UNSOLVED, MIXED, MIXED),  # a hint rescued it into a mixed group: a useful visit
    (UNSOLVED, SOLVED, UNSOLVED),  # a hint made every sample right: no signal, and still a hard problem
    (UNSOLVED, UNSOLVED, UNSOLVED),  # no hint helped
    (SOLVED, SOLVED, SOLVED),
    (MIXED, MIXED, MIXED),
    (None, None, None),
    (UNSOLVED, None, None),
])
def test_visit_kind(unhinted, trained, kind):
    assert visit_kind(unhinted, trained) == kind


@pytest.mark.parametrize("keep_solved, drop", [(False, [True, True, False, False]), (True, [False, True, False, False])])
def test_groups_to_drop(keep_solved, drop):
    assert groups_to_drop([SOLVED, UNSOLVED, MIXED, None], keep_solved) == drop


def test_skip_probability_follows_the_streak():
    s = PreRolloutSkipper(seed=0)
    assert s.skip_probability("p") == 0.0
    s.observe("p", UNSOLVED)
    assert s.skip_probability("p") == pytest.approx(0.5)
    s.observe("p", UNSOLVED)
    assert s.skip_probability("p") == pytest.approx(0.75)
    s.observe("p", SOLVED)  # another kind starts a new streak
    assert s.streaks["p"] == [SOLVED, 1]
    s.observe("p", MIXED)  # a useful visit ends it
    assert "p" not in s.streaks


def test_exploration_floor_bounds_the_skip_probability():
    s = PreRolloutSkipper(GresoSettings(floor=0.01), seed=0)
    for _ in range(30):
        s.observe("p", SOLVED)
    assert s.skip_probability("p") == pytest.approx(0.99)


def test_adapt_moves_toward_the_target_share_within_bounds():
    settings = GresoSettings(p_start=0.5, p_step=0.1, p_min=0.3, p_max=0.6, target=0.25, easy_share=1 / 3)
    s = PreRolloutSkipper(settings)
    s.adapt([SOLVED] * 5 + [MIXED] * 5)  # 50% easy > 8.3%: skip easy more; 0% hard < 16.7%: skip hard less
    assert (s.p_easy, s.p_hard) == (pytest.approx(0.4), pytest.approx(0.6))
    for _ in range(5):
        s.adapt([SOLVED] * 5 + [MIXED] * 5)
    assert (s.p_easy, s.p_hard) == (pytest.approx(0.3), pytest.approx(0.6))  # clamped


def test_skipper_draws_are_seeded_and_survive_a_json_round_trip():
    a, b = PreRolloutSkipper(seed=5), PreRolloutSkipper(seed=5)
    for s in (a, b):
        s.observe("p", UNSOLVED)
    assert [a.should_skip("p") for _ in range(50)] == [b.should_skip("p") for _ in range(50)]
    resumed = PreRolloutSkipper.from_json(a.to_json(), a.settings)
    assert [resumed.should_skip("p") for _ in range(50)] == [a.should_skip("p") for _ in range(50)]
    assert resumed.streaks == a.streaks and resumed.p_hard == a.p_hard


def test_skip_rate_matches_the_probability():
    s = PreRolloutSkipper(seed=1)
    s.observe("p", UNSOLVED)
    s.observe("p", UNSOLVED)  # 0.75
    rate = sum(s.should_skip("p") for _ in range(4000)) / 4000
    assert math.isclose(rate, 0.75, abs_tol=0.03)


def test_fill_skipped_takes_the_first_candidate_not_skipped_and_bounds_draws():
    pool = iter([(10, "x"), (11, "y"), (12, "z")])
    replaced, skipped, drawn = fill_skipped(["a", "b", "c"], lambda k: k in ("a", "c", "x"), lambda: next(pool), 9)
    assert replaced == {0: (11, "y"), 2: (12, "z")} and skipped == 3 and drawn == 3
    # past the bound a skipped group keeps its last candidate (or its own prompt when none was drawn), and what is
    # kept is not counted as skipped: only 'a' and 'x' were
    pool = iter([(10, "x"), (11, "x2")])
    replaced, skipped, drawn = fill_skipped(["a", "b"], lambda k: True, lambda: next(pool), 2)
    assert replaced == {0: (11, "x2")} and drawn == 2 and skipped == 2
