"""GHPO's pure decisions: schedules, hard-group selection, hint cutting, prompt rendering, hint memory."""

import ast
import math
import doctest
import sys

import pytest

from ghpo import guidance
from ghpo.guidance import (
    DEFAULT_HINT_TEMPLATE,
    HintMemory,
    assign_groups_to_processes,
    cut_hint,
    hint_schedule,
    render_hinted_prompt,
    select_hard_groups,
    strip_final_answer,
)

ARITH = "Step 1: 47 + 38 = 85\nStep 2: 85 - 12 = 73\nStep 3: 73 + 9 = 82\nThe final answer is \\boxed{82}."
MATH = (
    "Let $x$ be the number of apples. Then $2x + 3 = 11$, so $2x = 8$. Dividing both sides by 2 gives $x = 4$. "
    "We check: $2 \\cdot 4 + 3 = 11$. Hence the answer is $\\boxed{4}$."
)
GSM = "Tom has 3 bags with 4 apples each.\nSo he has 3 * 4 = 12 apples.\nHe eats 2, leaving 12 - 2 = 10.\n#### 10"
MULTILINE_BOXED = "First, $a = \\frac{1}{2}$.\nThen $b = a^2 = \\frac{1}{4}$.\nSo $a + b = \\boxed{\\frac{3}{4}}$."
SOLUTIONS = [ARITH, MATH, GSM, MULTILINE_BOXED]
FINAL_ANSWERS = ["The final answer", "\\boxed{4}", "#### 10", "\\boxed{\\frac{3}{4}}"]
UNITS = ["token", "step", "sentence", "char"]


def test_module_imports_no_torch():
    tree = ast.parse(open(guidance.__file__).read())
    imported = {n.names[0].name.split(".")[0] for n in ast.walk(tree) if isinstance(n, ast.Import)}
    imported |= {n.module.split(".")[0] for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) and n.module}
    assert not imported & {"torch", "transformers", "trl", "numpy"}, imported


def test_doctests():
    failures, tried = doctest.testmod(sys.modules["ghpo.guidance"])
    assert tried > 0 and failures == 0


@pytest.mark.parametrize(
    "name, ratios, expected",
    [
        ("staged", None, (0.25, 0.5, 0.75)),
        ("fixed", None, (0.5,)),
        ("fixed", [0.3], (0.3,)),
        ("staged", [0.5, 1.0], (0.5, 1.0)),
        ("none", None, ()),
        ("reroll", None, (0.25, 0.5, 0.75)),  # the control runs the stages staged would
    ],
)
def test_hint_schedule(name, ratios, expected):
    assert hint_schedule(name, ratios) == expected


@pytest.mark.parametrize(
    "name, ratios, message",
    [
        ("nope", None, "valid: auto, staged, fixed, reroll, reference, none"),
        ("fixed", [0.25, 0.5], "exactly one ratio"),
        ("staged", [0.5, 0.25], "strictly increasing"),
        ("staged", [0.0], "out of range"),
        ("staged", [1.5], "out of range"),
        ("staged", [], "at least one"),
    ],
)
def test_hint_schedule_errors(name, ratios, message):
    with pytest.raises(ValueError, match=message):
        hint_schedule(name, ratios)


@pytest.mark.parametrize(
    "groups, has_hint, threshold, expected",
    [
        ([[0, 0, 0]], [True], 0.0, [True]),  # all wrong
        ([[0, 1, 0]], [True], 0.0, [False]),  # one right: plain GRPO
        ([[0, None, 0]], [True], 0.0, [False]),  # unscorable: never hard
        ([[0, float("nan"), 0]], [True], 0.0, [False]),
        ([[0, 0, 0]], [False], 0.0, [False]),  # no hint text: nothing to add
        ([[0.4, 0.2]], [True], 0.5, [True]),  # threshold
        ([[0.6, 0.2]], [True], 0.5, [False]),
        ([[0, 0], [1, 1], [0, 0]], [True, True, False], 0.0, [True, False, False]),
    ],
)
def test_select_hard_groups(groups, has_hint, threshold, expected):
    assert select_hard_groups(groups, has_hint, threshold) == expected


@pytest.mark.parametrize(
    "ids, procs, expected",
    [
        ([], 2, [[], []]),
        ([3], 1, [[3]]),
        ([3], 2, [[3], [3]]),
        ([1, 4, 6], 2, [[1, 4], [6, 6]]),
        ([1, 4, 6, 7], 2, [[1, 4], [6, 7]]),
        ([1, 2], 3, [[1], [2], [1]]),
    ],
)
def test_assign_groups_to_processes_balances_whole_groups(ids, procs, expected):
    shards = assign_groups_to_processes(ids, procs)
    assert shards == expected
    assert len({len(s) for s in shards}) == 1
    assert set().union(*map(set, shards)) == set(ids)


@pytest.mark.parametrize("solution, answer", list(zip(SOLUTIONS, FINAL_ANSWERS)))
def test_strip_final_answer_removes_answer(solution, answer):
    body = strip_final_answer(solution)
    assert answer not in body
    assert body and solution.startswith(body)


@pytest.mark.parametrize("unit", UNITS)
@pytest.mark.parametrize("solution, answer", list(zip(SOLUTIONS, FINAL_ANSWERS)))
def test_cut_grows_with_ratio_and_never_contains_answer(solution, answer, unit):
    ratios = [0.0, 0.25, 0.5, 0.75, 1.0]
    cuts = [cut_hint(solution, r, unit=unit) for r in ratios]
    assert cuts[0] == ""
    for shorter, longer in zip(cuts, cuts[1:]):
        assert longer.startswith(shorter) and len(longer) >= len(shorter)
    assert len(cuts[-1]) > len(cuts[1])  # the whole body is longer than a quarter of it
    for c in cuts:
        assert answer not in c and "boxed" not in c
        assert solution.startswith(c)


def test_keep_final_answer_when_asked():
    assert "\\boxed{82}" in cut_hint(ARITH, 1.0, unit="char", keep_final_answer=True)


@pytest.mark.parametrize("ratio", [0.1, 0.25, 0.33, 0.5, 0.75, 0.9])
@pytest.mark.parametrize("solution", SOLUTIONS)
def test_char_unit_is_plain_slicing_up_to_the_answer_step(solution, ratio):
    body = strip_final_answer(solution)
    cap = guidance.answer_step_start(body)
    assert cut_hint(solution, ratio, unit="char") == body[: min(int(len(body) * ratio), cap)]


def _char_offsets(text):  # a worst-case "tokenizer": every character is a token, so cuts land mid-word
    return [(i, i + 1) for i in range(len(text))]


@pytest.mark.parametrize("offsets", [None, _char_offsets])
@pytest.mark.parametrize("ratio", [0.1, 0.2, 0.3, 0.45, 0.5, 0.66, 0.8])
@pytest.mark.parametrize("solution", SOLUTIONS)
def test_token_unit_ends_on_word_boundary(solution, ratio, offsets):
    body = strip_final_answer(solution)
    cut = cut_hint(solution, ratio, unit="token", token_offsets=offsets)
    assert body.startswith(cut)
    end = len(cut)
    assert end == 0 or end == len(body) or body[end].isspace() or body[end - 1].isspace()


def test_token_unit_counts_tokens():
    body = strip_final_answer(ARITH)
    words = body.split()
    cut = cut_hint(ARITH, 0.5, unit="token")  # 7 of 15 words: before the answer step, so not capped
    assert len(cut.split()) == math.floor(0.5 * len(words) + 0.5)  # round half up


def test_step_unit_cuts_whole_lines_and_sentences():
    steps = guidance.split_steps(strip_final_answer(ARITH))
    assert steps == ["Step 1: 47 + 38 = 85", "Step 2: 85 - 12 = 73", "Step 3: 73 + 9 = 82"]
    assert cut_hint(ARITH, 0.34, unit="step") == "Step 1: 47 + 38 = 85"
    assert cut_hint(ARITH, 0.67, unit="step") == "Step 1: 47 + 38 = 85\nStep 2: 85 - 12 = 73"
    assert cut_hint(ARITH, 0.9, unit="step") == "Step 1: 47 + 38 = 85\nStep 2: 85 - 12 = 73"  # never step 3
    sentences = guidance.split_steps(strip_final_answer(MATH))
    assert sentences[0] == "Let $x$ be the number of apples."
    assert all(s.count("$") % 2 == 0 for s in sentences)  # never split inside math


def test_unknown_unit_error():
    with pytest.raises(ValueError, match="valid: token, step, sentence, char"):
        cut_hint(ARITH, 0.5, unit="word")


def test_render_text_prompt():
    out = render_hinted_prompt("What is 2+3?", "Step 1: 2 + 3")
    assert out == "What is 2+3?" + DEFAULT_HINT_TEMPLATE.format(hint="Step 1: 2 + 3")
    assert "beginning part of the answer" in out


def test_render_chat_prompt_appends_to_last_user_message_without_mutating():
    prompt = [
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": "What is 2+3?"},
    ]
    out = render_hinted_prompt(prompt, "Step 1", template="\nHint: {hint}")
    assert out[0] == prompt[0]
    assert out[1] == {"role": "user", "content": "What is 2+3?\nHint: Step 1"}
    assert prompt[1]["content"] == "What is 2+3?"  # input untouched


def test_render_chat_content_blocks_and_errors():
    prompt = [{"role": "user", "content": [{"type": "text", "text": "Q"}]}]
    out = render_hinted_prompt(prompt, "h", template=" {hint}")
    assert out[0]["content"][-1] == {"type": "text", "text": " h"}
    with pytest.raises(ValueError, match="no user message"):
        render_hinted_prompt([{"role": "system", "content": "x"}], "h")
    with pytest.raises(ValueError, match="must contain"):
        render_hinted_prompt("q", "h", template="no placeholder")


def test_hint_memory_round_trip_and_head_start():
    memory = HintMemory()
    assert memory.first_stage("p1") == 0
    memory.update("p1", 2)
    memory.update("p2", 0)
    assert memory.first_stage("p1") == 1 and memory.first_stage("p2") == 0
    restored = HintMemory.from_json(memory.to_json())
    assert restored == memory
    restored.forget("p1")
    assert restored.first_stage("p1") == 0


def test_hint_memory_climbs_across_visits_until_a_rescue():
    memory = HintMemory()
    memory.climb("p", 1)  # stage 0 tried on the last visit, all wrong
    assert memory.first_stage("p", "below") == 1 and memory.first_stage("p", "at") == 1  # untried: no step down
    assert HintMemory.from_json(memory.to_json()) == memory
    memory.update("p", 2)
    assert memory.next_stage == {} and memory.first_stage("p", "below") == 1
    memory.climb("p", 2)
    memory.forget("p")
    assert memory.first_stage("p", "at") == 0
    assert HintMemory.from_json('{"rescued_stage": {"q": 1}}').first_stage("q", "at") == 1  # old checkpoints


def test_visit_stages_caps_the_stages_of_one_visit():
    assert guidance.visit_stages([0, 1, 2], 0) == [0, 1, 2]  # 0: all remaining (the paper)
    assert guidance.visit_stages([0, 1, 2], 1, per_visit=1) == [1]
    assert guidance.visit_stages([0, 2], 1, per_visit=2) == [2]  # a skipped stage is not a stage tried
    assert guidance.visit_stages([0, 1], 2, per_visit=1) == []


def test_problem_key_prefers_id_and_is_stable():
    assert guidance.problem_key("abc", "whatever") == "abc"
    k1 = guidance.problem_key(None, [{"role": "user", "content": "q"}])
    assert k1 == guidance.problem_key("", [{"role": "user", "content": "q"}])
    assert k1 != guidance.problem_key(None, [{"role": "user", "content": "q2"}])


# -- No leak: a hint never holds the step that states the answer (issue 9) -------------------------------------
ONE_STEP = "Step 1: 85 + 79 = 164\nThe final answer is \\boxed{164}."
ORGANISM_V2 = "4 + 8 = 12\n12 - 3 = 9\n\\boxed{9}"
SCRATCHPAD = "= 12 - 3 + 5\n= 9 + 5\n= 14\n\\boxed{14}"
GSM8K = (
    "Natalia sold 48/2 = <<48/2=24>>24 clips in May.\n"
    "Natalia sold 48+24 = <<48+24=72>>72 clips altogether in April and May.\n#### 72"
)
LEAKS = [(ONE_STEP, "164"), (ORGANISM_V2, "9"), (SCRATCHPAD, "14"), (GSM8K, "72"), (ARITH, "82"), (GSM, "10")]


@pytest.mark.parametrize("unit", UNITS)
@pytest.mark.parametrize("ratio", [0.25, 0.5, 0.75, 0.9, 0.99])
@pytest.mark.parametrize("solution, answer", LEAKS)
def test_hint_never_holds_the_answer_step(solution, answer, ratio, unit):
    cut = cut_hint(solution, ratio, unit=unit, token_offsets=_char_offsets if unit == "token" else None)
    last_step = guidance.split_steps(strip_final_answer(solution))[-1]
    assert last_step not in cut
    assert answer not in cut.replace("=", " = ").split()  # the answer as a whole number never appears


@pytest.mark.parametrize("unit", UNITS)
def test_one_step_solution_gives_no_hint(unit):
    assert [cut_hint(ONE_STEP, r, unit=unit) for r in (0.25, 0.5, 0.75)] == ["", "", ""]
    assert guidance.plan_hint_cuts(ONE_STEP, (0.25, 0.5, 0.75), unit) == [None, None, None]


def test_ratio_one_or_keep_final_answer_give_the_whole_body():
    assert cut_hint(ORGANISM_V2, 1.0, unit="step") == "4 + 8 = 12\n12 - 3 = 9"
    assert "12 - 3 = 9" in cut_hint(ORGANISM_V2, 0.75, unit="step", keep_final_answer=True)


@pytest.mark.parametrize(
    "solution, unit, expected",
    [
        (ARITH, "step", ["Step 1: 47 + 38 = 85", "Step 1: 47 + 38 = 85\nStep 2: 85 - 12 = 73", None]),
        (ORGANISM_V2, "step", ["4 + 8 = 12", None, None]),  # 0.25 of 2 steps rounds to 1; then capped
        (ORGANISM_V2, "token", ["4 + 8", "4 + 8 = 12", None]),  # 3 of 10 words, then 5; 8 would pass the cap
        (SCRATCHPAD, "step", ["= 12 - 3 + 5", "= 12 - 3 + 5\n= 9 + 5", None]),
    ],
)
def test_plan_skips_empty_and_repeated_stages(solution, unit, expected):
    plan = guidance.plan_hint_cuts(solution, (0.25, 0.5, 0.75), unit)
    assert [p is None for p in plan] == [e is None for e in expected]
    assert [p for p in plan if p] == [e for e in expected if e]
    kept = [p for p in plan if p]
    assert len(set(kept)) == len(kept)  # no stage repeats a prompt


def test_render_response_placement():
    chat = [{"role": "system", "content": "S"}, {"role": "user", "content": "Q"}]
    out = render_hinted_prompt(chat, "4 + 8 = 12", guidance.RESPONSE_HINT_TEMPLATE, placement="response")
    assert out[:2] == chat and out[2] == {"role": "assistant", "content": "4 + 8 = 12\n"}
    assert len(chat) == 2  # not mutated
    assert render_hinted_prompt("Calculate 4 + 8 - 3.\n", "4 + 8 = 12", "{hint}\n", "response") == (
        "Calculate 4 + 8 - 3.\n4 + 8 = 12\n"
    )
    assert render_hinted_prompt("Calculate 4 + 8 - 3.", "4 + 8 = 12", "{hint}\n", "response") == (
        "Calculate 4 + 8 - 3.\n4 + 8 = 12\n"
    )
    with pytest.raises(ValueError, match="valid: prompt, response"):
        render_hinted_prompt(chat, "h", placement="answer")
    with pytest.raises(ValueError, match="already ends with an assistant"):
        render_hinted_prompt([*chat, {"role": "assistant", "content": "x"}], "h", placement="response")
    assert guidance.default_hint_template("response") == "{hint}\n"
    assert guidance.default_hint_template("prompt") == DEFAULT_HINT_TEMPLATE


# ---------------------------------------------------------------------------------------------------------------
# No leak: the gold value (issue 19)
# ---------------------------------------------------------------------------------------------------------------
ALGEBRA = ("We have $2x + 3 = 11$.\nSubtracting 3 gives $2x = 8$.\nDividing by 2 gives $x = 4$.\n"
           "We check: $2 \\cdot 4 + 3 = 11$.\nThe final answer is $\\boxed{4}$.")
EGGS = "Mary has 4 dozen eggs, so 4 * 12 = 48 eggs.\nHe uses 21, so 48 - 21 = 27 eggs remain.\nCheck: 27 + 21 = 48.\n#### 27"


@pytest.mark.parametrize("solution, gold", [(ALGEBRA, "4"), (EGGS, "27")])
def test_hints_stop_before_the_step_that_states_the_gold(solution, gold):
    """The issue's leak cases: the answer is stated, then checked. Every unit and w < 1 now stops before it."""
    old_leaks = 0
    for unit in guidance.HINT_UNITS:
        for w in (0.25, 0.5, 0.75):
            old = guidance.cut_hint(solution, w, unit)
            new = guidance.cut_hint(solution, w, unit, gold=gold)
            old_leaks += guidance.states_gold(old, gold)
            assert not guidance.states_gold(new, gold), (unit, w, new)
            assert solution.startswith(new) and len(new) <= len(old)
    assert old_leaks > 0  # the last-step rule alone let the answer through
    before = {"4": 2, "27": 1}[gold]  # the lines before the one that states the gold
    assert guidance.cut_hint(solution, 0.75, "step", gold=gold) == "\n".join(solution.split("\n")[:before])


@pytest.mark.parametrize("sentence, gold, states", [
    ("so 36 - 9 = 27 eggs", "27", True),
    ("so 36 - 9 = 27 eggs", "$27$", True),
    ("so 36 - 9 = 27 eggs", "\\boxed{27}", True),
    ("so 36 - 9 = 127 eggs", "27", False),  # a longer number is not the gold
    ("It costs $1,000 in all", "1000", True),
    ("2.50 dollars each", "2.5", True),
    ("half, that is $\\frac{1}{2}$", "0.5", True),
    ("half, that is \\dfrac12", "1/2", True),
    ("a quarter: 25% of them", "0.25", True),
    ("a quarter: 25% of them", "25", True),
    ("x = -4 here", "-4", True),
    ("4 + 1 = 5", "-4", False),  # a negative gold needs its minus
    ("x = -4 here", "4", True),  # a positive gold matches either way: the safe side
    ("the angle is 30^\\circ", "30^\\circ", True),
    ("the area is $2\\sqrt3$", "2\\sqrt{3}", True),
    ("the area is $2 \\sqrt{3}$", "2\\sqrt3", True),
    ("there are 2^(n-1) subsets", "2^{n-1}", True),
    ("there are 2^n subsets", "2^{n-1}", False),
    ("a circle of area $\\pi r^2$", "\\pi", True),
    ("There is no such integer.", "No", True),
    ("Note that it is not", "No", False),  # a word inside another is not the gold
    ("and so on", "n", False),
    ("Step 2: 3 + 4 = 7", "2", False),  # a step label is not a value
    ("Step 2: 3 + 4 = 7", "7", True),
])
def test_gold_statement_forms(sentence, gold, states):
    assert (guidance.gold_statement_start(sentence, gold) is not None) == states


def test_math_verify_fallback_finds_what_a_string_compare_cannot():
    from ghpo.rewards import same_math_value

    sentence = "So there are $\\frac{n(n-3)}{2}$ diagonals."
    assert guidance.gold_statement_start(sentence, "n(n-3)/2") is None
    assert guidance.gold_statement_start(sentence, "n(n-3)/2", same_math_value) == 0


def test_gold_in_the_first_sentence_leaves_no_hint():
    solution = "There are 2 red balls.\nAdd 3 blue ones: 2 + 3 = 5.\nRemove 3: 5 - 3 = 2.\nThe answer is \\boxed{2}."
    assert guidance.plan_hint_cuts(solution, (0.25, 0.5, 0.75), "step") != [None, None, None]
    assert guidance.plan_hint_cuts(solution, (0.25, 0.5, 0.75), "step", gold="2") == [None, None, None]


def test_a_char_cut_inside_a_number_never_writes_the_gold():
    solution = "Step 1: 7 + 5 = 12\nStep 2: 12 - 11 = 1\nThe final answer is \\boxed{1}."
    for end in range(1, 40):
        ratio = end / len(guidance.strip_final_answer(solution))
        if ratio < 1:
            assert not guidance.states_gold(guidance.cut_hint(solution, ratio, "char", gold="1"), "1")


def test_final_answer_of_worked_solutions():
    assert guidance.final_answer_of("So 48 + 24 = <<48+24=72>>72.\n#### 72") == "72"
    assert guidance.final_answer_of("Thus $x = \\boxed{\\frac{1}{2}}$.") == "\\frac{1}{2}"
    assert guidance.final_answer_of("17") == "17"


def test_real_solutions_never_give_the_gold():
    """Every cut (w < 1, every unit) of real worked solutions: none states the gold value."""
    from ghpo.data import load_champ_dataset, load_gsm_symbolic_dataset
    from ghpo.rewards import same_math_value

    rows = list(load_gsm_symbolic_dataset(200, chat=False)) + list(load_champ_dataset(60, chat=False))
    cuts = 0
    for row in rows:
        for unit in ("token", "step", "char"):
            for cut in guidance.plan_hint_cuts(row["solution_hint"], (0.25, 0.5, 0.75), unit, gold=row["solution"],
                                               same_value=same_math_value):
                if cut:
                    cuts += 1
                    assert not guidance.states_gold(cut, row["solution"], same_math_value), (row["solution"], cut)
    assert cuts > 1000


def test_retry_after_zero_gives_up_for_good():
    m = guidance.HintMemory()
    m.record_failure("p")
    assert [m.take_visit("p", give_up_after=1, retry_after=0) for _ in range(6)] == [False] * 6
    assert [m.take_visit("q", give_up_after=1, retry_after=0) for _ in range(2)] == [True, True]  # never failed
