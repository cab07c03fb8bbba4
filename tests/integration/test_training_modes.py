"""Each hint training mode end to end (issue 28): exactly what reaches the loss (prompt ids, completion ids and mask,
sampling log-probs as vLLM hands them over, old log-probs, rewards), and TRL's batching knobs in every mode.

The scripted batch (tests/integration/scripted.py, G = 2, in dataset order): needs-half (rescued at 0.5, stage 1),
needs-quarter (rescued at 0.25, stage 0), solvable, never (sampled up to 0.75, stage 2, never rescued), no-hint,
bad-gold. Sampling calls: 0 = round 0, 1 = stage 0.25, 2 = stage 0.5, 3 = stage 0.75."""

import math

import pytest
import torch
from transformers import AutoModelForCausalLM

from .scripted import accuracy_reward, length_reward, make_dataset
from .test_trainer import BATCHING_KNOBS, G, _aligned_recording, _config, _unpad, knobs_id

GROUPS = ["needs-half", "needs-quarter", "solvable", "never", "no-hint", "bad-gold"]
TRAINED_CALL = {"needs-half": 2, "needs-quarter": 1, "never": 3}  # the call whose samples each hinted group trains on
IMITATE = dict(hint_training="imitate", hint_placement="response", hint_keep_unhinted=1)


def _run(tiny_model_dir, tmp_path, chat=False, **overrides):
    trainer = _aligned_recording()(model=tiny_model_dir, reward_funcs=[accuracy_reward, length_reward],
                                   train_dataset=make_dataset(chat=chat), args=_config(tmp_path, **overrides))
    before = {n: p.detach().clone() for n, p in trainer.model.named_parameters()}
    trainer.train()
    changed = [n for n, p in trainer.model.named_parameters() if not torch.equal(before[n], p.detach())]
    return trainer, changed


def _rows(out):
    """Per loss row: (prompt ids, completion ids, sampling log-probs over the completion mask)."""
    prompts = _unpad(out["prompt_ids"], out["prompt_mask"])
    completions = _unpad(out["completion_ids"], out["completion_mask"])
    logps = [row[m.bool()].tolist() for row, m in zip(out["sampling_per_token_logps"], out["completion_mask"])]
    return list(zip(prompts, completions, logps))


def _by_group(trainer):
    (out,) = trainer.scored
    rows = _rows(out)
    return {name: rows[g * G:(g + 1) * G] for g, name in enumerate(GROUPS)}, out


def _round0_prompt(trainer, name):
    return trainer.sampled[0][GROUPS.index(name) * G][0]


def _sampled_of(trainer, call):
    return {c: p for p, c in trainer.sampled[call]}  # completion ids -> the prompt ids they were sampled under


def _is_nan(values):
    return [math.isnan(v) for v in values]


def test_hinted_trains_each_completion_under_its_sampled_prompt(tiny_model_dir, tmp_path):
    trainer, changed = _run(tiny_model_dir, tmp_path)
    groups, _ = _by_group(trainer)
    for name, call in TRAINED_CALL.items():
        for p, c, lp in groups[name]:
            assert (p, c) in trainer.sampled[call] and set(lp) == {float(call)}
    assert changed


def test_original_trains_hinted_completions_under_the_unhinted_prompt(tiny_model_dir, tmp_path):
    trainer, changed = _run(tiny_model_dir, tmp_path, hint_training="original")
    groups, _ = _by_group(trainer)
    for name, call in TRAINED_CALL.items():
        sampled = _sampled_of(trainer, call)
        for p, c, lp in groups[name]:
            assert p == _round0_prompt(trainer, name), name  # q, not q*
            assert c in sampled and sampled[c] != p  # y came from q* ...
            assert all(_is_nan(lp))  # ... so its vLLM log-probs describe another context: no IS ratio on them
    for p, c, lp in groups["solvable"]:
        assert (p, c) in trainer.sampled[0] and set(lp) == {0.0}  # plain GRPO rows untouched
    # Rewards grade what was sampled: the scripted trigger would say 'wrong' for q, the sample was right under q*.
    logged = list(trainer._logs["rewards"]["accuracy_reward"])[-12:]
    assert logged[0:2] == [1.0, 1.0] and logged[2:4] == [1.0, 1.0]  # needs-half, needs-quarter
    assert changed


def test_official_keeps_q_star_only_for_the_last_stage_that_ran(tiny_model_dir, tmp_path):
    trainer, changed = _run(tiny_model_dir, tmp_path, hint_training="official")
    groups, _ = _by_group(trainer)
    for name in ("needs-half", "needs-quarter"):  # rescued before 0.75, which ran for 'never': trained under q
        assert all(p == _round0_prompt(trainer, name) and all(_is_nan(lp)) for p, _, lp in groups[name])
    for p, c, lp in groups["never"]:  # sampled at the last stage: on-policy under q*
        assert (p, c) in trainer.sampled[3] and set(lp) == {3.0}
    assert changed


@pytest.mark.parametrize("chat", [False, True])
def test_imitate_trains_the_hint_as_the_opening_of_a_mixed_group(tiny_model_dir, tmp_path, chat):
    """Text prompts, and chat prompts (the hinted prompt is the chat template's generation prompt + the opening,
    tokenized together: the split after q's ids still yields exactly the sampled ids)."""
    trainer, changed = _run(tiny_model_dir, tmp_path, chat=chat, **IMITATE)
    groups, out = _by_group(trainer)
    tok = trainer.processing_class
    for name, call in TRAINED_CALL.items():
        (p0, c0, lp0), (p1, c1, lp1) = groups[name]
        assert (p0, c0) in trainer.sampled[0] and set(lp0) == {0.0}  # the kept unhinted sample
        q = _round0_prompt(trainer, name)
        assert p1 == q
        sampled = [pp + cc for pp, cc in trainer.sampled[call]]
        assert p1 + c1 in sampled  # prompt + completion are exactly the sampled ids, split after q
        opening = len(c1) - next(len(cc) for pp, cc in trainer.sampled[call] if pp + cc == p1 + c1)
        assert opening > 0 and "S1" in tok.decode(list(c1[:opening]))  # the hint's tokens are completion ...
        assert _is_nan(lp1) == [True] * opening + [False] * (len(c1) - opening)  # ... not sampled by the policy
        assert set(lp1[opening:]) == {float(call)}
    # the loss trains the hint tokens: the completion mask covers them
    row = GROUPS.index("needs-half") * G + 1
    assert out["completion_mask"][row].sum().item() == len(groups["needs-half"][1][1])
    logged = list(trainer._logs["completion"])[-12:]
    assert "S1 alpha" in logged[row] if isinstance(logged[row], str) else "S1 alpha" in logged[row][0]["content"]
    assert changed


def _logps(model, prompt_ids, completion_ids):
    ids = torch.tensor([list(prompt_ids) + list(completion_ids)])
    with torch.no_grad():
        logits = model(ids).logits[0, len(prompt_ids) - 1:-1]
    return torch.log_softmax(logits.float(), dim=-1).gather(1, torch.tensor(completion_ids)[:, None])[:, 0]


# TRL skips old log-probs (GHPO computes them) / TRL computes them itself (GHPO overrides the rows it corrects)
OLD_LOGPS_KNOBS = pytest.mark.parametrize(
    "knobs", [dict(), dict(num_iterations=2), dict(steps_per_generation=2, per_device_train_batch_size=6)],
    ids=["ghpo-computes-old", "num_iterations=2", "steps_per_generation=2"])


@OLD_LOGPS_KNOBS
@pytest.mark.parametrize("mode", ["original", "official"])
def test_guide_correction_uses_the_behaviour_policy_as_old_logprobs(tiny_model_dir, tmp_path, mode, knobs):
    """Guide-GRPO: an off-prompt row's old log-probs are log pi(y | q*) of the policy that sampled it, so the loss
    ratio is pi_theta(y|q) / pi_old(y|q*); every other row keeps log pi(y | its own prompt)."""
    trainer, changed = _run(tiny_model_dir, tmp_path, hint_training=mode, hint_off_policy_correction="guide", **knobs)
    (out,) = trainer.scored
    initial = AutoModelForCausalLM.from_pretrained(tiny_model_dir)  # the weights the batch was sampled with
    old = [row[m.bool()] for row, m in zip(out["old_per_token_logps"], out["completion_mask"])]
    off = 0
    for i, (p, c, lp) in enumerate(_rows(out)):
        behaviour = next((pp for call in trainer.sampled for pp, cc in call if cc == c), p)
        expected_prompt = behaviour if all(_is_nan(lp)) else p
        off += expected_prompt != p
        assert torch.allclose(old[i], _logps(initial, expected_prompt, c), atol=1e-4), i
    assert off == (3 * G if mode == "original" else 2 * G)
    assert changed


@OLD_LOGPS_KNOBS
def test_guide_correction_gives_imitated_hint_tokens_behaviour_probability_one(tiny_model_dir, tmp_path, knobs):
    """imitate + Guide: the hint's tokens opening a completion were copied from the reference (old log-prob 0, so the
    ratio on them is pi_theta(hint token)); the sampled continuation and every other row keep log pi(y | own
    prompt), the context they were sampled in."""
    trainer, changed = _run(tiny_model_dir, tmp_path, hint_off_policy_correction="guide", **IMITATE, **knobs)
    (out,) = trainer.scored
    initial = AutoModelForCausalLM.from_pretrained(tiny_model_dir)
    old = [row[m.bool()] for row, m in zip(out["old_per_token_logps"], out["completion_mask"])]
    copied = 0
    for i, (p, c, lp) in enumerate(_rows(out)):
        n = sum(_is_nan(lp))  # the opening the policy did not sample (imitate rows only)
        copied += n > 0
        assert torch.equal(old[i][:n], torch.zeros(n)), i
        assert torch.allclose(old[i][n:], _logps(initial, p, c)[n:], atol=1e-4), i
    assert copied == 3  # one hinted sample in each of needs-half, needs-quarter, never (G = 2, one kept unhinted)
    assert changed


def _allowed(mode, trainer, p, c):
    """Whether a loss row (prompt ids, completion ids) is one this mode may build from what was sampled."""
    sampled = {pair for call in trainer.sampled for pair in call}
    round0 = {pp for pp, _ in trainer.sampled[0]}
    if (p, c) in sampled:
        return True
    if mode in ("original", "official"):
        return p in round0 and any(cc == c for call in trainer.sampled[1:] for _, cc in call)
    if mode == "imitate":
        return p in round0 and any(pp + cc == p + c for call in trainer.sampled[1:] for pp, cc in call)
    return False


@pytest.mark.parametrize("mode", [dict(), dict(hint_training="original"), dict(hint_training="official"),
                                  IMITATE, dict(hint_training="original", hint_off_policy_correction="guide"),
                                  dict(IMITATE, hint_off_policy_correction="guide")],
                         ids=["hinted", "original", "official", "imitate", "original+guide", "imitate+guide"])
@pytest.mark.parametrize("knobs", BATCHING_KNOBS, ids=knobs_id)
def test_every_mode_under_trl_batching_knobs(tiny_model_dir, tmp_path, mode, knobs):
    trainer, changed = _run(tiny_model_dir, tmp_path, max_steps=2, **mode, **knobs)
    name = mode.get("hint_training", "hinted")
    assert any(len(call) < 12 for call in trainer.sampled)  # hinted rounds ran
    off = 0
    for out in trainer.scored:
        for p, c, lp in _rows(out):
            assert _allowed(name, trainer, p, c)
            off += any(_is_nan(lp))
        if knobs.get("beta"):
            assert "ref_per_token_logps" in out
    assert (off > 0) == (name != "hinted")
    assert changed
    assert all(math.isfinite(h["loss"]) for h in trainer.state.log_history if "loss" in h)


def test_reward_functions_receive_each_rows_loss_prompt_and_answer(tiny_model_dir, tmp_path):
    """The contract _guide keeps by writing into TRL's own prompts/inputs lists: every reward function gets, row by
    row, the prompt the loss uses, the completion it trains and the answer's opening it continues."""
    seen = []

    def recording_reward(prompts, completions, response_prefix=None, **kwargs):
        seen.append(list(zip(prompts, completions, response_prefix)))
        return [0.0] * len(prompts)

    for mode, q_star in ((dict(hint_placement="response"), True), (IMITATE, False)):
        seen.clear()
        trainer = _aligned_recording()(model=tiny_model_dir, reward_funcs=[accuracy_reward, recording_reward],
                                       train_dataset=make_dataset(), args=_config(tmp_path, **mode))
        trainer.train()
        (rows,) = seen
        for g, name in enumerate(GROUPS):
            for j, (prompt, completion, prefix) in enumerate(rows[g * G:(g + 1) * G]):
                hinted = name in TRAINED_CALL and not (j == 0 and mode is IMITATE)
                opening = "S1" in prefix or "S1" in completion
                assert opening == hinted, (mode, name, j)
                assert ("S1" in prompt) == (hinted and q_star), (mode, name, j)  # imitate: the loss prompt is q


def test_reference_places_the_solution_as_one_off_policy_sample(tiny_model_dir, tmp_path):
    """hint_schedule='reference' (LUFFY-style imitation baseline): no extra generation; in each all-wrong group with
    a solution, the last row is the reference solution as the completion of the unhinted prompt, with NaN sampling
    log-probs, scored by the trigger; the other rows are the group's own samples."""
    from .scripted import HINT, _text, completion_text

    def accuracy_reward(prompts, completions, rule, **kwargs):  # a reward that reads the answer, as math rewards do
        return [None if not r else float(r in _text(p) or "boxed{5}" in completion_text(c))
                for p, c, r in zip(prompts, completions, rule)]

    trainer = _aligned_recording()(model=tiny_model_dir, reward_funcs=[accuracy_reward, length_reward],
                                   train_dataset=make_dataset(), args=_config(tmp_path, hint_schedule="reference"))
    trainer.train()
    assert len(trainer.sampled) == 1  # round 0 only
    groups, _ = _by_group(trainer)
    tok = trainer.processing_class
    reference = tuple(tok(HINT, add_special_tokens=False)["input_ids"] + [tok.eos_token_id])
    for name in ("needs-half", "needs-quarter", "never"):
        (p0, c0, lp0), (p1, c1, lp1) = groups[name]
        assert (p0, c0) in trainer.sampled[0] and set(lp0) == {0.0}
        assert p1 == _round0_prompt(trainer, name) and c1 == reference and all(_is_nan(lp1))
    for name in ("solvable", "no-hint", "bad-gold"):
        assert all((p, c) in trainer.sampled[0] for p, c, _ in groups[name])
    logs = trainer.state.log_history[0]
    assert logs["ghpo/rescued_frac/1"] == pytest.approx(3 / 6) and logs["ghpo/gen_rounds"] == 1.0
    assert logs["ghpo/extra_completion_tokens"] == 0
    logged = list(trainer._logs["rewards"]["accuracy_reward"])[-12:]
    assert logged[1] == 1.0 and logged[3] == 1.0 and logged[7] == 1.0  # the traces verify
