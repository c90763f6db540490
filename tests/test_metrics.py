import math

import pytest

from entropy_rl.core import metrics as M


def test_pass_at_k_by_hand():
    assert M.pass_at_k(4, 1, 1) == pytest.approx(0.25)
    assert M.pass_at_k(4, 1, 2) == pytest.approx(1 - math.comb(3, 2) / math.comb(4, 2))  # 0.5
    assert M.pass_at_k(5, 0, 3) == 0.0 and M.pass_at_k(5, 3, 3) == 1.0
    # stable for large n where the binomials overflow floats
    assert M.pass_at_k(2000, 1, 1) == pytest.approx(1 / 2000)
    with pytest.raises(ValueError):
        M.pass_at_k(3, 4, 1)


def test_mean_and_maj_at_k_tie_rule():
    assert M.mean_at_k([1, 0, 1, 1]) == 0.75
    assert M.maj_at_k(["5", "3", "3", "5"], [True, False, False, True]) == 1.0  # tie: first seen ("5") wins
    assert M.maj_at_k(["3", "5", "3", "5"], [False, True, False, True]) == 0.0
    assert M.maj_at_k([None, "7", None], [False, True, False]) == 1.0  # None never votes
    assert M.maj_at_k([None, None], [False, False]) == 0.0
    assert M.unique_answers(["1", "2", None, "1"]) == 2


def test_calibration_by_hand():
    conf = [0.95, 0.85, 0.15, 0.05]
    y = [1, 0, 0, 0]
    # bins: 0.9 {0.95: acc 1}, 0.8 {0.85: acc 0}, 0.1 {0.15: 0}, 0.0 {0.05: 0}
    assert M.expected_calibration_error(conf, y) == pytest.approx((0.05 + 0.85 + 0.15 + 0.05) / 4)
    assert M.brier_score(conf, y) == pytest.approx((0.05**2 + 0.85**2 + 0.15**2 + 0.05**2) / 4)
    assert M.auroc(conf, y) == 1.0
    assert M.auroc([0.5, 0.5, 0.2], [1, 0, 0]) == pytest.approx(0.75)  # tie counts half
    assert math.isnan(M.auroc([0.1, 0.2], [1, 1]))
    assert M.expected_calibration_error([1.0], [1]) == 0.0


def test_diversity():
    assert M.distinct_n(["a b c", "a b d"], n=2) == pytest.approx(3 / 4)
    assert M.distinct_n(["a"], n=2) == 0.0
    same = M.self_bleu(["the cat sat on the mat"] * 3)
    diff = M.self_bleu(["the cat sat on the mat", "dogs run fast in parks", "one two three four five"])
    assert same == pytest.approx(100.0) and diff < 10.0


def test_eval_summary_on_fixed_samples():
    """summarize() on a hand-built evaluation of 2 problems × 4 samples."""
    import numpy as np

    from entropy_rl.scoring.types import Problem
    from entropy_rl.train.evaluation import EvalResult, summarize

    res = EvalResult(
        k=4,
        problems=[Problem("1+1=", "2"), Problem("2+2=", "4")],
        texts=["2", "2", "3", "5", "4", "1", "1", "1"],
        # partial credit (countdown gives 0.05 for the right numbers) is not a correct answer
        rewards=np.array([[1.0, 1.0, 0.0, 0.05], [1.0, 0.0, 0.0, 0.05]]),
        parsed=["2", "2", "3", "5", "4", "1", "1", "1"],
        reasons=["ok", "ok", "wrong", "wrong", "ok", "wrong", "wrong", "wrong"],
        mean_logp=np.log(np.array([[0.9, 0.9, 0.2, 0.2], [0.6, 0.8, 0.8, 0.8]])),
        sum_logp=np.log(np.array([[0.9, 0.9, 0.2, 0.2], [0.6, 0.8, 0.8, 0.8]])),
        mean_entropy=np.full((2, 4), 0.5),
        lengths=np.full((2, 4), 2.0),
    )
    s = summarize(res)
    assert s["accuracy"] == pytest.approx(3 / 8)
    assert s["mean_reward"] == pytest.approx(3.1 / 8)
    assert s["mean@4"] == pytest.approx(3 / 8)
    assert s["pass@1"] == pytest.approx((0.5 + 0.25) / 2)
    assert s["pass@4"] == 1.0
    assert s["pass@2"] == pytest.approx(((1 - 1 / 6) + 0.5) / 2)  # C(2,2)/C(4,2) = 1/6; C(3,2)/C(4,2) = 1/2
    assert s["maj@4"] == pytest.approx(0.5)  # problem 1: "2" wins; problem 2: "1" (wrong) wins
    assert s["unique_answers"] == pytest.approx((3 + 2) / 2)
    assert s["distinct_1"] == pytest.approx((3 / 4 + 2 / 4) / 2)
    # positives 0.9, 0.9, 0.6 vs negatives 0.2, 0.2, 0.8 ×3: 5 + 5 + 2 = 12 of 15 pairs ordered
    assert s["auroc"] == pytest.approx(12 / 15)
    assert s["brier"] == pytest.approx((0.01 * 2 + 0.04 * 2 + 0.16 + 0.64 * 3) / 8)
    assert s["entropy"] == 0.5 and s["response_length"] == 2.0
