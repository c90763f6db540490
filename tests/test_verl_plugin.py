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


# ---------------------------------------------------------------- target-entropy control in verl

KL_COV_PI = {"name": "entropy_pi", "field": "kl_cov_coef", "target": 1.0, "band": 0.1, "base": 1.0,
             "low": 0.0, "high": 10.0, "kp": 4.0, "ki": 0.5}  # fmt: skip


def _stepper(monkeypatch, spec):
    monkeypatch.setenv(plugin.CONTROLLER_ENV_VAR, json.dumps(spec))
    stepper = plugin.StepController.from_env()
    monkeypatch.setattr(plugin, "STEPPER", stepper)
    return stepper


def _rollout(seed, b=6, t=7, scale=1.0):
    g = torch.Generator().manual_seed(seed)
    old = -torch.rand(b, t, generator=g) * 3 * scale
    mask = (torch.arange(t) < torch.randint(1, t + 1, (b, 1), generator=g)).float()
    return old, mask


def test_controller_sets_the_knob_of_the_registered_loss(monkeypatch):
    stepper = _stepper(monkeypatch, KL_COV_PI)
    old, mask = _rollout(0, scale=0.2)  # low entropy (about 0.3): KL-Cov's β must rise
    stepper.step(old, mask)
    measured = float((-old * mask).sum() / mask.sum())
    assert stepper.measured == pytest.approx(measured)
    beta = stepper.values["kl_cov_coef"]
    assert beta > 1.0
    cfg = _config(loss_mode="entropy_rl_kl_cov", kl_cov_ratio=0.2, ppo_kl_coef=1.0)
    batch = _batch()
    o, lp, adv, m = batch
    loss, metrics = get_policy_loss_fn("entropy_rl_kl_cov")(o, lp, adv, m, loss_agg_mode="token-mean", config=cfg)
    ours, _ = get_policy_loss("kl_cov")(lp, o, adv, m, LossConfig(clip_ratio_high=0.28, kl_cov_ratio=0.2, kl_cov_coef=beta))
    torch.testing.assert_close(loss, ours)
    assert metrics["entropy_rl/kl_cov_coef"] == beta and metrics["entropy_rl/entropy_target"] == 1.0
    assert metrics["entropy_rl/controller_entropy"] == pytest.approx(measured)
    assert metrics["entropy_rl/entropy_band"] == 0.1 and metrics["entropy_rl/controller_at_bound"] == 0.0


def test_controller_spec_errors_name_the_field(monkeypatch):
    for raw, match in [
        ("{not json", "ENTROPY_RL_CONTROLLER: controller spec is not valid JSON"),
        ('{"field": "kl_cov_coef"}', 'needs "name"'),
        ('{"name": "entropy_pi", "field": "clip_ratio_low"}', "not a remedy knob"),
        ('{"name": "entropy_pi", "gain": 1}', "unknown arguments"),
    ]:
        monkeypatch.setenv(plugin.CONTROLLER_ENV_VAR, raw)
        with pytest.raises(ValueError, match=match):
            plugin.StepController.from_env()
    monkeypatch.delenv(plugin.CONTROLLER_ENV_VAR)
    assert plugin.StepController.from_env() is None
    stepper = _stepper(monkeypatch, KL_COV_PI)
    stepper.step(*_rollout(0))
    with pytest.raises(ValueError, match="'kl_cov_coef' is read by kl_cov, not by the loss 'ppo'"):
        get_policy_loss_fn("entropy_rl_ppo")(*_batch()[:4], loss_agg_mode="token-mean", config=_config())


def test_controller_on_the_entropy_bonus_sets_verls_entropy_coeff(monkeypatch):
    spec = {"name": "entropy_pi", "field": "entropy_coef", "target": 2.0, "base": 0.0, "high": 0.1, "kp": 0.05, "ki": 0.0}
    stepper = _stepper(monkeypatch, spec)
    stepper.step(*_rollout(1))
    cfg = _config()
    with pytest.raises(ValueError, match="only with actor.calculate_entropy=True"):  # verl's default
        get_policy_loss_fn("entropy_rl_ppo")(*_batch()[:4], loss_agg_mode="token-mean", config=cfg)
    object.__setattr__(cfg, "calculate_entropy", True)
    get_policy_loss_fn("entropy_rl_ppo")(*_batch()[:4], loss_agg_mode="token-mean", config=cfg)
    assert cfg.entropy_coeff == pytest.approx(stepper.values["entropy_coef"]) and cfg.entropy_coeff > 0


def test_worker_hooks_step_before_the_update_and_resume_exactly(monkeypatch, tmp_path):
    """The wrapped TrainingWorker: the controller steps before train_mini_batch runs; its state is
    saved beside the checkpoint and restored with it, so a resumed run equals an uninterrupted one."""
    from types import SimpleNamespace

    from tensordict import TensorDict
    from verl.workers.engine_workers import TrainingWorker

    calls = []
    monkeypatch.setattr(TrainingWorker, "train_mini_batch", lambda self, data: calls.append(plugin.STEPPER.values["kl_cov_coef"]))
    monkeypatch.setattr(TrainingWorker, "save_checkpoint", lambda self, path, *a, **k: None)
    monkeypatch.setattr(TrainingWorker, "load_checkpoint", lambda self, path, *a, **k: None)
    worker = SimpleNamespace(engine=SimpleNamespace(get_data_parallel_group=lambda: None))

    def run(steps, resume_from=None, save_at=None):
        _stepper(monkeypatch, KL_COV_PI)
        plugin._install_worker_hooks()
        if resume_from is not None:
            TrainingWorker.load_checkpoint(worker, resume_from)
        seen = []
        for step in steps:
            old, mask = _rollout(step, scale=0.3 + 0.1 * step)
            TrainingWorker.train_mini_batch(worker, TensorDict({"old_log_probs": old, "response_mask": mask}, batch_size=[6]))
            seen.append(plugin.STEPPER.values["kl_cov_coef"])
            if step == save_at:
                TrainingWorker.save_checkpoint(worker, tmp_path)
        return seen

    full = run(range(8), save_at=3)
    assert calls == full and len(set(full)) > 3  # stepped before each update; the knob moves
    assert (tmp_path / plugin.CONTROLLER_FILE).is_file()
    resumed = run(range(4, 8), resume_from=tmp_path)
    assert resumed == full[4:]
    (tmp_path / plugin.CONTROLLER_FILE).write_text('{"steps": 1}')
    with pytest.raises(ValueError, match="entropy_rl_controller.json: not an entropy-rl controller state"):
        plugin.STEPPER.load(tmp_path)


TORCHRUN_WORKER = """
import json, os, torch
import torch.distributed as dist
os.environ["ENTROPY_RL_CONTROLLER"] = {spec!r}
import entropy_rl.integrations.verl as plugin
dist.init_process_group("gloo")
rank = dist.get_rank()
values, measured = [], []
for step in range(6):
    g = torch.Generator().manual_seed(100 * step + rank)  # each rank its own share of the batch
    old = -torch.rand(4 + rank, 5, generator=g) * (0.2 + 0.3 * step + rank)
    mask = (torch.rand(4 + rank, 5, generator=g) > 0.3).float()
    plugin.STEPPER.step(old, mask)
    values.append(plugin.STEPPER.values["kl_cov_coef"])
    measured.append(plugin.STEPPER.measured)
    torch.save((old, mask), os.path.join({out!r}, f"batch{{step}}-{{rank}}.pt"))
open(os.path.join({out!r}, f"rank{{rank}}.json"), "w").write(json.dumps({{"values": values, "measured": measured}}))
dist.destroy_process_group()
"""


def test_two_processes_apply_the_same_strength_at_every_step(tmp_path):
    """torchrun, 2 CPU processes (gloo), each with its own share of every step's batch: the
    entropy is pooled over both, so both apply the same knob, equal to one controller fed the pool."""
    import os
    import subprocess
    import sys
    from pathlib import Path

    script = tmp_path / "worker.py"
    script.write_text(TORCHRUN_WORKER.format(spec=json.dumps(KL_COV_PI), out=str(tmp_path)))
    torchrun = Path(sys.executable).with_name("torchrun")
    env = os.environ | {"OMP_NUM_THREADS": "1"}
    env.pop(plugin.CONTROLLER_ENV_VAR, None)
    proc = subprocess.run([str(torchrun), "--nproc_per_node", "2", str(script)], env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    ranks = [json.loads((tmp_path / f"rank{i}.json").read_text()) for i in (0, 1)]
    assert ranks[0] == ranks[1] and len(set(ranks[0]["values"])) > 2
    one = plugin.StepController(plugin.controller_from_spec(KL_COV_PI))
    for step in range(6):
        parts = [torch.load(tmp_path / f"batch{step}-{r}.pt") for r in (0, 1)]
        old = torch.cat([torch.nn.functional.pad(o, (0, 0)) for o, _ in parts])
        mask = torch.cat([m for _, m in parts])
        one.step(old, mask)
        assert one.measured == pytest.approx(ranks[0]["measured"][step])
        assert one.values["kl_cov_coef"] == pytest.approx(ranks[0]["values"][step])
