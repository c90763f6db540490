"""The experiment behind ``entropy-rl compare``: every method × seed trained (in parallel
processes), the initial policy's temperature frontier, and the report over the finished runs.

A rerun of the same experiment keeps finished runs and resumes stopped ones from their last
checkpoint; one failed run does not take the others' report with it.
"""

from __future__ import annotations

import json
import multiprocessing as mp
import os
import time
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from dataclasses import dataclass, field
from pathlib import Path

from entropy_rl.analysis.report import write_report
from entropy_rl.analysis.runs import read_baseline
from entropy_rl.analysis.stats import read_aggregate
from entropy_rl.config import Config
from entropy_rl.files import atomic_write_text, read_json, strict_json
from entropy_rl.models.load import load_policy
from entropy_rl.models.policy import Policy
from entropy_rl.tasks.base import Task
from entropy_rl.tasks.factory import make_task
from entropy_rl.train.checkpoint import latest_checkpoint
from entropy_rl.train.evaluation import temperature_sweep
from entropy_rl.train.rollout import SamplingParams
from entropy_rl.train.trainer import resolve_device, train


@dataclass(frozen=True)
class RunSpec:
    """One run of the experiment, picklable for a worker process."""

    method: str
    config: dict  # ``Config.model_dump()`` with the seed (and threads) set
    run_dir: str
    resume: bool


@dataclass
class ExperimentResult:
    report: Path | None  # index.html, None when every run failed
    summary: dict = field(default_factory=dict)  # the report's summary.json
    failed: dict[str, str] = field(default_factory=dict)  # run directory → error
    runs: int = 0


def temperature_baseline(
    cfg: Config, task: Task, policy: Policy, temps: list[float], path: Path, log=print
) -> list[dict] | None:
    """The initial policy's held-out metrics at each temperature (cached in ``path``)."""
    if not temps:
        return None
    if path.exists():
        return read_baseline(path)
    device = resolve_device(cfg.trainer.device)
    policy.model.to(device)
    t = cfg.trainer
    problems = task.heldout[: t.eval_problems]
    sampling = SamplingParams.from_config(cfg.rollout)
    log(f"temperature baseline: the initial policy on {len(problems)} held-out problems × {t.eval_k} samples")
    sweep = temperature_sweep(policy, task, problems, t.eval_k, temps, sampling, device, seed=t.seed, log=log)
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_text(path, strict_json(sweep, indent=1))
    return sweep


def plan_runs(configs: dict[str, Config], seeds: int, out: Path, jobs: int) -> list[RunSpec]:
    """One ``RunSpec`` per method and seed (``out/<method>/seed<N>``). A finished or stopped run
    resumes from its last checkpoint; steps logged without one cannot be resumed, so such a run
    starts over."""
    specs = []
    for method, cfg in configs.items():
        for s in range(seeds):
            data = cfg.model_dump()
            data["trainer"]["seed"] = cfg.trainer.seed + s
            if jobs > 1:
                data["trainer"]["threads"] = 1  # one core per run
            run_dir = out / method / f"seed{s}"
            resume = latest_checkpoint(run_dir) is not None
            if not resume and (run_dir / "metrics.jsonl").exists():
                (run_dir / "metrics.jsonl").unlink()
            specs.append(RunSpec(method, data, str(run_dir), resume))
    return specs


# Seconds between two progress lines while runs train in parallel.
PROGRESS_EVERY = 20.0


def last_step(run_dir: str | Path) -> int:
    """The last step a run has logged (-1 for none): the last complete line of its metrics.jsonl."""
    try:
        with open(Path(run_dir) / "metrics.jsonl", "rb") as f:
            f.seek(max(0, f.seek(0, os.SEEK_END) - 65536))
            lines = f.read().split(b"\n")[:-1]  # the part after the last newline may be torn
        return int(json.loads(lines[-1])["step"]) if lines else -1
    except (OSError, ValueError, KeyError, TypeError, IndexError):
        return -1


def progress_line(specs: list[RunSpec], done: set[str], started: float) -> str:
    """One line: runs finished, each running run's step, and the time left at the rate so far."""
    total = sum(s.config["trainer"]["steps"] for s in specs)
    steps = {s.run_dir: (s.config["trainer"]["steps"] if s.run_dir in done else last_step(s.run_dir) + 1) for s in specs}
    running = [
        f"{s.method}/{Path(s.run_dir).name} {steps[s.run_dir]}/{s.config['trainer']['steps']}"
        for s in specs
        if s.run_dir not in done and steps[s.run_dir] > 0
    ]
    now = sum(steps.values())
    left = (time.time() - started) * (total - now) / now if now else float("nan")
    eta = f"about {left / 60:.1f} min left" if left == left else "time left not known yet"
    return f"  {len(done)}/{len(specs)} runs done; {', '.join(running) or 'starting'}; {eta}"


def train_one(spec: RunSpec, quiet: bool = True) -> str | None:
    """Train one run; None, or the error that stopped it (its directory keeps the last completed
    step, so a rerun of the same experiment resumes it)."""
    try:
        train(Config(**spec.config), spec.run_dir, resume=spec.resume, quiet=quiet)
    except Exception as e:  # one broken run must not take the others' report with it
        return f"{type(e).__name__}: {e}"
    return None


def run_experiment(
    base: Config,
    methods: list[str],
    seeds: int,
    out: Path,
    jobs: int = 0,
    temperatures: list[float] | None = None,
    log: Callable[[str], None] = print,
    on_done: Callable[[RunSpec, str | None], None] | None = None,
    overrides: list[str] | None = None,
    progress: bool = False,
) -> ExperimentResult:
    """Train ``methods`` × ``seeds`` from ``base`` (each method's settings from ``Config.for_method``,
    with ``overrides``, the command line's ``--set``, applied last) and write the report to
    ``out/report``. ``on_done(spec, error)`` is called as each run ends. With ``progress`` and one
    job, each run shows its own progress bar (runs in parallel would draw over each other)."""
    configs = {m: base.for_method(m, overrides) for m in methods}
    task = make_task(base.task)
    # Build the (shared, cached) tiny model once, before the runs start in parallel.
    policy = load_policy(base.model, task, seed=base.trainer.seed, log=log)
    baseline = temperature_baseline(
        base, task, policy, temperatures or [], out / "baseline_temperature.json", log
    )
    del policy
    jobs = jobs or os.cpu_count() or 1
    specs = plan_runs(configs, seeds, out, jobs)
    log(f"{len(specs)} runs ({', '.join(methods)} × {seeds} seeds), {jobs} at a time")
    result = ExperimentResult(report=None, runs=len(specs))

    def finished(spec: RunSpec, error: str | None) -> None:
        if error is not None:
            result.failed[spec.run_dir] = error
        if on_done is not None:
            on_done(spec, error)

    if jobs > 1:
        with ProcessPoolExecutor(max_workers=jobs, mp_context=mp.get_context("spawn")) as pool:
            futures = {pool.submit(train_one, spec): spec for spec in specs}
            pending, ended, started = set(futures), set(), time.time()
            while pending:  # as each run ends, whatever its place; a progress line in between
                completed, pending = wait(pending, timeout=PROGRESS_EVERY, return_when=FIRST_COMPLETED)
                for future in completed:
                    ended.add(futures[future].run_dir)
                    finished(futures[future], future.result())
                if progress and pending:
                    log(progress_line(specs, ended, started))
    else:
        for i, spec in enumerate(specs):
            if progress:
                log(f"run {i + 1}/{len(specs)}: {spec.method}, seed {spec.config['trainer']['seed']} → {spec.run_dir}")
            finished(spec, train_one(spec, quiet=not progress))
    done = [s.run_dir for s in specs if s.run_dir not in result.failed]
    if done:
        result.report = write_report(done, out / "report", baseline=baseline)
        result.summary = read_json(result.report.parent / "summary.json")
        result.summary["methods"] = read_aggregate(result.summary["methods"])
    return result
