import pytest

from entropy_rl.core.controllers import (
    AdaptiveEntropyBonus,
    EntroPIC,
    LambdaPosSchedule,
    LinearLambdaPos,
    make_controller,
)


def test_adaptive_bonus_acts_only_below_target_and_saturates():
    c = AdaptiveEntropyBonus(target=0.2, delta=1e-4, max_coef=3e-4)
    assert c.update(0.1) == {"entropy_coef": pytest.approx(1e-4)}
    for _ in range(5):
        out = c.update(0.1)
    assert out["entropy_coef"] == pytest.approx(3e-4)  # clipped at c_max
    assert c.update(0.5) == {"entropy_coef": 0.0}  # above target: no bonus, coef decays
    assert c.coef == pytest.approx(2e-4)


def test_lambda_schedule_moves_by_step_within_bounds():
    c = LambdaPosSchedule(threshold=0.2, step=0.05, lambda_pos=0.0)
    assert c.update(0.1)["lambda_pos"] == 0.0  # already at 0
    assert c.update(0.5)["lambda_pos"] == pytest.approx(0.05)
    assert c.update(0.5)["lambda_pos"] == pytest.approx(0.10)
    assert c.update(0.1)["lambda_pos"] == pytest.approx(0.05)


def test_linear_schedule():
    c = LinearLambdaPos(start=0.0, end=1.0, total=5)
    assert [round(c.update(0.0)["lambda_pos"], 3) for _ in range(6)] == [0.0, 0.25, 0.5, 0.75, 1.0, 1.0]


def test_entropic_pi_and_state_roundtrip():
    c = EntroPIC(target=0.1, kp=1.0, ki=0.01)
    a1 = c.update(0.3)["entropic_alpha"]
    assert a1 == pytest.approx(0.2 + 0.01 * 0.2)
    assert c.update(5.0)["entropic_alpha"] == 1.0  # clipped
    state = c.state_dict()
    d = EntroPIC()
    d.load_state_dict(state)
    assert d.update(0.05) == c.update(0.05)
    with pytest.raises(ValueError, match="unknown state keys"):
        d.load_state_dict({"bogus": 1.0})


def test_make_controller_errors():
    assert isinstance(make_controller("entropic", target=0.2), EntroPIC)
    with pytest.raises(ValueError, match="unknown controller"):
        make_controller("pid")
    with pytest.raises(ValueError, match="unknown arguments"):
        make_controller("entropic", gain=1)


def test_initial_coefficients_apply_before_any_measurement():
    from entropy_rl.core.controllers import FixedCoefficient

    assert FixedCoefficient(field="entropy_coef", value=0.3).initial() == {"entropy_coef": 0.3}
    assert LambdaPosSchedule(lambda_pos=0.0).initial() == {"lambda_pos": 0.0}
    assert LinearLambdaPos(start=0.2).initial() == {"lambda_pos": 0.2}
    assert AdaptiveEntropyBonus().initial() == {"entropy_coef": 0.0}
    assert EntroPIC().initial() == {"entropic_alpha": 0.0}


def _closed_loop(controller, field, drift, steps=600, h0=0.5, seed=0):
    """Entropy as an integrating plant: each step H moves by ``drift(u)`` plus measurement-like
    noise; returns the entropy trajectory under ``controller``."""
    import random

    rng = random.Random(seed)
    h, u, hs = h0, controller.initial()[field], []
    for _ in range(steps):
        h = max(h + drift(u) + rng.gauss(0, 0.005), 0.0)
        hs.append(h)
        u = controller.update(h)[field]
    return hs


def test_entropy_pi_holds_a_band_on_an_integrating_plant():
    from entropy_rl.core.controllers import EntropyPI

    # λ_pos: full weight on positive tokens drains entropy, none raises it; equilibrium λ* = 0.4
    c = EntropyPI(field="lambda_pos", target=0.3, kp=4.0, ki=0.2)
    hs = _closed_loop(c, "lambda_pos", lambda lam: -0.01 * lam + 0.004)
    settled = hs[100:]
    assert sum(abs(h - 0.3) for h in settled) / len(settled) < 0.02  # mean absolute tracking error
    assert sum(abs(h - 0.3) < 0.05 for h in settled) / len(settled) > 0.95
    assert abs(sum(settled) / len(settled) - 0.3) < 0.01  # the integral removes the offset
    # an entropy bonus works the other way round: more coefficient, more entropy
    b = EntropyPI(field="entropy_coef", target=0.3, kp=0.2, ki=0.01, base=0.0, high=0.05)
    hs = _closed_loop(b, "entropy_coef", lambda coef: -0.004 + 0.2 * coef)
    assert sum(abs(h - 0.3) < 0.05 for h in hs[150:]) / len(hs[150:]) > 0.95
    # without the controller (λ_pos = 1 throughout) the same plant collapses
    open_loop = _closed_loop(EntropyPI(field="lambda_pos", kp=0.0, ki=0.0), "lambda_pos", lambda lam: -0.01 * lam + 0.004)
    assert max(open_loop[100:]) < 0.1


def test_entropy_pi_does_not_wind_up_while_saturated():
    from entropy_rl.core.controllers import EntropyPI

    c = EntropyPI(field="lambda_pos", target=0.3, kp=4.0, ki=0.2)
    for _ in range(200):  # far above the target: λ_pos held at 1, the integral must not grow
        assert c.update(0.8) == {"lambda_pos": 1.0}
    assert c.integral == 0.0
    assert c.update(0.25)["lambda_pos"] < 1.0  # below the target, it acts at once
    state = c.state_dict()
    d = EntropyPI()
    d.load_state_dict(state)
    assert d.update(0.2) == c.update(0.2)
    with pytest.raises(ValueError, match="not a remedy knob"):
        EntropyPI(field="clip_ratio_low")
    with pytest.raises(ValueError, match="low <= base <= high"):
        EntropyPI(base=2.0)


# Each remedy knob on a plant where the knob's declared direction is the true one: entropy drifts
# down by 0.004 a step and the knob, scaled into [0, 1] of its range, raises (or lowers) it.
KNOB_PLANTS = {
    # field: (controller args, the knob's effect on the entropy's rate at value u)
    "kl_cov_coef": ({"base": 0.0, "low": 0.0, "high": 10.0, "kp": 20.0, "ki": 1.0}, lambda u: 0.002 * u),
    "kl_cov_ratio": ({"base": 2e-3, "low": 1e-4, "high": 1.0, "scale": "log", "kp": 10.0, "ki": 0.5}, lambda u: 0.02 * u),
    "clip_cov_ratio": ({"base": 2e-4, "low": 1e-5, "high": 1.0, "scale": "log", "kp": 10.0, "ki": 0.5}, lambda u: 0.02 * u),
    "entropy_coef": ({"base": 0.0, "low": 0.0, "high": 0.2, "kp": 0.5, "ki": 0.02}, lambda u: 0.1 * u),
    "gppo_beta_low": ({"base": 1.0, "low": 0.0, "high": 1.0, "kp": 4.0, "ki": 0.2}, lambda u: 0.01 * (1 - u)),
    "lambda_pos": ({"base": 1.0, "low": 0.0, "high": 1.0, "kp": 4.0, "ki": 0.2}, lambda u: 0.01 * (1 - u)),
}


@pytest.mark.parametrize("field", sorted(KNOB_PLANTS))
def test_entropy_pi_holds_the_band_with_any_knob(field):
    from entropy_rl.core.controllers import EntropyPI

    args, effect = KNOB_PLANTS[field]
    c = EntropyPI(field=field, target=0.3, band=0.05, **args)
    hs = _closed_loop(c, field, lambda u: -0.004 + effect(u), h0=0.5)
    settled = hs[200:]
    assert sum(abs(h - 0.3) < 0.05 for h in settled) / len(settled) > 0.9, field
    assert c.at_bound == 0 and c.warning() is None
    # the same plant with the knob pinned where it started collapses below the band
    pinned = _closed_loop(EntropyPI(field=field, kp=0.0, ki=0.0, **{k: v for k, v in args.items() if k not in ("kp", "ki")}), field, lambda u: -0.004 + effect(u))
    assert max(pinned[200:]) < 0.25


def test_entropy_pi_target_as_a_fraction_of_the_start():
    from entropy_rl.core.controllers import EntropyPI

    c = EntropyPI(field="entropy_coef", target_fraction=0.5, band_fraction=0.1, base=0.0, high=0.2, kp=0.5, ki=0.02)
    c.update(0.8)
    assert c.target == pytest.approx(0.4) and c.band == pytest.approx(0.04)
    c.update(0.1)
    assert c.target == pytest.approx(0.4)  # fixed at the start, not re-derived
    d = EntropyPI(field="entropy_coef", base=0.0, high=0.2)
    d.load_state_dict(c.state_dict())
    assert d.target == pytest.approx(0.4) and d.update(0.2) == c.update(0.2)


def test_entropy_pi_says_when_the_knob_saturates():
    from entropy_rl.core.controllers import EntropyPI

    # the bonus is capped far below what the plant needs: entropy stays under the band
    c = EntropyPI(field="entropy_coef", target=0.3, band=0.05, base=0.0, high=0.01, kp=0.5, ki=0.02, saturation_steps=5)
    hs = _closed_loop(c, "entropy_coef", lambda u: -0.004 + 0.1 * u, steps=200)
    assert hs[-1] < 0.25 and c.at_bound == 1 and c.value == 0.01
    assert c.logged()["controller_at_bound"] == 1.0 and c.logged()["controller_value"] == 0.01
    assert c.stuck >= 5
    c2 = EntropyPI(field="entropy_coef", target=0.3, band=0.05, base=0.0, high=0.01, kp=0.5, ki=0.02, saturation_steps=5)
    messages = [c2.update(0.1) and c2.warning() for _ in range(10)]
    assert messages[:4] == [None] * 4 and "upper bound 0.01" in messages[4] and "cannot reach" in messages[4]
    assert messages[5:] == [None] * 5  # said once
    # at the bound but inside the band (or on the side the knob fixes by itself): no warning
    c3 = EntropyPI(field="entropy_coef", target=0.3, base=0.0, high=0.2, kp=0.5, ki=0.0, saturation_steps=2)
    for _ in range(5):
        c3.update(0.9)  # far above: the bonus sits at 0 ...
    assert c3.at_bound == -1 and c3.stuck == 5 and "lower bound 0" in c3.warning()
    c4 = EntropyPI(field="entropy_coef", target=0.3, base=0.0, high=0.2, kp=0.5, ki=0.0, saturation_steps=2)
    for _ in range(5):
        c4.update(0.32)  # ... and inside the band it is where it should be
    assert c4.at_bound == -1 and c4.stuck == 0 and c4.warning() is None


def test_entropy_pi_knob_direction_and_bounds_are_checked():
    from entropy_rl.core.controllers import EntropyPI

    # KL-Cov's β raises entropy: below the target it grows; CE-GPPO's β₁ lowers it: it shrinks
    assert EntropyPI(field="kl_cov_coef", target=0.3, base=1.0, low=0.0, high=10.0).update(0.1)["kl_cov_coef"] > 1.0
    assert EntropyPI(field="gppo_beta_low", target=0.3, base=0.5, low=0.0, high=1.0).update(0.1)["gppo_beta_low"] < 0.5
    with pytest.raises(ValueError, match="scale 'log' needs low > 0"):
        EntropyPI(field="kl_cov_ratio", scale="log", base=0.1, low=0.0, high=1.0)
    with pytest.raises(ValueError, match="leaves kl_cov_ratio's range"):
        EntropyPI(field="kl_cov_ratio", base=0.1, low=0.0, high=2.0)
    with pytest.raises(ValueError, match="scale must be one of"):
        EntropyPI(field="kl_cov_ratio", scale="exp", base=0.1)
    with pytest.raises(ValueError, match="measured entropy is nan"):
        EntropyPI().update(float("nan"))


def test_config_refuses_a_knob_the_loss_does_not_read():
    from entropy_rl.config import AlgorithmConfig

    ok = AlgorithmConfig(loss="kl_cov", controller="entropy_pi", controller_args={"field": "kl_cov_coef", "base": 1.0, "high": 10.0})
    assert ok.controller_args["field"] == "kl_cov_coef"
    with pytest.raises(ValueError, match="controller_args.field: 'kl_cov_coef' is read by kl_cov, not by the loss 'ppo'"):
        AlgorithmConfig(loss="ppo", controller="entropy_pi", controller_args={"field": "kl_cov_coef", "base": 1.0, "high": 10.0})
    AlgorithmConfig(loss="clip_cov", controller="entropy_pi", controller_args={"field": "entropy_coef", "base": 0.0, "high": 0.2})
