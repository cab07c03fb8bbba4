"""The organism's task generator and char tokenizer (fast, no model)."""

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
