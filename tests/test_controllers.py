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
