"""Model resolution, the embedded-model cache, and the tiny test model. No downloads."""

import json
import os

import pytest

from ghpo import models
from ghpo.models import (
    EMBEDDED_MODELS,
    ModelNotAvailableError,
    check_model_available,
    embedded_model_dir,
    load_model_and_tokenizer,
    make_tiny_llama,
    resolve_model,
)

MATH_TEXT = "Step 1: 47 + 38 = 85\nThe final answer is \\boxed{73}."


@pytest.fixture(scope="module")
def tiny_dir(tmp_path_factory):
    return make_tiny_llama(tmp_path_factory.mktemp("tiny"))


@pytest.fixture
def offline(monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")


# ------------------------------------------------------------------------------------------------ tiny model


def test_tiny_llama_loads_and_generates(tiny_dir):
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(tiny_dir)
    model = AutoModelForCausalLM.from_pretrained(tiny_dir)
    n_params = sum(p.numel() for p in model.parameters())
    assert 50_000 < n_params < 5_000_000
    assert model.config.eos_token_id == tokenizer.eos_token_id
    assert model.generation_config.eos_token_id == tokenizer.eos_token_id
    assert tokenizer.pad_token is not None and tokenizer.pad_token_id != tokenizer.eos_token_id
    enc = tokenizer(["1 + 1 =", "What is 2+3?"], return_tensors="pt", padding=True)
    out = model.generate(**enc, max_new_tokens=4, do_sample=False)
    assert out.shape[0] == 2 and enc["input_ids"].shape[1] < out.shape[1] <= enc["input_ids"].shape[1] + 4
    assert torch.equal(out[:, : enc["input_ids"].shape[1]], enc["input_ids"])


def test_tiny_llama_is_reproducible(tmp_path):
    from safetensors.torch import load_file

    a = load_file(os.path.join(make_tiny_llama(tmp_path / "a", seed=3), "model.safetensors"))
    b = load_file(os.path.join(make_tiny_llama(tmp_path / "b", seed=3), "model.safetensors"))
    assert a.keys() == b.keys() and all((a[k] == b[k]).all() for k in a)


@pytest.mark.parametrize(
    "text",
    [MATH_TEXT, "Let $x^2 + y_1 = \\frac{1}{2}$; so {a} ^ _ ~ |b|.", "  two  spaces\n\nand\ttabs ", "é ∑ 日本"],
)
def test_tiny_tokenizer_round_trips(tiny_dir, text):
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(tiny_dir)
    ids = tokenizer(text, add_special_tokens=False)["input_ids"]
    assert tokenizer.unk_token_id not in ids
    assert tokenizer.decode(ids) == text


def test_tiny_tokenizer_offsets(tiny_dir):
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(tiny_dir)
    enc = tokenizer(MATH_TEXT, return_offsets_mapping=True, add_special_tokens=False)
    offsets = enc["offset_mapping"]
    assert len(offsets) == len(enc["input_ids"])
    assert "".join(MATH_TEXT[s:e] for s, e in offsets) == MATH_TEXT


def test_tiny_chat_template(tiny_dir):
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(tiny_dir)
    messages = [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "What is 2+3?"}]
    text = tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)
    assert text == (
        "<|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user\nWhat is 2+3?<|im_end|>\n<|im_start|>assistant\n"
    )
    ids = tokenizer.apply_chat_template(messages, add_generation_prompt=True, return_dict=True)["input_ids"]
    assert tokenizer.decode(ids) == text


def test_tiny_llama_rejects_small_vocab(tmp_path):
    with pytest.raises(ValueError, match="vocab_size"):
        make_tiny_llama(tmp_path, vocab_size=100)


# ------------------------------------------------------------------------------------------------ resolution


def test_resolve_local_dir_returns_it(tiny_dir):
    assert resolve_model(tiny_dir) == tiny_dir


def test_load_model_and_tokenizer_pads_left(tiny_dir):
    model, tokenizer = load_model_and_tokenizer(tiny_dir)
    assert tokenizer.padding_side == "left" and tokenizer.pad_token is not None
    assert not model.training


def test_load_model_and_tokenizer_bad_dtype(tiny_dir):
    with pytest.raises(ValueError, match="dtype"):
        load_model_and_tokenizer(tiny_dir, dtype="float33")


def test_unknown_model_offline_has_clear_error(offline):
    name = "no-such-org-ghpo/no-such-model-ghpo"
    with pytest.raises(ModelNotAvailableError, match="hub is offline") as err:
        resolve_model(name)
    message = str(err.value)
    assert name in message and "not a local directory" in message
    assert all(embedded in message for embedded in EMBEDDED_MODELS)


def test_hub_id_online_is_returned_unchanged(monkeypatch):
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    monkeypatch.delenv("TRANSFORMERS_OFFLINE", raising=False)
    assert resolve_model("some-org/some-model") == "some-org/some-model"


def test_missing_path_is_not_a_hub_id():
    with pytest.raises(ModelNotAvailableError, match="not a local directory"):
        check_model_available("./runs/does/not/exist")


def test_embedded_name_is_available_offline(offline):
    check_model_available("smollm2-135m-instruct")
    check_model_available("SmolLM2-135M-Instruct")


def test_unknown_embedded_name_lists_valid():
    with pytest.raises(ValueError, match="smollm2-135m-instruct"):
        embedded_model_dir("gpt-17")


# ------------------------------------------------------------------------------------------------ cache logic


def _fake_convert(spec, out_dir):
    (out_dir / "config.json").write_text("{}")
    (out_dir / models._STAMP).write_text(json.dumps({"gguf_file": spec.gguf_file}))


def test_embedded_conversion_runs_once(tmp_path, monkeypatch):
    monkeypatch.setenv("GHPO_CACHE", str(tmp_path))
    calls = []
    monkeypatch.setattr(models, "_convert_gguf", lambda spec, out: (calls.append(out), _fake_convert(spec, out)))
    first = resolve_model("smollm2-135m-instruct")
    second = resolve_model("smollm2-135m-instruct")
    assert first == second == str(tmp_path / "models" / "smollm2-135m-instruct")
    assert len(calls) == 1
    assert not list((tmp_path / "models").glob(".*tmp-*"))


def test_interrupted_conversion_leaves_no_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("GHPO_CACHE", str(tmp_path))

    def crash(spec, out_dir):
        (out_dir / "config.json").write_text("{}")
        raise KeyboardInterrupt

    monkeypatch.setattr(models, "_convert_gguf", crash)
    with pytest.raises(KeyboardInterrupt):
        resolve_model("smollm2-135m-instruct")
    assert not (tmp_path / "models" / "smollm2-135m-instruct").exists()
    assert not list((tmp_path / "models").glob(".*tmp-*"))
    # A stale temp dir (process killed) and an unstamped final dir are both replaced on the next conversion.
    (tmp_path / "models" / ".smollm2-135m-instruct.tmp-dead").mkdir()
    (tmp_path / "models" / "smollm2-135m-instruct").mkdir()
    monkeypatch.setattr(models, "_convert_gguf", _fake_convert)
    path = resolve_model("smollm2-135m-instruct")
    assert os.path.isfile(os.path.join(path, models._STAMP))
    assert not list((tmp_path / "models").glob(".*tmp-*"))


# ------------------------------------------------------------------------------------------------ real model


@pytest.mark.slow
def test_embedded_smollm2_offline(offline):
    """Converts (first time, ~15-50 s) or reuses the cached SmolLM2 and answers greedily."""
    path = resolve_model("smollm2-135m-instruct")
    names = os.listdir(path)
    assert "config.json" in names and "model.safetensors" in names
    with open(os.path.join(path, "config.json")) as handle:
        assert "quantization_config" not in json.load(handle)
    model, tokenizer = load_model_and_tokenizer("smollm2-135m-instruct")
    assert 134_000_000 < sum(p.numel() for p in model.parameters()) < 135_000_000
    assert "<|im_start|>" in (tokenizer.chat_template or "")
    enc = tokenizer.apply_chat_template(
        [{"role": "user", "content": "What is 2+3?"}], add_generation_prompt=True, return_tensors="pt", return_dict=True
    )
    out = model.generate(**enc, max_new_tokens=10, do_sample=False)
    answer = tokenizer.decode(out[0, enc["input_ids"].shape[1]:], skip_special_tokens=True)
    assert "5" in answer
