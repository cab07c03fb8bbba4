"""Tests for ghpo.data and ghpo.arith: validation matrix, arithmetic generator, built-in sources, files."""

from __future__ import annotations

import json
import re

import datasets
import pytest

from ghpo import data
from ghpo.arith import ARITH_LEVELS, arith_level_spec, evaluate_arith, solve_arith_steps
from ghpo.data import (
    DEFAULT_SYSTEM_PROMPT,
    DatasetValidationError,
    format_prompts,
    load_training_dataset,
    make_arith_dataset,
    make_arith_eval_set,
    make_conversation,
    normalize_champ_answer,
    validate_dataset,
)

USER = [{"role": "user", "content": "What is 1+1?"}]


def _rows(n: int = 4, **overrides: list) -> datasets.Dataset:
    columns = {
        "prompt": [[*USER] for _ in range(n)],
        "solution": [str(i) for i in range(n)],
        "solution_hint": [f"Step 1: {i}" for i in range(n)],
        "id": [f"p{i}" for i in range(n)],
    }
    columns.update(overrides)
    return datasets.Dataset.from_dict(columns)


# ---------------------------------------------------------------------------------------------- validation


@pytest.mark.parametrize(
    ("dataset", "kwargs", "row", "column", "message"),
    [
        pytest.param(_rows(0), {}, None, None, "empty", id="empty"),
        pytest.param(_rows(), {"solution_column": "answer"}, None, "answer", "available columns",
                     id="missing-solution"),
        pytest.param(_rows(), {"prompt_column": "question"}, None, "question", "available columns",
                     id="missing-prompt"),
        pytest.param(_rows(), {"hint_column": "worked"}, None, "worked", "hint_column=None", id="missing-hint"),
        pytest.param(_rows(prompt=["a", "b", None, "d"]), {}, 2, "prompt", "NoneType", id="prompt-none"),
        pytest.param(_rows(prompt=[1, 2, 3, 4]), {}, 0, "prompt", "int 1", id="prompt-int"),
        pytest.param(_rows(prompt=[["a"], ["b"], ["c"], ["d"]]), {}, 0, "prompt", "'a'", id="chat-not-dicts"),
        pytest.param(_rows(prompt=[USER, USER, [{"role": "user", "content": None}], USER]), {}, 2, "prompt",
                     "'content'", id="chat-content-none"),
        pytest.param(_rows(prompt=["a", "b", "", "d"]), {}, 2, "prompt", "empty prompt", id="prompt-empty"),
        pytest.param(
            _rows(prompt=[USER, [{"role": "system", "content": "sys"}], USER, USER]), {}, 1, "prompt",
            "no user message", id="chat-without-user",
        ),
        pytest.param(
            _rows(prompt=[USER, USER, USER, [{"role": "robot", "content": "x"}]]), {}, 3, "prompt", "robot",
            id="chat-bad-role",
        ),
        pytest.param(_rows(solution=["1", None, "3", "4"]), {}, 1, "solution", "NoneType", id="solution-none"),
        pytest.param(_rows(solution=[1, 2, 3, 4]), {}, 0, "solution", "str(", id="solution-int"),
        pytest.param(_rows(solution=["1", "2", "  ", "4"]), {}, 2, "solution", "empty gold answer",
                     id="solution-blank"),
        pytest.param(_rows(solution_hint=["a", "b", "c", None]), {"require_hint": True}, 3, "solution_hint",
                     "require_hint", id="hint-required"),
        pytest.param(_rows(solution_hint=[[1], [2], [3], [4]]), {}, 0, "solution_hint", "string or None",
                     id="hint-not-str"),
        pytest.param(_rows(id=["a", "b", "c", "a"]), {}, 3, "id", "rows 0 and 3", id="duplicate-ids"),
    ],
)
def test_validate_dataset_rejects(dataset, kwargs, row, column, message):
    with pytest.raises(DatasetValidationError) as info:
        validate_dataset(dataset, **kwargs)
    error = info.value
    assert (error.row, error.column) == (row, column)
    assert message in str(error)
    if row is not None:
        assert str(error).startswith(f"row {row}, column {column!r}")


def test_missing_column_lists_available_columns():
    with pytest.raises(DatasetValidationError, match=r"\['prompt', 'solution', 'solution_hint', 'id'\]"):
        validate_dataset(_rows(), solution_column="answer")


def test_missing_prompt_suggests_format_prompts():
    dataset = datasets.Dataset.from_dict({"problem": ["1+1?"], "solution": ["2"], "solution_hint": ["2"]})
    with pytest.raises(DatasetValidationError, match="format_prompts"):
        validate_dataset(dataset)


def test_error_value_repr_is_truncated():
    long_value = ["x" * 500]
    with pytest.raises(DatasetValidationError) as info:
        validate_dataset(_rows(1, prompt=[long_value]))
    assert info.value.value == long_value
    assert len(str(info.value)) < 400 and "..." in str(info.value)


@pytest.mark.parametrize("hints", [[None, "h", "", "h", "  "], ["", "", "", "", ""]])
def test_rows_without_hint_are_counted_and_warned(hints):
    report = validate_dataset(_rows(5, solution_hint=hints))
    expected = [i for i, h in enumerate(hints) if not (h or "").strip()]
    assert report.num_rows == 5
    assert report.num_without_hint == len(expected)
    assert report.rows_without_hint == expected
    assert len(report.warnings) == 1 and "never hints" in report.warnings[0]


def test_valid_dataset_passes_cleanly_and_ids_are_optional():
    report = validate_dataset(_rows(3, prompt=["plain text a", "b", "c"]).remove_columns("id"))
    assert (report.num_rows, report.num_without_hint, report.warnings) == (3, 0, [])


def test_hint_column_none_means_no_hints():
    report = validate_dataset(_rows(3).remove_columns("solution_hint"), hint_column=None)
    assert report.num_without_hint == 3 and report.warnings


def test_validation_respects_shuffle_and_select():
    dataset = _rows(4, solution=["1", "2", None, "4"]).select([2, 0])
    with pytest.raises(DatasetValidationError) as info:
        validate_dataset(dataset)
    assert info.value.row == 0


def test_validate_rejects_dataset_dict():
    with pytest.raises(DatasetValidationError, match="one split"):
        validate_dataset(datasets.DatasetDict({"train": _rows()}))


# ---------------------------------------------------------------------------------------------- prompts


def test_make_conversation():
    assert make_conversation("q", None) == [{"role": "user", "content": "q"}]
    assert make_conversation("q", "s") == [{"role": "system", "content": "s"}, {"role": "user", "content": "q"}]
    assert "\\boxed{}" in DEFAULT_SYSTEM_PROMPT


@pytest.mark.parametrize(
    ("chat", "system_prompt", "expected"),
    [
        (True, "sys", [{"role": "system", "content": "sys"}, {"role": "user", "content": "q"}]),
        (True, None, [{"role": "user", "content": "q"}]),
        (False, "sys", "sys\n\nq"),
        (False, None, "q"),
    ],
)
def test_format_prompts(chat, system_prompt, expected):
    dataset = datasets.Dataset.from_dict({"question": ["q"], "solution": ["1"]})
    out = format_prompts(dataset, problem_column="question", system_prompt=system_prompt, chat=chat)
    assert out[0]["prompt"] == expected


def test_format_prompts_keeps_existing_prompt():
    dataset = _rows(1, prompt=["keep me"])
    assert format_prompts(dataset, system_prompt="sys")[0]["prompt"] == "keep me"


# ---------------------------------------------------------------------------------------------- arith


def _expression(problem: str) -> str:
    match = re.fullmatch(r"Calculate ([0-9+\-* ]+)\.", problem)
    assert match, problem
    return match.group(1)


def test_arith_answers_match_python_eval():
    dataset = make_arith_dataset(160, seed=3)
    for row in dataset:
        assert row["solution"] == str(eval(_expression(row["problem"])))  # noqa: S307 - digits and + - * only
    assert validate_dataset(dataset, require_hint=True).num_rows == 160


def test_arith_hint_lines_and_final_answer_only_on_last_line():
    for row in make_arith_dataset(40, seed=1):
        lines = row["solution_hint"].split("\n")
        level = arith_level_spec(row["level"])
        assert len(lines) == level.num_steps + 1
        assert all(re.fullmatch(rf"Step {i}: -?\d+ [+\-*] \d+ = -?\d+", line) for i, line in enumerate(lines[:-1], 1))
        assert lines[-1] == f"The final answer is \\boxed{{{row['solution']}}}."
        assert not any("boxed" in line or "final answer" in line for line in lines[:-1])


def test_arith_steps_grow_with_level():
    dataset = make_arith_dataset(len(ARITH_LEVELS) * 3, seed=0)
    steps = {row["level"]: row["solution_hint"].count("Step ") for row in dataset}
    counts = [steps[name] for name in ARITH_LEVELS]
    assert counts == sorted(counts) and counts[0] < counts[-1]
    assert [arith_level_spec(name).num_terms for name in ARITH_LEVELS] == sorted(
        arith_level_spec(name).num_terms for name in ARITH_LEVELS)


def test_arith_is_seeded():
    a, b, c = (make_arith_dataset(30, seed=s).to_list() for s in (7, 7, 8))
    assert a == b
    assert [r["problem"] for r in a] != [r["problem"] for r in c]
    assert len({r["id"] for r in a}) == 30


def test_arith_eval_set_avoids_training_problems():
    train = make_arith_dataset(150, levels=["2x1"], seed=0)
    held_out = make_arith_eval_set(10, levels=["2x1"], seed=1, exclude=train)
    assert len(held_out) == 10
    assert set(held_out["problem"]).isdisjoint(train["problem"])


def test_arith_exhausted_level_is_filled_in_by_others():
    with pytest.raises(ValueError, match="ran out of distinct problems"):
        make_arith_dataset(200, levels=["2x1"])  # 9 * 9 * 2 = 162 distinct problems
    dataset = make_arith_dataset(400, levels=["2x1", "2x2"])
    assert len(set(dataset["problem"])) == 400
    assert list(dataset["level"]).count("2x1") == 162


@pytest.mark.parametrize(
    ("terms", "ops", "steps", "answer"),
    [
        ([47, 38, 12], ["+", "-"], ["47 + 38 = 85", "85 - 12 = 73"], 73),
        ([5, 3, 4, 2], ["+", "*", "-"], ["3 * 4 = 12", "5 + 12 = 17", "17 - 2 = 15"], 15),
        ([2, 3, 4], ["*", "*"], ["2 * 3 = 6", "6 * 4 = 24"], 24),
        ([1, 9], ["-"], ["1 - 9 = -8"], -8),
    ],
)
def test_solve_arith_steps(terms, ops, steps, answer):
    assert solve_arith_steps(terms, ops) == (steps, answer)
    assert evaluate_arith(terms, ops) == answer


@pytest.mark.parametrize("name", ["3", "1x2", "3x0", "3y2", "", "13x2"])
def test_bad_arith_level(name):
    with pytest.raises(ValueError, match="level"):
        arith_level_spec(name)


# ---------------------------------------------------------------------------------------------- built-ins


def _assert_contract(dataset: datasets.Dataset, source: str) -> None:
    assert {"problem", "prompt", "solution", "solution_hint", "id", "level", "source"} <= set(dataset.column_names)
    for row in dataset:
        assert row["problem"].strip() and row["solution"].strip() and row["solution_hint"].strip()
        assert row["source"] == source
        assert row["prompt"][-1] == {"role": "user", "content": row["problem"]}
    validate_dataset(dataset, require_hint=True)


@pytest.mark.parametrize(
    ("name", "source", "levels"),
    [("arith", "arith", None), ("arith:2x2,3x2", "arith", {"2x2", "3x2"}), ("gsm_symbolic", "gsm_symbolic", None)],
)
def test_builtin_sources(name, source, levels):
    dataset = load_training_dataset(name, size=6, seed=0)
    assert len(dataset) == 6
    _assert_contract(dataset, source)
    if levels:
        assert set(dataset["level"]) == levels


def test_gsm_symbolic_hint_ends_with_boxed_answer():
    row = load_training_dataset("gsm_symbolic", size=2, seed=5)[1]
    assert row["solution_hint"].endswith(f"The final answer is \\boxed{{{row['solution']}}}.")
    assert "####" not in row["solution_hint"]


def test_champ_source():
    dataset = load_training_dataset("champ", size=5, seed=0)
    assert len(dataset) == 5
    _assert_contract(dataset, "champ")
    assert all(i.startswith("P_") for i in dataset["id"])
    assert len(data.load_champ_dataset()) == 270


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("239", "239"),
        ("C(10, 5), or equivalently 252", "252"),
        ("5/14, or approximately 35.7%", "5/14"),
        ("100 (i.e., all values)", "100"),
        ("0 is the only possible value", "0"),
        ("The limit exists and is equal to 2/3", "2/3"),
        ("No positive integer solutions", "No positive integer solutions"),
    ],
)
def test_normalize_champ_answer(raw, expected):
    assert normalize_champ_answer(raw) == expected


def test_levels_only_for_arith():
    with pytest.raises(ValueError, match="arith"):
        load_training_dataset("gsm_symbolic:2x2")


# ---------------------------------------------------------------------------------------------- files / hub

FILE_ROWS = [
    {"question": "What is 2+2?", "answer": 4, "worked": "2+2=4\nThe final answer is \\boxed{4}."},
    {"question": "What is half of 1?", "answer": "$\\frac{1}{2}$", "worked": None},
]


def _write(tmp_path, suffix: str):
    path = tmp_path / f"train{suffix}"
    if suffix == ".jsonl":
        path.write_text("".join(json.dumps(r) + "\n" for r in FILE_ROWS))
    elif suffix == ".json":
        path.write_text(json.dumps(FILE_ROWS))
    else:
        rows = [{**r, "answer": str(r["answer"])} for r in FILE_ROWS]  # one type per column for csv/parquet
        frame = datasets.Dataset.from_list(rows)
        frame.to_csv(str(path), index=False) if suffix == ".csv" else frame.to_parquet(str(path))
    return path


@pytest.mark.parametrize("suffix", [".jsonl", ".json", ".csv", ".parquet"])
def test_local_file_round_trip_with_renaming(tmp_path, suffix):
    path = _write(tmp_path, suffix)
    dataset = load_training_dataset(
        str(path), problem_column="question", solution_column="answer", hint_column="worked", system_prompt="sys")
    assert set(dataset.column_names) == {"problem", "solution", "solution_hint", "prompt", "id"}
    assert dataset["solution"] == ["4", "$\\frac{1}{2}$"]
    assert dataset[0]["solution_hint"] == FILE_ROWS[0]["worked"]
    assert dataset[0]["prompt"] == make_conversation("What is 2+2?", "sys")
    assert dataset["id"] == [data.make_problem_id(r["question"]) for r in FILE_ROWS]
    report = validate_dataset(dataset)
    assert (report.num_without_hint, report.rows_without_hint) == (1, [1])


def test_hint_column_may_be_the_solution_column(tmp_path):
    path = tmp_path / "math.jsonl"
    path.write_text(json.dumps({"problem": "p", "solution": "x = \\boxed{3}"}) + "\n")
    dataset = load_training_dataset(str(path), hint_column="solution", chat=False, system_prompt=None)
    row = dataset[0]
    assert row["solution_hint"] == "x = \\boxed{3}" and row["solution"] == "3"  # the gold is the boxed answer
    assert row["prompt"] == "p"


@pytest.mark.parametrize("same_column", [True, False])
def test_gsm8k_answer_column_gives_the_number_as_gold(tmp_path, same_column):
    path = tmp_path / "gsm8k.jsonl"
    answer = "She has 48 / 2 = <<48/2=24>>24 clips in May.\nSo 48 + 24 = <<48+24=72>>72 in all.\n#### 72"
    path.write_text(json.dumps({"question": "How many clips?", "answer": answer}) + "\n")
    hint_column = "answer" if same_column else None
    dataset = load_training_dataset(str(path), problem_column="question", solution_column="answer",
                                    hint_column=hint_column, chat=False, system_prompt=None)
    row = dataset[0]
    assert row["solution"] == "72" and row["prompt"] == "How many clips?"
    assert row["solution_hint"] == (answer if same_column else None)


def test_file_without_hint_column_gets_empty_hints(tmp_path):
    path = tmp_path / "nohint.jsonl"
    path.write_text("".join(json.dumps({"problem": f"p{i}", "solution": "1"}) + "\n" for i in range(3)))
    dataset = load_training_dataset(str(path), size=2)
    assert len(dataset) == 2
    assert validate_dataset(dataset).num_without_hint == 2


def test_file_wrong_solution_column_lists_columns(tmp_path):
    path = _write(tmp_path, ".jsonl")
    with pytest.raises(DatasetValidationError, match="available columns"):
        load_training_dataset(str(path), problem_column="question")


def test_duplicate_problems_get_distinct_ids(tmp_path):
    path = tmp_path / "dup.jsonl"
    path.write_text("".join(json.dumps({"problem": "same", "solution": "1"}) + "\n" for _ in range(2)))
    ids = load_training_dataset(str(path))["id"]
    assert ids[1] == ids[0] + "#2"


@pytest.mark.parametrize("name", ["missing.jsonl", "./nope/data.csv", "/tmp/ghpo-does-not-exist.parquet"])
def test_missing_file(name):
    with pytest.raises(FileNotFoundError, match="does not exist"):
        load_training_dataset(name)


def test_hub_unreachable_gives_clear_error(monkeypatch):
    def offline(*args, **kwargs):
        raise ConnectionError("Couldn't reach 'org/data' on the Hub (LocalEntryNotFoundError)")

    monkeypatch.setattr(data.datasets, "load_dataset", offline)
    expected = "could not reach the Hugging Face hub to load 'org/data'.*HF_HUB_OFFLINE"
    with pytest.raises(ConnectionError, match=expected):
        load_training_dataset("org/data")


def test_hub_id_goes_through_load_dataset(monkeypatch):
    calls = []

    def fake(name, config=None, split=None):
        calls.append((name, config, split))
        return datasets.Dataset.from_dict({"problem": ["q"], "answer": ["1"], "solution": ["worked"]})

    monkeypatch.setattr(data.datasets, "load_dataset", fake)
    dataset = load_training_dataset("org/data", config="main", split="test", solution_column="answer",
                                    hint_column="solution")
    assert calls == [("org/data", "main", "test")]
    assert (dataset[0]["solution"], dataset[0]["solution_hint"]) == ("1", "worked")
    assert "answer" not in dataset.column_names
