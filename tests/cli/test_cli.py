"""`ghpo train | eval | report` from the command line: help, recipes, overrides, early errors, a tiny run."""

import json
import subprocess
import sys

import pytest

from ghpo import cli


@pytest.mark.parametrize("argv", [["--help"], ["train", "--help"], ["report", "--help"], ["eval", "--help"]])
def test_help(argv, capsys):
    with pytest.raises(SystemExit) as exit_info:
        cli.main(argv)
    assert exit_info.value.code == 0
    out = capsys.readouterr().out
    assert "usage:" in out
    if argv[0] == "train":
        assert "--hint_schedule" in out and "--num_generations" in out and "--dataset_name" in out


def test_console_script_is_installed():
    out = subprocess.run([sys.executable, "-m", "ghpo.cli", "--help"], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0 and "train" in out.stdout and "report" in out.stdout


def test_yaml_recipe_and_overrides(tmp_path):
    recipe = tmp_path / "r.yaml"
    recipe.write_text("dataset_name: arith:2x1\nhint_schedule: fixed\nhint_ratios: [0.3]\nlearning_rate: 1.0e-5\nmax_steps: 7\n")
    script, train, model = cli.parse_train_args(["--config", str(recipe), "--max_steps", "3", "--hint_unit", "step"])
    assert script.dataset_name == "arith:2x1"
    assert train.hint_schedule == "fixed" and train.hint_ratios == [0.3] and train.hint_unit == "step"
    assert train.learning_rate == 1e-5 and train.max_steps == 3  # the command line wins over the recipe
    assert model.model_name_or_path == cli.DEFAULT_MODEL


def test_overrides_without_config_apply_on_top_of_the_quickstart(capsys, no_model_load):
    argv, note = cli.with_default_recipe(["--max_steps", "2"])
    assert "quickstart" in note and "--max_steps 2" in note
    script, train, model = cli.parse_train_args(argv)
    _, quick, _ = cli.parse_train_args(["--config", cli.QUICKSTART])
    assert train.max_steps == 2 and quick.max_steps != 2
    assert script.dataset_name == cli.parse_train_args(["--config", cli.QUICKSTART])[0].dataset_name
    assert (train.num_generations, train.max_completion_length, train.hint_placement) == (
        quick.num_generations, quick.max_completion_length, quick.hint_placement)
    # --config none: GHPOConfig's own defaults, no recipe.
    argv, note = cli.with_default_recipe(["--config", "none", "--max_steps", "2", "--use_cpu", "true"])
    assert note is None and "--config" not in argv
    _, bare, _ = cli.parse_train_args(argv)
    assert bare.num_generations == 8  # TRL's default, not the quickstart's
    # A named recipe is left alone; the note is printed when training starts.
    assert cli.with_default_recipe(["--config", "x.yaml"]) == (["--config", "x.yaml"], None)
    recipe_error = cli.main(["train", "--max_steps", "2", "--reward_funcs", "nonsense"])
    assert recipe_error == 2 and "running the CPU quickstart recipe" in capsys.readouterr().out


@pytest.mark.parametrize("recipe", cli.list_recipes())
def test_shipped_recipes_parse(recipe):
    # transformers refuses bf16 without a GPU at config time; that is the only override.
    script, train, model = cli.parse_train_args(["--config", recipe, "--bf16", "false", "--use_cpu", "true"])
    assert train.hint_trigger_reward in {"accuracy_reward"}
    if recipe.startswith("Qwen"):
        assert model.model_name_or_path.startswith("Qwen/Qwen2.5-")
        assert train.learning_rate == 1e-6 and train.lr_scheduler_type == "cosine" and train.warmup_steps == 0.1
        assert train.num_generations == 8 and train.temperature == 1.0 and train.max_completion_length == 2048
        assert train.beta == 0.0 and train.reward_weights == [1.0, 0.5] and script.reward_funcs == ["accuracy", "format"]
        assert script.dataset_name == "hkgc/math3to5_olympiads_aime"
        assert train.hint_schedule == ("none" if "/grpo/" in recipe else "staged")


def test_paper_recipes_differ_only_in_guidance():
    base = "Qwen2.5-Math-7B/{}/config_math3to5_olympiads_aime"
    _, ghpo, _ = cli.parse_train_args(["--config", base.format("ghpo"), "--bf16", "false", "--use_cpu", "true"])
    _, grpo, _ = cli.parse_train_args(["--config", base.format("grpo"), "--bf16", "false", "--use_cpu", "true"])
    differ = {k for k, v in vars(ghpo).items() if vars(grpo).get(k) != v and not k.startswith("_")}
    assert differ <= {"hint_schedule", "output_dir", "log_rollouts", "logging_dir", "run_name", "distributed_state"}, differ


def test_budgeted_recipe_differs_from_ghpo_only_in_the_budget():
    base = "Qwen2.5-Math-7B/{}/config_math3to5_olympiads_aime"
    _, ghpo, _ = cli.parse_train_args(["--config", base.format("ghpo"), "--bf16", "false", "--use_cpu", "true"])
    _, budgeted, _ = cli.parse_train_args(["--config", base.format("ghpo-budgeted"), "--bf16", "false", "--use_cpu", "true"])
    differ = {k for k, v in vars(budgeted).items() if vars(ghpo).get(k) != v and not k.startswith("_")}
    budget = {"hint_memory", "hint_memory_start", "hint_stages_per_visit", "hint_rounds", "hint_give_up_after"}
    assert budget <= differ <= budget | {"output_dir", "logging_dir", "run_name", "distributed_state"}, differ
    assert budgeted.hint_stages_per_visit == 1 and budgeted.hint_rounds == "single"


@pytest.fixture
def no_model_load(monkeypatch):
    """Fails the test if anything tries to resolve or load a model."""
    import ghpo.models

    def boom(*a, **k):
        raise AssertionError("a model was loaded before the input was checked")

    monkeypatch.setattr(ghpo.models, "resolve_model", boom)
    monkeypatch.setattr(ghpo.models, "check_model_available", boom)


def test_bad_recipe_key_fails_before_model_loads(tmp_path, capsys, no_model_load):
    recipe = tmp_path / "r.yaml"
    recipe.write_text("dataset_name: arith\nhint_ratio: 0.5\n")  # the official code's dead field name
    assert cli.main(["train", "--config", str(recipe)]) == 2
    assert "hint_ratio" in capsys.readouterr().err


def test_missing_column_fails_before_model_loads(tmp_path, capsys, no_model_load):
    data = tmp_path / "d.jsonl"
    data.write_text(json.dumps({"problem": "1+1?", "answer": "2", "solution_hint": "1+1=2"}) + "\n")
    assert cli.main(["train", "--dataset_name", str(data), "--output_dir", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err
    assert "solution" in err and "answer" in err  # names the missing column and what exists


def test_bad_row_fails_with_row_and_column(tmp_path, capsys, no_model_load):
    data = tmp_path / "d.jsonl"
    rows = [{"problem": "1+1?", "solution": "2", "solution_hint": "1+1=2"}, {"problem": "", "solution": "3", "solution_hint": "x"}]
    data.write_text("".join(json.dumps(r) + "\n" for r in rows))
    assert cli.main(["train", "--dataset_name", str(data), "--output_dir", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err
    assert "row 1" in err


def test_unknown_reward_fails_clearly(tmp_path, capsys, no_model_load):
    assert cli.main(["train", "--reward_funcs", "accuracy", "nonsense", "--output_dir", str(tmp_path / "o")]) == 2
    assert "nonsense" in capsys.readouterr().err


def _train_tiny(model_dir, data, rows, out, *flags) -> int:
    """``ghpo train`` for 2 steps on the tiny model, with ``rows`` written to ``data`` as JSONL."""
    data.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return cli.main([
        "train", "--model_name_or_path", model_dir, "--dataset_name", str(data), "--output_dir", str(out),
        "--max_steps", "2", "--per_device_train_batch_size", "4", "--num_generations", "2",
        "--max_completion_length", "8", "--use_cpu", "true", "--report_to", "none", "--logging_steps", "1",
        "--hint_unit", "step", *flags,
    ])


def test_train_tiny_model_local_jsonl_then_report(tiny_model_dir, tmp_path, capsys):
    data = tmp_path / "train.jsonl"
    rows = [
        {"problem": f"Calculate {a} + {b}.", "solution": str(a + b),
         "solution_hint": f"Step 1: {a} + {b} = {a + b}\nThe final answer is \\boxed{{{a + b}}}."}
        for a, b in [(1, 2), (3, 4), (5, 6), (7, 8)]
    ]
    out = tmp_path / "run"
    code = _train_tiny(tiny_model_dir, data, rows, out, "--save_strategy", "steps", "--save_steps", "2",
                       "--reward_funcs", "accuracy", "format")
    assert code == 0
    lines = [json.loads(line) for line in open(out / "metrics.jsonl")]
    steps = [line for line in lines if "loss" in line]
    assert [line["step"] for line in steps] == [1, 2]
    assert all("ghpo/hard_frac" in line and "rewards/accuracy_reward/mean" in line for line in steps)
    assert (out / "report.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert (out / "checkpoint-2").is_dir() and (out / "model.safetensors").exists()
    printed = capsys.readouterr().out
    assert "step 1/2" in printed and "hard" in printed  # the one-line summary

    (out / "report.png").unlink()
    assert cli.main(["report", str(out), str(out)]) == 0
    assert (out / "report.png").exists()
    assert "| " in capsys.readouterr().out


# The layouts users bring, each through `ghpo train` on the tiny random model: it gets every answer wrong, so every
# group whose worked solution gives a usable hint is hard and must be hinted from the column the user named.
def _worked(a, b, c, d):
    s1, s2, s3 = a + b, a + b + c, a + b + c + d
    return (f"First add the first two: {a} + {b} = {s1}.\nThen add the third: {s1} + {c} = {s2}.\n"
            f"Then add the fourth: {s2} + {d} = {s3}."), s3


_TERMS = [(11, 23, 35, 47), (13, 29, 41, 56), (17, 31, 43, 58), (19, 37, 53, 61)]
_LAYOUTS = {
    # name: (row builder from (problem, worked steps, gold), CLI flags, column holding the worked solution)
    "openr1": (lambda p, w, g: {"problem": p, "solution": f"{w}\nSo the total is $\\boxed{{{g}}}$.", "answer": str(g)},
               ["--dataset_solution_column", "answer", "--hint_column", "solution"], "solution"),
    "custom": (lambda p, w, g: {"q": p, "gold": g, "worked": f"{w}\nThe final answer is \\boxed{{{g}}}."},
               ["--dataset_prompt_column", "q", "--dataset_solution_column", "gold", "--hint_column", "worked"], "worked"),
    "gsm8k": (lambda p, w, g: {"question": p, "answer": f"{w}\n#### {g}"},
              ["--dataset_prompt_column", "question", "--dataset_solution_column", "answer", "--hint_column", "answer"],
              "answer"),
    "same_column": (lambda p, w, g: {"problem": p, "solution": f"{w}\nThe answer is $\\boxed{{{g}}}$."},
                    ["--hint_column", "solution"], "solution"),
}


@pytest.mark.parametrize("layout", sorted(_LAYOUTS))
def test_user_layouts_train_with_hints_from_the_named_column(layout, tiny_model_dir, tmp_path, capsys):
    build, flags, worked_column = _LAYOUTS[layout]
    rows = [build(f"Add {a}, {b}, {c} and {d}.", *_worked(a, b, c, d)) for a, b, c, d in _TERMS]
    data = tmp_path / f"{layout}.jsonl"
    out = tmp_path / "run"
    code = _train_tiny(tiny_model_dir, data, rows, out, "--save_strategy", "no", "--log_rollouts", "true", *flags)
    assert code == 0, capsys.readouterr().err
    # The start line names the user's column and the contract name the trainer's own lines then use.
    assert f"hints from {worked_column!r} as 'solution_hint'" in capsys.readouterr().out
    records = [json.loads(line) for line in open(out / "rollouts.jsonl")]
    assert len(records) == 4  # 2 steps x 2 problems
    for record in records:
        row = next(r for r in rows if next(v for k, v in r.items() if k in ("problem", "q", "question"))
                   in record["stages"][0]["prompt"])
        gold = str(_worked(*_TERMS[rows.index(row)])[1])
        assert record["gold"] == gold  # the gold column, not the worked solution (GSM8K: the '#### N' number)
        assert record["hard"] and record["trained_ratio"] > 0, record  # all wrong, so hinted
        hints = [stage["hint"] for stage in record["stages"][1:]]
        assert hints and all(row[worked_column].startswith(h) for h in hints), (hints, row[worked_column])
        assert all(gold not in h for h in hints)  # never the answer
        assert any(h in stage["prompt"] for h in hints for stage in record["stages"][1:])
    metrics = [json.loads(line) for line in open(out / "metrics.jsonl") if '"loss"' in line]
    assert all(m["ghpo/hard_frac"] == 1.0 and m["ghpo/unhintable_frac"] == 0.0 for m in metrics)


def test_metrics_after_resume_hold_each_step_once(tmp_path):
    from types import SimpleNamespace

    path = tmp_path / "metrics.jsonl"
    path.write_text("".join(json.dumps({"step": s, "loss": 0.1 * s}) + "\n" for s in (1, 2, 3, 4)))
    state = SimpleNamespace(is_world_process_zero=True, global_step=2)  # resumed from checkpoint-2
    cli.MetricsFileCallback().on_train_begin(SimpleNamespace(output_dir=str(tmp_path)), state, None)
    assert [json.loads(line)["step"] for line in open(path)] == [1, 2]
    assert [json.loads(line)["step"] for line in open(str(path) + ".superseded")] == [3, 4]


def test_step_summary_names_the_rollout_selection_counters():
    from ghpo.cli import summarize_step

    plain = summarize_step({"loss": 0.1, "ghpo/hard_frac": 0.5}, 1, 5)
    assert "batches" not in plain and "dropped" not in plain
    line = summarize_step({"loss": 0.1, "ghpo/gen_batches": 2.0, "ghpo/groups_dropped": 3.0,
                           "ghpo/prompts_skipped": 1.0}, 2, 5)
    assert "batches 2.0" in line and "dropped 3" in line and "skipped 1" in line
