"""The verl plug-in against verl's own losses (verl 0.9 pins transformers < 5.11, so this file runs
in the separate venv of `make test-verl`; in the main venv it is skipped)."""

import json

import pytest
import torch

pytest.importorskip("verl")
from verl.trainer.ppo.core_algos import get_policy_loss_fn  # noqa: E402
from verl.workers.config import ActorConfig, PolicyLossConfig  # noqa: E402

import entropy_rl.integrations.verl as plugin  # noqa: E402  (registers the losses)
from entropy_rl.core.dynamics import covariance  # noqa: E402
from entropy_rl.core.losses import LossConfig, get_policy_loss  # noqa: E402

MODES = ["token-mean", "seq-mean-token-sum", "seq-mean-token-mean", "seq-mean-token-sum-norm"]


def _config(clip_ratio_low=None, clip_ratio_high=0.28, **policy_loss):
    cfg = ActorConfig(
        strategy="fsdp", rollout_n=4, ppo_mini_batch_size=4, ppo_micro_batch_size_per_gpu=2,
        clip_ratio=0.2, clip_ratio_low=clip_ratio_low, clip_ratio_high=clip_ratio_high,
        policy_loss=PolicyLossConfig(**policy_loss),
    )  # fmt: skip
    return cfg


def _batch(seed=0, b=6, t=7):
    g = torch.Generator().manual_seed(seed)
    old = -torch.rand(b, t, generator=g) * 3
    log_prob = old + 0.3 * torch.randn(b, t, generator=g)
    log_prob[0, :2] += 1.5  # ratios above the dual-clip constant 3 ...
    adv = torch.randn(b, 1, generator=g)
    adv[0] = -1.0  # ... on a negative-advantage row
    adv = adv.expand(b, t).contiguous()
    mask = (torch.arange(t) < torch.randint(1, t + 1, (b, 1), generator=g)).float()
    mask[-1] = 0.0  # a fully masked row
    mask[0, :2] = 1.0
    return old, log_prob.requires_grad_(), adv, mask


def _is_weights(batch, seed=5):
    """Rollout-correction weights as verl's truncated IS produces them: (batch, len), in [0, 2]."""
    g = torch.Generator().manual_seed(seed)
    return torch.rand(batch[0].shape, generator=g) * 2


def _both(verl_name, ours, cfg, mode, batch, weights=None):
    old, log_prob, adv, mask = batch
    out = []
    for name in (verl_name, ours):
        lp = log_prob.detach().clone().requires_grad_()
        loss, metrics = get_policy_loss_fn(name)(
            old, lp, adv, mask, loss_agg_mode=mode, config=cfg, rollout_is_weights=weights
        )
        loss.backward()
        out.append((loss.detach(), lp.grad, metrics))
    return out


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("global_info, weighted", [(False, False), (True, False), (True, True)])
def test_ppo_equals_verls_vanilla_loss(mode, global_info, weighted):
    cfg = _config(loss_mode="entropy_rl_ppo")
    batch = _batch()
    if global_info:  # this micro-batch is part of a larger global batch on 2 data-parallel ranks
        cfg.global_batch_info.update(dp_size=2, batch_num_tokens=57, global_batch_size=13)
    weights = _is_weights(batch) if weighted else None
    (lv, gv, _), (lo, go, metrics) = _both("vanilla", "entropy_rl_ppo", cfg, mode, batch, weights)
    torch.testing.assert_close(lo, lv)
    torch.testing.assert_close(go, gv)
    old, log_prob, adv, mask = batch
    assert metrics["entropy_rl/covariance"] == pytest.approx(float(covariance(log_prob.detach(), adv, mask)))
    assert set(metrics) >= {"entropy_rl/covariance_pos", "entropy_rl/covariance_neg", "entropy_rl/clip_frac"}


@pytest.mark.parametrize("mode", ["token-mean", "seq-mean-token-mean"])
@pytest.mark.parametrize("weighted", [False, True])
def test_kl_cov_equals_verls_kl_cov(mode, weighted):
    cfg = _config(loss_mode="entropy_rl_kl_cov", kl_cov_ratio=0.2, ppo_kl_coef=1.0)
    cfg.global_batch_info.update(dp_size=2, batch_num_tokens=50, global_batch_size=11)
    batch = _batch(seed=1)
    weights = _is_weights(batch) if weighted else None
    (lv, gv, _), (lo, go, metrics) = _both("kl_cov", "entropy_rl_kl_cov", cfg, mode, batch, weights)
    torch.testing.assert_close(lo, lv)
    torch.testing.assert_close(go, gv)
    assert metrics["entropy_rl/selected_frac"] > 0.1


@pytest.mark.parametrize("name", ["cispo", "gspo"])
@pytest.mark.parametrize("mode", ["token-mean", "seq-mean-token-mean"])
def test_cispo_and_gspo_equal_verls(name, mode):
    # GSPO with the paper's tiny ε, so that some sequence ratios are clipped
    clip = {"clip_ratio_low": 3e-4, "clip_ratio_high": 4e-4} if name == "gspo" else {}
    cfg = _config(loss_mode=f"entropy_rl_{name}", **clip)
    cfg.global_batch_info.update(dp_size=2, batch_num_tokens=57, global_batch_size=13)
    batch = _batch(seed=4)
    (lv, gv, _), (lo, go, metrics) = _both(name, f"entropy_rl_{name}", cfg, mode, batch, _is_weights(batch))
    torch.testing.assert_close(lo, lv)
    torch.testing.assert_close(go, gv)
    assert 0 < metrics["entropy_rl/clip_frac"] < 1


@pytest.mark.parametrize("weighted", [False, True])
def test_clip_cov_equals_verls_clip_cov_when_every_candidate_is_detached(weighted):
    # r = 1: both detach every candidate, so their random choices cannot differ.
    cfg = _config(loss_mode="entropy_rl_clip_cov", clip_cov_ratio=1.0, clip_cov_lb=-0.05, clip_cov_ub=5.0)
    batch = _batch(seed=2)
    weights = _is_weights(batch) if weighted else None
    (lv, gv, _), (lo, go, metrics) = _both(
        "clip_cov", "entropy_rl_clip_cov", cfg, "token-mean", batch, weights
    )
    torch.testing.assert_close(lo, lv)
    torch.testing.assert_close(go, gv)
    assert 0 < metrics["entropy_rl/selected_frac"] < 1


def test_knobs_from_the_environment_and_refusals(monkeypatch):
    cfg = _config(loss_mode="entropy_rl_pos_neg")
    old, log_prob, adv, mask = _batch(seed=3)
    monkeypatch.setenv(plugin.ENV_VAR, json.dumps({"lambda_pos": 0.25}))
    loss, metrics = get_policy_loss_fn("entropy_rl_pos_neg")(old, log_prob, adv, mask, config=cfg)
    ref_cfg = LossConfig(clip_ratio_low=0.2, clip_ratio_high=0.28, lambda_pos=0.25)
    ref, _ = get_policy_loss("pos_neg")(log_prob, old, adv, mask, ref_cfg)
    torch.testing.assert_close(loss, ref)
    assert metrics["entropy_rl/lambda_pos"] == 0.25

    monkeypatch.setenv(plugin.ENV_VAR, json.dumps({"lambda_pso": 0.25}))
    with pytest.raises(ValueError, match=r"unknown field\(s\) \['lambda_pso'\]"):
        get_policy_loss_fn("entropy_rl_pos_neg")(old, log_prob, adv, mask, config=cfg)
    monkeypatch.setenv(plugin.ENV_VAR, "{lambda_pos: 0.25")
    with pytest.raises(ValueError, match="not valid JSON"):
        get_policy_loss_fn("entropy_rl_pos_neg")(old, log_prob, adv, mask, config=cfg)
    monkeypatch.delenv(plugin.ENV_VAR)
    with pytest.raises(ValueError, match="token-sum"):
        get_policy_loss_fn("entropy_rl_ppo")(old, log_prob, adv, mask, loss_agg_mode="token-sum", config=cfg)


def test_verl_file_logger_output_is_read_by_entropy_rl(tmp_path, monkeypatch):
    """verl's own ``file`` logger writes the run; ``load_run`` reads it and the law fits it."""
    import math

    from verl.utils.tracking import Tracking

    from entropy_rl.analysis.runs import load_run
    from entropy_rl.analysis.stats import fit_run_law

    monkeypatch.setenv("VERL_FILE_LOGGER_ROOT", str(tmp_path))
    tracker = Tracking(project_name="proj", experiment_name="run1", default_backend=["file"])
    cfg = _config(loss_mode="entropy_rl_ppo")
    old, log_prob, adv, mask = _batch()
    _, metrics = get_policy_loss_fn("entropy_rl_ppo")(old, log_prob, adv, mask, config=cfg)
    for step in range(1, 13):
        h = 1.0 * math.exp(-step / 4) + 0.1
        data = {"actor/entropy": h, "critic/score/mean": 0.3, **metrics}
        if step % 2 == 0:
            data["val-core/gsm8k/acc/mean@1"] = -0.2 * math.exp(h) + 0.7
        tracker.log(data=data, step=step)
    tracker.finish()
    run = load_run(tmp_path / "proj" / "run1.jsonl")
    assert run.performance_key == "eval_accuracy" and len(run.rows) == 12
    assert run.rows[0]["covariance"] == pytest.approx(metrics["entropy_rl/covariance"])
    law = fit_run_law(run)
    assert law.n == 6 and law.ceiling == pytest.approx(0.5, abs=1e-6)


@pytest.mark.parametrize("mode", ["token-mean", "seq-mean-token-mean"])
def test_ce_gppo_against_verls_vanilla_with_betas_from_the_environment(mode, monkeypatch):
    cfg = _config(loss_mode="entropy_rl_ce_gppo")
    batch = _batch()
    # β = 0: PPO's gradient (the clipped tokens' value is 0, not PPO's constant); β = 1: PPO's value
    monkeypatch.setenv(plugin.ENV_VAR, json.dumps({"gppo_beta_low": 0.0, "gppo_beta_high": 0.0}))
    (_, gv, _), (_, go, _) = _both("vanilla", "entropy_rl_ce_gppo", cfg, mode, batch)
    torch.testing.assert_close(go, gv)
    monkeypatch.setenv(plugin.ENV_VAR, json.dumps({"gppo_beta_low": 1.0, "gppo_beta_high": 1.0}))
    (lv, gv, _), (lo, go, _) = _both("vanilla", "entropy_rl_ce_gppo", cfg, mode, batch)
    torch.testing.assert_close(lo, lv)
    assert not torch.allclose(go, gv)  # the clipped tokens' gradient is back
    monkeypatch.setenv(plugin.ENV_VAR, json.dumps({"gppo_beta_low": 0.75}))
    old, log_prob, adv, mask = batch
    lp = log_prob.detach().clone().requires_grad_()
    loss, metrics = get_policy_loss_fn("entropy_rl_ce_gppo")(old, lp, adv, mask, loss_agg_mode=mode, config=cfg)
    ref = get_policy_loss("ce_gppo")(lp.detach(), old, adv, mask, LossConfig(loss_agg_mode=mode, clip_ratio_high=0.28, gppo_beta_low=0.75))[0]
    torch.testing.assert_close(loss.detach(), ref)
    assert "entropy_rl/selected_frac" in metrics


def test_qae_is_a_verl_advantage_estimator(monkeypatch):
    import numpy as np
    from verl.trainer.ppo.core_algos import get_adv_estimator_fn

    from entropy_rl.core.advantages import get_advantage_estimator

    g = torch.Generator().manual_seed(3)
    rewards = (torch.rand(12, generator=g) < 0.5).float()
    index = np.array(["a"] * 5 + ["b"] * 4 + ["c"] * 3, dtype=object)
    token_rewards = torch.zeros(12, 6)
    token_rewards[:, -1] = rewards  # verl: the outcome on the last token
    mask = torch.ones(12, 6)
    monkeypatch.setenv(plugin.ADV_ENV_VAR, json.dumps({"quantile": 0.6}))
    adv, ret = get_adv_estimator_fn("entropy_rl_qae")(token_rewards, mask, index)
    fn = get_advantage_estimator("qae")
    expected = torch.cat([fn(rewards[s].unsqueeze(0), torch.ones(n, 1), quantile=0.6)[:, 0]
                          for s, n in ((slice(0, 5), 5), (slice(5, 9), 4), (slice(9, 12), 3))])
    torch.testing.assert_close(adv[:, 0], expected)
    torch.testing.assert_close(adv, ret)
