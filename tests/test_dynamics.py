import numpy as np
import torch

from entropy_rl.analysis.plots import plot_bandit
from entropy_rl.core import dynamics
from entropy_rl.core.bandit import run_bandit


def test_first_order_change_matches_finite_difference():
    torch.manual_seed(0)
    z = torch.randn(5, 30, dtype=torch.float64)
    dz = torch.randn(5, 30, dtype=torch.float64)
    eps = 1e-6
    numeric = (dynamics.softmax_entropy(z + eps * dz) - dynamics.softmax_entropy(z - eps * dz)) / (2 * eps)
    assert torch.allclose(dynamics.first_order_entropy_change(z, dz), numeric, rtol=1e-6)


def test_closed_forms_equal_first_order_of_their_steps():
    torch.manual_seed(1)
    z = torch.randn(64, dtype=torch.float64)
    adv = dynamics.centred_advantage(z, torch.rand(64, dtype=torch.float64))
    lr = 0.01
    van = dynamics.first_order_entropy_change(z, dynamics.vanilla_pg_logit_step(z, adv, lr))
    nat = dynamics.first_order_entropy_change(z, dynamics.natural_pg_logit_step(z, adv, lr))
    assert torch.allclose(van, dynamics.predicted_entropy_change_vanilla(z, adv, lr))
    assert torch.allclose(nat, dynamics.predicted_entropy_change_natural(z, adv, lr))


def test_random_logit_noise_changes_entropy_at_second_order():
    """The higher-order part of the entropy budget: zero-mean logit noise has no first-order
    effect on average, but lowers a spread distribution's entropy and raises a nearly
    deterministic one's, by an amount that scales with σ²."""
    gen = torch.Generator().manual_seed(0)

    def mean_change(z, sigma, n=20_000):
        noise = sigma * torch.randn(n, z.numel(), generator=gen, dtype=torch.float64)
        return float((dynamics.softmax_entropy(z + noise) - dynamics.softmax_entropy(z)).mean())

    spread = 0.3 * torch.randn(20, generator=gen, dtype=torch.float64)
    small, large = mean_change(spread, 0.05), mean_change(spread, 0.1)
    assert small < 0 and large < 0
    assert 3.0 < large / small < 5.0  # O(σ²): doubling σ quadruples the loss
    peaked = torch.tensor([8.0] + [0.0] * 19, dtype=torch.float64)  # π(top) ≈ 0.99
    assert mean_change(peaked, 0.1) > 0


def test_bandit_prediction_and_sign(tmp_path):
    res = run_bandit(n_trials=100, n_actions=64, lr=1e-3, seed=3)
    assert len(res.form) == 200
    assert res.relative_error.max() < 0.05
    assert res.sign_agreement == 1.0
    # larger steps break the first-order prediction: the test can tell the difference
    big = run_bandit(n_trials=20, n_actions=64, lr=5.0, seed=3)
    assert big.relative_error.max() > 0.05
    png = plot_bandit(res, tmp_path / "bandit.png")
    assert png.stat().st_size > 10_000


def test_covariance_top_share():
    cov = torch.zeros(1, 1000)
    cov[0, 0] = 90.0
    cov[0, 1:11] = 1.0  # total 100; the top 0.2 % (2 tokens) carry 91 %
    share = dynamics.covariance_top_share(cov, torch.ones(1, 1000), fractions=(2e-4, 2e-3, 2e-2))
    assert np.isclose(share[2e-4], 0.90) and np.isclose(share[2e-3], 0.91) and np.isclose(share[2e-2], 1.0)
    # negative covariance (the total near 0): still a share of the positive mass, in [0, 1]
    cov[0, 11:111] = -1.0  # Σ Cov_i = 0
    share = dynamics.covariance_top_share(cov, torch.ones(1, 1000), fractions=(2e-4, 2e-3, 2e-2))
    assert np.isclose(share[2e-4], 0.90) and all(0 <= v <= 1 for v in share.values())
    assert all(np.isnan(v) for v in dynamics.covariance_top_share(-cov.abs(), torch.ones(1, 1000)).values())


def test_sums_by_token_and_drivers_by_hand():
    tokens = torch.tensor([[5, 6, 5], [6, 7, 0]])
    mask = torch.tensor([[1, 1, 1], [1, 1, 0]])
    cov = torch.tensor([[0.5, -0.1, 0.25], [0.2, 0.05, 9.0]])  # 9.0 is padding
    ent = torch.tensor([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]])
    stats = dynamics.sums_by_token(tokens, mask, 8, cov, ent)
    assert stats.shape == (8, 3) and stats.dtype == torch.float64
    assert stats[5].tolist() == [2.0, 0.75, 4.0]
    assert torch.allclose(stats[6], torch.tensor([2.0, 0.1, 6.0], dtype=torch.float64))
    assert stats[0].tolist() == [0.0, 0.0, 0.0]  # the padded position is not counted
    drivers = dynamics.token_drivers(stats, lambda i: f"t{i}", top=2)
    assert drivers["tokens_total"] == 5 and np.isclose(drivers["covariance_total"], 0.9)
    assert [d["token"] for d in drivers["top"]] == ["t5", "t6"]
    assert np.isclose(drivers["top"][0]["covariance_share"], 0.75 / 0.9)
    assert drivers["top"][0]["mean_entropy"] == 2.0 and drivers["top"][1]["count"] == 2
