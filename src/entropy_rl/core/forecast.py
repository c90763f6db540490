"""Forecasters of a run's last score from its first part: pure functions of one ``Prefix`` (the
steps up to a cutoff: entropy, and the score with its step's entropy) that return a
``Prediction``, registered by name like the losses, so that ``fit``, ``watch``, the report and
the backtest call the same ones.

- ``naive``: the mean of the last three scores seen; the baseline every other one must beat.
- ``step_curve``: a saturating curve of score against step, no entropy (c + d·exp(−t/τ)).
- ``law``: the entropy's decay extrapolated to the horizon, then the law fitted on the prefix
  applied to it (``core.law.forecast``).
- ``law_ceiling``: the law's ceiling b − a (the score at H = 0; the paper's number).
- ``blend``: the mean of ``naive`` and ``step_curve``, untuned: a combination of two forecasts
  that fail in different ways (a curve overshoots, a level lags).

A prediction's interval is the forecaster's own (``raw``); ``analysis.backtest`` scales it on
other runs (leave-one-run-out) to the coverage it claims. Values and intervals stay within the
score's range (``core.law.metric_bounds``).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from entropy_rl.core.law import (
    bootstrap_ceiling,
    clip_to_bounds,
    exp_profile,
    fit_entropy_law,
    forecast,
    metric_bounds,
)
from entropy_rl.core.registry import Registry

# the z of a two-sided 90 % normal interval: each forecaster's raw interval, before calibration
Z90 = 1.6448536269514722
# scores seen by the naive forecast (the mean of the last few: one score is noisy)
NAIVE_LAST = 3


@dataclass(frozen=True)
class Prefix:
    """What a forecaster sees: a run up to its cutoff, and the step to forecast.

    ``h_steps``/``entropy``: every step with entropy (n_h,); ``p_steps``/``p_entropy``/``scores``:
    the steps with a score, each with its step's entropy (n_p,); all steps ≤ the cutoff."""

    h_steps: np.ndarray
    entropy: np.ndarray
    p_steps: np.ndarray
    p_entropy: np.ndarray
    scores: np.ndarray
    horizon: float
    bounds: tuple[float, float] = (-math.inf, math.inf)


@dataclass(frozen=True)
class Prediction:
    """A forecast of the score at the horizon, with the forecaster's own 90 % interval; or no
    number and the ``reason`` why."""

    value: float | None = None
    interval: tuple[float, float] | None = None
    reason: str | None = None


ForecasterFn = Callable[[Prefix], Prediction]
FORECASTERS: Registry[ForecasterFn] = Registry("forecaster")
register_forecaster = FORECASTERS.register


def make_prefix(h_steps, entropy, p_steps, p_entropy, scores, cutoff: float, horizon: float) -> Prefix:
    """The ``Prefix`` of a whole run's series at ``cutoff``; its score range read from all the
    scores the run has logged up to the cutoff."""
    hs, h = np.asarray(h_steps, float), np.asarray(entropy, float)
    ps, ph, pr = np.asarray(p_steps, float), np.asarray(p_entropy, float), np.asarray(scores, float)
    hin, pin = hs <= cutoff, ps <= cutoff
    return Prefix(hs[hin], h[hin], ps[pin], ph[pin], pr[pin], float(horizon), metric_bounds(pr[pin]))


def predict(name: str, prefix: Prefix) -> Prediction:
    """The registered forecaster ``name`` on ``prefix``, clipped to the score's range."""
    pred = FORECASTERS[name](prefix)
    if pred.value is None:
        return pred
    return Prediction(*clip_to_bounds(pred.value, pred.interval, prefix.bounds), pred.reason)


def naive_value(scores) -> float:
    """The naive forecast: the mean of the last ``NAIVE_LAST`` scores seen (one score is noisy)."""
    return float(np.mean(np.asarray(scores, dtype=float)[-NAIVE_LAST:]))


@register_forecaster("naive")
def naive(p: Prefix) -> Prediction:
    if p.scores.size == 0:
        return Prediction(reason="no score before the cutoff")
    spread = float(np.std(p.scores[-2 * NAIVE_LAST :], ddof=1)) if p.scores.size > 1 else 0.0
    v = naive_value(p.scores)
    return Prediction(v, (v - Z90 * spread, v + Z90 * spread))


def fit_approach(t, y) -> tuple[float, float, float, float, float]:
    """Least squares of y = c + d·exp(−(t − t0)/τ), profiled over a grid of τ (linear in c, d for
    each): (c, d, τ, t0, residual sd). A saturating rise or fall, or a line where τ is long."""
    t, y = np.asarray(t, float), np.asarray(y, float)
    t0, span = float(t.min()), float(np.ptp(t)) or 1.0
    taus = span * np.geomspace(0.02, 50, 121)
    c, d, e = exp_profile(t, y, taus)
    n = t.size
    sse = ((y[None, :] - c[:, None] - d[:, None] * e) ** 2).sum(1)
    i = int(np.nanargmin(np.where(np.isfinite(sse), sse, np.inf)))
    sd = math.sqrt(float(sse[i]) / max(n - 3, 1))
    return float(c[i]), float(d[i]), float(taus[i]), t0, sd


@register_forecaster("step_curve")
def step_curve(p: Prefix) -> Prediction:
    if np.unique(p.p_steps).size < 4:
        return Prediction(reason=f"{np.unique(p.p_steps).size} scores before the cutoff: at least 4 needed")
    c, d, tau, t0, sd = fit_approach(p.p_steps, p.scores)
    v = c + d * math.exp(-(p.horizon - t0) / tau)
    return Prediction(v, (v - Z90 * sd, v + Z90 * sd))


@register_forecaster("law")
def law(p: Prefix) -> Prediction:
    cutoff = float(max(p.h_steps.max(initial=-math.inf), p.p_steps.max(initial=-math.inf)))
    fc = forecast(p.h_steps, p.entropy, p.p_steps, p.p_entropy, p.scores, cutoff=cutoff, horizon=p.horizon)
    if fc.predicted_final is None:
        return Prediction(reason=fc.reason)
    return Prediction(fc.predicted_final, fc.interval)


@register_forecaster("law_ceiling")
def law_ceiling(p: Prefix) -> Prediction:
    try:
        fitted = fit_entropy_law(p.p_entropy, p.scores)
    except ValueError as e:
        return Prediction(reason=str(e))
    if p.scores.size < 3:
        return Prediction(reason=f"{p.scores.size} scores before the cutoff: at least 3 needed")
    lo, hi = bootstrap_ceiling(p.p_entropy, p.scores, n_boot=300)
    iv = (lo, hi) if math.isfinite(lo) and math.isfinite(hi) else None
    return Prediction(fitted.ceiling, iv)


@register_forecaster("blend")
def blend(p: Prefix) -> Prediction:
    a, b = naive(p), step_curve(p)
    if a.value is None or b.value is None:
        return Prediction(reason=a.reason or b.reason)
    v = (a.value + b.value) / 2
    half = math.hypot(a.interval[1] - a.value, b.interval[1] - b.value) / 2
    return Prediction(v, (v - half, v + half))
