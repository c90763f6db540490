"""The ``entropy-rl`` command line (typer)."""

from __future__ import annotations

import json
import math
import os
import sys
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import typer

from entropy_rl.config import ConfigError, load_config

app = typer.Typer(
    add_completion=False, no_args_is_help=True, help="Measure, predict and control policy entropy in RLVR."
)


def _fail(msg: str) -> None:
    typer.secho(f"error: {msg}", fg=typer.colors.RED, err=True)
    raise typer.Exit(2)


@app.command()
def train(
    config: Path = typer.Argument(None, help="YAML config (optional with --resume: the run's own is used)."),
    out: Path = typer.Option(None, "--out", help="Run directory."),
    resume: Path = typer.Option(None, "--resume", help="Continue the run in this directory."),
    set_: list[str] = typer.Option([], "--set", help="Override a field: key.path=value (repeatable)."),
    quiet: bool = typer.Option(False, "--quiet", help="No progress bar."),
) -> None:
    """Train one run; one JSON line per step in RUN_DIR/metrics.jsonl."""
    from entropy_rl.evaluation import ScoringFailed
    from entropy_rl.trainer import train as run_train

    run_dir = None
    try:
        if resume is not None:
            cfg = load_config(config or resume / "config.yaml", set_)
            run_dir = resume
        else:
            if config is None or out is None:
                _fail("train needs CONFIG and --out RUN_DIR (or --resume RUN_DIR)")
            cfg = load_config(config, set_)
            run_dir = out
        run_train(cfg, run_dir, resume=resume is not None, quiet=quiet)
    except (ConfigError, FileExistsError, FileNotFoundError, ValueError, ScoringFailed) as e:
        msg = str(e)
        if run_dir is not None and (Path(run_dir) / "interrupted").exists():
            msg += f"\n{(Path(run_dir) / 'interrupted').read_text().strip()}: fix the cause, then --resume {run_dir}"
        _fail(msg)
    typer.echo(f"run written to {run_dir}")


def _train_one(args: tuple[str, dict, str, bool]) -> str | None:
    """One run of ``compare``; returns None, or the error that stopped it (the run directory keeps
    its last completed step, so a rerun of the same ``compare`` resumes it)."""
    from entropy_rl.config import Config
    from entropy_rl.trainer import train as run_train

    method, data, run_dir, resume = args
    try:
        run_train(Config(**data), run_dir, resume=resume, quiet=True)
    except Exception as e:  # one broken run must not take the others' report with it
        return f"{type(e).__name__}: {e}"
    return None


@app.command()
def compare(
    config: Path = typer.Argument(..., help="Base YAML config (its `methods:` section defines each method)."),
    methods: str = typer.Option("grpo,clip_cov,kl_cov,pos_neg", "--methods", help="Comma-separated methods."),
    seeds: int = typer.Option(2, "--seeds", help="Seeds per method (0..N-1 added to trainer.seed)."),
    out: Path = typer.Option(..., "--out", help="Output directory: DIR/<method>/seed<N>/ and DIR/report/."),
    set_: list[str] = typer.Option([], "--set", help="Override a field of every run: key.path=value."),
    jobs: int = typer.Option(0, "--jobs", help="Runs in parallel (0 = number of CPU cores)."),
    baseline_temperatures: str = typer.Option(
        "0.1,0.2,0.35,0.5,0.7,1.0",
        "--baseline-temperatures",
        help="Sample the initial policy at these temperatures on the held-out problems: the "
        "frontier a run must beat to have learned more than sharpening ('' to skip).",
    ),
    quiet: bool = typer.Option(False, "--quiet", help="Less output."),
) -> None:
    """Run each method with each seed, then write the report."""
    from entropy_rl.checkpoint import latest_checkpoint
    from entropy_rl.policy import load_policy
    from entropy_rl.report import write_report
    from entropy_rl.tasks import make_task

    try:
        base = load_config(config, set_)
        names = [m.strip() for m in methods.split(",") if m.strip()]
        cfgs = {m: base.for_method(m) for m in names}
        temps = _parse_temperatures(baseline_temperatures)
    except ConfigError as e:
        _fail(str(e))
    if quiet:
        from transformers.utils import logging as hf_logging

        hf_logging.disable_progress_bar()
    # Build the (shared, cached) tiny model once before the runs start in parallel.
    try:
        task = make_task(base.task)
    except ValueError as e:
        _fail(str(e))
    policy = load_policy(base.model, task, seed=base.trainer.seed, log=typer.echo)
    baseline = _temperature_baseline(base, task, policy, temps, out / "baseline_temperature.json")
    del policy
    jobs_n = jobs or os.cpu_count() or 1
    work = []
    for m, cfg in cfgs.items():
        for s in range(seeds):
            data = cfg.model_dump()
            data["trainer"]["seed"] = cfg.trainer.seed + s
            if jobs_n > 1:
                data["trainer"]["threads"] = 1  # one core per run
            run_dir = out / m / f"seed{s}"
            # a finished or stopped run resumes from its last checkpoint; steps logged without
            # one cannot be resumed, so such a run starts over
            resume = latest_checkpoint(run_dir) is not None
            if not resume and (run_dir / "metrics.jsonl").exists():
                (run_dir / "metrics.jsonl").unlink()
            work.append((m, data, str(run_dir), resume))
    typer.echo(f"{len(work)} runs ({', '.join(names)} × {seeds} seeds), {jobs_n} at a time")
    failed: dict[str, str] = {}

    def finished(w, error: str | None) -> None:
        if error is not None:
            failed[w[2]] = error
            typer.secho(f"failed {w[0]}: {w[2]}: {error}", fg=typer.colors.RED, err=True)
        elif not quiet:
            typer.echo(f"done {w[0]}: {w[2]}")

    if jobs_n > 1:
        import multiprocessing as mp

        with ProcessPoolExecutor(max_workers=jobs_n, mp_context=mp.get_context("spawn")) as pool:
            for w, error in zip(work, pool.map(_train_one, work), strict=True):
                finished(w, error)
    else:
        for w in work:
            finished(w, _train_one(w))
    runs = [w[2] for w in work if w[2] not in failed]
    if not runs:
        _fail(f"every run failed; first: {next(iter(failed.values()))}")
    index = write_report(runs, out / "report", baseline=baseline)
    saved = json.loads((index.parent / "summary.json").read_text())  # what the report computed
    _print_summary(saved["methods"], saved["token_drivers"])
    typer.echo(f"report: {index}")
    if failed:
        _fail(
            f"{len(failed)} of {len(work)} runs failed (the report covers the others): "
            + "; ".join(f"{r}: {e}" for r, e in failed.items())
            + ". Fix the cause and rerun the same command: finished runs are kept, stopped ones resume."
        )


def _parse_temperatures(text: str, option: str = "--baseline-temperatures") -> list[float]:
    try:
        temps = [float(t) for t in text.split(",") if t.strip()]
    except ValueError:
        raise ConfigError(f"{option}: expected comma-separated numbers, got {text!r}") from None
    if any(not t > 0 for t in temps):
        raise ConfigError(f"{option}: temperatures must be > 0, got {text!r}")
    return temps


def _temperature_baseline(cfg, task, policy, temps: list[float], path: Path) -> list[dict] | None:
    """The initial policy's held-out metrics at each temperature (cached in ``path``)."""
    from entropy_rl.evaluation import temperature_sweep
    from entropy_rl.trainer import resolve_device

    if not temps:
        return None
    if path.exists():
        return json.loads(path.read_text())
    device = resolve_device(cfg.trainer.device)
    policy.model.to(device)
    t = cfg.trainer
    sweep = temperature_sweep(
        policy,
        task,
        task.heldout[: t.eval_problems],
        t.eval_k,
        temps,
        cfg.rollout.top_p,
        cfg.rollout.max_new_tokens,
        device,
        seed=t.seed,
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(sweep, indent=1))
    return sweep


def _drivers_line(rows: list[dict], top: int = 5) -> str:
    """``+ 11.1 %, - 10.4 %, …``: the tokens carrying the most covariance and their shares."""
    return ", ".join(
        f"{r['token']} {100 * r['covariance_share']:.1f} %"
        for r in rows[:top]
        if r["covariance_share"] is not None
    )


def _print_summary(summary: dict, drivers: dict[str, list[dict]] | None = None) -> None:
    from rich.console import Console
    from rich.table import Table

    from entropy_rl.report import paired_with_grpo

    cols = {  # summary key → column header
        "entropy_start": "entropy start",
        "entropy_final": "entropy final",
        "entropy_final_vs_grpo": "× GRPO's",
        "eval_accuracy_final": "held-out acc.",
        "law_ceiling": "law ceiling",
        "corr_predicted_measured_dH": "corr(pred., meas. ΔH)",
        "gain_over_temperature": "gain over temp.",
    }
    table = Table(title="final metrics, mean ± std over seeds")
    table.add_column("method")
    for header in cols.values():
        table.add_column(header)
    for method, vals in summary.items():
        cells = []
        for c in cols:
            v = vals.get(c)
            cells.append("–" if v is None or v["n"] == 0 else f"{v['mean']:.3f} ± {v['std']:.3f}")
        table.add_row(method, *cells)
    console = Console(width=140)
    console.print(table)
    paired = paired_with_grpo(summary)
    if paired:
        console.print("against GRPO, paired by seed (mean [95 % t-interval]):")
        for line in paired:
            console.print(f"  {line}")
    if drivers:
        console.print("tokens carrying the most covariance (share of Σ Cov over the run, pooled over seeds):")
        for method, rows in drivers.items():
            console.print(f"  {method}: {_drivers_line(rows)}", markup=False)


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
    from entropy_rl.report import write_report

    try:
        sweep = json.loads(baseline.read_text()) if baseline else None
        index = write_report(run_dirs, out, baseline=sweep)
    except (FileNotFoundError, ValueError) as e:
        _fail(str(e))
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
    from entropy_rl.report import entropy_budget, entropy_links, fit_run_law, load_run, pooled_token_drivers

    try:
        run = load_run(run_dir)
        metric = metric or run.performance_key
        law = fit_run_law(run, metric=metric)
    except (FileNotFoundError, ValueError) as e:
        _fail(str(e))
    lo, hi = law.ceiling_interval
    typer.echo(f"points: {law.n} (entropy, {metric})")
    typer.echo(f"a = {law.a:.4f}  b = {law.b:.4f}  R² = {law.r2:.3f}")
    typer.echo(f"ceiling (H = 0): b − a = {law.ceiling:.4f}  (90% bootstrap [{lo:.4f}, {hi:.4f}])")
    if law.prefix_predicted_final is not None:
        typer.echo(
            f"fit on the first third: ceiling {law.prefix_ceiling:.4f}; final R predicted "
            f"{law.prefix_predicted_final:.4f}, actual {law.actual_final:.4f} (RMSE on the rest {law.prefix_rmse:.4f})"
        )
    budget = entropy_budget(run)
    if budget:
        typer.echo(
            f"entropy budget on the probe batch: Σ ΔH = {budget['entropy_change_total']:+.4f}, first order "
            f"(covariance) {budget['entropy_change_first_order']:+.4f}, higher order "
            f"{budget['entropy_change_higher_order']:+.4f}"
        )
    drivers = pooled_token_drivers([run]).get(run.method)
    if drivers:
        typer.echo(f"tokens carrying the most covariance (share of Σ Cov): {_drivers_line(drivers)}")
    links = {k: v for k, v in entropy_links(run).items() if math.isfinite(v)}
    if links:
        typer.echo(
            "held-out entropy vs "
            + ", ".join(f"{k.removeprefix('corr_entropy_')}: r = {v:+.2f}" for k, v in links.items())
        )


@app.command("eval")
def eval_(
    model: str = typer.Argument(
        ..., help="A run directory, 'tiny', 'smollm2-135m-instruct' or a model directory."
    ),
    data: str = typer.Option(
        "math500", "--data", help="gsm8k, math, math500, a reasoning-gym task, or a .jsonl/.parquet path."
    ),
    k: int = typer.Option(16, "--k", help="Samples per problem."),
    n: int = typer.Option(0, "--n", help="Problems (0 = all held-out problems)."),
    out: Path = typer.Option(None, "--out", help="Output directory (default: RUN_DIR/eval for a run)."),
    temperature: float = typer.Option(None, help="Sampling temperature (default: the run's, else 1.0)."),
    max_new_tokens: int = typer.Option(None, help="Response cap (default: the run's, else 512)."),
    temperatures: str = typer.Option(
        "",
        "--temperatures",
        help="Also sweep these temperatures (e.g. 0.2,0.5,1.0): DIR/temperature_sweep.json, usable "
        "as `report --baseline` for runs that start from this model.",
    ),
    set_: list[str] = typer.Option([], "--set", help="Override a config field: key.path=value."),
) -> None:
    """Sample k responses per held-out problem: accuracy at k, diversity, calibration, entropy."""

    from pydantic import ValidationError

    from entropy_rl.checkpoint import latest_checkpoint, load_weights
    from entropy_rl.config import Config
    from entropy_rl.evaluation import sample_and_score, temperature_sweep, write_eval
    from entropy_rl.policy import load_policy
    from entropy_rl.tasks import make_task
    from entropy_rl.trainer import resolve_device

    run_dir = Path(model)
    is_run = (run_dir / "config.yaml").exists()
    try:
        if is_run:
            cfg = load_config(run_dir / "config.yaml", set_)
        else:
            cfg = load_config(None, [f"model.name={model}", *set_])
        if data != cfg.task.name or not is_run:
            if data.endswith((".jsonl", ".parquet")):
                task_cfg = {"name": "jsonl", "path": data}
            else:
                task_cfg = {"name": data, "compact": cfg.model.name == "tiny"}
            cfg = Config(**{**cfg.model_dump(), "task": task_cfg})
        sweep_temps = _parse_temperatures(temperatures, "--temperatures")
        task = make_task(cfg.task)
        policy = load_policy(cfg.model, task, seed=cfg.trainer.seed, log=typer.echo)
    except ValidationError as e:
        _fail(f"--data {data}: {e}")
    except (ConfigError, FileNotFoundError, ValueError) as e:
        _fail(str(e))
    device = resolve_device(cfg.trainer.device)
    policy.model.to(device)
    if is_run:
        ckpt = latest_checkpoint(run_dir)
        if ckpt is None:
            _fail(f"{run_dir} has no checkpoint")
        load_weights(ckpt, policy.model)
    temp = temperature if temperature is not None else (cfg.rollout.temperature if is_run else 1.0)
    max_new = (
        max_new_tokens if max_new_tokens is not None else (cfg.rollout.max_new_tokens if is_run else 512)
    )
    problems = task.heldout[: n or None]
    res = sample_and_score(
        policy, task, problems, k, temp, cfg.rollout.top_p, max_new, device, fused=cfg.model.fused_logits
    )
    out = out or (run_dir / "eval" if is_run else Path("runs/eval"))
    summary = write_eval(
        res,
        out,
        extra={
            "model": model,
            "data": data,
            "k": k,
            "problems": len(problems),
            "temperature": temp,
            "confidence": "mean token probability",
        },
    )
    for key, v in summary.items():
        typer.echo(f"{key:>20}: {v:.4f}")
    if sweep_temps:
        sweep = temperature_sweep(
            policy, task, problems, k, sweep_temps, cfg.rollout.top_p, max_new, device, seed=cfg.trainer.seed
        )
        (out / "temperature_sweep.json").write_text(json.dumps(sweep, indent=1))
        for row in sweep:
            typer.echo(
                f"T = {row['temperature']:g}: entropy {row['entropy']:.4f}  accuracy {row['accuracy']:.4f}  "
                f"pass@{k} {row[f'pass@{k}']:.4f}"
            )
    typer.echo(f"written to {out}")


@app.command()
def bandit(
    out: Path = typer.Option(Path("runs/bandit"), "--out", help="Where to save the plot."),
    trials: int = typer.Option(200, help="Trials."),
    actions: int = typer.Option(64, help="Actions of the softmax policy."),
    lr: float = typer.Option(1e-3, help="Step size η."),
) -> None:
    """The softmax-bandit check of ΔH ≈ −η·Cov: predicted vs measured entropy change."""
    from entropy_rl.bandit import plot_bandit, run_bandit, summarise

    res = run_bandit(trials, actions, lr)
    typer.echo(summarise(res))
    typer.echo(f"plot: {plot_bandit(res, out / 'bandit.png')}")


def main() -> None:  # pragma: no cover
    sys.exit(app())


if __name__ == "__main__":  # pragma: no cover
    main()
