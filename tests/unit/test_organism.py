"""The organism's task generator and char tokenizer (fast, no model)."""

import json
import math
import re

import pytest

from ghpo.guidance import cut_hint, render_hinted_prompt
from ghpo.organism import (
    EASY_LEVELS,
    HARD_LEVELS,
    HINT_TEMPLATE,
    ORGANISM_LEVELS,
    WarmStartSettings,
    build_char_tokenizer,
    level_steps,
    make_rows,
    score_boxed,
)
from ghpo.organism.tokenizer import CHARS

EXPR = re.compile(r"^Calculate ([0-9+\-* ]+)\.\n$")


@pytest.fixture(scope="module")
def rows():
    return make_rows(60 * len(ORGANISM_LEVELS), ORGANISM_LEVELS, seed=3)


def test_rows_follow_the_data_contract(rows):
    for r in rows:
        assert set(r) == {"prompt", "solution", "solution_hint", "id", "level"}
        assert EXPR.match(r["prompt"]), r["prompt"]
        assert r["solution_hint"].endswith(f"\\boxed{{{r['solution']}}}")
    assert len({r["id"] for r in rows}) == len(rows)


def test_gold_answer_is_the_value_of_the_expression(rows):
    # Independent of the solution text and of ghpo.arith: Python evaluates the printed expression.
    for r in rows:
        assert int(r["solution"]) == eval(EXPR.match(r["prompt"]).group(1))  # noqa: S307 - digits and + - * only


def test_every_scratchpad_line_keeps_the_value_and_does_one_operation(rows):
    # Each line rewrites the remaining expression: it still evaluates to the answer and has one operator fewer.
    for r in rows:
        expr = EXPR.match(r["prompt"]).group(1)
        *lines, answer = r["solution_hint"].split("\n")
        ops = lambda e: len(re.findall(r"(?<=\d) [+-] ", e))  # noqa: E731 - binary operators, not a leading minus
        previous = ops(expr)
        for line in lines:
            assert line.startswith("= "), line
            assert eval(line[2:]) == int(r["solution"]), (expr, line)  # noqa: S307
            assert ops(line[2:]) == previous - 1, (expr, line)
            previous -= 1
        assert lines[-1] == f"= {r['solution']}" and answer == f"\\boxed{{{r['solution']}}}"


def test_difficulty_is_monotone_in_steps(rows):
    steps = [level_steps(level) for level in ORGANISM_LEVELS]
    assert steps == sorted(steps) and steps[0] < steps[-1]
    for r in rows:
        assert r["solution_hint"].count("\n") == level_steps(r["level"])  # one line per step + the answer line
    assert max(map(level_steps, EASY_LEVELS)) < min(map(level_steps, HARD_LEVELS))


def test_rows_are_reproducible_and_exclusion_holds(rows):
    again = make_rows(len(rows), ORGANISM_LEVELS, seed=3)
    assert again == rows
    other = make_rows(100, ORGANISM_LEVELS, seed=4, exclude=[r["prompt"] for r in rows])
    assert not {r["prompt"] for r in other} & {r["prompt"] for r in rows}


def test_hinted_prompt_is_a_prefix_of_the_worked_solution(rows):
    # Template "{hint}": for every unit and ratio, q* is a prefix of prompt + worked solution (what SFT taught).
    tok = build_char_tokenizer()

    def offsets(text):
        return tok(text, add_special_tokens=False, return_offsets_mapping=True)["offset_mapping"]

    for r in rows:
        for unit in ("token", "step", "char"):
            for ratio in (0.25, 0.5, 0.75):
                hint = cut_hint(r["solution_hint"], ratio, unit=unit, token_offsets=offsets if unit == "token" else None)
                hinted = render_hinted_prompt(r["prompt"], hint, HINT_TEMPLATE)
                assert (r["prompt"] + r["solution_hint"]).startswith(hinted), (unit, ratio, hinted)
                assert "boxed" not in hinted


def test_hints_on_training_levels_never_state_the_answer(rows):
    # The last scratchpad line "= <answer>" (the step that states it) must never be part of a hint on the levels RL trains on (4x1 and up:
    # with 3 or more steps, a 0.75 cut stops before the last line in every unit).
    tok = build_char_tokenizer()

    def offsets(text):
        return tok(text, add_special_tokens=False, return_offsets_mapping=True)["offset_mapping"]

    checked = 0
    for r in rows:
        if level_steps(r["level"]) < 3:
            continue
        for unit in ("token", "step", "char"):
            for ratio in (0.25, 0.5, 0.75):
                hint = cut_hint(r["solution_hint"], ratio, unit=unit, token_offsets=offsets if unit == "token" else None)
                # It ends before the last step starts (an intermediate line may be cut to "= 7" of "= 7 + 5 - 5"
                # and so equal the answer by coincidence; that is not the answer step).
                assert len(hint) <= r["solution_hint"].rindex("\n= "), (unit, ratio, r["solution_hint"], hint)
                checked += 1
    assert checked > 100


def test_boxed_accuracy_reward_equals_the_library_accuracy_reward(rows):
    from ghpo.organism import boxed_accuracy_reward
    from ghpo.rewards import accuracy_reward

    completions, golds = [], []
    for r in rows[:40]:
        right = r["solution_hint"]
        wrong = right.replace(f"\\boxed{{{r['solution']}}}", f"\\boxed{{{int(r['solution']) + 1}}}")
        completions += [right, wrong, right.split("\n")[0], f"\\boxed{{{r['solution']}}}"]
        golds += [r["solution"]] * 4
    assert boxed_accuracy_reward(completions, golds) == accuracy_reward(completions, golds)
    assert 0 < sum(boxed_accuracy_reward(completions, golds)) < len(completions)


@pytest.mark.parametrize("text", [
    "Calculate 4 + 8 - 3.\n4 + 8 = 12\n12 - 3 = 9\n\\boxed{9}",
    CHARS,
    "  leading and trailing spaces  \n\n",
    "The following text is the beginning part of the answer: {x}_[y] ~ `z` | $5 @ #",
])
def test_char_tokenizer_round_trips(text, tmp_path):
    tok = build_char_tokenizer()
    ids = tok(text, add_special_tokens=False)["input_ids"]
    assert len(ids) == len(text) and tok.unk_token_id not in ids
    assert tok.decode(ids) == text
    assert tok.decode([*ids, tok.eos_token_id, tok.pad_token_id], skip_special_tokens=True) == text
    tok.save_pretrained(tmp_path)
    from transformers import AutoTokenizer

    loaded = AutoTokenizer.from_pretrained(tmp_path)
    assert loaded(text, add_special_tokens=False)["input_ids"] == ids and loaded.decode(ids) == text
    assert loaded.padding_side == "left"


def test_char_tokenizer_offsets_are_characters():
    tok = build_char_tokenizer()
    enc = tok("12 + 3", add_special_tokens=False, return_offsets_mapping=True)
    assert enc["offset_mapping"] == [(i, i + 1) for i in range(6)]
    assert len(tok) <= 128


@pytest.mark.parametrize("completion, gold, expected", [
    ("4 + 8 = 12\n\\boxed{12}", "12", 1.0),
    ("\\boxed{-3}", "-3", 1.0),
    ("\\boxed{3}\n\\boxed{4}", "3", 0.0),  # the last box counts
    ("12", "12", 0.0),
    ("\\boxed{12", "12", 0.0),
])
def test_score_boxed(completion, gold, expected):
    assert score_boxed(completion, gold) == expected


def test_render_solution_rejects_multiplication():
    from ghpo.arith import ArithProblem
    from ghpo.organism.task import render_solution

    with pytest.raises(ValueError, match="\\+ and -"):
        render_solution(ArithProblem("3x1m", (2, 3, 4), ("+", "*"), 14, ()))


def test_warm_start_key_changes_with_any_setting():
    base = WarmStartSettings()
    assert base.key() == WarmStartSettings().key()
    assert base.key() != WarmStartSettings(sft_steps=base.sft_steps + 1).key()
    assert base.key() != WarmStartSettings(sft_levels=("2x1",)).key()


def test_balance_levels_gives_every_level_the_same_share():
    from ghpo.organism.warmstart import balance_levels

    rows = make_rows(1000, EASY_LEVELS, seed=0)  # 2x1 runs out of distinct problems (162), the others fill in
    counts = {lv: sum(r["level"] == lv for r in rows) for lv in EASY_LEVELS}
    assert counts["2x1"] < counts["3x1"]
    balanced = balance_levels(rows, seed=0)
    after = {lv: sum(r["level"] == lv for r in balanced) for lv in EASY_LEVELS}
    assert set(after.values()) == {max(counts.values())}
    # every original row is kept, the small level's are repeated, nothing new is invented
    assert {r["prompt"] for r in balanced} == {r["prompt"] for r in rows}
    assert balance_levels(rows, seed=0) == balanced


def test_warm_start_held_out_set_is_disjoint_from_sft_rows():
    from ghpo.organism import eval_rows

    from ghpo.organism.warmstart import sft_rows

    s = WarmStartSettings(sft_rows=3000, sft_glimpse=(("5x1", 40),))
    held = eval_rows(s.eval_levels, s.eval_per_level)
    sft = sft_rows(s)
    assert not {r["prompt"] for r in held} & {r["prompt"] for r in sft}
    assert all(sum(r["level"] == lv for r in held) == s.eval_per_level for lv in s.eval_levels)
    # the glimpse adds exactly its rows of a level SFT otherwise never sees, and the rest stays balanced
    counts = {lv: sum(r["level"] == lv for r in sft) for lv in ("2x1", "3x1", "4x1", "5x1")}
    assert counts["5x1"] == 40 and len({counts[lv] for lv in s.sft_levels}) == 1
    assert WarmStartSettings(sft_rows=3000).key() != s.key()


@pytest.mark.parametrize("text, gold, expected", [
    ("= 8 - 2 + 4\n= 6 + 4\n= 10\n\\boxed{10}", "10", True),
    ("= 6 + 2 + 4\n= 6 + 4\n= 10\n\\boxed{10}", "10", False),  # a wrong first step, a lucky box
    ("= -7 + 1\n= -6\n\\boxed{-6}", "-6", True),
    ("= 00 + 1\n= 1", "1", False),  # malformed number
    ("\\boxed{10}", "10", False),  # no steps at all
])
def test_valid_scratchpad(text, gold, expected):
    from ghpo.organism import valid_scratchpad

    assert valid_scratchpad(text, gold) is expected


def test_stepwise_reward_pays_right_steps_only_and_reads_the_hint():
    from ghpo.organism import boxed_accuracy_reward, stepwise_accuracy_reward

    row = make_rows(1, ["4x1"], seed=3)[0]
    worked, gold, prompt = row["solution_hint"], row["solution"], row["prompt"]
    first, rest = worked.split("\n", 1)
    lucky = "= 0 + 0 + 0\n" + rest  # wrong first line, right box
    assert stepwise_accuracy_reward([worked, lucky], [gold, gold], prompts=[prompt, prompt]) == [1.0, 0.0]
    assert boxed_accuracy_reward([worked, lucky], [gold, gold]) == [1.0, 1.0]
    # A hint that ends inside a line: the hint and its continuation are one line, checked together.
    cut = len(first) - 2
    hinted = prompt + worked[:cut]
    assert stepwise_accuracy_reward([worked[cut:]], [gold], prompts=[hinted]) == [1.0]
    assert stepwise_accuracy_reward([worked[cut:].replace("\n", " + 1\n", 1)], [gold], prompts=[hinted]) == [0.0]
    # a right box with no working at all is not paid
    assert stepwise_accuracy_reward([f"\\boxed{{{gold}}}"], [gold], prompts=[prompt]) == [0.0]


def test_hint_dependence_eval_cuts_as_the_trainer_and_scores_the_hard_level():
    """evaluate_policy with hint ratios: the prompt gets the first w of the worked solution (last-step rule), and
    accuracy is reported per hinted level next to the no-hint numbers."""
    from ghpo.organism.evaluate import evaluate_policy

    rows = make_rows(4, ["5x1"], seed=3)

    class Echo:
        """A 'model' whose greedy answer is right exactly when the prompt carries a hint."""

    seen = []

    def fake_generate(model, tokenizer, prompts, max_new_tokens, **kw):
        seen.append(list(prompts))
        return [f"\\boxed{{{next(r['solution'] for r in rows if p.startswith(r['prompt']))}}}"
                if p.count("\n") > 1 else "\\boxed{0}" for p in prompts]

    import ghpo.organism.evaluate as ev

    original, ev.generate = ev.generate, fake_generate
    try:
        out = evaluate_policy(Echo(), None, rows, 64, hint_ratios=(0.5,), hint_levels=("5x1",))
    finally:
        ev.generate = original
    assert out["greedy/5x1"] == 0.0 and out["hint@0.5/greedy/5x1"] == 1.0
    hinted = seen[-1]
    assert all(p.startswith(r["prompt"]) and r["solution_hint"].startswith(p[len(r["prompt"]):])
               for p, r in zip(hinted, rows))
    assert not any("\\boxed" in p for p in hinted)


def test_seeded_evaluation_leaves_the_global_rng_alone_and_repeats():
    """Issue 28: an evaluation inside training must not reseed the RNG stream training continues with, and the same
    seed must give the same evaluation."""
    import torch

    from ghpo.organism import build_model
    from ghpo.organism.evaluate import evaluate_policy

    tok = build_char_tokenizer()
    model = build_model(WarmStartSettings(hidden_size=16, layers=1, heads=2), tok)
    rows = make_rows(3, ["3x1"], seed=5)
    torch.manual_seed(1234)
    before = torch.get_rng_state()
    first = evaluate_policy(model, tok, rows, 8, k=2, seed=7)
    assert torch.equal(torch.get_rng_state(), before)
    torch.manual_seed(999)  # another global state: the evaluation depends on its seed only
    assert evaluate_policy(model, tok, rows, 8, k=2, seed=7) == first


@pytest.mark.parametrize("texts, boxed, valid", [
    # per problem: k = 2 samples; the gold of each row is right, a lucky box after wrong steps, or wrong
    (("right", "right"), 2, 2),
    (("right", "lucky"), 2, 1),
    (("lucky", "wrong"), 1, 0),
    (("wrong", "wrong"), 0, 0),
])
def test_evaluation_scores_the_trained_skill_beside_the_box_and_records_problems(monkeypatch, texts, boxed, valid):
    """valid@k scores held-out samples by the training reward's rule (every line right); per-problem counts out of k
    are kept for the bootstrap; the old keys stay as they were."""
    import ghpo.organism.evaluate as ev

    rows = make_rows(2, ["4x1"], seed=3)

    def completion(kind, row):
        lines = row["solution_hint"]
        if kind == "lucky":
            return "= 0 + 0 + 0\n" + lines.split("\n", 1)[1]
        return lines if kind == "right" else lines.replace(f"\\boxed{{{row['solution']}}}", "\\boxed{100000}")

    def fake_generate(model, tokenizer, prompts, max_new_tokens, do_sample=False, **kw):
        reps = 2 if do_sample else 1
        # problem 0 gets ``texts``; problem 1 is always right (greedy: the first kind)
        kinds = [texts[: reps], ("right",) * reps]
        return [completion(kind, rows[i]) for i in range(len(rows)) for kind in kinds[i]]

    monkeypatch.setattr(ev, "generate", fake_generate)
    out = ev.evaluate_policy(None, None, rows, 64, k=2)
    assert out["problems/avg@2/4x1"] == [boxed, 2] and out["problems/valid@2/4x1"] == [valid, 2]
    assert out["avg@2/4x1"] == (boxed + 2) / 4 and out["valid@2/4x1"] == (valid + 2) / 4
    greedy_box, greedy_valid = int(texts[0] != "wrong"), int(texts[0] == "right")
    assert out["problems/greedy/4x1"] == [greedy_box, 1] and out["problems/valid_greedy/4x1"] == [greedy_valid, 1]
    assert out["greedy/4x1"] == (greedy_box + 1) / 2 and out["valid_greedy/all"] == (greedy_valid + 1) / 2


@pytest.mark.parametrize("tokens, max_tokens, stops", [
    (0, None, False), (10**9, None, False),  # no budget: the step count rules
    (99, 100, False), (100, 100, True), (130, 100, True),
])
def test_a_run_to_a_token_budget_stops_at_the_first_step_that_reaches_it(tokens, max_tokens, stops):
    from types import SimpleNamespace

    from ghpo.organism.runs import TokenBudgetStop, token_budget_reached

    assert token_budget_reached(tokens, max_tokens) is stops
    control = SimpleNamespace(should_training_stop=False)
    TokenBudgetStop(max_tokens, tokens=lambda: tokens).on_step_end(None, None, control)
    assert control.should_training_stop is stops


@pytest.mark.parametrize("until, max_tokens, expected", [
    (None, None, None),  # a step-count run
    (None, 1234, 1234),
    ("staged", None, 200),  # staged's mean total over its seeds
    ("reroll", None, 301),
])
def test_token_target_is_a_plain_count_or_the_named_arms_mean_total(until, max_tokens, expected):
    from ghpo.organism.budget import token_budget_label, token_target

    runs = [{"arm": "staged", "sampled_tokens": t} for t in (180, 220)] + [{"arm": "reroll", "sampled_tokens": 301}]
    runs += [{"arm": "grpo", "sampled_tokens": 100}]
    assert token_target(runs, until, max_tokens) == expected
    if expected is not None:
        assert token_budget_label("grpo", until, max_tokens) == f"grpo@{until or max_tokens}"
    with pytest.raises(ValueError, match="no 'fixed-0.5' runs"):
        token_target(runs, "fixed-0.5")


def test_ladder_passes_a_token_budget_to_the_compare_part_and_resumes_by_its_label(tmp_path, monkeypatch):
    import importlib.util
    import json
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    spec = importlib.util.spec_from_file_location("organism_ladder", root / "benchmarks" / "organism_ladder.py")
    ladder = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(ladder)
    calls = []
    monkeypatch.setattr(ladder, "_compare_main", lambda: calls.append)
    monkeypatch.setattr(ladder, "rung_summary", lambda saved: None)
    monkeypatch.setattr(ladder, "write_ladder", lambda *a: None)
    rung = tmp_path / "glimpse600"
    rung.mkdir()
    runs = [{"arm": arm, "seed": s} for arm in ("grpo", "staged") for s in (0, 1)]
    (rung / "organism_results.json").write_text(json.dumps({"budget": {"seeds": [0, 1]}, "runs": runs,
                                                             "parts": [{"part": "gates"}]}))
    argv = ["--glimpses", "600", "--out", str(tmp_path), "--part", "compare", "--arms", "grpo", "--until-tokens-of", "staged"]
    ladder.main(argv)
    assert len(calls) == 1 and calls[0][:5] == ["--part", "compare", "--force", "--arms", "grpo"]
    assert calls[0][5:7] == ["--until-tokens-of", "staged"]
    runs += [{"arm": "grpo@staged", "seed": s} for s in (0, 1)]  # done: resumed by its label, not run again
    (rung / "organism_results.json").write_text(json.dumps({"budget": {"seeds": [0, 1]}, "runs": runs,
                                                             "parts": [{"part": "gates"}]}))
    calls.clear()
    ladder.main(argv)
    assert calls == []


# issue 28: the statistics of the ladder (synthetic records, no model)
def _evals(points, problems=None, k=8, levels=("3x1", "4x1", "5x1")):
    """Evaluation records at (step, tokens, accuracy) ``points``; ``problems``: per point, the 5x1 counts out of k
    per problem (their mean is then the accuracy)."""
    out = []
    for i, (step, tokens, acc) in enumerate(points):
        rec = {"step": step, "tokens": tokens}
        for prefix in ("greedy", f"avg@{k}"):
            rec.update({f"{prefix}/{lv}": acc for lv in levels})
        if problems is not None:
            rec[f"problems/avg@{k}/5x1"] = problems[i]
            rec[f"avg@{k}/5x1"] = sum(problems[i]) / (k * len(problems[i]))
        out.append(rec)
    return out


def _arm_run(arm, seed, points, problems=None, log=None, **extra):
    return {"arm": arm, "seed": seed, "evals": _evals(points, problems), "sampled_tokens": points[-1][1],
            "log": log or [{} for _ in range(points[-1][0])], "groups": {"hinted_groups": 0}, **extra}


@pytest.mark.parametrize("diffs, spans_zero", [
    ([[0.1, 0.2, 0.3]] * 4, False),  # every seed and problem better
    ([[-0.2, 0.2]] * 5, True),  # the problems disagree: no difference
    ([[0.3, -0.1], [0.3, -0.1], [0.3, -0.1]], True),  # seeds agree exactly, problems do not: seeds alone would say 'better'
])
def test_seed_by_problem_bootstrap_carries_problem_noise(diffs, spans_zero):
    from ghpo.report import bootstrap_paired, mean_ci95

    mean, lo, hi, p = bootstrap_paired(diffs, n_boot=500, seed=3)
    assert mean == pytest.approx(sum(map(sum, diffs)) / sum(map(len, diffs)))
    assert lo <= mean <= hi and (lo <= 0 <= hi) is spans_zero and (p > 0.05) is spans_zero
    assert bootstrap_paired(diffs, n_boot=500, seed=3) == (mean, lo, hi, p)  # a fixed seed repeats
    seeds_only = mean_ci95([sum(d) / len(d) for d in diffs])
    if len({sum(d) for d in diffs}) == 1:  # the seeds' t-interval has no width where only problems vary
        assert seeds_only[1] == 0 and hi - lo > 0
    with pytest.raises(ValueError):
        bootstrap_paired([[0.1, 0.2], [0.3]])


def _budget():
    from ghpo.organism.budget import Budget

    return Budget(prompts_per_step=2, num_generations=4)


@pytest.mark.parametrize("budget_name, tokens, at, staged_minus_grpo", [
    # grpo reaches 100 tokens at its end (acc 0.2); staged: 0.1 at 0, 0.3 at 100, 0.5 at 200 tokens
    ("end", "sampled", None, 0.5 - 0.2),
    ("grpo", "sampled", 100, 0.3 - 0.2),  # GRPO's total
    ("common", "sampled", 100, 0.3 - 0.2),  # the smaller of the pair's totals is GRPO's again
    # with hint prefill: staged read 50 hint tokens per step (exact records): it reaches GRPO's 100 tokens sooner
    ("grpo", "with_hints", 100, 0.1 + 0.2 * 100 / 150 - 0.2),
])
def test_paired_difference_reads_each_budget_by_interpolation_in_tokens(budget_name, tokens, at, staged_minus_grpo):
    from ghpo.organism.paired import Comparison, paired_difference

    runs = []
    for s in range(3):
        runs.append(_arm_run("grpo", s, [(0, 0, 0.1), (1, 50, 0.15), (2, 100, 0.2)]))
        staged = _arm_run("staged", s, [(0, 0, 0.1), (1, 100, 0.3), (2, 200, 0.5)])
        for e, h in zip(staged["evals"], (0, 50, 100)):
            e["tokens_with_hints"] = e["tokens"] + h
        runs.append(staged)
    row = paired_difference(Comparison("staged", "grpo", "hard/sampled", budget_name, tokens=tokens), runs, _budget())
    assert row["at_tokens"] == at and row["seeds"] == [0, 1, 2] and row["method"] == "seeds only"
    assert row["mean"] == pytest.approx(staged_minus_grpo) and row["per_seed"] == pytest.approx([staged_minus_grpo] * 3)
    # a measure the records lack (valid@k before issue 28) reads n/a, not 0; so does GRPO's total without GRPO
    assert paired_difference(Comparison("staged", "grpo", "hard/valid", budget_name), runs, _budget())["method"] == "n/a"
    no_grpo = [dict(r, arm="reroll") if r["arm"] == "grpo" else r for r in runs]
    row = paired_difference(Comparison("staged", "reroll", "hard/sampled", budget_name), no_grpo, _budget())
    assert (row["method"] == "n/a") is (budget_name == "grpo")


def test_paired_difference_bootstraps_over_problems_where_recorded():
    from ghpo.organism.paired import Comparison, paired_difference

    runs = []
    for s in range(4):  # staged gets 2 more right of 8 on problem 0, the same on the other three, every seed
        runs.append(_arm_run("grpo", s, [(0, 0, 0), (2, 100, 0)], problems=[[1, 2, 3, 4], [1, 2, 3, 4]]))
        runs.append(_arm_run("staged", s, [(0, 0, 0), (2, 300, 0)], problems=[[1, 2, 3, 4], [5, 2, 3, 4]]))
    row = paired_difference(Comparison("staged", "grpo", "hard/sampled", "common"), runs, _budget())
    # at GRPO's 100 tokens staged is a third of the way to its end: +4/8 x 1/3 on one problem of four
    assert row["method"] == "seeds x problems" and row["at_tokens"] == 100
    assert row["mean"] == pytest.approx(0.5 / 3 / 4) and row["seeds_t"][0] == pytest.approx(row["mean"])
    assert row["seeds_t"][1] == pytest.approx(0.0) and row["lo"] < row["mean"] < row["hi"]  # problem noise only


@pytest.mark.parametrize("log, exact, prefill", [
    # no exact count: estimated from the logged trained-stage hint length per group, x groups (2) x G (4) per step
    ([{"ghpo/hint_tokens_mean": 1.0}, {"ghpo/hint_tokens_mean": 2.0}], False, [0.0, 8.0, 24.0]),
    ([{}, {}], False, [0.0, 0.0, 0.0]),  # plain GRPO logs none
])
def test_hint_prefill_tokens_are_estimated_from_the_log_for_old_records(log, exact, prefill):
    from ghpo.organism.paired import hint_prefill_by_eval, run_samples, run_total, tokens_axis

    run = _arm_run("staged", 0, [(0, 0, 0.1), (1, 10, 0.1), (2, 30, 0.1)], log=log, groups={"hinted_groups": 3})
    assert hint_prefill_by_eval(run, _budget()) == (prefill, exact)
    assert tokens_axis(run, "with_hints", _budget()) == [t + h for t, h in zip((0, 10, 30), prefill)]
    assert run_total(run, "with_hints", _budget()) == 30 + prefill[-1] and run_total(run, "sampled", _budget()) == 30
    assert run_samples(run, _budget()) == 2 * 2 * 4 + 3 * 4  # steps x B x G + hinted groups x G
    assert run_samples({**run, "sampled_completions": 7}, _budget()) == 7  # counted at the source


@pytest.mark.parametrize("deltas, passes", [
    ((0.05, 0.06, 0.04, 0.05, 0.05), True),  # a consistent 5-point gain: passes (the old gate wanted > 2 SE, ~9 points)
    ((0.02, 0.01, 0.02, 0.01, 0.02), True),
    ((0.05, -0.04, 0.05, -0.04, 0.05), False),  # noisy
    ((-0.01, -0.02, -0.01, -0.02, -0.01), False),
])
def test_health_gate_tests_the_paired_change_against_zero(deltas, passes):
    from ghpo.organism.budget import Budget
    from ghpo.organism.gates import health_gate, health_gate_paired

    runs = [_arm_run("grpo", s, [(0, 0, 0.4), (2, 10, 0.4 + d)]) for s, d in enumerate(deltas)]
    for r in runs:  # the easy levels are kept
        for e in r["evals"]:
            e.update({f"{p}/{lv}": 0.9 for p in ("greedy", "avg@8") for lv in ("3x1", "4x1")})
    new = health_gate_paired(runs, Budget())
    assert new["checks"]["train/sampled"]["pass"] is passes and new["train/sampled"]["method"] == "seeds only"
    assert new["train/sampled"]["per_seed_delta"] == pytest.approx(list(deltas))
    if deltas[0] == 0.05 and passes:  # the old rule compares the change with one level's standard error
        assert not health_gate(runs, Budget(), independent_samples=False)["checks"]["train/sampled"]["pass"]
    forgets = [dict(r, evals=[r["evals"][0], {**r["evals"][1], "avg@8/4x1": 0.8}]) for r in runs]
    assert not health_gate_paired(forgets, Budget())["checks"]["easy/4x1/sampled"]["pass"]


def test_health_gate_bootstraps_per_problem_changes_where_recorded():
    from ghpo.organism.budget import Budget
    from ghpo.organism.gates import health_gate_paired

    # every seed gains on the same one problem of four (+8 of 8), nothing elsewhere: seeds agree, problems do not
    runs = [_arm_run("grpo", s, [(0, 0, 0), (2, 10, 0)], problems=[[0, 0, 0, 0], [8, 0, 0, 0]]) for s in range(5)]
    out = health_gate_paired(runs, Budget())["train/sampled"]
    assert out["method"] == "seeds x problems" and out["mean"] == pytest.approx(0.25)
    assert out["lo"] <= 0  # one lucky problem of four is no gain


def test_shared_problem_draws_keep_the_problem_noise_that_nested_draws_shrink():
    from ghpo.report import bootstrap_paired

    one_problem = [[1.0, 0.0, 0.0, 0.0]] * 5  # every seed gains on the same problem of four
    _, lo_shared, hi_shared, _ = bootstrap_paired(one_problem, n_boot=500)
    _, lo_nested, hi_nested, _ = bootstrap_paired(one_problem, n_boot=500, problems="per_seed")
    assert lo_shared <= 0 < lo_nested and hi_shared - lo_shared > hi_nested - lo_nested
    with pytest.raises(ValueError, match="shared"):
        bootstrap_paired(one_problem, problems="crossed")


def _saved_rung(runs, glimpse=800, signal=0.05):
    from dataclasses import asdict

    from ghpo.organism.budget import Budget

    b = Budget()
    budget = asdict(b.with_glimpse(glimpse))
    return {"budget": json.loads(json.dumps(budget, default=str)), "runs": runs,
            "gates": {"regime": {"all_wrong": 0.9, "rescued_any": 0.8, "pass": True}},
            "probe": {"5x1": {"groups": 96, "all_wrong": 80, "rescued": {}, "never": 10, "mean_correct_unhinted": signal}},
            "warm_start": {"weights_sha256": "ab" * 32}, "parts": []}


def test_ladder_applies_holm_to_the_declared_primary_family_only(tmp_path):
    from ghpo.organism.ladder import ladder_summary, rung_summary, write_ladder
    from ghpo.organism.paired import PRIMARY

    groups = {"level_hard": {}, "level_rescued": {}, "adv_mass_total": 0.0, "adv_mass_rescued": 0.0, "steps": 1,
              "next_visit": {"rescued": [0, 0], "not_rescued": [0, 0]}, "answer_leaks": 0, "hinted_groups": 0}
    runs = []
    for s in range(3):
        for arm, gain, total in (("grpo", 0.0, 100), ("staged", 0.03 + 0.01 * s, 180), ("reroll", 0.01 * s, 200),
                                 ("staged+imitate", 0.05 + 0.01 * s, 190), ("staged+imitate+guide", 0.04, 185)):
            r = _arm_run(arm, s, [(0, 0, 0.1), (1, 100, 0.1 + gain), (2, total, 0.1 + gain)], train_s=1.0, groups=groups,
                         log=[{"frac_reward_zero_std": 0.5}] * 2)
            runs.append(r)
    rungs = ladder_summary([rung_summary(_saved_rung(runs, 800)), rung_summary(_saved_rung(runs, 600, signal=0.01))])
    for r in rungs:
        primary = [row for row in r["comparisons"] if row["comparison"].family == "primary"]
        assert [row["comparison"] for row in primary] == list(PRIMARY)
        assert all(math.isnan(row["p_holm"]) for row in r["comparisons"] if row["comparison"].family != "primary")
    raw = [row["p"] for r in rungs for row in r["comparisons"] if row["comparison"].family == "primary"
           and not math.isnan(row["p"])]
    assert rungs[0]["n_primary"] == len(raw) == 4  # avg@k rows on two rungs; valid@k is not in these records
    from ghpo.report import holm

    expected = holm({f"{i}|{row['name']}": row["p"] for i, r in enumerate(rungs) for row in r["comparisons"]
                     if row["comparison"].family == "primary"})
    assert {f"{i}|{row['name']}": row["p_holm"] for i, r in enumerate(rungs) for row in r["comparisons"]
            if row["comparison"].family == "primary"} == pytest.approx(expected, nan_ok=True)
    reroll = next(row for row in rungs[0]["comparisons"] if row["name"] == "staged - reroll: hard/sampled@common")
    assert reroll["at_tokens"] == 180 and reroll["mean"] == pytest.approx(0.03)  # staged's total, the pair's smaller
    write_ladder(tmp_path, rungs, "cmd")
    text = (tmp_path / "LADDER.md").read_text()
    assert "| stuck (600) | staged+imitate - staged: hard/valid@common | 0.00M | n/a | n/a | - | - |" in text  # not recorded then
    assert (tmp_path / "ladder_curves.png").stat().st_size > 1000 and "seeds only" in text
    # a comparison declared after the primary was read sits in its own exploratory block, never in the Holm family
    late = "| middle (800) | staged+imitate+guide - staged+imitate: hard/sampled@common |"
    assert text.index("added after the primary family was read") < text.index(late)
    assert text.index("**Primary measures") < text.index("added after the primary family was read")


@pytest.mark.parametrize("argv", [
    ["--part", "gates", "--max-tokens", "5"],  # a token budget is for the compare part's arms
    ["--part", "compare", "--max-tokens", "5", "--until-tokens-of", "staged"],  # one budget at a time
])
def test_compare_script_rejects_a_token_budget_outside_the_compare_part(argv, capsys):
    import importlib.util
    from pathlib import Path

    path = Path(__file__).resolve().parents[2] / "benchmarks" / "organism_compare.py"
    spec = importlib.util.spec_from_file_location("organism_compare", path)
    compare = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(compare)
    with pytest.raises(SystemExit) as e:
        compare.main(argv)
    err = capsys.readouterr().err
    assert e.value.code == 2 and ("use them with --part compare" in err or "not allowed with argument" in err)


def test_line_probability_reads_each_scratchpad_line_given_the_lines_before_it():
    """A model that predicts the next character of the reference with probability 0.9 and spreads the rest: every
    token reads 0.9, a line of n characters 0.9 ** n; a model that always predicts '=' makes '=' certain and the
    rest of the line near zero (the least likely token)."""
    import importlib.util
    from pathlib import Path
    from types import SimpleNamespace

    import torch

    from ghpo.organism.tokenizer import build_char_tokenizer

    root = Path(__file__).resolve().parents[2]
    spec = importlib.util.spec_from_file_location("line_probability", root / "benchmarks" / "organism_line_probability.py")
    probe = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(probe)
    tok = build_char_tokenizer()
    row = {"prompt": "Calculate 1 + 2.\n", "solution_hint": "= 3\n\\boxed{3}"}
    ids = tok(row["prompt"] + row["solution_hint"])["input_ids"]
    V = len(tok)

    def knowing(p):
        def model(x):
            logits = torch.full((1, x.shape[1], V), -1e9)
            for t in range(x.shape[1] - 1):  # position t predicts token t + 1 of the reference
                logits[0, t] = math.log((1 - p) / (V - 1))
                logits[0, t, ids[t + 1]] = math.log(p)
            return SimpleNamespace(logits=logits)
        return model

    lines = probe.line_probabilities(knowing(0.9), tok, [row])
    assert list(lines) == [0, 1]
    (mean0, least0, whole0), = lines[0]
    assert mean0 == pytest.approx(0.9) and least0 == pytest.approx(0.9) and whole0 == pytest.approx(0.9 ** 4)  # "= 3\n"
    (_, _, whole1), = lines[1]
    assert whole1 == pytest.approx(0.9 ** len("\\boxed{3}"), rel=1e-5)
    eq = tok("=", add_special_tokens=False)["input_ids"][0]

    def always_eq(x):
        logits = torch.full((1, x.shape[1], V), -30.0)
        logits[0, :, eq] = 0.0
        return SimpleNamespace(logits=logits)

    (mean, least, whole), = probe.line_probabilities(always_eq, tok, [row])[0]
    assert least < 1e-9 and whole < 1e-9 and mean == pytest.approx(1 / 4, abs=1e-6)
