"""ghpo.evaluate: pass@k, answer extraction, registry shape, argument parsing, and the whole run on a scripted
backend (no model)."""

import argparse
import json
import math
import re

import pytest

from ghpo import evaluate as ev
from ghpo.guidance import DEFAULT_HINT_TEMPLATE


# ---------------------------------------------------------------------------------------------- pass@k


@pytest.mark.parametrize(
    ("n", "c", "k", "expected"),
    [
        (5, 0, 1, 0.0),
        (5, 5, 1, 1.0),
        (5, 2, 1, 2 / 5),  # pass@1 = c / n
        (5, 2, 2, 1 - 3 / 10),  # 1 - C(3,2)/C(5,2)
        (10, 3, 5, 1 - 21 / 252),  # 1 - C(7,5)/C(10,5)
        (4, 1, 4, 1.0),  # n - c < k: some draw of 4 always holds the correct one
        (32, 1, 1, 1 / 32),
        (32, 4, 8, 1 - math.comb(28, 8) / math.comb(32, 8)),
    ],
)
def test_pass_at_k_hand_computed(n, c, k, expected):
    assert ev.pass_at_k(n, c, k) == pytest.approx(expected, abs=1e-12)


def test_pass_at_k_matches_binomial_formula_on_a_grid():
    for n in range(1, 13):
        for c in range(n + 1):
            for k in range(1, n + 1):
                exact = 1.0 if n - c < k else 1 - math.comb(n - c, k) / math.comb(n, k)
                assert ev.pass_at_k(n, c, k) == pytest.approx(exact, abs=1e-12), (n, c, k)


@pytest.mark.parametrize(("n", "c", "k"), [(4, 5, 1), (4, -1, 1), (4, 1, 5), (4, 1, 0)])
def test_pass_at_k_rejects_impossible_counts(n, c, k):
    with pytest.raises(ValueError):
        ev.pass_at_k(n, c, k)


def test_summarize_benchmark_avg_pass_and_hint_gain():
    verdicts = [[1.0, 0.0, 0.0, 0.0], [0.0, 0.0, 0.0, 0.0], [1.0, 1.0, None, 0.0]]
    hinted = {0.5: [[1.0, 1.0, 1.0, 1.0], None, [1.0, 1.0, 1.0, 0.0]]}
    m = ev.summarize_benchmark(verdicts, hinted, finish_reasons=["stop"] * 10 + ["length"] * 2)
    assert m["k"] == 4 and m["num_problems"] == 3
    assert m["avg@4"] == pytest.approx((1 / 4 + 0 + 2 / 4) / 3)
    assert m["pass@1"] == pytest.approx(m["avg@4"])  # the unbiased pass@1 is the sample mean
    assert m["pass@2"] == pytest.approx((0.5 + 0 + (1 - 1 / 6)) / 3)
    assert m["pass@4"] == pytest.approx(2 / 3)
    assert m["num_unscorable"] == 1
    assert m["truncated_frac"] == pytest.approx(2 / 12)
    # Hint metrics compare on the problems that have a hint (rows 0 and 2).
    assert m["num_with_hint@0.5"] == 2
    assert m["acc_no_hint@0.5"] == pytest.approx((1 / 4 + 2 / 4) / 2)
    assert m["acc_hint@0.5"] == pytest.approx((1 + 3 / 4) / 2)
    assert m["hint_gain@0.5"] == pytest.approx(m["acc_hint@0.5"] - m["acc_no_hint@0.5"])


def test_summarize_benchmark_needs_equal_sample_counts():
    with pytest.raises(ValueError, match="same number"):
        ev.summarize_benchmark([[1.0], [1.0, 0.0]])


# ---------------------------------------------------------------------------------------------- answers

EXTRACTION_CASES = [
    # (completion, kind, extracted)
    (r"We get $x = 3$, so the answer is \boxed{42}.", "math", "42"),
    (r"Thus \boxed{\frac{3}{4}} is it.", "math", r"\frac{3}{4}"),
    (r"\boxed{\boxed{7}} then \boxed{x^{2}+1}", "math", "x^{2}+1"),  # the last box, nested braces kept
    ("2 + 3 = 5, then 5 * 2 = 10", "math", "10"),  # plain number: the last one
    ("The answer is 3/4.", "math", "3/4"),  # plain fraction
    ("#### 1,234", "math", "1,234"),
    ("<answer>\n-17\n</answer>", "math", "-17"),
    ("no answer here", "math", None),
    (r"so the answer is \boxed{C}.", "choice", "C"),
    (r"\boxed{(b)}", "choice", "B"),
    (r"\boxed{\text{D}}", "choice", "D"),
    ("The correct answer is (A) because ...", "choice", "A"),
    ("Answer: **C**", "choice", "C"),
    ("Reasoning...\nB\n", "choice", "B"),
    ("I think (A) is wrong. The answer is D.", "choice", "D"),
    (r"\boxed{E}", "choice", None),  # only A-D exist
    ("A cat sat on the mat.", "choice", None),
    ("The answer is a prime number.", "choice", None),  # "a" is an article, not option A
]


@pytest.mark.parametrize(("text", "kind", "expected"), EXTRACTION_CASES)
def test_extract_answer_table(text, kind, expected):
    assert ev.extract_answer(text, kind) == expected


def test_extract_answer_unknown_kind():
    with pytest.raises(ValueError, match="math, choice"):
        ev.extract_answer("x", "essay")


def test_score_completions_math_and_choice():
    texts = [r"so \boxed{42}", r"\boxed{\frac{1}{2}}", "The answer is 0.5", r"\boxed{41}", "no answer"]
    golds = ["42", "0.5", r"\frac{1}{2}", "42", "42"]
    assert ev.score_completions(texts, golds, "math") == [1.0, 1.0, 1.0, 0.0, 0.0]
    assert ev.score_completions([r"\boxed{B}", "Answer: A", "?"], ["B", "B", "B"], "choice") == [1.0, 0.0, 0.0]


def test_gold_formats():
    assert ev._gsm8k_gold("She has 3 + 4 = <<3+4=7>>7 apples.\n#### 1,234") == "1234"
    assert ev._answer_text(27.0) == "27" and ev._answer_text(2.5) == "2.5" and ev._answer_text(" 3 ") == "3"
    spec = ev.BENCHMARKS["olympiadbench"]
    problem, gold, hint = ev._hub_row_to_problem(
        spec, {"question": "Find x.", "final_answer": ["$1$", "$2$"], "solution": ["Step one.", "Step two."],
               "context": None})
    assert (problem, gold, hint) == ("Find x.", "$1$, $2$", "Step one.\nStep two.")


def test_gpqa_options_are_shuffled_deterministically_with_the_right_letter():
    rows = [{"Question": f"Question {i}?", "Correct Answer": f"right {i}", "Incorrect Answer 1": f"w1 {i}",
             "Incorrect Answer 2": f"w2 {i}", "Incorrect Answer 3": f"w3 {i}", "Explanation": "Because."}
            for i in range(12)]
    spec = ev.BENCHMARKS["gpqa_diamond"]
    letters = []
    for row in rows:
        problem, gold, hint = ev._hub_row_to_problem(spec, row)
        assert ev._hub_row_to_problem(spec, dict(row)) == (problem, gold, hint)  # fixed order on every run
        assert re.search(rf"^{gold}\) right", problem, re.MULTILINE), problem
        assert all(f"{letter}) " in problem for letter in "ABCD")
        assert hint == "Because."
        letters.append(gold)
    assert len(set(letters)) > 1  # really shuffled


# ---------------------------------------------------------------------------------------------- registry


def test_registry_has_the_papers_six_benchmarks_and_gsm8k():
    assert set(ev.PAPER_BENCHMARKS) == {"aime24", "math500", "olympiadbench", "amc23", "minerva", "gpqa_diamond"}
    assert "gsm8k" in ev.BENCHMARKS and not ev.BENCHMARKS["gsm8k"].in_paper


@pytest.mark.parametrize("name", list(ev.BENCHMARKS))
def test_registry_entry_shape(name):
    spec = ev.BENCHMARKS[name]
    assert spec.name == name
    assert re.fullmatch(r"[\w.\-]+/[\w.\-]+", spec.hub_id), spec.hub_id
    assert spec.split in ("train", "test", "validation")
    assert spec.problem_column and spec.answer_column
    assert spec.answer_kind in ev.ANSWER_KINDS
    assert spec.gold_format in ev.GOLD_FORMATS
    assert callable({"math": ev.extract_answer, "choice": ev.extract_choice}[spec.answer_kind])
    assert spec.num_problems and spec.num_problems > 0
    if spec.answer_kind == "choice":
        assert spec.gold_format == "gpqa"


def test_registry_known_ids():
    b = ev.BENCHMARKS
    assert (b["math500"].hub_id, b["math500"].split, b["math500"].problem_column, b["math500"].answer_column) == (
        "HuggingFaceH4/MATH-500", "test", "problem", "answer")
    assert (b["aime24"].hub_id, b["aime24"].split) == ("HuggingFaceH4/aime_2024", "train")
    assert (b["gpqa_diamond"].hub_id, b["gpqa_diamond"].config, b["gpqa_diamond"].gated) == (
        "Idavidrein/gpqa", "gpqa_diamond", True)
    assert (b["gsm8k"].hub_id, b["gsm8k"].config, b["gsm8k"].gold_format) == ("openai/gsm8k", "main", "gsm8k")


@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        ("math500,aime24", ["math500", "aime24"]),
        ("MATH-500, aime", ["math500", "aime24"]),
        ("paper", list(ev.PAPER_BENCHMARKS)),
        ("paper,gsm8k,math500", [*ev.PAPER_BENCHMARKS, "gsm8k"]),  # duplicates dropped
        ("arith", ["arith"]),
        ("arith:2x2,4x3,gsm8k", ["arith:2x2,4x3", "gsm8k"]),
        ("gsm_symbolic,champ", ["gsm_symbolic", "champ"]),
        ("data/my_eval.jsonl", ["data/my_eval.jsonl"]),
        ("someone/their-bench", ["someone/their-bench"]),
    ],
)
def test_resolve_benchmark_names(spec, expected):
    assert ev.resolve_benchmark_names(spec) == expected


def test_resolve_benchmark_names_unknown_lists_valid():
    with pytest.raises(ValueError, match="math500.*arith"):
        ev.resolve_benchmark_names("math50")
    with pytest.raises(ValueError, match="no benchmarks"):
        ev.resolve_benchmark_names(" , ")


def test_load_offline_benchmarks_like_training():
    problems = ev.load_benchmark("arith:2x2,3x2", limit=5, system_prompt="SYS")
    assert len(problems) == 5
    assert problems[0].prompt[0] == {"role": "system", "content": "SYS"}
    assert all(p.hint and p.gold.lstrip("-").isdigit() for p in problems)
    text = ev.load_benchmark("arith:2x2", limit=2, system_prompt="SYS", chat=False)
    assert text[0].prompt.startswith("SYS\n\nCalculate ")
    # Held out from the default training draw (seed 0).
    from ghpo.data import make_arith_dataset

    train = set(make_arith_dataset(1000, ["2x2"], seed=0)["problem"])
    assert not {p.prompt.split("\n\n", 1)[1] for p in ev.load_benchmark("arith:2x2", limit=50, chat=False)} & train


# ---------------------------------------------------------------------------------------------- settings


def test_parse_k_spec():
    assert ev.parse_k_spec("1,aime24=32") == (1, {"aime24": 32})
    assert ev.parse_k_spec("aime=32, 4") == (4, {"aime24": 32})
    with pytest.raises(ValueError, match="name=integer"):
        ev.parse_k_spec("many")
    with pytest.raises(ValueError, match=">= 1"):
        ev.parse_k_spec("0")


def test_eval_config_validation():
    config = ev.EvalConfig(model="m", benchmarks="arith,aime24", k="1,aime24=32", temperature=0.6)
    assert config.benchmarks == ["arith", "aime24"] and config.k_for("aime24") == 32 and config.k_for("arith") == 1
    with pytest.raises(ValueError, match="greedy"):
        ev.EvalConfig(model="m", benchmarks="arith", k="4", temperature=0.0)
    with pytest.raises(ValueError, match="hint ratio"):
        ev.EvalConfig(model="m", benchmarks="arith", hint_ratios=[1.5])
    with pytest.raises(ValueError, match="backend"):
        ev.EvalConfig(model="m", benchmarks="arith", backend="tpu")
    assert ev.EvalConfig(model="m", benchmarks="arith", system_prompt="").system_prompt is None


def test_cli_arguments_map_to_config():
    parser = ev.add_eval_arguments(argparse.ArgumentParser(prog="ghpo eval"))
    args = parser.parse_args([
        "my/model", "--benchmarks", "math500,aime24", "--k", "1,aime24=32", "--temperature", "0.6", "--top_p", "0.95",
        "--max_new_tokens", "3072", "--hint-ratio", "0.25,0.5", "--limit", "10", "--batch-size", "8",
        "--backend", "transformers", "--system-prompt", "Be brief.", "--no-chat", "--seed", "3", "--output", "r.json"])
    config = ev.config_from_args(args)
    assert (config.model, config.benchmarks, config.k_for("aime24"), config.temperature, config.top_p) == (
        "my/model", ["math500", "aime24"], 32, 0.6, 0.95)
    assert (config.max_new_tokens, config.hint_ratios, config.limit, config.batch_size, config.backend) == (
        3072, [0.25, 0.5], 10, 8, "transformers")
    assert (config.system_prompt, config.chat, config.seed, config.output) == ("Be brief.", False, 3, "r.json")
    defaults = ev.config_from_args(parser.parse_args(["m"]))
    assert defaults.benchmarks == list(ev.PAPER_BENCHMARKS) and defaults.chat and defaults.temperature == 0.0
    help_text = parser.format_help()
    for flag in ("--benchmarks", "--k", "--temperature", "--top_p", "--max_new_tokens", "--hint-ratio", "--limit",
                 "--batch-size", "--backend", "--system-prompt", "--no-chat", "--seed", "--output"):
        assert flag in help_text


def test_select_backend():
    assert ev.select_backend("transformers") == "transformers"
    if not ev.vllm_available():
        assert ev.select_backend("auto") == "transformers"
        with pytest.raises(ImportError, match="pip install vllm"):
            ev.select_backend("vllm")
    with pytest.raises(ValueError, match="auto, vllm, transformers"):
        ev.select_backend("tpu")


# ---------------------------------------------------------------------------------------------- whole run, scripted


class _CharTokenizer:
    """Characters as token ids; enough for text prompts (chat=False)."""

    is_fast = False
    chat_template = None

    def __call__(self, text, **kwargs):
        return {"input_ids": [ord(ch) for ch in text]}

    def decode(self, ids, **kwargs):
        return "".join(chr(i) for i in ids)


class _HintReader:
    """A 'model' that answers right exactly when the prompt holds a hint (it reads the gold from the test)."""

    name = "scripted"

    def __init__(self, golds: dict[str, str]):
        self.tokenizer = _CharTokenizer()
        self.golds = golds
        self.calls = 0

    def generate(self, prompt_ids, num_samples, *, temperature, top_p, max_new_tokens, seed, progress=True):
        self.calls += 1
        out = []
        for ids, n in zip(prompt_ids, num_samples):
            prompt = self.tokenizer.decode(ids)
            problem = next(p for p in self.golds if p in prompt)
            hinted = DEFAULT_HINT_TEMPLATE.split("{hint}")[0] in prompt
            text = rf"The final answer is \boxed{{{self.golds[problem] if hinted else 'nope'}}}."
            out.append([ev.Sample(text, 9, "stop") for _ in range(n)])
        return out


def test_evaluate_model_scripted_backend_measures_hint_dependence():
    problems = ev.load_benchmark("arith:3x2", limit=3, chat=False)  # 2 steps: the first one can be a hint
    golds = {p.prompt.split("\n\n", 1)[1]: p.gold for p in problems}
    backend = _HintReader(golds)
    config = ev.EvalConfig(model="scripted", benchmarks="arith:3x2", k="2", temperature=1.0, hint_ratios=[0.5],
                           hint_unit="step", limit=3, chat=False)
    result = ev.evaluate_model(config, backend=backend, progress=False, log=lambda _: None)
    assert backend.calls == 1  # all prompts and samples in one generate call
    m = result["metrics"]["arith:3x2"]
    assert (m["avg@2"], m["acc_hint@0.5"], m["hint_gain@0.5"], m["num_with_hint@0.5"]) == (0.0, 1.0, 1.0, 3)
    assert result["macro"] == {"avg": 0.0, "acc_no_hint@0.5": 0.0, "acc_hint@0.5": 1.0, "hint_gain@0.5": 1.0}
    assert result["backend"] == "scripted" and result["settings"]["k_per_benchmark"] == {"arith:3x2": 2}
    row = result["problems"]["arith:3x2"][0]
    plain, hinted = row["variants"]["plain"], row["variants"]["hint@0.5"]
    assert [s["verdict"] for s in plain["samples"]] == [0.0, 0.0] and plain["num_correct"] == 0
    assert hinted["samples"][0] == {"text": rf"The final answer is \boxed{{{row['gold']}}}.", "extracted": row["gold"],
                                    "verdict": 1.0, "num_tokens": 9, "finish_reason": "stop"}
    assert hinted["hint"] and r"\boxed" not in hinted["hint"]  # the final answer is never part of the hint
    assert hinted["prompt"].endswith(hinted["hint"])
    table = ev.format_results_table(result)
    assert "| arith:3x2 | 3 | 2 | 0.000 | 0.000 | 0.000 | 0.000 | 1.000 | 1.000 |" in table
    assert table.splitlines()[-1].startswith("| macro avg |")
    assert "Step 2" not in hinted["hint"]  # the answer step is never hinted


def test_one_step_problems_get_no_hinted_variant():
    problems = ev.load_benchmark("arith:2x2", limit=2, chat=False)
    backend = _HintReader({p.prompt.split("\n\n", 1)[1]: p.gold for p in problems})
    config = ev.EvalConfig(model="scripted", benchmarks="arith:2x2", k="1", temperature=1.0, hint_ratios=[0.5],
                           hint_unit="step", limit=2, chat=False)
    result = ev.evaluate_model(config, backend=backend, progress=False, log=lambda _: None)
    assert all(list(row["variants"]) == ["plain"] for row in result["problems"]["arith:2x2"])
    assert result["metrics"]["arith:2x2"]["num_with_hint@0.5"] == 0


class _ContinuationReader(_HintReader):
    """Answers with the last step only when its prompt ends with the opening of the answer (response placement)."""

    def generate(self, prompt_ids, num_samples, **kwargs):
        out = []
        for ids, n in zip(prompt_ids, num_samples):
            prompt = self.tokenizer.decode(ids)
            problem = next(p for p in self.golds if p in prompt)
            text = rf"\boxed{{{self.golds[problem]}}}" if prompt.rstrip().splitlines()[-1].startswith("Step 1") else "?"
            out.append([ev.Sample(text, 3, "stop") for _ in range(n)])
        return out


def test_response_placement_in_eval_grades_hint_plus_continuation(tiny_model_dir):
    from transformers import AutoTokenizer

    problems = ev.load_benchmark("arith:3x2", limit=2, chat=False)
    backend = _ContinuationReader({p.prompt.split("\n\n", 1)[1]: p.gold for p in problems})
    config = ev.EvalConfig(model="scripted", benchmarks="arith:3x2", k="1", temperature=1.0, hint_ratios=[0.5],
                           hint_unit="step", limit=2, chat=False, hint_placement="response")
    assert config.hint_template == "{hint}\n"
    result = ev.evaluate_model(config, backend=backend, progress=False, log=lambda _: None)
    row = result["problems"]["arith:3x2"][0]
    hinted = row["variants"]["hint@0.5"]
    assert hinted["prompt"].endswith(hinted["hint"] + "\n") and hinted["samples"][0]["verdict"] == 1.0
    # Chat prompts: a final assistant message is rendered open (no end of turn after the hint).
    tok = AutoTokenizer.from_pretrained(tiny_model_dir)
    ids = ev.tokenize_prompt(tok, [{"role": "user", "content": "Q"}, {"role": "assistant", "content": "Step 1: 2\n"}])
    assert tok.decode(ids).endswith("<|im_start|>assistant\nStep 1: 2\n")


def test_eval_hints_follow_the_training_no_leak_rule(tmp_path):
    """`ghpo eval --hint-ratio` cuts as training does: before the step that states the gold, not only the last."""
    path = tmp_path / "eggs.jsonl"
    solution = ("Mary has 4 dozen eggs, so 4 * 12 = 48 eggs.\nHe uses 21, so 48 - 21 = 27 eggs remain.\n"
                "Check: 27 + 21 = 48.\nThe final answer is \\boxed{27}.")
    path.write_text(json.dumps({"problem": "How many eggs remain?", "solution": "27", "solution_hint": solution}) + "\n")
    problems = ev.load_benchmark(str(path), chat=False)
    backend = _HintReader({p.prompt.split("\n\n", 1)[1]: p.gold for p in problems})
    config = ev.EvalConfig(model="scripted", benchmarks=str(path), k="1", temperature=1.0, hint_ratios=[0.75],
                           hint_unit="step", chat=False)
    result = ev.evaluate_model(config, backend=backend, progress=False, log=lambda _: None)
    (row,) = result["problems"][str(path)]
    assert row["variants"]["hint@0.75"]["hint"] == "Mary has 4 dozen eggs, so 4 * 12 = 48 eggs."
