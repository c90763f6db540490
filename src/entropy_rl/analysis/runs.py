"""Runs: an entropy-rl run directory, or another engine's log read by ``analysis.readers``, all as
rows like ``metrics.jsonl``'s.

Runs are grouped by method: a run directory named ``seed<N>`` belongs to the method named by its
parent (the layout ``entropy-rl compare`` writes); any other run is its own group.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from entropy_rl.analysis.readers import drop_non_finite, read_log, trainer_state_file
from entropy_rl.files import CheckpointError, finite, read_json, read_metrics, real


@dataclass
class Run:
    path: Path
    method: str
    rows: list[dict]
    eval: dict | None = None  # an `entropy-rl eval` summary, when one was saved in the run dir
    performance_key: str = "eval_accuracy"
    """The performance the entropy law is fitted on by default (TRL runs log only ``reward``)."""
    token_drivers: dict | None = None  # the trainer's token_drivers.json, when the run has one
    initial_eval: dict | None = None
    """The initial policy's held-out metrics before any update (the trainer's initial_eval.json)."""
    source: str = "entropy-rl"
    """The log's format (``analysis.readers``): ``entropy-rl``, ``verl-console``, ``trl-trainer-state``..."""
    keys: dict = field(default_factory=dict)
    """For another engine's log: ``entropy``/``reward``/``eval_accuracy`` -> the logged key(s)."""
    notes: list = field(default_factory=list)

    def series(self, key: str) -> tuple[np.ndarray, np.ndarray]:
        """(steps, values) where the key is present and not null."""
        pts = [(r["step"], r[key]) for r in self.rows if r.get(key) is not None]
        if not pts:
            return np.array([]), np.array([])
        s, v = zip(*pts, strict=True)
        return np.array(s, dtype=float), np.array(v, dtype=float)


def method_of(path: str | Path) -> str:
    """The method a run belongs to: its parent's name for a ``seed<N>`` directory (the layout
    ``compare`` and ``sweep`` write), else its own name."""
    path = Path(path)
    return path.parent.name if re.fullmatch(r"seed\d+", path.name) else path.name


def load_run(path: str | Path, entropy_key: str | None = None, perf_key: str | None = None) -> Run:
    """An entropy-rl run (``metrics.jsonl``), or any log ``analysis.readers`` reads: a TRL output
    directory or ``trainer_state.json``, verl's console or file-logger JSONL, a W&B run folder or
    CSV export, TensorBoard events. ``entropy_key``/``perf_key`` override the key detection."""
    path = Path(path)
    method = method_of(path)
    mfile = path / "metrics.jsonl"
    if path.is_dir() and mfile.exists():
        rows = read_metrics(path)  # a torn last line (a run still writing, or killed) is dropped
        if not rows:
            raise CheckpointError(f"{mfile} holds no metrics rows")
        dropped = drop_non_finite(rows)
        ev, drivers, initial = (
            path / "eval" / "summary.json",
            path / "token_drivers.json",
            path / "initial_eval.json",
        )
        return Run(
            path,
            method,
            rows,
            read_flat_json(ev) if ev.exists() else None,
            token_drivers=read_token_drivers(drivers) if drivers.exists() else None,
            initial_eval=read_flat_json(initial) if initial.exists() else None,
            notes=[dropped] if dropped else [],
        )
    log = read_log(path, entropy_key=entropy_key, perf_key=perf_key)
    state = trainer_state_file(path) if path.is_dir() else None
    drivers = state.parent / "token_drivers.json" if state else None  # the TRL plug-in's, per checkpoint
    return Run(
        path,
        method if path.is_dir() else path.stem,
        log.rows,
        performance_key=perf_key or log.performance_key,
        token_drivers=read_token_drivers(drivers) if drivers and drivers.exists() else None,
        source=log.source,
        keys=log.keys,
        notes=log.notes,
    )


def read_flat_json(path: Path) -> dict:
    """A JSON object of numbers, nulls and short strings (``initial_eval.json``, an eval's
    ``summary.json``); anything else is a one-line ``CheckpointError`` naming the file and field."""
    data = read_json(path)
    if not isinstance(data, dict):
        raise CheckpointError(f"{path} is not a JSON object")
    for k, v in data.items():
        if len(k) > 200:
            raise CheckpointError(f"{path}: a field name of {len(k)} characters")
        if not (v is None or real(v) or (isinstance(v, str) and len(v) <= 1000)):
            raise CheckpointError(f"{path}: field `{k[:80]}` is not a number ({repr(v)[:60]})")
    return data


_DRIVER_FIELDS = {"count": int, "covariance_sum": float, "mean_entropy": float}


def read_token_drivers(path: Path) -> dict:
    """A run's ``token_drivers.json`` (``core.dynamics.token_drivers``), checked field by field."""
    data = read_json(path)
    top = data.get("top") if isinstance(data, dict) else None
    if not isinstance(top, list) or not finite(data.get("covariance_total")):
        raise CheckpointError(f"{path}: not a token_drivers file (`covariance_total`, `top`)")
    for i, row in enumerate(top):
        if not isinstance(row, dict) or not isinstance(row.get("token"), str) or len(row["token"]) > 200:
            raise CheckpointError(f"{path}: top[{i}] has no token text")
        for name in _DRIVER_FIELDS:
            if not finite(row.get(name)):
                raise CheckpointError(f"{path}: top[{i}].{name} is not a number ({repr(row.get(name))[:40]})")
        if row.get("covariance_share") is not None and not finite(row["covariance_share"]):
            raise CheckpointError(f"{path}: top[{i}].covariance_share is not a number")
    return data


def read_baseline(path: Path) -> list[dict]:
    """A temperature sweep (``baseline_temperature.json``, ``temperature_sweep.json``): a list of
    rows of numbers with ``temperature``, ``entropy`` and ``accuracy``."""
    data = read_json(path)
    if not isinstance(data, list) or not data:
        raise CheckpointError(f"{path} is not a list of temperature rows")
    for i, row in enumerate(data):
        if not isinstance(row, dict):
            raise CheckpointError(f"{path}: row {i} is not an object")
        for k in ("temperature", "entropy", "accuracy"):
            if not finite(row.get(k)):
                raise CheckpointError(f"{path}: row {i} field `{k}` is not a number ({repr(row.get(k))[:40]})")
        for k, v in row.items():
            if not real(v) and v is not None:
                raise CheckpointError(f"{path}: row {i} field `{str(k)[:80]}` is not a number")
    return data
