"""File helpers every layer may use: atomic text writes, and loading ``.pt`` files without ever
running code from them."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import torch


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
    try:
        return torch.load(path, weights_only=True, map_location="cpu")
    except FileNotFoundError:
        raise CheckpointError(f"{path} is missing{hint}") from None
    except Exception as e:  # the unpickler refuses globals; corrupt files fail in many ways
        reason = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        if "weights_only" in str(e) or "Unsupported global" in str(e):
            reason = "it holds Python objects other than tensors and plain values, which are never loaded"
        raise CheckpointError(f"{path} cannot be read safely: {reason[:200]}{hint}") from None
