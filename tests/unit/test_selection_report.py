"""Issue 29's organism readings (ghpo.organism.selection) on synthetic runs: tokens to GRPO's final accuracy, the
declared comparisons, the report."""

import math

from ghpo.organism.budget import Budget
from ghpo.organism.selection import PRIMARY_29, reach_rows, selection_activity, selection_report, tokens_to_reach

B = Budget()


def _run(arm, seed, accs, tokens_per_eval=100, valid=None):
    evals = [{"step": 2 * i, "tokens": tokens_per_eval * i, "avg@8/5x1": a, "valid@8/5x1": (valid or accs)[i]}
             for i, a in enumerate(accs)]
    return {"arm": arm, "seed": seed, "evals": evals, "step_s": [0.5] * (2 * (len(accs) - 1)),
            "sampled_tokens": evals[-1]["tokens"]}


def test_tokens_to_reach_interpolates_and_says_never():
    run = _run("x", 0, [0.1, 0.2, 0.4])
    assert tokens_to_reach(run, 0.3, "hard/sampled", B) == (150.0, 1.5)
    assert tokens_to_reach(run, 0.1, "hard/sampled", B) == (0.0, 0.0)  # already there at step 0
    assert tokens_to_reach(run, 0.5, "hard/sampled", B) is None


def test_reach_rows_target_grpo_final_mean_and_count_seeds_that_reach_it():
    runs = [_run("grpo", 0, [0.1, 0.2, 0.3]), _run("grpo", 1, [0.1, 0.2, 0.5]), _run("grpo", 2, [0.1, 0.2, 0.4]),  # 0.4
            _run("grpo+dynamic", 0, [0.1, 0.5, 0.6], tokens_per_eval=200),
            _run("grpo+dynamic", 1, [0.1, 0.2, 0.3], tokens_per_eval=200)]
    rows = {r["arm"]: r for r in reach_rows(runs, B)}
    assert math.isclose(rows["grpo"]["target"], 0.4)
    assert rows["grpo"]["gain"] and rows["grpo"]["reached"] == 2 and rows["grpo+dynamic"]["reached"] == 1
    assert math.isclose(rows["grpo+dynamic"]["tokens"][0], 200 * (0.4 - 0.1) / 0.4)
    assert math.isclose(rows["grpo+dynamic"]["total_tokens_vs_grpo"], 2.0)


def test_report_holds_both_tables_and_holm_over_the_primary_family():
    runs = [_run(arm, s, [0.1, 0.2 + d + 0.01 * s, 0.3 + d + 0.02 * s])
            for arm, d in (("grpo", 0.0), ("grpo+dynamic", 0.05), ("grpo+skip", -0.02)) for s in range(3)]
    text = selection_report({"stuck (600)": runs}, B, ["python benchmarks/organism_selection.py"], "**Verdict.** x")
    assert "Tokens to GRPO's final accuracy" in text and "python benchmarks/organism_selection.py" in text
    assert text.index("**Verdict.** x") < text.index("Tokens to GRPO's final accuracy")
    primary = [line for line in text.splitlines() if "| primary |" in line]
    assert len(primary) == len(PRIMARY_29) == 4
    assert all(line.rstrip(" |").split(" | ")[-1] not in ("", "n/a") for line in primary)  # Holm p present
    assert any("grpo+dynamic - grpo: hard/sampled@common" in line for line in primary)


def test_no_gain_to_reach_where_grpo_does_not_learn():
    # GRPO's end minus start: +0.05 and -0.03, an interval that reaches 0
    runs = [_run("grpo", 0, [0.3, 0.2, 0.35]), _run("grpo", 1, [0.3, 0.2, 0.27]), _run("grpo+skip", 0, [0.3, 0.4, 0.5])]
    rows = reach_rows(runs, B)
    assert not rows[0]["gain"]
    text = selection_report({"stuck (600)": runs}, B, [])
    assert "no gain to reach" in text


def test_activity_says_what_selection_did_per_arm():
    runs = [{"arm": "grpo+dynamic", "log": [{"ghpo/gen_batches": 1, "ghpo/groups_unfilled": 0},
                                            {"ghpo/gen_batches": 4, "ghpo/groups_unfilled": 3}]},
            {"arm": "grpo+dynamic", "log": [{"ghpo/gen_batches": 4, "ghpo/groups_unfilled": 2}]},
            {"arm": "grpo", "log": [{"frac_reward_zero_std": 0.9}]}]
    act = selection_activity(runs)
    assert act["grpo+dynamic"]["ghpo/gen_batches"] == 3.0 and math.isclose(act["grpo+dynamic"]["capped"], 2 / 3)
    assert math.isnan(act["grpo"]["ghpo/gen_batches"]) and act["grpo"]["capped"] == 0.0
    runs = [{**r, **_run(r["arm"], s, [0.1, 0.2])} for s, r in enumerate(runs)]
    text = selection_report({"stuck (600)": runs}, B, [])
    row = next(line for line in text.splitlines()
               if line.startswith("| stuck (600) | grpo+dynamic | ") and line.endswith("% |"))
    assert "| 3.00 |" in row and row.endswith("| 67% |")
