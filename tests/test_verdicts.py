"""Verdict sentences on crafted summaries: each says what the numbers show, and when it is weak."""

from entropy_rl.analysis.verdicts import verdicts


def _v(mean, n=5, ci95=0.0, std=0.0):
    return {"mean": mean, "n": n, "ci95": ci95, "std": std, "min": mean, "max": mean}


def _summary(**grpo):
    base = {"entropy_ratio": _v(0.3), "law_r2": _v(0.95), "law_ceiling": _v(0.8)}
    return {"methods": {"grpo": base | grpo}}


def test_collapse_or_not():
    assert "entropy collapsed on every seed: it ended at 0.30 of its start (0.30 to 0.30 over seeds) (5 seeds)" in verdicts(_summary())[0]
    assert "did not collapse on any seed: it ended at 0.70" in verdicts(_summary(entropy_ratio=_v(0.7)))[0]
    assert "2 seeds, too few to be sure" in verdicts(_summary(entropy_ratio=_v(0.3, n=2)))[0]


def test_collapse_is_judged_on_every_seed_not_on_the_mean():
    mixed = {**_v(0.45), "min": 0.3, "max": 0.6}  # the mean is below 0.5, one seed is not
    line = verdicts(_summary(entropy_ratio=mixed))[0]
    assert "collapsed on some seeds, not all" in line and "0.30 to 0.60 over seeds" in line


def test_collapse_states_the_pass_at_k_change_paired_by_seed():
    line = verdicts(_summary(**{"eval_pass@8_change": _v(-0.036, ci95=0.043), "eval_pass@2_change": _v(0.1, ci95=0.01)}))[0]
    assert "pass@8 ended -0.036 [-0.079, +0.007] against the initial policy's, paired by seed (not resolved: the interval reaches past ±0.02)" in line
    assert "pass@2" not in line
    below = verdicts(_summary(**{"eval_pass@8_change": _v(-0.05, ci95=0.02)}))[0]
    assert "(below it)" in below


def test_the_story_comes_first_gain_then_collapse_then_remedies():
    s = _summary(eval_accuracy_final=_v(0.45, ci95=0.02), gain_over_temperature=_v(0.1, ci95=0.02))
    s["methods"]["kl_cov"] = {"entropy_final_vs_grpo": _v(1.9, ci95=0.1), "eval_accuracy_final_minus_grpo": _v(0.0, ci95=0.03)}
    s["temperature_baseline"] = [{"temperature": 0.5, "entropy": 0.3, "accuracy": 0.31}]
    lines = verdicts(s)
    assert lines[0].startswith("RL against no RL at all") and "grpo +0.140 [+0.120, +0.160] (above it" in lines[0]
    assert lines[1].startswith("GRPO's entropy collapsed")
    assert lines[2].startswith("kl_cov against GRPO, paired by seed")


def test_law_fit_good_or_poor():
    assert "law fits well: R² 0.95, ceiling b − a = 0.800" in verdicts(_summary())[1]
    assert "fits poorly (R² below 0.8): R² 0.45" in verdicts(_summary(law_r2=_v(0.45)))[1]


def test_frontier_beaten_below_or_inseparable():
    beat = verdicts(_summary(gain_over_temperature=_v(0.05, ci95=0.02)))
    assert any("grpo beat the initial policy" in v and "+0.050 [+0.030, +0.070]" in v for v in beat)
    below = verdicts(_summary(gain_over_temperature=_v(-0.05, ci95=0.02)))
    assert any("grpo fell below the initial policy" in v for v in below)
    spread = verdicts(_summary(gain_over_temperature=_v(0.01, ci95=0.05)))
    assert any("did not separate from the initial policy" in v for v in spread)


def test_a_remedy_against_grpo_paired_by_seed():
    s = _summary()
    s["methods"]["kl_cov"] = {"entropy_final_vs_grpo": _v(2.1, ci95=0.4), "eval_accuracy_final_minus_grpo": _v(0.01, ci95=0.03)}
    s["methods"]["clip_cov"] = {"entropy_final_vs_grpo": _v(1.1, ci95=0.3), "eval_accuracy_final_minus_grpo": _v(0.05, ci95=0.02)}
    lines = verdicts(s)
    kl = next(v for v in lines if v.startswith("kl_cov against GRPO"))
    assert "2.10× GRPO's final entropy [1.70, 2.50] (more, the interval excludes 1)" in kl
    assert "+0.010 [-0.020, +0.040] (not resolved: the interval reaches past ±0.02)" in kl
    clip = next(v for v in lines if v.startswith("clip_cov against GRPO"))
    assert "(the interval includes 1)" in clip and "pass@1 +0.050 [+0.030, +0.070] (higher)" in clip


def test_nothing_to_say_without_the_numbers():
    assert verdicts({"methods": {}}) == []
    assert verdicts({"methods": {"grpo": {}}}) == []


def test_remedy_reports_the_largest_pass_at_k_paired():
    s = _summary()
    s["methods"]["kl_cov"] = {
        "entropy_final_vs_grpo": _v(2.1, ci95=0.4),
        "eval_accuracy_final_minus_grpo": _v(0.0, ci95=0.03),
        "eval_pass@2_minus_grpo": _v(0.01, ci95=0.02),
        "eval_pass@8_minus_grpo": _v(0.06, ci95=0.02),
    }
    kl = next(v for v in verdicts(s) if v.startswith("kl_cov against GRPO"))
    assert "pass@8 +0.060 [+0.040, +0.080] (higher)" in kl and "pass@2" not in kl
    s["methods"]["kl_cov"]["eval_pass@8_minus_grpo"] = _v(-0.06, ci95=0.02)
    assert "pass@8 -0.060 [-0.080, -0.040] (lower)" in next(v for v in verdicts(s) if v.startswith("kl_cov"))


def test_controller_band_held_or_not():
    s = _summary()
    s["methods"]["entropy_pi"] = {"entropy_tracking_error": _v(0.02, n=3), "entropy_in_band_share": _v(0.97, n=3)}
    line = next(v for v in verdicts(s) if v.startswith("entropy_pi's controller"))
    assert "held entropy in its band: 97% of the steps" in line and "error 0.020 (3 seeds)" in line
    s["methods"]["entropy_pi"]["entropy_in_band_share"] = _v(0.4, n=3)
    assert "did not hold" in next(v for v in verdicts(s) if v.startswith("entropy_pi's controller"))


def test_best_temperature_of_the_initial_policy_against_each_method():
    s = _summary(eval_accuracy_final=_v(0.50, ci95=0.02))
    s["methods"]["kl_cov"] = {"eval_accuracy_final": _v(0.30, ci95=0.02)}
    s["temperature_baseline"] = [
        {"temperature": 1.0, "entropy": 0.5, "accuracy": 0.26},
        {"temperature": 0.5, "entropy": 0.3, "accuracy": 0.31},
        {"temperature": 0.1, "entropy": 0.1, "accuracy": 0.28},
    ]
    line = next(v for v in verdicts(s) if v.startswith("RL against no RL at all"))
    assert "best temperature, T = 0.5, scores 0.310" in line
    assert "grpo +0.190 [+0.170, +0.210] (above it; final 0.500)" in line
    assert "kl_cov -0.010 [-0.030, +0.010] (not resolved: the interval reaches past ±0.02; final 0.300)" in line
    assert not any(v.startswith("RL against") for v in verdicts(_summary(eval_accuracy_final=_v(0.5))))


def test_where_the_entropy_went_and_which_tokens_carried_it():
    s = _summary(entropy_change_first_order=_v(-0.3), entropy_change_higher_order=_v(-0.1))
    s["token_drivers"] = {"grpo": [
        {"token": "-", "covariance_share": 0.4, "count": 10, "mean_entropy": 0.2},
        {"token": "+", "covariance_share": 0.2, "count": 10, "mean_entropy": 0.2},
    ]}
    lines = verdicts(s)
    assert any("-0.400 nats/token on the probe batch, -0.300 of it first order (75%" in v for v in lines)
    assert "GRPO's covariance was concentrated on a few tokens: '-' 40%, '+' 20%" in lines[-1]
    s["token_drivers"]["grpo"][0]["covariance_share"] = 0.1
    assert "spread over many tokens" in verdicts(s)[-1]


def test_controller_verdict_gives_the_smoothed_share_too():
    s = _summary()
    s["methods"]["entropy_pi"] = {
        "entropy_tracking_error": _v(0.038, n=3), "entropy_in_band_share": _v(0.71, n=3),
        "entropy_tracking_error_smoothed": _v(0.024, n=3), "entropy_in_band_share_smoothed": _v(0.88, n=3),
    }
    line = next(v for v in verdicts(s) if v.startswith("entropy_pi's controller"))
    assert "did not hold" in line and "its 10-step mean 88% inside, error 0.024 (3 seeds)" in line


def test_one_seed_verdicts_never_speak_of_an_interval():
    nan = float("nan")
    s = _summary(
        entropy_ratio=_v(0.3, n=1, ci95=nan),
        gain_over_temperature=_v(0.05, n=1, ci95=nan),
        eval_accuracy_final=_v(0.5, n=1, ci95=nan),
    )
    s["methods"]["kl_cov"] = {
        "eval_accuracy_final": _v(0.3, n=1, ci95=nan),
        "entropy_final_vs_grpo": _v(1.5, n=1, ci95=nan),
        "eval_accuracy_final_minus_grpo": _v(-0.2, n=1, ci95=nan),
        "eval_pass@8_minus_grpo": _v(0.1, n=1, ci95=nan),
    }
    s["temperature_baseline"] = [{"temperature": 0.5, "entropy": 0.3, "accuracy": 0.31}]
    lines = verdicts(s)
    text = " ".join(lines)
    assert "within the interval" not in text and "did not separate" not in text
    assert "the interval includes" not in text and "no different within" not in text
    assert "grpo against the initial policy" in text and "1 seed: no interval, so no verdict" in text
    assert "kl_cov -0.010 (1 seed: no interval; final 0.300)" in text
    assert "held-out pass@1 -0.200 (1 seed: no interval)" in text


def test_the_forecast_error_is_stated_per_method_as_a_mean_absolute_error():
    s = _summary(law_forecast_abs_error={**_v(0.02, n=3), "max": 0.05})
    s["methods"]["kl_cov"] = {"law_forecast_abs_error": {**_v(0.04, n=3), "max": 0.06}}
    line = next(v for v in verdicts(s) if v.startswith("The entropy–performance law"))
    assert "mean absolute error of the final score: grpo 0.020 (worst seed 0.050), kl_cov 0.040 (worst seed 0.060)" in line


def test_a_remedy_that_touched_under_one_percent_of_tokens_is_warned_about():
    s = _summary()
    s["methods"]["clip_cov"] = {"remedy_token_share": _v(0.004), "remedy_tokens_per_step": _v(3.0)}
    s["methods"]["kl_cov"] = {"remedy_token_share": _v(0.05), "remedy_tokens_per_step": _v(40.0)}
    warned = [v for v in verdicts(s) if v.startswith("Warning:")]
    assert warned == [
        "Warning: clip_cov's remedy acted on 0.40% of the tokens it updated, 3.0 tokens a step: below 1 %, "
        "it is close to no remedy, and its difference from GRPO says little about the method."
    ]


def test_a_match_beyond_the_lowest_temperature_is_said_to_be_extrapolated():
    s = _summary(gain_over_temperature=_v(0.05, n=4, ci95=0.02), temperature_matched_extrapolated=_v(0.5, n=4))
    line = next(v for v in verdicts(s) if "initial policy sampled" in v)
    assert "(same entropy; extrapolated beyond the lowest temperature swept for 2 of 4 seeds)" in line
    plain = next(v for v in verdicts(_summary(gain_over_temperature=_v(0.05, ci95=0.02))) if "sampled" in v)
    assert "extrapolated" not in plain
