"""Following a log that is still being written (``entropy-rl watch``): re-read it when it grows
(a last line still being written is left for the next read), sum up where the run stands, and
raise each warning once: entropy below a fraction of its start, or the forecast ceiling no
longer rising."""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from entropy_rl.analysis.readers import Log, read_log
from entropy_rl.core.forecast import naive_value
from entropy_rl.core.law import EntropyLaw, Forecast, fit_entropy_law, forecast
from entropy_rl.files import MAX_TEXT_BYTES

# Evaluations over which the law's ceiling must rise, else "stops rising" is raised.
FLAT_EVALS = 3
# Points at each end of the entropy series whose median stands for its start and its present.
ENDS = 3


@dataclass
class Status:
    source: str
    step: int
    rows: int
    perf_key: str
    entropy_start: float | None = None
    entropy_now: float | None = None
    perf_now: float | None = None
    law: EntropyLaw | None = None
    forecast: Forecast | None = None
    naive: float | None = None
    """The naive forecast (the mean of the last 3 scores), the baseline every forecaster is judged by."""
    default: dict | None = None
    """The backtest's default forecaster at the run's end (``analysis.backtest.calibrated_prediction``:
    value, 90 % interval calibrated at the nearest cutoff, ``calibrated_at``) and its ``name``;
    needs the run's length (``total_steps``)."""
    horizon: str = ""
    waiting: str | None = None  # why there is nothing (yet) to show


def status_of(log: Log, perf_key: str | None = None, total_steps: int | None = None) -> Status:
    """Where a run stands: entropy now against its start (medians of the first and last
    ``ENDS`` points), the last performance, the law on all points so far and the forecast at
    ``total_steps`` (else at the fitted entropy floor, the run's end if it went on long enough)."""
    key = perf_key or log.performance_key
    rows = log.rows
    st = Status(log.source, rows[-1]["step"], len(rows), key)
    hs = np.array([r["step"] for r in rows if r.get("entropy") is not None], dtype=float)
    h = np.array([r["entropy"] for r in rows if r.get("entropy") is not None], dtype=float)
    if h.size:
        st.entropy_start, st.entropy_now = float(np.median(h[:ENDS])), float(np.median(h[-ENDS:]))
    perf = [r[key] for r in rows if r.get(key) is not None]
    st.perf_now = float(perf[-1]) if perf else None
    st.naive = naive_value(perf) if perf else None
    if perf and total_steps and h.size:
        st.default = _default_forecast(rows, key, hs, h, total_steps)
    pts = [(r["step"], r["entropy"], r[key]) for r in rows if r.get("entropy") is not None and r.get(key) is not None]
    if len(pts) < 2 or h.size < 3:
        st.waiting = f"{len(pts)} steps with both entropy and {key}, {h.size} with entropy"
        return st
    ps, ph, pr = (np.array(x, dtype=float) for x in zip(*pts, strict=True))
    try:
        st.law = fit_entropy_law(ph, pr)
    except ValueError as e:
        st.waiting = str(e)
        return st
    horizon = float(total_steps) if total_steps else 1e12
    st.horizon = f"step {total_steps}" if total_steps else "the entropy's fitted floor"
    st.forecast = forecast(hs, h, ps, ph, pr, cutoff=hs[-1], horizon=max(horizon, hs[-1]), n_boot=200)
    return st


def _default_forecast(rows, key: str, hs, h, total_steps: int) -> dict:
    """The backtest's default forecaster at step ``total_steps``, from the run so far, with its
    interval calibrated at the nearest cutoff fraction."""
    from entropy_rl.analysis.backtest import calibrated_prediction, packaged_calibration
    from entropy_rl.core.forecast import make_prefix

    pts = [(r["step"], r.get("entropy"), r[key]) for r in rows if r.get(key) is not None]
    p_steps = np.array([p[0] for p in pts], dtype=float)
    p_entropy = np.array([np.nan if p[1] is None else p[1] for p in pts], dtype=float)
    scores = np.array([p[2] for p in pts], dtype=float)
    step0, last = float(hs[0]), float(rows[-1]["step"])
    fraction = min(max((last - step0) / max(float(total_steps) - step0, 1.0), 0.0), 1.0)
    prefix = make_prefix(hs, h, p_steps, p_entropy, scores, cutoff=last, horizon=float(total_steps))
    cal = packaged_calibration() or {}
    name = (cal.get("default") or {}).get("forecaster", "naive")
    return {"name": name, "at": int(total_steps), **calibrated_prediction(name, prefix, fraction, cal)}


@dataclass
class Alarms:
    """Each warning once: entropy below ``fraction`` of its start; the law's ceiling not risen over
    the last ``FLAT_EVALS`` evaluations."""

    fraction: float = 0.3
    raised: set[str] = field(default_factory=set)
    ceilings: list[tuple[int, float]] = field(default_factory=list)  # (law points, ceiling)

    def update(self, st: Status) -> list[str]:
        out = []
        if (
            "entropy" not in self.raised
            and st.entropy_start
            and st.entropy_now is not None
            and st.entropy_now < self.fraction * st.entropy_start
        ):
            self.raised.add("entropy")
            out.append(
                f"entropy {st.entropy_now:.4g} at step {st.step} is below {self.fraction:g} × its start "
                f"({st.entropy_start:.4g}): the policy is collapsing"
            )
        if st.law is not None and (not self.ceilings or self.ceilings[-1][0] != st.law.n):
            self.ceilings.append((st.law.n, st.law.ceiling))
        c = [v for _, v in self.ceilings]
        if "ceiling" not in self.raised and len(c) > FLAT_EVALS and max(c[-FLAT_EVALS:]) <= c[-FLAT_EVALS - 1]:
            self.raised.add("ceiling")
            out.append(
                f"the law's ceiling has not risen over the last {FLAT_EVALS} evaluations "
                f"({c[-FLAT_EVALS - 1]:.4g} → {c[-1]:.4g}, step {st.step}): more steps may not buy more"
            )
        return out


def follow(
    path: Path,
    interval: float = 5.0,
    idle_exit: float | None = None,
    entropy_key: str | None = None,
    perf_key: str | None = None,
    total_steps: int | None = None,
    sleep: Callable[[float], None] | None = None,
) -> Iterator[Status | str]:
    """Yield a ``Status`` each time the log has grown (or a line saying why it cannot be read
    yet: a missing file, a log with no step yet); stop after ``idle_exit`` seconds without growth.
    Whatever the log holds, the watch goes on: a read or a fit that fails is said in one line
    (``waiting:`` before any status, ``skipped:`` after one, with the last status's step), and the
    next growth is read again. A log past the size bound is said once, and the watch then only
    waits for ``idle_exit``."""
    last_size, last_change, said, last_step = -1, time.monotonic(), None, None
    while True:
        size = _size(path)
        if size != last_size:
            last_size, last_change = size, time.monotonic()
            try:
                if size > MAX_TEXT_BYTES and path.is_file():
                    raise ValueError(
                        f"{path} has grown past the {MAX_TEXT_BYTES // 2**20} MiB a log may hold (docs/safety.md): "
                        "no longer read; `fit` a shorter log, or split it"
                    )
                log = read_log(path, entropy_key=entropy_key, perf_key=perf_key, complete_only=True)
                st = status_of(log, perf_key, total_steps)
                said, last_step = None, st.step
                yield st
            except Exception as e:  # not there yet, no complete row yet, or a log no reader takes
                msg = " ".join(str(e).split())[:200] or type(e).__name__
                line = f"waiting: {msg}" if last_step is None else f"skipped: {msg} (last status: step {last_step})"
                if line != said:
                    said = line
                    yield line
        elif idle_exit is not None and time.monotonic() - last_change > idle_exit:
            return
        (sleep or time.sleep)(interval)


def _size(path: Path) -> int:
    """The log's size (a folder: the sum over its files); -2 when it is not there."""
    try:
        if path.is_dir():
            return sum(os.stat(p).st_size for p in path.rglob("*") if p.is_file())
        return os.stat(path).st_size
    except OSError:
        return -2
