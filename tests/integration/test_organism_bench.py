"""The organism benchmark: its statistics and signal analysis (fast, synthetic inputs) and the --quick smoke run."""

import dataclasses
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def bench():
    """The benchmark's modules (``ghpo.organism.budget``, ``runs``, ``analysis``, ``gates``, ``results``) as one
    namespace; the script only parses options."""
    from types import SimpleNamespace

    from ghpo.organism import analysis, budget, gates, results, runs
    from ghpo.trainer import GHPOConfig

    names = {}
    for module in (budget, runs, analysis, gates, results):
        names.update(vars(module))
    return SimpleNamespace(**{**names, "GHPOConfig": GHPOConfig})


def test_budgeted_arm_only_with_issue_11_fields(bench):
    fields = {f.name for f in dataclasses.fields(bench.GHPOConfig)}
    assert ("staged+budgeted" in bench.arms_table()) == ("hint_give_up_after" in fields)
    assert list(bench.arms_table())[:3] == ["grpo", "fixed-0.5", "staged"]


def _record(step, pid, trigger0, hinted=(), trained_ratio=0.0):
    """A rollouts.jsonl record: round 0's trigger values, then (ratio, hint, trigger values) per hinted stage."""
    stages = [{"ratio": 0.0, "hint": "", "prompt": f"Calculate {pid}.\n", "completions": ["x"] * len(trigger0),
               "trigger": list(trigger0)}]
    stages += [{"ratio": w, "hint": h, "prompt": f"Calculate {pid}.\n{h}", "completions": ["y"] * len(t),
                "trigger": list(t)} for w, h, t in hinted]
    return {"step": step, "problem_id": pid, "gold": "5", "hard": bool(hinted), "trained_ratio": trained_ratio,
            "skipped_ratios": [], "stages": stages}


def test_analyse_rollouts_finds_rescues_mass_and_next_visits(bench):
    a, b = "5x1:a", "5x1:b"
    worked = {a: "= 3 + 2\n= 5\n\\boxed{5}", b: "= 3 + 2\n= 5\n\\boxed{5}"}
    records = [
        # step 0: both all wrong unhinted; a rescued by its first hint stage, b by none
        _record(0, a, [0, 0], [(0.25, "= 3 + 2", [1, 0])], trained_ratio=0.25),
        _record(0, b, [0, 0], [(0.25, "= 3", [0, 0]), (0.5, "= 3 + 2", [0, 0])], trained_ratio=0.5),
        # step 1: a solved unhinted (the rescued skill shows up), b still all wrong (a plain GRPO step)
        _record(1, a, [1, 1]),
        _record(1, b, [0, 0]),
    ]
    out = bench.analyse_rollouts(records, worked)
    assert out["level_hard"]["5x1"] == [3, 4] and out["level_rescued"]["5x1"] == 1
    assert out["next_visit"] == {"rescued": [1, 1], "not_rescued": [0, 1]}
    assert out["adv_mass_rescued"] == pytest.approx(out["adv_mass_total"]) and out["adv_mass_total"] > 1.0
    assert out["answer_leaks"] == 0 and out["hinted_groups"] == 3 and out["steps"] == 2
    assert out["examples"][0]["hinted_prompt"] == "Calculate 5x1:a.\n= 3 + 2"
    leaky = [_record(0, a, [0, 0], [(0.75, "= 3 + 2\n= 5", [1, 1])], trained_ratio=0.75)]
    assert bench.analyse_rollouts(leaky, worked)["answer_leaks"] == 1
    # The benchmark trains with hint_gold_column=None: its records carry no gold; the rows' golds stand in.
    right = _record(0, a, [1, 0])
    right["gold"], right["stages"][0]["completions"] = None, ["= 5\n\\boxed{5}", "x"]
    out = bench.analyse_rollouts([right], worked, golds={a: "5"})
    assert out["valid_steps"]["round0"] == [1, 1]


def test_hint_states_answer(bench):
    worked = "= 12 - 3 + 5\n= 9 + 5\n= 14\n\\boxed{14}"
    assert not bench.hint_states_answer("= 12 - 3 + 5\n= 9 +", worked)
    assert bench.hint_states_answer("= 12 - 3 + 5\n= 9 + 5\n= 1", worked)  # reaches into the answer step
    assert bench.hint_states_answer("= 14", worked)  # not a prefix


def _grpo_run(bench, seed, start, end, easy_start=0.9, easy_end=0.9):
    EASY, EVAL_LEVELS = bench.EASY, bench.EVAL_LEVELS

    def ev(step, acc, easy):
        rec = {"step": step}
        for prefix in ("greedy", f"avg@{bench.Budget().avg_k}"):
            rec.update({f"{prefix}/{lv}": easy if lv in EASY else acc for lv in EVAL_LEVELS})
        return rec

    return {"arm": "grpo", "seed": seed, "evals": [ev(0, start, easy_start), ev(10, end, easy_end)]}


def test_health_gate_passes_only_a_clear_gain_without_forgetting(bench):
    budget = bench.Budget()
    clear = [_grpo_run(bench, s, 0.2, 0.3 + 0.01 * s) for s in range(5)]
    assert bench.health_gate(clear, budget)["pass"]
    noisy = [_grpo_run(bench, s, 0.2, 0.2 + (0.05 if s % 2 else -0.04)) for s in range(5)]
    assert not bench.health_gate(noisy, budget)["pass"]
    small = [_grpo_run(bench, s, 0.2, 0.21) for s in range(5)]  # consistent but below 2 binomial SE of the held-out set
    assert not bench.health_gate(small, budget)["pass"]
    forgets = [_grpo_run(bench, s, 0.2, 0.3, easy_end=0.8) for s in range(5)]
    assert not bench.health_gate(forgets, budget)["pass"]


def test_replay_rows_are_easy_problems_sft_never_saw(bench):
    from ghpo.organism.warmstart import sft_rows

    budget = dataclasses.replace(bench.QUICK, train_rows=40, replay_share=0.25)
    rows = bench.train_rows(budget)
    levels = [r["level"] for r in rows]
    assert levels.count("4x1") == 10 and levels.count("5x1") == 30
    seen = {r["prompt"] for r in sft_rows(budget.warm)} | {r["prompt"] for r in bench.held_out_rows(budget)}
    assert not seen & {r["prompt"] for r in rows} and len({r["prompt"] for r in rows}) == 40
    # No replay by default: the training rows are exactly the hard level's.
    assert {r["level"] for r in bench.train_rows(dataclasses.replace(budget, replay_share=0.0))} == {"5x1"}


def test_regime_gate_thresholds(bench):
    def probe(all_wrong, rescued):
        return {lv: {"groups": 100, "all_wrong": all_wrong, "rescued": {"0.25": rescued, "0.5": 0, "0.75": 0},
                     "never": all_wrong - rescued} for lv in ("4x1", "5x1", "6x1")}

    assert bench.regime_gate(probe(60, 30))["pass"]
    assert not bench.regime_gate(probe(40, 30))["pass"]  # not enough all-wrong groups
    assert not bench.regime_gate(probe(60, 20))["pass"]  # hints rescue too few



def test_verdict_names_arms_better_on_one_measure_or_at_equal_tokens(bench):
    def row(greedy, sampled, greedy_tok=(0.0, 0.02), sampled_tok=(0.0, 0.02)):
        return {"diff/hard/greedy": greedy, "diff/hard/sampled": sampled,
                "diff/hard/greedy@tokens": greedy_tok, "diff/hard/sampled@tokens": sampled_tok}

    def words(rows):
        return " ".join(bench.verdict({"rows": {"grpo": row((0, 0), (0, 0)), **rows}}, bench.Budget()))

    text = words({"a": row((0.05, 0.06), (0.02, 0.01)), "b": row((0.01, 0.02), (0.0, 0.01))})
    assert "no GHPO arm beats plain GRPO" in text and "a (sampled only)" in text and "b (" not in text
    assert "no GHPO arm is better than plain GRPO on any measure" in text
    text = words({"a": row((0.05, 0.01), (0.02, 0.01), sampled_tok=(0.03, 0.01))})
    assert "a beat plain GRPO" in text and "better on some measure: a" in text


def test_plateau_check_reads_the_evaluation_nearest_two_thirds(bench):
    evals = [{"step": s} for s in (0, 20, 40, 60, 80, 100, 120)]
    assert bench._eval_at_step(evals, 2 * 120 // 3)["step"] == 80
    assert bench._eval_at_step([{"step": s} for s in (0, 25, 50)], 2 * 50 // 3)["step"] == 25

@pytest.mark.slow
def test_organism_compare_quick_writes_report(tmp_path):
    env = dict(os.environ, GHPO_CACHE=str(tmp_path / "cache"), HF_HUB_OFFLINE="1")
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT / "src"), env.get("PYTHONPATH", "")])
    out = tmp_path / "out"
    proc = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "organism_compare.py"), "--quick", "--out", str(out)],
        env=env, capture_output=True, text=True, timeout=900,  # ~1-2 min CPU; more on a loaded machine
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    report = (out / "RESULTS.md").read_text()
    for needle in ("organism_compare.py --quick", "Gate 1: regime", "Gate 2: health", "| grpo |", "| staged |",
                   "| staged-char |", "Where the signal goes", "frac_reward_zero_std", "Verdict"):
        assert needle in report, needle
    assert (out / "organism_curves.png").stat().st_size > 1000
    results = json.loads((out / "organism_results.json").read_text())
    arms = {r["arm"] for r in results["runs"]}
    assert arms >= {"grpo", "fixed-0.5", "staged", "staged-char", "staged+coldstart"}
    from ghpo.trainer import GHPOConfig

    assert ("staged+budgeted" in arms) == ("hint_give_up_after" in {f.name for f in dataclasses.fields(GHPOConfig)})
    assert all(r["sampled_tokens"] > 0 and r["log"] for r in results["runs"])
    assert all("frac_reward_zero_std" in h for r in results["runs"] for h in r["log"])
    assert {"regime", "health"} <= set(results["gates"])
    # The warm start is cached on disk, keyed by its settings.
    assert list((tmp_path / "cache" / "organism").glob("*/organism.json"))
    # A compare part refuses to pair its runs with gates run from other warm-start weights (SFT differs across CPUs).
    assert len(results["warm_start"]["weights_sha256"]) == 64
    results["warm_start"]["weights_sha256"] = "0" * 64
    (out / "organism_results.json").write_text(json.dumps(results))
    proc = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "organism_compare.py"), "--quick", "--part", "compare", "--arms",
         "staged", "--out", str(out)], env=env, capture_output=True, text=True, timeout=900)
    assert proc.returncode != 0 and "another warm start" in proc.stderr, proc.stdout[-2000:] + proc.stderr[-2000:]


def test_organism_compare_help():
    proc = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "organism_compare.py"), "--help"],
                          capture_output=True, text=True, timeout=120,
                          env=dict(os.environ, PYTHONPATH=str(ROOT / "src")))
    assert proc.returncode == 0 and "--quick" in proc.stdout and "--part" in proc.stdout


def _run(bench, arm, seed, hard_sampled_at_grpo_tokens, tokens=100):
    """A finished run whose hard-level sampled accuracy is ``hard_sampled_at_grpo_tokens`` once it has sampled 100
    tokens (GRPO's whole budget) and 0.9 at its end."""
    k = f"avg@{bench.Budget().avg_k}"

    def ev(step, acc, tok):
        return {"step": step, "tokens": tok, **{f"{p}/{lv}": acc for p in ("greedy", k) for lv in bench.EVAL_LEVELS}}

    groups = {"level_hard": {}, "level_rescued": {}, "adv_mass_total": 0.0, "adv_mass_rescued": 0.0, "steps": 1,
              "next_visit": {"rescued": [0, 0], "not_rescued": [0, 0]}, "answer_leaks": 0, "hinted_groups": 0}
    return {"arm": arm, "seed": seed, "sampled_tokens": tokens, "train_s": 1.0, "groups": groups,
            "log": [{"frac_reward_zero_std": 0.5}],
            "evals": [ev(0, 0.0, 0), ev(1, hard_sampled_at_grpo_tokens, 100), ev(2, 0.9, tokens)]}


def test_primary_measure_pairs_staged_with_reroll_and_grpo_at_grpo_tokens(bench):
    """Issue 21's primary measure: staged minus re-roll and staged minus GRPO, hard-level sampled accuracy at GRPO's
    token count, paired by seed."""
    runs = [_run(bench, "grpo", s, 0.10) for s in range(5)]
    runs += [_run(bench, "reroll", s, 0.12 + 0.01 * s, tokens=200) for s in range(5)]
    runs += [_run(bench, "staged", s, 0.20 + 0.01 * s, tokens=180) for s in range(5)]
    summary = bench.summarise(runs, ["grpo", "staged", "reroll"], bench.Budget())
    primary = bench.primary_measure(summary)
    assert primary["staged - reroll"][0] == pytest.approx(0.08) and primary["staged - reroll"][1] == pytest.approx(0.0)
    assert primary["staged - grpo"][0] == pytest.approx(0.12)
    assert "reroll" in bench.arms_table() and bench.arms_table()["reroll"] == {"hint_schedule": "reroll"}


def _rung(bench, glimpse, base, staged_gain, reroll_gain, seeds=5, signal=None):
    """A finished rung (organism_results.json) whose GRPO starts at ``base`` sampled accuracy; its probe's training
    signal is ``signal`` (default: ``base``)."""
    signal = base if signal is None else signal
    from dataclasses import asdict

    budget = bench.Budget().with_glimpse(glimpse)
    runs = []
    for s in range(seeds):
        runs.append(_run(bench, "grpo", s, base))
        runs.append(_run(bench, "reroll", s, base + reroll_gain + 0.001 * s, tokens=200))
        runs.append(_run(bench, "staged", s, base + staged_gain + 0.002 * s, tokens=180))
    for r in runs:  # step 0 is the warm start itself: every arm starts at the rung's base accuracy
        r["evals"][0].update({key: base for key in r["evals"][0] if key.startswith(("greedy/", "avg@"))})
    return {"budget": json.loads(json.dumps(asdict(budget), default=str)), "runs": runs,
            "gates": {"regime": {"all_wrong": 0.9, "rescued_any": 0.85, "pass": True}},
            "probe": {"5x1": {"groups": 96, "all_wrong": 80, "rescued": {}, "never": 10, "mean_correct_unhinted": signal}},
            "warm_start": {"weights_sha256": "ab" * 32}, "parts": []}


def test_ladder_report_maps_the_primary_measure_against_base_accuracy(bench, tmp_path):
    from ghpo.organism.ladder import rung_summary, write_ladder

    # the 600 rung: 7% of held-out boxes right but 1% of training samples rewarded; the signal places it
    rungs = [rung_summary(_rung(bench, 600, 0.07, 0.02, 0.01, signal=0.01)),
             rung_summary(_rung(bench, 1000, 0.40, 0.0, 0.0)), rung_summary(_rung(bench, 800, 0.08, 0.07, 0.02))]
    assert [r["name"] for r in rungs] == ["stuck", "easy", "middle"]
    stuck = rungs[0]
    assert not stuck["health"]["asked_to_learn"] and all(c.startswith("easy/") for c in stuck["health"]["checks"])
    assert rungs[2]["primary"]["staged - reroll"][0] == pytest.approx(0.05 + 0.001 * 2)
    write_ladder(tmp_path, rungs, "python benchmarks/organism_ladder.py --part report")
    text = (tmp_path / "LADDER.md").read_text()
    rows = [line for line in text.splitlines() if line.startswith(("| stuck", "| middle", "| easy"))]
    assert [row.split(" |")[0] for row in rows[:3]] == ["| stuck", "| middle", "| easy"]  # sorted by signal
    assert "Holm-adjusted" in text and "(18 in all" in text  # 3 rungs x (vs grpo, vs reroll) x 3 secondary measures
    staged_row = next(line for line in text.splitlines() if line.startswith("| middle (800) | staged |"))
    assert "| 1.80x |" in staged_row  # tokens against GRPO's, per arm
    assert (tmp_path / "ladder.png").stat().st_size > 1000


def test_ladder_hint_dependence_sets_hinted_accuracy_beside_no_hint_at_start_and_end(bench, tmp_path):
    from ghpo.organism.ladder import rung_summary, write_ladder

    saved = _rung(bench, 600, 0.01, 0.02, 0.01)
    for r in saved["runs"]:  # staged learns to use a hint (0.1 -> 0.6 at w = 0.5) and nothing without one
        gain = 0.5 if r["arm"] == "staged" else 0.0
        r["evals"][0].update({"hint@0.5/greedy/5x1": 0.1, "greedy/5x1": 0.05})
        r["evals"][-1].update({"hint@0.5/greedy/5x1": 0.1 + gain, "greedy/5x1": 0.05})
    rung = rung_summary(saved)
    staged = rung["hint_dependence"]["staged"]
    assert staged["hint@0.5"]["start"][0] == pytest.approx(0.1) and staged["hint@0.5"]["end"][0] == pytest.approx(0.6)
    assert staged["no hint"]["end"][0] == pytest.approx(0.05)
    assert rung["hint_dependence"]["grpo"]["hint@0.5"]["end"][0] == pytest.approx(0.1)
    write_ladder(tmp_path, [rung], "cmd")
    text = (tmp_path / "LADDER.md").read_text()
    assert "| stuck (600) | staged | 5.0 -> 5.0 ± 0.0 | 10.0 -> 60.0 ± 0.0 |" in text


@pytest.mark.parametrize("variant", ["staged+keep1", "staged+budgeted+1stage"])
def test_ladder_reads_a_staged_variant_against_staged_and_grpo(bench, tmp_path, variant):
    """A variant of staged (the NuRL-style remedy, the cheaper budgeted schedule) gets its own per-arm row and
    secondary comparisons against staged and GRPO, counted in the Holm adjustment."""
    from ghpo.organism.ladder import VARIANT_MEASURES, VARIANTS, rung_summary, write_ladder

    assert variant in VARIANTS
    saved = _rung(bench, 600, 0.01, 0.02, 0.01)
    saved["runs"] += [_run(bench, variant, s, 0.01 + 0.05 + 0.001 * s, tokens=170) for s in range(5)]
    for r in saved["runs"][-5:]:
        r["evals"][0].update({key: 0.01 for key in r["evals"][0] if key.startswith(("greedy/", "avg@"))})
    rung = rung_summary(saved)
    assert rung["arms"] == ["grpo", "staged", "reroll", variant]
    at_tokens = rung["secondary"][f"{variant} - staged: hard/sampled@tokens"][0]
    assert at_tokens[0] == pytest.approx(0.05 + 0.001 * 2 - (0.02 + 0.002 * 2))  # paired by seed
    assert rung["secondary"][f"{variant} - grpo: hard/sampled@tokens"][0][0] == pytest.approx(0.052)
    write_ladder(tmp_path, [rung], "cmd")
    text = (tmp_path / "LADDER.md").read_text()
    assert f"({6 + 2 * len(VARIANT_MEASURES)} in all" in text and f"| stuck (600) | {variant} |" in text
    assert f"| stuck (600) | {variant} - staged: hard/sampled@tokens | +2.8 ± " in text


def test_ladder_resumes_parts_an_earlier_sitting_left(bench, tmp_path, monkeypatch):
    """organism_ladder --part all skips a rung's gates if they ran and the arms run for every seed; --redo reruns."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("organism_ladder", ROOT / "benchmarks" / "organism_ladder.py")
    ladder = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(ladder)
    saved = _rung(bench, 600, 0.01, 0.02, 0.01)
    saved["runs"] = [r for r in saved["runs"] if not (r["arm"] == "reroll" and r["seed"] == 4)]  # one seed missing
    saved["parts"] = [{"part": "gates", "command": "c", "commit": "x", "jobs": 2, "wall_s": 60.0}]
    (tmp_path / "glimpse600").mkdir()
    (tmp_path / "glimpse600" / "organism_results.json").write_text(json.dumps(saved))
    assert ladder.done_parts(tmp_path / "glimpse600", None) == {"gates": True, "arms": {"grpo", "staged"}}
    assert ladder.done_parts(tmp_path / "glimpse600", [0, 1])["arms"] == {"grpo", "staged", "reroll"}
    assert ladder.done_parts(tmp_path / "nothing", None) == {"gates": False, "arms": set()}
    calls = []
    monkeypatch.setattr(ladder, "_compare_main", lambda: calls.append)
    ladder.main(["--glimpses", "600", "--out", str(tmp_path), "--arms", "staged", "reroll"])
    assert [c[:4] for c in calls] == [["--part", "compare", "--force", "--arms"]] and calls[0][4] == "reroll"
    calls.clear()
    ladder.main(["--glimpses", "600", "--out", str(tmp_path), "--arms", "staged", "--redo"])
    assert [c[1] for c in calls] == ["gates", "compare"]


@pytest.mark.slow
def test_organism_ladder_quick_runs_a_rung_and_writes_the_report(tmp_path):
    env = dict(os.environ, GHPO_CACHE=str(tmp_path / "cache"), HF_HUB_OFFLINE="1")
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT / "src"), env.get("PYTHONPATH", "")])
    out = tmp_path / "ladder"
    proc = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "organism_ladder.py"), "--quick", "--glimpses", "20",
                           "--out", str(out), "--jobs", "1"], env=env, capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    results = json.loads((out / "glimpse20" / "organism_results.json").read_text())
    assert {r["arm"] for r in results["runs"]} == {"grpo", "staged", "reroll"}
    assert all("hint@0.25/greedy/5x1" in r["evals"][-1] for r in results["runs"])  # hint dependence measured
    reroll = next(r for r in results["runs"] if r["arm"] == "reroll")
    assert reroll["groups"]["hinted_groups"] > 0  # the control re-sampled all-wrong groups (without a hint)
    text = (out / "LADDER.md").read_text()
    assert "| " in text and "Primary measure" in text and (out / "ladder.png").exists()
    proc = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "organism_ladder.py"), "--quick", "--part", "probe",
                           "--glimpses", "20", "--out", str(out)], env=env, capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    probe = (out / "PROBE.md").read_text()
    assert "| 20 |" in probe and "of 4 |" in probe  # the rung's row: 4 probe groups with --quick
