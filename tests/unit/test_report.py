"""metrics.jsonl -> PNG + markdown table, on synthetic runs."""

import json
import math

import pytest

from ghpo import report
from ghpo.report import main_report, mean_ci95, plot_runs, read_metrics, summary_table, t975

STAGES = ("0.25", "0.5", "0.75")


def _write_run(run_dir, steps, extra_per_step=100.0, with_ghpo=True, summary=True):
    run_dir.mkdir(parents=True, exist_ok=True)
    lines = []
    for step in range(1, steps + 1):
        row = {
            "step": step,
            "epoch": step / steps,
            "loss": 0.01,
            "reward": 0.1 + step / steps,
            "reward_std": 0.2,
            "rewards/accuracy_reward/mean": step / steps,
            "rewards/format_reward/mean": 0.5,
            "completions/mean_length": 100.0 + step,
            "frac_reward_zero_std": 0.3,
            "step_time": 2.0,
        }
        if with_ghpo:
            row.update({
                "ghpo/hard_frac": 0.5,
                "ghpo/unsolved_frac": 0.1,
                "ghpo/hint_ratio_mean": 0.4,
                "ghpo/hint_tokens_mean": 30.0,
                "ghpo/gen_rounds": 2,
                "ghpo/extra_completion_tokens": extra_per_step,
                "ghpo/trigger_none_frac": 0.0,
            })
            row.update({f"ghpo/rescued_frac/{w}": 0.1 for w in STAGES})
        lines.append(json.dumps(row))
        if step % 5 == 0:
            lines.append(json.dumps({"step": step, "eval_loss": 1.0}))
    if summary:
        lines.append(json.dumps({"step": steps, "train_runtime": 123.4, "train_loss": 0.01}))
    (run_dir / "metrics.jsonl").write_text("\n".join(lines) + "\n")
    return run_dir


@pytest.fixture
def two_runs(tmp_path):
    return [_write_run(tmp_path / "ghpo", 12), _write_run(tmp_path / "grpo", 8, with_ghpo=False, summary=False)]


def _is_png(path):
    with open(path, "rb") as handle:
        return handle.read(8) == b"\x89PNG\r\n\x1a\n"


def test_read_metrics_skips_blank_and_partial_last_line(tmp_path):
    path = tmp_path / "metrics.jsonl"
    path.write_text('{"step": 1, "loss": 1.0}\n\n{"step": 2, "loss": 0.5}\n{"step": 3, "lo')
    assert [row["step"] for row in read_metrics(tmp_path)] == [1, 2]
    assert [row["step"] for row in read_metrics(path)] == [1, 2]


def test_read_metrics_bad_middle_line_names_it(tmp_path):
    (tmp_path / "metrics.jsonl").write_text('{"step": 1}\n{oops\n{"step": 3}\n')
    with pytest.raises(ValueError, match="metrics.jsonl:2"):
        read_metrics(tmp_path)


def test_read_metrics_missing_file_names_path(tmp_path):
    with pytest.raises(FileNotFoundError, match=str(tmp_path / "nope" / "metrics.jsonl")):
        read_metrics(tmp_path / "nope")


def test_plot_runs_writes_png(two_runs, tmp_path):
    out = plot_runs(two_runs, tmp_path / "plots" / "curves.png", labels=["GHPO", "GRPO"])
    assert _is_png(out)
    assert (tmp_path / "plots" / "curves.png").stat().st_size > 10_000


def test_plot_runs_without_any_known_keys(tmp_path):
    run = tmp_path / "bare"
    run.mkdir()
    (run / "metrics.jsonl").write_text('{"loss": 1.0}\n{"train_runtime": 3.0}\n')
    assert _is_png(plot_runs([run], tmp_path / "bare.png"))


def test_plot_runs_label_count_must_match(two_runs, tmp_path):
    with pytest.raises(ValueError, match="labels"):
        plot_runs(two_runs, tmp_path / "x.png", labels=["only one"])


def test_summary_table_one_row_per_run(two_runs):
    table = summary_table(two_runs)
    lines = table.splitlines()
    assert len(lines) == 2 + 2
    header = [cell.strip() for cell in lines[0].strip("|").split("|")]
    assert [f"rescued@{w}" for w in STAGES] == [h for h in header if h.startswith("rescued@")]
    ghpo = dict(zip(header, (cell.strip() for cell in lines[2].strip("|").split("|"))))
    grpo = dict(zip(header, (cell.strip() for cell in lines[3].strip("|").split("|"))))
    assert ghpo["run"] == "ghpo" and ghpo["steps"] == "12" and grpo["steps"] == "8"
    assert ghpo["acc (last 25%)"] == f"{(10 + 11 + 12) / 3 / 12:.3f}"
    assert ghpo["hard_frac"] == "0.500" and ghpo["rescued@0.5"] == "0.100"
    assert ghpo["extra tokens"] == "1200"
    assert ghpo["train time (s)"] == "123.4"
    assert grpo["hard_frac"] == "n/a" and grpo["extra tokens"] == "n/a"
    assert grpo["train time (s)"] == "16.0"  # no train_runtime: sum of step_time


def test_extra_tokens_weighted_by_logging_interval(tmp_path):
    run = tmp_path / "sparse"
    run.mkdir()
    rows = [{"step": s, "ghpo/extra_completion_tokens": 10.0} for s in (5, 10, 15)]
    (run / "metrics.jsonl").write_text("\n".join(json.dumps(r) for r in rows))
    assert summary_table([run]).splitlines()[2].split("|")[-3].strip() == "150"


def test_main_report_default_and_explicit_out(two_runs, tmp_path):
    png, table = main_report(two_runs)
    assert png == str(two_runs[0] / "report.png") and _is_png(png)
    assert table.count("\n") == 3
    png, _ = main_report(two_runs, out=tmp_path / "out")
    assert png == str(tmp_path / "out" / "report.png") and _is_png(png)
    png, _ = main_report(two_runs, out=tmp_path / "named.png")
    assert png == str(tmp_path / "named.png")


def test_mean_ci95_is_the_student_t_interval():
    m, hw = mean_ci95([0.1, 0.2, 0.3, 0.4, 0.5])
    assert m == pytest.approx(0.3)
    assert hw == pytest.approx(2.776 * 0.158113883 / math.sqrt(5), rel=1e-4)  # t(0.975, 4) * sd / sqrt(n)
    assert math.isnan(mean_ci95([0.5])[1]) and math.isnan(mean_ci95([])[0])
    assert mean_ci95([0.5, None, float("nan"), 0.7])[0] == pytest.approx(0.6)  # missing values are left out


def test_t975_takes_the_next_listed_df():
    assert t975(4) == 2.776 and t975(31) == t975(40) == 2.021  # 31 df: the 40-df row, slightly wider
    assert t975(500) == 1.96


def test_figure_keeps_fractions_on_0_1_and_steps_as_integers(two_runs):
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.ticker import MaxNLocator

    fig = report.build_figure([report.read_metrics(d) for d in two_runs], ["a", "b"])
    by_title = {ax.get_title(): ax for ax in fig.axes}
    for title in report.FRACTION_PANELS:
        assert by_title[title].get_ylim() == (-0.02, 1.02), title
    assert "reward (all reward functions, weighted)" in by_title  # reward apart from accuracy
    assert by_title["reward (all reward functions, weighted)"].get_ylim() != (-0.02, 1.02)
    assert all(isinstance(ax.xaxis.get_major_locator(), MaxNLocator) for ax in fig.axes)
    ticks = by_title[report.FRACTION_PANELS[1]].get_xticks()
    assert all(float(t).is_integer() for t in ticks)


def test_t_pvalue_matches_the_t_table():
    # t = 2.776 with 4 degrees of freedom is the two-sided 5% point (the table t975 uses).
    from ghpo.report import t_pvalue

    values = [1.0 + 2.776 * d for d in (-1, -0.5, 0, 0.5, 1)]  # mean 1
    sd = __import__("statistics").stdev(values)
    scale = 2.776 * sd / math.sqrt(5)  # shift so that t is exactly 2.776
    shifted = [v - 1.0 + scale for v in values]
    assert t_pvalue(shifted) == pytest.approx(0.05, abs=1e-4)
    assert t_pvalue([0.1, -0.1, 0.2, -0.2]) == pytest.approx(1.0)
    assert math.isnan(t_pvalue([0.3]))


def test_holm_adjusts_in_order():
    from ghpo.report import holm

    adjusted = holm({"a": 0.01, "b": 0.04, "c": 0.03, "d": float("nan")})
    assert adjusted["a"] == pytest.approx(0.03) and adjusted["c"] == pytest.approx(0.06)
    assert adjusted["b"] == pytest.approx(0.06) and math.isnan(adjusted["d"])  # monotone: never below the one before
