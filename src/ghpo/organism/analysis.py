"""Where the learning signal comes from, read from the trainer's own records of what it sampled and trained on
(``rollouts.jsonl``): all-wrong groups, rescues, advantage mass, next visits, hints that would state the answer."""

from __future__ import annotations

import statistics
from collections import defaultdict

from ghpo.organism import (
    valid_scratchpad,
)


# group analysis
def _advantage_mass(rewards: list[float]) -> float:
    """Sum of |advantage| over a group, as TRL computes it (scale_rewards='group': (r - mean) / (std + 1e-4),
    unbiased std)."""
    m = statistics.mean(rewards)
    s = statistics.stdev(rewards) if len(rewards) > 1 else 0.0
    return sum(abs(r - m) for r in rewards) / (s + 1e-4)


def hint_states_answer(hint: str, worked: str) -> bool:
    """True when ``hint`` is not a prefix of the worked solution or reaches into its last step (``= <answer>``)."""
    return not worked.startswith(hint) or len(hint) > worked.rindex("\n= ")


def analyse_rollouts(records: list[dict], worked: dict[str, str], examples: int = 4,
                     golds: dict[str, str] | None = None) -> dict:
    """Where the learning signal comes from, read from the trainer's records (``rollouts.jsonl``, one per group per
    step, plain GRPO steps included): per level the groups all wrong unhinted and those a hint stage rescued, the
    advantage mass of what each group trained on (the stage that rescued it, else its unhinted samples: an
    unrescued hinted group is all wrong, no mass either way), whether an all-wrong problem is solved unhinted on
    its next visit, hints that would state the answer (``worked``: problem id -> worked solution), and right answers
    whose scratchpad lines are all right. The trigger reward is the organism's only reward, so the trigger values
    recorded are the rewards trained on. ``golds`` (problem id -> gold) stands in where a record has no gold (the
    benchmark trains with ``hint_gold_column=None``, so its records carry none)."""
    level_hard = defaultdict(lambda: [0, 0])  # level -> [all-wrong round-0 groups, groups]
    level_rescued = defaultdict(int)  # level -> hard groups rescued at some stage
    mass_total = mass_rescued = 0.0
    visits: dict[str, list[tuple[int, int, bool]]] = defaultdict(list)  # id -> (step, round-0 correct, rescued)
    leaks = hinted_groups = 0
    valid = {"round0": [0, 0], "rescued": [0, 0]}  # right answers with every scratchpad line right: [valid, right]
    shown: list[dict] = []
    for rec in records:
        pid, (first, *hinted) = rec["problem_id"], rec["stages"]
        gold = rec["gold"] if rec["gold"] is not None else (golds or {})[pid]
        r0 = first["trigger"]
        n_ok = int(sum(v or 0 for v in r0))
        for x, r in zip(first["completions"], r0):
            if r:
                valid["round0"][0] += valid_scratchpad(x, gold)
                valid["round0"][1] += 1
        rescue = next((st for st in hinted if any(st["trigger"])), None)
        hinted_groups += len(hinted)
        leaks += sum(hint_states_answer(st["hint"], worked[pid]) for st in hinted)
        if rescue is not None:
            for x, r in zip(rescue["completions"], rescue["trigger"]):
                if r:
                    valid["rescued"][0] += valid_scratchpad(rescue["hint"] + x, gold)
                    valid["rescued"][1] += 1
            if len(shown) < examples:
                right = next(x for x, r in zip(rescue["completions"], rescue["trigger"]) if r)
                shown.append({"step": rec["step"], "hinted_prompt": rescue["prompt"], "gold": gold,
                              "correct_completion": right, "n_correct": int(sum(rescue["trigger"]))})
        lv = pid.split(":")[0]
        level_hard[lv][1] += 1
        if n_ok == 0:
            level_hard[lv][0] += 1
            level_rescued[lv] += rescue is not None
        visits[pid].append((rec["step"], n_ok, rescue is not None))
        if n_ok == 0 and rescue is not None:
            mass = _advantage_mass(rescue["trigger"])
            mass_rescued += mass
        else:
            mass = _advantage_mass([v or 0.0 for v in r0])
        mass_total += mass
    # Next visit of a problem that was all-wrong unhinted: solved unhinted then (>= 1 of G right)?
    nxt = {"rescued": [0, 0], "not_rescued": [0, 0]}
    for seq in visits.values():
        for (s0, ok0, resc), (s1, ok1, _) in zip(seq, seq[1:]):
            if ok0 == 0:
                key = "rescued" if resc else "not_rescued"
                nxt[key][1] += 1
                nxt[key][0] += ok1 > 0
    return {
        "level_hard": {lv: v for lv, v in level_hard.items()}, "level_rescued": dict(level_rescued),
        "adv_mass_total": mass_total, "adv_mass_rescued": mass_rescued, "steps": len({r["step"] for r in records}),
        "next_visit": nxt, "answer_leaks": int(leaks), "hinted_groups": hinted_groups, "examples": shown,
        "valid_steps": valid,
    }
