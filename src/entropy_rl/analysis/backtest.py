"""The forecast backtest: for every run and cutoff fraction, each forecaster (``core.forecast``)
sees only the steps up to the cutoff and forecasts the score at the run's last evaluation. Per
run: each forecaster's error, interval and whether it covered; over runs: median and mean absolute
error, the share of runs where it beats the naive forecast, interval coverage and width, by
cutoff and by kind of run.

Intervals are calibrated leave-one-run-out: a forecaster's raw interval is scaled, for run i, by
the factor that makes it cover 90 % of the *other* runs at that cutoff (the 90th percentile of
the factor each other run needed), so no run judges an interval tuned on itself.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from entropy_rl.analysis.runs import Run
from entropy_rl.core.forecast import FORECASTERS, make_prefix, predict

FRACTIONS = (0.1, 0.25, 0.5)
LEVEL = 0.9
# a forecaster "ties" naive on a run when their errors differ by less than this (half a point)
TIE = 0.005
MIN_CALIBRATION_RUNS = 3
# The rule that picks the default forecaster, written before the final table was looked at.
DEFAULT_RULE = (
    "at the 25 % cutoff, the forecaster with the lowest median absolute error over every run where "
    "all forecasters give a number, if it beats naive on more runs than it loses to it; else naive, "
    "with the law's forecast printed beside it"
)
DEFAULT_FRACTION = 0.25


@dataclass
class Series:
    """A run's whole series: what a backtest cuts at each fraction."""

    name: str
    kind: str
    ours: bool
    h_steps: np.ndarray
    entropy: np.ndarray
    p_steps: np.ndarray
    p_entropy: np.ndarray
    scores: np.ndarray
    study: str = ""
    """Which study the run belongs to (a results folder, "real logs"), for a breakdown; "" for none."""


def run_series(run: Run, metric: str | None = None) -> Series:
    """The entropy at every step and the score (``metric``, default the run's performance key) at
    the steps that have both."""
    metric = metric or run.performance_key
    hs, h = run.series("entropy")
    pts = [(r["step"], r["entropy"], r[metric]) for r in run.rows
           if r.get("entropy") is not None and r.get(metric) is not None]  # fmt: skip
    ps, ph, pr = (np.array(x, float) for x in zip(*pts, strict=True)) if pts else (np.array([]),) * 3
    # ours: our trainer and our engine plug-ins log the covariance; other engines do not
    ours = run.source == "entropy-rl" or any("covariance" in r for r in run.rows[:5])
    name = str(run.path)  # unique: leave-one-run-out leaves out by it
    return Series(name, kind_of(h, pr), ours, hs, h, ps, ph, pr)


def kind_of(entropy: np.ndarray, scores: np.ndarray) -> str:
    """``rising entropy`` (the last third's median above the first's), ``flat score`` (its range
    under 0.05), ``collapse`` (entropy ending below half its start), else ``other``."""
    if entropy.size < 3 or scores.size < 2:
        return "too short"
    third = max(1, entropy.size // 3)
    if np.median(entropy[-third:]) > np.median(entropy[:third]):
        return "rising entropy"
    if np.ptp(scores) < 0.05:
        return "flat score"
    if np.median(entropy[-third:]) < 0.5 * np.median(entropy[:third]):
        return "collapse"
    return "other"


def backtest_records(series: list[Series], fractions=FRACTIONS, names=None) -> list[dict]:
    """One record per (run, fraction, forecaster): value, raw interval, actual, error."""
    names = list(names or FORECASTERS)
    out = []
    for s in series:
        if s.p_steps.size < 2 or s.h_steps.size < 2:
            continue
        horizon, actual = float(s.p_steps[-1]), float(s.scores[-1])
        for f in fractions:
            cutoff = s.h_steps[0] + f * (s.h_steps[-1] - s.h_steps[0])
            prefix = make_prefix(s.h_steps, s.entropy, s.p_steps, s.p_entropy, s.scores, cutoff, horizon)
            for name in names:
                pred = predict(name, prefix)
                out.append({
                    "run": s.name, "kind": s.kind, "ours": s.ours, "study": s.study, "fraction": f, "forecaster": name,
                    "cutoff_step": float(cutoff), "horizon_step": horizon, "actual": actual,
                    "value": pred.value, "raw_interval": list(pred.interval) if pred.interval else None,
                    "bounds": list(prefix.bounds), "reason": pred.reason,
                    "abs_error": None if pred.value is None else abs(pred.value - actual),
                })  # fmt: skip
    return out


def needed_scale(value: float, interval, actual: float) -> float:
    """The factor by which the interval's arms must grow to reach ``actual`` (0 at the point)."""
    lo, hi = interval
    arm = hi - value if actual >= value else value - lo
    gap = abs(actual - value)
    if gap == 0:
        return 0.0
    return gap / arm if arm > 0 else math.inf


def calibrate(records: list[dict], level: float = LEVEL) -> list[dict]:
    """Add each record's leave-one-run-out ``scale``, calibrated ``interval`` and ``covered``:
    the scale is the ``level`` quantile of the scale every *other* run needed, for the same
    forecaster and cutoff (None with fewer than ``MIN_CALIBRATION_RUNS`` other runs)."""
    need: dict[tuple, dict[str, float]] = {}
    for r in records:
        if r["value"] is not None and r["raw_interval"] is not None:
            need.setdefault((r["forecaster"], r["fraction"]), {})[r["run"]] = needed_scale(
                r["value"], r["raw_interval"], r["actual"]
            )
    for r in records:
        r.update(scale=None, interval=None, covered=None)
        others = [v for run, v in need.get((r["forecaster"], r["fraction"]), {}).items() if run != r["run"]]
        if r["value"] is None or r["raw_interval"] is None or len(others) < MIN_CALIBRATION_RUNS:
            continue
        s = float(np.quantile(others, level, method="higher"))
        r["scale"] = s
        r["interval"] = scaled_interval(r["value"], r["raw_interval"], s, r["bounds"])
        r["covered"] = bool(r["interval"][0] <= r["actual"] <= r["interval"][1])
    return records


def scaled_interval(value: float, raw, scale: float, bounds) -> list[float]:
    """The raw interval's arms times ``scale``, within ``bounds`` (the whole range for an infinite
    scale: some other run's zero-width interval missed)."""
    if not math.isfinite(scale):
        return [bounds[0], bounds[1]]
    lo, hi = value - scale * (value - raw[0]), value + scale * (raw[1] - value)
    return [max(lo, bounds[0]), min(hi, bounds[1])]


def summarize(records: list[dict], by: str | None = None) -> dict:
    """Per fraction (and per ``by``, e.g. ``kind`` or ``ours``) and forecaster: runs, median and
    mean absolute error, runs where it beats / ties / loses to naive, coverage and median width."""
    naive = {(r["run"], r["fraction"]): r["abs_error"] for r in records if r["forecaster"] == "naive"}
    groups: dict[tuple, list[dict]] = {}
    for r in records:
        if r["value"] is not None:
            groups.setdefault((str(r[by]) if by else "all", r["fraction"], r["forecaster"]), []).append(r)
    out: dict = {}
    for (group, f, name), rs in sorted(groups.items()):
        errs = np.array([r["abs_error"] for r in rs])
        vs = [(r["abs_error"], naive.get((r["run"], f))) for r in rs if naive.get((r["run"], f)) is not None]
        cov = [r["covered"] for r in rs if r["covered"] is not None]
        widths = [r["interval"][1] - r["interval"][0] for r in rs if r["interval"] is not None]
        out.setdefault(group, {}).setdefault(str(f), {})[name] = {
            "runs": len(rs),
            "median_abs_error": float(np.median(errs)),
            "mean_abs_error": float(np.mean(errs)),
            "beats_naive": sum(e < n - TIE for e, n in vs),
            "ties_naive": sum(abs(e - n) <= TIE for e, n in vs),
            "loses_to_naive": sum(e > n + TIE for e, n in vs),
            "coverage": float(np.mean(cov)) if cov else None,
            "coverage_runs": len(cov),
            "median_width": float(np.median(widths)) if widths else None,
        }
    return out


def choose_default(records: list[dict], fraction: float = DEFAULT_FRACTION) -> dict:
    """``DEFAULT_RULE`` applied: the forecaster, and the figures it was chosen on."""
    at = [r for r in records if r["fraction"] == fraction]
    names = sorted({r["forecaster"] for r in at})
    by_run: dict[str, dict[str, dict]] = {}
    for r in at:
        by_run.setdefault(r["run"], {})[r["forecaster"]] = r
    common = [run for run, fs in by_run.items() if all(fs.get(n, {}).get("value") is not None for n in names)]
    if not common:
        return {"forecaster": "naive", "why": "no run where every forecaster gives a number", "runs": 0}
    med = {n: float(np.median([by_run[run][n]["abs_error"] for run in common])) for n in names}
    best = min(names, key=lambda n: (med[n], n != "naive"))
    wins = sum(by_run[run][best]["abs_error"] < by_run[run]["naive"]["abs_error"] - TIE for run in common)
    losses = sum(by_run[run][best]["abs_error"] > by_run[run]["naive"]["abs_error"] + TIE for run in common)
    chosen = best if best == "naive" or wins > losses else "naive"
    return {"forecaster": chosen, "lowest_median_error": best, "median_abs_error": med, "runs": len(common),
            "best_beats_naive": wins, "best_loses_to_naive": losses, "rule": DEFAULT_RULE}  # fmt: skip


def calibration_table(records: list[dict], level: float = LEVEL) -> dict:
    """Per forecaster and fraction, the scale calibrated on *all* runs (what `fit` applies to a
    run the backtest has not seen) and the leave-one-run-out figures it stands on."""
    need: dict[tuple, list[float]] = {}
    for r in records:
        if r["value"] is not None and r["raw_interval"] is not None:
            need.setdefault((r["forecaster"], str(r["fraction"])), []).append(
                needed_scale(r["value"], r["raw_interval"], r["actual"])
            )
    return {
        name: {f: float(np.quantile(v, level, method="higher")) for (n, f), v in need.items() if n == name}
        for name in sorted({n for n, _ in need})
    }


def backtest(series: list[Series], fractions=FRACTIONS) -> dict:
    """The backtest of ``series``: records, summaries, the default and the calibration."""
    records = calibrate(backtest_records(series, fractions))
    return {
        "statistics": "absolute error of each forecast of the run's last score; coverage of 90 % intervals "
        "calibrated leave-one-run-out (each run's scale from the other runs); beats/ties/loses: "
        f"error below / within ±{TIE} of / above naive's, per run",
        "runs": {s.name: {"kind": s.kind, "ours": s.ours, "steps": int(s.h_steps.size),
                          "scores": int(s.p_steps.size)} for s in series},  # fmt: skip
        "summary": summarize(records),
        "by_kind": summarize(records, "kind"),
        "by_source": summarize(records, "ours"),
        "by_study": summarize(records, "study"),
        "default": choose_default(records),
        "calibration": calibration_table(records),
        "records": records,
    }


def write_backtest(series: list[Series], out: str | Path, fractions=FRACTIONS) -> dict:
    """backtest.json, backtest.md and error_vs_cutoff.png of ``backtest`` in ``out``; returns the
    JSON's object."""
    from entropy_rl.analysis.plots import plot_backtest
    from entropy_rl.files import atomic_write_text, strict_json

    result = backtest(series, fractions)
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    atomic_write_text(out / "backtest.json", strict_json(result, indent=1))
    atomic_write_text(out / "backtest.md", backtest_markdown(result))
    plot_backtest(result["summary"]["all"], out / "error_vs_cutoff.png")
    return result


def _f(v, fmt: str = ".3f") -> str:
    return "–" if v is None else format(v, fmt)


def backtest_markdown(result: dict) -> str:
    """The summary table (all runs) and the default, as Markdown (forecaster names are ours)."""
    lines = [
        "| cutoff | forecaster | runs | median abs. error | mean abs. error | beats / ties / loses to naive | "
        "90 % coverage (LOO) | median width |",
        "| --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for f, per in result["summary"].get("all", {}).items():
        for name, v in per.items():
            cov = "–" if v["coverage"] is None else f"{v['coverage']:.0%} of {v['coverage_runs']}"
            lines.append(
                f"| {float(f):.0%} | {name} | {v['runs']} | {_f(v['median_abs_error'])} | "
                f"{_f(v['mean_abs_error'])} | {v['beats_naive']} / {v['ties_naive']} / {v['loses_to_naive']} | "
                f"{cov} | {_f(v['median_width'])} |"
            )
    lines += ["", "By whose runs, at each cutoff (median abs. error; beats / ties / loses to naive; coverage):", "",
              "| runs | cutoff | " + " | ".join(sorted(FORECASTERS)) + " |", "| --- " * (2 + len(FORECASTERS)) + "|"]
    for ours, per_f in sorted(result["by_source"].items(), reverse=True):
        for f, per in per_f.items():
            cells = []
            for name in sorted(FORECASTERS):
                v = per.get(name)
                cells.append("–" if v is None else f"{v['median_abs_error']:.3f} ({v['beats_naive']}/{v['ties_naive']}/"
                             f"{v['loses_to_naive']}; {_f(v['coverage'], '.0%')} of {v['coverage_runs']})")
            who = "ours" if ours == "True" else "others'"
            lines.append(f"| {who} | {float(f):.0%} | " + " | ".join(cells) + " |")
    d = result["default"]
    lines += ["", f"Default forecaster: **{d['forecaster']}** (rule: {DEFAULT_RULE})."]
    return "\n".join(lines) + "\n"


CALIBRATION_FILE = Path(__file__).with_name("forecast_calibration.json")


def packaged_calibration() -> dict | None:
    """The published backtest's calibration (scripts/forecast_backtest.py), or None if absent."""
    from entropy_rl.files import read_json

    return read_json(CALIBRATION_FILE) if CALIBRATION_FILE.exists() else None


def calibrated_prediction(name: str, prefix, fraction: float, cal: dict | None = None) -> dict:
    """Forecaster ``name`` on ``prefix``, its interval scaled by the published backtest's calibration
    at the cutoff nearest ``fraction`` (the whole score range where that scale is unbounded; no
    interval without a calibration). What ``fit``, ``watch`` and the report print."""
    cal = packaged_calibration() or {} if cal is None else cal
    pred = predict(name, prefix)
    per = cal.get("scales", {}).get(name, {})
    near = min(per, key=lambda f: abs(float(f) - fraction), default=None)
    scale = per.get(near) if near is not None else None
    iv = None
    if pred.value is not None and pred.interval is not None and near is not None:
        iv = scaled_interval(pred.value, pred.interval, math.inf if scale is None else scale, prefix.bounds)
    return {"value": pred.value, "interval": iv, "calibrated_at": near, "reason": pred.reason}


def run_forecasts(run: Run, fraction: float = DEFAULT_FRACTION, metric: str | None = None) -> dict:
    """Every forecaster on ``run`` from its first ``fraction``, at its last score, each interval
    scaled by the published backtest's calibration for the nearest cutoff (the whole score range
    where that scale is unbounded); the default forecaster with its backtest figures; and, where
    the run is unlike the runs the backtest checked, why."""
    s = run_series(run, metric)
    if s.p_steps.size < 2 or s.h_steps.size < 2:
        return {"default": None, "forecasts": {}, "unlike_backtest": "fewer than 2 scores: nothing to forecast"}
    cutoff = s.h_steps[0] + fraction * (s.h_steps[-1] - s.h_steps[0])
    prefix = make_prefix(s.h_steps, s.entropy, s.p_steps, s.p_entropy, s.scores, cutoff, float(s.p_steps[-1]))
    cal = packaged_calibration() or {}
    out = {name: calibrated_prediction(name, prefix, fraction, cal) for name in FORECASTERS}
    unlike = None
    if prefix.scores.size < 4:
        unlike = f"{prefix.scores.size} scores before the cutoff: the backtest's forecasts need 4 or more"
    elif float(np.ptp(prefix.scores)) < 0.01:
        unlike = "the score has not moved before the cutoff: a forecast from it is the level it sits at"
    default = (cal.get("default") or {}).get("forecaster", "naive")
    return {
        "default": default,
        "rule": DEFAULT_RULE,
        "backtest": {"runs": cal.get("runs"), "source": cal.get("source"), "figures": cal.get("figures", {})},
        "forecasts": out,
        "unlike_backtest": unlike,
        "bounds": list(prefix.bounds),
    }

