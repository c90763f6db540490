"""Shared by every reader: the `Log`, its added columns (entropy, reward, held-out score), the
keys they come from, numbers and steps as read, and rows merged by step."""

from __future__ import annotations

import math
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from entropy_rl.files import (
    CheckpointError,
    finite,
)


class LogFormatError(CheckpointError):
    """A file no reader recognises, or one a reader cannot use (one line, naming the file)."""


@dataclass
class Log:
    source: str
    """The detected format, e.g. ``verl-console``, ``trl-trainer-state``, ``wandb-csv``."""
    rows: list[dict]
    keys: dict[str, str] = field(default_factory=dict)
    """Added column -> the logged key(s) it was taken from (``eval_accuracy`` may be a mean)."""
    notes: list[str] = field(default_factory=list)
    """What the reader did that a user should know (repeated steps replaced, steps numbered by row)."""

    @property
    def performance_key(self) -> str:
        """The held-out score where some step has it with an entropy, else the training score."""
        paired = any(r.get("eval_accuracy") is not None and r.get("entropy") is not None for r in self.rows)
        return "eval_accuracy" if paired else "reward"


# ---------------------------------------------------------------------------------------------
# key names

# Entropy of the policy on the training batch, most specific first. verl logged it as
# `actor/entropy_loss` until mid-2025; OpenRLHF's `entropy_loss` holds the entropy too.
ENTROPY_KEYS = (
    "actor/entropy",
    "actor/entropy_loss",
    "entropy",
    "train/entropy",
    "policy_entropy",
    "train/policy_entropy",
    "entropy_loss",
    "train/entropy_loss",
)
# Training score: verl, TRL (console and trainer_state), TRL through W&B/TensorBoard, OpenRLHF.
REWARD_KEYS = ("critic/score/mean", "reward", "train/reward", "train/reward_mean")

# Held-out score families, preferred first; each pattern's group 1 is the data source.
_VAL_FAMILIES = (
    ("val-core", re.compile(r"val-core/(.+)/(?:acc|reward|score)/mean@(\d{1,9})")),
    ("val-aux score", re.compile(r"val-aux/(.+)/score/mean@(\d{1,9})")),
    ("val-aux reward", re.compile(r"val-aux/(.+)/reward/mean@(\d{1,9})")),
    ("val/test_score", re.compile(r"val/test_score/(.+)()")),
    ("TRL eval", re.compile(r"(?:eval_|eval/)(reward)()")),
    ("OpenRLHF eval", re.compile(r"eval/(?:(.+)_)?pass1()")),
)
# Keys of supervised fine-tuning logs: a log with these and entropy but no reward is not RL.
_SFT_KEYS = ("mean_token_accuracy", "train/mean_token_accuracy")


def normalise(
    source: str,
    rows: list[dict],
    path: Path,
    entropy_key: str | None = None,
    perf_key: str | None = None,
    notes: list[str] | None = None,
) -> Log:
    """Add ``entropy``, ``reward`` and ``eval_accuracy`` to raw rows (sorted by step) and say where
    each came from. ``entropy_key``/``perf_key`` override the detection; a log with entropy but no
    reward nor held-out score (an SFT log) is a one-line error, as is one without entropy."""
    keys: dict[str, str] = {}
    notes = list(notes or [])
    dropped = drop_non_finite(rows)
    if dropped:
        notes.append(dropped)
    seen = set().union(*(r.keys() for r in rows)) if rows else set()
    if entropy_key is not None and entropy_key not in seen:
        raise LogFormatError(f"{path}: no `{entropy_key[:80]}` in any row ({_some(seen)})")
    ekey = entropy_key or next((k for k in ENTROPY_KEYS if k in seen), None)
    if ekey is None:
        raise LogFormatError(f"{path} ({source}): no entropy key ({', '.join(ENTROPY_KEYS[:3])}, ...); "
                             f"name one with --entropy-key ({_some(seen)})")
    rkey = next((k for k in REWARD_KEYS if k in seen), None)
    for row in rows:
        if row.get(ekey) is not None:
            row["entropy"] = row[ekey]
        if rkey and row.get(rkey) is not None:
            row["reward"] = row[rkey]
    keys["entropy"] = ekey
    if rkey:
        keys["reward"] = rkey
    family = _validation_family(rows, seen)
    if family:
        name, fam_keys = family
        used: set[str] = set()
        for row in rows:
            vals = _family_values(row, fam_keys, used)
            if vals:
                row["eval_accuracy"] = float(np.mean(vals))
        keys["eval_accuracy"] = ", ".join(sorted(used)) if len(used) <= 3 else f"{name} ({len(used)} keys)"
    if perf_key is not None:
        if perf_key not in seen and perf_key not in keys:
            raise LogFormatError(f"{path}: no `{perf_key[:80]}` in any row ({_some(seen)})")
    elif "reward" not in keys and "eval_accuracy" not in keys:
        sft = " (an SFT log: it has " + next(k for k in _SFT_KEYS if k in seen) + ")" if seen & set(_SFT_KEYS) else ""
        raise LogFormatError(
            f"{path} ({source}) has entropy (`{ekey}`) but no reward nor validation score{sft}: "
            "the law needs RL's performance; name a key with --perf-key"
        )
    return Log(source, rows, keys, notes)


def drop_non_finite(rows: list[dict]) -> str | None:
    """Remove every value that is not a finite number from ``rows`` (verl and TRL both log NaN, e.g.
    at a step whose batch had no valid token; a run file may hold a string or a boolean where a
    number belongs), so that no fit, forecast or plot sees one; a note saying how many were
    dropped, by key, or None. ``step`` and nulls are left as they are."""
    dropped: dict[str, list[int]] = {}
    for row in rows:
        bad = [k for k, v in row.items() if v is not None and k != "step" and not finite(v)]
        for k in bad:
            del row[k]
            dropped.setdefault(k, []).append(row.get("step"))
    if not dropped:
        return None
    ranked = sorted(dropped.items(), key=lambda x: -len(x[1]))
    parts = [f"`{k[:60]}` ×{len(at)} (first at step {at[0]})" for k, at in ranked[:4]]
    more = f" and {len(dropped) - 4} more keys" if len(dropped) > 4 else ""
    total = sum(map(len, dropped.values()))
    return f"{total} values that are not finite numbers (NaN, inf, text) dropped before any fit: {', '.join(parts)}{more}"


def _validation_family(rows: list[dict], seen: set[str]) -> tuple[str, dict[str, tuple[str, int]]] | None:
    """The preferred held-out family among those logged at no fewer than half the steps of the most
    frequent one (late-2025 verl logs `val-core` at step 0 only and `val-aux` thereafter), with
    its keys: key -> (data source, N of ``mean@N``). Each key is matched once, not once a row."""
    counts = []
    for name, pattern in _VAL_FAMILIES:
        keys = {k: (m.group(1) or "", int(m.group(2) or 0)) for k in seen if (m := pattern.fullmatch(k))}
        n = sum(any(k in keys and _num(v) for k, v in r.items()) for r in rows) if keys else 0
        counts.append((name, keys, n))
    most = max(n for *_, n in counts)
    if most == 0:
        return None
    return next((name, keys) for name, keys, n in counts if n > 0 and 2 * n >= most)


def _family_values(row: dict, keys: dict[str, tuple[str, int]], used: set[str]) -> list[float]:
    """The row's values of a family: one per data source, the largest N of ``mean@N``."""
    best: dict[str, tuple[int, float, str]] = {}
    for k, v in row.items():
        if k in keys and _num(v):
            src, n = keys[k]
            if src not in best or n > best[src][0]:
                best[src] = (n, float(v), k)
    used.update(k for *_, k in best.values())
    return [v for _, v, _ in best.values()]


def _num(v) -> bool:
    return finite(v)


def _some(keys: set[str], n: int = 6) -> str:
    shown = ", ".join(sorted(k[:60] for k in keys)[:n])
    return f"keys: {shown}{', ...' if len(keys) > n else ''}" if keys else "no metric keys"


# ---------------------------------------------------------------------------------------------
# values and rows

# A logged number is never longer than this; a longer field is not a number (and no pattern ever
# sees more than this of one, so reading a value costs at most its length).
MAX_VALUE_CHARS = 100
_NUMBER = re.compile(
    r"(?:np\.(?:float|int|uint)\d*\(|numpy\.(?:float|int)\d*\(|tensor\()?\s*'?"
    r"([-+]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][-+]?\d+)?|[-+]?(?:nan|inf|infinity))'?\s*(?:,[^)]*)?\)?",
    re.IGNORECASE,
)


def parse_number(text: str) -> float | None:
    """A logged value as a float: ``0.5``, ``-1e-06``, ``np.float64(0.5)``, ``'0.375'`` (TRL
    console), ``tensor(0.5, device='cuda:0')``; None for anything else, a non-finite value or a
    field longer than ``MAX_VALUE_CHARS``."""
    text = text.strip()
    if len(text) > MAX_VALUE_CHARS:
        return None
    if text.isascii() and "_" not in text:  # a plain number: what the pattern would read, faster
        try:
            v = float(text)
            return v if math.isfinite(v) else None
        except ValueError:
            pass
    m = _NUMBER.fullmatch(text)
    if not m:
        return None
    try:
        v = float(m.group(1))
    except (ValueError, OverflowError):
        return None
    return v if math.isfinite(v) else None


MAX_STEP = 2**53  # steps are integers a float holds exactly


def step_number(value, where: str) -> int:
    """A row's step: a JSON/protobuf integer (not a boolean) in [0, 2**53); else a one-line
    ``LogFormatError`` naming ``where`` (``7.9``, ``"7"``, ``true`` and ``1e400`` are not steps)."""
    if type(value) is not int or not 0 <= value < MAX_STEP:
        raise LogFormatError(f"{where}: step `{repr(value)[:40]}` is not a step number (an integer in [0, 2**53))")
    return value


def _merge(path: Path, source: str, found: Iterable[tuple[int, dict]], notes: list[str]) -> list[dict]:
    """Rows by step, sorted. A step seen twice in a row of its own (a resumed run redoing steps)
    keeps the later value of each key; the count is noted. Rows come checked (the text readers
    give only numbers ``parse_number`` read; the JSON readers ``check_row`` each). A ``step``
    among a row's metrics (verl's ``data``, a CSV column beside ``_step``) never replaces the
    row's step: one that disagrees is dropped and noted."""
    by_step: dict[int, dict] = {}
    redone = disagree = 0
    for step, metrics in found:
        if "step" in metrics:
            if metrics.pop("step") != step:
                disagree += 1
        row = by_step.get(step)
        if row is None:  # the reader's own dict becomes the row: no copy of a long log
            metrics["step"] = step
            by_step[step] = metrics
            continue
        if set(metrics) & set(row) - {"step"}:
            redone += 1
        row.update(metrics)
    if redone:
        notes.append(f"{redone} steps logged twice (a resumed run): the later values kept")
    if disagree:
        notes.append(f"{disagree} rows carry a `step` metric that is not their step: the row's own step kept")
    if not by_step:
        raise LogFormatError(f"{path} ({source}): no metric rows")
    return [by_step[s] for s in sorted(by_step)]
