"""GHPOTrainer: TRL's GRPOTrainer with GHPO's guided re-sampling of all-wrong groups.

A thin adapter. The decisions (which group is hard, which ratio next, how a hint is cut and rendered) live
in ``ghpo.guidance``; this file only moves data between those functions and TRL. Everything after generation
(rewards on the final completions, advantages, the loss, vLLM, DeepSpeed, PEFT) is TRL's.

One generation round (shared/DESIGN.md, "GHPO semantics"):
  sample G completions per prompt (TRL) -> score the trigger reward -> for each hint ratio, re-sample the
  still-hard groups under q* = q + hint -> replace those groups' prompt, prompt ids, completions and sampling
  log-probs -> hand back to TRL, which computes every reward, the advantages and the loss on what was sampled.

TRL internals this overrides (pinned to trl==1.16.*, checked in tests/unit/test_trl_pin.py):
``_generate(prompts)``, ``_generate_and_score_completions(inputs)``, ``_save_checkpoint``,
``_load_optimizer_and_scheduler``; and it calls ``_tokenize_prompts`` and ``_generate_single_turn``.
"""

from __future__ import annotations

import asyncio
import functools
import json
import logging
import math
import os
import dataclasses
from dataclasses import dataclass, field
from typing import Any, NamedTuple

import datasets
import torch
import transformers
from accelerate.utils import gather_object
from packaging.version import Version
from transformers.trainer import TRAINER_STATE_NAME
from transformers.trainer_utils import PREFIX_CHECKPOINT_DIR
from transformers.utils import is_torch_bf16_gpu_available
from trl import GRPOConfig, GRPOTrainer
from trl.chat_template_utils import parse_response
from trl.data_utils import is_conversational
from trl.models.utils import disable_gradient_checkpointing
from trl.trainer.utils import get_config_model_id, is_async_callable, pad

from . import guidance, sampling
from .data import HintDataReport, check_hint_columns, dataset_columns, spread_rows
from .distributed import share_round
from .rewards import same_math_value
from .rollouts import ROLLOUTS_FILE, append_records, rollout_records, set_aside_records_from

HINT_STATE_FILE = "ghpo_state.json"
# Per step, what rollout selection counted (GHPOTrainer._log_selection).
ACCOUNTING = ("round0_tokens", "extra_tokens", "gen_rounds", "gen_batches", "groups_dropped", "groups_unfilled",
              "prompts_drawn", "prompts_skipped")
_MAX_CACHED_PLANS = 100_000  # hint plans kept per trainer; cleared when full (a plan is cheap to redo)

logger = logging.getLogger(__name__)


@dataclass
class GHPOConfig(GRPOConfig):
    r"""Configuration for [`GHPOTrainer`]: TRL's [`~trl.GRPOConfig`] plus GHPO's guidance fields.

    Every GRPOConfig field keeps its TRL name and meaning. Guidance fields are documented in ``metadata["help"]``.
    """

    hint_schedule: str = field(
        default="auto",
        metadata={
            "help": "Which hint ratios an all-wrong group is re-sampled with. 'auto' (default): 'staged' where the run "
            "has what hints need (the hint_column and hint_gold_column in train_dataset, the hint_trigger_reward "
            "among reward_funcs as a plain function, no tools, environments or rollout_func), else plain GRPO, said "
            "once at start with what is missing: so GHPOTrainer runs wherever GRPOTrainer does. Name a schedule to "
            "make a missing piece an error before any generation. 'staged': the paper's multi-stage "
            "guidance (0.25, 0.5, 0.75 until a completion is right; arXiv 2507.10628 Sec. 3.3). 'fixed': one "
            "ratio (default 0.5: GRPO-CL-H(0.5) / QuestA-style baselines). 'reroll': the control without hints, "
            "the rounds and stages staged would use, each re-sampling the unchanged prompt (is it the hint, or just "
            "more samples?). 'reference': the imitation baseline without guidance (LUFFY-style, arXiv 2504.14945): one "
            "sample of each all-wrong group is replaced by the reference solution itself (hint_column, answer "
            "included) as an off-policy trace, no extra generation. 'none': plain GRPO.",
            "choices": list(guidance.HINT_SCHEDULES),
        },
    )
    hint_ratios: list[float] | None = field(
        default=None,
        metadata={
            "help": "Hint ratios in increasing order, each in (0, 1]: the fraction of the reference solution "
            "(without its final answer) given as a hint. Default: 0.25 0.5 0.75 for 'staged', 0.5 for 'fixed'."
        },
    )
    hint_unit: str = field(
        default="token",
        metadata={
            "help": "Unit a hint is cut in. 'token': policy tokens, ending at a word boundary (default: never "
            "mid-word or mid-command). 'step'/'sentence': whole reasoning steps (lines, or sentences outside "
            "math). 'char': characters, the official code's behaviour, for parity runs only.",
            "choices": list(guidance.HINT_UNITS),
        },
    )
    hint_placement: str = field(
        default="prompt",
        metadata={
            "help": "Where the hint goes. 'prompt' (the paper): appended to the last user message. 'response': it "
            "opens the assistant's answer and the model continues it (chat prompts are rendered with the final "
            "assistant message open, continue_final_message); small models often read a hint better this way "
            "(docs/HINTS.md). Either way the hint is prompt, never trained on; reward functions receive it as the "
            "'response_prefix' column to grade prefix + completion.",
            "choices": list(guidance.HINT_PLACEMENTS),
        },
    )
    hint_template: str | None = field(
        default=None,
        metadata={
            "help": "'{hint}' is replaced by the solution prefix. Default: the official code's sentence for "
            "hint_placement='prompt'; '{hint}\\n' for 'response' (the model goes on with the next step)."
        },
    )
    hint_column: str | None = field(
        default="solution_hint",
        metadata={
            "help": "Dataset column with the worked reference solution hints are cut from (may be the same as the "
            "gold answer column when it holds a full solution). Rows with an empty or missing hint are never hinted. "
            "A train_dataset without this column is an error at start; None: no hints (plain GRPO, said once)."
        },
    )
    hint_gold_column: str | None = field(
        default="solution",
        metadata={
            "help": "Dataset column with the gold answer (TRL's accuracy_reward reads 'solution'). Hints stop before "
            "the first sentence of the worked solution that states its value (no leak), and rollouts.jsonl records "
            "it; a worked solution here is read for its \\boxed{} or '#### N' answer. None: no gold check, only "
            "the last-step rule. `ghpo train` takes the gold from --dataset_solution_column (this field: None or not)."
        },
    )
    hint_keep_final_answer: bool = field(
        default=False,
        metadata={"help": "Keep the final answer (the \\boxed{} or answer line) in hints. Off: hints never give it away."},
    )
    hint_start_step: int = field(
        default=0,
        metadata={
            "help": "Cold start: optimizer steps of plain GRPO before hints may start (paper: 20; the released "
            "recipe: 0)."
        },
    )
    hint_trigger_reward: str = field(
        default="accuracy_reward",
        metadata={
            "help": "Name (the function's __name__, as in TRL's reward metrics) of the reward whose values decide "
            "'all wrong'. Must be a verifiable 0/1 accuracy, never a shaped reward such as format."
        },
    )
    hint_trigger_threshold: float = field(
        default=0.0,
        metadata={"help": "A completion counts as wrong when its trigger reward is <= this value."},
    )
    hint_unrescued: str = field(
        default="last_stage",
        metadata={
            "help": "What a group that no hint stage rescued trains on: 'last_stage' (the paper: the last hinted "
            "prompt and its completions) or 'original' (the unhinted sample; the hint rollouts are discarded).",
            "choices": ["last_stage", "original"],
        },
    )
    hint_memory: bool = field(
        default=False,
        metadata={
            "help": "Remember per problem (the 'id' column, else a prompt hash) the stage that rescued it, and next "
            "time start from it (see hint_memory_start). Beyond the paper; saved in checkpoints."
        },
    )
    hint_memory_start: str = field(
        default="below",
        metadata={
            "help": "With hint_memory: a problem rescued at stage s starts at s-1 next time ('below': it may need "
            "less help now) or at s ('at': fewer rounds).",
            "choices": list(guidance.MEMORY_STARTS),
        },
    )
    hint_give_up_after: int = field(
        default=0,
        metadata={
            "help": "With hint_memory: stop hinting a problem after this many hard visits in a row that no stage "
            "rescued (0: never give up). Its groups then train as plain GRPO (no signal, no extra rollouts)."
        },
    )
    hint_retry_after: int = field(
        default=4,
        metadata={
            "help": "With hint_give_up_after: skipped visits of a given-up problem before it is hinted again, so a "
            "policy that improved gets another chance (0: never again, given up for good)."
        },
    )
    hint_rounds: str = field(
        default="sequential",
        metadata={
            "help": "'sequential' (the paper): one generation round per stage, only for groups still all wrong. "
            "'single': every remaining stage of every hard group in one extra generation call, then each group "
            "trains on its least-help stage that was right: at most 2 rounds a step (for backends where a round's "
            "latency dominates, e.g. vLLM) at the price of more sampled tokens.",
            "choices": list(guidance.HINT_ROUNDS),
        },
    )
    hint_stages_per_visit: int = field(
        default=0,
        metadata={
            "help": "With hint_memory: try at most this many stages on one hard visit (0: every remaining stage, the "
            "paper). A problem no tried stage rescued starts one stage higher on its next visit, so guidance climbs "
            "across visits. With hint_rounds='single', 1 means one hinted group per hard group and at most 2 rounds a step."
        },
    )
    hint_keep_unhinted: int = field(
        default=0,
        metadata={
            "help": "In each group trained on a hinted stage, keep this many of its unhinted (round 0) samples in place "
            "of hinted ones (NuRL-style, arXiv 2509.25666): the group then also teaches the unhinted prompt, so the "
            "skill need not stay tied to the hint. 0: every sample is hinted (the paper). Must be < num_generations."
        },
    )
    hint_training: str = field(
        default="hinted",
        metadata={
            "help": "What the loss sees for a group trained on a hinted stage (DESIGN.md 'Training a rescued group'). "
            "'hinted' (default): prompt q + hint, completion y, on-policy; the hint is prompt, never trained. "
            "'original': prompt q, completion y (y was sampled with the hint: off-policy; meaningful when y restates "
            "what the hint said, as a full solution does). 'official': the released code's rule (hkgc-1/GHPO): a "
            "group sampled at the last stage that ran on its process trains on q + hint, one rescued earlier on q. "
            "'imitate': prompt q, completion hint + y, so the hint's tokens are trained; needs "
            "hint_placement='response' (the hint opens the answer) and hint_keep_unhinted >= 1 (with every sample "
            "of a group carrying the same hint, group-normalised advantages cancel its gradient). Off-prompt "
            "rows and the hint's tokens get NaN sampling log-probs, which TRL's vLLM importance-sampling correction "
            "reads as 'no correction' (ratio 1); hint_off_policy_correction corrects them instead.",
            "choices": list(guidance.HINT_TRAINING),
        },
    )
    hint_off_policy_correction: str = field(
        default="none",
        metadata={
            "help": "For tokens the policy did not sample in the loss context: rows trained under q but sampled "
            "under q + hint ('original', 'official') and the hint's tokens 'imitate' trains. 'none' (the official "
            "code: the PPO ratio is pi_theta / pi_old in the loss context, 1 on the first iteration, a REINFORCE step "
            "on log pi(y|q)), or 'guide' (Guide-GRPO, arXiv 2506.13923: the ratio's denominator is the behaviour "
            "that wrote the token: pi_old(y|q, hint), by one extra forward pass, for off-prompt rows; probability 1 "
            "for a hint copied from the reference; so the clipped surrogate weighs each token by how likely the "
            "unhinted policy is to write it).",
            "choices": list(guidance.OFF_POLICY_CORRECTIONS),
        },
    )
    use_dynamic_sampling: bool = field(
        default=False,
        metadata={
            "help": "DAPO dynamic sampling (arXiv 2503.14476; verl's algorithm.filter_groups): after sampling, and after "
            "hints where the schedule hints, a group whose dynamic_sampling_metric is the same for all its samples "
            "(zero advantage: it teaches nothing) is dropped and its slot refilled with a group of a fresh prompt from "
            "the trainer's prompt reserve, until every group varies or max_num_generation_batches is reached. Works "
            "with every hint_schedule, 'none' included. Needs a map-style train_dataset."
        },
    )
    dynamic_sampling_metric: str = field(
        default="trigger",
        metadata={
            "help": "What must vary within a group for dynamic sampling to keep it: 'trigger' (the hint_trigger_reward, "
            "verl's 'acc') or 'reward' (the weighted sum of the reward functions, verl's 'score'; reward models are not "
            "supported here, as it scores the functions itself).",
            "choices": ["trigger", "reward"],
        },
    )
    dynamic_sampling_keep_solved: bool = field(
        default=False,
        metadata={
            "help": "With dynamic sampling: keep groups whose samples are all right (they still feed KL and the "
            "loss normaliser, no policy gradient). Off (DAPO): drop them too. All-wrong groups are always dropped, "
            "after hints had their chance."
        },
    )
    max_num_generation_batches: int = field(
        default=4,
        metadata={
            "help": "With dynamic sampling: the most generation batches a step may use, the first included (verl's "
            "max_num_gen_batches). A refill batch samples only the empty slots. At the cap, the step trains on the "
            "groups it has: the groups still zero-variance are masked out of the loss (completion mask 0), with a "
            "warning and ghpo/groups_unfilled (verl raises instead). Must be >= 1; 1: drop without refilling."
        },
    )
    use_pre_rollout_skipping: bool = field(
        default=False,
        metadata={
            "help": "GRESO pre-rollout skipping (arXiv 2506.02177): before sampling, a prompt whose last k visits were "
            "zero-variance (all right, or all wrong even after hints) is skipped with probability "
            "1 - max(p**k, greso_floor), and its slot taken by a reserve prompt that is not skipped. With hints, a "
            "visit a hint rescued counts as useful, not as all wrong. Works with every hint_schedule."
        },
    )
    greso_p_start: float = field(
        default=sampling.GresoSettings.p_start, metadata={"help": "GRESO: starting p_easy and p_hard."}
    )
    greso_p_step: float = field(
        default=sampling.GresoSettings.p_step, metadata={"help": "GRESO: how far p_easy and p_hard move each step."}
    )
    greso_p_min: float = field(
        default=sampling.GresoSettings.p_min, metadata={"help": "GRESO: the least p_easy / p_hard."}
    )
    greso_p_max: float = field(
        default=sampling.GresoSettings.p_max, metadata={"help": "GRESO: the largest p_easy / p_hard."}
    )
    greso_floor: float = field(
        default=sampling.GresoSettings.floor,
        metadata={"help": "GRESO: the least chance a prompt is sampled whatever its streak (exploration floor)."},
    )
    greso_target_zero_variance: float = field(
        default=sampling.GresoSettings.target,
        metadata={"help": "GRESO: the share of zero-variance groups p_easy and p_hard steer toward, a third of it "
                          "all right and two thirds all wrong."},
    )
    greso_max_draws: int | None = field(
        default=None,
        metadata={"help": "GRESO: the most reserve prompts drawn to replace the skipped prompts of one batch (a "
                          "refill: of one slot); past it a slot keeps its last candidate. None: one pass over the "
                          "training set, as GRESO reads its dataloader until the batch is full."},
    )
    log_rollouts: bool = field(
        default=False,
        metadata={
            "help": "Write one JSON line per group per step to <output_dir>/rollouts.jsonl: problem id, the exact "
            "prompt of each stage, completions and trigger rewards per stage, the stage trained on."
        },
    )

    def guidance_budget(self) -> guidance.GuidanceBudget:
        """The scalar knobs ``guidance.GuidancePlanner`` takes."""
        return guidance.GuidanceBudget(
            threshold=self.hint_trigger_threshold, rounds=self.hint_rounds, unrescued=self.hint_unrescued,
            memory=self.hint_memory, memory_start=self.hint_memory_start, give_up_after=self.hint_give_up_after,
            retry_after=self.hint_retry_after, stages_per_visit=self.hint_stages_per_visit)

    def greso_settings(self) -> sampling.GresoSettings:
        return sampling.GresoSettings(p_start=self.greso_p_start, p_step=self.greso_p_step, p_min=self.greso_p_min,
                                      p_max=self.greso_p_max, floor=self.greso_floor,
                                      target=self.greso_target_zero_variance)

    @classmethod
    def from_grpo_config(cls, args: GRPOConfig, **guidance_fields) -> GHPOConfig:
        """A GHPOConfig holding every field of ``args`` as it stands (TRL's ``__post_init__`` already ran on it, and
        running it twice can fail: e.g. it derives ``generation_batch_size`` from ``steps_per_generation``), with
        GHPO's own fields at their defaults or ``guidance_fields``."""
        if not isinstance(args, GRPOConfig):
            raise TypeError(f"args must be a GHPOConfig or a trl.GRPOConfig, got {type(args).__name__}.")
        config = cls.__new__(cls)
        config.__dict__.update(vars(args))
        for f in dataclasses.fields(cls):
            if f.name not in config.__dict__:  # a guidance field GRPOConfig does not have
                setattr(config, f.name, f.default if f.default is not dataclasses.MISSING else f.default_factory())
        for name, value in guidance_fields.items():
            if name in vars(args):
                raise ValueError(f"{name!r} is a GRPOConfig field: set it on the GRPOConfig, not here.")
            if name not in config.__dict__:
                raise ValueError(f"{name!r} is not a GHPOConfig field.")
            setattr(config, name, value)
        config._check_guidance()
        return config

    def __post_init__(self):
        # TRL defaults bf16 to True, which transformers rejects on a machine without a bf16 GPU unless use_cpu is
        # set; left unset, fall back to fp32 there so `ghpo train` works on a laptop as it is.
        if self.bf16 is None and not self.fp16 and not is_torch_bf16_gpu_available():
            self.bf16 = False
        super().__post_init__()
        self._check_guidance()

    def _check_guidance(self):
        """Validate and complete GHPO's own fields (the GRPOConfig fields are TRL's to check)."""
        if isinstance(self.hint_ratios, (int, float)):
            self.hint_ratios = [float(self.hint_ratios)]
        guidance.hint_schedule(self.hint_schedule, self.hint_ratios)  # raises a clear error when invalid
        if self.hint_unit not in guidance.HINT_UNITS:
            raise ValueError(f"hint_unit={self.hint_unit!r} is not one of {', '.join(guidance.HINT_UNITS)}.")
        if self.hint_placement not in guidance.HINT_PLACEMENTS:
            raise ValueError(
                f"hint_placement={self.hint_placement!r} is not one of {', '.join(guidance.HINT_PLACEMENTS)}."
            )
        if self.hint_template is None:
            self.hint_template = guidance.default_hint_template(self.hint_placement)
        if "{hint}" not in self.hint_template:
            raise ValueError("hint_template must contain '{hint}' where the solution prefix goes.")
        if self.hint_start_step < 0:
            raise ValueError(f"hint_start_step must be >= 0, got {self.hint_start_step}.")
        if self.hint_unrescued not in ("last_stage", "original"):
            raise ValueError(f"hint_unrescued must be 'last_stage' or 'original', got {self.hint_unrescued!r}.")
        if self.hint_memory_start not in guidance.MEMORY_STARTS:
            raise ValueError(f"hint_memory_start must be one of {', '.join(guidance.MEMORY_STARTS)}, got {self.hint_memory_start!r}.")
        if self.hint_rounds not in guidance.HINT_ROUNDS:
            raise ValueError(f"hint_rounds must be one of {', '.join(guidance.HINT_ROUNDS)}, got {self.hint_rounds!r}.")
        if self.hint_give_up_after < 0 or self.hint_retry_after < 0:
            raise ValueError("hint_give_up_after and hint_retry_after must be >= 0.")
        if self.hint_give_up_after and not self.hint_memory:
            raise ValueError("hint_give_up_after needs hint_memory=True (the memory keeps the failed visits).")
        if self.hint_stages_per_visit < 0:
            raise ValueError(f"hint_stages_per_visit must be >= 0, got {self.hint_stages_per_visit}.")
        if self.hint_stages_per_visit and not self.hint_memory:
            raise ValueError("hint_stages_per_visit needs hint_memory=True (the memory keeps where the next visit starts).")
        if self.hint_training not in guidance.HINT_TRAINING:
            raise ValueError(f"hint_training must be one of {', '.join(guidance.HINT_TRAINING)}, got {self.hint_training!r}.")
        if self.hint_off_policy_correction not in guidance.OFF_POLICY_CORRECTIONS:
            raise ValueError(f"hint_off_policy_correction must be one of {', '.join(guidance.OFF_POLICY_CORRECTIONS)}, "
                             f"got {self.hint_off_policy_correction!r}.")
        if self.hint_training == "imitate" and self.hint_placement != "response":
            raise ValueError("hint_training='imitate' trains the hint as the opening of the answer: set "
                             "hint_placement='response' (a hint inside the user message is not an answer's opening).")
        if self.hint_training == "imitate" and self.hint_keep_unhinted < 1:
            raise ValueError("hint_training='imitate' needs unhinted samples in each hinted group (e.g. "
                             "hint_keep_unhinted=num_generations // 2): when all G samples carry the same hint, "
                             "group-normalised advantages sum to zero over them and the hint's tokens learn nothing.")
        if self.hint_schedule == "reference" and (self.hint_training != "hinted" or self.hint_keep_unhinted):
            raise ValueError("hint_schedule='reference' places one reference trace among a group's own samples and "
                             "trains it as it stands: leave hint_training='hinted' and hint_keep_unhinted=0.")
        if (self.hint_off_policy_correction == "guide" and self.hint_training == "imitate"
                and (self.importance_sampling_level == "sequence" or self.loss_type == "vespo")):
            raise ValueError("hint_off_policy_correction='guide' with hint_training='imitate' sets a ratio per copied "
                             "hint token; a sequence-level ratio (importance_sampling_level='sequence', loss_type="
                             f"{self.loss_type!r}) would average it into the sampled continuation's: use "
                             "importance_sampling_level='token' and a token-level loss_type.")
        if self.hint_off_policy_correction != "none" and self.hint_training == "hinted":
            raise ValueError(f"hint_off_policy_correction={self.hint_off_policy_correction!r} corrects tokens the policy "
                             "did not sample in the loss context: it needs hint_training='original', 'official' or "
                             "'imitate', got 'hinted' (on-policy: nothing to correct).")
        if self.dynamic_sampling_metric not in sampling.DYNAMIC_SAMPLING_METRICS:
            raise ValueError(f"dynamic_sampling_metric must be one of {', '.join(sampling.DYNAMIC_SAMPLING_METRICS)}, "
                             f"got {self.dynamic_sampling_metric!r}.")
        if self.max_num_generation_batches < 1:
            raise ValueError(f"max_num_generation_batches must be >= 1 (the first batch counts), got "
                             f"{self.max_num_generation_batches}.")
        if self.greso_max_draws is not None and self.greso_max_draws < 1:
            raise ValueError(f"greso_max_draws must be >= 1 or None (one pass over the training set), got "
                             f"{self.greso_max_draws}.")
        g = self.greso_settings()
        if not (0 < g.p_min <= g.p_start <= g.p_max <= 1 and 0 <= g.p_step < 1 and 0 <= g.floor <= 1
                and 0 <= g.target <= 1):
            raise ValueError("GRESO settings need 0 < greso_p_min <= greso_p_start <= greso_p_max <= 1, "
                             "0 <= greso_p_step < 1, and greso_floor, greso_target_zero_variance in [0, 1]; got "
                             f"{g}.")
        if not 0 <= self.hint_keep_unhinted < (self.num_generations or 2):
            raise ValueError(f"hint_keep_unhinted must be in [0, num_generations), got {self.hint_keep_unhinted}: a "
                             "group needs at least one hinted sample.")


class HintCuts:
    """Each stage's hint for a problem (``guidance.plan_hint_cuts``) with the policy's tokenizer and the config's
    unit, cached per hint and gold text: the no-leak rule may call math-verify, and a problem's cuts never change."""

    def __init__(self, ratios, args: GHPOConfig, tokenizer):
        self.ratios, self.unit, self.keep = ratios, args.hint_unit, args.hint_keep_final_answer
        # Policy-token cuts need a fast tokenizer's offsets; without them cut_hint counts whitespace words.
        self.offsets = guidance.tokenizer_offsets(tokenizer) if self.unit == "token" else None
        self.cache: dict[tuple, list[str | None]] = {}

    def plan(self, hint: str, gold: str | None) -> list[str | None]:
        key = (hint, gold)
        if key not in self.cache:
            if len(self.cache) >= _MAX_CACHED_PLANS:
                self.cache.clear()
            self.cache[key] = guidance.plan_hint_cuts(hint, self.ratios, self.unit, self.offsets, self.keep, gold,
                                                      same_math_value)
        return self.cache[key]


def resolve_trigger(trainer: GRPOTrainer, name: str) -> int:
    """The index of the trigger reward among the trainer's reward functions, checked: a named, verifiable function
    (never a reward model), and no tools, environments or rollout_func (their samples cannot take a hint yet)."""
    if name not in trainer.reward_func_names:
        raise ValueError(f"hint_trigger_reward={name!r} is not among the reward functions {trainer.reward_func_names}; "
                         "name the accuracy reward that decides 'all wrong'.")
    index = trainer.reward_func_names.index(name)
    if not callable(trainer.reward_funcs[index]) or hasattr(trainer.reward_funcs[index], "config"):
        raise ValueError("The hint trigger must be a verifiable reward function, not a reward model.")
    if trainer.tools or trainer.rollout_func is not None or trainer.environment_factories is not None:
        raise NotImplementedError("GHPO hints with tools, environments or rollout_func are not supported yet.")
    return index


class _Row(NamedTuple):
    """What every process shares about one local completion of the first round."""

    prompt: Any
    hint: Any
    problem_id: Any
    columns: dict
    trigger: float | None
    completion_text: str | None  # only with log_rollouts
    tokens: int  # completion tokens sampled


@dataclass
class _Sample:
    """One completion and exactly what it was sampled from."""

    prompt: Any
    prompt_ids: list[int]
    completion_ids: list[int]
    logprobs: list[float] | None
    completion: Any
    trigger: float | None


_ROUND0 = -1  # the stage of a refill's unhinted round 0, in (slot, stage) jobs


class _Episode(NamedTuple):
    """One generation batch's guidance over some slots (``GHPOTrainer._run_episode``)."""

    planner: guidance.GuidancePlanner
    outcome: guidance.GuidanceOutcome
    extra_tokens: int  # sampled by its hint stages (padding included)
    slots: list  # the global group index each of its groups fills
    views: dict  # local row -> (LossView, trigger value of what it trains on)
    final: list  # per group, the trigger values of the G rows it trains on


class StageSampling(NamedTuple):
    """What a schedule's hint stages are made of: the one place that says what 'reroll' and 'reference' change."""

    shows_hints: bool  # a stage's samples are drawn under q + its hint (False: the unchanged prompt, or no sampling)
    generated: bool  # they are generated: a generation round, tokens counted (False: the reference, looked up)
    keep_unhinted: int  # of a group trained on a stage, the first samples that stay its own unhinted ones


def stage_sampling(schedule: str, num_generations: int, keep_unhinted: int) -> StageSampling:
    """``StageSampling`` of a schedule: the re-roll control re-samples the unchanged prompt; 'reference' (LUFFY-style)
    generates nothing and puts one reference trace beside the group's G - 1 own samples; the rest sample hints."""
    if schedule == "reroll":
        return StageSampling(False, True, keep_unhinted)
    if schedule == "reference":
        return StageSampling(False, False, num_generations - 1)
    return StageSampling(True, True, keep_unhinted)


class GHPOTrainer(GRPOTrainer):
    """Drop-in for ``trl.GRPOTrainer`` that re-samples all-wrong groups with solution hints (GHPO)."""

    def __init__(self, model, reward_funcs=None, args: GRPOConfig | None = None, *pos, **kwargs):
        # TRL's signature and defaults: no args is GHPOConfig's defaults (hint_schedule 'auto'), and a plain
        # GRPOConfig is carried over field by field, so swapping the class name is the whole change.
        if args is None:
            name = model if isinstance(model, str) else get_config_model_id(model.config)
            args = GHPOConfig(f"{name.split('/')[-1]}-GHPO")
        elif not isinstance(args, GHPOConfig):
            args = GHPOConfig.from_grpo_config(args)
        if isinstance(reward_funcs, list):
            reward_funcs = [_finite_rewards(f) for f in reward_funcs]
        elif reward_funcs is not None:  # None: TRL's own "No reward source provided" unless an environment rewards
            reward_funcs = _finite_rewards(reward_funcs)
        super().__init__(model, reward_funcs, args, *pos, **kwargs)
        if self.use_vllm:  # only colocated vLLM on a CPU, where TRL's per-tensor weight sync fails (ghpo/vllm_cpu.py)
            from .vllm_cpu import patch_colocate_sync_for_cpu

            patch_colocate_sync_for_cpu(self.vllm_generation)
        self.hint_schedule = self._choose_schedule(args)
        self.hint_ratios = guidance.hint_schedule(self.hint_schedule, args.hint_ratios)
        if self.hint_ratios and args.hint_column is None:
            logger.warning("GHPOTrainer: hint_column=None, so no hints: this run is plain GRPO.")
            self.hint_ratios = ()
        self.hint_memory = guidance.HintMemory()
        self._ghpo_inputs: list[dict] | None = None
        self._off_prompt: list[tuple[int, list[int]]] = []  # this batch's (row, sampled prompt ids) trained under q
        self._copied: list[tuple[int, int]] = []  # imitate: this batch's (row, hint tokens opening its completion)
        self._cuts = HintCuts(self.hint_ratios, args, self._tokenizer)
        self._stages = stage_sampling(self.hint_schedule, self.num_generations, args.hint_keep_unhinted)
        self.hint_data: HintDataReport | None = None
        self.prompt_reserve: sampling.PromptReserve | None = None
        self.pre_rollout_skipper: sampling.PreRolloutSkipper | None = None
        self._refilled_inputs: dict[int, dict] = {}  # this batch's refilled rows -> their problem's dataset row
        self._masked_rows: list[int] = []  # this batch's rows of groups still zero-variance at the cap
        self._capped = self._guidance_logged = False
        self._warned_skip_pass = False
        self._accounting: dict[str, int] = {}
        self._n_local = 0
        if args.use_dynamic_sampling or args.use_pre_rollout_skipping:
            self._start_rollout_selection(args)
        if not self.hint_ratios and not args.log_rollouts and not self._selects:
            return
        self._trigger_func, self._trigger_known = None, {}
        self._budget = args.guidance_budget()
        if (not self.hint_ratios and args.dynamic_sampling_metric == "reward"
                and args.hint_trigger_reward not in self.reward_func_names):
            return  # plain GRPO judging groups on the weighted rewards alone: no trigger to score
        self._trigger_index = resolve_trigger(self, args.hint_trigger_reward)
        # No double scoring: TRL's reward call reuses the trigger values guidance already computed.
        self._trigger_func = self.reward_funcs[self._trigger_index]
        if not is_async_callable(self._trigger_func):
            self.reward_funcs[self._trigger_index] = _reuse_known(self._trigger_func, self._trigger_known)
        if not self.hint_ratios:  # plain GRPO that logs rollouts: the trigger is scored, nothing is hinted
            return
        check_hint_columns(dataset_columns(self.train_dataset), args.hint_column, args.hint_gold_column)
        if self.accelerator.is_main_process and isinstance(self.train_dataset, datasets.Dataset):
            self.hint_data = self.inspect_hint_data(self.train_dataset)
            logger.warning(self.hint_data.summary())

    @property
    def _selects(self) -> bool:
        return self.args.use_dynamic_sampling or self.args.use_pre_rollout_skipping

    def _selecting(self) -> bool:
        """Dynamic sampling or pre-rollout skipping acts on this batch (training only: evaluation sees its set as is)."""
        return self._selects and self.model.training

    def _start_rollout_selection(self, args: GHPOConfig) -> None:
        """The prompt reserve (and GRESO's skipper) that dynamic sampling and pre-rollout skipping draw from, checked
        before any generation: they need rows by index, and a trigger (or reward functions) to judge a group."""
        data = self.train_dataset
        if not (hasattr(data, "__len__") and hasattr(data, "__getitem__")) or isinstance(data, datasets.IterableDataset):
            raise ValueError("use_dynamic_sampling and use_pre_rollout_skipping draw replacement prompts by row index: "
                             "they need a map-style train_dataset (a datasets.Dataset), not an IterableDataset.")
        if args.dynamic_sampling_metric == "reward" and any(not callable(f) or hasattr(f, "config")
                                                            for f in self.reward_funcs):
            raise ValueError("dynamic_sampling_metric='reward' scores the reward functions itself and cannot call a "
                             "reward model: use 'trigger' (hint_trigger_reward) with a reward model.")
        self.prompt_reserve = sampling.PromptReserve(len(data), seed=args.seed)
        if args.use_pre_rollout_skipping:
            self.pre_rollout_skipper = sampling.PreRolloutSkipper(args.greso_settings(), seed=args.seed)

    def _choose_schedule(self, args: GHPOConfig) -> str:
        """The schedule this run uses: ``args.hint_schedule``, or for 'auto' 'staged' when the run has what hints need
        and 'none' (plain GRPO, said once, with the check that failed and how to fix it) when it does not."""
        if args.hint_schedule != "auto":
            return args.hint_schedule
        try:  # the same checks a named schedule stops on, so the reason reads as that error would
            resolve_trigger(self, args.hint_trigger_reward)
            if args.hint_column is not None:
                check_hint_columns(dataset_columns(self.train_dataset), args.hint_column, args.hint_gold_column)
        except (ValueError, NotImplementedError) as reason:
            logger.warning("GHPOTrainer: no hints, this run is plain GRPO (hint_schedule='auto'): %s Set "
                           "hint_schedule='staged' to make this an error, or 'none' to silence it.", reason)
            return "none"
        return "staged"

    # -- TRL hooks ---------------------------------------------------------------------------------------------
    def _generate_and_score_completions(self, inputs):
        # _generate only receives prompts; guidance also needs each row's hint, id and reward columns.
        self._ghpo_inputs, self._off_prompt, self._copied, self._refilled_inputs = inputs, [], [], {}
        self._masked_rows, self._capped, self._guidance_logged = [], False, False
        self._accounting = dict.fromkeys(ACCOUNTING, 0)
        if self.pre_rollout_skipper is not None and self.model.training:
            self._skip_before_rollout(inputs)
        try:
            output = super()._generate_and_score_completions(inputs)
        finally:
            self._ghpo_inputs = None
        if self.args.hint_off_policy_correction == "guide":
            # decided across processes: under ZeRO-3 / FSDP a forward pass is collective, so every process runs the
            # same passes even where its own rows need no correction
            any_off, any_copied = map(any, zip(*gather_object([(bool(self._off_prompt), bool(self._copied))])))
            if any_off or any_copied:
                self._use_behaviour_logps(output, self._off_prompt, self._copied, any_off)
        if self._capped:
            self._mask_rows(output, self._masked_rows)
        if self._selecting():
            self._log_selection()
        return output

    def _generate(self, prompts: list):
        output = super()._generate(prompts)
        if self._guidance_active():
            return self._guide(prompts, output)
        if self.args.log_rollouts or self._selecting():  # plain GRPO steps (cold start, 'none') are recorded too
            return self._guide(prompts, output, hints=False)
        if self.hint_ratios:
            self._trigger_known.clear()  # TRL scores this batch itself
        return output

    def _save_checkpoint(self, model, trial):
        super()._save_checkpoint(model, trial)
        if self.args.should_save:
            folder = os.path.join(self._get_output_dir(trial=trial), f"{PREFIX_CHECKPOINT_DIR}-{self.state.global_step}")
            state = {"hint_memory": json.loads(self.hint_memory.to_json())}
            if self.prompt_reserve is not None:
                state["prompt_reserve"] = self.prompt_reserve.state()
            if self.pre_rollout_skipper is not None:
                state["pre_rollout_skipper"] = json.loads(self.pre_rollout_skipper.to_json())
            with open(os.path.join(folder, HINT_STATE_FILE), "w") as f:
                json.dump(state, f)

    def _load_optimizer_and_scheduler(self, checkpoint):
        super()._load_optimizer_and_scheduler(checkpoint)
        path = os.path.join(checkpoint, HINT_STATE_FILE) if checkpoint else None
        if path and os.path.exists(path):
            with open(path) as f:
                state = json.load(f)
            if "hint_memory" not in state:  # checkpoints before issue 29 held the memory's tables alone
                state = {"hint_memory": state}
            self.hint_memory = guidance.HintMemory.from_json(json.dumps(state["hint_memory"]))
            if self.prompt_reserve is not None and "prompt_reserve" in state:
                self.prompt_reserve = sampling.PromptReserve.from_state(state["prompt_reserve"], len(self.train_dataset))
            if self.pre_rollout_skipper is not None and "pre_rollout_skipper" in state:
                self.pre_rollout_skipper = sampling.PreRolloutSkipper.from_json(
                    json.dumps(state["pre_rollout_skipper"]), self.args.greso_settings())
        state = os.path.join(checkpoint, TRAINER_STATE_NAME) if checkpoint else None
        if state and os.path.exists(state) and self.args.log_rollouts and self.accelerator.is_main_process:
            with open(state) as f:
                step = json.load(f)["global_step"]
            set_aside_records_from(os.path.join(self.args.output_dir, ROLLOUTS_FILE), step)

    # -- GHPO -------------------------------------------------------------------------------------------------
    def _skip_before_rollout(self, inputs: list) -> None:
        """GRESO: before TRL samples this batch, replace each group whose prompt the skipper skips with a reserve
        prompt it does not skip (``sampling.fill_skipped``). Every process decides the same (same keys, same seeded
        draws) and rewrites its own rows of a replaced group in TRL's ``inputs`` list."""
        G, rank, n_local = self.num_generations, self.accelerator.process_index, len(inputs)
        keys = gather_object([guidance.problem_key(x.get("id"), x.get("prompt")) for x in inputs])
        draw, drawn_rows = self._reserve_drawer()
        heads = keys[::G]
        replaced, skipped, drawn = sampling.fill_skipped(heads, self.pre_rollout_skipper.should_skip, draw,
                                                         max_draws=self._greso_max_draws())
        for i in range(n_local):
            g = (rank * n_local + i) // G
            if g in replaced:
                inputs[i] = dict(drawn_rows[replaced[g][0]])
        self._accounting["prompts_skipped"] += skipped
        self._accounting["prompts_drawn"] += drawn

    def _greso_max_draws(self) -> int:
        """Reserve prompts GRESO may draw for one batch or one refill: ``greso_max_draws``, by default one pass over
        the training set (GRESO has no cap: it reads its dataloader until the batch is full; the floor keeps the
        expected draws small). Measured on the organism's stuck rung, a cap of 4 a group bound on every step."""
        return self.args.greso_max_draws or len(self.train_dataset)

    def _mask_rows(self, output: dict, rows: list[int]) -> None:
        """Take ``rows`` (groups still zero-variance at the dynamic-sampling cap) out of the loss: completion mask 0,
        and TRL's token count for the loss normaliser (``num_items_in_batch``) without their tokens, so under
        token-level losses ('dapo', 'bnpo') the kept groups are averaged as a full batch would be."""
        mask = output["completion_mask"]
        index = torch.tensor(rows, dtype=torch.long, device=mask.device)
        loss_mask = mask if output.get("tool_mask") is None else mask * output["tool_mask"]
        removed = loss_mask[index].sum() if rows else torch.zeros((), dtype=loss_mask.dtype, device=mask.device)
        mask[index] = 0
        if "num_items_in_batch" in output:
            output["num_items_in_batch"] = output["num_items_in_batch"] - self.accelerator.gather(removed).sum()

    def _log_selection(self) -> None:
        """The step's accounting (docs/GUIDE.md glossary): everything sampled, refills and hint rounds included."""
        count, train = self._accounting, self._metrics["train"]
        values = {
            "ghpo/gen_batches": count["gen_batches"] or 1,
            "ghpo/groups_dropped": count["groups_dropped"],
            "ghpo/groups_unfilled": count["groups_unfilled"],
            "ghpo/prompts_drawn": count["prompts_drawn"],
            "ghpo/prompts_skipped": count["prompts_skipped"],
            "ghpo/sampled_tokens": count["round0_tokens"] + count["extra_tokens"],
        }
        if self.pre_rollout_skipper is not None:
            values["ghpo/greso_p_easy"] = self.pre_rollout_skipper.p_easy
            values["ghpo/greso_p_hard"] = self.pre_rollout_skipper.p_hard
            self._warn_if_skipping_a_pass(count["prompts_skipped"])
        for key, value in values.items():
            train[key].append(float(value))
        # Guidance logged the first batch's rounds and extra tokens (once per generation); with refills the step
        # used more: replace its value, or add it where guidance did not run (plain GRPO, cold start).
        for key, value in (("ghpo/gen_rounds", count["gen_rounds"]), ("ghpo/extra_completion_tokens", count["extra_tokens"])):
            if self._guidance_logged:
                train[key][-1] = float(value)
            else:
                train[key].append(float(value))

    def _warn_if_skipping_a_pass(self, skipped: int) -> None:
        """Once: a step that skipped as many prompts as the training set holds trains only on the few prompts GRESO
        does not skip, again and again. On the organism's stuck rung (320 problems, most out of reach) skipping with
        dynamic sampling skipped 584 a step, fit those few and lost half its held-out greedy accuracy."""
        size = len(self.train_dataset)
        if self._warned_skip_pass or skipped < size:
            return
        self._warned_skip_pass = True
        if self.accelerator.is_main_process:
            logger.warning("GHPO pre-rollout skipping: %d prompts skipped in one step, from a training set of %d: the "
                           "batches come from the few prompts it does not skip, which the model may fit at the cost "
                           "of held-out accuracy. Watch ghpo/prompts_skipped; a larger training set, or skipping "
                           "without dynamic sampling, spreads the steps (docs/GUIDE.md, pre-rollout skipping).",
                           skipped, size)

    def _use_behaviour_logps(self, output: dict, rows: list[tuple[int, list[int]]], copied: list[tuple[int, int]],
                             off_somewhere: bool) -> None:
        """Guide-GRPO's correction (arXiv 2506.13923): each token's old log-prob becomes that of the behaviour that
        wrote it, so the loss's clipped ratio is pi_theta(token | loss context) / behaviour(token).

        - ``rows`` (trained under q, sampled under q*): log pi_old(y_t | q*, y_<t), the policy that sampled them.
        - ``copied`` (``imitate``: the hint's tokens opening a completion): 0, the log of probability 1: they were
          copied from the reference, as an answer restating a prompt hint copies it (Guide-GRPO's setting), so the
          ratio on them is the policy's own probability of writing the hint (LUFFY's off-policy ratio with
          pi_phi = 1, without its shaping). The sampled continuation after them is on-policy in the loss context.

        Other tokens keep TRL's old log-probs (computed here when TRL skipped them: on-policy, they equal the
        current ones). Forward passes over the whole local batch, the same on every process (``off_somewhere``: some
        process has off-prompt rows): one when TRL had old log-probs and some row is off-prompt, two when it had none
        (one for copied rows alone)."""
        completion_ids, completion_mask = output["completion_ids"], output["completion_mask"]
        width, batch, pad_id = completion_ids.size(1), self.args.per_device_train_batch_size, self._tokenizer.pad_token_id
        old = output.get("old_per_token_logps")
        with torch.no_grad(), disable_gradient_checkpointing(self.model, self.args.gradient_checkpointing_kwargs):
            if old is None:
                old, _, _ = self._get_per_token_logps_and_entropies(
                    self.model, torch.cat([output["prompt_ids"], completion_ids], dim=1),
                    torch.cat([output["prompt_mask"], completion_mask], dim=1), width, batch_size=batch)
            old = old.clone()
            if off_somewhere:  # every row, each under the prompt it was sampled from (its own where not off-prompt)
                prompts = _unpadded(output["prompt_ids"], output["prompt_mask"])
                for i, ids in rows:
                    prompts[i] = list(ids)
                prompt_ids = pad([torch.tensor(ids) for ids in prompts], padding_value=pad_id, padding_side="left")
                prompt_mask = pad([torch.ones(len(ids), dtype=torch.long) for ids in prompts], padding_value=0,
                                  padding_side="left")
                behaviour, _, _ = self._get_per_token_logps_and_entropies(
                    self.model, torch.cat([prompt_ids.to(completion_ids.device), completion_ids], dim=1),
                    torch.cat([prompt_mask.to(completion_ids.device), completion_mask], dim=1), width,
                    batch_size=batch)
                for i, _ in rows:
                    old[i] = behaviour[i]
        for i, n in copied:  # completions are right padded: the copied hint is each row's first n tokens
            old[i, :n] = 0.0
        output["old_per_token_logps"] = old

    def _guidance_active(self) -> bool:
        return bool(self.hint_ratios) and self.model.training and self.state.global_step >= self.args.hint_start_step

    def _guide(self, prompts: list, output: tuple, hints: bool = True) -> tuple:
        """Re-sample hard groups with hints and swap them into TRL's ``_generate`` output (DESIGN.md steps 3-6); with
        dynamic sampling, then drop the groups still zero-variance and refill their slots from the prompt reserve.
        ``hints`` False: no hint stages (a plain GRPO step that logs rollouts, or selects groups)."""
        prompt_ids, completion_ids, tool_mask, completions, logprobs, extra_fields, images, tool_images = output
        if images is not None:
            raise NotImplementedError("GHPO hints for multimodal prompts are not supported yet.")
        args, inputs, G = self.args, self._ghpo_inputs, self.num_generations
        n_local = self._n_local = len(prompts)
        trigger = self._score_trigger(inputs, prompts, completions, completion_ids)

        # Decide collectively: every process sees every group (a group may span processes), so all take the same
        # decisions and run the same number of stage rounds.
        local = [
            _Row(prompts[i], inputs[i].get(args.hint_column), inputs[i].get("id"), _reward_columns(inputs[i]), trigger[i],
                 _text(completions[i]) if args.log_rollouts else None, len(completion_ids[i]))
            for i in range(n_local)
        ]
        rows = gather_object(local)
        own = {i: _Sample(prompts[i], prompt_ids[i], completion_ids[i], None if logprobs is None else logprobs[i],
                          completions[i], trigger[i]) for i in range(n_local)}
        slots = list(range(len(rows) // G))
        episode = self._run_episode(slots, rows[::G], [[r.trigger for r in rows[g * G:(g + 1) * G]] for g in slots],
                                    own, hints,
                                    unhinted=[(_text(rows[g * G].prompt), [r.completion_text for r in rows[g * G:(g + 1) * G]],
                                               [r.trigger for r in rows[g * G:(g + 1) * G]]) for g in slots])
        if hints:
            self._log_guidance(episode.planner, episode.outcome, episode.extra_tokens)
        views, row_inputs = dict(episode.views), self._refilled_inputs
        if self._selecting():
            count = self._accounting
            count["round0_tokens"] = sum(r.tokens for r in rows)
            count["extra_tokens"] += episode.extra_tokens
            count["gen_rounds"] += self._generated_rounds(episode)
            self._select_groups(episode, views, hints)

        for i, (view, value) in views.items():
            prompts[i], prompt_ids[i], completion_ids[i], completions[i] = (view.prompt, view.prompt_ids,
                                                                           view.completion_ids, view.completion)
            if logprobs is not None:
                logprobs[i] = view.logprobs
            trigger[i] = value
            if view.behaviour_prompt_ids is not None:
                self._off_prompt.append((i, view.behaviour_prompt_ids))
            if view.copied_tokens:
                self._copied.append((i, view.copied_tokens))
            row = row_inputs.get(i, inputs[i])
            # A refilled row takes its problem's columns; with hint_placement 'response' rewards grade the whole answer,
            # the opening the completion continues (none once it is part of the completion). The same list object is
            # TRL's `inputs`, whose columns TRL passes to every reward.
            if args.hint_placement == "response":
                inputs[i] = {**row, "response_prefix": view.response_prefix}
            elif i in row_inputs:
                inputs[i] = row
        self._trigger_known.clear()
        self._trigger_known.update(
            {_trigger_key(prompts[i], completion_ids[i]): trigger[i] for i in range(n_local)})
        return prompt_ids, completion_ids, tool_mask, completions, logprobs, extra_fields, images, tool_images

    def _run_episode(self, slots: list[int], heads: list[_Row], round0: list[list], own: dict[int, _Sample],
                     hints: bool, unhinted: list | None = None, batch: int = 0) -> _Episode:
        """Guidance over the groups filling ``slots`` (global group indices: the batch's, or the empty slots a refill
        fills) whose unhinted samples are known: ``heads[k]`` the problem in ``slots[k]``, ``round0[k]`` its trigger
        values, ``own[i]`` the unhinted sample of each local row i of those slots. Runs the hint rounds and builds
        each local row as the training mode says (guidance.plan_loss_rows: one strategy per mode)."""
        args, G, rank = self.args, self.num_generations, self.accelerator.process_index
        n_local = self._n_local
        planner = guidance.GuidancePlanner(
            round0=round0,
            has_hint=[isinstance(h.hint, str) and h.hint.strip() != "" for h in heads],
            plan_of=lambda k: self._plan_hints(heads[k].hint, self._gold(heads[k].columns)) if hints else [],
            keys=[guidance.problem_key(h.problem_id, h.prompt) for h in heads],
            num_stages=len(self.hint_ratios), budget=self._budget if hints else guidance.GuidanceBudget(),
            memory=self.hint_memory)
        samples: dict[tuple[int, int], list[_Sample]] = {}  # the jobs whose group has rows on this process
        texts: dict[tuple[int, int], tuple] = {}  # with log_rollouts, on the main process: every job's texts
        extra_tokens = 0
        position = {slot: k for k, slot in enumerate(slots)}
        for jobs in planner.rounds():
            ran = self._run_round([(slots[k], s) for k, s in jobs], lambda slot: heads[position[slot]],
                                  lambda slot, s: self._stage_hint(planner, position[slot], s))
            for (slot, s), triggers, tokens, sampled, text in ran:
                k = position[slot]
                extra_tokens += tokens  # padding shards count too
                if triggers is not None:
                    planner.record(k, s, triggers)
                if sampled is not None:
                    samples[k, s] = sampled
                if text is not None:
                    texts[k, s] = text
        outcome = planner.finish()

        # Swap each hinted group's rows for the samples of the stage it trains on (DESIGN.md step 5).
        plan = guidance.plan_loss_rows(
            outcome.trained_stage, len(slots), G, args.hint_training, self._stages.keep_unhinted,
            guidance.last_sampled_stage(planner.triggers, [slot * G // n_local for slot in slots])
            if args.hint_training == "official" else None)
        views, final = {}, []
        for k, slot in enumerate(slots):
            trained = []
            for j in range(G):
                row = plan[k * G + j]
                trained.append(planner.round0[k][j] if row.stage is None else planner.triggers[k][row.stage][j])
                owner, i = divmod(slot * G + j, n_local)
                if owner != rank:
                    continue
                x = samples[k, row.stage][j] if row.stage is not None else None
                hint = self._stage_hint(planner, k, row.stage)
                view = build_loss_view(row, own[i], x, hint and args.hint_template.format(hint=hint))
                views[i] = (view, own[i].trigger if x is None else x.trigger)
            final.append(trained)
        if args.log_rollouts and self.accelerator.is_main_process:
            self._write_rollouts(planner, outcome, texts, [self._gold(h.columns) for h in heads], unhinted, batch, slots)
        return _Episode(planner, outcome, extra_tokens, slots, views, final)

    def _select_groups(self, episode: _Episode, views: dict, hints: bool) -> None:
        """Dynamic sampling and GRESO's bookkeeping after the batch's guidance: drop the zero-variance groups
        (``sampling.groups_to_drop``) and refill their slots from the prompt reserve, one generation batch at a time,
        each refill guided like the batch, until none is left or ``max_num_generation_batches`` is reached. Updates
        ``views`` (local row -> (view, trigger)) with the refilled rows, whose dataset rows go to
        ``self._refilled_inputs``."""
        args, G, count, n_local = self.args, self.num_generations, self._accounting, self._n_local
        kinds = self._group_kinds(episode, views)
        seen = list(zip(episode.planner.keys, kinds))
        row_inputs = self._refilled_inputs
        batches = 1
        drops = sampling.groups_to_drop(kinds, args.dynamic_sampling_keep_solved)
        drop = [slot for slot, d in zip(episode.slots, drops) if d]
        while args.use_dynamic_sampling and drop and batches < args.max_num_generation_batches:
            count["groups_dropped"] += len(drop)
            fresh = [self._draw_refill() for _ in drop]
            fresh_heads = [_Row(r["prompt"], r.get(args.hint_column), r.get("id"), _reward_columns(r), None, None, 0)
                           for _, r in fresh]
            # Round 0 of the fresh groups, sampled unhinted into the empty slots (their rows' owners get the samples).
            position = {slot: k for k, slot in enumerate(drop)}
            ran = self._run_round([(slot, _ROUND0) for slot in drop], lambda slot: fresh_heads[position[slot]],
                                  lambda slot, s: None)
            round0, own, unhinted = {}, {}, {}
            for (slot, _), triggers, tokens, sampled, text in ran:
                count["extra_tokens"] += tokens
                if triggers is not None:
                    round0[slot] = triggers
                if sampled is not None:
                    for j, x in enumerate(sampled):
                        owner, i = divmod(slot * G + j, n_local)
                        if owner == self.accelerator.process_index:
                            own[i] = x
                if text is not None:
                    unhinted[slot] = text
            refill = self._run_episode(drop, fresh_heads, [round0[slot] for slot in drop], own, hints,
                                       [unhinted.get(slot) for slot in drop], batch=batches)
            batches += 1
            count["extra_tokens"] += refill.extra_tokens
            count["gen_rounds"] += self._generated_rounds(refill)
            views.update(refill.views)
            for i in refill.views:
                row_inputs[i] = fresh[position[(self.accelerator.process_index * n_local + i) // G]][1]
            fresh_kinds = self._group_kinds(refill, refill.views)
            seen += list(zip(refill.planner.keys, fresh_kinds))
            drop = [slot for slot, d in zip(drop, sampling.groups_to_drop(fresh_kinds, args.dynamic_sampling_keep_solved))
                    if d]
        count["gen_batches"] = batches
        if args.use_dynamic_sampling and drop:
            # At the cap: train on the groups there are; the zero-variance ones carry no loss (masked after TRL's call).
            count["groups_unfilled"] = len(drop)
            unfilled = set(drop)
            self._masked_rows = [i for i in range(n_local)
                                 if (self.accelerator.process_index * n_local + i) // G in unfilled]
            self._capped = True
            if self.accelerator.is_main_process:
                logger.warning("GHPO dynamic sampling: %d of %d groups still zero-variance after %d generation batches "
                               "(max_num_generation_batches): they are masked out of this step's loss.",
                               len(drop), len(episode.slots), batches)
        if self.pre_rollout_skipper is not None:
            for key, kind in seen:
                self.pre_rollout_skipper.observe(key, kind)
            self.pre_rollout_skipper.adapt([kind for _, kind in seen])

    def _generated_rounds(self, episode: _Episode) -> int:
        """Generation calls an episode made: its round 0 and hint rounds ('reference' looks its stage up: 1)."""
        return episode.outcome.rounds if self._stages.generated else 1

    def _group_kinds(self, episode: _Episode, views: dict) -> list[str | None]:
        """Each episode group's ``sampling.visit_kind``: the kind of what it trains on (its trigger values, or with
        ``dynamic_sampling_metric`` 'reward' the weighted reward functions scored on its rows, on all processes), and
        where that has no variance, the kind of its unhinted samples. ``views``: the episode's local rows."""
        args, G, threshold = self.args, self.num_generations, self.args.hint_trigger_threshold
        unhinted = [sampling.group_kind(values, threshold) for values in episode.planner.round0]
        if args.dynamic_sampling_metric == "trigger":
            trained = [sampling.group_kind(values, threshold) for values in episode.final]
        else:
            mine = sorted(views)
            totals = self._score_total(mine, views)
            by_row = dict(gather_object([(self.accelerator.process_index * self._n_local + i, t)
                                         for i, t in zip(mine, totals)]))
            trained = [sampling.group_kind([by_row[slot * G + j] for j in range(G)], threshold, "reward")
                       for slot in episode.slots]
        return [sampling.visit_kind(u, t) for u, t in zip(unhinted, trained)]

    def _score_total(self, rows: list[int], views: dict) -> list[float | None]:
        """The weighted sum of the reward functions on local ``rows`` as they will be trained (TRL's sum, None where
        every function returned None), for ``dynamic_sampling_metric`` 'reward'."""
        if not rows:
            return []
        inputs = [self._row_input(i) for i in rows]
        prompts = [views[i][0].prompt for i in rows]
        completions = [views[i][0].completion for i in rows]
        ids = [views[i][0].completion_ids for i in rows]
        cols = [{**r, "response_prefix": views[i][0].response_prefix} if self.args.hint_placement == "response" else r
                for r, i in zip(inputs, rows)]
        # The trigger's values are the ones guidance scored (and TRL's own call will reuse): not scored again.
        trigger = self._trigger_index if self._trigger_func is not None else None
        per_func = [[views[i][1] for i in rows] if n == trigger else self._score_with(f, cols, prompts, completions, ids)
                    for n, f in enumerate(self.reward_funcs)]
        weights = self.reward_weights.tolist()
        totals = []
        for n in range(len(rows)):
            scored = [(w, v[n]) for w, v in zip(weights, per_func) if v[n] is not None]
            totals.append(sum(w * x for w, x in scored) if scored else None)
        return totals

    def _row_input(self, i: int) -> dict:
        return self._refilled_inputs.get(i, self._ghpo_inputs[i])

    def _reserve_drawer(self):
        """``(draw, drawn)``: ``draw()`` takes the next reserve row and returns (row index, problem key), as
        ``sampling.fill_skipped`` draws; ``drawn`` maps each drawn index to its dataset row."""
        drawn: dict[int, dict] = {}

        def draw() -> tuple[int, str]:
            index = self.prompt_reserve.draw(1)[0]
            drawn[index] = row = dict(self.train_dataset[index])
            return index, guidance.problem_key(row.get("id"), row.get("prompt"))

        return draw, drawn

    def _draw_refill(self) -> tuple[int, dict]:
        """The next reserve prompt for an empty slot; with pre-rollout skipping, the first GRESO does not skip (at
        most ``greso_max_draws`` draws, then the last as it is: ``sampling.fill_skipped``), so refills do not bring
        back skipped prompts."""
        draw, drawn = self._reserve_drawer()
        index, key = draw()
        self._accounting["prompts_drawn"] += 1
        if self.pre_rollout_skipper is not None:
            replaced, skipped, redrawn = sampling.fill_skipped([key], self.pre_rollout_skipper.should_skip, draw,
                                                               max_draws=self._greso_max_draws() - 1)
            index = replaced.get(0, (index, key))[0]
            self._accounting["prompts_skipped"] += skipped
            self._accounting["prompts_drawn"] += redrawn
        return index, drawn[index]

    def _run_round(self, jobs: list[tuple[int, int]], head_of, hint_of) -> list:
        """One generation call for (slot, stage) jobs, shared out evenly in whole groups over processes, then shared
        back (``ghpo.distributed.share_round``) to the processes holding the slot's rows: ``(job, triggers, tokens,
        samples, texts)`` per sampled job. ``head_of(slot)``: its problem; ``hint_of(slot, stage)``: the hint (None:
        the unchanged prompt)."""
        G, P, rank = self.num_generations, self.accelerator.num_processes, self.accelerator.process_index
        generated = self._stages.generated or any(s == _ROUND0 for _, s in jobs)
        shards = guidance.assign_groups_to_processes(list(range(len(jobs))), P)
        mine = [jobs[k] for k in shards[rank]]
        if generated:
            sampled = self._sample_hinted([head_of(slot) for slot, _ in mine], [hint_of(slot, s) for slot, s in mine])
        else:
            sampled = self._reference_samples([head_of(slot) for slot, _ in mine])
        return share_round(
            jobs, shards, [(job, sampled[k * G:(k + 1) * G]) for k, job in enumerate(mine)], rank=rank,
            num_processes=P, G=G, n_local=self._n_local, gather=gather_object,
            summarize=lambda xs: ([x.trigger for x in xs], sum(len(x.completion_ids) for x in xs) if generated else 0),
            text_of=(lambda xs: (_text(xs[0].prompt), [_text(x.completion) for x in xs], [x.trigger for x in xs]))
            if self.args.log_rollouts else None)

    def _stage_hint(self, planner: guidance.GuidancePlanner, g: int, stage: int | None) -> str | None:
        """The hint group ``g`` was sampled with at ``stage`` (None: unhinted, or the re-roll control, which samples
        the unchanged prompt)."""
        return planner.plans[g][stage] if stage is not None and self._stages.shows_hints else None

    def _plan_hints(self, hint: str, gold: str | None) -> list[str | None]:
        if not self._stages.generated:  # 'reference': the whole worked solution, answer included, is the trace
            return [hint.strip() or None]
        return self._cuts.plan(hint, gold)

    def _reference_samples(self, heads: list[_Row]) -> list[_Sample]:
        """G copies per group of its reference solution as a completion of the unhinted prompt (``reference``):
        the solution's tokens and the end-of-sequence token, as a sampled answer ends; NaN sampling log-probs (the
        policy did not sample it), scored by the trigger like any sample. Only the group's last row takes it."""
        G, tok = self.num_generations, self._tokenizer
        prompts = [h.prompt for h in heads for _ in range(G)]
        texts = [h.hint.strip() for h in heads for _ in range(G)]
        prompt_ids, _, _ = self._tokenize_prompts(prompts)
        completion_ids = [ids + [tok.eos_token_id] for ids in tok(texts, add_special_tokens=False)["input_ids"]]
        chat = is_conversational({"prompt": prompts[0]}) if prompts else False
        completions = [[{"role": "assistant", "content": t}] if chat else t for t in texts]
        trigger = self._score_trigger([h.columns for h in heads for _ in range(G)], prompts, completions, completion_ids)
        return [_Sample(prompts[i], list(prompt_ids[i]), completion_ids[i], [math.nan] * len(completion_ids[i]),
                        completions[i], trigger[i]) for i in range(len(prompts))]

    def _gold(self, columns: dict) -> str | None:
        gold = columns.get(self.args.hint_gold_column) if self.args.hint_gold_column else None
        return None if gold is None else str(gold)

    def inspect_hint_data(self, dataset, max_rows: int = 1000) -> HintDataReport:
        """What guidance can do with ``dataset`` before any generation (``ghpo.data.HintDataReport``): the trigger
        scores a probe answer against each row's gold (None: it cannot parse it), and each row's hint is planned."""
        rows = spread_rows(dataset, max_rows)
        chat = is_conversational({"prompt": rows[0]["prompt"]})
        probe = [[{"role": "assistant", "content": "\\boxed{0}"}] if chat else "\\boxed{0}" for _ in rows]
        trigger = self._score_trigger([_reward_columns(r) for r in rows], [r["prompt"] for r in rows], probe,
                                      [[] for _ in rows])
        hints = [r.get(self.args.hint_column) for r in rows]
        usable = [isinstance(h, str) and h.strip() != "" and any(self._plan_hints(h, self._gold(r)))
                  for h, r in zip(hints, rows)]
        return HintDataReport(self.args.hint_column, self.args.hint_trigger_reward, len(rows), len(dataset),
                              sum(v is None for v in trigger), len(rows) - sum(usable))

    def _sample_hinted(self, heads: list[_Row], hints: list[str | None]) -> list[_Sample]:
        """G fresh completions per group under its hinted prompt (None: the unchanged prompt, the re-roll control),
        scored by the trigger reward."""
        args, G = self.args, self.num_generations
        hinted = [
            h.prompt if hint is None else guidance.render_hinted_prompt(h.prompt, hint, args.hint_template, args.hint_placement)
            for h, hint in zip(heads, hints)
            for _ in range(G)
        ]
        if args.hint_placement == "response" and is_conversational({"prompt": hinted[0]}) and any(hints):
            # TRL renders with add_generation_prompt=True, which would close the hint's assistant turn.
            prompt_ids, mm_fields = render_continued_chat(self.processing_class, hinted, self.chat_template,
                                                          self.chat_template_kwargs), {}
        else:
            prompt_ids, _, mm_fields = self._tokenize_prompts(hinted)
        completion_ids, logprobs = self._generate_single_turn(prompt_ids, None, mm_fields, G)
        completions = self._decode(hinted, prompt_ids, completion_ids)
        rows = [h.columns for h in heads for _ in range(G)]
        if args.hint_placement == "response":
            rows = [{**r, "response_prefix": args.hint_template.format(hint=hint) if hint else ""}
                    for r, hint in zip(rows, (hint for hint in hints for _ in range(G)))]
        trigger = self._score_trigger(rows, hinted, completions, completion_ids)
        return [
            _Sample(hinted[i], list(prompt_ids[i]), list(completion_ids[i]),
                    None if logprobs is None else list(logprobs[i]), completions[i], trigger[i])
            for i in range(len(hinted))
        ]

    def _decode(self, prompts, prompt_ids, completion_ids):
        # Mirrors TRL's _generate decoding (no tools: rejected in __init__).
        if is_conversational({"prompt": prompts[0]}):
            tok = self._tokenizer
            if Version(transformers.__version__) >= Version("5.0.0") and (
                getattr(tok, "response_template", None) is not None or getattr(tok, "response_schema", None) is not None
            ):
                return [[parse_response(tok, ids, prefix=prompt_ids[i], tools=None)] for i, ids in enumerate(completion_ids)]
            texts = self.processing_class.batch_decode(completion_ids, skip_special_tokens=True)
            return [[{"role": "assistant", "content": t}] for t in texts]
        return self.processing_class.batch_decode(completion_ids, skip_special_tokens=True)

    def _score_trigger(self, rows: list[dict], prompts, completions, completion_ids) -> list[float | None]:
        """The trigger reward per completion, called the way TRL calls reward functions; NaN becomes None (all None
        where the run has no trigger: plain GRPO with dynamic_sampling_metric 'reward')."""
        if self._trigger_func is None:
            return [None] * len(prompts)
        values = self._score_with(self._trigger_func, rows, prompts, completions, completion_ids)
        if len(values) != len(prompts):
            raise ValueError(f"Trigger reward {self.args.hint_trigger_reward!r} returned {len(values)} values for {len(prompts)} completions.")
        return values

    def _score_with(self, func, rows: list[dict], prompts, completions, completion_ids) -> list[float | None]:
        """One reward function's values, called the way TRL calls it (its log_extra/log_metric ignored: this is not
        TRL's scoring pass); NaN becomes None."""
        keys = [k for k in rows[0] if k not in ("prompt", "completion", "completion_ids")]
        kwargs = {k: [r.get(k) for r in rows] for k in keys}
        kwargs.update(trainer_state=self.state, log_extra=_ignore, log_metric=_ignore)
        call = dict(prompts=prompts, completions=completions, completion_ids=completion_ids, **kwargs)
        if is_async_callable(func):
            values = asyncio.run_coroutine_threadsafe(func(**call), self.async_loop).result()
        else:
            values = func(**call)
        return [None if v is None or (isinstance(v, float) and math.isnan(v)) else float(v) for v in values]

    def _log_guidance(self, planner: guidance.GuidancePlanner, outcome: guidance.GuidanceOutcome, extra_tokens: int):
        hints = [h for g, s in outcome.trained_stage.items() if (h := self._stage_hint(planner, g, s))]
        hint_tokens = sum(len(self._tokenizer(h, add_special_tokens=False)["input_ids"]) for h in hints)
        metrics = guidance.guidance_metrics(planner.round0, outcome, self.hint_ratios, hint_tokens, extra_tokens,
                                            memory=self.args.hint_memory, hinted=self._stages.shows_hints)
        if not self._stages.generated:
            metrics["ghpo/gen_rounds"] = 1.0  # the planner's second round looked the traces up, generated nothing
        for key, value in metrics.items():
            self._metrics["train"][key].append(value)
        self._guidance_logged = True

    def _write_rollouts(self, planner: guidance.GuidancePlanner, outcome: guidance.GuidanceOutcome,
                        texts: dict[tuple[int, int], tuple], golds: list, unhinted: list, batch: int, slots: list[int]):
        """Append one generation batch's records; with dynamic sampling or skipping they also name the generation
        batch and the slot (a slot sampled again in a later batch was dropped)."""
        records = rollout_records(
            step=self.state.global_step, ratios=self.hint_ratios, planner=planner, outcome=outcome, golds=golds,
            unhinted=unhinted, hinted=texts, shown=self._stages.shows_hints)
        if self._selecting():
            for k, r in enumerate(records):
                r.update(generation_batch=batch, slot=slots[k])
        append_records(os.path.join(self.args.output_dir, ROLLOUTS_FILE), records)


class LossView(NamedTuple):
    """One row as TRL's loss will see it (``build_loss_view``)."""

    prompt: Any
    prompt_ids: list[int]
    completion_ids: list[int]
    completion: Any
    logprobs: list[float] | None  # sampling log-probs; NaN where the policy did not sample the token in this context
    response_prefix: str  # the answer's opening the completion continues, for rewards (hint_placement="response")
    behaviour_prompt_ids: list[int] | None  # off-prompt rows: the prompt ids the completion was sampled from
    copied_tokens: int = 0  # imitate: the completion's opening tokens copied from the hint, not sampled


def build_loss_view(row: guidance.LossRow, own: _Sample, hinted: _Sample | None, opening: str | None) -> LossView:
    """What the loss sees for one row: its own unhinted sample ``own``, or the hinted sample ``hinted`` placed as
    ``row`` says (``guidance.plan_loss_rows``). ``opening``: the rendered hint that opened the hinted answer.

    Off-prompt rows (trained under q, sampled under q*) and imitated hint tokens were not sampled by the policy in the
    loss context: their sampling log-probs are NaN, which TRL's vLLM importance-sampling correction reads as 'no
    correction' (ratio 1) instead of a ratio between two contexts.
    """
    if row.stage is None:
        return LossView(own.prompt, own.prompt_ids, own.completion_ids, own.completion, own.logprobs, "", None)
    x, prefix = hinted, opening or ""
    if row.prompt == "sampled":
        return LossView(x.prompt, x.prompt_ids, x.completion_ids, x.completion, x.logprobs, prefix, None)
    if row.hint_in_completion:  # imitate: the sampled ids split after the unhinted prompt; the hint opens the answer
        n = guidance.split_imitation(own.prompt_ids, x.prompt_ids)
        opened = list(x.prompt_ids[n:])
        logprobs = None if x.logprobs is None else [math.nan] * len(opened) + list(x.logprobs)
        return LossView(own.prompt, list(x.prompt_ids[:n]), opened + list(x.completion_ids),
                        _prepend(prefix, x.completion), logprobs, "", None, len(opened))
    off = list(x.prompt_ids) != list(own.prompt_ids)  # a re-roll stage was sampled under q itself
    logprobs = [math.nan] * len(x.logprobs) if off and x.logprobs is not None else x.logprobs
    return LossView(own.prompt, own.prompt_ids, x.completion_ids, x.completion, logprobs, prefix,
                    list(x.prompt_ids) if off else None)


def _unpadded(ids: torch.Tensor, mask: torch.Tensor) -> list[list[int]]:
    """Each row's ids where its mask is set (a padded batch back to its rows)."""
    return [row[m.bool()].tolist() for row, m in zip(ids, mask)]


def _prepend(prefix: str, completion):
    """``prefix`` + a completion (text, or one assistant message)."""
    if isinstance(completion, str):
        return prefix + completion
    return [{**completion[0], "content": prefix + completion[0]["content"]}, *completion[1:]]


def render_continued_chat(processing_class, prompts: list, chat_template=None, chat_template_kwargs=None) -> list:
    """Token ids of chat prompts whose final assistant message (``hint_placement="response"``: the hint) is left open
    for the model to continue.

    The hint is written right after the generation prompt that the unhinted prompt is sampled from (the same
    template and ``chat_template_kwargs``), so a hinted sample differs from an unhinted one only by the hint. A
    template's own rendering of a final assistant message may differ: Qwen3's puts an empty
    ``<think>\\n\\n</think>`` before it, which would switch a thinking model to non-thinking answers for hinted
    groups only. To open the reasoning with the hint, set ``hint_template="<think>\\n{hint}\\n"``.
    """
    heads = [prompt[:-1] for prompt in prompts]
    texts = processing_class.apply_chat_template(
        conversation=heads,
        chat_template=chat_template,
        add_generation_prompt=True,
        tokenize=False,
        **(chat_template_kwargs or {}),
    )
    tokenizer = getattr(processing_class, "tokenizer", processing_class)
    openings = [prompt[-1]["content"] for prompt in prompts]
    return tokenizer([t + o for t, o in zip(texts, openings)], add_special_tokens=False)["input_ids"]


def _finite_rewards(func):
    """Wrap a plain reward function so a NaN or inf it returns stops training with its name, instead of TRL
    reading NaN as 'no reward' (None is still allowed: it means 'skip')."""
    if not callable(func) or is_async_callable(func) or hasattr(func, "config") or getattr(func, "_ghpo_checked", False):
        return func

    @functools.wraps(func)
    def checked(*args, **kwargs):
        values = func(*args, **kwargs)
        for i, v in enumerate(values):
            if v is not None and not math.isfinite(v):
                prompt = kwargs.get("prompts", [None] * (i + 1))[i]
                raise FloatingPointError(
                    f"Reward function {func.__name__!r} returned {v} for completion {i} (prompt {_text(prompt)[:80]!r}). "
                    "Return a finite number, or None to skip the completion."
                )
        return values

    checked._ghpo_checked = True
    return checked


def _trigger_key(prompt, completion_ids) -> tuple:
    return _text(prompt), tuple(completion_ids)


def _reuse_known(func, known: dict):
    """The trigger reward as TRL calls it, answering from ``known`` (values guidance computed on exactly these
    prompts and completions this step) and calling ``func`` only when a completion is not known."""

    @functools.wraps(func)
    def reuse(*args, prompts=None, completion_ids=None, **kwargs):
        if prompts is not None and completion_ids is not None and known:
            keys = [_trigger_key(p, c) for p, c in zip(prompts, completion_ids)]
            if len(keys) == len(prompts) and all(k in known for k in keys):
                return [known[k] for k in keys]
        return func(*args, prompts=prompts, completion_ids=completion_ids, **kwargs)

    return reuse


def _ignore(*args, **kwargs):
    return None


def _reward_columns(row: dict) -> dict:
    return {k: v for k, v in row.items() if k != "prompt"}


def _text(x) -> str:
    """Plain text of a prompt or completion (text, or chat messages)."""
    if isinstance(x, str):
        return x
    if isinstance(x, list):
        return "\n".join(f"{m.get('role', '')}: {m.get('content', '')}" if isinstance(m, dict) else str(m) for m in x)
    return str(x)
