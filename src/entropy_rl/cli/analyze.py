"""Commands that read runs: ``fit``, ``report`` and ``bandit``. They need only the base install
(numpy, scipy, matplotlib)."""

from __future__ import annotations

import json
import math
from pathlib import Path

import typer

from entropy_rl.cli.app import app, fail, one_line
from entropy_rl.cli.output import drivers_line
from entropy_rl.files import atomic_write_text


@app.command()
def report(
    run_dirs: list[Path] = typer.Argument(
        ..., help="Run directories (entropy-rl or TRL) or verl file-logger .jsonl files."
    ),
    out: Path = typer.Option(..., "--out", help="Output directory for index.html and the PNGs."),
    baseline: Path = typer.Option(
        None, "--baseline", help="baseline_temperature.json written by `compare` (initial policy at lower T)."
    ),
) -> None:
    """Plots and a table (index.html) from one or more runs."""
    from entropy_rl.analysis.report import write_report
    from entropy_rl.analysis.runs import read_baseline

    try:
        sweep = read_baseline(baseline) if baseline else None
        index = write_report(run_dirs, out, baseline=sweep)
    except (OSError, ValueError) as e:
        fail(one_line(e))
    typer.echo(f"report: {index}")


@app.command()
def fit(
    run_dir: Path = typer.Argument(
        ..., help="Run directory, TRL output directory, or verl file-logger .jsonl."
    ),
    metric: str | None = typer.Option(
        None,
        help="Performance key (default: eval_accuracy; reward for a TRL run, or a verl log without "
        "validation).",
    ),
) -> None:
    """Fit R = −a·exp(H) + b on a run (entropy-rl's, a TRL output directory or a verl log); print a, b, R²,
    the ceiling and the first-third prediction, then the run's entropy budget (its entropy change
    split into first and higher order)."""
    from entropy_rl.analysis.runs import load_run
    from entropy_rl.analysis.stats import (
        aggregate_by_method,
        covariance_entropy_change_correlation,
        entropy_budget,
        entropy_change_correlation,
        entropy_links,
        fit_run_law,
        pooled_token_drivers,
        run_metrics,
    )
    from entropy_rl.analysis.verdicts import verdicts

    try:
        run = load_run(run_dir)
        metric = metric or run.performance_key
        law = fit_run_law(run, metric=metric)
    except (OSError, ValueError) as e:
        fail(one_line(e))
    lo, hi = law.ceiling_interval
    typer.echo(f"points: {law.n} (entropy, {metric})")
    typer.echo(f"a = {law.a:.4f}  b = {law.b:.4f}  R² = {law.r2:.3f}")
    typer.echo(f"ceiling (H = 0): b − a = {law.ceiling:.4f}  (90% bootstrap [{lo:.4f}, {hi:.4f}])")
    if law.prefix_predicted_final is not None:
        typer.echo(
            f"fit on the first quarter: ceiling {law.prefix_ceiling:.4f}; final R predicted "
            f"{law.prefix_predicted_final:.4f}, actual {law.actual_final:.4f} (RMSE on the rest {law.prefix_rmse:.4f})"
        )
    budget = entropy_budget(run)
    if budget:
        typer.echo(
            f"entropy budget on the probe batch: Σ ΔH = {budget['entropy_change_total']:+.4f}, first order "
            f"(covariance) {budget['entropy_change_first_order']:+.4f}, higher order "
            f"{budget['entropy_change_higher_order']:+.4f}"
        )
    c_cov, c_pred = covariance_entropy_change_correlation(run), entropy_change_correlation(run)
    if math.isfinite(c_cov) or math.isfinite(c_pred):
        over = "logging windows" if run.performance_key == "reward" else "steps"
        typer.echo(
            f"over {over}: corr(batch covariance, measured ΔH) = {c_cov:+.2f} (the paper's claim: < 0); "
            f"corr(first-order prediction, measured ΔH) = {c_pred:+.2f}"
        )
    drivers = pooled_token_drivers([run]).get(run.method)
    if drivers:
        typer.echo(f"tokens carrying the most covariance (share of Σ Cov): {drivers_line(drivers)}")
    for line in verdicts({"methods": aggregate_by_method([run], run_metrics([run]))}):
        typer.echo(f"verdict: {line}")
    links = {k: v for k, v in entropy_links(run).items() if math.isfinite(v)}
    if links:
        typer.echo(
            "held-out entropy vs "
            + ", ".join(f"{k.removeprefix('corr_entropy_')}: r = {v:+.2f}" for k, v in links.items())
        )


@app.command()
def bandit(
    out: Path = typer.Option(Path("runs/bandit"), "--out", help="Where to save the plot."),
    trials: int = typer.Option(200, help="Trials."),
    actions: int = typer.Option(64, help="Actions of the softmax policy."),
    lr: float = typer.Option(1e-3, help="Step size η."),
) -> None:
    """The softmax-bandit check of ΔH ≈ −η·Cov: predicted vs measured entropy change (OUT/bandit.png,
    and OUT/bandit.json with the figures and the command)."""
    import numpy as np

    from entropy_rl.analysis.plots import plot_bandit
    from entropy_rl.core.bandit import run_bandit, summarise

    res = run_bandit(trials, actions, lr)
    typer.echo(summarise(res))
    typer.echo(f"plot: {plot_bandit(res, out / 'bandit.png')}")
    forms = np.array(res.form)
    figures = {
        form: {
            "trials": int((forms == form).sum()),
            "median_relative_error": float(np.median(res.relative_error[forms == form])),
            "max_relative_error": float(np.max(res.relative_error[forms == form])),
            "sign_agreement": float(
                np.mean(np.sign(res.measured[forms == form]) == -np.sign(res.covariance[forms == form]))
            ),
        }
        for form in ("vanilla", "natural")
    }
    command = f"entropy-rl bandit --trials {trials} --actions {actions} --lr {lr:g}"
    atomic_write_text(out / "bandit.json", json.dumps({"command": command, "figures": figures}, indent=1))
