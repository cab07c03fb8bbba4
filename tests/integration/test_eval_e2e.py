"""`python -m ghpo.evaluate` (what `ghpo eval` runs) end to end on a tiny random model, offline."""

import json
import os
import subprocess
import sys
import time

import pytest

from ghpo import evaluate as ev

LOCAL_ROWS = [
    {"problem": "What is 2+3?", "solution": "5", "solution_hint": "2 + 3 = 5\nThe final answer is \\boxed{5}."},
    {"problem": "What is 1/2 + 1/4?", "solution": "\\frac{3}{4}",
     "solution_hint": "1/2 = 2/4\n2/4 + 1/4 = 3/4\nThe final answer is \\boxed{\\frac{3}{4}}."},
    {"problem": "What is 7*6?", "solution": "42"},  # no hint: evaluated without one only
]


def _env(**extra):
    env = dict(os.environ, HF_HUB_OFFLINE="1", HF_DATASETS_OFFLINE="1", TOKENIZERS_PARALLELISM="false")
    env.update(extra)
    return env


def test_eval_cli_local_jsonl_and_arith(tiny_model_dir, tmp_path):
    bench = tmp_path / "my_bench.jsonl"
    bench.write_text("".join(json.dumps(row) + "\n" for row in LOCAL_ROWS))
    out = tmp_path / "results" / "eval.json"
    cmd = [sys.executable, "-m", "ghpo.evaluate", tiny_model_dir, "--benchmarks", f"{bench},arith:2x2,3x2",
           "--limit", "3", "--k", "2", "--temperature", "1.0", "--max_new_tokens", "8", "--hint-ratio", "0.5",
           "--batch-size", "5", "--output", str(out)]
    proc = subprocess.run(cmd, capture_output=True, text=True, env=_env(), timeout=240, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "backend transformers (auto: vLLM not installed)" in proc.stdout or ev.vllm_available()
    table = [line for line in proc.stdout.splitlines() if line.startswith("|")]
    assert table[0].startswith("| benchmark | problems | k | avg@k | pass@k | trunc | no hint (0.5) | hint 0.5 | gain |")
    assert table[2].startswith(f"| {bench} | 3 | 2 |") and table[3].startswith("| arith:2x2,3x2 | 3 | 2 |")
    assert table[-1].startswith("| macro avg |")

    result = json.loads(out.read_text())
    assert result["backend"] == "transformers" and result["dtype"] == "float32"
    settings = result["settings"]
    assert (settings["k_per_benchmark"], settings["temperature"], settings["max_new_tokens"], settings["hint_ratios"]) == (
        {str(bench): 2, "arith:2x2,3x2": 2}, 1.0, 8, [0.5])
    assert settings["system_prompt"] and settings["chat"] is True
    assert result["environment"]["torch"] and result["environment"]["transformers"]
    for name in (str(bench), "arith:2x2,3x2"):
        m = result["metrics"][name]
        assert m["num_problems"] == 3 and m["k"] == 2 and 0.0 <= m["avg@2"] <= m["pass@2"] <= 1.0
        rows = result["problems"][name]
        assert len(rows) == 3
        for row in rows:
            # 1-step solutions (the first local row, arith 2x2) give no hint without their answer step.
            calc = [ln for ln in row["variants"]["plain"]["prompt"].splitlines() if ln.startswith("Calculate")]
            one_step = row["gold"] == "5" or (calc and calc[0].count(" + ") + calc[0].count(" - ") == 1)
            hinted = row["has_hint"] and not one_step
            assert set(row["variants"]) == ({"plain", "hint@0.5"} if hinted else {"plain"}), row["problem"]
            for variant in row["variants"].values():
                assert len(variant["samples"]) == 2
                for sample in variant["samples"]:
                    assert set(sample) == {"text", "extracted", "verdict", "num_tokens", "finish_reason"}
                    assert sample["verdict"] in (0.0, 1.0) and 1 <= sample["num_tokens"] <= 8
    local = result["problems"][str(bench)]
    assert [r["gold"] for r in local] == ["5", "\\frac{3}{4}", "42"]
    assert local[0]["variants"]["plain"]["prompt"].startswith("<|im_start|>system\n")  # chat template applied
    hinted = local[1]["variants"]["hint@0.5"]
    assert hinted["hint"] and "3/4" not in hinted["hint"] and hinted["hint"] in hinted["prompt"]
    assert result["metrics"][str(bench)]["num_with_hint@0.5"] == 1  # the 1-step row gets none


def test_transformers_backend_greedy_is_deterministic(tiny_model_dir):
    backend = ev.TransformersBackend(tiny_model_dir, batch_size=2)
    prompts = [ev.tokenize_prompt(backend.tokenizer, [{"role": "user", "content": text}])
               for text in ("What is 2+3?", "Calculate 47 + 38 - 12.", "Hi")]
    kwargs = dict(temperature=0.0, top_p=1.0, max_new_tokens=6, seed=0, progress=False)
    first = backend.generate(prompts, [1, 1, 1], **kwargs)
    again = backend.generate(prompts, [1, 1, 1], **kwargs)
    assert [[s.text for s in row] for row in first] == [[s.text for s in row] for row in again]
    sampled = backend.generate(prompts, [3, 1, 2], **{**kwargs, "temperature": 1.0})
    assert [len(row) for row in sampled] == [3, 1, 2]
    assert all(s.finish_reason in ("stop", "length") and s.num_tokens <= 6 for row in sampled for s in row)


def test_hub_benchmark_offline_fails_fast_with_a_clear_message(tmp_path):
    """HF_HUB_OFFLINE=1 and an empty cache: a one-line error naming the cause, before any model loads."""
    cmd = [sys.executable, "-m", "ghpo.evaluate", "no-such-owner/no-such-model", "--benchmarks", "math500"]
    start = time.monotonic()
    proc = subprocess.run(cmd, capture_output=True, text=True, env=_env(HF_HOME=str(tmp_path / "hf")), timeout=120)
    assert time.monotonic() - start < 60
    assert proc.returncode == 1
    message = proc.stderr.strip().splitlines()[-1]
    assert message.startswith("ghpo eval: error: cannot load benchmark 'math500' (HuggingFaceH4/MATH-500")
    assert "hub is unreachable" in message and "HF_HUB_OFFLINE" in message and "arith" in message


@pytest.mark.parametrize("name", ["gpqa_diamond"])
def test_gated_benchmark_message_says_how_to_get_access(name, monkeypatch):
    import datasets

    def offline(*args, **kwargs):
        raise ConnectionError("Couldn't reach 'Idavidrein/gpqa' on the Hub (OfflineModeIsEnabled)")

    monkeypatch.setattr(datasets, "load_dataset", offline)
    with pytest.raises(ev.BenchmarkUnavailableError, match="gated: accept its terms"):
        ev.load_benchmark(name)


def test_vllm_backend_makes_one_generate_call_with_token_prompts(tiny_model_dir, monkeypatch):
    """vLLM is not installed here: a stand-in module records how ghpo calls its offline API."""
    import types

    calls = {}

    class SamplingParams:
        def __init__(self, **kwargs):
            self.kwargs = kwargs

    class LLM:
        def __init__(self, **kwargs):
            calls["init"] = kwargs

        def generate(self, prompts, sampling_params, use_tqdm=True):
            calls.setdefault("generate", []).append((prompts, sampling_params))
            completion = types.SimpleNamespace(text=r"\boxed{5}", token_ids=[1, 2, 3], finish_reason="stop")
            return [types.SimpleNamespace(outputs=[completion] * p.kwargs["n"]) for p in sampling_params]

    monkeypatch.setitem(sys.modules, "vllm", types.SimpleNamespace(LLM=LLM, SamplingParams=SamplingParams))
    backend = ev.VLLMBackend(tiny_model_dir, seed=7)
    assert calls["init"]["model"] == tiny_model_dir and calls["init"]["seed"] == 7
    ids = [ev.tokenize_prompt(backend.tokenizer, "What is 2+3?"), [5, 6, 7]]
    out = backend.generate(ids, [4, 1], temperature=0.6, top_p=0.95, max_new_tokens=3072, seed=0, progress=False)
    assert len(calls["generate"]) == 1
    prompts, params = calls["generate"][0]
    assert prompts == [{"prompt_token_ids": ids[0]}, {"prompt_token_ids": [5, 6, 7]}]
    assert [p.kwargs for p in params] == [
        {"n": 4, "temperature": 0.6, "top_p": 0.95, "max_tokens": 3072},
        {"n": 1, "temperature": 0.6, "top_p": 0.95, "max_tokens": 3072}]
    assert [len(row) for row in out] == [4, 1] and out[0][0] == ev.Sample(r"\boxed{5}", 3, "stop")
