"""What each hint training mode puts in the loss batch (issue 28), without torch: guidance.plan_loss_rows (one
strategy per mode), the official code's rule checked against a literal re-enactment of its loop, and
trainer.build_loss_view on scripted samples."""

import math

import pytest

from ghpo.guidance import (GuidanceBudget, GuidancePlanner, LossRow, last_sampled_stage, plan_loss_rows,
                           split_imitation)
from ghpo.trainer import GHPOConfig, _Sample, build_loss_view

PLAN = ["h1", "h1 h2", "h1 h2 h3"]


@pytest.mark.parametrize("mode, keep, expected", [
    # groups 0, 1, 2 train on stages 0, 1, 2 (2 is the last one sampled); group 3 is plain GRPO; G = 2
    ("hinted", 0, [LossRow(0), LossRow(0), LossRow(1), LossRow(1), LossRow(2), LossRow(2), LossRow(), LossRow()]),
    ("original", 0, [LossRow(0, "original")] * 2 + [LossRow(1, "original")] * 2 + [LossRow(2, "original")] * 2
     + [LossRow()] * 2),
    ("official", 0, [LossRow(0, "original")] * 2 + [LossRow(1, "original")] * 2 + [LossRow(2)] * 2 + [LossRow()] * 2),
    ("imitate", 1, [LossRow(), LossRow(0, "original", True), LossRow(), LossRow(1, "original", True),
                    LossRow(), LossRow(2, "original", True), LossRow(), LossRow()]),
    ("hinted", 1, [LossRow(), LossRow(0), LossRow(), LossRow(1), LossRow(), LossRow(2), LossRow(), LossRow()]),
])
def test_plan_loss_rows_one_strategy_per_mode(mode, keep, expected):
    rows = plan_loss_rows({0: 0, 1: 1, 2: 2}, 4, 2, mode, keep, last_stage={0: 2, 1: 2, 2: 2, 3: 2})
    assert rows == expected
    assert [r.off_prompt for r in rows] == [r.stage is not None and r.prompt == "original" and not r.hint_in_completion
                                            for r in expected]


def test_plan_loss_rows_errors():
    with pytest.raises(ValueError, match="valid: hinted, original, official, imitate"):
        plan_loss_rows({}, 1, 2, "copy")
    with pytest.raises(ValueError, match="last_stage"):
        plan_loss_rows({0: 0}, 1, 2, "official")


# --- The official rule, against a literal re-enactment of hkgc-1/GHPO's _generate_and_score_completions ---------
def official_oracle(rescue_stage, group_process, num_stages=3):
    """What the released code trains each group on: ('q', stage of its completions) or ('q*', stage).

    Per process, after each stage that found an all-wrong group there: the still-all-wrong groups are re-sampled
    with that stage's hint, and the process's prompt ids are rebuilt: that stage's hinted prompt for the groups that
    were all wrong before it, the original prompt for every other group. A process with no all-wrong group keeps
    its last ids. (ghpo_trainer.py, the three '#### add 25/50/75 hint' blocks.)"""
    n = len(rescue_stage)
    right = [False] * n  # the group's current completions hold a right answer (round 0: all wrong when hard)
    prompt = ["q"] * n
    completion_stage = [None] * n
    for s in range(num_stages):
        for p in set(group_process):
            local = [g for g in range(n) if group_process[g] == p]
            wrong = [g for g in local if not right[g] and rescue_stage[g] != "solvable"]
            if not wrong:
                continue  # updated_inputs == -1: the ids of the last rebuild stay
            for g in wrong:
                completion_stage[g] = s
                right[g] = rescue_stage[g] is not None and s >= rescue_stage[g]
            for g in local:
                prompt[g] = "q*" if g in wrong else "q"
    return [(prompt[g], completion_stage[g]) for g in range(n)]


def ours(rescue_stage, group_process, num_stages=3):
    n = len(rescue_stage)
    round0 = [[1.0, 0.0] if r == "solvable" else [0.0, 0.0] for r in rescue_stage]
    planner = GuidancePlanner(round0, [True] * n, lambda g: list(PLAN), [f"p{g}" for g in range(n)], num_stages,
                              GuidanceBudget())
    for jobs in planner.rounds():
        for g, s in jobs:
            ok = rescue_stage[g] is not None and s >= rescue_stage[g]
            planner.record(g, s, [1.0 if ok else 0.0, 0.0])
    outcome = planner.finish()
    rows = plan_loss_rows(outcome.trained_stage, n, 2, "official",
                          last_stage=last_sampled_stage(planner.triggers, group_process))
    return [("q" if rows[2 * g].stage is None or rows[2 * g].prompt == "original" else "q*", rows[2 * g].stage)
            for g in range(n)]


@pytest.mark.parametrize("rescue_stage, group_process", [
    ([0, 1, None, "solvable"], [0, 0, 0, 0]),  # one group reaches 0.75: the earlier rescues train under q
    ([0, 1, 1, "solvable"], [0, 0, 0, 0]),  # the last stage that ran is 0.5: its rescues keep q*
    ([0, 0, "solvable"], [0, 0, 0]),  # everything rescued at 0.25: q* (no later rebuild)
    ([0, None, 1, 0], [0, 0, 1, 1]),  # two processes: each rebuilds on its own groups
    ([2, 0, "solvable", 1], [0, 1, 1, 0]),
    (["solvable", "solvable"], [0, 1]),  # nothing hard: plain GRPO everywhere
])
def test_official_rule_matches_the_official_loop(rescue_stage, group_process):
    expected = [(p, s) if s is not None else ("q", None) for p, s in official_oracle(rescue_stage, group_process)]
    assert ours(rescue_stage, group_process) == expected


def test_last_sampled_stage_is_per_process():
    assert last_sampled_stage({0: {0: [0.0]}, 2: {0: [0.0], 1: [0.0], 2: [0.0]}}, [0, 0, 1, 1]) == {0: 0, 1: 0, 2: 2, 3: 2}


# --- build_loss_view: the ids, log-probs and reward prefix one row hands to TRL ---------------------------------
Q_IDS, HINT_IDS, Y_IDS = [1, 2, 3], [7, 8], [20, 21, 22]
OWN = _Sample("Q", Q_IDS, [30, 31], [-0.5, -0.6], "own answer", 0.0)
HINTED = _Sample("Q+h", Q_IDS + HINT_IDS, Y_IDS, [-0.1, -0.2, -0.3], "the rest", 1.0)
OPENING = "S1 alpha\n"


def _nan_mask(logprobs):
    return [math.isnan(v) for v in logprobs]


def test_view_unhinted_row_is_untouched():
    v = build_loss_view(LossRow(), OWN, None, None)
    assert (v.prompt_ids, v.completion_ids, v.logprobs, v.response_prefix, v.behaviour_prompt_ids,
            v.copied_tokens) == (Q_IDS, [30, 31], [-0.5, -0.6], "", None, 0)


def test_view_hinted_is_what_was_sampled():
    v = build_loss_view(LossRow(0), OWN, HINTED, OPENING)
    assert (v.prompt, v.prompt_ids, v.completion_ids, v.logprobs) == ("Q+h", Q_IDS + HINT_IDS, Y_IDS, [-0.1, -0.2, -0.3])
    assert v.response_prefix == OPENING and v.behaviour_prompt_ids is None


def test_view_original_trains_y_under_q_with_no_sampling_logprobs():
    v = build_loss_view(LossRow(0, "original"), OWN, HINTED, OPENING)
    assert (v.prompt, v.prompt_ids, v.completion_ids, v.completion) == ("Q", Q_IDS, Y_IDS, "the rest")
    assert _nan_mask(v.logprobs) == [True] * 3  # sampled under q + h: no importance ratio against q's context
    assert v.behaviour_prompt_ids == Q_IDS + HINT_IDS  # for the Guide correction
    assert v.response_prefix == OPENING  # rewards grade the whole answer that was sampled


def test_view_original_of_a_reroll_sample_stays_on_policy():
    reroll = _Sample("Q", Q_IDS, Y_IDS, [-0.1, -0.2, -0.3], "again", 1.0)
    v = build_loss_view(LossRow(0, "original"), OWN, reroll, None)
    assert v.logprobs == [-0.1, -0.2, -0.3] and v.behaviour_prompt_ids is None and v.response_prefix == ""


@pytest.mark.parametrize("completion, expected", [
    ("the rest", "S1 alpha\nthe rest"),
    ([{"role": "assistant", "content": "the rest"}], [{"role": "assistant", "content": "S1 alpha\nthe rest"}]),
])
def test_view_imitate_trains_the_hint_as_the_answers_opening(completion, expected):
    hinted = _Sample("Q+h", Q_IDS + HINT_IDS, Y_IDS, [-0.1, -0.2, -0.3], completion, 1.0)
    v = build_loss_view(LossRow(0, "original", True), OWN, hinted, OPENING)
    assert v.prompt == "Q" and v.prompt_ids == Q_IDS and v.completion_ids == HINT_IDS + Y_IDS
    assert v.prompt_ids + v.completion_ids == hinted.prompt_ids + hinted.completion_ids  # exactly what was sampled
    assert _nan_mask(v.logprobs) == [True, True, False, False, False] and v.logprobs[2:] == [-0.1, -0.2, -0.3]
    assert v.completion == expected and v.response_prefix == ""  # the completion holds the opening now
    assert v.behaviour_prompt_ids is None  # y's context q + h + y_<t is the one it was sampled in
    assert v.copied_tokens == 2  # the hint's tokens: copied, not sampled (the Guide correction's behaviour prob 1)


def test_view_imitate_splits_at_the_common_prefix_when_tokenisation_merges():
    merged = _Sample("Q+h", [1, 2, 99, 8], Y_IDS, None, "the rest", 1.0)  # the hint's first token merged with q's last
    v = build_loss_view(LossRow(0, "original", True), OWN, merged, OPENING)
    assert (v.prompt_ids, v.completion_ids, v.logprobs) == ([1, 2], [99, 8] + Y_IDS, None)
    assert v.copied_tokens == 2
    assert split_imitation(Q_IDS, Q_IDS) == 3


@pytest.mark.parametrize("kwargs, message", [
    (dict(hint_training="imitate", hint_keep_unhinted=1), "hint_placement='response'"),
    (dict(hint_training="imitate", hint_placement="response"), "hint_keep_unhinted"),
    (dict(hint_off_policy_correction="guide"), "needs hint_training='original', 'official' or 'imitate'"),
    (dict(hint_training="imitate", hint_placement="response", hint_keep_unhinted=1, hint_off_policy_correction="guide",
          importance_sampling_level="sequence"), "a sequence-level ratio"),
    (dict(hint_training="imitate", hint_placement="response", hint_keep_unhinted=1, hint_off_policy_correction="guide",
          loss_type="vespo"), "a sequence-level ratio"),
    (dict(hint_training="copy"), "hint_training must be one of"),
    (dict(hint_off_policy_correction="luffy"), "hint_off_policy_correction must be one of"),
    (dict(hint_schedule="reference", hint_keep_unhinted=1), "leave hint_training='hinted' and hint_keep_unhinted=0"),
    (dict(hint_schedule="reference", hint_ratios=[0.5]), "uses the whole solution"),
])
def test_mode_config_errors_say_how_to_fix(tmp_path, kwargs, message):
    with pytest.raises(ValueError, match=message):
        GHPOConfig(output_dir=str(tmp_path), num_generations=2, per_device_train_batch_size=2, use_cpu=True, **kwargs)
