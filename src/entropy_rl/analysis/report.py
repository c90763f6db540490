"""The report: plots, ``summary.json`` and ``index.html`` from one or more runs."""

from __future__ import annotations

from pathlib import Path

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
    figs = [
        plot_series(runs, ["entropy"], "entropy (nats/token)", out / "entropy.png", "Policy entropy"),
        plot_series(
            runs,
            ["accuracy", "eval_accuracy"],
            "accuracy",
            out / "accuracy.png",
            "Accuracy (solid: training batch, dashed: held-out)",
        ),
        plot_law(runs, out / "law.png"),
        plot_series(runs, ["covariance"], "Cov(log π, A)", out / "covariance.png", "Covariance per step"),
        plot_entropy_change(runs, out / "entropy_change.png"),
        plot_covariance_entropy_change(runs, out / "covariance_entropy_change.png"),
        plot_entropy_budget(runs, out / "entropy_budget.png"),
        plot_series(
            runs,
            ["entropy_pos", "entropy_neg"],
            "entropy",
            out / "entropy_by_sign.png",
            "Entropy of A > 0 (solid) and A < 0 (dashed) tokens",
        ),
        plot_pass_at_k(runs, out / "pass_at_k.png"),
        plot_entropy_links(runs, out / "entropy_diversity_calibration.png"),
    ]
    if baseline:
        figs.append(plot_temperature_baseline(runs, baseline, out / "temperature_baseline.png"))
    per_run = run_metrics(runs, baseline)
    summary = aggregate_by_method(runs, per_run)
    if any(SEP in r.method for r in runs):  # a sweep (FAMILY@STRENGTH): its frontier too
        figs.append(plot_frontier(frontier_rows(summary), baseline, out / "frontier.png"))
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
        verdicts({"methods": summary, "temperature_baseline": baseline, "token_drivers": drivers}),
        summary,
        paired_with_grpo(summary),
        per_run_rows,
        laws,
        baseline,
        drivers,
        figs,
        evals,
    )
    atomic_write_text(out / "index.html", page)
    return out / "index.html"
