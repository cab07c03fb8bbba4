"""GHPOTrainer in place of trl.GRPOTrainer, with nothing else changed (issue 27): every constructor pattern TRL
documents constructs and trains, and hints fire where the data and rewards allow them ('auto')."""

import asyncio
import dataclasses
import logging

import pytest
import torch
from datasets import Dataset, IterableDataset
from trl import GRPOConfig

from ghpo.trainer import GHPOConfig, GHPOTrainer

from .scripted import accuracy_reward, length_reward, make_dataset, partly_right

AUTO_PLAIN = "GHPOTrainer: no hints, this run is plain GRPO (hint_schedule='auto')"


def _grpo_args(tmp_path, cls=GRPOConfig, **overrides):
    kwargs = dict(output_dir=str(tmp_path / "out"), per_device_train_batch_size=12, num_generations=2,
                  max_completion_length=6, max_steps=1, learning_rate=1e-2, report_to="none", save_strategy="no",
                  logging_steps=1, seed=0, use_cpu=True, shuffle_dataset=False)
    kwargs.update(overrides)
    return cls(**kwargs)


def _params(trainer):
    return {n: p.detach().clone() for n, p in trainer.model.named_parameters() if p.requires_grad}


def _train_and_check(trainer, moves=lambda name: True):
    """Train; assert every trainable parameter that ``moves`` names changed and the loss was logged. Returns the
    first step's log."""
    before = _params(trainer)
    trainer.train()
    unchanged = [n for n, p in trainer.model.named_parameters()
                 if p.requires_grad and moves(n) and torch.equal(before[n], p)]
    assert not unchanged, f"parameters did not change: {unchanged}"
    log = trainer.state.log_history[0]
    assert "loss" in log
    return log


def _hinted(log):
    return log["ghpo/hard_frac"] > 0 and log["ghpo/gen_rounds"] > 1


def _plain(log):
    return not any(k.startswith("ghpo/") for k in log)


def _warnings(caplog):
    return [r.getMessage() for r in caplog.records if r.name == "ghpo.trainer" and r.getMessage().startswith(AUTO_PLAIN)]


# --- Constructor patterns of TRL's GRPOTrainer docs, with GHPOTrainer in its place ---------------------------------
def test_minimal_no_args_trains_and_hints(tiny_model_dir, tmp_path, monkeypatch):
    """TRL's quickstart: model, reward_funcs, train_dataset; nothing else. Its data has a worked solution, so hints."""
    monkeypatch.chdir(tmp_path)  # no args: TRL writes to '<model>-GRPO' in the working directory, we to '-GHPO'
    data = Dataset.from_list([r for r in make_dataset().to_list() if r["id"] == "needs-quarter"])
    trainer = GHPOTrainer(model=tiny_model_dir, reward_funcs=partly_right, train_dataset=data)
    assert isinstance(trainer.args, GHPOConfig) and trainer.args.output_dir.endswith("-GHPO")
    assert trainer.hint_schedule == "staged"
    # GRPOConfig's defaults run 3 epochs and log every 10 steps; one logged step shows it
    trainer.args.max_steps, trainer.args.logging_steps = 1, 1
    log = _train_and_check(trainer)
    assert _hinted(log)


def test_minimal_without_a_hint_column_is_plain_grpo_said_once(tiny_model_dir, tmp_path, monkeypatch, caplog):
    monkeypatch.chdir(tmp_path)
    solvable = [r for r in make_dataset().remove_columns("solution_hint").to_list() if r["id"] == "solvable"]
    with caplog.at_level(logging.WARNING, logger="ghpo.trainer"):
        trainer = GHPOTrainer(model=tiny_model_dir, reward_funcs=partly_right, train_dataset=Dataset.from_list(solvable))
        trainer.args.max_steps, trainer.args.logging_steps = 1, 1
        log = _train_and_check(trainer)
    said = _warnings(caplog)
    assert len(said) == 1 and "hint_column='solution_hint' is not a column" in said[0]
    assert "hint_schedule='staged' to make this an error" in said[0]
    assert trainer.hint_schedule == "none" and _plain(log)


def test_reward_model_trains_plain_grpo_and_says_why(tiny_model_dir, tmp_path, caplog):
    """A reward model (a hub id or path in reward_funcs) cannot decide 'all wrong': plain GRPO, said once."""
    with caplog.at_level(logging.WARNING, logger="ghpo.trainer"):
        trainer = GHPOTrainer(model=tiny_model_dir, reward_funcs=tiny_model_dir, args=_grpo_args(tmp_path),
                              train_dataset=make_dataset())
        log = _train_and_check(trainer)
    said = _warnings(caplog)
    assert len(said) == 1 and "hint_trigger_reward='accuracy_reward' is not among the reward functions" in said[0]
    assert _plain(log)


def test_several_reward_functions_with_weights(tiny_model_dir, tmp_path):
    trainer = GHPOTrainer(model=tiny_model_dir, reward_funcs=[accuracy_reward, length_reward],
                          args=_grpo_args(tmp_path, reward_weights=[1.0, 0.5]), train_dataset=make_dataset())
    log = _train_and_check(trainer)
    assert _hinted(log)
    assert "rewards/accuracy_reward/mean" in log and "rewards/length_reward/mean" in log


def test_async_reward_function_as_the_trigger(tiny_model_dir, tmp_path):
    async def accuracy_reward_async(prompts, completions, rule, **kwargs):
        await asyncio.sleep(0)
        return partly_right(prompts, completions, rule)

    accuracy_reward_async.__name__ = "accuracy_reward"  # the trigger is chosen by name
    trainer = GHPOTrainer(model=tiny_model_dir, reward_funcs=[accuracy_reward_async, length_reward],
                          args=_grpo_args(tmp_path), train_dataset=make_dataset())
    log = _train_and_check(trainer)
    assert _hinted(log)


def test_peft_config_trains_the_adapter_with_hints(tiny_model_dir, tmp_path):
    from peft import LoraConfig

    trainer = GHPOTrainer(model=tiny_model_dir, reward_funcs=[partly_right], args=_grpo_args(tmp_path),
                          train_dataset=make_dataset(), peft_config=LoraConfig(r=4, target_modules=["q_proj", "v_proj"]))
    trainable = [n for n, p in trainer.model.named_parameters() if p.requires_grad]
    assert trainable and all("lora" in n for n in trainable)
    # LoRA's B starts at zero, so A's gradient is zero on the first step: B moves, A and the base stay
    log = _train_and_check(trainer, moves=lambda name: "lora_B" in name)
    assert _hinted(log)


def test_eval_dataset_is_evaluated_without_hints(tiny_model_dir, tmp_path):
    args = _grpo_args(tmp_path, eval_strategy="steps", eval_steps=1, per_device_eval_batch_size=12)
    trainer = GHPOTrainer(model=tiny_model_dir, reward_funcs=[partly_right], args=args,
                          train_dataset=make_dataset(), eval_dataset=make_dataset())
    log = _train_and_check(trainer)
    assert _hinted(log)
    evals = [h for h in trainer.state.log_history if "eval_loss" in h]
    assert evals and not any(k.startswith("eval_ghpo/") or k.startswith("ghpo/") for k in evals[0])


@pytest.mark.parametrize("features", ["known", "unknown"])
def test_iterable_dataset_trains_with_hints(tiny_model_dir, tmp_path, features):
    rows = make_dataset().to_list()
    if features == "known":
        data = make_dataset().to_iterable_dataset()
    else:  # from a generator: no column names until a row is read
        data = IterableDataset.from_generator(lambda: iter(rows))
        assert data.column_names is None
    trainer = GHPOTrainer(model=tiny_model_dir, reward_funcs=[partly_right], args=_grpo_args(tmp_path),
                          train_dataset=data)
    assert trainer.hint_schedule == "staged"
    log = _train_and_check(trainer)
    assert _hinted(log)


def test_iterable_dataset_without_hint_column_says_so(tiny_model_dir, tmp_path, caplog):
    rows = make_dataset().remove_columns("solution_hint").to_list()
    data = IterableDataset.from_generator(lambda: iter(rows))
    with caplog.at_level(logging.WARNING, logger="ghpo.trainer"):
        trainer = GHPOTrainer(model=tiny_model_dir, reward_funcs=[accuracy_reward], args=_grpo_args(tmp_path),
                              train_dataset=data)
    assert trainer.hint_schedule == "none" and len(_warnings(caplog)) == 1


# --- The three failures of issue 27 --------------------------------------------------------------------------------
def test_no_reward_source_is_trls_error(tiny_model_dir, tmp_path):
    with pytest.raises(ValueError, match="No reward source provided"):
        GHPOTrainer(model=tiny_model_dir, args=_grpo_args(tmp_path), train_dataset=make_dataset())


def test_a_plain_grpo_config_is_carried_field_by_field(tiny_model_dir, tmp_path):
    grpo = _grpo_args(tmp_path, steps_per_generation=2, per_device_train_batch_size=6, beta=0.04)
    trainer = GHPOTrainer(model=tiny_model_dir, reward_funcs=[partly_right], args=grpo, train_dataset=make_dataset())
    assert isinstance(trainer.args, GHPOConfig)
    for f in dataclasses.fields(GRPOConfig):
        assert getattr(trainer.args, f.name) == getattr(grpo, f.name), f.name
    assert trainer.args.generation_batch_size == 12  # TRL derived it once; a second __post_init__ would refuse both
    log = _train_and_check(trainer)
    assert _hinted(log)


def test_from_grpo_config_takes_guidance_fields_and_rejects_grpo_ones(tmp_path):
    grpo = _grpo_args(tmp_path)
    config = GHPOConfig.from_grpo_config(grpo, hint_schedule="fixed", hint_unit="step")
    assert (config.hint_schedule, config.hint_unit, config.hint_template) == ("fixed", "step", GHPOConfig(
        output_dir=str(tmp_path)).hint_template)
    with pytest.raises(ValueError, match="'beta' is a GRPOConfig field"):
        GHPOConfig.from_grpo_config(grpo, beta=0.1)
    with pytest.raises(ValueError, match="hint_unit"):
        GHPOConfig.from_grpo_config(grpo, hint_unit="words")
    with pytest.raises(TypeError, match="GHPOConfig or a trl.GRPOConfig"):
        GHPOConfig.from_grpo_config(dict(beta=0.1))


# --- Asking for hints: what is missing stops before any generation ------------------------------------------------
@pytest.mark.parametrize("what, build, message", [
    ("hint column", dict(data=lambda: make_dataset().remove_columns("solution_hint")),
     "hint_column='solution_hint' is not a column"),
    ("gold column", dict(data=lambda: make_dataset().remove_columns("solution")),
     "hint_gold_column='solution' is not a column"),
    ("named trigger", dict(rewards=[length_reward]), "hint_trigger_reward='accuracy_reward' is not among"),
])
def test_a_named_schedule_stops_on_what_is_missing(tiny_model_dir, tmp_path, what, build, message):
    data = build.get("data", make_dataset)()
    args = _grpo_args(tmp_path, cls=GHPOConfig, hint_schedule="staged")
    with pytest.raises(ValueError, match=message):
        GHPOTrainer(model=tiny_model_dir, reward_funcs=build.get("rewards", [accuracy_reward]), args=args,
                    train_dataset=data)


def test_a_named_schedule_never_runs_plain_grpo_silently(tiny_model_dir, tmp_path, caplog):
    """'none' is quiet; 'auto' with what hints need hints without a word about plain GRPO."""
    with caplog.at_level(logging.WARNING, logger="ghpo.trainer"):
        quiet = GHPOTrainer(model=tiny_model_dir, reward_funcs=[length_reward], train_dataset=make_dataset(),
                            args=_grpo_args(tmp_path, cls=GHPOConfig, hint_schedule="none"))
        auto = GHPOTrainer(model=tiny_model_dir, reward_funcs=[accuracy_reward], train_dataset=make_dataset(),
                           args=_grpo_args(tmp_path, cls=GHPOConfig))
    assert (quiet.hint_schedule, auto.hint_schedule) == ("none", "staged") and not _warnings(caplog)
