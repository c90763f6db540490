"""The entropy–performance law R = −a·exp(H) + b (Cui et al. 2025, Eq. 6).

Linear in a and b, so it is ordinary least squares of R on exp(H). The ceiling is the
performance the fit predicts when entropy is exhausted (H = 0): b − a.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class EntropyLaw:
    """A fitted R = −a·exp(H) + b."""

    a: float
    b: float
    r2: float
    n: int

    @property
    def ceiling(self) -> float:
        """Predicted performance at H = 0: b − a."""
        return self.b - self.a

    def predict(self, entropy):
        """R at entropy H (scalar or array)."""
        return -self.a * np.exp(np.asarray(entropy, dtype=float)) + self.b


def law_points(rows: list[dict], metric: str = "eval_accuracy") -> list[tuple[float, float]]:
    """(entropy, performance) pairs of a run's ``metrics.jsonl`` rows: the training-batch entropy
    of each step that has ``metric`` (an evaluation step)."""
    return [
        (r["entropy"], r[metric]) for r in rows if r.get(metric) is not None and r.get("entropy") is not None
    ]


# exp(H) overflows float64 past ~709.8; token entropy over any vocabulary is far below (ln 10^6 ≈ 14).
MAX_ENTROPY = 700.0


def fit_entropy_law(entropy, performance) -> EntropyLaw:
    """Least-squares fit of R = −a·exp(H) + b to paired points (H_i, R_i); needs ≥ 2 distinct H."""
    h = np.asarray(entropy, dtype=float).ravel()
    r = np.asarray(performance, dtype=float).ravel()
    if h.shape != r.shape:
        raise ValueError(f"entropy has {h.size} points, performance {r.size}")
    ok = np.isfinite(h) & np.isfinite(r)
    h, r = h[ok], r[ok]
    if h.size < 2 or np.ptp(h) == 0:
        raise ValueError("fitting the entropy law needs at least 2 points with distinct entropy")
    if h.max() > MAX_ENTROPY:
        raise ValueError(
            f"entropy {h.max():.4g} is above {MAX_ENTROPY:g} nats, where exp(H) overflows: the law cannot be "
            "fitted (is this key an entropy in nats?)"
        )
    x = np.exp(h)
    design = np.stack([-x, np.ones_like(x)], axis=1)
    (a, b), *_ = np.linalg.lstsq(design, r, rcond=None)
    resid = r - design @ np.array([a, b])
    ss_tot = float(((r - r.mean()) ** 2).sum())
    r2 = 1.0 - float((resid**2).sum()) / ss_tot if ss_tot > 0 else float("nan")
    return EntropyLaw(a=float(a), b=float(b), r2=r2, n=int(h.size))


@dataclass(frozen=True)
class PrefixPrediction:
    """A law fitted on the first part of a run, used to predict the rest."""

    law: EntropyLaw
    n_fit: int
    predicted_final: float
    actual_final: float
    rmse_rest: float


def predict_from_prefix(entropy, performance, fraction: float = 1 / 3) -> PrefixPrediction:
    """Fit on the first ``fraction`` of points, predict the final R from the final H.

    Also the RMSE of the prediction on all held-out later points (the paper's check).
    """
    h = np.asarray(entropy, dtype=float).ravel()
    r = np.asarray(performance, dtype=float).ravel()
    n_fit = max(2, int(round(fraction * h.size)))
    if n_fit >= h.size:
        raise ValueError(f"{h.size} points: too few to hold any out with fraction={fraction}")
    law = fit_entropy_law(h[:n_fit], r[:n_fit])
    pred = law.predict(h[n_fit:])
    return PrefixPrediction(
        law=law,
        n_fit=n_fit,
        predicted_final=float(law.predict(h[-1])),
        actual_final=float(r[-1]),
        rmse_rest=float(np.sqrt(np.mean((pred - r[n_fit:]) ** 2))),
    )


# Above this many points a bootstrap resamples the means of consecutive equal chunks instead, so
# that its cost stops growing with the log (a 1,000,000-step log costs what a 2,000-step one does).
MAX_BOOT_POINTS = 2000


def binned(*series, max_points: int = MAX_BOOT_POINTS) -> tuple[np.ndarray, ...]:
    """Each series (same length, in step order) as the means of ``max_points`` consecutive chunks
    of near-equal size; unchanged when it is no longer than ``max_points``."""
    arrays = [np.asarray(x, dtype=float).ravel() for x in series]
    n = arrays[0].size
    if n <= max_points:
        return tuple(arrays)
    edges = np.linspace(0, n, max_points + 1).astype(int)
    counts = np.diff(edges)
    return tuple(np.add.reduceat(x, edges[:-1]) / counts for x in arrays)


def bootstrap_ceiling(entropy, performance, n_boot: int = 1000, level: float = 0.9, seed: int = 0):
    """Percentile bootstrap interval (lo, hi) for the ceiling b − a, resampling points (chunk
    means past ``MAX_BOOT_POINTS``)."""
    h, r = binned(entropy, performance)
    rng = np.random.default_rng(seed)
    ceilings = []
    for _ in range(n_boot):
        idx = rng.integers(0, h.size, h.size)
        try:
            ceilings.append(fit_entropy_law(h[idx], r[idx]).ceiling)
        except ValueError:  # a draw of a single entropy value
            continue
    if not ceilings:
        return float("nan"), float("nan")
    tail = (1 - level) / 2 * 100
    lo, hi = np.percentile(ceilings, [tail, 100 - tail])
    return float(lo), float(hi)


# ---------------------------------------------------------------------------------------------
# A forecast: the entropy extrapolated, then the law applied.


@dataclass(frozen=True)
class EntropyDecay:
    """H(t) = floor + (H(t0) − floor)·exp(−(t − t0)/tau).

    Entropy in RL falls sharply early and then flattens (Cui et al. 2025, Fig. 2): a decay to a
    floor is the simplest monotone curve with that shape, and unlike a power law it does not fall
    for ever, so extrapolating it past the data cannot run entropy below zero. For a fixed tau it
    is linear in (floor, amplitude), so it is fitted by least squares profiled over a grid of tau.
    """

    floor: float
    amplitude: float
    tau: float
    t0: float

    def predict(self, steps):
        t = np.asarray(steps, dtype=float)
        return self.floor + self.amplitude * np.exp(-(t - self.t0) / self.tau)


def exp_profile(t: np.ndarray, y: np.ndarray, taus: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """OLS of y on [1, exp(−(t − min t)/τ)] for every τ at once (2×2 normal equations): the level
    c, the amplitude d (NaN where τ leaves them undetermined), and the exponentials (taus, points).
    Shared by the entropy's decay and the score's curve against step."""
    e = np.exp(-(t[None, :] - t.min()) / taus[:, None])
    n, se, see = t.size, e.sum(1), (e * e).sum(1)
    sy, sey = y.sum(), (e * y).sum(1)
    det = n * see - se * se
    good = det > 1e-12 * n * see
    c = np.where(good, (see * sy - se * sey) / np.where(good, det, 1), np.nan)
    d = np.where(good, (n * sey - se * sy) / np.where(good, det, 1), np.nan)
    return c, d, e


def fit_entropy_decay(steps, entropy) -> EntropyDecay:
    """Least-squares fit of ``EntropyDecay`` (floor ≥ 0) to (step, H) points; needs ≥ 3 steps."""
    t = np.asarray(steps, dtype=float).ravel()
    h = np.asarray(entropy, dtype=float).ravel()
    ok = np.isfinite(t) & np.isfinite(h)
    t, h = t[ok], h[ok]
    if np.unique(t).size < 3:
        raise ValueError("fitting the entropy's decay needs at least 3 steps")
    t0, span = float(t.min()), float(np.ptp(t))
    taus = span * np.geomspace(0.01, 100, 241)
    floor, amp, e = exp_profile(t, h, taus)
    # a negative floor is clamped at 0 (entropy is non-negative): refit the amplitude alone
    neg = floor < 0
    floor = np.where(neg, 0.0, floor)
    see, seh = (e * e).sum(1), (e * h).sum(1)
    amp = np.where(neg, seh / np.maximum(see, 1e-300), amp)
    sse = ((h[None, :] - floor[:, None] - amp[:, None] * e) ** 2).sum(1)
    sse = np.where(np.isfinite(sse), sse, np.inf)
    i = int(np.argmin(sse))
    return EntropyDecay(float(floor[i]), float(amp[i]), float(taus[i]), t0)


@dataclass(frozen=True)
class Forecast:
    """The performance a run will reach at ``horizon``, forecast from the part up to ``cutoff``:
    the entropy's decay fitted on that part and extrapolated to ``horizon``, then the law fitted
    on that part applied to the extrapolated entropy. ``reason`` is set, and no number, where the
    law does not apply."""

    cutoff: float
    horizon: float
    n_entropy: int
    n_law: int
    predicted_final: float | None = None
    interval: tuple[float, float] | None = None
    entropy_final: float | None = None
    actual_final: float | None = None
    law: EntropyLaw | None = None
    decay: EntropyDecay | None = None
    reason: str | None = None
    warning: str | None = None

    @property
    def abs_error(self) -> float | None:
        if self.predicted_final is None or self.actual_final is None:
            return None
        return abs(self.predicted_final - self.actual_final)


MIN_LAW_POINTS = 3


def clip_to_bounds(point: float, interval, bounds: tuple[float, float]) -> tuple[float, tuple[float, float] | None]:
    """A forecast within the score's range: the point clipped, the interval clipped and stretched
    to hold its own point (a percentile bootstrap can leave a biased point outside)."""
    lo_b, hi_b = bounds
    point = min(max(point, lo_b), hi_b)
    if interval is not None:
        interval = (min(max(interval[0], lo_b), point), max(min(interval[1], hi_b), point))
    return point, interval


def metric_bounds(values) -> tuple[float, float]:
    """The range a score can take, read from its values: [0, 1] when every value lies there (an
    accuracy, a pass rate), [-1, 1] when every value lies there (verl's scores), else unbounded."""
    v = np.asarray(values, dtype=float)
    v = v[np.isfinite(v)]
    if v.size and v.min() >= 0 and v.max() <= 1:
        return 0.0, 1.0
    if v.size and v.min() >= -1 and v.max() <= 1:
        return -1.0, 1.0
    return -math.inf, math.inf


def forecast(
    h_steps,
    entropy,
    p_steps,
    p_entropy,
    performance,
    cutoff: float,
    horizon: float,
    actual_final: float | None = None,
    n_boot: int = 300,
    level: float = 0.9,
    seed: int = 0,
) -> Forecast:
    """Forecast the performance at step ``horizon`` from the points at steps ≤ ``cutoff``.

    ``(h_steps, entropy)``: the entropy at every logged step; ``(p_steps, p_entropy,
    performance)``: the law's points (a step's entropy and its held-out score). The interval is
    a percentile bootstrap over the prefix's points: entropy points and law points resampled,
    both fits redone, and a residual of the prefix's law fit added to each draw, so that it is an
    interval for the one noisy score the run will log, not for the law's mean. It covers the fits'
    sampling noise and the score's, not a change of regime after the cutoff.
    """
    hs, h = np.asarray(h_steps, float), np.asarray(entropy, float)
    ps, ph, pr = np.asarray(p_steps, float), np.asarray(p_entropy, float), np.asarray(performance, float)
    hin, pin = hs <= cutoff, ps <= cutoff
    n_entropy, n_law = int(hin.sum()), int(pin.sum())
    # past MAX_BOOT_POINTS, the prefix's points become chunk means: the cost stops growing with the log
    raw_ph, raw_pr = ph[pin], pr[pin]  # the score's own noise: residuals of single points, never of means
    hs, h = binned(hs[hin], h[hin])
    ps, ph, pr = binned(ps[pin], ph[pin], pr[pin])
    base = {"cutoff": float(cutoff), "horizon": float(horizon), "n_entropy": n_entropy,
            "n_law": n_law, "actual_final": actual_final}
    if n_entropy < 3:
        return Forecast(**base, reason=f"entropy at {n_entropy} steps up to step {cutoff:g}: at least 3 needed")
    if n_law < MIN_LAW_POINTS:
        return Forecast(
            **base,
            reason=f"{n_law} performance points up to step {cutoff:g}: at least {MIN_LAW_POINTS} needed",
        )
    third = max(1, h.size // 3)
    early, late = float(np.mean(h[:third])), float(np.mean(h[-third:]))
    if late >= early:
        return Forecast(
            **base,
            reason=f"the law does not apply: entropy does not fall up to step {cutoff:g} (mean {early:.4g} "
            f"over its first third, {late:.4g} over its last); the law describes a collapse",
        )
    try:
        decay = fit_entropy_decay(hs, h)
        law = fit_entropy_law(ph, pr)
    except ValueError as e:
        return Forecast(**base, reason=str(e))
    h_final = float(decay.predict(horizon))
    rng = np.random.default_rng(seed)
    residuals = raw_pr - law.predict(raw_ph)
    draws = []
    for _ in range(n_boot):
        i, j = rng.integers(0, h.size, h.size), rng.integers(0, ph.size, ph.size)
        if np.unique(hs[i]).size < 3 or np.ptp(ph[j]) == 0:
            continue
        d, lw = fit_entropy_decay(hs[i], h[i]), fit_entropy_law(ph[j], pr[j])
        draws.append(float(lw.predict(d.predict(horizon))) + float(rng.choice(residuals)))
    tail = (1 - level) / 2 * 100
    interval = tuple(float(x) for x in np.percentile(draws, [tail, 100 - tail])) if draws else None
    point = float(law.predict(h_final))
    warnings = []
    if law.a < 0:
        warnings.append(
            f"a = {law.a:.3g} < 0: performance falls as entropy falls (a collapse to a degenerate "
            "policy), the opposite of the law's trade"
        )
    bounds = metric_bounds(raw_pr)
    if not bounds[0] <= point <= bounds[1]:
        warnings.append(f"the law's value {point:.4g} lies outside the score's range [{bounds[0]:g}, {bounds[1]:g}]: clipped")
    point, interval = clip_to_bounds(point, interval, bounds)
    return Forecast(
        **base,
        predicted_final=point,
        interval=interval,
        entropy_final=h_final,
        law=law,
        decay=decay,
        warning="; ".join(warnings) or None,
    )
