"""One organism arm x seed trained for real on a tiny random model (seconds): the token budget and the counts."""

import dataclasses

import pytest

from ghpo.organism.budget import arms_table


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    import torch

    from ghpo.organism import WarmStartSettings, build_char_tokenizer, build_model, make_rows
    from ghpo.organism.budget import QUICK

    torch.set_num_threads(1)
    tok = build_char_tokenizer()
    model_dir = tmp_path_factory.mktemp("tiny")
    build_model(WarmStartSettings(hidden_size=16, layers=1, heads=2), tok).save_pretrained(model_dir)
    tok.save_pretrained(model_dir)
    budget = dataclasses.replace(QUICK, steps=4, eval_every=2, max_completion_length=16, prompts_per_step=2,
                                 num_generations=2, avg_k=1)
    return str(model_dir), make_rows(8, ["5x1"], seed=1), make_rows(3, ["3x1", "4x1", "5x1"], seed=2), budget


@pytest.mark.parametrize("arm", ["grpo", "staged"])
def test_an_arm_runs_to_a_token_budget_and_counts_hint_prefill(tiny, arm):
    from ghpo.organism.runs import MAX_STEPS_WITH_TOKEN_BUDGET, train_arm

    model_dir, train, held_out, budget = tiny
    # a random policy: every group all wrong, so staged samples every hint stage
    per_step = budget.prompts_per_step * budget.num_generations * budget.max_completion_length
    max_tokens = int(5.5 * per_step)  # more steps than budget.steps would give (a completion may end early)
    r = train_arm(model_dir, train, held_out, budget, 0, arm, max_tokens=max_tokens, label=f"{arm}@test")
    tokens = r["tokens_by_step"]
    assert r["arm"] == f"{arm}@test" and r["base_arm"] == arm and r["max_tokens"] == max_tokens
    assert tokens[-2] < max_tokens <= tokens[-1] and r["steps"] == len(tokens) - 1
    assert r["steps"] < budget.steps * MAX_STEPS_WITH_TOKEN_BUDGET
    assert r["evals"][-1]["step"] == r["steps"] and r["evals"][-1]["tokens"] == r["sampled_tokens"]
    rounds0 = budget.prompts_per_step * budget.num_generations * r["steps"]
    if arm == "grpo":
        assert r["hint_prefill_tokens"] == 0 and r["sampled_completions"] == rounds0
    else:
        assert r["hint_prefill_tokens"] > 0 and r["sampled_completions"] > rounds0
        assert r["sampled_completions"] == rounds0 + budget.num_generations * r["groups"]["hinted_groups"]
    assert [e["tokens_with_hints"] - e["tokens"] for e in r["evals"]][-1] == r["hint_prefill_tokens"]
    assert "valid@1/5x1" in r["evals"][-1] and "problems/avg@1/5x1" in r["evals"][-1]


@pytest.mark.parametrize("arm", ["grpo+dynamic", "grpo+skip", "grpo+dynamic+skip"])
def test_issue_29_arms_run_and_count_every_sampled_token(tiny, arm):
    from ghpo.organism.runs import train_arm

    model_dir, train, held_out, budget = tiny
    r = train_arm(model_dir, train, held_out, budget, 0, arm)
    per_batch = budget.prompts_per_step * budget.num_generations
    batches = [h["ghpo/gen_batches"] for h in r["log"]]
    # counted where generation happens: every generation batch's completions, refills included
    assert r["sampled_completions"] == per_batch * sum(batches)
    assert r["evals"][-1]["tokens"] == r["sampled_tokens"] == r["tokens_by_step"][-1]
    if "dynamic" in arm:  # a random policy: every group all wrong, refilled until the cap
        assert batches == [4.0] * budget.steps and all(h["ghpo/groups_unfilled"] > 0 for h in r["log"])
    else:
        assert batches == [1.0] * budget.steps
    assert ("ghpo/greso_p_hard" in r["log"][-1]) == ("skip" in arm)


@pytest.mark.parametrize("arm", sorted(arms_table()))
def test_every_arm_is_a_valid_config_at_the_benchmarks_budget(tmp_path, arm):
    """An arm whose settings GHPOConfig refuses would fail only when its ladder part starts, hours into a chain."""
    from ghpo.organism.budget import Budget
    from ghpo.organism.runs import _config

    args = _config(Budget(), 0, str(tmp_path), **arms_table()[arm])
    assert args.num_generations > args.hint_keep_unhinted
    for key, value in arms_table()[arm].items():
        assert getattr(args, key) == value, key
