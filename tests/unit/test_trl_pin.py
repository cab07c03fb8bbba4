"""GHPOTrainer overrides and calls TRL private methods: pin their version and shape, so an upgrade fails here
first rather than silently training on the wrong prompts."""

import inspect

import trl
from trl import GRPOTrainer

from ghpo.trainer import GHPOTrainer

PINNED = {
    "_generate": ["self", "prompts"],
    "_generate_and_score_completions": ["self", "inputs"],
    "_tokenize_prompts": ["self", "prompts"],
    "_generate_single_turn": ["self", "prompt_ids", "images", "multimodal_fields", "num_generations", "has_tool_images"],
    "_save_checkpoint": ["self", "model", "trial"],
    "_load_optimizer_and_scheduler": ["self", "checkpoint"],
}


def test_trl_version_is_pinned():
    assert trl.__version__.startswith("1.16."), f"ghpo is tested on trl 1.16.*, found {trl.__version__}"


def test_private_signatures():
    for name, params in PINNED.items():
        assert list(inspect.signature(getattr(GRPOTrainer, name)).parameters) == params, name


def test_generate_output_and_prompt_flow():
    src = inspect.getsource(GRPOTrainer._generate)
    # the 8-tuple GHPOTrainer._guide unpacks and returns
    assert "return prompt_ids, completion_ids, tool_mask, completions, logprobs, extra_fields, images, tool_images" in src
    score = inspect.getsource(GRPOTrainer._generate_and_score_completions)
    # the caller's prompts list goes to _generate and then to the rewards and logs: the hinted prompts reach both
    assert ") = self._generate(prompts)" in score
    assert "self._calculate_rewards(inputs, prompts, completions, completion_ids_list)" in score
    assert 'self._logs["prompt"].extend(gather_object(prompts))' in score


def test_overrides_exist_on_the_subclass():
    for name in ["_generate", "_generate_and_score_completions", "_save_checkpoint", "_load_optimizer_and_scheduler"]:
        assert name in GHPOTrainer.__dict__, name
