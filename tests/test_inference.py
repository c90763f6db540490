"""analysis.inference: intervals, equivalence within a declared margin and multiple-comparison
adjustments, against reference values (scipy, and Holm's and BH's procedures worked by hand)."""

import numpy as np
import pytest
from scipy import stats

from entropy_rl.analysis.inference import (
    benjamini_hochberg,
    holm,
    judge,
    judged,
    paired_p_value,
    t_half_width,
)


def test_the_t_interval_and_the_paired_test_are_scipys():
    d = np.array([0.03, -0.01, 0.05, 0.02])
    lo, hi = stats.t.interval(0.95, 3, loc=d.mean(), scale=stats.sem(d))
    assert t_half_width(d) == pytest.approx((hi - lo) / 2)
    assert paired_p_value(d) == pytest.approx(stats.ttest_1samp(d, 0).pvalue)
    assert np.isnan(paired_p_value([0.1])) and np.isnan(t_half_width([0.1]))


def test_holm_and_benjamini_hochberg_worked_by_hand():
    p = [0.01, 0.04, 0.03, 0.005, float("nan")]
    # Holm: sorted 0.005·4, 0.01·3, 0.03·2, 0.04·1, running maximum
    assert holm(p)[:4] == pytest.approx([0.03, 0.06, 0.06, 0.02])
    # BH: sorted p·m/rank = 0.02, 0.02, 0.04, 0.04, running minimum from the top
    assert benjamini_hochberg(p)[:4] == pytest.approx([0.02, 0.04, 0.04, 0.02])
    assert np.isnan(holm(p)[4]) and np.isnan(benjamini_hochberg(p)[4])
    ref = stats.false_discovery_control([0.01, 0.04, 0.03, 0.005])
    assert benjamini_hochberg(p)[:4] == pytest.approx(ref)


def test_equivalence_needs_the_whole_interval_inside_the_margin():
    assert judge(0.01, 0.05) == "higher" and judge(-0.05, -0.01) == "lower"
    assert judge(-0.01, 0.015, 0.02) == "equivalent"
    assert judge(-0.088, 0.085, 0.02) == "not resolved"  # includes 0, but 8 points wide
    assert judge(-0.01, 0.015) == "not resolved"  # no margin declared: never "equivalent"
    assert judge(float("nan"), float("nan")) == "one seed"
    text, word = judged(-0.001, 0.087, "+.3f", 0.02)
    assert text == "-0.001 [-0.088, +0.086]" and word == "not resolved: the interval reaches past ±0.02"
    assert judged(0.001, 0.01, "+.3f", 0.02)[1] == "equivalent within ±0.02"
