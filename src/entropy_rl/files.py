"""File helpers every layer may use: atomic text writes, reading a run's ``metrics.jsonl``, and
loading ``.pt`` files without ever running code from them."""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any


class CheckpointError(ValueError):
    """A checkpoint or run-directory file cannot be used; the message names it."""


def atomic_write_text(path: Path, text: str) -> None:
    """Write a text file so that readers see the old or the new content, never a partial one."""
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text)
    os.replace(tmp, path)


def safe_load(path: Path, hint: str = "") -> Any:
    """``torch.load`` that never runs code from the file; an unreadable file is a one-line
    ``CheckpointError`` naming it (and ``hint``, e.g. what else can be used)."""
    import torch  # here, so that the readers above stay light for `fit` and `report`

    try:
        return torch.load(path, weights_only=True, map_location="cpu")
    except FileNotFoundError:
        raise CheckpointError(f"{path} is missing{hint}") from None
    except Exception as e:  # the unpickler refuses globals; corrupt files fail in many ways
        reason = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        if "weights_only" in str(e) or "Unsupported global" in str(e):
            reason = "it holds Python objects other than tensors and plain values, which are never loaded"
        raise CheckpointError(f"{path} cannot be read safely: {reason[:200]}{hint}") from None


def read_metrics(run_dir: str | Path, log: Callable[..., None] | None = None) -> list[dict]:
    """The rows of ``RUN_DIR/metrics.jsonl``. A torn last line (a crash while writing it) is
    dropped, and said so through ``log``; a bad line elsewhere is a ``CheckpointError`` naming it."""
    path = Path(run_dir) / "metrics.jsonl"
    lines = path.read_text(errors="replace").splitlines()
    rows = []
    for n, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
            if not isinstance(row, dict) or not isinstance(row.get("step"), int):
                raise ValueError("not a metrics row with an integer `step`")
        except (ValueError, RecursionError) as e:
            if n == len(lines):
                if log is not None:
                    log(f"{path}:{n}: dropped an incomplete last line (the run stopped while writing it)")
                break
            raise CheckpointError(f"{path}:{n}: not a metrics row ({str(e)[:100]})") from None
        rows.append(row)
    return rows
