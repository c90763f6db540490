import numpy as np
import pytest

from entropy_rl.core.law import bootstrap_ceiling, fit_entropy_law, predict_from_prefix


def _synthetic(a=0.3, b=0.9, noise=0.01, n=60, seed=0):
    rng = np.random.default_rng(seed)
    h = np.linspace(1.5, 0.05, n)  # entropy falls over the run
    r = -a * np.exp(h) + b + rng.normal(0, noise, n)
    return h, r


def test_fit_recovers_known_law():
    h, r = _synthetic()
    law = fit_entropy_law(h, r)
    assert law.a == pytest.approx(0.3, abs=0.01) and law.b == pytest.approx(0.9, abs=0.015)
    assert law.ceiling == pytest.approx(0.6, abs=0.01) and law.r2 > 0.99
    exact = fit_entropy_law(h, -0.3 * np.exp(h) + 0.9)
    assert exact.r2 == pytest.approx(1.0) and exact.ceiling == pytest.approx(0.6)


def test_prefix_prediction_and_bootstrap():
    h, r = _synthetic(noise=0.005)
    pred = predict_from_prefix(h, r, fraction=1 / 3)
    assert pred.n_fit == 20
    assert pred.predicted_final == pytest.approx(-0.3 * np.exp(h[-1]) + 0.9, abs=0.02)
    assert pred.rmse_rest < 0.03
    lo, hi = bootstrap_ceiling(h, r, n_boot=300)
    assert lo < 0.6 < hi and hi - lo < 0.05


def test_fit_errors():
    with pytest.raises(ValueError, match="distinct entropy"):
        fit_entropy_law([1.0, 1.0], [0.2, 0.3])
    with pytest.raises(ValueError, match="3 points, performance 2"):
        fit_entropy_law([1.0, 2.0, 3.0], [0.2, 0.3])
