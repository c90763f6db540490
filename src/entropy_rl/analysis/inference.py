"""How a claim is judged, in one place: Student-t intervals of values paired by seed, equivalence
within a margin declared before the runs, and adjustments for a family of comparisons (Holm,
Benjamini–Hochberg). The verdicts, the horizon and the frontier word their findings through it.

- An interval that excludes 0 says *higher* or *lower*.
- *Equivalent within ±m* only when the whole interval lies inside ±m, for a margin m declared
  before the runs (``MARGINS``); an interval that includes 0 but reaches past ±m says *not
  resolved*: it is no evidence of no effect.
"""

from __future__ import annotations

import math

import numpy as np
from scipy import stats

# Equivalence margins, by the kind of quantity compared (a difference of held-out pass@k, as a
# share of problems). Declared after the committed runs: every committed interval of a pass@k
# difference is 2 to 17 points wide, so none fits this margin and no "equivalent" claim comes
# from choosing it late; for later studies it is declared before their runs.
MARGINS = {"pass": 0.02}


def t_half_width(values, level: float = 0.95) -> float:
    """Half-width of the Student-t confidence interval for the mean over seeds (sample std);
    NaN below 2 seeds. With 2 seeds t = 12.7: two seeds bound a mean only loosely."""
    values = np.asarray(values, dtype=float)
    n = values.size
    if n < 2:
        return float("nan")
    return float(stats.t.ppf(0.5 + level / 2, n - 1) * values.std(ddof=1) / np.sqrt(n))


def paired_p_value(differences) -> float:
    """Two-sided p-value of the paired t-test that the mean difference is 0 (NaN below 2 seeds or
    for differences that are all equal)."""
    d = np.asarray(differences, dtype=float)
    if d.size < 2 or np.ptp(d) == 0:
        return float("nan")
    return float(stats.ttest_1samp(d, 0.0).pvalue)


def holm(p_values) -> np.ndarray:
    """Holm's step-down adjusted p-values (family-wise error), in the input's order; NaN stays NaN
    and is not counted in the family."""
    p = np.asarray(p_values, dtype=float)
    out = np.full(p.shape, np.nan)
    ok = np.flatnonzero(np.isfinite(p))
    order = ok[np.argsort(p[ok], kind="stable")]
    m, running = order.size, 0.0
    for i, j in enumerate(order):
        running = max(running, (m - i) * p[j])
        out[j] = min(1.0, running)
    return out


def benjamini_hochberg(p_values) -> np.ndarray:
    """Benjamini–Hochberg adjusted p-values (false discovery rate), in the input's order; NaN stays
    NaN and is not counted in the family."""
    p = np.asarray(p_values, dtype=float)
    out = np.full(p.shape, np.nan)
    ok = np.isfinite(p)
    if ok.any():
        out[ok] = stats.false_discovery_control(p[ok], method="bh")
    return out


def judge(lo: float, hi: float, margin: float | None = None) -> str:
    """``higher`` / ``lower`` when the interval excludes 0, ``equivalent`` when it lies inside
    ±``margin``, else ``not resolved``; ``one seed`` without an interval."""
    if not (math.isfinite(lo) and math.isfinite(hi)):
        return "one seed"
    if lo > 0:
        return "higher"
    if hi < 0:
        return "lower"
    if margin is not None and -margin <= lo and hi <= margin:
        return "equivalent"
    return "not resolved"


def judged(mean: float, half: float, fmt: str, margin: float | None = None) -> tuple[str, str]:
    """(``mean [lo, hi]``, the wording of its verdict): ``equivalent within ±m`` or ``not resolved
    (within ±m)`` where a margin is declared."""
    lo, hi = mean - half, mean + half
    word = judge(lo, hi, margin)
    if word == "equivalent":
        word = f"equivalent within ±{margin:g}"
    elif word == "not resolved" and margin is not None:
        word = f"not resolved: the interval reaches past ±{margin:g}"
    text = f"{mean:{fmt}}" if word == "one seed" else f"{mean:{fmt}} [{lo:{fmt}}, {hi:{fmt}}]"
    return text, word
