"""Commands that train or sample a model: ``train``, ``compare`` and ``eval``. They need the
``train`` extra (``pip install "entropy-rl[train]"``) and say so when it is missing."""

from __future__ import annotations

from pathlib import Path

import typer

from entropy_rl.cli.app import app, fail, needs_extra, one_line, parse_temperatures
from entropy_rl.files import atomic_write_text, read_text, strict_json


@app.command()
def train(
    config: Path = typer.Argument(None, help="YAML config (optional with --resume: the run's own is used)."),
    out: Path = typer.Option(None, "--out", help="Run directory."),
    resume: Path = typer.Option(None, "--resume", help="Continue the run in this directory."),
    set_: list[str] = typer.Option([], "--set", help="Override a field: key.path=value (repeatable)."),
    reward_fn: str = typer.Option(
        None,
        "--reward-fn",
        help="Your reward function, FILE.py:NAME (sets task.reward_fn). With --resume and the run's own "
        "config, pass it again: code a run directory names is never run on its word.",
    ),
    quiet: bool = typer.Option(False, "--quiet", help="No progress bar."),
) -> None:
    """Train one run; one JSON line per step in RUN_DIR/metrics.jsonl."""
    with needs_extra("train"):
        from entropy_rl.config import ConfigError, load_config
        from entropy_rl.scoring.types import InvalidReward, ScoringFailed
        from entropy_rl.train.trainer import train as run_train

    overrides = [*set_, *([f"task.reward_fn={reward_fn}"] if reward_fn else [])]
    run_dir = None
    try:
        if resume is not None:
            if config is None:
                cfg = run_config(resume, overrides)
            else:
                cfg = load_config(config, overrides)
            run_dir = resume
        else:
            if config is None or out is None:
                fail("train needs CONFIG and --out RUN_DIR (or --resume RUN_DIR)")
            cfg = load_config(config, overrides)
            run_dir = out
        with needs_extra("train"):
            run_train(cfg, run_dir, resume=resume is not None, quiet=quiet)
    except (ConfigError, OSError, ValueError, ScoringFailed, InvalidReward) as e:
        msg = one_line(e)
        try:
            note = read_text(Path(run_dir) / "interrupted", limit=1000).strip() if run_dir else None
        except (OSError, ValueError):  # none, or the run directory itself is the problem
            note = None
        if note:
            msg += f"; {one_line(ValueError(note))}: fix the cause, then --resume {str(run_dir)[:200]}"
        fail(msg)
    typer.echo(f"run written to {run_dir}")


def run_config(run_dir: Path, overrides: list[str]):
    """A run directory's own ``config.yaml`` with ``overrides``. A run directory is data: the
    reward function its config names is refused unless the command line names the same one
    again (``--reward-fn``, or ``--set task.reward_fn=``)."""
    from entropy_rl.config import ConfigError, load_config

    stored = load_config(run_dir / "config.yaml").task.reward_fn
    cfg = load_config(run_dir / "config.yaml", overrides)
    explicit = any(o.split("=", 1)[0].strip() == "task.reward_fn" for o in overrides)
    if stored and not (explicit and cfg.task.reward_fn == stored):
        raise ConfigError(
            f"{run_dir / 'config.yaml'} names the reward function task.reward_fn = {stored[:200]!r}: code "
            f"that a run directory names is never run on its word; if you trust it, pass --reward-fn "
            f"{stored[:200]} (docs/safety.md)"
        )
    return cfg


@app.command()
def compare(
    config: Path = typer.Argument(..., help="Base YAML config (its `methods:` section defines each method)."),
    methods: str = typer.Option("grpo,clip_cov,kl_cov,pos_neg", "--methods", help="Comma-separated methods."),
    seeds: int = typer.Option(2, "--seeds", help="Seeds per method (0..N-1 added to trainer.seed)."),
    out: Path = typer.Option(..., "--out", help="Output directory: DIR/<method>/seed<N>/ and DIR/report/."),
    set_: list[str] = typer.Option(
        [], "--set", help="Override a field of every run: key.path=value (wins over the `methods:` section)."
    ),
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
    with needs_extra("compare"):
        from entropy_rl.cli.output import print_summary
        from entropy_rl.config import ConfigError, load_config
        from entropy_rl.train.experiment import run_experiment

    temps = parse_temperatures(baseline_temperatures)
    names = [m.strip() for m in methods.split(",") if m.strip()]
    if not 1 <= seeds <= 1000 or not 0 <= jobs <= 1024:
        fail(f"--seeds must be in 1..1000 and --jobs in 0..1024 (got {seeds}, {jobs})")
    try:
        base = load_config(config, set_)
        for m in names:  # a method that does not validate fails before anything is built
            base.for_method(m, set_)
    except ConfigError as e:
        fail(str(e))
    if quiet:
        from transformers.utils import logging as hf_logging

        hf_logging.disable_progress_bar()

    ended = []

    def on_done(spec, error: str | None) -> None:
        ended.append(spec)
        if error is not None:
            typer.secho(f"failed {spec.method}: {spec.run_dir}: {error}", fg=typer.colors.RED, err=True)
        elif not quiet:
            typer.echo(f"[{len(ended)} runs ended] done {spec.method}: {spec.run_dir}")

    try:
        with needs_extra("compare"):
            result = run_experiment(
                base, names, seeds, out, jobs, temps, log=typer.echo, on_done=on_done, overrides=set_,
                progress=not quiet,
            )
    except (ConfigError, OSError, ValueError) as e:
        fail(one_line(e))
    if result.report is None:
        fail(f"every run failed; first: {next(iter(result.failed.values()))}")
    print_summary(
        result.summary["methods"], result.summary["token_drivers"], result.summary.get("temperature_baseline")
    )
    typer.echo(f"report: {result.report}")
    if result.failed:
        fail(
            f"{len(result.failed)} of {result.runs} runs failed (the report covers the others): "
            + "; ".join(f"{r}: {e}" for r, e in result.failed.items())
            + ". Fix the cause and rerun the same command: finished runs are kept, stopped ones resume."
        )


@app.command()
def sweep(
    config: Path = typer.Argument(..., help="YAML config whose `methods:` name each setting FAMILY@STRENGTH."),
    out: Path = typer.Option(..., "--out", help="Output directory: DIR/<method>/seed<N>/, DIR/report/, DIR/frontier/."),
    families: str = typer.Option("", "--families", help="Comma-separated families to run (default: all)."),
    seeds: int = typer.Option(3, "--seeds", help="Seeds per setting (0..N-1 added to trainer.seed)."),
    jobs: int = typer.Option(0, "--jobs", help="Runs in parallel (0 = number of CPU cores)."),
    baseline_temperatures: str = typer.Option(
        "0.1,0.2,0.35,0.5,0.7,1.0", "--baseline-temperatures", help="The initial policy's temperature curve."
    ),
) -> None:
    """Dose-response: GRPO and each family's settings × seeds (runs kept and resumed as in
    `compare`), then the frontier over every run in OUT: final held-out entropy against pass@1
    and pass@k, one curve per family, with the initial policy's temperature curve."""
    with needs_extra("compare"):
        from entropy_rl.analysis.frontier import write_frontier
        from entropy_rl.config import ConfigError, load_config
        from entropy_rl.train.experiment import run_experiment

    temps = parse_temperatures(baseline_temperatures)
    try:
        base = load_config(config)
    except ConfigError as e:
        fail(str(e))
    settings = [m for m in base.methods if "@" in m]
    known = sorted({m.split("@", 1)[0] for m in settings})
    asked = [f.strip() for f in families.split(",") if f.strip()] or known
    if not settings or sorted(set(asked) - set(known)):
        fail(f"--families {sorted(set(asked) - set(known)) or asked}: the config's families are {known or 'none (no FAMILY@STRENGTH methods)'}")
    if not 1 <= seeds <= 1000 or not 0 <= jobs <= 1024:
        fail(f"--seeds must be in 1..1000 and --jobs in 0..1024 (got {seeds}, {jobs})")
    names = ["grpo", *(m for m in settings if m.split("@", 1)[0] in asked)]

    def on_done(spec, error: str | None) -> None:
        if error is not None:
            typer.secho(f"failed {spec.method}: {spec.run_dir}: {error}", fg=typer.colors.RED, err=True)
        else:
            typer.echo(f"done {spec.method}: {spec.run_dir}")

    typer.echo(f"sweep: {len(names) - 1} settings of {', '.join(asked)}, and grpo, × {seeds} seeds → {out}")
    try:
        result = run_experiment(base, names, seeds, out, jobs, temps, log=typer.echo, on_done=on_done, progress=True)
        path = write_frontier(out)
    except (ConfigError, OSError, ValueError) as e:
        fail(one_line(e))
    typer.echo(f"frontier: {path}")
    if result.failed:
        fail(f"{len(result.failed)} of {result.runs} runs failed; rerun the same command to resume them")


@app.command("tiny-model")
def tiny_model(
    config: Path = typer.Argument(..., help="YAML config whose model.tiny and task define the model."),
    out: Path = typer.Option(Path("models"), "--out", help="Directory of shipped models (model.tiny.shipped)."),
    check: bool = typer.Option(
        False, "--check", help="Rebuild and compare with the shipped model instead of writing it."
    ),
) -> None:
    """Build the config's warm-started tiny model from scratch into OUT/<name>/ with a MANIFEST.json
    (checksums, command, machine, date): runs with the same settings then copy it instead of
    warm-starting (`make tiny-model`)."""
    with needs_extra("train"):
        from entropy_rl.config import ConfigError, load_config
        from entropy_rl.models.tiny import check_shipped, write_shipped
        from entropy_rl.tasks.factory import make_task

    try:
        cfg = load_config(config)
        if cfg.model.name != "tiny":
            fail(f"config field `model.name` is {cfg.model.name!r}: only the tiny model is built here")
        task = make_task(cfg.task)
        if check:
            diffs = check_shipped(task, cfg.model, out, log=typer.echo)
            if diffs:
                fail("the rebuilt model differs from the shipped one: " + "; ".join(diffs))
            typer.echo("the rebuilt model is identical to the shipped one")
            return
        write_shipped(task, cfg.model, out, f"entropy-rl tiny-model {config} --out {out}", log=typer.echo)
    except (ConfigError, OSError, ValueError) as e:
        fail(one_line(e))


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
    reward_fn: str = typer.Option(
        None, "--reward-fn", help="The run's reward function, FILE.py:NAME, named again (see `train --resume`)."
    ),
) -> None:
    """Sample k responses per held-out problem: accuracy at k, diversity, calibration, entropy."""
    with needs_extra("eval"):
        from pydantic import ValidationError

        from entropy_rl.analysis.plots import plot_eval
        from entropy_rl.config import Config, ConfigError, load_config
        from entropy_rl.files import CheckpointError
        from entropy_rl.models.load import load_policy
        from entropy_rl.tasks.factory import make_task
        from entropy_rl.train.checkpoint import latest_checkpoint, load_weights
        from entropy_rl.train.evaluation import sample_and_score, temperature_sweep, write_eval
        from entropy_rl.train.rollout import SamplingParams
        from entropy_rl.train.trainer import resolve_device

    run_dir = Path(model)
    is_run = (run_dir / "config.yaml").exists()
    sweep_temps = parse_temperatures(temperatures, "--temperatures")
    overrides = [*set_, *([f"task.reward_fn={reward_fn}"] if reward_fn else [])]
    try:
        if is_run:
            cfg = run_config(run_dir, overrides)
        else:
            cfg = load_config(None, [f"model.name={model}", *overrides])
        if data != cfg.task.name or not is_run:
            if data.endswith((".jsonl", ".parquet")):
                task_cfg = {"name": "jsonl", "path": data}
            else:
                task_cfg = {"name": data, "compact": cfg.model.name == "tiny"}
            cfg = Config(**{**cfg.model_dump(), "task": task_cfg})
        with needs_extra("eval"):
            task = make_task(cfg.task)
            policy = load_policy(cfg.model, task, seed=cfg.trainer.seed, log=typer.echo)
    except ValidationError as e:
        fail(f"--data {data}: {e}")
    except (ConfigError, OSError, ValueError) as e:
        fail(one_line(e))
    device = resolve_device(cfg.trainer.device)
    policy.model.to(device)
    if is_run:
        try:
            ckpt = latest_checkpoint(run_dir)
            if ckpt is None:
                fail(f"{run_dir} has no checkpoint")
            load_weights(ckpt, policy.model)
        except CheckpointError as e:
            fail(one_line(e))
    temp = temperature if temperature is not None else (cfg.rollout.temperature if is_run else 1.0)
    max_new = (
        max_new_tokens if max_new_tokens is not None else (cfg.rollout.max_new_tokens if is_run else 512)
    )
    sampling = SamplingParams(temp, cfg.rollout.top_p, max_new)
    problems = task.heldout[: n or None]
    res = sample_and_score(policy, task, problems, k, sampling, device, fused=cfg.model.fused_logits)
    out = out or (run_dir / "eval" if is_run else Path("runs/eval"))
    extra = {"model": model, "data": data, "k": k, "problems": len(problems), "temperature": temp}
    summary = write_eval(res, out, extra={**extra, "confidence": "mean token probability"})
    plot_eval(res, summary, out)
    for key, v in summary.items():
        typer.echo(f"{key:>20}: {v:.4f}")
    if sweep_temps:
        sweep = temperature_sweep(
            policy, task, problems, k, sweep_temps, sampling, device, seed=cfg.trainer.seed
        )
        atomic_write_text(out / "temperature_sweep.json", strict_json(sweep, indent=1))
        for row in sweep:
            typer.echo(
                f"T = {row['temperature']:g}: entropy {row['entropy']:.4f}  accuracy {row['accuracy']:.4f}  "
                f"pass@{k} {row[f'pass@{k}']:.4f}"
            )
    typer.echo(f"written to {out}")
