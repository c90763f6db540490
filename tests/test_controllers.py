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
    with pytest.raises(ValueError, match="field must be one of"):
        EntropyPI(field="clip_ratio_low")
    with pytest.raises(ValueError, match="low <= base <= high"):
        EntropyPI(base=2.0)
