"""Runs that survive: NaN rewards stop with a name, resume continues exactly, Ctrl-C keeps the checkpoint."""

import copy
import json
import math

import pytest
from transformers import TrainerCallback

from ghpo.trainer import GHPOConfig, GHPOTrainer

from .scripted import accuracy_reward, length_reward, make_dataset

G = 2


def _args(out, **overrides):
    kwargs = dict(
        output_dir=str(out), per_device_train_batch_size=12, num_generations=G, max_completion_length=4,
        max_steps=3, learning_rate=1e-3, logging_steps=1, report_to="none", save_strategy="steps", save_steps=1,
        seed=0, use_cpu=True, hint_unit="step", hint_memory=True, hint_ratios=[0.1, 0.25, 0.5], log_rollouts=True,
    )
    kwargs.update(overrides)
    return GHPOConfig(**kwargs)


def _trainer(model_dir, args, rewards=(accuracy_reward, length_reward), callbacks=None):
    # shuffled, 3 copies of the scripted rows: the data order matters for the resume check
    return GHPOTrainer(model=model_dir, reward_funcs=list(rewards), args=args, train_dataset=make_dataset(repeat=3),
                       callbacks=callbacks)


def _trace(out):
    return [(r["step"], r["problem_id"], r["hard"], r["trained_ratio"]) for r in map(json.loads, open(out / "rollouts.jsonl"))]


@pytest.mark.parametrize("bad", [float("nan"), math.inf, -math.inf])
def test_non_finite_reward_names_the_function(tiny_model_dir, tmp_path, bad):
    def shaky_reward(completions, **kwargs):
        return [bad] + [0.0] * (len(completions) - 1)

    trainer = _trainer(tiny_model_dir, _args(tmp_path / "o", max_steps=1), rewards=(accuracy_reward, shaky_reward))
    with pytest.raises(FloatingPointError, match="shaky_reward"):
        trainer.train()
    assert trainer.reward_func_names == ["accuracy_reward", "shaky_reward"]  # names survive the wrapping


def test_resume_continues_like_an_uninterrupted_run(tiny_model_dir, tmp_path):
    full = _trainer(tiny_model_dir, _args(tmp_path / "full"))
    full.train()

    class StopAfter(TrainerCallback):
        def on_step_end(self, args, state, control, **kwargs):
            if state.global_step == 2:
                control.should_training_stop = True

    first = _trainer(tiny_model_dir, _args(tmp_path / "resumed"), callbacks=[StopAfter()])
    first.train()
    assert first.state.global_step == 2
    resumed = _trainer(tiny_model_dir, _args(tmp_path / "resumed"))
    resumed.train(resume_from_checkpoint=str(tmp_path / "resumed" / "checkpoint-2"))

    assert resumed.state.global_step == full.state.global_step == 3
    assert resumed.hint_memory == full.hint_memory and full.hint_memory.rescued_stage
    # the same problems in the same order, with the same decisions, step by step
    assert _trace(tmp_path / "resumed") == _trace(tmp_path / "full")


@pytest.mark.parametrize("layout", ["current", "before issue 29"])
def test_hint_memory_is_restored_from_the_checkpoint(tiny_model_dir, tmp_path, layout):
    first = _trainer(tiny_model_dir, _args(tmp_path / "o", max_steps=1))
    first.train()
    saved = first.hint_memory
    assert saved.rescued_stage
    state = tmp_path / "o" / "checkpoint-1" / "ghpo_state.json"
    if layout != "current":  # older checkpoints held the memory's tables alone
        state.write_text(json.dumps(json.loads(state.read_text())["hint_memory"]))
    seen = {}

    class AtStart(TrainerCallback):  # runs after the checkpoint is loaded, before any new step
        def on_train_begin(self, args, state, control, **kwargs):
            seen["memory"] = copy.deepcopy(resumed.hint_memory)

    resumed = _trainer(tiny_model_dir, _args(tmp_path / "o", max_steps=2), callbacks=[AtStart()])
    assert resumed.hint_memory != saved
    resumed.train(resume_from_checkpoint=str(tmp_path / "o" / "checkpoint-1"))
    assert seen["memory"] == saved


def test_ctrl_c_keeps_the_last_checkpoint(tiny_model_dir, tmp_path):
    class CtrlC(TrainerCallback):
        def on_step_begin(self, args, state, control, **kwargs):
            if state.global_step == 2:
                raise KeyboardInterrupt

    trainer = _trainer(tiny_model_dir, _args(tmp_path / "o"), callbacks=[CtrlC()])
    with pytest.raises(KeyboardInterrupt):
        trainer.train()
    checkpoint = tmp_path / "o" / "checkpoint-2"
    assert json.loads((checkpoint / "trainer_state.json").read_text())["global_step"] == 2
    assert (checkpoint / "ghpo_state.json").exists() and (checkpoint / "model.safetensors").exists()
    resumed = _trainer(tiny_model_dir, _args(tmp_path / "o"))
    resumed.train(resume_from_checkpoint=str(checkpoint))
    assert resumed.state.global_step == 3
