import math

import pytest
import torch

from entropy_rl.core.dynamics import covariance, token_covariance
from entropy_rl.core.losses import (
    LOSS_METRICS,
    POLICY_LOSSES,
    LossConfig,
    aggregate_loss,
    get_policy_loss,
    k3_kl,
    register_policy_loss,
)


def isclose(a, b, rel_tol=1e-5, abs_tol=1e-7):
    """fp32 arithmetic: compare to 1e-5 relative."""
    return math.isclose(a, b, rel_tol=rel_tol, abs_tol=abs_tol)


# The digest's worked example (Cui et al. 2025 selection semantics).
A = torch.tensor([[1.0, 1.0, 1.0], [-1.0, -1.0, 0.0]])
MASK = torch.tensor([[1.0, 1.0, 1.0], [1.0, 1.0, 0.0]])
LOGP = torch.tensor([[-0.1, -0.2, -3.0], [-0.1, -2.0, -7.0]])


def test_token_covariance_worked_example():
    cov = token_covariance(LOGP, A, MASK)
    expected = torch.tensor([[0.784, 0.704, -1.536], [-1.176, 1.104, 0.0]])
    assert torch.allclose(cov, expected, atol=1e-6)
    assert isclose(float(covariance(LOGP, A, MASK)), float(expected.sum() / 5))


def test_aggregate_modes_by_hand():
    loss = torch.tensor([[1.0, 2.0, 3.0], [4.0, 5.0, 100.0], [7.0, 7.0, 7.0]])
    mask = torch.tensor([[1.0, 1.0, 1.0], [1.0, 1.0, 0.0], [0.0, 0.0, 0.0]])  # last row fully masked
    assert isclose(float(aggregate_loss(loss, mask, "token-mean")), 15 / 5)
    assert isclose(float(aggregate_loss(loss, mask, "seq-mean-token-sum")), (6 + 9) / 2)
    assert isclose(float(aggregate_loss(loss, mask, "seq-mean-token-mean")), (2 + 4.5) / 2)
    assert isclose(float(aggregate_loss(loss, mask, "seq-mean-token-sum-norm")), (6 / 3 + 9 / 3) / 2)
    assert isclose(float(aggregate_loss(loss, mask, "seq-mean-token-sum-norm", 10.0)), (0.6 + 0.9) / 2)
    empty = aggregate_loss(loss.requires_grad_(), torch.zeros_like(mask), "token-mean")
    assert float(empty.detach()) == 0.0
    empty.backward()  # still differentiable
    with pytest.raises(ValueError, match="loss_agg_mode"):
        aggregate_loss(loss, mask, "mean")


def test_registry_names_and_unknown():
    assert {"ppo", "clip_cov", "kl_cov", "pos_neg", "high_entropy", "reinforce", "entropic"} <= set(
        POLICY_LOSSES
    )
    with pytest.raises(ValueError, match="unknown policy loss 'nope'"):
        get_policy_loss("nope")


def test_ppo_clip_and_dual_clip_by_hand():
    cfg = LossConfig(clip_ratio_low=0.2, clip_ratio_high=0.28, clip_ratio_c=3.0)
    old = torch.zeros(1, 4)
    # ratios 1.5 (A>0: clipped high), 0.5 (A<0: clipped low), 1.0, 5.0 (A<0: dual clip)
    logp = torch.log(torch.tensor([[1.5, 0.5, 1.0, 5.0]])).requires_grad_()
    adv = torch.tensor([[1.0, -1.0, 2.0, -1.0]])
    mask = torch.ones(1, 4)
    loss, m = get_policy_loss("ppo")(logp, old, adv, mask, cfg)
    # per-token: -1.28, max(0.5, 0.8)=0.8, -2.0, min(max(5, 1.2), 3)=3
    assert isclose(float(loss.detach()), (-1.28 + 0.8 - 2.0 + 3.0) / 4)
    assert m["clip_frac_high"] == 0.25 and m["clip_frac_low"] == 0.25 and m["clip_frac_dual"] == 0.25
    loss.backward()
    # clipped and dual-clipped tokens carry no gradient; the free one has d/dlogp = -A*r/4
    assert torch.allclose(logp.grad, torch.tensor([[0.0, 0.0, -0.5, 0.0]]))


def test_clip_cov_selects_the_single_candidate():
    cfg = LossConfig(clip_cov_ratio=0.2, clip_cov_lb=1.0, clip_cov_ub=5.0)
    logp = LOGP.clone().requires_grad_()
    loss, m = get_policy_loss("clip_cov")(logp, LOGP.clone(), A, MASK, cfg)
    loss.backward()
    # on-policy: d/dlogp of -A*r is -A/5 except for the detached token (1, 1)
    expected = -A * MASK / 5
    expected[1, 1] = 0.0
    assert torch.allclose(logp.grad, expected)
    assert isclose(m["selected_frac"], 0.2)
    assert isclose(m["candidate_frac"], 0.2)


def test_clip_cov_no_candidates_is_plain_loss_and_seeded_choice_reproducible():
    torch.manual_seed(0)
    logp = torch.randn(4, 50) - 2
    adv = torch.randn(4, 50) * 3
    mask = torch.ones(4, 50)
    cfg = LossConfig(clip_cov_ratio=0.05, clip_cov_lb=0.0, clip_cov_ub=100.0)
    picks = []
    for _ in range(2):
        cfg.generator = torch.Generator().manual_seed(7)
        lp = logp.clone().requires_grad_()
        loss, _ = get_policy_loss("clip_cov")(lp, logp, adv, mask, cfg)
        loss.backward()
        picks.append(lp.grad == 0)
    assert torch.equal(picks[0], picks[1]) and int(picks[0].sum()) == 10
    none = LossConfig(clip_cov_lb=1e6, clip_cov_ub=1e7)
    l1, m = get_policy_loss("clip_cov")(logp, logp, adv, mask, none)
    l2, _ = get_policy_loss("ppo")(logp, logp, adv, mask, LossConfig())
    assert m["selected_frac"] == 0.0 and torch.allclose(l1, l2)


def test_kl_cov_penalises_top_token_and_is_inert_on_policy():
    cfg = LossConfig(kl_cov_ratio=0.2, kl_cov_coef=1.0)
    fn = get_policy_loss("kl_cov")
    # on-policy: identical to -A*r (penalty 0), whatever is selected
    loss_on, m = fn(LOGP, LOGP, A, MASK, cfg)
    assert isclose(float(loss_on), float(-(A * MASK).sum() / 5))
    assert isclose(m["selected_frac"], 0.2) and m["kl_cov_penalty"] == 0.0
    # off-policy: only token (1,1) (Cov 1.104, the largest) gets |Δlogp| added
    old = LOGP - 0.3
    loss_off, m = fn(LOGP, old, A, MASK, cfg)
    base = float(-(A * torch.exp(LOGP - old) * MASK).sum() / 5)
    assert isclose(float(loss_off), base + 0.3 / 5)
    assert isclose(m["kl_cov_penalty"], 0.3)


def test_pos_neg_weights_and_reinforce():
    logp = torch.full((1, 3), -1.0, requires_grad=True)
    adv = torch.tensor([[2.0, -1.0, 0.0]])
    mask = torch.ones(1, 3)
    cfg = LossConfig(lambda_pos=0.25, lambda_neg=1.0)
    loss, m = get_policy_loss("pos_neg")(logp, logp.detach(), adv, mask, cfg)
    assert isclose(float(loss.detach()), (-2.0 * 0.25 + 1.0) / 3)
    assert m["lambda_pos"] == 0.25
    loss_r, _ = get_policy_loss("reinforce")(logp, logp.detach(), adv, mask, LossConfig())
    assert isclose(float(loss_r.detach()), -(2.0 * -1.0 + -1.0 * -1.0) / 3)


def test_cispo_clips_the_weight_but_keeps_every_gradient():
    # ratios 1.5 (A > 0) and 0.5 (A < 0): PPO would give both zero gradient; CISPO clips their
    # weights to 1.28 and 0.8 and keeps −w·A as each token's gradient on log π.
    old = torch.zeros(1, 3)
    logp = torch.log(torch.tensor([[1.5, 0.5, 1.0]])).requires_grad_()
    adv = torch.tensor([[1.0, -1.0, 2.0]])
    cfg = LossConfig(clip_ratio_low=0.2, clip_ratio_high=0.28)
    loss, m = get_policy_loss("cispo")(logp, old, adv, torch.ones(1, 3), cfg)
    lp = logp.detach()
    expected = -(torch.tensor([[1.28, 0.8, 1.0]]) * adv * lp).sum() / 3
    assert isclose(float(loss.detach()), float(expected))
    loss.backward()
    assert torch.allclose(logp.grad, -torch.tensor([[1.28, -0.8, 2.0]]) / 3)
    assert isclose(m["clip_frac"], 2 / 3) and isclose(m["clip_frac_high"], 1 / 3)
    ppo_logp = logp.detach().clone().requires_grad_()
    get_policy_loss("ppo")(ppo_logp, old, adv, torch.ones(1, 3), cfg)[0].backward()
    assert ppo_logp.grad[0, 0] == 0 and ppo_logp.grad[0, 1] == 0


def test_gspo_clips_on_the_sequence_ratio():
    # Sequence 0: token log-ratios 0.2 and −0.1, mean 0.05: s = e^0.05 ≈ 1.051 on both tokens,
    # inside ε = 0.2; sequence 1: mean log-ratio 0.5 → s ≈ 1.65 > 1.2 with A > 0: clipped.
    old = torch.zeros(2, 2)
    logp = torch.tensor([[0.2, -0.1], [0.5, 0.5]]).requires_grad_()
    adv = torch.tensor([[1.0, 1.0], [1.0, 1.0]])
    mask = torch.ones(2, 2)
    cfg = LossConfig(clip_ratio_low=0.2, clip_ratio_high=0.2, loss_agg_mode="seq-mean-token-mean")
    loss, m = get_policy_loss("gspo")(logp, old, adv, mask, cfg)
    s0 = math.exp(0.05)
    assert isclose(float(loss.detach()), (-s0 - 1.2) / 2)
    loss.backward()
    # d/dlog π_t of −A·s_t is −A·s (value of the sequence ratio) / tokens / sequences.
    assert torch.allclose(logp.grad, torch.tensor([[-s0 / 4, -s0 / 4], [0.0, 0.0]]))
    assert m["clip_frac"] == 0.5 and m["clip_frac_high"] == 0.5
    # One token per sequence: GSPO is the token-level PPO clip without the dual clip.
    lp1 = torch.tensor([[0.3], [-0.6]])
    a1 = torch.tensor([[1.0], [-1.0]])
    l_gspo, _ = get_policy_loss("gspo")(lp1, torch.zeros(2, 1), a1, torch.ones(2, 1), LossConfig())
    l_ppo, _ = get_policy_loss("ppo")(lp1, torch.zeros(2, 1), a1, torch.ones(2, 1), LossConfig())
    assert isclose(float(l_gspo), float(l_ppo))


def test_entropic_weights_only_confident_tokens():
    old = torch.log(torch.tensor([[0.99, 0.99, 0.5]]))
    adv = torch.tensor([[1.0, -1.0, 1.0]])
    cfg = LossConfig(entropic_alpha=0.5)
    loss, m = get_policy_loss("entropic")(old.clone(), old, adv, torch.ones(1, 3), cfg)
    assert isclose(float(loss.detach()), (-1.5 + 0.5 - 1.0) / 3)
    assert isclose(m["selected_frac"], 2 / 3)


def test_high_entropy_keeps_top_quantile_and_renormalises():
    adv = torch.tensor([[1.0, 2.0, 3.0, 4.0, 5.0]])
    logp = torch.zeros(1, 5)
    ent = torch.tensor([[0.1, 0.2, 0.3, 0.4, 0.5]])
    cfg = LossConfig(entropy_quantile=0.4)  # threshold 0.34: keeps the last two
    loss, m = get_policy_loss("high_entropy")(logp, logp, adv, torch.ones(1, 5), cfg, entropy=ent)
    assert isclose(float(loss.detach()), -(4 + 5) / 2)
    assert isclose(m["selected_frac"], 0.4)
    with pytest.raises(ValueError, match="needs the `entropy`"):
        get_policy_loss("high_entropy")(logp, logp, adv, torch.ones(1, 5), cfg)


def test_entropy_bonus_gradient_and_common_metrics():
    logp = torch.zeros(2, 3)
    adv = torch.tensor([[1.0, 1.0, 1.0], [-1.0, -1.0, -1.0]])
    ent = torch.ones(2, 3, requires_grad=True)
    cfg = LossConfig(entropy_coef=0.1)
    for name, fn in POLICY_LOSSES.items():
        loss, m = fn(LOGP[:, :3] * 0 + logp, logp, adv, torch.ones(2, 3), cfg, entropy=ent)
        for key in (
            "loss",
            "covariance",
            "covariance_pos",
            "covariance_neg",
            "loss_share_pos",
            "loss_share_neg",
            "approx_kl",
            "selected_frac",
            "entropy_bonus",
        ):
            assert key in m and math.isfinite(m[key]), (name, key)
        assert isclose(m["covariance_pos"] + m["covariance_neg"], m["covariance"], abs_tol=1e-7)
        assert m["selected_frac"] == 1.0, name  # the bonus acts on every token, whatever else selects
    _, m = get_policy_loss("ppo")(logp, logp, adv, torch.ones(2, 3), LossConfig(), entropy=ent)
    assert m["selected_frac"] == 0.0
    loss, _ = get_policy_loss("ppo")(logp, logp, adv, torch.ones(2, 3), cfg, entropy=ent)
    loss.backward()
    assert torch.allclose(ent.grad, torch.full((2, 3), -0.1 / 6))
    with pytest.raises(ValueError, match="entropy_coef"):
        get_policy_loss("ppo")(logp, logp, adv, torch.ones(2, 3), cfg)


def test_loss_share_by_sign():
    logp = torch.zeros(1, 4)
    adv = torch.tensor([[3.0, 1.0, -1.0, 0.0]])
    _, m = get_policy_loss("ppo")(logp, logp, adv, torch.ones(1, 4), LossConfig())
    assert isclose(m["loss_share_pos"], 0.8) and isclose(m["loss_share_neg"], 0.2)


def test_bad_config_values():
    with pytest.raises(ValueError, match="loss_agg_mode"):
        LossConfig(loss_agg_mode="sum")
    with pytest.raises(ValueError, match="clip_ratio_c"):
        LossConfig(clip_ratio_c=0.5)


def test_importance_weights_scale_each_token_after_selection():
    """Engine-mismatch weights multiply the per-token loss (and its gradient) of every loss; the
    remedies choose the same tokens as without them; (batch, 1) weights scale whole sequences."""
    w = torch.tensor([[0.5, 2.0, 1.0], [0.0, 3.0, 9.0]])
    old = LOGP - 0.3  # off-policy, so KL-Cov's penalty is active
    entropy = torch.rand(2, 3)
    for name in sorted(POLICY_LOSSES):
        cfg = LossConfig(clip_cov_ratio=0.2, kl_cov_ratio=0.2)
        grads = []
        for weights in (None, w):
            cfg.generator = torch.Generator().manual_seed(3)
            logp = LOGP.clone().requires_grad_()
            loss, m = get_policy_loss(name)(logp, old, A, MASK, cfg, entropy=entropy, weights=weights)
            loss.backward()
            grads.append(logp.grad)
        # Every loss aggregates a per-token term: its gradient on each token scales by that token's weight.
        assert torch.allclose(grads[1], grads[0] * w), name
    # ppo by hand, token-mean: every ratio is e^0.3 ≈ 1.35, so A > 0 tokens are clipped at 1.2
    # and A < 0 tokens keep 1.35 (the dual clip, c = 3, does not bind); then × w.
    loss, _ = get_policy_loss("ppo")(LOGP, old, A, MASK, LossConfig(), weights=w)
    r = math.exp(0.3)
    per_token = torch.tensor([[-1.2, -1.2, -1.2], [r, r, 0.0]])
    assert isclose(float(loss), float((per_token * w * MASK).sum() / 5))
    # Sequence-level weights broadcast over the tokens.
    seq = torch.tensor([[2.0], [0.5]])
    l_seq, _ = get_policy_loss("ppo")(LOGP, old, A, MASK, LossConfig(), weights=seq)
    l_full, _ = get_policy_loss("ppo")(LOGP, old, A, MASK, LossConfig(), weights=seq.expand(2, 3))
    assert isclose(float(l_seq), float(l_full))
    with pytest.raises(ValueError, match=r"weights must have shape .*\(2, 3\).*got \(3,\)"):
        get_policy_loss("ppo")(LOGP, old, A, MASK, LossConfig(), weights=torch.ones(3))


def test_every_loss_reports_only_documented_metrics():
    # the trainer logs LOSS_METRICS as its columns: a key outside it would be a silent new column
    torch.manual_seed(0)
    lp = torch.randn(4, 5)
    old = lp + 0.1 * torch.randn(4, 5)
    adv = torch.randn(4, 1).expand(4, 5)
    cfg = LossConfig(entropy_coef=0.01, clip_cov_lb=-10.0, clip_cov_ub=10.0)
    for name, fn in POLICY_LOSSES.items():
        _, m = fn(lp, old, adv, torch.ones(4, 5), cfg, entropy=torch.rand(4, 5))
        assert set(m) <= set(LOSS_METRICS), (name, set(m) - set(LOSS_METRICS))
        assert {"loss", "covariance", "approx_kl"} <= set(m)


def test_registry_refuses_a_wrong_signature_and_a_duplicate_name():
    with pytest.raises(TypeError, match="must take"):

        @register_policy_loss("bad_signature")
        def bad(log_prob, old_log_prob, advantages, mask, config):
            raise AssertionError

    assert "bad_signature" not in POLICY_LOSSES
    with pytest.raises(ValueError, match="already registered"):
        register_policy_loss("ppo")(POLICY_LOSSES["ppo"])
    with pytest.raises(ValueError, match="unknown policy loss 'nope': known .*'ppo'"):
        get_policy_loss("nope")


def test_k3_kl_is_the_schulman_estimator():
    lp = torch.tensor([[-1.0, -2.0]])
    ref = torch.tensor([[-1.5, -1.0]])
    r = ref - lp
    assert torch.allclose(k3_kl(lp, ref), torch.exp(r) - r - 1)
    assert float(k3_kl(lp, lp).abs().max()) == 0.0
    assert bool((k3_kl(lp, ref) >= 0).all())


def test_loss_config_update_sets_fields_and_refuses_unknown_ones():
    cfg = LossConfig()
    cfg.update({"lambda_pos": 0.25, "entropy_coef": 0.01})
    assert cfg.lambda_pos == 0.25 and cfg.dynamic_state()["entropy_coef"] == 0.01
    with pytest.raises(ValueError, match="no field 'lambda_typo'"):
        cfg.update({"lambda_typo": 1.0})


def test_pos_neg_counts_the_tokens_it_reweights():
    adv = torch.tensor([[1.0, -1.0, 0.0, 2.0]])
    logp = torch.log(torch.full((1, 4), 0.5))
    mask = torch.ones(1, 4)
    _, m = get_policy_loss("pos_neg")(logp, logp, adv, mask, LossConfig(lambda_pos=0.5))
    assert m["selected_frac"] == pytest.approx(0.5)  # the two A > 0 tokens
    _, m = get_policy_loss("pos_neg")(logp, logp, adv, mask, LossConfig(lambda_pos=1.0, lambda_neg=1.0))
    assert m["selected_frac"] == 0.0


def _ce_gppo_reference(log_prob, old_log_prob, adv, eps_low, eps_high, c, beta1, beta2):
    """CE-GPPO written from the paper's loss, token by token: returns each token's (loss value,
    d loss / d log π)."""
    out = []
    for lp, olp, a in zip(log_prob.tolist(), old_log_prob.tolist(), adv.tolist(), strict=True):
        r = math.exp(lp - olp)
        if r < 1 - eps_low and a < 0:
            value, grad = -beta1 * (1 - eps_low) * a, -beta1 * (1 - eps_low) * a  # r / sg(r) = 1, ∇ = ∇log π
        elif r > 1 + eps_high and a > 0:
            value, grad = -beta2 * (1 + eps_high) * a, -beta2 * (1 + eps_high) * a
        else:
            value, grad = -a * r, -a * r  # d(−A·r)/d log π = −A·r
        if a < 0 and -a * c < value:  # dual clip: the constant −c·A, no gradient
            value, grad = -a * c, 0.0
        out.append((value, grad))
    return out


@pytest.mark.parametrize("beta1,beta2", [(0.75, 1.0), (0.5, 0.25), (0.0, 0.0)])
def test_ce_gppo_against_a_reference_from_the_paper(beta1, beta2):
    # every case: inside the clip range, below it with A < 0 and A > 0, above it with A > 0 and
    # A < 0, and a ratio far above 1 with A < 0 where the dual clip binds
    ratios = [1.0, 0.5, 0.5, 1.6, 1.6, 5.0, 1.1, 0.9]
    adv = torch.tensor([[1.0, -1.0, 2.0, 1.5, -0.5, -1.0, -2.0, 0.7]])
    old = torch.full((1, 8), -1.0)
    logp = (old + torch.log(torch.tensor([ratios]))).requires_grad_()
    cfg = LossConfig(clip_ratio_low=0.2, clip_ratio_high=0.28, clip_ratio_c=3.0, gppo_beta_low=beta1, gppo_beta_high=beta2)
    loss, m = get_policy_loss("ce_gppo")(logp, old, adv, torch.ones(1, 8), cfg)
    ref = _ce_gppo_reference(logp.detach()[0], old[0], adv[0], 0.2, 0.28, 3.0, beta1, beta2)
    assert isclose(float(loss.detach()), sum(v for v, _ in ref) / 8)
    loss.backward()
    assert torch.allclose(logp.grad[0], torch.tensor([g for _, g in ref]) / 8, atol=1e-6)
    assert isclose(m["clip_frac_low"], 1 / 8) and isclose(m["clip_frac_high"], 1 / 8)
    assert isclose(m["selected_frac"], ((beta1 > 0) + (beta2 > 0)) / 8)
    assert isclose(m["clip_frac_dual"], 1 / 8)


def test_ce_gppo_with_zero_betas_has_ppos_gradient_and_restores_what_ppo_clips():
    torch.manual_seed(1)
    old = torch.randn(3, 6)
    lp0 = old + 0.6 * torch.randn(3, 6)  # many ratios outside [0.8, 1.2]
    adv = torch.randn(3, 1).expand(3, 6)
    mask = torch.ones(3, 6)
    grads = {}
    for name, cfg in (
        ("ppo", LossConfig()),
        ("ce_gppo", LossConfig(gppo_beta_low=0.0, gppo_beta_high=0.0)),
        ("ce_gppo_on", LossConfig()),
    ):
        lp = lp0.clone().requires_grad_()
        get_policy_loss(name.removesuffix("_on"))(lp, old, adv, mask, cfg)[0].backward()
        grads[name] = lp.grad
    assert torch.allclose(grads["ppo"], grads["ce_gppo"], atol=1e-7)
    r = torch.exp(lp0 - old)
    restored = ((r < 0.8) & (adv < 0)) | ((r > 1.2) & (adv > 0))
    assert restored.any()
    assert (grads["ppo"][restored] == 0).all() and (grads["ce_gppo_on"][restored] != 0).all()


@pytest.mark.parametrize("beta_low, beta_high", [(0.0, 1.0), (0.25, 1.0), (0.5, 1.0), (1.0, 0.5)])
def test_ce_gppo_on_policy_with_one_epoch_is_grpo_exactly(beta_low, beta_high):
    """One epoch and one mini-batch: the ratio is 1 on every token, no clip binds, and CE-GPPO's
    loss and gradient are PPO/GRPO's whatever β₁ and β₂ (its β's act only where the clip binds)."""
    torch.manual_seed(0)
    base = torch.randn(3, 5)
    adv = torch.randn(3, 5)
    mask = (torch.rand(3, 5) > 0.2).float()
    cfg = LossConfig(gppo_beta_low=beta_low, gppo_beta_high=beta_high)
    grads, losses = [], []
    for name in ("ppo", "ce_gppo"):
        logp = base.clone().requires_grad_(True)
        loss, m = get_policy_loss(name)(logp, logp.detach(), adv, mask, cfg)
        loss.backward()
        grads.append(logp.grad)
        losses.append(loss.detach())
        if name == "ce_gppo":
            assert m["clip_frac"] == 0.0 and m["selected_frac"] == 0.0
    assert torch.equal(losses[0], losses[1]) and torch.equal(grads[0], grads[1])
