"""The organism benchmark's sizes and arms: levels, rewards, the comparison arms, ``Budget`` (the full run and
``--quick`` differ only here)."""

from __future__ import annotations

import dataclasses
from dataclasses import asdict, dataclass, replace

from ghpo.organism import (
    WarmStartSettings,
    boxed_accuracy_reward,
    score_boxed,
    score_steps,
    stepwise_accuracy_reward,
)
from ghpo.trainer import GHPOConfig

EVAL_LEVELS = ("3x1", "4x1", "5x1")
EASY = ("3x1", "4x1")  # SFT levels the warm start masters and RL never trains on: the forgetting check
TRAIN_LEVELS = ("5x1",)  # one step longer than SFT taught (bar a 600-row glimpse): the warm start rarely solves it
HARD = ("5x1",)
REWARD_NAME = "organism_reward"  # the trigger reward is chosen by name
# Training reward (--reward): 'boxed' pays a right final box; 'steps' also needs every scratchpad line right, so a
# lucky box after wrong steps earns nothing (on this warm start most right 5x1 boxes are lucky: see NOTES).
REWARDS = {"boxed": (boxed_accuracy_reward, score_boxed), "steps": (stepwise_accuracy_reward, score_steps)}

BUDGETED = dict(hint_schedule="staged", hint_memory=True, hint_memory_start="at", hint_give_up_after=2,
                hint_retry_after=4)


def arms_table() -> dict[str, dict]:
    """The comparison arms; ``staged+budgeted`` only when GHPOConfig has issue 11's fields."""
    fields = {f.name for f in dataclasses.fields(GHPOConfig)}
    arms = {
        "grpo": dict(hint_schedule="none"),
        "fixed-0.5": dict(hint_schedule="fixed", hint_ratios=[0.5]),
        "staged": dict(hint_schedule="staged"),
        # Issue 21's control: staged's rounds and stages, each re-sampling the unchanged prompt (hint or samples?).
        "reroll": dict(hint_schedule="reroll"),
        # Issue 21's remedy for hint reliance (NuRL-style): one unhinted sample kept in each hinted group.
        "staged+keep1": dict(hint_schedule="staged", hint_keep_unhinted=1),
        # Issue 28's hybrid half. The hint trained as the opening of the answer (q* = q + hint is the scratchpad's
        # own prefix, so 'response' placement renders the same text): half of each hinted group stays unhinted, as
        # a hint every sample shares gets no net gradient under group-normalised advantages (docs/GUIDE.md).
        "staged+imitate": dict(hint_schedule="staged", hint_training="imitate", hint_placement="response",
                               hint_keep_unhinted=4),
        # The corrected variant (Guide-GRPO's ratio): the hint's tokens were copied from the reference, so their
        # behaviour probability is 1 and the ratio on them is the policy's own probability of writing them. On the
        # organism this is also 'original' + guide for an answer that restates its hint (see docs/GUIDE.md).
        "staged+imitate+guide": dict(hint_schedule="staged", hint_training="imitate", hint_placement="response",
                                     hint_keep_unhinted=4, hint_off_policy_correction="guide"),
        # The imitation baseline without guidance (LUFFY-style): the reference scratchpad as one sample of each
        # all-wrong group, and the positive control that the organism can show transfer at all.
        "reference": dict(hint_schedule="reference"),
    }
    if "hint_give_up_after" in fields:
        arms["staged+budgeted"] = dict(BUDGETED)
        # Issue 11's fewer rounds: every remaining stage of the hard groups in one extra generation call.
        arms["staged+budgeted+single"] = dict(BUDGETED, hint_rounds="single")
        arms["staged+budgeted-below"] = dict(BUDGETED, hint_memory_start="below")  # issue 11: 'at' vs one below
    if "hint_stages_per_visit" in fields:
        # Issue 11's joint goal (tokens and rounds): k stages per hard visit in one call, climbing across visits.
        for k in (1, 2):
            arms[f"staged+budgeted+{k}stage"] = dict(BUDGETED, hint_rounds="single", hint_stages_per_visit=k)
    if "use_dynamic_sampling" in fields:
        # Issue 29: spend rollouts where they teach. DAPO dynamic sampling (drop zero-variance groups, refill from the
        # prompt reserve, at most 4 generation batches a step) and GRESO pre-rollout skipping, on plain GRPO and on
        # staged (the better of the two is the one the issue asks for beside staged).
        arms["grpo+dynamic"] = dict(hint_schedule="none", use_dynamic_sampling=True)
        arms["grpo+skip"] = dict(hint_schedule="none", use_pre_rollout_skipping=True)
        # The first grpo+skip runs (commit cae6f66) drew at most 4 reserve prompts per group a batch (64 for 16
        # groups); on the stuck rung that cap bound on every step, so GRESO's cap-free default replaced it.
        arms["grpo+skip-cap64"] = dict(hint_schedule="none", use_pre_rollout_skipping=True, greso_max_draws=64)
        # GRESO's own setting: skip before sampling, then drop and refill what is still zero-variance (exploratory,
        # added after the primary arms ran: does skipping cut dynamic sampling's refill cost where most groups fail?)
        arms["grpo+dynamic+skip"] = dict(hint_schedule="none", use_dynamic_sampling=True, use_pre_rollout_skipping=True)
        arms["staged+dynamic"] = dict(hint_schedule="staged", use_dynamic_sampling=True)
        arms["staged+skip"] = dict(hint_schedule="staged", use_pre_rollout_skipping=True)
    arms["staged-char"] = dict(hint_schedule="staged", hint_unit="char")
    arms["staged+coldstart"] = dict(hint_schedule="staged")  # hint_start_step set from the budget
    return arms


def arms_of(runs: list[dict]) -> list[str]:
    """The arms in ``runs``: the arms table's order, then arms run to a token budget (``grpo@staged``) as they come."""
    present = list(dict.fromkeys(r["arm"] for r in runs))
    table = [a for a in arms_table() if a in present]
    return table + [a for a in present if a not in table]


def token_budget_label(arm: str, until_tokens_of: str | None = None, max_tokens: int | None = None) -> str:
    """The name a run to a token budget is stored under, beside the arm's step-count runs: ``grpo@staged`` (to
    staged's mean total at the rung) or ``grpo@2000000`` (to a plain count)."""
    return f"{arm}@{until_tokens_of}" if until_tokens_of else f"{arm}@{max_tokens}"


def token_target(runs: list[dict], until_tokens_of: str | None = None, max_tokens: int | None = None) -> int | None:
    """The sampled-token total a run to a token budget stops at: ``max_tokens``, or the mean total of the
    ``until_tokens_of`` arm's runs (its seeds at this rung); None for a step-count run."""
    if until_tokens_of is None:
        return max_tokens
    theirs = [r["sampled_tokens"] for r in runs if r["arm"] == until_tokens_of]
    if not theirs:
        raise ValueError(f"no {until_tokens_of!r} runs to take a token total from; run that arm first")
    return round(sum(theirs) / len(theirs))


@dataclass
class Budget:
    """Sizes of one benchmark run (the full run and --quick differ only here)."""

    seeds: tuple[int, ...] = (0, 1, 2, 3, 4)
    steps: int = 120  # optimizer steps per arm (plain GRPO's 5x1 greedy plateaued from step ~80 in the pilots)
    prompts_per_step: int = 16  # B prompts x G completions per optimizer step
    num_generations: int = 8  # G
    max_completion_length: int = 64  # a 5x1 scratchpad is ~57 tokens with its eos
    learning_rate: float = 1e-4  # 3e-5 barely moved 5x1 in 80 steps; 3e-4 cost 4x1 25 points (NOTES)
    beta: float = 0.2  # KL to the warm start: at 0.04, 4x1 greedy fell 99% -> 89% in 160 steps; at 0.2, 99% -> 97%
    adam_epsilon: float = 1e-8  # TRL's default
    scale_rewards: str = "group"  # TRL's default
    eval_every: int = 20
    # Issue 21, hint dependence: also evaluate the hard levels greedily with these hint ratios (empty: not measured).
    eval_hint_ratios: tuple[float, ...] = ()
    eval_per_level: int = 100  # the warm start's held-out set (never seen in SFT or RL)
    avg_k: int = 8  # sampled accuracy: k samples per held-out problem at temperature 1 (avg@2 was +-4.5: NOTES)
    train_rows: int = 320  # 120 steps x 16 prompts draw each problem 6 times (memory can act)
    # Replay (a pilot, off): this share of the training problems comes from easy levels (round-robin over
    # replay_levels). The idea: TRL's KL term to the warm start is taken only on what is sampled, so easy samples
    # might anchor the easy levels. Measured: it did not (4x1 fell more with replay than without; NOTES).
    replay_share: float = 0.0
    replay_levels: tuple[str, ...] = ("4x1",)  # every 3x1 problem is in SFT or the held-out set
    coldstart_steps: int = 20  # the paper's N = 20
    reward: str = "steps"  # a key of REWARDS; 'boxed' pays lucky boxes, and GRPO learnt half as fast with it (NOTES)
    probe_per_level: int = 96  # regime probe: training problems per level, groups of G
    # A 600-row 5x1 glimpse: on this Intel CPU the 300-row warm start solved 1% of 5x1 training groups' samples
    # (GRPO learnt nothing) where the same settings on AMD gave 9% greedy; 1000 rows gave 67% greedy (NOTES).
    warm: WarmStartSettings = WarmStartSettings(sft_glimpse=(("5x1", 600),))

    def with_glimpse(self, rows: int) -> Budget:
        """This budget on the ladder rung whose warm start saw ``rows`` 5x1 scratchpads in SFT (0: none).

        >>> Budget().with_glimpse(800).warm.sft_glimpse
        (('5x1', 800),)
        """
        return replace(self, warm=replace(self.warm, sft_glimpse=(("5x1", rows),) if rows else ()))


QUICK = Budget(seeds=(0,), steps=2, prompts_per_step=4, eval_every=2, eval_per_level=4, avg_k=1, train_rows=12,
               coldstart_steps=1, probe_per_level=4,
               warm=WarmStartSettings(sft_steps=20, sft_rows=400, eval_per_level=4, eval_k=0))


def budget_from_dict(b: dict) -> Budget:
    b = {**asdict(Budget()), **b}  # a JSON written before a field existed has that field's default
    b["warm"] = WarmStartSettings(**{k: tuple(v) if isinstance(v, list) else v for k, v in b["warm"].items()})
    return Budget(**{k: tuple(v) if k in ("seeds", "replay_levels", "eval_hint_ratios") else v for k, v in b.items()})
