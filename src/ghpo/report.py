"""Run reports: `metrics.jsonl` of one or more runs -> a PNG of learning curves and a markdown summary table.

A run directory holds `metrics.jsonl`, one JSON object per logged step with TRL's log keys (`step`, `loss`,
`reward`, `rewards/<name>/mean`, `completions/mean_length`, ...) and the GHPO keys (`ghpo/hard_frac`,
`ghpo/rescued_frac/<w>`, ...; defined in the docs/GUIDE.md glossary). Lines may lack keys (eval lines, the final
summary line with `train_runtime`); every panel and column uses only the lines that have its key.

Logged values are per optimizer step, averaged over the logging window (TRL's convention); totals such as
`ghpo/extra_completion_tokens` therefore weight each value by the number of steps since the previous line.
"""

from __future__ import annotations

import json
import math
import statistics
from pathlib import Path

__all__ = ["bootstrap_paired", "build_figure", "holm", "main_report", "mean_ci95", "plot_runs", "read_metrics", "summary_table", "t975", "t_pvalue"]

METRICS_FILE = "metrics.jsonl"
ACCURACY_KEY = "rewards/accuracy_reward/mean"
RESCUED_PREFIX = "ghpo/rescued_frac/"

# Two-sided 95% Student t quantiles by degrees of freedom (standard table values).
_T975 = {1: 12.706, 2: 4.303, 3: 3.182, 4: 2.776, 5: 2.571, 6: 2.447, 7: 2.365, 8: 2.306, 9: 2.262, 10: 2.228,
         15: 2.131, 20: 2.086, 25: 2.060, 30: 2.042, 40: 2.021, 60: 2.000, 120: 1.980}


def t975(df: int) -> float:
    """The 97.5% Student t quantile for ``df`` degrees of freedom; a df between table rows takes the next listed
    one (a slightly wider interval), past 120 the normal 1.96."""
    for d in sorted(_T975):
        if df <= d:
            return _T975[d]
    return 1.96


def mean_ci95(values) -> tuple[float, float]:
    """(mean, half-width of the 95% t-interval) over ``values``, None and NaN left out; the half-width is NaN for
    fewer than 2 values, both are NaN for none (benchmarks report seeds and problems this way)."""
    values = [v for v in values if v is not None and not (isinstance(v, float) and math.isnan(v))]
    if not values:
        return float("nan"), float("nan")
    m = statistics.mean(values)
    if len(values) < 2:
        return m, float("nan")
    return m, t975(len(values) - 1) * statistics.stdev(values) / math.sqrt(len(values))


def _metrics_path(run_dir: str | Path) -> Path:
    path = Path(run_dir)
    return path if path.suffix == ".jsonl" else path / METRICS_FILE


def read_metrics(run_dir: str | Path) -> list[dict]:
    """Read `<run_dir>/metrics.jsonl` (or a `.jsonl` path) into a list of dicts, in file order.

    Blank lines are skipped, and so is a truncated last line (a run killed mid-write). A malformed line
    anywhere else raises `ValueError` naming the file and line.
    """
    path = _metrics_path(run_dir)
    if not path.is_file():
        raise FileNotFoundError(f"no metrics file at {path} (expected a run directory written by `ghpo train`)")
    lines = path.read_text().splitlines()
    last = max((i for i, line in enumerate(lines) if line.strip()), default=-1)
    rows = []
    for i, line in enumerate(lines):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError as err:
            if i == last:  # partial final write
                break
            raise ValueError(f"{path}:{i + 1}: not valid JSON ({err.msg})") from err
        if isinstance(row, dict):
            rows.append(row)
    return rows


def _is_number(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def _series(rows: list[dict], key: str) -> tuple[list[float], list[float]]:
    """(steps, values) of the rows that have a finite numeric `key`; a row without `step` uses its index."""
    xs, ys = [], []
    for i, row in enumerate(rows):
        value = row.get(key)
        if _is_number(value):
            xs.append(float(row["step"]) if _is_number(row.get("step")) else float(i + 1))
            ys.append(float(value))
    return xs, ys


def _stages(rows_by_run: list[list[dict]]) -> list[str]:
    """Hint-ratio stage labels found in any run (`ghpo/rescued_frac/<w>`), sorted numerically."""
    found = {key[len(RESCUED_PREFIX):] for rows in rows_by_run for row in rows for key in row
             if key.startswith(RESCUED_PREFIX)}

    def order(label: str):
        try:
            return (0, float(label), label)
        except ValueError:
            return (1, 0.0, label)

    return sorted(found, key=order)


def _weighted_total(steps: list[float], values: list[float]) -> float:
    """Sum of per-step values, each weighted by the steps it covers since the previous logged line."""
    total, previous = 0.0, 0.0
    for step, value in zip(steps, values):
        total += value * max(step - previous, 1.0)
        previous = step
    return total


def _cumulative(steps: list[float], values: list[float]) -> list[float]:
    out, total, previous = [], 0.0, 0.0
    for step, value in zip(steps, values):
        total += value * max(step - previous, 1.0)
        previous = step
        out.append(total)
    return out


def _run_name(run_dir: str | Path) -> str:
    path = Path(run_dir)
    if path.suffix == ".jsonl":
        path = path.parent
    return path.resolve().name or str(path)


FRACTION_PANELS = ("accuracy (trigger reward, mean)", "hard fraction (all-wrong groups)",
                   "rescued fraction per hint stage")
"""Panels whose values are fractions: drawn on a fixed 0-1 axis so runs and steps compare at a glance."""


def plot_runs(run_dirs: list[str | Path], out_png: str | Path, labels: list[str] | None = None) -> str:
    """Draw the learning curves of several runs, overlaid one colour per run, into `out_png`; return its path.

    Panels (``build_figure``): accuracy; total reward (all reward functions, weighted: not a fraction); hard-group
    fraction; rescued fraction per hint stage (one line style per stage); generation rounds per step; mean hint
    tokens; mean completion length; cumulative extra tokens generated by hint stages. Fractions on a fixed 0-1
    axis, optimizer steps as integers. A panel whose keys no run logged says "no data".
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    run_dirs = list(run_dirs)
    labels = list(labels) if labels is not None else [_run_name(d) for d in run_dirs]
    if len(labels) != len(run_dirs):
        raise ValueError(f"got {len(labels)} labels for {len(run_dirs)} runs")
    fig = build_figure([read_metrics(d) for d in run_dirs], labels)
    out_png = Path(out_png)
    out_png.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out_png, dpi=100)
    plt.close(fig)
    return str(out_png)


def build_figure(rows_by_run: list[list[dict]], labels: list[str]):
    """The matplotlib figure of ``plot_runs`` for already-read metrics."""
    import matplotlib.pyplot as plt
    from matplotlib.ticker import MaxNLocator

    stages = _stages(rows_by_run)
    styles = ["-", "--", ":", "-."]
    colours = plt.rcParams["axes.prop_cycle"].by_key()["color"]

    fig, axes = plt.subplots(2, 4, figsize=(20, 8), squeeze=False)
    panels = axes.ravel()
    titles = [FRACTION_PANELS[0], "reward (all reward functions, weighted)", *FRACTION_PANELS[1:],
              "generation rounds per step", "hint tokens (mean)", "completion length (mean)",
              "cumulative extra completion tokens"]
    drawn = [False] * len(panels)

    def draw(panel: int, steps, values, **kwargs):
        if steps:
            panels[panel].plot(steps, values, **kwargs)
            drawn[panel] = True

    for r, (rows, label) in enumerate(zip(rows_by_run, labels)):
        colour = colours[r % len(colours)]
        draw(0, *_series(rows, ACCURACY_KEY), color=colour, label=label)
        draw(1, *_series(rows, "reward"), color=colour, label=label)
        draw(2, *_series(rows, "ghpo/hard_frac"), color=colour, label=label)
        for s, stage in enumerate(stages):
            draw(3, *_series(rows, RESCUED_PREFIX + stage), color=colour, linestyle=styles[s % len(styles)],
                 label=f"{label} w={stage}")
        draw(4, *_series(rows, "ghpo/gen_rounds"), color=colour, label=label)
        draw(5, *_series(rows, "ghpo/hint_tokens_mean"), color=colour, label=label)
        draw(6, *_series(rows, "completions/mean_length"), color=colour, label=label)
        steps, values = _series(rows, "ghpo/extra_completion_tokens")
        draw(7, steps, _cumulative(steps, values), color=colour, label=label)

    for ax, title, has_data in zip(panels, titles, drawn):
        ax.set_title(title, fontsize=10)
        ax.set_xlabel("optimizer step")
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.grid(alpha=0.3)
        if title in FRACTION_PANELS:
            ax.set_ylim(-0.02, 1.02)
        if title.startswith("generation rounds"):
            ax.yaxis.set_major_locator(MaxNLocator(integer=True))
        if has_data:
            ax.legend(fontsize=7)
        else:
            ax.text(0.5, 0.5, "no data", ha="center", va="center", transform=ax.transAxes, color="grey")
    fig.tight_layout()
    return fig


def _mean(values: list[float]) -> float | None:
    return sum(values) / len(values) if values else None


def _fmt(value: float | None, digits: int = 3) -> str:
    if value is None:
        return "n/a"
    return f"{value:.{digits}f}"


def summary_table(run_dirs: list[str | Path], labels: list[str] | None = None) -> str:
    """Markdown table, one row per run.

    Columns: steps (largest logged `step`); accuracy reward averaged over the last 25% of logged steps and over
    all steps; mean `ghpo/hard_frac`; mean rescued fraction per hint stage; total extra completion tokens
    (step-weighted, see module docstring); train time in seconds (`train_runtime` of the summary line, else
    the sum of `step_time`).
    """
    run_dirs = list(run_dirs)
    labels = list(labels) if labels is not None else [_run_name(d) for d in run_dirs]
    rows_by_run = [read_metrics(d) for d in run_dirs]
    stages = _stages(rows_by_run)
    header = (["run", "steps", "acc (last 25%)", "acc (mean)", "hard_frac"]
              + [f"rescued@{s}" for s in stages] + ["extra tokens", "train time (s)"])
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    for rows, label in zip(rows_by_run, labels):
        step_values = [row["step"] for row in rows if _is_number(row.get("step"))]
        steps = int(max(step_values)) if step_values else 0
        _, acc = _series(rows, ACCURACY_KEY)
        tail = acc[len(acc) - max(1, math.ceil(len(acc) / 4)):] if acc else []
        extra_steps, extra = _series(rows, "ghpo/extra_completion_tokens")
        runtime = [row["train_runtime"] for row in rows if _is_number(row.get("train_runtime"))]
        if runtime:
            train_time = float(runtime[-1])
        else:
            step_times = _series(rows, "step_time")[1]
            train_time = sum(step_times) if step_times else None
        cells = [label, str(steps), _fmt(_mean(tail)), _fmt(_mean(acc)), _fmt(_mean(_series(rows, "ghpo/hard_frac")[1]))]
        cells += [_fmt(_mean(_series(rows, RESCUED_PREFIX + s)[1])) for s in stages]
        cells += [f"{_weighted_total(extra_steps, extra):.0f}" if extra else "n/a", _fmt(train_time, 1)]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main_report(run_dirs: list[str | Path], out: str | Path | None = None) -> tuple[str, str]:
    """Write the curves PNG and return `(png_path, markdown_table)`.

    The PNG goes to `out` if it ends in `.png`, to `<out>/report.png` if `out` is a directory path, else to
    `<first run dir>/report.png`.
    """
    run_dirs = list(run_dirs)
    if not run_dirs:
        raise ValueError("main_report needs at least one run directory")
    if out is None:
        first = Path(run_dirs[0])
        png = (first.parent if first.suffix == ".jsonl" else first) / "report.png"
    else:
        out = Path(out)
        png = out if out.suffix.lower() == ".png" else out / "report.png"
    table = summary_table(run_dirs)
    return plot_runs(run_dirs, png), table


def _betacf(a: float, b: float, x: float) -> float:
    """Continued fraction of the regularized incomplete beta function (Numerical Recipes, modified Lentz)."""
    tiny, qab, qap, qam = 1e-300, a + b, a + 1.0, a - 1.0
    c, d = 1.0, 1.0 - qab * x / qap
    d = 1.0 / (d if abs(d) > tiny else tiny)
    h = d
    for m in range(1, 300):
        m2 = 2 * m
        for aa in (m * (b - m) * x / ((qam + m2) * (a + m2)), -(a + m) * (qab + m) * x / ((a + m2) * (qap + m2))):
            d = 1.0 + aa * d
            d = 1.0 / (d if abs(d) > tiny else tiny)
            c = 1.0 + aa / c
            c = c if abs(c) > tiny else tiny
            h *= d * c
        if abs(d * c - 1.0) < 1e-12:
            break
    return h


def _betainc(a: float, b: float, x: float) -> float:
    """Regularized incomplete beta I_x(a, b)."""
    if x <= 0.0 or x >= 1.0:
        return 0.0 if x <= 0.0 else 1.0
    front = math.exp(math.lgamma(a + b) - math.lgamma(a) - math.lgamma(b) + a * math.log(x) + b * math.log1p(-x))
    if x < (a + 1.0) / (a + b + 2.0):
        return front * _betacf(a, b, x) / a
    return 1.0 - front * _betacf(b, a, 1.0 - x) / b


def t_pvalue(values) -> float:
    """Two-sided p-value of a one-sample t-test of mean 0 (e.g. per-seed paired differences); NaN for < 2 values.
    A constant non-zero sample gives 0.0."""
    values = [v for v in values if v is not None and not (isinstance(v, float) and math.isnan(v))]
    n = len(values)
    if n < 2:
        return float("nan")
    sd = statistics.stdev(values)
    m = statistics.mean(values)
    if sd == 0:
        return 1.0 if m == 0 else 0.0
    t = m / (sd / math.sqrt(n))
    df = n - 1
    return _betainc(df / 2.0, 0.5, df / (df + t * t))


def holm(pvalues: dict[str, float]) -> dict[str, float]:
    """Holm-Bonferroni adjusted p-values (family-wise error over the comparisons given; NaN left out and kept)."""
    ordered = sorted((p, k) for k, p in pvalues.items() if not math.isnan(p))
    m, out, running = len(ordered), {}, 0.0
    for i, (p, k) in enumerate(ordered):
        running = max(running, min(1.0, (m - i) * p))
        out[k] = running
    return {k: out.get(k, float("nan")) for k in pvalues}


def bootstrap_paired(diffs, n_boot: int = 2000, seed: int = 0, problems: str = "shared") -> tuple[float, float, float, float]:
    """Seed x problem bootstrap of a paired difference: ``diffs[s][p]`` is arm minus baseline on held-out problem p
    of seed s (the same problems in every seed, so problems pair too). A replicate draws seeds with replacement and
    problems with replacement (two sources of noise: training runs, and which problems were held out). With
    ``problems="shared"`` (default) one problem draw serves every drawn seed, as one held-out set serves every run
    (a crossed design); ``"per_seed"`` draws problems anew within each drawn seed (nested: as if each seed had its
    own held-out set, which shrinks the problem noise by the number of seeds). Returns (mean, 2.5% and 97.5%
    percentiles of the replicates, two-sided p that the difference is 0: twice the smaller tail share, counted as
    (n + 1) / (n_boot + 1)); a fixed ``seed`` makes it repeatable.

    >>> m, lo, hi, p = bootstrap_paired([[0.1, 0.2, 0.3]] * 4)
    >>> round(m, 3), lo > 0, p < 0.01
    (0.2, True, True)
    """
    import numpy as np

    if problems not in ("shared", "per_seed"):
        raise ValueError(f"problems must be 'shared' or 'per_seed', not {problems!r}")
    d = np.asarray(diffs, dtype=float)  # seeds x problems; ragged rows raise here
    if d.ndim != 2 or d.size == 0:
        raise ValueError("bootstrap_paired needs a seeds x problems table of differences")
    rng = np.random.default_rng(seed)
    n_seeds, n_problems = d.shape
    seeds = rng.integers(0, n_seeds, size=(n_boot, n_seeds))
    if problems == "shared":
        drawn = rng.integers(0, n_problems, size=(n_boot, 1, n_problems))
    else:
        drawn = rng.integers(0, n_problems, size=(n_boot, n_seeds, n_problems))
    reps = d[seeds[:, :, None], drawn].mean(axis=(1, 2))
    lo, hi = np.percentile(reps, [2.5, 97.5])
    tail = min(int((reps <= 0).sum()), int((reps >= 0).sum()))
    return float(d.mean()), float(lo), float(hi), min(1.0, 2 * (tail + 1) / (n_boot + 1))
