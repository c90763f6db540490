"""The report: plots, ``summary.json`` and ``index.html`` from one or more runs."""

from __future__ import annotations

from pathlib import Path

from entropy_rl.analysis.backtest import run_forecasts
from entropy_rl.analysis.frontier import SEP, frontier_rows, plot_frontier
from entropy_rl.analysis.page import render
from entropy_rl.analysis.plots import (
    plot_covariance_entropy_change,
    plot_entropy_budget,
    plot_entropy_change,
    plot_entropy_links,
    plot_law,
    plot_pass_at_k,
    plot_series,
    plot_temperature_baseline,
)
from entropy_rl.analysis.runs import load_run
from entropy_rl.analysis.stats import (
    STATISTICS,
    aggregate_by_method,
    fit_run_law,
    paired_with_grpo,
    pooled_token_drivers,
    run_metrics,
)
from entropy_rl.analysis.verdicts import verdicts
from entropy_rl.files import atomic_write_text, strict_json


def write_report(
    run_dirs: list[str | Path], out: str | Path, baseline: list[dict[str, float]] | None = None
) -> Path:
    """Plots, ``summary.json`` and ``index.html`` for the given runs; returns the html path.
    ``baseline``: a ``temperature_sweep`` of the initial policy on the runs' held-out problems."""
    runs = [load_run(p) for p in run_dirs]
    if not runs:
        raise ValueError("report needs at least one run directory")
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    figs = _figures(runs, out, baseline)
    missing = [DIAGNOSTICS[p.name] for p, drawn in figs.items() if drawn is None and p.name in DIAGNOSTICS]
    per_run = run_metrics(runs, baseline)
    summary = aggregate_by_method(runs, per_run)
    drawn = [f for f in figs.values() if f is not None]
    if any(SEP in r.method for r in runs):  # a sweep (FAMILY@STRENGTH): its frontier too
        drawn.append(plot_frontier(frontier_rows(summary), baseline, out / "frontier.png"))
    laws = {}
    for run in runs:
        try:
            law = fit_run_law(run)
            fc = law.forecast
            laws[str(run.path)] = law.__dict__ | {
                "forecast": {
                    "predicted_final": fc.predicted_final,
                    "interval": fc.interval,
                    "actual_final": fc.actual_final,
                    "no_forecast": fc.reason,
                    "warning": fc.warning,
                }
            }
        except ValueError as e:
            laws[str(run.path)] = {"error": str(e)}
    evals = {str(r.path): r.eval for r in runs if r.eval}
    drivers = pooled_token_drivers(runs)
    atomic_write_text(
        out / "summary.json",
        strict_json(
            {
                "statistics": STATISTICS,
                "methods": summary,
                "runs": {str(r.path): v for r, v in zip(runs, per_run, strict=True)},
                "laws": laws,
                "evals": evals,
                "temperature_baseline": baseline,
                "token_drivers": drivers,
            },
            indent=1,
            default=str,
        )
    )
    per_run_rows = [(str(r.path), v) for r, v in zip(runs, per_run, strict=True)]
    page = render(
        run_verdicts(runs) or verdicts({"methods": summary, "temperature_baseline": baseline, "token_drivers": drivers}),
        summary,
        paired_with_grpo(summary),
        per_run_rows,
        laws,
        baseline,
        drivers,
        [f for f in drawn if f is not None],
        evals,
        missing,
    )
    atomic_write_text(out / "index.html", page)
    return out / "index.html"


# Figures of diagnostics that other engines do not log: when no run has the data, the page says
# so once instead of drawing an empty panel.
DIAGNOSTICS = {
    "covariance.png": "the covariance per step",
    "entropy_change.png": "the predicted and measured entropy change",
    "covariance_entropy_change.png": "the covariance against the entropy change",
    "entropy_budget.png": "the entropy budget",
    "entropy_by_sign.png": "the entropy by advantage sign",
    "pass_at_k.png": "held-out pass@k",
    "entropy_diversity_calibration.png": "held-out diversity and calibration",
}


def _figures(runs: list, out: Path, baseline) -> dict[Path, Path | None]:
    """Every figure the report can draw: path -> the path drawn, or None where no run has its data."""
    pairs = [
        (out / "entropy.png", lambda p: plot_series(runs, ["entropy"], "entropy (nats/token)", p, "Policy entropy")),
        (out / "accuracy.png", lambda p: plot_series(
            runs, ["accuracy", "eval_accuracy"], "accuracy", p, "Accuracy (solid: training batch, dashed: held-out)")),
        (out / "law.png", lambda p: plot_law(runs, p)),
        (out / "covariance.png", lambda p: plot_series(runs, ["covariance"], "Cov(log π, A)", p, "Covariance per step")),
        (out / "entropy_change.png", lambda p: plot_entropy_change(runs, p)),
        (out / "covariance_entropy_change.png", lambda p: plot_covariance_entropy_change(runs, p)),
        (out / "entropy_budget.png", lambda p: plot_entropy_budget(runs, p)),
        (out / "entropy_by_sign.png", lambda p: plot_series(
            runs, ["entropy_pos", "entropy_neg"], "entropy", p, "Entropy of A > 0 (solid) and A < 0 (dashed) tokens")),
        (out / "pass_at_k.png", lambda p: plot_pass_at_k(runs, p)),
        (out / "entropy_diversity_calibration.png", lambda p: plot_entropy_links(runs, p)),
    ]  # fmt: skip
    if baseline:
        pairs.append((out / "temperature_baseline.png", lambda p: plot_temperature_baseline(runs, baseline, p)))
    return {path: draw(path) for path, draw in pairs}


def run_verdicts(runs: list) -> dict[str, list[str]] | None:
    """For runs that are not methods × seeds of one experiment (another engine's logs among them),
    each run's own verdicts (collapse, law fit) and its forecast beside the naive one; else None."""
    if len(runs) < 2 or all(r.source == "entropy-rl" for r in runs):
        return None
    out = {}
    for r in runs:
        lines = verdicts({"methods": aggregate_by_method([r], run_metrics([r]))})
        fs = run_forecasts(r)
        name = fs["default"] or "naive"
        chosen, law, naive = (fs["forecasts"].get(k, {}) for k in (name, "law", "naive"))
        if chosen.get("value") is not None:
            beside = [f"the law {law['value']:.3f}" if law.get("value") is not None
                      else f"no law forecast ({law.get('reason') or 'no score'})"]  # fmt: skip
            if name != "naive" and naive.get("value") is not None:
                beside.append(f"naive {naive['value']:.3f}")
            reached = r.series(r.performance_key)[1]
            lines.append(
                f"Forecast of the last score from the first quarter: {name} (the backtest's default) "
                f"{chosen['value']:.3f}, {', '.join(beside)}; the run reached {reached[-1]:.3f}."
            )
        else:
            why = chosen.get("reason") or fs.get("unlike_backtest") or "no score"
            alone = f"; naive {naive['value']:.3f}" if name != "naive" and naive.get("value") is not None else ""
            lines.append(f"No forecast of the last score from the first quarter ({name}): {why}{alone}.")
        out[str(r.path)] = lines
    return out
