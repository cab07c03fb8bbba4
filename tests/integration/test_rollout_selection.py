"""Dynamic sampling and pre-rollout skipping in GHPOTrainer (issue 29) on a tiny random Llama and a scripted world
whose groups are all right, all wrong, usually mixed, or rescued by a hint (CPU, seconds)."""

import logging

import pytest
import torch
from transformers import TrainerCallback

from ghpo.trainer import GHPOConfig, GHPOTrainer

from .scripted import length_reward, make_selection_dataset, selection_reward
from .test_trainer import BATCHING_KNOBS, _recording, _unpad, knobs_id

G = 4


def _config(out, **overrides):
    kwargs = dict(
        output_dir=str(out), per_device_train_batch_size=16, num_generations=G, max_completion_length=6, max_steps=1,
        learning_rate=1e-2, logging_steps=1, report_to="none", save_strategy="no", seed=0, use_cpu=True, bf16=False,
        hint_schedule="none", hint_unit="step", use_dynamic_sampling=True, max_num_generation_batches=4,
        log_rollouts=True, temperature=1.0,
    )
    kwargs.update(overrides)
    return GHPOConfig(**kwargs)


def _trainer(out, tiny_model_dir, callbacks=None, **overrides):
    return _recording(GHPOTrainer)(model=tiny_model_dir, reward_funcs=[selection_reward, length_reward],
                                   args=_config(out, **overrides), train_dataset=make_selection_dataset(),
                                   callbacks=callbacks)


def _groups(out):
    """The loss batch's rows as (prompt ids, completion ids, masked) grouped by G (a masked row's completion: ())."""
    prompts = _unpad(out["prompt_ids"], out["prompt_mask"])
    completions = _unpad(out["completion_ids"], out["completion_mask"])
    masked = (out["completion_mask"].sum(1) == 0).tolist()
    rows = list(zip(prompts, completions, masked))
    return [rows[g:g + G] for g in range(0, len(rows), G)]


@pytest.mark.parametrize("schedule", ["none", "staged"])
def test_dynamic_sampling_refills_zero_variance_groups_and_keeps_the_batch_aligned(tiny_model_dir, tmp_path, schedule):
    trainer = _trainer(tmp_path / "o", tiny_model_dir, hint_schedule=schedule)
    trainer.train()
    logs = trainer.state.log_history[0]
    (out,) = trainer.scored
    tok = trainer.processing_class

    # Refills happened: groups were dropped and fresh prompts drawn, in more than one generation batch.
    assert logs["ghpo/gen_batches"] >= 2 and logs["ghpo/groups_dropped"] >= 1
    assert logs["ghpo/prompts_drawn"] == logs["ghpo/groups_dropped"]
    # Accounting: every completion token sampled this step, in every call, round 0, hints and refills.
    assert logs["ghpo/sampled_tokens"] == sum(len(c) for call in trainer.sampled for _, c in call)
    assert logs["ghpo/extra_completion_tokens"] == logs["ghpo/sampled_tokens"] - sum(len(c) for _, c in trainer.sampled[0])
    assert logs["ghpo/gen_rounds"] == len(trainer.sampled)

    # Full and aligned: 16 rows, G rows a prompt, every (prompt, completion) pair sampled exactly so.
    sampled = {pair for call in trainer.sampled for pair in call}
    groups = _groups(out)
    assert len(groups) == 16 // G
    sampled_prompts = {p for p, _ in sampled}
    for group in groups:
        assert len({p for p, _, _ in group}) == 1
        for p, c, masked in group:
            assert (p, c) in sampled if not masked else p in sampled_prompts
    # A kept group varies in the trigger; a group without variance is masked (only at the cap).
    texts = [tok.decode(list(g[0][0])) for g in groups]
    unfilled = sum(g[0][2] for g in groups)
    assert unfilled == logs["ghpo/groups_unfilled"]
    assert all("always" not in t and "never" not in t for t, g in zip(texts, groups) if not g[0][2])
    if schedule == "staged":  # 'hinted' problems are rescued by hints and kept, not dropped
        assert logs["ghpo/hard_frac"] > 0


def test_cap_trains_on_a_partial_batch_with_a_warning(tiny_model_dir, tmp_path, caplog):
    with caplog.at_level(logging.WARNING, logger="ghpo.trainer"):
        trainer = _trainer(tmp_path / "o", tiny_model_dir, max_num_generation_batches=1)
        before = {n: p.detach().clone() for n, p in trainer.model.named_parameters()}
        trainer.train()
    logs = trainer.state.log_history[0]
    (out,) = trainer.scored
    assert logs["ghpo/gen_batches"] == 1 and logs["ghpo/prompts_drawn"] == 0
    assert logs["ghpo/groups_unfilled"] >= 1
    assert any("masked out of this step's loss" in r.message for r in caplog.records)
    masked = (out["completion_mask"].sum(1) == 0)
    assert int(masked.sum()) == G * logs["ghpo/groups_unfilled"]
    # the normaliser counts only the kept rows' tokens
    assert int(out["num_items_in_batch"]) == int(out["completion_mask"].sum())
    # and the kept groups still train
    assert any(not torch.equal(before[n], p.detach()) for n, p in trainer.model.named_parameters())


class _StopAt(TrainerCallback):
    def __init__(self, step):
        self.step = step

    def on_step_end(self, args, state, control, **kwargs):
        if state.global_step == self.step:
            control.should_training_stop = True


def _loss_prompts(trainer):
    tok = trainer.processing_class
    return [[tok.decode(list(p)) for p in _unpad(out["prompt_ids"], out["prompt_mask"])] for out in trainer.scored]


def test_resume_with_a_reserve_draws_what_the_uninterrupted_run_drew(tiny_model_dir, tmp_path):
    common = dict(max_steps=4, save_strategy="steps", save_steps=2, use_pre_rollout_skipping=True,
                  greso_p_start=0.05, greso_p_min=0.05)
    full = _trainer(tmp_path / "full", tiny_model_dir, **common)
    full.train()
    first = _trainer(tmp_path / "resumed", tiny_model_dir, callbacks=[_StopAt(2)], **common)
    first.train()
    resumed = _trainer(tmp_path / "resumed", tiny_model_dir, **common)
    resumed.train(resume_from_checkpoint=str(tmp_path / "resumed" / "checkpoint-2"))
    assert resumed.prompt_reserve.state() == full.prompt_reserve.state()
    assert resumed.prompt_reserve.state()["position"] > 0 or resumed.prompt_reserve.state()["epoch"] > 0
    assert resumed.pre_rollout_skipper.to_json() == full.pre_rollout_skipper.to_json()
    assert _loss_prompts(resumed) == _loss_prompts(full)[2:]
    assert sum(h.get("ghpo/prompts_drawn", 0) for h in full.state.log_history[2:4]) > 0


@pytest.mark.parametrize("knobs", BATCHING_KNOBS, ids=knobs_id)
def test_refills_work_with_trl_batching_knobs(tiny_model_dir, tmp_path, knobs):
    trainer = _trainer(tmp_path / "o", tiny_model_dir, hint_schedule="staged", max_steps=2, **knobs)
    trainer.train()
    for out in trainer.scored:
        rows = out["prompt_ids"].size(0)
        assert out["completion_ids"].size(0) == rows == out["advantages"].size(0)
        for g in _groups(out):
            assert len({p for p, _, _ in g}) == 1
    assert any(h.get("ghpo/groups_dropped", 0) > 0 for h in trainer.state.log_history)


def test_pre_rollout_skipping_replaces_streaks_and_counts_hinted_problems_as_hard(tiny_model_dir, tmp_path):
    # 8 problems, 2 groups a step: from step 5 on, TRL's sampler revisits them and GRESO skips the zero-variance ones.
    trainer = _recording(GHPOTrainer)(
        model=tiny_model_dir, reward_funcs=[selection_reward, length_reward],
        args=_config(tmp_path / "o", hint_schedule="staged", use_dynamic_sampling=False, use_pre_rollout_skipping=True,
                     greso_p_start=0.05, greso_p_min=0.05, max_steps=10, per_device_train_batch_size=8),
        train_dataset=make_selection_dataset(repeat=1))
    trainer.train()
    skipper = trainer.pre_rollout_skipper
    kinds = {key.split("-")[0]: kind for key, (kind, _) in skipper.streaks.items()}
    # 'hinted' problems: all wrong unhinted, every hinted sample right: zero variance, and hard, not easy.
    assert kinds["hinted"] == "unsolved" and kinds["never"] == "unsolved" and kinds["always"] == "solved"
    logs = trainer.state.log_history
    skipped = sum(h.get("ghpo/prompts_skipped", 0) for h in logs)
    assert skipped > 0 and sum(h.get("ghpo/prompts_drawn", 0) for h in logs) > 0


@pytest.mark.parametrize("max_draws", [1, None])
def test_greso_max_draws_bounds_the_reserve_prompts_a_batch_draws(tiny_model_dir, tmp_path, max_draws):
    # 8 problems, 2 groups a step, p at its floor: most revisits are skipped. None (GRESO: no cap) may draw up to one
    # pass over the training set a batch, so some step draws more than one prompt; a cap of 1 never does.
    trainer = _recording(GHPOTrainer)(
        model=tiny_model_dir, reward_funcs=[selection_reward, length_reward],
        args=_config(tmp_path / "o", use_dynamic_sampling=False, use_pre_rollout_skipping=True, greso_p_start=0.05,
                     greso_p_min=0.05, greso_max_draws=max_draws, max_steps=10, per_device_train_batch_size=8),
        train_dataset=make_selection_dataset(repeat=1))
    trainer.train()
    drawn = [h["ghpo/prompts_drawn"] for h in trainer.state.log_history if "ghpo/prompts_drawn" in h]
    assert len(drawn) == 10 and sum(drawn) > 0
    assert max(drawn) <= (max_draws or len(trainer.train_dataset))
    assert (max(drawn) > 1) == (max_draws is None)


@pytest.mark.parametrize("dynamic", [True, False])
def test_a_step_that_skips_a_whole_pass_warns_once(tiny_model_dir, tmp_path, caplog, dynamic):
    # 8 problems, p at its floor: most revisits are skipped; with refills every dropped group's slot draws again, so
    # some step skips a whole pass (8) and says so, once; the warning follows the logged count either way
    trainer = _recording(GHPOTrainer)(
        model=tiny_model_dir, reward_funcs=[selection_reward, length_reward],
        args=_config(tmp_path / "o", use_dynamic_sampling=dynamic, use_pre_rollout_skipping=True, greso_p_start=0.05,
                     greso_p_min=0.05, max_steps=10, per_device_train_batch_size=8),
        train_dataset=make_selection_dataset(repeat=1))
    with caplog.at_level(logging.WARNING, logger="ghpo.trainer"):
        trainer.train()
    skipped = [h["ghpo/prompts_skipped"] for h in trainer.state.log_history if "ghpo/prompts_skipped" in h]
    warnings = [r.getMessage() for r in caplog.records if "skipped in one step" in r.getMessage()]
    passes = [n for n in skipped if n >= len(trainer.train_dataset)]
    assert len(warnings) == min(len(passes), 1)
    assert bool(passes) or not dynamic
    if warnings:
        assert f"{passes[0]:.0f} prompts skipped in one step, from a training set of 8" in warnings[0]


def test_accounting_averages_over_a_logging_window(tiny_model_dir, tmp_path):
    # one group a step, no shuffle: step 1's 'always' group is dropped and refilled (2+ rounds), step 2's 'alternate'
    # group is mixed (1 round); one logged line holds both steps, each counted once (none overwrites the other)
    trainer = _recording(GHPOTrainer)(
        model=tiny_model_dir, reward_funcs=[selection_reward, length_reward],
        args=_config(tmp_path / "o", max_steps=2, logging_steps=2, per_device_train_batch_size=G, shuffle_dataset=False),
        train_dataset=make_selection_dataset(repeat=1, rules=("always",) + ("alternate",) * 7))
    trainer.train()
    (logs,) = [h for h in trainer.state.log_history if "loss" in h]
    calls = [len(c) // G for c in trainer.sampled]
    assert calls[-1] == 1 and len(calls) >= 3  # step 2 sampled once, step 1 at least twice
    assert logs["ghpo/gen_rounds"] == pytest.approx(len(trainer.sampled) / 2)
    assert logs["ghpo/sampled_tokens"] == pytest.approx(sum(len(c) for call in trainer.sampled for _, c in call) / 2)


def test_reward_metric_judges_groups_on_the_weighted_total(tiny_model_dir, tmp_path):
    # the shaped length reward makes nearly every group's total vary, so groups the trigger alone calls zero-variance
    # ('always', 'never') are kept under 'reward'
    by_metric = {}
    for metric in ("trigger", "reward"):
        trainer = _trainer(tmp_path / metric, tiny_model_dir, dynamic_sampling_metric=metric)
        trainer.train()
        by_metric[metric] = trainer.state.log_history[0]["ghpo/groups_dropped"]
    assert by_metric["trigger"] >= 2 and by_metric["reward"] < by_metric["trigger"]


def test_selection_settings_are_checked_before_any_generation(tiny_model_dir, tmp_path):
    with pytest.raises(ValueError, match="dynamic_sampling_metric must be one of trigger, reward"):
        _config(tmp_path, dynamic_sampling_metric="acc")
    with pytest.raises(ValueError, match="max_num_generation_batches must be >= 1"):
        _config(tmp_path, max_num_generation_batches=0)
    with pytest.raises(ValueError, match="greso_p_min <= greso_p_start"):
        _config(tmp_path, use_pre_rollout_skipping=True, greso_p_start=0.01)
    with pytest.raises(ValueError, match="greso_max_draws must be >= 1 or None"):
        _config(tmp_path, use_pre_rollout_skipping=True, greso_max_draws=0)
    iterable = make_selection_dataset().to_iterable_dataset()
    with pytest.raises(ValueError, match="map-style train_dataset"):
        GHPOTrainer(model=tiny_model_dir, reward_funcs=[selection_reward], args=_config(tmp_path, max_steps=1),
                    train_dataset=iterable)


def test_reward_metric_needs_no_trigger_in_plain_grpo(tiny_model_dir, tmp_path):
    # a plain GRPO user whose rewards hold no accuracy function: groups are judged on the weighted total alone
    def constant_reward(completions, **kwargs):
        return [1.0] * len(completions)  # every group zero-variance on it: all dropped, refilled, then masked

    args = _config(tmp_path / "o", dynamic_sampling_metric="reward", max_num_generation_batches=2)
    trainer = _recording(GHPOTrainer)(model=tiny_model_dir, reward_funcs=[constant_reward], args=args,
                                      train_dataset=make_selection_dataset())
    trainer.train()
    logs = trainer.state.log_history[0]
    assert logs["ghpo/groups_dropped"] == 16 // G and logs["ghpo/groups_unfilled"] == 16 // G
    with pytest.raises(ValueError, match="hint_trigger_reward='accuracy_reward' is not among the reward functions"):
        GHPOTrainer(model=tiny_model_dir, reward_funcs=[constant_reward], args=_config(tmp_path / "t"),
                    train_dataset=make_selection_dataset())
