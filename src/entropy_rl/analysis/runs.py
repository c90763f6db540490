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

from entropy_rl.files import read_metrics


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
        ev, drivers, initial = (
            path / "eval" / "summary.json",
            path / "token_drivers.json",
            path / "initial_eval.json",
        )
        return Run(
            path,
            method,
            rows,
            json.loads(ev.read_text()) if ev.exists() else None,
            token_drivers=json.loads(drivers.read_text()) if drivers.exists() else None,
            initial_eval=json.loads(initial.read_text()) if initial.exists() else None,
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
        token_drivers=json.loads(drivers.read_text()) if drivers.exists() else None,
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
    history = json.loads(state_file.read_text()).get("log_history", [])
    return [
        {k.removeprefix("entropy_rl/"): v for k, v in row.items()}
        for row in history
        if "entropy" in row and "step" in row
    ]


# verl's validation accuracy: val-core/<data source>/acc/mean@<n> (one key per data source).
_VERL_VAL_ACC = re.compile(r"val-core/.+/acc/mean@\d+")


def rows_from_verl_log(log_file: Path) -> list[dict]:
    """The rows of verl's ``file`` logger (``{"step": s, "data": {metric: value}}`` per line,
    ``verl.utils.tracking.FileLogger``), read like ``metrics.jsonl`` rows: every metric under its
    own name, the verl plug-in's ``entropy_rl/`` prefix removed, and ``entropy`` =
    ``actor/entropy``, ``reward`` = ``critic/score/mean`` (the training score),
    ``eval_accuracy`` = the mean over data sources of ``val-core/<source>/acc/mean@<n>``."""
    rows = []
    for n, line in enumerate(log_file.read_text().splitlines(), 1):
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
