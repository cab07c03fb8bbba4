"""``rollouts.jsonl``: one JSON record per group per step, to read a rescue by eye (``GHPOConfig.log_rollouts``).

A record holds the step, the problem key, the gold answer, whether the group was hard, the ratio it trained on
(0.0: its unhinted samples), the skipped ratios, and per stage tried (the unhinted round first) the hint, the exact
prompt, the completions and their trigger values.
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence

from .guidance import GuidanceOutcome, GuidancePlanner

ROLLOUTS_FILE = "rollouts.jsonl"

Sampled = tuple[str, list, list]  # (prompt text, completions, trigger values) of one group under one stage


def rollout_records(step: int, ratios: Sequence[float], planner: GuidancePlanner, outcome: GuidanceOutcome,
                    golds: Sequence[str | None], unhinted: Sequence[Sampled],
                    hinted: dict[tuple[int, int], Sampled], shown: bool = True) -> list[dict]:
    """The records of one step: ``unhinted[g]`` is group g's round 0, ``hinted[g, s]`` its samples under stage s
    (``shown`` False: the ``reroll`` schedule, whose stages show no hint)."""
    records = []
    for g, (prompt, completions, trigger) in enumerate(unhinted):
        plan = planner.plans.get(g, [])
        stages = [{"ratio": 0.0, "hint": "", "prompt": prompt, "completions": completions, "trigger": trigger}]
        stages += [{"ratio": ratios[s], "hint": plan[s] if shown else "", "prompt": p, "completions": c, "trigger": t}
                   for (h, s), (p, c, t) in sorted(hinted.items()) if h == g]
        trained = outcome.trained_stage.get(g)
        records.append({"step": step, "problem_id": planner.keys[g], "gold": golds[g], "hard": outcome.hard[g],
                        "trained_ratio": 0.0 if trained is None else ratios[trained],
                        "skipped_ratios": [r for r, h in zip(ratios, plan) if h is None], "stages": stages})
    return records


def append_records(path: str, records: list[dict]) -> None:
    os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
    with open(path, "a") as f:
        f.writelines(json.dumps(r) + "\n" for r in records)


def set_aside_records_from(path: str, step: int) -> int:
    """After a resume from the checkpoint of ``step``, move the JSONL records of ``path`` logged at step >= ``step``
    (they will be logged again) to ``<path>.superseded``, so the file holds each step once and nothing is lost.
    Returns how many records moved."""
    if not os.path.exists(path):
        return 0
    with open(path) as f:
        lines = f.readlines()
    later = [bool(line.strip()) and json.loads(line).get("step", -1) >= step for line in lines]
    moved = [line for line, drop in zip(lines, later) if drop]
    if moved:
        with open(path + ".superseded", "a") as f:
            f.writelines(moved)
        with open(path, "w") as f:
            f.writelines(line for line, drop in zip(lines, later) if not drop)
    return len(moved)
