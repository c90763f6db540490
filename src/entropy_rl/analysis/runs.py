"""Run readers: an entropy-rl run directory, a TRL/transformers output directory, or verl's
``file`` logger JSONL, all read as rows like ``metrics.jsonl``'s.

Runs are grouped by method: a run directory named ``seed<N>`` belongs to the method named by its
parent (the layout ``entropy-rl compare`` writes); any other run is its own group.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from entropy_rl.files import CheckpointError, check_row, finite, read_json, read_metrics, read_text, real


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

    def series(self, key: str) -> tuple[np.ndarray, np.ndarray]:
        """(steps, values) where the key is present and not null."""
        pts = [(r["step"], r[key]) for r in self.rows if r.get(key) is not None]
        if not pts:
            return np.array([]), np.array([])
        s, v = zip(*pts, strict=True)
        return np.array(s, dtype=float), np.array(v, dtype=float)


def load_run(path: str | Path) -> Run:
    """An entropy-rl run (``metrics.jsonl``), a TRL/transformers output directory
    (``trainer_state.json``, else that of its latest ``checkpoint-N``), or the JSONL file of
    verl's ``file`` logger (``trainer.logger=[console,file]``)."""
    path = Path(path)
    if path.is_file() and path.suffix == ".jsonl":
        rows = rows_from_verl_log(path)
        perf = "eval_accuracy" if any("eval_accuracy" in r for r in rows) else "reward"
        return Run(path, path.stem, rows, performance_key=perf)
    mfile = path / "metrics.jsonl"
    method = path.parent.name if re.fullmatch(r"seed\d+", path.name) else path.name
    if mfile.exists():
        rows = read_metrics(path)  # a torn last line (a run still writing, or killed) is dropped
        if not rows:
            raise CheckpointError(f"{mfile} holds no metrics rows")
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
        )
    state = trainer_state_file(path)
    if state is None:
        raise FileNotFoundError(
            f"{path} has no metrics.jsonl (an entropy-rl run) nor trainer_state.json (a TRL run), "
            "and is not a verl file-logger .jsonl"
        )
    drivers = state.parent / "token_drivers.json"  # the TRL plug-in writes it in each checkpoint
    return Run(
        path,
        method,
        rows_from_trainer_state(state),
        performance_key="reward",
        token_drivers=read_token_drivers(drivers) if drivers.exists() else None,
    )


def trainer_state_file(path: Path) -> Path | None:
    """``path/trainer_state.json``, else the one in the highest-numbered ``checkpoint-N``."""
    if (path / "trainer_state.json").exists():
        return path / "trainer_state.json"
    steps = {
        p: p.parent.name.removeprefix("checkpoint-") for p in path.glob("checkpoint-*/trainer_state.json")
    }
    numbered = [p for p, n in steps.items() if n.isdigit()]
    return max(numbered, key=lambda p: int(steps[p]), default=None)


def rows_from_trainer_state(state_file: Path) -> list[dict]:
    """The training log rows of a transformers ``trainer_state.json`` that carry ``entropy``, with
    the TRL plug-in's ``entropy_rl/`` prefix removed so they read like ``metrics.jsonl`` rows."""
    state = read_json(state_file)
    history = state.get("log_history") if isinstance(state, dict) else None
    if not isinstance(history, list) or not all(isinstance(r, dict) for r in history):
        raise CheckpointError(f"{state_file}: `log_history` is not a list of rows")
    rows = [
        {k.removeprefix("entropy_rl/"): v for k, v in row.items()}
        for row in history
        if "entropy" in row and "step" in row
    ]
    for i, row in enumerate(rows):
        check_row(state_file, f"log_history[{i}]", row)
        if type(row["step"]) is not int:
            raise CheckpointError(f"{state_file}: log_history[{i}].step is not an integer")
    return rows


# verl's validation accuracy: val-core/<data source>/acc/mean@<n> (one key per data source).
_VERL_VAL_ACC = re.compile(r"val-core/.+/acc/mean@\d+")


def rows_from_verl_log(log_file: Path) -> list[dict]:
    """The rows of verl's ``file`` logger (``{"step": s, "data": {metric: value}}`` per line,
    ``verl.utils.tracking.FileLogger``), read like ``metrics.jsonl`` rows: every metric under its
    own name, the verl plug-in's ``entropy_rl/`` prefix removed, and ``entropy`` =
    ``actor/entropy``, ``reward`` = ``critic/score/mean`` (the training score),
    ``eval_accuracy`` = the mean over data sources of ``val-core/<source>/acc/mean@<n>``."""
    rows = []
    for n, line in enumerate(read_text(log_file).splitlines(), 1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
            step, data = int(record["step"]), dict(record["data"])
        except (ValueError, KeyError, TypeError) as e:
            raise ValueError(
                f'{log_file}:{n}: not a verl file-logger line ({{"step": ..., "data": {{...}}}}): {e}'
            ) from None
        row = {k.removeprefix("entropy_rl/"): v for k, v in data.items()}
        check_row(log_file, n, row)
        row["step"] = step
        if "actor/entropy" in data:
            row["entropy"] = data["actor/entropy"]
        if "critic/score/mean" in data:
            row["reward"] = data["critic/score/mean"]
        accs = [v for k, v in data.items() if _VERL_VAL_ACC.fullmatch(k) and v is not None]  # NaN → null
        if accs:
            row["eval_accuracy"] = float(np.mean(accs))
        rows.append(row)
    return rows


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
