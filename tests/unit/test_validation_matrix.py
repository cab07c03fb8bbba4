"""The cells of the dataset-validation matrix that tests/unit/test_data.py does not already cover.

Each bad input must give a `DatasetValidationError` naming its row and column (or, for a missing hint, a warning
and the row excluded from hinting), from `validate_dataset` or `load_training_dataset`, i.e. before any model
loads (the CLI runs both first: tests/cli/test_cli.py checks that no model is touched). An unparsable gold answer
("no idea") is not a validation error: it passes, `accuracy_reward` scores it None, and GHPO never hints its group.
"""

from __future__ import annotations

import json
import logging
import math

import datasets
import pytest

from ghpo.data import DatasetValidationError, load_training_dataset, validate_dataset
from ghpo.guidance import select_hard_groups
from ghpo.rewards import accuracy_reward

from .test_data import USER, _rows

SYSTEM = {"role": "system", "content": "Be brief."}


def _at(values: list, row: int, bad) -> list:
    return [bad if i == row else v for i, v in enumerate(values)]


PROMPTS = [[*USER] for _ in range(4)]

# ---------------------------------------------------------------------------------------------- in-memory datasets

# (dataset, validate_dataset kwargs, row, column, text in the message)
REJECTED = [
    # prompts
    pytest.param(_rows(prompt=_at(PROMPTS, 2, [{"role": "user", "content": ""}])), {}, 2, "prompt",
                 "empty user message", id="chat-empty-user-message"),
    pytest.param(_rows(prompt=_at(PROMPTS, 1, [SYSTEM, {"role": "user", "content": " \n\t"}])), {}, 1, "prompt",
                 "empty user message", id="chat-blank-user-after-system"),
    pytest.param(_rows(prompt=_at(PROMPTS, 3, [*USER, {"role": "user", "content": ""}])), {}, 3, "prompt",
                 "empty user message", id="chat-second-user-empty"),
    pytest.param(_rows(prompt=_at(PROMPTS, 1, [])), {}, 1, "prompt", "non-empty list", id="chat-no-messages"),
    pytest.param(_rows(prompt=_at(PROMPTS, 2, [{"role": None, "content": "q"}])), {}, 2, "prompt", "'role'",
                 id="chat-role-none"),
    pytest.param(_rows(prompt=_at(PROMPTS, 0, [{"role": "assistant", "content": "4"}])), {}, 0, "prompt",
                 "no user message", id="chat-only-assistant"),
    pytest.param(_rows(prompt=[{"role": "user", "content": "q"}] * 4), {}, 0, "prompt", "got dict",
                 id="prompt-single-message-not-in-list"),
    pytest.param(_rows(prompt=["a", " \n ", "c", "d"]), {}, 1, "prompt", "empty prompt", id="prompt-blank"),
    pytest.param(_rows(prompt=[1.5, 2.5, 3.5, 4.5]), {}, 0, "prompt", "float", id="prompt-float"),
    # gold answers
    pytest.param(_rows(solution=[{"v": "1"}] * 4), {}, 0, "solution", "got dict", id="solution-dict"),
    pytest.param(_rows(solution=[["1"], ["2"], ["3"], ["4"]]), {}, 0, "solution", "got list", id="solution-list"),
    pytest.param(_rows(solution=[1.0, math.nan, 3.0, 4.0]), {}, 0, "solution", "got float",
                 id="solution-float-column"),
    pytest.param(_rows(solution=[True, False, True, True]), {}, 0, "solution", "got bool", id="solution-bool"),
    pytest.param(_rows(solution=["1", "2", "3", None]), {"solution_column": "solution"}, 3, "solution",
                 "missing gold answer", id="solution-none-says-missing"),
    pytest.param(_rows(answer=["1", None, "3", "4"]), {"solution_column": "answer"}, 1, "answer",
                 "missing gold answer", id="solution-custom-column-name"),
    # hints
    pytest.param(_rows(solution_hint=[1, 2, 3, 4]), {}, 0, "solution_hint", "got int", id="hint-int"),
    pytest.param(_rows(solution_hint=[{"step": "a"}] * 4), {}, 0, "solution_hint", "got dict", id="hint-dict"),
    pytest.param(_rows(solution_hint=[math.nan, 1.0, 2.0, 3.0]), {}, 0, "solution_hint", "got float",
                 id="hint-float-nan"),
    pytest.param(_rows(solution_hint=["a", "b", " \n", "d"]), {"require_hint": True}, 2, "solution_hint",
                 "require_hint", id="hint-blank-required"),
    pytest.param(_rows(worked=["a", None, "c", "d"]), {"hint_column": "worked", "require_hint": True}, 1, "worked",
                 "require_hint", id="hint-custom-column-name"),
    # ids
    pytest.param(_rows(id=["a", None, "c", "d"]), {}, 1, "id", "missing id", id="id-none"),
    pytest.param(_rows(id=[7, 8, 7, 9]), {}, 2, "id", "rows 0 and 2", id="id-duplicate-int"),
    pytest.param(_rows(uid=["x", "y", "y", "z"]), {"id_column": "uid"}, 2, "uid", "rows 1 and 2",
                 id="id-duplicate-custom-column"),
]


@pytest.mark.parametrize(("dataset", "kwargs", "row", "column", "message"), REJECTED)
def test_validate_dataset_rejects(dataset, kwargs, row, column, message):
    with pytest.raises(DatasetValidationError) as info:
        validate_dataset(dataset, **kwargs)
    error = info.value
    assert (error.row, error.column) == (row, column), str(error)
    assert message in str(error)
    assert str(error).startswith(f"row {row}, column {column!r}: ")


def test_missing_gold_answer_does_not_suggest_str():
    # str(None) would make the gold answer "None": the fix for a missing answer is to drop or fill the row
    for solution, row in ((["1", None], 1), ([math.nan, math.nan], 0)):  # an Arrow column: str and None, or floats
        with pytest.raises(DatasetValidationError, match="Drop the row or fill in its answer") as info:
            validate_dataset(_rows(2, solution=solution))
        assert info.value.row == row and "str(" not in str(info.value)


def test_duplicate_ids_pass_when_ids_are_not_checked():
    assert validate_dataset(_rows(id=["a", "a", "a", "a"]), id_column=None).num_rows == 4


@pytest.mark.parametrize(
    "hints",
    [
        pytest.param([None, None, None, None], id="all-none"),
        pytest.param(["a", "\u200b", "c", "\n"], id="blank-and-zero-width"),
    ],
)
def test_missing_hints_warn_and_leave_the_row_out_of_hinting(hints, caplog):
    with caplog.at_level(logging.WARNING, logger="ghpo.data"):
        report = validate_dataset(_rows(solution_hint=hints))
    # validation counts blank (whitespace) hints; a zero-width space is not whitespace, so it counts as a hint
    blank = [i for i, h in enumerate(hints) if h is None or not h.strip()]
    assert report.rows_without_hint == blank and report.num_without_hint == len(blank)
    assert any("never hints" in r.getMessage() for r in caplog.records)
    # the trainer's has_hint rule (ghpo.trainer) applied to the same rows: an all-wrong group without hint is
    # never selected as hard
    has_hint = [isinstance(h, str) and h.strip() != "" for h in hints]
    assert select_hard_groups([[0.0, 0.0]] * 4, has_hint) == [i not in blank for i in range(4)]


# ---------------------------------------------------------------------------------------------- unparsable gold


@pytest.mark.parametrize("gold", ["no idea", "see the figure above", "No positive integer solutions"])
def test_unparsable_gold_passes_validation_and_is_never_hinted(gold):
    report = validate_dataset(_rows(2, solution=["1", gold]))
    assert report.num_rows == 2 and report.warnings == []
    scores = accuracy_reward([r"\boxed{1}", r"\boxed{0}", "no answer"], [gold] * 3)
    assert scores == [None, None, None]
    # the group of an unparsable gold is never hard (all-wrong is unknowable), a parsable all-wrong one is
    assert select_hard_groups([scores, [0.0, 0.0, 0.0]], has_hint=[True, True]) == [False, True]


# ---------------------------------------------------------------------------------------------- files


def _write_jsonl(path, rows):
    path.write_text("".join((r if isinstance(r, str) else json.dumps(r)) + "\n" for r in rows))
    return path


def _csv_missing_answer(tmp_path):
    path = tmp_path / "d.csv"
    path.write_text("problem,answer\nWhat is 1+1?,2\nWhat is 2+2?,\nWhat is 3+3?,6\n")
    return path, {"solution_column": "answer"}


def _parquet_nan_answer(tmp_path):
    path = tmp_path / "d.parquet"
    datasets.Dataset.from_dict({"problem": ["a", "b"], "solution": [2.0, math.nan]}).to_parquet(str(path))
    return path, {}


def _jsonl_nan_answer(tmp_path):  # Python's json writes NaN; pandas/arrow read it as a float NaN
    rows = ['{"problem": "a", "solution": 2}', '{"problem": "b", "solution": NaN}']
    return _write_jsonl(tmp_path / "d.jsonl", rows), {}


def _csv_missing_problem(tmp_path):
    path = tmp_path / "d.csv"
    path.write_text("problem,solution\nWhat is 1+1?,2\n,4\n")
    return path, {}


def _jsonl_empty_user(tmp_path):
    rows = [{"prompt": USER, "solution": "2"}, {"prompt": [SYSTEM, {"role": "user", "content": " "}], "solution": "4"}]
    return _write_jsonl(tmp_path / "d.jsonl", rows), {}


def _jsonl_list_hint(tmp_path):
    rows = [{"problem": "a", "solution": "1", "solution_hint": ["step 1", "step 2"]}]
    return _write_jsonl(tmp_path / "d.jsonl", rows), {}


def _jsonl_dict_solution(tmp_path):
    return _write_jsonl(tmp_path / "d.jsonl", [{"problem": "a", "solution": {"value": 1}}]), {}


def _jsonl_int_problem_without_system(tmp_path):
    rows = [{"problem": 5, "solution": "5"}, {"problem": 6, "solution": "6"}]
    return _write_jsonl(tmp_path / "d.jsonl", rows), {"system_prompt": None}


def _jsonl_duplicate_ids(tmp_path):
    rows = [{"problem": "a", "solution": "1", "id": "p"}, {"problem": "b", "solution": "2", "id": "p"}]
    return _write_jsonl(tmp_path / "d.jsonl", rows), {}


# (writer, row, column, text in the message); columns are named after load_training_dataset's renaming
FILE_REJECTED = [
    pytest.param(_csv_missing_answer, 1, "solution", "missing gold answer", id="csv-empty-answer-cell"),
    pytest.param(_parquet_nan_answer, 1, "solution", "missing gold answer", id="parquet-nan-answer"),
    pytest.param(_jsonl_nan_answer, 1, "solution", "missing gold answer", id="jsonl-nan-answer"),
    pytest.param(_csv_missing_problem, 1, "prompt", "NoneType", id="csv-empty-problem-cell"),
    pytest.param(_jsonl_empty_user, 1, "prompt", "empty user message", id="jsonl-chat-empty-user"),
    pytest.param(_jsonl_list_hint, 0, "solution_hint", "got list", id="jsonl-list-hint"),
    pytest.param(_jsonl_dict_solution, 0, "solution", "got dict", id="jsonl-dict-solution"),
    pytest.param(_jsonl_int_problem_without_system, 0, "prompt", "'content': 5", id="jsonl-int-problem"),
    pytest.param(_jsonl_duplicate_ids, 1, "id", "rows 0 and 1", id="jsonl-duplicate-ids"),
]


@pytest.mark.parametrize(("writer", "row", "column", "message"), FILE_REJECTED)
def test_loaded_file_rejected_with_row_and_column(tmp_path, writer, row, column, message):
    path, kwargs = writer(tmp_path)
    dataset = load_training_dataset(str(path), **kwargs)
    with pytest.raises(DatasetValidationError) as info:
        validate_dataset(dataset)
    assert (info.value.row, info.value.column) == (row, column), str(info.value)
    assert message in str(info.value)


def test_nan_answer_never_becomes_the_gold_nan(tmp_path):
    path, _ = _parquet_nan_answer(tmp_path)
    assert load_training_dataset(str(path))["solution"] == ["2", None]


@pytest.mark.parametrize(("name", "content"), [("empty.jsonl", ""), ("header.csv", "problem,solution\n"),
                                               ("empty.csv", "")])
def test_file_without_rows_gives_a_clear_error(tmp_path, name, content):
    path = tmp_path / name
    path.write_text(content)
    with pytest.raises(DatasetValidationError, match="could not read any rows from .*" + name):
        load_training_dataset(str(path))


def test_unparsable_gold_in_a_file_passes_validation(tmp_path):
    path = _write_jsonl(tmp_path / "d.jsonl", [{"problem": "a", "solution": "no idea", "solution_hint": "h"},
                                               {"problem": "b", "solution": 7, "solution_hint": "h"}])
    dataset = load_training_dataset(str(path))
    assert dataset["solution"] == ["no idea", "7"]
    assert validate_dataset(dataset).num_rows == 2
    assert accuracy_reward([r"\boxed{7}", r"\boxed{7}"], dataset["solution"]) == [None, 1.0]
