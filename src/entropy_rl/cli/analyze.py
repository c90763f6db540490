"""Commands that read runs: ``fit``, ``report`` and ``bandit``. They need only the base install
(numpy, scipy, matplotlib)."""

from __future__ import annotations

import math
from pathlib import Path

import typer

from entropy_rl.cli.app import app, fail, log_path, needs_extra, one_line
from entropy_rl.cli.output import drivers_line
from entropy_rl.files import atomic_write_text, strict_json


@app.command()
def report(
    run_dirs: list[Path] = typer.Argument(
        ...,
        parser=log_path, help="Run directories (entropy-rl or TRL) or verl file-logger .jsonl files."
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
def horizon(
    out_dir: Path = typer.Argument(..., parser=log_path, help="A compare or sweep output: DIR/<method>/seed<N>/ runs, GRPO among them."),
    out: Path = typer.Option(None, "--out", help="Where horizon.json and horizon.md go (default: DIR/horizon/)."),
) -> None:
    """Held-out pass@1 and pass@k by thirds of training, each method against the GRPO run of the
    same seed: does holding entropy overtake GRPO late?"""
    from entropy_rl.analysis.frontier import sweep_run_dirs
    from entropy_rl.analysis.horizon import write_horizon

    runs = sweep_run_dirs(out_dir)
    if not runs:
        fail(f"{out_dir}: no runs (expected <method>/seed<N>/metrics.jsonl)")
    try:
        md = write_horizon(runs, out or out_dir / "horizon")
    except (OSError, ValueError) as e:
        fail(one_line(e))
    typer.echo(md.read_text())
    typer.echo(f"horizon: {md}")


@app.command()
def backtest(
    logs: list[Path] = typer.Argument(..., parser=log_path, help="Runs and logs: anything `fit` reads."),
    fractions: str = typer.Option("0.1,0.25,0.5", "--fractions", help="Cutoffs, as parts of each run."),
    out: Path = typer.Option(None, "--out", help="Where backtest.json, backtest.md and the plot go."),
    as_json: bool = typer.Option(False, "--json", help="Print the summary as one JSON object."),
) -> None:
    """Each forecaster (naive, a curve of score against step, the law at the extrapolated entropy,
    the law's ceiling, a blend) sees each run up to each cutoff and forecasts its last score:
    errors, how often each beats naive, and 90 % intervals calibrated leave-one-run-out."""
    from entropy_rl.analysis.backtest import backtest as run_backtest
    from entropy_rl.analysis.backtest import backtest_markdown, run_series, write_backtest
    from entropy_rl.analysis.runs import load_run

    try:
        cuts = tuple(float(f) for f in fractions.split(",") if f.strip())
    except ValueError:
        fail(f"--fractions: expected comma-separated numbers, got {fractions!r}")
    if not cuts or any(not 0 < f < 1 for f in cuts):
        fail(f"--fractions: each must lie in (0, 1), got {fractions!r}")
    try:
        series = [run_series(load_run(p)) for p in logs]
        result = write_backtest(series, out, cuts) if out else run_backtest(series, cuts)
    except (OSError, ValueError) as e:
        fail(one_line(e))
    if as_json:
        typer.echo(strict_json({k: result[k] for k in ("runs", "summary", "by_kind", "by_source", "default")}))
        return
    typer.echo(backtest_markdown(result).rstrip())
    if out:
        typer.echo(f"backtest: {out / 'backtest.json'}")


ENTROPY_KEY = typer.Option(
    None, "--entropy-key", help="The log's entropy key (default: detected, e.g. actor/entropy, entropy)."
)
PERF_KEY = typer.Option(
    None,
    "--perf-key",
    "--metric",
    help="Performance key (default: the held-out score where the log has one with entropy, else the "
    "training reward; e.g. eval_accuracy, reward, or any logged key).",
)


@app.command()
def fit(
    run_dir: Path = typer.Argument(
        ...,
        parser=log_path,
        help="An entropy-rl run directory, or a log of verl (console, W&B output.log, file-logger .jsonl), "
        "TRL (console, trainer_state.json or its output directory), a W&B run folder or CSV export, "
        "or TensorBoard events.",
    ),
    metric: str | None = PERF_KEY,
    entropy_key: str | None = ENTROPY_KEY,
    fraction: float = typer.Option(
        0.25, "--fraction", min=0.05, max=0.95, help="The first part of the run the forecast is made from."
    ),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON object instead of text."),
) -> None:
    """Fit R = −a·exp(H) + b on a run and forecast its final performance from its first quarter:
    the entropy's decay extrapolated to the last step, the law fitted on the quarter applied to it
    (with a bootstrap interval). Then the run's entropy budget and verdicts."""
    from entropy_rl.analysis.backtest import run_forecasts
    from entropy_rl.analysis.runs import load_run
    from entropy_rl.analysis.stats import (
        aggregate_by_method,
        covariance_entropy_change_correlation,
        entropy_budget,
        entropy_change_correlation,
        entropy_links,
        fit_json,
        pooled_token_drivers,
        run_metrics,
    )
    from entropy_rl.analysis.verdicts import verdicts

    try:
        run = load_run(run_dir, entropy_key=entropy_key, perf_key=metric)
        metric = metric or run.performance_key
        summary = fit_json(run, metric=metric, fraction=fraction)
        summary["forecasters"] = run_forecasts(run, fraction, metric)
    except (OSError, ValueError) as e:
        fail(one_line(e))
    if as_json:  # the object even when the law cannot be fitted: `law` null, `law_error` says why
        typer.echo(strict_json(summary))
        return
    if summary["law"] is None:
        fail(one_line(ValueError(f"{run_dir}: {summary['law_error']}")))
    for line in fit_lines(summary):
        typer.echo(line)
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


def _f(v, fmt: str = ".4f") -> str:
    return "n/a" if v is None or (isinstance(v, float) and not math.isfinite(v)) else format(v, fmt)


def fit_lines(s: dict) -> list[str]:
    """``fit``'s text: the log read, the law, the forecast and the law at the observed final entropy."""
    law, fc, at, col = s["law"], s["forecast"], s["at_final_entropy"], s["collapse"]
    keys = ", ".join(f"{k} = {v}" for k, v in s["keys"].items() if k != "performance")
    lo, hi = law["ceiling_interval"]
    lines = [
        f"log: {s['source']} ({keys})" if keys else f"log: {s['source']}",
        f"points: {s['points']} (entropy, {s['metric']})",
        f"a = {_f(law['a'])}  b = {_f(law['b'])}  R² = {_f(law['r2'], '.3f')}",
        f"ceiling (H = 0): b − a = {_f(law['ceiling'])}  (90% bootstrap [{_f(lo)}, {_f(hi)}])",
        f"entropy: {_f(col['start'])} → {_f(col['end'])} (× {_f(col['ratio'], '.3f')})",
    ]
    head = f"forecast from the first {fc['fraction']:.0%} (steps ≤ {fc['cutoff_step']:g})"
    if fc["law_does_not_apply"]:
        lines.append(f"{head}: no forecast: {fc['law_does_not_apply']}")
    else:
        iv = fc["interval"] or [None, None]
        actual = (
            f"; actual {_f(fc['actual_final'])}, error {_f(fc['abs_error'])}" if fc["actual_final"] is not None else ""
        )
        lines.append(
            f"{head}: entropy extrapolated to {_f(fc['entropy_at_horizon'])} at step {fc['horizon_step']:g}, "
            f"performance {_f(fc['predicted_final'])} (90% bootstrap [{_f(iv[0])}, {_f(iv[1])}]){actual}"
        )
        if at["predicted_final"] is not None:
            lines.append(
                f"the same prefix law at the observed final entropy {_f(at['entropy'])}: "
                f"{_f(at['predicted_final'])} (error {_f(at['abs_error'])})"
            )
        if fc["warning"]:
            lines.append(f"warning: {fc['warning']}")
    lines += forecaster_lines(s["forecasters"], fc["fraction"])
    lines += [f"note: {n}" for n in s["notes"]]
    return lines


def forecaster_lines(fs: dict, fraction: float) -> list[str]:
    """The default forecaster's forecast with its calibrated interval and backtest figures, and
    the law's beside it when the default is not the law."""
    if not fs.get("default"):
        return [f"forecasters: {fs.get('unlike_backtest')}"] if fs.get("unlike_backtest") else []
    default, figs = fs["default"], fs["backtest"]["figures"]
    out = []
    for name in dict.fromkeys([default, "law", "naive"]):
        f = fs["forecasts"].get(name, {})
        what = "default forecast" if name == default else "the law, beside it" if name == "law" else "naive, beside it"
        head = f"{what} ({name}, from the first {fraction:.0%})"
        if name == default and fs.get("unlike_backtest"):  # unlike the runs it was checked on: no number
            out.append(f"{head}: none: {fs['unlike_backtest']}")
            continue
        if f.get("value") is None:
            out.append(f"{head}: none: {f.get('reason')}")
            continue
        iv = f["interval"] or [None, None]
        fig = figs.get(name)
        versus = "" if name == "naive" else f", beats naive on {fig['beats_naive']} of {fig['runs']} runs" if fig else ""
        checked = (
            f"; backtest at 25 %: median error {_f(fig['median_abs_error'], '.3f')}{versus}, 90 % interval covered "
            f"{_f(fig['coverage'], '.0%')} of {fig['coverage_runs']} runs (leave-one-run-out)" if fig else ""
        )
        out.append(f"{head}: {_f(f['value'])} (calibrated 90 % [{_f(iv[0])}, {_f(iv[1])}]){checked}")
    if default == "naive":
        out.append("no forecaster beat the naive one (the mean of the last 3 scores seen) in the backtest: "
                   "docs/results/forecast-backtest/")
    return out


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

    with needs_extra("bandit"):
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
    atomic_write_text(out / "bandit.json", strict_json({"command": command, "figures": figures}, indent=1))


def status_lines(st) -> list[str]:
    """``watch``'s compact status of an ``analysis.watch.Status``."""
    ent = (
        f"entropy {st.entropy_start:.4g} → {st.entropy_now:.4g} (× {st.entropy_now / st.entropy_start:.2f})"
        if st.entropy_start
        else "entropy: none yet"
    )
    perf = f"{st.perf_key} {_f(st.perf_now)}" if st.perf_now is not None else f"{st.perf_key}: none yet"
    lines = [f"step {st.step} ({st.source}, {st.rows} rows) | {ent} | {perf}"]
    d = st.default
    if d is not None and d["value"] is not None:
        iv = (f", 90 % interval [{_f(d['interval'][0])}, {_f(d['interval'][1])}] (calibrated at the "
              f"{float(d['calibrated_at']):.0%} cutoff)") if d["interval"] else ""  # fmt: skip
        lines.append(f"forecast at step {d['at']} ({d['name']}, the backtest's default): {_f(d['value'])}{iv}")
    elif d is not None:
        lines.append(f"forecast ({d['name']}, the backtest's default): none ({d['reason']})")
    if st.naive is not None and (d is None or d["name"] != "naive"):
        lines.append(f"naive forecast: {_f(st.naive)}, the mean of the last 3 scores")
    if st.waiting:
        lines.append(f"law: waiting ({st.waiting})")
        return lines
    law, fc = st.law, st.forecast
    lines.append(f"law: R = {-law.a:+.4f}·e^H {law.b:+.4f}, R² {law.r2:.3f}, ceiling {law.ceiling:.4f} ({law.n} points)")
    if fc.reason:
        lines.append(f"forecast: none: {fc.reason}")
    else:
        iv = fc.interval or (None, None)
        lines.append(
            f"forecast at {st.horizon}: {_f(fc.predicted_final)} (90% bootstrap [{_f(iv[0])}, {_f(iv[1])}]), "
            f"entropy {_f(fc.entropy_final)}"
        )
        if fc.warning:
            lines.append(f"  ({fc.warning})")
    return lines


@app.command()
def watch(
    log: Path = typer.Argument(..., parser=log_path, help="A log being written: any input `fit` reads."),
    interval: float = typer.Option(5.0, "--interval", min=0.01, max=3600, help="Seconds between reads."),
    warn_fraction: float = typer.Option(
        0.3, "--warn-fraction", min=0.0, max=1.0, help="Warn once when entropy falls below this fraction of its start."
    ),
    total_steps: int | None = typer.Option(
        None, "--total-steps", min=1, max=10**9, help="The run's planned length: the forecast's step (default: "
        "the entropy's fitted floor)."
    ),
    idle_exit: float | None = typer.Option(
        None, "--exit-when-idle", min=0.0, help="Stop after this many seconds without the log growing."
    ),
    metric: str | None = PERF_KEY,
    entropy_key: str | None = ENTROPY_KEY,
) -> None:
    """Follow a run's log while it is written: entropy, performance, the law's forecast and its
    interval, redrawn as the log grows; a warning line, once, when entropy falls below
    --warn-fraction of its start or the law's ceiling stops rising. Ctrl-C stops it."""
    from rich.console import Console
    from rich.live import Live
    from rich.text import Text

    from entropy_rl.analysis.watch import Alarms, follow

    console = Console(highlight=False)
    alarms = Alarms(warn_fraction)
    live = Live(console=console, auto_refresh=False) if console.is_terminal else None
    try:
        if live:
            live.start()
        for st in follow(log, interval, idle_exit, entropy_key, metric, total_steps):
            lines = [st] if isinstance(st, str) else status_lines(st)
            if live:
                live.update(Text("\n".join(lines)), refresh=True)
            else:
                typer.echo("\n".join(lines))
            for warning in [] if isinstance(st, str) else alarms.update(st):
                (live.console.print if live else typer.echo)(f"warning: {warning}")
    except KeyboardInterrupt:
        pass
    finally:
        if live:
            live.stop()
    typer.echo("watch: stopped")
