"""GHPOTrainer end to end on a tiny random Llama with a scripted trigger reward (CPU, seconds)."""

import json
import math

import pytest
import torch
from trl import GRPOConfig, GRPOTrainer

from ghpo.trainer import GHPOConfig, GHPOTrainer

from .scripted import accuracy_reward, completion_text, length_reward, make_dataset, partly_right

G = 2


def _config(tmp_path, cls=GHPOConfig, **overrides):
    kwargs = dict(
        output_dir=str(tmp_path / "out"),
        per_device_train_batch_size=12,
        num_generations=G,
        max_completion_length=6,
        max_steps=1,
        learning_rate=1e-2,
        logging_steps=1,
        report_to="none",
        save_strategy="no",
        seed=0,
        use_cpu=True,
        bf16=False,
        shuffle_dataset=False,
    )
    if cls is GHPOConfig:  # a named schedule: a missing column or trigger is an error (test_dropin.py has 'auto')
        kwargs.update(hint_schedule="staged", hint_unit="step", log_rollouts=True)
    kwargs.update(overrides)
    return cls(**kwargs)


def _recording(base):
    """A trainer class that records every sampling call and what _generate_and_score_completions returns."""

    class Recording(base):
        def __init__(self, *a, **k):
            super().__init__(*a, **k)
            self.sampled = []  # (prompt ids, completion ids) for every sampled completion, per call
            self.scored = []

        def _generate_single_turn(self, prompt_ids, *a, **k):
            completion_ids, logprobs = super()._generate_single_turn(prompt_ids, *a, **k)
            self.sampled.append([(tuple(p), tuple(c)) for p, c in zip(prompt_ids, completion_ids)])
            return completion_ids, logprobs

        def _generate_and_score_completions(self, inputs):
            out = super()._generate_and_score_completions(inputs)
            self.scored.append(out)
            return out

    return Recording


def _unpad(ids, mask):
    return [tuple(row[m.bool()].tolist()) for row, m in zip(ids, mask)]


def _train(tiny_model_dir, tmp_path, base=GHPOTrainer, chat=False, repeat=1, **overrides):
    cls = GHPOConfig if issubclass(base, GHPOTrainer) else GRPOConfig
    args = _config(tmp_path, cls=cls, **overrides)
    trainer = _recording(base)(
        model=tiny_model_dir,
        reward_funcs=[accuracy_reward, length_reward],
        args=args,
        train_dataset=make_dataset(chat=chat, repeat=repeat),
    )
    before = {n: p.detach().clone() for n, p in trainer.model.named_parameters()}
    trainer.train()
    changed = [n for n, p in trainer.model.named_parameters() if not torch.equal(before[n], p.detach())]
    return trainer, changed


def _tok(trainer, text):
    return trainer.processing_class(text=[text])["input_ids"][0]


@pytest.mark.parametrize(
    "chat, device",
    [(False, "cpu"), (True, "cpu"), pytest.param(True, "cuda", marks=pytest.mark.gpu)],
)
def test_staged_hints_rescue_in_order_and_train_on_what_was_sampled(tiny_model_dir, tmp_path, chat, device):
    on_gpu = dict(use_cpu=False, bf16=True) if device == "cuda" else {}
    trainer, changed = _train(tiny_model_dir, tmp_path, chat=chat, **on_gpu)
    assert trainer.model.device.type == device
    tok = trainer.processing_class

    # Stages in order: the original round, then 0.25 (needs-half, needs-quarter, never), 0.5 (needs-half,
    # never), 0.75 (never). Each call holds whole groups of G.
    decoded = [[tok.decode(list(p)) for p, _ in call] for call in trainer.sampled]
    assert [len(c) for c in decoded] == [12, 3 * G, 2 * G, 1 * G]
    assert not any("S1" in t for t in decoded[0])
    assert all("S1" in t and "S2" not in t for t in decoded[1])
    assert all("S2" in t and "S3" not in t for t in decoded[2])
    assert all("S3" in t and "S4" not in t for t in decoded[3])
    assert all("The final answer" not in t and "boxed" not in t for call in decoded for t in call)

    # The invariant: every (prompt ids, completion ids) pair in the loss batch was sampled exactly so.
    sampled = {pair for call in trainer.sampled for pair in call}
    (out,) = trainer.scored
    pairs = list(zip(_unpad(out["prompt_ids"], out["prompt_mask"]), _unpad(out["completion_ids"], out["completion_mask"])))
    assert len(pairs) == 12
    for pair in pairs:
        assert pair in sampled
    # ... and rescued groups carry their hinted prompt into the loss.
    loss_prompts = [tok.decode(list(p)) for p, _ in pairs]
    by_id = dict(zip([r for r in ["needs-half", "needs-quarter", "solvable", "never", "no-hint", "bad-gold"] for _ in range(G)], loss_prompts))
    assert "S2" in by_id["needs-half"] and "S3" not in by_id["needs-half"]
    assert "S1" in by_id["needs-quarter"] and "S2" not in by_id["needs-quarter"]
    assert "S3" in by_id["never"]  # never rescued: the paper trains on the last stage
    assert "S1" not in by_id["solvable"] and "S1" not in by_id["no-hint"] and "S1" not in by_id["bad-gold"]

    # Metrics reach TRL's logs.
    logs = trainer.state.log_history[0]
    assert logs["ghpo/hard_frac"] == pytest.approx(3 / 6)
    assert logs["ghpo/rescued_frac/0.25"] == pytest.approx(1 / 6)
    assert logs["ghpo/rescued_frac/0.5"] == pytest.approx(1 / 6)
    assert logs["ghpo/rescued_frac/0.75"] == pytest.approx(0.0)
    assert logs["ghpo/unsolved_frac"] == pytest.approx(1 / 6)
    assert logs["ghpo/trigger_none_frac"] == pytest.approx(1 / 6)
    assert logs["ghpo/gen_rounds"] == 4
    assert logs["ghpo/hint_ratio_mean"] == pytest.approx((0.25 + 0.5 + 0.75) / 6)
    assert logs["ghpo/hint_tokens_mean"] > 0
    sampled_hint_tokens = sum(len(c) for call in trainer.sampled[1:] for _, c in call)
    assert logs["ghpo/extra_completion_tokens"] == sampled_hint_tokens
    # The rescued groups are right after hinting, so the trained accuracy is above the unhinted one.
    assert logs["rewards/accuracy_reward/mean"] == pytest.approx((2 + 2 + 2) / 10)  # 10 scorable completions

    # The optimizer step ran.
    assert trainer.state.global_step == 1
    assert changed

    # The rollout trace holds every stage of every group.
    trace = [json.loads(line) for line in open(tmp_path / "out" / "rollouts.jsonl")]
    assert len(trace) == 6
    half = next(r for r in trace if r["problem_id"] == "needs-half")
    assert [s["ratio"] for s in half["stages"]] == [0.0, 0.25, 0.5] and half["trained_ratio"] == 0.5
    assert half["stages"][2]["trigger"] == [1.0, 1.0]


def test_unrescued_original_keeps_unhinted_sample(tiny_model_dir, tmp_path):
    trainer, _ = _train(tiny_model_dir, tmp_path, hint_unrescued="original")
    tok = trainer.processing_class
    (out,) = trainer.scored
    prompts = [tok.decode(list(p)) for p in _unpad(out["prompt_ids"], out["prompt_mask"])]
    assert "S1" not in prompts[3 * G] and "S1" in prompts[0]  # 'never' (group 3) unhinted, 'needs-half' hinted


def test_fixed_schedule_tries_one_ratio(tiny_model_dir, tmp_path):
    trainer, _ = _train(tiny_model_dir, tmp_path, hint_schedule="fixed")
    assert [len(c) for c in trainer.sampled] == [12, 3 * G]
    logs = trainer.state.log_history[0]
    assert logs["ghpo/rescued_frac/0.5"] == pytest.approx(2 / 6)


def test_schedule_none_generates_like_trl(tiny_model_dir, tmp_path):
    ghpo, _ = _train(tiny_model_dir, tmp_path / "ghpo", hint_schedule="none", max_steps=2)
    trl, _ = _train(tiny_model_dir, tmp_path / "trl", base=GRPOTrainer, max_steps=2)
    assert len(ghpo.sampled) == len(trl.sampled) == 2
    assert [len(c) for c in ghpo.sampled] == [len(c) for c in trl.sampled]
    assert not any(k.startswith("ghpo/") for k in ghpo.state.log_history[0])


def test_cold_start_no_hints_before_start_step(tiny_model_dir, tmp_path):
    trainer, _ = _train(tiny_model_dir, tmp_path, hint_start_step=1, max_steps=2)
    # step 0: one plain round; step 1: the plain round plus three hint stages
    assert [len(c) for c in trainer.sampled] == [12, 12, 3 * G, 2 * G, 1 * G]
    assert "ghpo/hard_frac" not in trainer.state.log_history[0]
    assert trainer.state.log_history[1]["ghpo/hard_frac"] == pytest.approx(0.5)


def test_hint_memory_skips_failed_stages_and_survives_checkpoint(tiny_model_dir, tmp_path):
    # Char cuts of ratios 0.1/0.25/0.5 are "S1 ", "S1 alpha", "S1 alpha\nS2 beta\n" (all distinct, none empty):
    # needs-quarter is rescued at stage 0 and needs-half at stage 2; next time each starts one stage below its rescue.
    trainer, _ = _train(
        tiny_model_dir, tmp_path, hint_memory=True, hint_unit="char", hint_ratios=[0.1, 0.25, 0.5], max_steps=2,
        save_strategy="steps", save_steps=1,
    )
    assert trainer.hint_memory.rescued_stage == {"needs-half": 2, "needs-quarter": 0}
    tok = trainer.processing_class
    groups = [len(c) // G for c in trainer.sampled]
    # step 0: plain, stage 0 (half, quarter, never), stage 1 (half, never), stage 2 (half, never)
    # step 1: plain, stage 0 (quarter, never: half skips it), stage 1 (half, never), stage 2 (half, never)
    assert groups == [6, 3, 2, 2, 6, 2, 2, 2]
    stage0_step1 = {tok.decode(list(p)) for p, _ in trainer.sampled[5]}
    assert not any("needs-half" in t for t in stage0_step1)
    assert any("needs-quarter" in t for t in stage0_step1) and any("never" in t for t in stage0_step1)
    saved = json.loads(open(tmp_path / "out" / "checkpoint-2" / "ghpo_state.json").read())
    assert saved["hint_memory"]["rescued_stage"] == {"needs-half": 2, "needs-quarter": 0}


def test_empty_and_repeated_stages_are_skipped_not_sampled(tiny_model_dir, tmp_path):
    # Step cuts of 0.1/0.2/0.25/0.5: 0 markers (empty), 1, 1 (same as before), 2. Only two stages may be sampled.
    trainer, _ = _train(tiny_model_dir, tmp_path, hint_ratios=[0.1, 0.2, 0.25, 0.5])
    groups = [len(c) // G for c in trainer.sampled]
    assert groups == [6, 3, 2]  # plain; 0.2 (half, quarter, never); 0.5 (half, never)
    m = trainer.state.log_history[0]
    # hard groups: half, quarter, never. Stage 0.1 skipped for 3; 0.25 skipped for the 2 still hard.
    assert m["ghpo/skipped_stages"] == 5.0
    assert m["ghpo/gen_rounds"] == 3.0
    assert m["ghpo/rescued_frac/0.2"] == pytest.approx(1 / 6) and m["ghpo/rescued_frac/0.5"] == pytest.approx(1 / 6)
    assert m["ghpo/rescued_frac/0.1"] == 0.0 and m["ghpo/rescued_frac/0.25"] == 0.0
    records = [json.loads(line) for line in open(tmp_path / "out" / "rollouts.jsonl")]
    half = next(r for r in records if r["problem_id"] == "needs-half")
    assert half["skipped_ratios"] == [0.1, 0.25] and [s["ratio"] for s in half["stages"]] == [0.0, 0.2, 0.5]
    assert [s["hint"] for s in half["stages"]] == ["", "S1 alpha", "S1 alpha\nS2 beta"]


def test_one_step_hint_is_never_hard(tiny_model_dir, tmp_path):
    one_step = "S1 alpha\nThe final answer is \\boxed{5}."  # its only step states the answer: nothing to hint
    rows = [dict(r, solution_hint=one_step) for r in make_dataset()]
    from datasets import Dataset

    args = _config(tmp_path)
    trainer = _recording(GHPOTrainer)(model=tiny_model_dir, reward_funcs=[accuracy_reward, length_reward], args=args,
                                      train_dataset=Dataset.from_list(rows))
    trainer.train()
    m = trainer.state.log_history[0]
    assert [len(c) // G for c in trainer.sampled] == [6]  # no hint stage ran
    assert m["ghpo/hard_frac"] == 0.0 and m["ghpo/unhintable_frac"] == pytest.approx(4 / 6)  # half, quarter, never, no-hint (now has text)


def test_config_errors_are_clear(tmp_path):
    with pytest.raises(ValueError, match="exactly one ratio"):
        _config(tmp_path, hint_schedule="fixed", hint_ratios=[0.25, 0.5])
    with pytest.raises(ValueError, match="hint_unit"):
        _config(tmp_path, hint_unit="words")
    with pytest.raises(ValueError, match="must contain"):
        _config(tmp_path, hint_template="no placeholder")


def test_trigger_must_be_a_named_reward(tiny_model_dir, tmp_path):
    with pytest.raises(ValueError, match="not among the reward functions"):
        GHPOTrainer(
            model=tiny_model_dir,
            reward_funcs=[length_reward],
            args=_config(tmp_path),
            train_dataset=make_dataset(),
        )


def test_token_cut_uses_the_policy_tokenizer(tiny_model_dir, tmp_path):
    trainer = GHPOTrainer(model=tiny_model_dir, reward_funcs=[accuracy_reward],
                          args=_config(tmp_path, hint_unit="token"), train_dataset=make_dataset())
    hint = "Step 1: 47 + 38 = 85\nStep 2: 85 - 12 = 73\nStep 3: 73 + 9 = 82\nThe final answer is \\boxed{82}."
    body = "Step 1: 47 + 38 = 85\nStep 2: 85 - 12 = 73\nStep 3: 73 + 9 = 82"
    n_tokens = len(trainer.processing_class(body, add_special_tokens=False)["input_ids"])
    cuts = trainer._plan_hints(hint, "82")
    assert all(cuts)  # three distinct, non-empty stages
    for cut in cuts:
        assert body.startswith(cut) and (len(cut) == len(body) or body[len(cut)].isspace())
        assert "Step 3" not in cut  # the answer step is never hinted
    assert len(cuts[0]) < len(cuts[1]) < len(cuts[2])
    half = len(trainer.processing_class(cuts[1], add_special_tokens=False)["input_ids"])
    assert abs(half - n_tokens / 2) <= 4  # about half the policy tokens, backed off to a word boundary


def test_response_placement_opens_the_answer_with_the_hint(tiny_model_dir, tmp_path):
    """hint_placement='response' through TRL's real tokenization of a chat model: the hint opens the assistant
    turn (left open), the loss sees exactly those prompt ids, and rewards get the hint as response_prefix."""
    seen = []

    def prefix_probe(completions, response_prefix=None, **kwargs):
        seen.append(list(response_prefix) if response_prefix is not None else None)
        return [0.0] * len(completions)

    args = _config(tmp_path, hint_placement="response")
    assert args.hint_template == "{hint}\n"
    trainer = _recording(GHPOTrainer)(model=tiny_model_dir, reward_funcs=[accuracy_reward, prefix_probe], args=args,
                                      train_dataset=make_dataset(chat=True))
    trainer.train()
    tok = trainer.processing_class
    data = make_dataset(chat=True)

    # Stage 0.25 sampled needs-half, needs-quarter, never; each prompt is the unhinted chat with the assistant turn
    # opened by the hint and not closed: the generation prompt of the plain prompt, then the hint, then nothing.
    for call, ids, marker in [(1, ["needs-half", "needs-quarter", "never"], "S1 alpha\n"),
                              (2, ["needs-half", "never"], "S1 alpha\nS2 beta\n")]:
        for k, (p, _) in enumerate(trainer.sampled[call]):
            row = next(r for r in data if r["id"] == ids[k // G])
            plain = tok.apply_chat_template(row["prompt"], add_generation_prompt=True, tokenize=False)
            assert tok.decode(list(p)) == plain + marker
            assert "S1" not in tok.decode(list(p)).split("<|im_start|>assistant")[0]  # not in the user message

    # The invariant holds for the loss batch.
    sampled = {pair for call in trainer.sampled for pair in call}
    (out,) = trainer.scored
    pairs = list(zip(_unpad(out["prompt_ids"], out["prompt_mask"]), _unpad(out["completion_ids"], out["completion_mask"])))
    assert all(pair in sampled for pair in pairs)
    # Rewards (TRL's call, the last one) see each row's opening: the trained hint, or "" where none.
    prefixes = seen[-1]
    assert prefixes[0:G] == ["S1 alpha\nS2 beta\n"] * G  # needs-half, rescued at 0.5
    assert prefixes[G:2 * G] == ["S1 alpha\n"] * G  # needs-quarter, rescued at 0.25
    assert prefixes[2 * G:3 * G] == [""] * G  # solvable
    assert prefixes[3 * G:4 * G] == ["S1 alpha\nS2 beta\nS3 gamma\n"] * G  # never: last stage


@pytest.mark.slow
def test_response_placement_with_smollm2_chat_template():
    """SmolLM2-135M-Instruct's own template: the rendered prompt ends with the hint inside an open assistant turn."""
    from transformers import AutoTokenizer

    from ghpo.guidance import RESPONSE_HINT_TEMPLATE, render_hinted_prompt
    from ghpo.models import resolve_model
    from ghpo.trainer import render_continued_chat

    tok = AutoTokenizer.from_pretrained(resolve_model("smollm2-135m-instruct"))
    chat = [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Calculate 4 + 8 - 3."}]
    hinted = render_hinted_prompt(chat, "Step 1: 4 + 8 = 12", RESPONSE_HINT_TEMPLATE, "response")
    (ids,) = render_continued_chat(tok, [hinted])
    text = tok.decode(ids)
    plain = tok.apply_chat_template(chat, add_generation_prompt=True, tokenize=False)
    assert text == plain + "Step 1: 4 + 8 = 12\n"
    assert not text.rstrip().endswith("<|im_end|>")


def _counting(func):
    calls = []

    def accuracy_reward(prompts, completions, **kwargs):  # same __name__: it is the trigger
        calls.append(len(completions))
        return func(prompts=prompts, completions=completions, **kwargs)

    return accuracy_reward, calls


@pytest.mark.parametrize("schedule", ["staged", "none"])
def test_trigger_is_scored_once_per_completion(tiny_model_dir, tmp_path, schedule):
    """No double scoring: TRL's reward call reuses what guidance scored; hinted rounds score only their own."""
    trigger, calls = _counting(accuracy_reward)
    args = _config(tmp_path, hint_schedule=schedule)
    trainer = GHPOTrainer(model=tiny_model_dir, reward_funcs=[trigger, length_reward], args=args,
                          train_dataset=make_dataset())
    probes = list(calls)  # at start: each row's gold probed once (the hint data report), never a completion
    assert probes == ([] if schedule == "none" else [len(make_dataset())])
    trainer.train()
    calls = calls[len(probes):]
    if schedule == "none":
        assert calls == [12]  # TRL's own call
    else:
        assert calls == [12, 3 * G, 2 * G, 1 * G]  # round 0 and three stages; TRL's call was answered from them
    logs = trainer.state.log_history[0]
    expected = (2 + 2 + 2) / 10 if schedule == "staged" else 2 / 10  # rescued groups are right after hinting
    assert logs["rewards/accuracy_reward/mean"] == pytest.approx(expected)


def test_budgeted_memory_starts_at_the_rescue_and_gives_up_then_retries(tiny_model_dir, tmp_path):
    # Char cuts of 0.1/0.25/0.5: needs-quarter rescued at stage 0, needs-half at stage 2, never: no stage.
    trainer, _ = _train(
        tiny_model_dir, tmp_path, hint_memory=True, hint_memory_start="at", hint_give_up_after=1,
        hint_retry_after=1, hint_unit="char", hint_ratios=[0.1, 0.25, 0.5], max_steps=3,
    )
    groups = [len(c) // G for c in trainer.sampled]
    # step 0: plain; stage 0 (half, quarter, never); stage 1 (half, never); stage 2 (half, never)
    # step 1: 'never' given up (1 failed visit); half starts at its rescue stage 2; quarter at 0
    #         plain; stage 0 (quarter); stage 2 (half)
    # step 2: 'never' retried (1 visit skipped): plain; stage 0 (quarter, never); stage 1 (never); stage 2 (half, never)
    assert groups == [6, 3, 2, 2, 6, 1, 1, 6, 2, 1, 2]
    logs = trainer.state.log_history
    assert [h["ghpo/memory_given_up"] for h in logs[:3]] == pytest.approx([0.0, 1 / 6, 0.0])
    # saved (group, stage) pairs: step 1: never 3 + half 2; step 2: half 2
    assert [h["ghpo/memory_saved_stages"] for h in logs[:3]] == [0.0, 5.0, 2.0]
    assert [h["ghpo/gen_rounds"] for h in logs[:3]] == [4.0, 3.0, 4.0]
    assert trainer.hint_memory.failed_visits == {"never": 2}


def test_single_round_samples_every_stage_at_once_and_trains_on_the_least_help(tiny_model_dir, tmp_path):
    trainer, _ = _train(tiny_model_dir, tmp_path, hint_rounds="single")
    tok = trainer.processing_class
    assert [len(c) // G for c in trainer.sampled] == [6, 9]  # one extra call: 3 hard groups x 3 stages
    logs = trainer.state.log_history[0]
    assert logs["ghpo/gen_rounds"] == 2
    assert logs["ghpo/rescued_frac/0.25"] == pytest.approx(1 / 6) and logs["ghpo/rescued_frac/0.5"] == pytest.approx(1 / 6)
    (out,) = trainer.scored
    pairs = list(zip(_unpad(out["prompt_ids"], out["prompt_mask"]), _unpad(out["completion_ids"], out["completion_mask"])))
    sampled = {pair for call in trainer.sampled for pair in call}
    assert all(pair in sampled for pair in pairs)
    prompts = [tok.decode(list(p)) for p, _ in pairs]
    assert "S2" in prompts[0] and "S3" not in prompts[0]  # needs-half: 0.5 was enough (0.75 was right too)
    assert "S1" in prompts[G] and "S2" not in prompts[G]  # needs-quarter: 0.25
    assert "S3" in prompts[3 * G]  # never: the last stage
    # Every stage's tokens are counted, kept or not.
    assert logs["ghpo/extra_completion_tokens"] == sum(len(c) for _, c in trainer.sampled[1])


def test_one_stage_per_visit_climbs_across_steps_in_two_rounds(tiny_model_dir, tmp_path):
    # Char cuts of 0.1/0.25/0.5: needs-quarter is rescued at stage 0, needs-half at stage 2, never by none.
    trainer, _ = _train(
        tiny_model_dir, tmp_path, hint_memory=True, hint_memory_start="at", hint_stages_per_visit=1,
        hint_rounds="single", hint_unit="char", hint_ratios=[0.1, 0.25, 0.5], max_steps=4,
    )
    # Each step: the plain round, then one hinted group per hard group (quarter, half, never) in one call:
    # half and never climb 0 -> 1 -> 2; half is rescued at 2 on step 2, never fails there and stays.
    assert [len(c) // G for c in trainer.sampled] == [6, 3] * 4
    logs = trainer.state.log_history[:4]
    assert [h["ghpo/gen_rounds"] for h in logs] == [2.0] * 4
    assert [h["ghpo/memory_saved_stages"] for h in logs] == [6.0] * 4  # 2 of 3 stages per hard group
    assert [h["ghpo/rescued_frac/0.1"] for h in logs] == pytest.approx([1 / 6] * 4)
    assert [h["ghpo/rescued_frac/0.5"] for h in logs] == pytest.approx([0, 0, 1 / 6, 1 / 6])
    memory = trainer.hint_memory
    assert memory.rescued_stage == {"needs-quarter": 0, "needs-half": 2}
    assert memory.failed_visits == {"never": 2} and memory.next_stage == {"never": 2}


def test_budget_config_errors(tmp_path):
    with pytest.raises(ValueError, match="needs hint_memory"):
        _config(tmp_path, hint_give_up_after=2)
    with pytest.raises(ValueError, match="hint_stages_per_visit needs hint_memory"):
        _config(tmp_path, hint_stages_per_visit=1)
    with pytest.raises(ValueError, match="hint_rounds"):
        _config(tmp_path, hint_rounds="parallel")
    with pytest.raises(ValueError, match="hint_memory_start"):
        _config(tmp_path, hint_memory=True, hint_memory_start="above")
    with pytest.raises(ValueError, match="hint_placement"):
        _config(tmp_path, hint_placement="system")


# ---------------------------------------------------------------------------------------------------------------
# The library checks what the CLI checks (issue 19)
# ---------------------------------------------------------------------------------------------------------------
def test_missing_hint_column_stops_before_generation(tiny_model_dir, tmp_path):
    data = make_dataset().rename_column("solution_hint", "worked")
    with pytest.raises(ValueError, match=r"hint_column='solution_hint'.*'worked'"):
        GHPOTrainer(model=tiny_model_dir, reward_funcs=[accuracy_reward], args=_config(tmp_path), train_dataset=data)
    with pytest.raises(ValueError, match=r"hint_gold_column='answer'.*columns are"):
        GHPOTrainer(model=tiny_model_dir, reward_funcs=[accuracy_reward], train_dataset=make_dataset(),
                    args=_config(tmp_path, hint_gold_column="answer"))


def test_hint_column_none_is_plain_grpo_said_once(tiny_model_dir, tmp_path, caplog):
    data = make_dataset().remove_columns("solution_hint")
    with caplog.at_level("WARNING", logger="ghpo.trainer"):
        trainer = _recording(GHPOTrainer)(model=tiny_model_dir, reward_funcs=[accuracy_reward], train_dataset=data,
                                          args=_config(tmp_path, hint_column=None))
        trainer.train()
    assert [r.message for r in caplog.records].count(
        "GHPOTrainer: hint_column=None, so no hints: this run is plain GRPO.") == 1
    assert len(trainer.sampled) == 1  # one generation round: no hints
    assert not any(k.startswith("ghpo/") for k in trainer.state.log_history[0])


def test_start_reports_unparsable_golds_and_unusable_hints(tiny_model_dir, tmp_path):
    trainer = GHPOTrainer(model=tiny_model_dir, reward_funcs=[accuracy_reward], args=_config(tmp_path),
                          train_dataset=make_dataset())
    report = trainer.hint_data
    assert (report.rows_checked, report.gold_unparsable, report.without_usable_hint) == (6, 1, 1)  # bad-gold; no-hint
    assert "1 of 6 rows" in report.summary() and "'solution_hint'" in report.summary()


def test_rollouts_after_resume_hold_each_step_once(tiny_model_dir, tmp_path):
    kw = dict(max_steps=3, save_strategy="steps", save_steps=2, per_device_train_batch_size=4)
    trainer, _ = _train(tiny_model_dir, tmp_path, **kw)
    path = tmp_path / "out" / "rollouts.jsonl"
    steps = [json.loads(line)["step"] for line in open(path)]
    assert sorted(set(steps)) == [0, 1, 2]
    args = _config(tmp_path, **kw)
    again = GHPOTrainer(model=tiny_model_dir, reward_funcs=[accuracy_reward], args=args, train_dataset=make_dataset())
    again.train(resume_from_checkpoint=str(tmp_path / "out" / "checkpoint-2"))
    resumed = [json.loads(line)["step"] for line in open(path)]
    assert resumed.count(2) == steps.count(2) and sorted(resumed) == sorted(steps)  # step 2 logged once, again
    superseded = [json.loads(line)["step"] for line in open(str(path) + ".superseded")]
    assert set(superseded) == {2}  # the first run's step 2 is kept aside, not lost


QWEN3_STYLE_TEMPLATE = (
    # Qwen3's rule, cut down: an assistant message after the last user turn gets a <think> block, empty if it has no
    # reasoning; the generation prompt opens the turn and the model writes its own <think> (thinking mode).
    "{%- for m in messages %}"
    "{%- if m.role == 'assistant' and loop.last %}"
    "{{- '<|im_start|>assistant\\n<think>\\n\\n</think>\\n\\n' + m.content }}"
    "{%- else %}{{- '<|im_start|>' + m.role + '\\n' + m.content + '<|im_end|>\\n' }}{%- endif %}"
    "{%- endfor %}"
    "{%- if add_generation_prompt %}{{- '<|im_start|>assistant\\n' }}{%- endif %}"
)


def test_response_hint_with_a_template_that_inserts_an_empty_think_block(tiny_model_dir, tmp_path):
    """Qwen3-style templates put '<think>\\n\\n</think>' before a final assistant message. The hint goes right after
    the generation prompt the unhinted samples come from instead, so hinted and unhinted samples share a mode."""
    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(tiny_model_dir)
    tok.chat_template = QWEN3_STYLE_TEMPLATE
    chat = [{"role": "user", "content": "Q: problem needs-quarter?"}, {"role": "assistant", "content": "S1 alpha\n"}]
    continued = tok.apply_chat_template(chat, continue_final_message=True, tokenize=False)
    assert "</think>" in continued  # what the template alone would do
    trainer = _recording(GHPOTrainer)(model=tiny_model_dir, reward_funcs=[accuracy_reward], processing_class=tok,
                                      args=_config(tmp_path, hint_placement="response"),
                                      train_dataset=make_dataset(chat=True))
    trainer.train()
    hinted = [tok.decode(list(p)) for p, _ in trainer.sampled[1]]
    plain = tok.apply_chat_template(chat[:1], add_generation_prompt=True, tokenize=False)
    assert plain + "S1 alpha\n" in hinted
    assert not any("think" in text for text in hinted)


# ---------------------------------------------------------------------------------------------------------------
# Inside a group: partly right groups, and TRL's batching knobs with a rescue (issue 20)
# ---------------------------------------------------------------------------------------------------------------


def _aligned_recording():
    """Records every sampling call with synthetic sampling log-probs (each token's value = the call's index), and
    the rewards TRL computed for each row of the loss batch."""

    class Aligned(_recording(GHPOTrainer)):
        def __init__(self, *a, **k):
            super().__init__(*a, **k)
            self.rows = []

        def _generate_single_turn(self, prompt_ids, *a, **k):
            completion_ids, _ = GHPOTrainer._generate_single_turn(self, prompt_ids, *a, **k)
            self.sampled.append([(tuple(p), tuple(c)) for p, c in zip(prompt_ids, completion_ids)])
            call = float(len(self.sampled) - 1)
            return completion_ids, [[call] * len(c) for c in completion_ids]

        def _generate_and_score_completions(self, inputs):
            out = super()._generate_and_score_completions(inputs)
            n = len(out["prompt_ids"])
            self.rows.append(list(zip(list(self._logs["prompt"])[-n:], list(self._logs["completion"])[-n:],
                                      list(self._logs["rewards"]["accuracy_reward"])[-n:])))
            return out

    return Aligned


def test_partly_right_groups_stay_aligned_row_by_row(tiny_model_dir, tmp_path):
    """Each loss row is the j-th sample of the stage its group trains on, with that sample's own log-probs and its
    own trigger value. Catches: rows shuffled inside a group (order check), log-probs of another stage kept (the
    call index check), a trigger value moved to another row (the reward check)."""
    from .scripted import _text

    G4 = 4
    trainer = _aligned_recording()(model=tiny_model_dir, reward_funcs=[partly_right], train_dataset=make_dataset(),
                                   args=_config(tmp_path, num_generations=G4, max_completion_length=8))
    trainer.train()
    (out,) = trainer.scored
    pairs = list(zip(_unpad(out["prompt_ids"], out["prompt_mask"]), _unpad(out["completion_ids"], out["completion_mask"])))
    logps = [row[m.bool()].tolist() for row, m in zip(out["sampling_per_token_logps"], out["completion_mask"])]
    hinted_groups = 0
    for g in range(len(pairs) // G4):
        group = pairs[g * G4:(g + 1) * G4]
        call = next(k for k, c in enumerate(trainer.sampled) if group[0] in c)
        start = trainer.sampled[call].index(group[0])
        assert trainer.sampled[call][start:start + G4] == group, f"group {g}: rows out of sampling order"
        assert all(set(lp) <= {float(call)} for lp in logps[g * G4:(g + 1) * G4]), f"group {g}: log-probs of another call"
        hinted_groups += call > 0
    assert hinted_groups >= 2
    (rows,) = trainer.rows
    rule_of = {r["prompt"] if isinstance(r["prompt"], str) else r["prompt"][0]["content"]: r["rule"] for r in make_dataset()}
    verdicts = []
    for prompt, completion, reward in rows:
        rule = next(v for k, v in rule_of.items() if k in _text(prompt))
        if rule:
            verdicts.append(reward)
            assert reward == float(rule in _text(prompt) and len(completion_text(completion)) % 2 == 0)
    groups = [verdicts[i:i + G4] for i in range(0, len(verdicts), G4)]
    assert any(0.0 in v and 1.0 in v for v in groups)  # a partly right group was trained


# TRL's batching knobs (issue 20); test_training_modes.py runs every hint training mode under them
BATCHING_KNOBS = [
    dict(steps_per_generation=2, per_device_train_batch_size=6),
    dict(num_iterations=2),
    dict(gradient_accumulation_steps=2, per_device_train_batch_size=6),
    dict(beta=0.1),
]


def knobs_id(knobs: dict) -> str:
    return ",".join(f"{a}={b}" for a, b in knobs.items())


@pytest.mark.parametrize("knobs", [
    *BATCHING_KNOBS, *[dict(loss_type=t) for t in ("grpo", "dr_grpo", "dapo", "bnpo", "cispo", "sapo", "luspo", "vespo")],
], ids=knobs_id)
def test_staged_rescue_under_trl_batching_knobs(tiny_model_dir, tmp_path, knobs):
    """A staged rescue under each of TRL's batching knobs and loss types: the loss sees the prompt ids each
    completion was sampled from, and the step trains."""
    trainer, changed = _train(tiny_model_dir, tmp_path, max_steps=2, **knobs)
    sampled = {pair for call in trainer.sampled for pair in call}
    assert any(len(call) < 12 for call in trainer.sampled)  # hinted rounds ran
    for out in trainer.scored:
        pairs = zip(_unpad(out["prompt_ids"], out["prompt_mask"]), _unpad(out["completion_ids"], out["completion_mask"]))
        assert all(pair in sampled for pair in pairs)
        if knobs.get("beta"):
            assert "ref_per_token_logps" in out  # reference log-probs computed on the hinted prompts
    assert changed
    assert all(math.isfinite(h["loss"]) for h in trainer.state.log_history if "loss" in h)


def test_reroll_uses_staged_rounds_without_any_hint(tiny_model_dir, tmp_path):
    """The re-roll control (issue 21): all-wrong groups with a usable hint are re-sampled under their unchanged
    prompt, in exactly the rounds staged would run while nothing is rescued, and its tokens are counted."""
    trainer, changed = _train(tiny_model_dir, tmp_path, hint_schedule="reroll")
    plain = set(trainer.sampled[0])
    round0_prompts = {p for p, _ in plain}
    # needs-half, needs-quarter and never are hard (markers never appear without a hint): 3 groups a round, 3 rounds.
    assert [len(call) for call in trainer.sampled] == [12, 3 * G, 3 * G, 3 * G]
    assert all(p in round0_prompts for call in trainer.sampled[1:] for p, _ in call)  # never a hint
    logs = trainer.state.log_history[0]
    extra = sum(len(c) for call in trainer.sampled[1:] for _, c in call)
    assert logs["ghpo/extra_completion_tokens"] == extra and logs["ghpo/gen_rounds"] == 4
    assert logs["ghpo/hint_ratio_mean"] == 0.0 and logs["ghpo/hint_tokens_mean"] == 0.0
    records = [json.loads(line) for line in open(tmp_path / "out" / "rollouts.jsonl")]
    assert all(stage["hint"] == "" for r in records for stage in r["stages"])
    (out,) = trainer.scored  # the loss sees only prompts sampled from (all unhinted)
    assert set(_unpad(out["prompt_ids"], out["prompt_mask"])) <= round0_prompts
    assert changed


@pytest.mark.parametrize("overrides", [dict(hint_schedule="none"), dict(hint_start_step=5)])
def test_plain_grpo_steps_are_recorded_with_log_rollouts(tiny_model_dir, tmp_path, overrides):
    """With log_rollouts, steps without guidance (plain GRPO, cold start) are recorded too (round 0 only), so an
    analysis reads every trained group from the trainer's own records; nothing is hinted or logged as guidance."""
    trainer, _ = _train(tiny_model_dir, tmp_path, **overrides)
    assert len(trainer.sampled) == 1  # one generation round
    records = [json.loads(line) for line in open(tmp_path / "out" / "rollouts.jsonl")]
    assert sorted(r["problem_id"] for r in records) == sorted(r["id"] for r in make_dataset())
    assert all(len(r["stages"]) == 1 and not r["hard"] and r["trained_ratio"] == 0.0 for r in records)
    solvable = next(r for r in records if r["problem_id"] == "solvable")
    assert solvable["stages"][0]["trigger"] == [1.0] * G and solvable["gold"] == "5"
    assert not any(k.startswith("ghpo/") for k in trainer.state.log_history[0])


def test_keep_unhinted_leaves_the_first_samples_of_a_hinted_group_unhinted(tiny_model_dir, tmp_path):
    """hint_keep_unhinted=1 (NuRL-style remedy, issue 21): each hinted group trains on 1 round-0 sample and G-1
    hinted ones; each row still pairs a completion with the prompt it was sampled from."""
    trainer, changed = _train(tiny_model_dir, tmp_path, hint_keep_unhinted=1)
    (out,) = trainer.scored
    pairs = list(zip(_unpad(out["prompt_ids"], out["prompt_mask"]), _unpad(out["completion_ids"], out["completion_mask"])))
    round0 = set(trainer.sampled[0])
    hinted = set().union(*map(set, trainer.sampled[1:]))
    assert all(p in round0 or p in hinted for p in pairs)
    groups = [pairs[g * G:(g + 1) * G] for g in range(len(pairs) // G)]
    mixed = [grp for grp in groups if grp[1] in hinted]
    assert len(mixed) == 3 and all(grp[0] in round0 for grp in mixed)  # needs-half, needs-quarter, never
    assert changed
    with pytest.raises(ValueError, match="hint_keep_unhinted"):
        _config(tmp_path, hint_keep_unhinted=G)
