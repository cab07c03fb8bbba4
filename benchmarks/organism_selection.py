"""Issue 29: dynamic sampling and pre-rollout skipping against plain GRPO and staged on the organism ladder's rungs.

The arms run through the ladder's compare part, on each rung's own warm start and gates (one arm a call, so a sitting
can stop between them):

    python benchmarks/organism_ladder.py --glimpses 600 1500 --part compare --arms grpo+dynamic --out docs/ladder28
    python benchmarks/organism_ladder.py --glimpses 600 1500 --part compare --arms grpo+skip --out docs/ladder28
    python benchmarks/organism_ladder.py --glimpses 1500 --part compare --arms staged+dynamic --out docs/ladder28
    python benchmarks/organism_ladder.py --glimpses 600 800 --part compare --arms staged+skip --out docs/ladder28
    python benchmarks/organism_ladder.py --glimpses 600 --part compare --arms grpo+dynamic+skip --out docs/ladder28
    python benchmarks/organism_selection.py --glimpses 600 800 1500 --out docs/ladder28     # -> SELECTION.md

This script only reads: per rung, tokens and training time to reach GRPO's final accuracy, and the paired readings
at equal tokens (``ghpo.organism.selection``), into ``<out>/SELECTION.md``, after the hand-written reading in
``<out>/SELECTION_VERDICT.md`` where there is one.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from ghpo.organism.budget import budget_from_dict
from ghpo.organism.ladder import rung_summary
from ghpo.organism.selection import REPORTED_ARMS, selection_report


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--glimpses", type=int, nargs="+", default=[600, 800, 1500])
    p.add_argument("--out", default="docs/ladder28")
    a = p.parse_args(argv)
    out = Path(a.out)
    rungs, budget, commands = {}, None, []
    for g in a.glimpses:
        path = out / f"glimpse{g}" / "organism_results.json"
        if not path.exists():
            print(f"glimpse {g}: no {path}, skipped")
            continue
        saved = json.loads(path.read_text())
        budget = budget_from_dict(saved["budget"])
        summary = rung_summary(saved)
        rungs[f"{summary['name']} ({g})"] = [r for r in saved["runs"] if r["arm"] in REPORTED_ARMS]
        commands += [f"{part['command']}  # commit {part['commit']}, {part['wall_s'] / 60:.1f} min, {part['cpu']}"
                     for part in saved["parts"] if part["part"] == "gates"
                     or any(arm in part["command"].split() for arm in REPORTED_ARMS)]
    if not rungs:
        print("no rung results found")
        return 1
    verdict = out / "SELECTION_VERDICT.md"  # the reading in plain words, written by hand from these tables
    text = selection_report(rungs, budget, [f"python benchmarks/organism_selection.py {' '.join(argv or sys.argv[1:])}",
                                            *commands], verdict.read_text() if verdict.exists() else "")
    (out / "SELECTION.md").write_text(text)
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
