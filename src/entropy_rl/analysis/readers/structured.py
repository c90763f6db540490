"""JSON logs: verl's file-logger JSONL, flat JSONL metrics, TRL's ``trainer_state.json`` and its
``log_history`` saved alone."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

from entropy_rl.analysis.readers.base import (
    LogFormatError,
    _merge,
    _num,
    step_number,
)
from entropy_rl.files import (
    check_row,
    read_json,
)


def read_jsonl(path: Path, text: str, complete_only: bool = False) -> tuple[str, list[dict], list[str]]:
    """A JSONL log: verl's ``file`` logger (``{"step": s, "data": {metric: value}}`` per line,
    ``verl.utils.tracking.FileLogger``; the verl plug-in's ``entropy_rl/`` prefix removed), or,
    when its first line has no ``data``, flat rows with a ``step`` (``_step``, ``global_step``),
    e.g. an entropy-rl ``metrics.jsonl`` given as a file. The first line decides; every line must
    then be of that kind. Lines are read one at a time."""
    if complete_only or not text.endswith("\n"):
        cut = text.rfind("\n") + 1  # after the last newline: empty, or a line still being written
        if complete_only or not text[cut:].strip():
            text = text[:cut]
    kind: list[bool] = []  # [verl?], set by the first line
    notes: list[str] = []
    rows = _merge(path, "jsonl", _jsonl_rows(path, text, kind), notes)
    return ("verl-jsonl" if not kind or kind[0] else "jsonl"), rows, notes


def _jsonl_rows(path: Path, text: str, kind: list[bool]) -> Iterator[tuple[int, dict]]:
    pos, n = 0, 0
    while pos < len(text):
        end = text.find("\n", pos)
        end = len(text) if end < 0 else end
        line, pos, n = text[pos:end], end + 1, n + 1
        if not line.strip():
            continue
        verl = kind[0] if kind else None
        try:
            record = json.loads(line)
            if not isinstance(record, dict):
                raise TypeError(f"a JSON {type(record).__name__}, not an object")
            if verl is None:
                verl = "data" in record
                kind.append(verl)
            if verl:
                step, data = record["step"], record["data"]
                if not isinstance(data, dict):
                    raise TypeError(f"`data` is a JSON {type(data).__name__}, not an object")
            else:
                key = next(k for k in ("step", "_step", "global_step") if k in record)
                step, data = record[key], {k: v for k, v in record.items() if _num(v) and k != key}
            step = step_number(step, f"{path}:{n}")
        except (ValueError, KeyError, TypeError, StopIteration, RecursionError) as e:
            if isinstance(e, LogFormatError):
                raise
            shape = '{"step": ..., "data": {...}}' if verl else '{"step": ..., "metric": value, ...}'
            what = "verl file-logger" if verl else "JSONL metrics"
            why = "nested too deeply" if isinstance(e, RecursionError) else str(e)[:80]
            raise LogFormatError(f"{path}:{n}: not a {what} line ({shape}): {why}") from None
        row = {k.removeprefix("entropy_rl/"): v for k, v in data.items()}
        check_row(path, n, row)
        yield step, row


def trainer_state_file(path: Path) -> Path | None:
    """``path/trainer_state.json``, else the one in the highest-numbered ``checkpoint-N``."""
    if (path / "trainer_state.json").exists():
        return path / "trainer_state.json"
    steps = {p: p.parent.name.removeprefix("checkpoint-") for p in path.glob("checkpoint-*/trainer_state.json")}
    numbered = [p for p, n in steps.items() if n.isdigit()]
    return max(numbered, key=lambda p: int(steps[p]), default=None)


def read_trainer_state(path: Path) -> tuple[str, list[dict], list[str]]:
    """A transformers ``trainer_state.json``'s ``log_history``, or that list dumped alone (a JSON
    list of TRL rows, source ``trl-log-history``): training and evaluation rows merged by step,
    the TRL plug-in's ``entropy_rl/`` prefix removed."""
    state = read_json(path)
    bare = isinstance(state, list)
    history = state if bare else state.get("log_history") if isinstance(state, dict) else None
    what = "the JSON list" if bare else "`log_history`"
    if not isinstance(history, list) or not all(isinstance(r, dict) for r in history):
        raise LogFormatError(
            f"{path}: {what} is not a list of rows (a trainer_state.json, or its log_history alone)"
        )
    found = []
    name = "" if bare else "log_history"
    for i, row in enumerate(history):
        if "step" not in row or "train_runtime" in row:
            continue
        step = step_number(row["step"], f"{path}: {name}[{i}]")
        row = {k.removeprefix("entropy_rl/"): v for k, v in row.items() if k != "step"}
        check_row(path, f"{name}[{i}]", row)
        found.append((step, row))
    source = "trl-log-history" if bare else "trl-trainer-state"
    notes: list[str] = []
    return source, _merge(path, source, found, notes), notes
