import json
import math

import pytest
import torch

from entropy_rl.config import METHOD_PRESETS, ConfigError, load_config
from entropy_rl.core.losses import POLICY_LOSSES, LossConfig, get_policy_loss
from entropy_rl.models.load import load_policy
from entropy_rl.tasks.factory import make_task
from entropy_rl.train.rollout import SamplingParams, generate, response_log_probs
from entropy_rl.train.trainer import read_metrics, train
from entropy_rl.train.update import UpdateBatch, update_policy

REQUIRED = [
    "step",
    "reward",
    "accuracy",
    "entropy",
    "entropy_in_update",
    "entropy_pos",
    "entropy_neg",
    "zero_adv_fraction",
    "covariance",
    "covariance_pos",
    "covariance_neg",
    "entropy_change",
    "predicted_entropy_change",
    "clip_frac",
    "selected_frac",
    "remedy_tokens",
    "remedy_token_share",
    "approx_kl",
    "response_length",
    "rollout_tokens_per_s",
    "update_tokens_per_s",
    "update_gflop_per_s",
    "wall_time",
    "probe_entropy",
    "eval_accuracy",
    "eval_pass@1",
    "eval_pass@2",
]


@pytest.mark.parametrize("loss", sorted(POLICY_LOSSES))
def test_short_run_every_loss(tiny_config, tmp_path, loss):
    extra = []
    if loss == "pos_neg":
        extra = ["algorithm.controller=lambda_pos_schedule"]
    if loss == "entropic":
        extra = ["algorithm.controller=entropic"]
    if loss == "ppo":
        extra = ["trainer.kl_coef=0.1", "algorithm.entropy_shaping_alpha=0.4"]
    cfg = tiny_config(f"algorithm.loss={loss}", *extra)
    train(cfg, tmp_path / "run", quiet=True)
    rows = read_metrics(tmp_path / "run")
    assert [r["step"] for r in rows] == [0, 1]
    for row in rows:
        for key in REQUIRED:
            assert key in row, key
        for key in ("reward", "entropy", "covariance", "entropy_change", "predicted_entropy_change", "loss"):
            assert row[key] is not None and math.isfinite(row[key]), (key, row[key])
        assert 0 <= row["reward"] <= 1 and row["entropy"] > 0
        # the tokens the remedy acted on: a count summed over the step's updates, and its share
        assert row["remedy_tokens"] == int(row["remedy_tokens"]) >= 0 and 0 <= row["remedy_token_share"] <= 1
        if loss in ("ppo", "reinforce"):
            assert row["remedy_tokens"] == 0
    if loss == "ppo":  # after step 0's updates the policy has left the frozen reference
        assert rows[-1]["kl_ref"] is not None and rows[-1]["kl_ref"] > 0
    if loss == "pos_neg":  # Jin et al.'s schedule from λ₀ = 0: ∓0.05 by whether H < δ = 0.2, in [0, 1]
        lam = 0.0
        for row in rows:
            lam = min(max(lam + (-0.05 if row["entropy"] < 0.2 else 0.05), 0.0), 1.0)
            assert row["ctrl_lambda_pos"] == pytest.approx(lam) and row["lambda_pos"] == pytest.approx(lam)
    assert (tmp_path / "run" / "latest").exists()


def _sampled_batch(tiny_config, n_prompts: int, group: int, seed: int):
    """The tiny policy, its config and ``n_prompts`` × ``group`` sampled responses."""
    cfg = tiny_config()
    task = make_task(cfg.task)
    policy = load_policy(cfg.model, task, seed=0, log=lambda *a: None)
    torch.manual_seed(seed)
    batch = generate(
        policy, task.train_pool[:n_prompts], group, SamplingParams(1.0, 1.0, 4), torch.device("cpu")
    )
    return cfg, policy, batch


def test_token_drivers_add_up_to_the_logged_covariance(tiny_config, tmp_path):
    """token_drivers.json sums every response token of the run: its totals equal the per-step
    covariance × tokens and the response lengths in metrics.jsonl."""
    cfg = tiny_config("trainer.steps=3")
    train(cfg, tmp_path / "run", quiet=True)
    rows = read_metrics(tmp_path / "run")
    drivers = json.loads((tmp_path / "run" / "token_drivers.json").read_text())
    n_resp = cfg.rollout.prompts_per_step * cfg.rollout.group_size
    tokens = [r["response_length"] * n_resp for r in rows]
    assert drivers["tokens_total"] == pytest.approx(sum(tokens))
    expected = sum(r["covariance"] * n for r, n in zip(rows, tokens, strict=True))
    assert drivers["covariance_total"] == pytest.approx(expected, rel=1e-4, abs=1e-6)
    top = drivers["top"]
    assert top and all(isinstance(t["token"], str) and t["token"] for t in top)
    sums = [t["covariance_sum"] for t in top]
    assert sums == sorted(sums, reverse=True)


def test_loss_falls_on_a_fixed_batch(tiny_config):
    cfg, policy, batch = _sampled_batch(tiny_config, n_prompts=4, group=4, seed=0)
    with torch.no_grad():
        old_logp, _ = response_log_probs(policy.model, batch, 1.0)
    adv = torch.randn(batch.response_mask.shape[0], 1) * batch.response_mask
    model = policy.model
    opt = torch.optim.AdamW(model.parameters(), lr=3e-3)
    loss_fn = get_policy_loss("reinforce")

    def current_loss():
        with torch.no_grad():
            logp, _ = response_log_probs(model, batch, 1.0)
        return float(loss_fn(logp, old_logp, adv, batch.response_mask, LossConfig())[0])

    before = current_loss()
    for _ in range(5):
        update_policy(model, opt, UpdateBatch(batch, old_logp, adv), loss_fn, LossConfig(), cfg)
    after = current_loss()
    assert after < before - 1e-3
    # the policy moved towards the positive-advantage responses
    with torch.no_grad():
        logp, _ = response_log_probs(model, batch, 1.0)
    gain = ((logp - old_logp).sum(-1) * adv[:, 0]).sum()
    assert gain > 0


def _comparable(row):
    return {
        k: v
        for k, v in row.items()
        if k
        not in ("rollout_tokens_per_s", "update_tokens_per_s", "update_gflop_per_s", "step_time", "wall_time")
    }


@pytest.mark.parametrize("loss", ["clip_cov", "pos_neg", "kl_cov"])
def test_resume_equals_uninterrupted(tiny_config, tmp_path, loss):
    extra = [f"algorithm.loss={loss}", "trainer.checkpoint_every=1", "trainer.eval_every=1"]
    if loss == "pos_neg":
        extra.append("algorithm.controller=lambda_pos_schedule")
    if loss == "kl_cov":  # a target-entropy controller on KL-Cov's k, its target set at the start
        extra += ["algorithm.controller=entropy_pi", "algorithm.controller_args={field: kl_cov_ratio, "
                  "target_fraction: 1.5, scale: log, base: 0.01, low: 0.001, high: 1.0, kp: 2.0, ki: 0.5}"]  # fmt: skip
    if loss == "clip_cov":
        extra += ["algorithm.loss_config={clip_cov_ratio: 0.2, clip_cov_lb: -10, clip_cov_ub: 10}"]
    full = tiny_config(*extra, "trainer.steps=4")
    train(full, tmp_path / "a", quiet=True)
    part = tiny_config(*extra, "trainer.steps=2")
    train(part, tmp_path / "b", quiet=True)
    # a crashed run may have logged a step past its checkpoint: resume must drop it
    with (tmp_path / "b" / "metrics.jsonl").open("a") as f:
        f.write(json.dumps({"step": 2, "reward": -1}) + "\n")
    train(full, tmp_path / "b", resume=True, quiet=True)
    a, b = read_metrics(tmp_path / "a"), read_metrics(tmp_path / "b")
    assert [r["step"] for r in b] == [0, 1, 2, 3]
    for ra, rb in zip(a, b, strict=True):
        assert _comparable(ra) == _comparable(rb)
    drivers = [json.loads((tmp_path / d / "token_drivers.json").read_text()) for d in "ab"]
    assert drivers[0] == drivers[1]


def test_a_run_does_not_depend_on_whether_the_model_was_cached(tiny_config, tmp_path):
    """Building the tiny model must leave the run's random state as loading it does."""
    cfg = tiny_config("trainer.steps=1", f"model.cache_dir={tmp_path / 'fresh-cache'}")
    train(cfg, tmp_path / "built", quiet=True)  # builds the model
    train(cfg, tmp_path / "cached", quiet=True)  # loads it
    a, b = read_metrics(tmp_path / "built"), read_metrics(tmp_path / "cached")
    assert [_comparable(r) for r in a] == [_comparable(r) for r in b]


def test_running_law_is_the_fit_on_the_evaluations_so_far(tiny_config, tmp_path):
    from entropy_rl.core.law import fit_entropy_law

    train(tiny_config("trainer.steps=4", "trainer.eval_every=1"), tmp_path / "r", quiet=True)
    rows = read_metrics(tmp_path / "r")
    assert all("law_ceiling" not in r for r in rows[:2])  # fewer than 3 points: no fit yet
    for i in (2, 3):
        law = fit_entropy_law(
            [r["entropy"] for r in rows[: i + 1]], [r["eval_accuracy"] for r in rows[: i + 1]]
        )
        assert rows[i]["law_a"] == pytest.approx(law.a) and rows[i]["law_b"] == pytest.approx(law.b)
        assert rows[i]["law_ceiling"] == pytest.approx(law.b - law.a)


def test_existing_run_dir_needs_resume(tiny_config, tmp_path):
    cfg = tiny_config("trainer.steps=1")
    train(cfg, tmp_path / "r", quiet=True)
    with pytest.raises(FileExistsError, match="--resume"):
        train(cfg, tmp_path / "r", quiet=True)


def test_reward_function_that_raises_does_not_stop_training(tiny_config, tmp_path, monkeypatch):
    """Answers whose scorer raises score 0 and are counted; the run goes on. (A batch in which
    *every* answer fails stops the run: tests/test_custom_reward.py.)"""
    from entropy_rl.tasks.reasoning_gym import ReasoningGymTask

    real, calls = ReasoningGymTask.score, {"n": 0}

    def sometimes_boom(self, problem, response):
        calls["n"] += 1
        if calls["n"] % 2:
            raise RuntimeError("verifier bug")
        return real(self, problem, response)

    monkeypatch.setattr(ReasoningGymTask, "score", sometimes_boom)
    train(tiny_config("trainer.steps=2"), tmp_path / "r", quiet=True)
    rows = read_metrics(tmp_path / "r")
    assert [r["step"] for r in rows] == [0, 1]
    assert all(r["verifier_verifier_error"] == 0.5 for r in rows)  # 16 answers a step, every other one


def test_tokens_without_signal_are_counted(tiny_config, tmp_path, monkeypatch):
    """A reward that depends only on the problem makes every group uniform: every advantage is 0,
    so all tokens fall in ``entropy_zero`` and none in the per-sign entropies."""
    from entropy_rl.scoring.types import Verdict
    from entropy_rl.tasks.reasoning_gym import ReasoningGymTask

    def by_problem(self, problem, response):
        return Verdict(float(len(problem.prompt) % 2), None, "ok")

    monkeypatch.setattr(ReasoningGymTask, "score", by_problem)
    train(tiny_config("trainer.steps=2"), tmp_path / "r", quiet=True)
    for row in read_metrics(tmp_path / "r"):
        assert row["zero_adv_fraction"] == 1.0
        assert row["entropy_pos"] is None and row["entropy_neg"] is None
        assert row["entropy_zero"] == pytest.approx(row["entropy_token_mean"])


def test_reward_function_that_hangs_does_not_stop_training(tiny_config, tmp_path, monkeypatch):
    import time

    from entropy_rl.scoring.limits import safe_score
    from entropy_rl.scoring.types import ScoringFailed, Verdict
    from entropy_rl.tasks.reasoning_gym import ReasoningGymTask

    calls = []

    def spin(self, problem, response):
        calls.append(1)
        if len(calls) % 4 == 0:  # one answer in four is scored, the others hang
            return Verdict(0.0, response, "wrong")
        try:  # a scorer's own `except Exception` must not swallow the timeout
            while True:
                pass
        except Exception:
            return None

    monkeypatch.setattr(ReasoningGymTask, "score", spin)
    cfg = tiny_config("trainer.steps=1", "task.score_timeout_s=0.05")
    t0 = time.time()
    with pytest.warns(UserWarning, match="most answers of a step timed out"):
        train(cfg, tmp_path / "r", quiet=True)
    row = read_metrics(tmp_path / "r")[0]
    assert row["verifier_timeout"] == 0.75 and row["reward"] == 0.0
    assert time.time() - t0 < 60

    # every answer timing out is a broken scorer: the run stops instead of training on zeros
    def hang(self, problem, response):
        try:
            while True:
                pass
        except Exception:
            return None

    monkeypatch.setattr(ReasoningGymTask, "score", hang)
    with pytest.raises(
        ScoringFailed, match=r"every answer failed to score \(timeout\).*score_timeout_s = 0.05 s"
    ):
        train(cfg, tmp_path / "all-hang", quiet=True)
    assert not (tmp_path / "all-hang" / "latest").exists()

    monkeypatch.setattr(ReasoningGymTask, "score", lambda self, p, r: time.sleep(30))
    task = ReasoningGymTask(cfg.task)
    t0 = time.time()
    assert safe_score(task, task.heldout[0], "1").reason == "timeout"
    assert time.time() - t0 < 1.0


def test_interrupted_run_keeps_completed_steps(tiny_config, tmp_path, monkeypatch):
    import entropy_rl.train.trainer as trainer_mod

    real = trainer_mod.generate
    calls = {"n": 0}

    def flaky(*args, **kwargs):
        calls["n"] += 1
        if calls["n"] == 5:  # probe, steps 0, 1, 2, *step 3* (eval samples through its own import)
            raise KeyboardInterrupt
        return real(*args, **kwargs)

    monkeypatch.setattr(trainer_mod, "generate", flaky)
    cfg = tiny_config("trainer.steps=4", "trainer.checkpoint_every=100", "trainer.eval_every=100")
    with pytest.raises(KeyboardInterrupt):
        train(cfg, tmp_path / "r", quiet=True)
    assert (tmp_path / "r" / "latest").read_text().strip() == "checkpoint-2"
    assert "checkpoint of step 2 saved" in (tmp_path / "r" / "interrupted").read_text()
    monkeypatch.setattr(trainer_mod, "generate", real)
    train(cfg, tmp_path / "r", resume=True, quiet=True)
    assert [r["step"] for r in read_metrics(tmp_path / "r")] == [0, 1, 2, 3]
    assert not (tmp_path / "r" / "interrupted").exists()  # the note is about a stop now resumed


@pytest.mark.parametrize(
    "override, message",
    [
        ("algorithm.loss=ppo2", "algorithm.loss"),
        ("algorithm.advantage=gae", "unknown advantage estimator 'gae'"),
        ("rollout.group_size=1", "rollout.group_size"),
        ("trainer.lr=-1", "trainer.lr"),
        ("trainer.device=tpu", "trainer.device"),
        ("trainer.stepz=3", "trainer.stepz"),
        ("algorithm.loss_config={loss_agg_mode: sum}", "loss_agg_mode"),
        ("algorithm.loss_config={clip_ratio_hgh: 0.3}", "clip_ratio_hgh"),
        ("algorithm.controller=pid", "unknown controller 'pid'"),
        ("task.name=sudoku", "task.name"),
        ("task.score_timeout_s=0", "task.score_timeout_s"),
        ("algorithm.loss_config={clip_cov_lb: abc}", "loss_config.clip_cov_lb"),
        ("algorithm.loss_config={gppo_beta_low: -1}", "gppo_beta_low"),
    ],
)
def test_bad_config_names_the_field(override, message):
    with pytest.raises(ConfigError, match=message):
        load_config(None, [override])


@pytest.mark.parametrize(
    "args, message",
    [
        ("{quantile: 1.5}", "quantile must be in \\(0, 1\\)"),
        ("{k: 0.4}", "advantage_args \\['k'\\]: the qae estimator takes \\['quantile', 'norm_std', 'eps', 'method'\\]"),
        ("{method: nearest}", "qae method must be 'order' or 'linear'"),
    ],
)
def test_advantage_arguments_are_checked_by_name_and_value(args, message):
    with pytest.raises(ConfigError, match=message):
        load_config(None, ["algorithm.advantage=qae", f"algorithm.advantage_args={args}"])
    assert load_config(None, ["algorithm.advantage=qae", "algorithm.advantage_args={quantile: 0.6}"]).algorithm.advantage_args == {"quantile": 0.6}


def test_loss_and_controller_arguments_are_typed():
    # YAML 1.1 reads "-1e9" and "4e-1" as strings: they must arrive as numbers, not crash a loss
    cfg = load_config(None, ["algorithm.loss_config={clip_cov_lb: -1e9, kl_cov_ratio: 1e-3}"])
    assert cfg.loss_config().clip_cov_lb == -1e9 and cfg.loss_config().kl_cov_ratio == 1e-3
    ctrl = ["algorithm.controller=lambda_pos_schedule"]
    assert load_config(
        None, [*ctrl, "algorithm.controller_args={threshold: 4e-1}"]
    ).algorithm.controller_args == {"threshold": 0.4}
    with pytest.raises(ConfigError, match="controller_args.threshold"):
        load_config(None, [*ctrl, "algorithm.controller_args={threshold: abc}"])
    with pytest.raises(ConfigError, match=r"unknown arguments \['thresh'\]"):
        load_config(None, [*ctrl, "algorithm.controller_args={thresh: 1}"])


def test_bad_override_syntax_and_missing_file(tmp_path):
    with pytest.raises(ConfigError, match="key.path=value"):
        load_config(None, ["trainer.steps"])
    with pytest.raises(ConfigError, match="does not exist"):
        load_config(tmp_path / "nope.yaml")
    (tmp_path / "list.yaml").write_text("- 1\n- 2\n")
    with pytest.raises(ConfigError, match="mapping"):
        load_config(tmp_path / "list.yaml")


@pytest.mark.parametrize("path", ["configs/quickstart.yaml", "configs/chain_sum.yaml", "configs/paper2.yaml"])
def test_experiment_configs_are_valid(path):
    cfg = load_config(path)
    for m in ("grpo", "clip_cov", "kl_cov", "pos_neg"):
        assert cfg.for_method(m).algorithm.loss in POLICY_LOSSES


@pytest.mark.parametrize("method", sorted(METHOD_PRESETS))
def test_every_method_preset_builds_its_loss(method):
    cfg = load_config(None).for_method(method)
    loss_cfg = cfg.loss_config()  # its knobs are valid LossConfig fields and values
    # the preset's loss runs on a batch: a finite loss whose gradient reaches the log-probs
    g = torch.Generator().manual_seed(0)
    old = -torch.rand(4, 6, generator=g) * 3
    log_prob = (old + 0.3 * torch.randn(4, 6, generator=g)).requires_grad_()
    adv = torch.randn(4, 6, generator=g)
    mask = torch.ones(4, 6)
    mask[0, 4:] = 0
    entropy = torch.rand(4, 6, generator=g)
    loss, metrics = POLICY_LOSSES[cfg.algorithm.loss](log_prob, old, adv, mask, loss_cfg, entropy=entropy)
    loss.backward()
    assert loss.ndim == 0 and torch.isfinite(loss) and all(math.isfinite(v) for v in metrics.values())
    assert torch.isfinite(log_prob.grad).all() and log_prob.grad.abs().sum() > 0
    assert (log_prob.grad[0, 4:] == 0).all()  # padding gets no gradient


def test_countdown_run_with_the_spread_teacher(tiny_config, tmp_path):
    """The tiny model warms up on countdown's many correct expressions, then trains a step."""
    opts = "{min_numbers: 3, max_numbers: 3, min_value: 1, max_value: 9, min_target: 1, max_target: 30}"
    cfg = tiny_config(
        "task.name=countdown", f"task.options={opts}", "rollout.max_new_tokens=8", "trainer.steps=1"
    )
    train(cfg, tmp_path / "run", quiet=True)
    (row,) = read_metrics(tmp_path / "run")
    assert math.isfinite(row["entropy"]) and row["entropy"] > 0 and 0 <= row["reward"] <= 1


def test_fused_and_dense_log_prob_paths_agree(tiny_config):
    _, policy, batch = _sampled_batch(tiny_config, n_prompts=3, group=2, seed=1)
    lp_d, ent_d = response_log_probs(policy.model, batch, 0.8, fused=False)
    lp_f, ent_f = response_log_probs(policy.model, batch, 0.8, fused=True, chunk_size=3)
    assert torch.allclose(lp_d, lp_f, atol=1e-5) and torch.allclose(ent_d, ent_f, atol=1e-5)
    g_d = torch.autograd.grad((lp_d.sum() + ent_d.sum()), policy.model.model.norm.weight)[0]
    lp_f, ent_f = response_log_probs(policy.model, batch, 0.8, fused=True, chunk_size=3)
    g_f = torch.autograd.grad((lp_f.sum() + ent_f.sum()), policy.model.model.norm.weight)[0]
    assert torch.allclose(g_d, g_f, rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("fused", [False, True])
def test_bf16_autocast_run(tiny_config, tmp_path, fused):
    """The mixed-precision path the GPU uses, exercised with CPU bf16 autocast."""
    cfg = tiny_config(
        "trainer.precision=bf16", f"model.fused_logits={str(fused).lower()}", "trainer.kl_coef=0.1"
    )
    train(cfg, tmp_path / "r", quiet=True)
    rows = read_metrics(tmp_path / "r")
    assert all(math.isfinite(r["loss"]) and math.isfinite(r["entropy"]) for r in rows)


def test_fixed_entropy_bonus_applies_from_step_zero(tiny_config, tmp_path):
    cfg = tiny_config(
        "algorithm.controller=fixed", "algorithm.controller_args={field: entropy_coef, value: 0.5}"
    )
    train(cfg, tmp_path / "r", quiet=True)
    rows = read_metrics(tmp_path / "r")
    assert (
        rows[0]["entropy_coef"] == 0.5
        and rows[0]["entropy_bonus"] is not None
        and rows[0]["entropy_bonus"] > 0
    )


def test_warmup_lr_schedules():
    from entropy_rl.config import TinyModelConfig
    from entropy_rl.models.tiny import warmup_lr_at

    const = TinyModelConfig(warmup_steps=200, warmup_lr=1e-3)
    cos = TinyModelConfig(warmup_steps=200, warmup_lr=1e-3, warmup_schedule="cosine")
    # 50-step linear ramp, then constant
    assert warmup_lr_at(0, const) == pytest.approx(2e-5) and warmup_lr_at(49, const) == pytest.approx(1e-3)
    assert warmup_lr_at(199, const) == pytest.approx(1e-3)
    # cosine: the ramp times 0.5·(1 + cos(π·step/steps)), half-way at the middle, ~0 at the end
    assert warmup_lr_at(0, cos) == pytest.approx(2e-5)
    assert warmup_lr_at(100, cos) == pytest.approx(0.5e-3)
    assert warmup_lr_at(199, cos) == pytest.approx(1e-3 * 0.5 * (1 + math.cos(math.pi * 199 / 200)))
    assert warmup_lr_at(199, cos) < 1e-6
    lrs = [warmup_lr_at(s, cos) for s in range(50, 200)]
    assert all(a >= b for a, b in zip(lrs, lrs[1:], strict=False))


def test_cosine_warmup_builds_another_model_deterministically(tiny_config, tmp_path):
    from entropy_rl.tasks.factory import make_task

    def build(schedule: str, cache: str):
        cfg = tiny_config(f"model.cache_dir={tmp_path / cache}", f"model.tiny.warmup_schedule={schedule}")
        return load_policy(cfg.model, make_task(cfg.task), seed=0, log=lambda *a: None).model

    a, b, c = build("cosine", "c1"), build("cosine", "c2"), build("constant", "c3")
    pa, pb, pc = (dict(m.named_parameters()) for m in (a, b, c))
    assert all(torch.equal(pa[k], pb[k]) for k in pa)  # deterministic
    assert not all(torch.equal(pa[k], pc[k]) for k in pa)  # the schedule is used


def test_the_command_line_wins_over_the_methods_section():
    # `compare --set` is documented as overriding a field of every run: sweeps depend on it
    override = "algorithm.loss_config.clip_cov_ratio=0.2"
    base = load_config("configs/chain_sum.yaml", [override])
    assert base.methods["clip_cov"]["algorithm"]["loss_config"]["clip_cov_ratio"] == 0.02
    assert base.for_method("clip_cov").algorithm.loss_config["clip_cov_ratio"] == 0.02  # the file's
    cfg = base.for_method("clip_cov", [override])
    assert cfg.algorithm.loss_config["clip_cov_ratio"] == 0.2
    assert cfg.algorithm.loss == "clip_cov"  # the rest of the method section still applies
    assert base.methods["clip_cov"]["algorithm"]["loss_config"]["clip_cov_ratio"] == 0.02  # not mutated


def test_train_subset_limits_rl_prompts_but_not_the_warm_up(tiny_config):
    cfg = tiny_config("task.train_subset=5")
    task = make_task(cfg.task)
    assert len(task.train_pool) == cfg.task.n_train  # the warm-up's pool
    first = {p.prompt for p in task.train_pool[:5]}
    drawn = {p.prompt for step in range(20) for p in task.train_batch(step, 8, seed=0)}
    assert drawn <= first and len(drawn) > 1
    full = make_task(tiny_config().task)
    assert {p.prompt for p in full.train_batch(0, 8, seed=0)} - first  # without it, beyond the 5
    with pytest.raises(ValueError, match="task.train_subset"):
        make_task(tiny_config("task.train_subset=100000").task)


def test_throughput_counts_prompt_and_response_tokens_for_the_update():
    """update_gflop_per_s = 6 × parameters × (prompt + response tokens of the kept rows) × epochs
    per second; the token rates count response tokens only."""
    from types import SimpleNamespace

    from entropy_rl.train.trainer import _throughput

    model = torch.nn.Linear(10, 10)  # 110 parameters
    run = SimpleNamespace(model=model, cfg=SimpleNamespace(trainer=SimpleNamespace(ppo_epochs=2)))
    attention = torch.tensor([[0, 1, 1, 1, 0], [1, 1, 1, 1, 1], [1, 1, 1, 0, 0]])
    response = torch.tensor([[1, 1, 0], [1, 1, 1], [1, 0, 0]])
    s = SimpleNamespace(
        batch=SimpleNamespace(attention_mask=attention, response_mask=response), rollout_time=2.0
    )
    out = _throughput(run, s, torch.tensor([0, 1]), t_update=0.5)
    assert out["rollout_tokens_per_s"] == 6 / 2.0
    assert out["update_tokens_per_s"] == (2 + 3) * 2 / 0.5
    assert out["update_gflop_per_s"] == pytest.approx(6 * 110 * (3 + 5) * 2 / 0.5 / 1e9)
    none = _throughput(run, s, torch.tensor([], dtype=torch.long), t_update=0.0)
    assert none["update_tokens_per_s"] is None and none["update_gflop_per_s"] is None


def test_target_entropy_control_is_logged_and_saturation_is_said(tiny_config, tmp_path, capsys):
    """KL-Cov's β driven towards a target no β ≤ 1.2 reaches: every step logs the target, band,
    knob and whether it sits at its bound; the run says once that the remedy cannot get there."""
    cfg = tiny_config(
        "algorithm.loss=kl_cov", "trainer.steps=4", "algorithm.controller=entropy_pi",
        "algorithm.controller_args={field: kl_cov_coef, target: 50.0, band: 0.1, base: 1.0, low: 0.0, "
        "high: 1.2, kp: 1.0, ki: 0.0, saturation_steps: 3}",
    )  # fmt: skip
    train(cfg, tmp_path / "run", quiet=True)
    rows = read_metrics(tmp_path / "run")
    for row in rows:
        assert row["entropy_target"] == 50.0 and row["entropy_band"] == 0.1
        assert row["controller_value"] == row["kl_cov_coef"] == row["ctrl_kl_cov_coef"] == 1.2
        assert row["controller_at_bound"] == 1.0 and row["controller_entropy"] == row["entropy"]
    err = capsys.readouterr().err
    assert err.count("kl_cov_coef has sat at its upper bound 1.2 for 3 steps") == 1 and "step 2:" in err
