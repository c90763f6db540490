"""The entropy–performance law R = −a·exp(H) + b (Cui et al. 2025, Eq. 6).

Linear in a and b, so it is ordinary least squares of R on exp(H). The ceiling is the
performance the fit predicts when entropy is exhausted (H = 0): b − a.
"""

from __future__ import annotations

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


def bootstrap_ceiling(entropy, performance, n_boot: int = 1000, level: float = 0.9, seed: int = 0):
    """Percentile bootstrap interval (lo, hi) for the ceiling b − a, resampling points."""
    h = np.asarray(entropy, dtype=float).ravel()
    r = np.asarray(performance, dtype=float).ravel()
    rng = np.random.default_rng(seed)
    ceilings = []
    for _ in range(n_boot):
        idx = rng.integers(0, h.size, h.size)
        if np.ptp(h[idx]) == 0:
            continue
        ceilings.append(fit_entropy_law(h[idx], r[idx]).ceiling)
    if not ceilings:
        return float("nan"), float("nan")
    tail = (1 - level) / 2 * 100
    lo, hi = np.percentile(ceilings, [tail, 100 - tail])
    return float(lo), float(hi)
