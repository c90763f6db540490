import pytest
import torch

from entropy_rl.core.advantages import ADVANTAGE_ESTIMATORS, entropy_shaped_advantage, get_advantage_estimator

R = torch.tensor([[1.0, 0.0, 0.0, 1.0], [1.0, 1.0, 1.0, 1.0]])
MASK = torch.ones(8, 3)
MASK[1, 2] = 0


def test_grpo_and_drgrpo_by_hand():
    adv = get_advantage_estimator("grpo")(R, MASK)
    std = torch.tensor([1.0, 0.0, 0.0, 1.0]).std()  # unbiased: 0.5774
    assert torch.allclose(adv[0], torch.full((3,), 0.5 / (float(std) + 1e-6)))
    assert adv[1, 2] == 0  # padding stays zero
    assert torch.all(adv[4:] == 0)  # all-correct group carries no signal
    dr = get_advantage_estimator("drgrpo")(R, MASK)
    assert torch.allclose(dr[0], torch.full((3,), 0.5)) and torch.allclose(dr[1, :2], torch.full((2,), -0.5))


def test_rloo_by_hand():
    adv = get_advantage_estimator("rloo")(R, MASK)
    assert torch.allclose(adv[0], torch.full((3,), 1 - 1 / 3))
    assert torch.allclose(adv[1, :2], torch.full((2,), 0 - 2 / 3))


def test_reinforce_pp_whitened_over_valid_tokens():
    adv = get_advantage_estimator("reinforce_pp")(R, MASK)
    vals = adv[MASK.bool()]
    assert abs(float(vals.mean())) < 1e-5 and abs(float(vals.std()) - 1) < 1e-4
    assert adv[1, 2] == 0


def test_nsr_weights():
    adv = get_advantage_estimator("nsr")(R, MASK, lam=0.1)
    assert torch.allclose(adv[0], torch.full((3,), 0.1)) and torch.allclose(
        adv[1, :2], torch.full((2,), -1.0)
    )


def test_entropy_shaped_clip():
    adv = torch.tensor([[1.0, 1.0, -1.0]])
    ent = torch.tensor([[0.5, 5.0, 5.0]], requires_grad=True)
    out = entropy_shaped_advantage(adv, ent, torch.ones(1, 3), alpha=0.4, kappa=2.0)
    # 0.4*0.5 = 0.2 < 0.5; 0.4*5 = 2 clipped to |A|/2 = 0.5 (never flips A<0 sign)
    assert torch.allclose(out, torch.tensor([[1.2, 1.5, -0.5]]))
    assert not out.requires_grad


def test_registry_and_errors():
    assert {"grpo", "drgrpo", "rloo", "reinforce_pp", "nsr"} <= set(ADVANTAGE_ESTIMATORS)
    with pytest.raises(ValueError, match="unknown advantage"):
        get_advantage_estimator("gae")
    with pytest.raises(ValueError, match="8 responses but mask has 3"):
        get_advantage_estimator("grpo")(R, torch.ones(3, 2))


def _qae_reference(group: list[float], k: float, norm_std: bool = True, eps: float = 1e-6) -> list[float]:
    """QAE from the paper: the baseline is the empirical K-quantile inf{x : F(x) >= K}."""
    xs = sorted(group)
    baseline = next(x for x in xs if sum(y <= x for y in xs) / len(xs) >= k)
    mean = sum(group) / len(group)
    std = (sum((x - mean) ** 2 for x in group) / (len(group) - 1)) ** 0.5
    return [(x - baseline) / ((std + eps) if norm_std else 1.0) for x in group]


@pytest.mark.parametrize("k", [0.2, 0.4, 0.5, 0.6, 0.8])
def test_qae_against_a_reference_from_the_paper(k):
    torch.manual_seed(0)
    rewards = torch.cat([(torch.rand(6, 8) < torch.linspace(0.05, 0.95, 6).unsqueeze(1)).float(), torch.rand(2, 8)])
    mask = torch.ones(64, 3)
    for norm_std in (True, False):
        adv = get_advantage_estimator("qae")(rewards, mask, quantile=k, norm_std=norm_std)
        ref = [a for g in rewards.tolist() for a in _qae_reference(g, k, norm_std)]
        assert torch.allclose(adv[:, 0], torch.tensor(ref), atol=1e-5)


def test_qae_two_regimes_with_binary_rewards():
    # K = 0.4: a group with p <= 0.6 has baseline 0 (only successes move), p > 0.6 baseline 1
    # (only failures move)
    hard = torch.tensor([[1.0, 1.0, 1.0, 0.0, 0.0]])  # p = 0.6
    easy = torch.tensor([[1.0, 1.0, 1.0, 1.0, 0.0]])  # p = 0.8
    fn = get_advantage_estimator("qae")
    a_hard = fn(hard, torch.ones(5, 1), quantile=0.4)[:, 0]
    a_easy = fn(easy, torch.ones(5, 1), quantile=0.4)[:, 0]
    assert (a_hard[:3] > 0).all() and (a_hard[3:] == 0).all()
    assert (a_easy[:4] == 0).all() and a_easy[4] < 0
    with pytest.raises(ValueError, match="quantile must be in"):
        fn(hard, torch.ones(5, 1), quantile=1.0)


def test_qae_offers_the_authors_linear_quantile_and_says_where_it_differs():
    """method="linear" is torch.quantile (the authors' code); the default, the ⌈K·G⌉-th smallest,
    differs from it at G = 8, K = 0.4 for exactly one success count (5 of 8)."""
    fn = get_advantage_estimator("qae")
    mask = torch.ones(8, 2)
    differ = []
    for succ in range(9):
        r = torch.tensor([[1.0] * succ + [0.0] * (8 - succ)])
        order = fn(r, mask, quantile=0.4, norm_std=False)
        linear = fn(r, mask, quantile=0.4, norm_std=False, method="linear")
        assert torch.allclose(r[0, 0] - linear[0, 0], torch.quantile(r, 0.4))
        if not torch.equal(order, linear):
            differ.append(succ)
    assert differ == [5]
    with pytest.raises(ValueError, match="method"):
        fn(torch.zeros(1, 8), mask, method="nearest")
