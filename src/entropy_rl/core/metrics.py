"""Evaluation metrics: accuracy at k samples, diversity and calibration.

Plain Python/NumPy; the only optional dependency is sacrebleu, for self-BLEU.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Hashable, Sequence

import numpy as np
from scipy.stats import rankdata


def pass_at_k(n: int, c: int, k: int) -> float:
    """Unbiased pass@k (Chen et al. 2021): 1 − C(n−c, k)/C(n, k), in product form for stability.

    ``n`` samples, ``c`` of them correct, ``k`` ≤ n.
    """
    if not 0 <= c <= n or not 1 <= k <= n:
        raise ValueError(f"pass_at_k needs 0 <= c <= n and 1 <= k <= n, got n={n} c={c} k={k}")
    if n - c < k:
        return 1.0
    return float(1.0 - np.prod(1.0 - k / np.arange(n - c + 1, n + 1)))


def mean_at_k(correct: Sequence[float]) -> float:
    """Mean correctness over the k samples of one problem (avg@k)."""
    return float(np.mean(np.asarray(correct, dtype=float))) if len(correct) else 0.0


def maj_at_k(answers: Sequence[Hashable | None], correct: Sequence[bool]) -> float:
    """Majority vote over k samples: 1.0 when the most frequent answer is correct.

    ``answers`` are canonical keys (equivalent answers must already map to the same key);
    None (no parsable answer) never votes. Tie rule: among equally frequent answers, the one
    that appears first wins. No answer at all scores 0.
    """
    votes = Counter(a for a in answers if a is not None)
    if not votes:
        return 0.0
    top = max(votes.values())
    for ans, ok in zip(answers, correct, strict=True):
        if ans is not None and votes[ans] == top:
            return float(bool(ok))
    return 0.0  # pragma: no cover - unreachable


def unique_answers(answers: Sequence[Hashable | None]) -> int:
    """Number of distinct parsed final answers (None excluded)."""
    return len({a for a in answers if a is not None})


def expected_calibration_error(confidence, correct, n_bins: int = 10) -> float:
    """ECE with ``n_bins`` equal-width bins on [0, 1]: Σ_b (n_b/N)·|acc_b − conf_b|.

    Bin b holds confidences in [b/n, (b+1)/n), the last bin also 1.0.
    """
    conf = np.asarray(confidence, dtype=float).ravel()
    y = np.asarray(correct, dtype=float).ravel()
    if conf.size == 0:
        return float("nan")
    bins = np.minimum((conf * n_bins).astype(int), n_bins - 1)
    ece = 0.0
    for b in range(n_bins):
        sel = bins == b
        if sel.any():
            ece += sel.mean() * abs(y[sel].mean() - conf[sel].mean())
    return float(ece)


def brier_score(confidence, correct) -> float:
    """Mean squared error between confidence and the 0/1 outcome."""
    conf = np.asarray(confidence, dtype=float).ravel()
    y = np.asarray(correct, dtype=float).ravel()
    return float(np.mean((conf - y) ** 2))


def auroc(confidence, correct) -> float:
    """Area under the ROC curve of confidence for separating correct from wrong answers
    (Mann–Whitney U with average ranks for ties); NaN when only one class is present.
    """
    conf = np.asarray(confidence, dtype=float).ravel()
    y = np.asarray(correct, dtype=bool).ravel()
    n_pos, n_neg = int(y.sum()), int((~y).sum())
    if n_pos == 0 or n_neg == 0:
        return float("nan")
    ranks = rankdata(conf)
    return float((ranks[y].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg))


def distinct_n(texts: Sequence[str], n: int = 2) -> float:
    """Distinct-n (Li et al. 2016): unique whitespace n-grams / all n-grams, pooled over texts."""
    grams: list[tuple[str, ...]] = []
    for t in texts:
        toks = t.split()
        grams.extend(tuple(toks[i : i + n]) for i in range(len(toks) - n + 1))
    return len(set(grams)) / len(grams) if grams else 0.0


def self_bleu(texts: Sequence[str]) -> float:
    """Self-BLEU (Zhu et al. 2018), 0–100: mean sentence BLEU of each text against all others.

    Uses sacrebleu's ``sentence_bleu`` (13a tokenisation, exponential smoothing); higher means
    less diverse. Needs at least two texts.
    """
    from sacrebleu.metrics import BLEU

    if len(texts) < 2:
        return float("nan")
    bleu = BLEU(effective_order=True)
    scores = [
        bleu.sentence_score(t, [o for j, o in enumerate(texts) if j != i]).score for i, t in enumerate(texts)
    ]
    return float(np.mean(scores))
