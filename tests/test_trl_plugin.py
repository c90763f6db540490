"""The TRL plug-in on CPU: a tiny Llama and a character tokenizer built in the test, 8 prompts."""

import json
import math
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

pytest.importorskip("trl")
from datasets import Dataset  # noqa: E402
from tokenizers import Tokenizer, models, pre_tokenizers  # noqa: E402
from transformers import LlamaConfig, LlamaForCausalLM, PreTrainedTokenizerFast  # noqa: E402
from trl import GRPOConfig, GRPOTrainer  # noqa: E402
from typer.testing import CliRunner  # noqa: E402

from entropy_rl.analysis.runs import load_run  # noqa: E402
from entropy_rl.analysis.stats import entropy_budget  # noqa: E402
from entropy_rl.cli import app  # noqa: E402
from entropy_rl.core.controllers import LambdaPosSchedule  # noqa: E402
from entropy_rl.core.dynamics import token_covariance  # noqa: E402
from entropy_rl.core.law import fit_entropy_law  # noqa: E402
from entropy_rl.core.losses import LossConfig, get_policy_loss  # noqa: E402
from entropy_rl.integrations.trl import EntropyGRPOTrainer  # noqa: E402

# TRL 1.16 calls transformers APIs that transformers 5.23 marks deprecated: not ours to fix.
pytestmark = pytest.mark.filterwarnings("ignore:.*(gradient|activation)_checkpointing.*:FutureWarning")

PAIRS = [(1, 2), (3, 4), (5, 1), (2, 2), (7, 1), (3, 3), (4, 4), (1, 1)]


def _tokenizer():
    vocab = {"<pad>": 0, "<eos>": 1, **{c: i + 2 for i, c in enumerate("0123456789+=")}}
    tk = Tokenizer(models.WordLevel(vocab, unk_token="<pad>"))
    tk.pre_tokenizer = pre_tokenizers.Split("", "isolated")
    return PreTrainedTokenizerFast(tokenizer_object=tk, pad_token="<pad>", eos_token="<eos>")


def _model(seed=0):
    torch.manual_seed(seed)
    cfg = LlamaConfig(
        vocab_size=14, hidden_size=32, intermediate_size=64, num_hidden_layers=2, num_attention_heads=2,
        num_key_value_heads=2, max_position_embeddings=64, pad_token_id=0, eos_token_id=1, bos_token_id=1,
    )  # fmt: skip
    return LlamaForCausalLM(cfg)


def reward_digits(completions, **kw):
    """The share of digits in the completion: dense, so every group has unequal rewards."""
    return [sum(ch.isdigit() for ch in c) / 4 for c in completions]


def _trainer(tmp_path, policy_loss="ppo", seed=0, **kwargs):
    grpo_keys = {
        "max_steps", "num_iterations", "save_steps", "beta", "top_entropy_quantile", "learning_rate",
        "importance_sampling_level",
    }  # fmt: skip
    grpo = {k: kwargs.pop(k) for k in list(kwargs) if k in grpo_keys}
    args = GRPOConfig(
        output_dir=str(tmp_path),
        per_device_train_batch_size=8,
        num_generations=4,
        max_completion_length=4,
        use_cpu=True,
        report_to=[],
        logging_steps=1,
        save_strategy="steps" if "save_steps" in grpo else "no",
        temperature=1.0,
        disable_tqdm=True,
        seed=seed,
        **({"max_steps": 2, "num_iterations": 2, "beta": 0.0, "learning_rate": 3e-3} | grpo),
    )
    return EntropyGRPOTrainer(
        model=_model(seed),
        reward_funcs=reward_digits,
        args=args,
        train_dataset=Dataset.from_dict({"prompt": [f"{a}+{b}=" for a, b in PAIRS]}),
        processing_class=_tokenizer(),
        policy_loss=policy_loss,
        **kwargs,
    )


@pytest.mark.parametrize(
    "name", ["ppo", "clip_cov", "kl_cov", "pos_neg", "high_entropy", "cispo", "gspo", "reinforce"]
)
def test_every_loss_trains_and_logs_diagnostics(tmp_path, name):
    cfg = LossConfig(clip_cov_ratio=0.2, clip_cov_lb=-1e9, clip_cov_ub=1e9, kl_cov_ratio=0.2)
    trainer = _trainer(tmp_path, name, loss_config=cfg, max_steps=3)
    trainer.train()
    rows = [r for r in trainer.state.log_history if "entropy" in r]
    assert len(rows) == 3
    for key in ("loss", "entropy", "entropy_rl/covariance", "entropy_rl/covariance_pos",
                "entropy_rl/selected_frac", "entropy_rl/cov_top_share_2%", "entropy_rl/loss_share_pos"):  # fmt: skip
        assert all(math.isfinite(r[key]) for r in rows), key
    # The two signed parts add up to the covariance.
    for r in rows:
        total = r["entropy_rl/covariance_pos"] + r["entropy_rl/covariance_neg"]
        assert total == pytest.approx(r["entropy_rl/covariance"], abs=1e-6)
    if name in ("clip_cov", "kl_cov"):  # a fifth of the tokens is selected
        assert max(r["entropy_rl/selected_frac"] for r in rows) > 0.1


def _batch(trainer, seed=0):
    """A fixed batch in TRL's ``inputs`` layout: 4 completions, one padded, advantages per sequence."""
    g = torch.Generator().manual_seed(seed)
    prompt_ids = torch.tensor([[3, 4, 12, 5, 13]] * 4)  # "12+3="
    completion_ids = torch.randint(2, 14, (4, 3), generator=g)
    completion_mask = torch.tensor([[1, 1, 1], [1, 1, 0], [1, 1, 1], [1, 1, 1]])
    with torch.no_grad():
        logits = trainer.model(torch.cat([prompt_ids, completion_ids], 1)).logits[:, 4:-1]
        old = torch.log_softmax(logits, -1).gather(-1, completion_ids.unsqueeze(-1)).squeeze(-1)
    return {
        "prompt_ids": prompt_ids,
        "prompt_mask": torch.ones_like(prompt_ids),
        "completion_ids": completion_ids,
        "completion_mask": completion_mask,
        "advantages": torch.tensor([1.0, -0.5, 0.25, -0.75]),
        "old_per_token_logps": old - 0.1 * torch.randn(old.shape, generator=g),  # off-policy
    }


@pytest.mark.parametrize("name, bonus", [("ppo", 0.0), ("ppo", 0.05), ("kl_cov", 0.0), ("pos_neg", 0.0)])
def test_loss_equals_the_core_loss_on_hand_built_inputs(tmp_path, name, bonus):
    cfg = LossConfig(kl_cov_ratio=0.3, lambda_pos=0.5, entropy_coef=bonus)
    trainer = _trainer(tmp_path, name, loss_config=cfg)
    trainer.current_gradient_accumulation_steps = 1  # set by train() for each accumulation window
    inputs = _batch(trainer)
    ids = torch.cat([inputs["prompt_ids"], inputs["completion_ids"]], 1)
    attn = torch.cat([inputs["prompt_mask"], inputs["completion_mask"]], 1)
    mask, old = inputs["completion_mask"], inputs["old_per_token_logps"]
    adv = inputs["advantages"].unsqueeze(1).expand(4, 3)  # one advantage per sequence, on every token

    def reference():
        """The core loss on TRL's own log-probs (its chunked kernel), built independently here."""
        log_prob, entropy, _ = trainer._get_per_token_logps_and_entropies(
            trainer.model, ids, attn, 3, compute_entropy=True
        )  # the entropy bonus differentiates through TRL's entropies
        return get_policy_loss(name)(log_prob, old, adv, mask, cfg, entropy=entropy)[0], log_prob

    def grads(loss):
        trainer.model.zero_grad()
        loss.backward()
        return [p.grad.clone() for p in trainer.model.parameters()]

    got = trainer._compute_loss(trainer.model, inputs)
    ref, log_prob = reference()
    assert float(got.detach()) == pytest.approx(float(ref.detach()), rel=1e-6, abs=1e-8)
    for a, b in zip(grads(got), grads(reference()[0]), strict=True):
        torch.testing.assert_close(a, b)

    # The completion positions are aligned: TRL's log-probs match log-softmax of the logits
    # (up to its kernel's rounding), so the loss is scoring the right tokens.
    with torch.no_grad():
        logits = trainer.model(ids).logits[:, 4:-1]
    naive = torch.log_softmax(logits, -1).gather(-1, inputs["completion_ids"].unsqueeze(-1)).squeeze(-1)
    torch.testing.assert_close(log_prob.detach() * mask, naive * mask, rtol=0, atol=2e-3)
    logged = trainer._metrics["train"]["entropy_rl/covariance"]
    assert len(logged) == 1 and math.isfinite(logged[0])


def _loss_and_grads(compute_loss, trainer, inputs):
    """``compute_loss`` (the plug-in's or TRL's own ``_compute_loss``) on ``inputs``: its value and
    the gradient of every model parameter."""
    trainer.model.zero_grad()
    loss = compute_loss(trainer, trainer.model, inputs)
    loss.backward()
    return float(loss.detach()), [p.grad.clone() for p in trainer.model.parameters()]


@pytest.mark.parametrize("loss_type, agg", [("grpo", "seq-mean-token-mean"), ("bnpo", "token-mean")])
@pytest.mark.parametrize("is_shape", ["token", "sequence"])
def test_ppo_equals_trl_with_vllm_importance_correction_and_kl(tmp_path, loss_type, agg, is_shape):
    """With vLLM's importance-sampling correction and a bias-corrected KL to the reference (TRL's
    defaults when generating with vLLM and beta > 0), the plug-in's ``ppo`` loss equals TRL's own
    loss, value and gradients. (The dual clip is opened: TRL's loss has none.)"""
    cfg = LossConfig(loss_agg_mode=agg, clip_ratio_c=1e9)
    trainer = _trainer(tmp_path, "ppo", loss_config=cfg)
    # ref_per_token_logps come with the inputs, so no reference model is needed: set beta after.
    trainer.beta, trainer.loss_type = 0.04, loss_type
    trainer.current_gradient_accumulation_steps = 2
    # As if completions came from vLLM: no vLLM here, but the loss step only reads these fields.
    trainer.use_vllm, trainer.vllm_importance_sampling_correction = True, True
    assert trainer.args.use_bias_correction_kl  # TRL's default
    inputs = _batch(trainer)
    g = torch.Generator().manual_seed(1)
    width = 3 if is_shape == "token" else 1
    inputs["importance_sampling_ratio"] = torch.rand(4, width, generator=g) * 2  # as if truncated at 2
    inputs["ref_per_token_logps"] = inputs["old_per_token_logps"] + 0.2 * torch.randn(4, 3, generator=g)

    got, got_grads = _loss_and_grads(EntropyGRPOTrainer._compute_loss, trainer, inputs)
    trl_loss, trl_grads = _loss_and_grads(GRPOTrainer._compute_loss, trainer, inputs)
    assert got == pytest.approx(trl_loss, rel=1e-5)
    for a, b in zip(got_grads, trl_grads, strict=True):
        torch.testing.assert_close(a, b)
    # ... and the weights matter: without them the loss differs.
    trainer.vllm_importance_sampling_correction = False
    unweighted, _ = _loss_and_grads(EntropyGRPOTrainer._compute_loss, trainer, inputs)
    assert unweighted != pytest.approx(got, rel=1e-3)


@pytest.mark.parametrize("loss_type, agg", [("grpo", "seq-mean-token-mean"), ("bnpo", "token-mean")])
def test_gspo_equals_trl_with_sequence_level_importance_sampling(tmp_path, loss_type, agg):
    """TRL's GSPO (``importance_sampling_level="sequence"``) is the plug-in's ``gspo`` loss."""
    cfg = LossConfig(loss_agg_mode=agg, clip_ratio_low=0.01, clip_ratio_high=0.01)
    trainer = _trainer(tmp_path, "gspo", loss_config=cfg)
    trainer.current_gradient_accumulation_steps = 1
    inputs = _batch(trainer)

    got, got_grads = _loss_and_grads(EntropyGRPOTrainer._compute_loss, trainer, inputs)
    assert 0 < trainer._metrics["train"]["entropy_rl/clip_frac"][-1] < 1  # some sequences are clipped
    trainer.loss_type, trainer.importance_sampling_level = loss_type, "sequence"
    trainer.epsilon_low = trainer.epsilon_high = 0.01
    trl_loss, trl_grads = _loss_and_grads(GRPOTrainer._compute_loss, trainer, inputs)
    assert got == pytest.approx(trl_loss, rel=1e-5)
    for a, b in zip(got_grads, trl_grads, strict=True):
        torch.testing.assert_close(a, b)


def test_per_sign_entropy_diagnostics_by_hand(tmp_path):
    trainer = _trainer(tmp_path, "ppo")
    entropy = torch.tensor([[1.0, 2.0, 9.0], [3.0, 4.0, 5.0], [6.0, 7.0, 8.0]])
    mask = torch.tensor([[1, 1, 0], [1, 1, 1], [1, 1, 1]])
    adv = torch.tensor([[1.0], [-1.0], [0.0]]).expand(3, 3)  # the third group had equal rewards
    log_prob = -torch.rand(3, 3)
    ids = torch.tensor([[5, 6, 0], [5, 5, 6], [7, 7, 7]])
    trainer._log_diagnostics("train", {}, log_prob, adv, entropy, mask, ids)
    logged = {k.removeprefix("entropy_rl/"): v[-1] for k, v in trainer._metrics["train"].items()}
    assert logged["entropy_pos"] == pytest.approx(1.5)  # the padded 9.0 does not count
    assert logged["entropy_neg"] == pytest.approx(4.0)
    assert logged["entropy_zero"] == pytest.approx(7.0)
    assert logged["zero_adv_fraction"] == pytest.approx(3 / 8)
    # Per-token sums for token_drivers.json: occurrences, Σ Cov_i, Σ entropy.
    stats = trainer._token_stats
    cov = token_covariance(log_prob, adv, mask)
    assert stats[5].tolist() == pytest.approx([3, float(cov[0, 0] + cov[1, 0] + cov[1, 1]), 8.0])
    assert stats[7].tolist() == pytest.approx([3, float(cov[2].sum()), 21.0])
    assert stats[0].tolist() == [0.0, 0.0, 0.0]  # padding
    trainer._log_diagnostics("eval", {}, log_prob, adv, entropy, mask, ids)  # evaluation: not counted
    assert trainer._token_stats[5, 0] == 3


def test_probe_entropy_change_is_predicted_to_first_order(tmp_path):
    trainer = _trainer(tmp_path, "ppo", probe_size=4, max_steps=6, num_iterations=1, learning_rate=3e-6)
    # At a uniform policy (maximal entropy) the first-order term vanishes and every change is of
    # second order; the random model is nearly uniform, so sharpen its output layer first.
    with torch.no_grad():
        trainer.model.lm_head.weight.mul_(20.0)
    trainer.train()
    rows = [r for r in trainer.state.log_history if "entropy_rl/entropy_change" in r]
    assert [r["step"] for r in rows] == [1, 2, 3, 4, 5, 6]
    measured = np.array([r["entropy_rl/entropy_change"] for r in rows])
    predicted = np.array([r["entropy_rl/predicted_entropy_change"] for r in rows])
    assert np.all(measured != 0) and np.abs(measured).max() > 1e-4
    # Small steps: the first-order term carries the change. (At lr 3e-4, Adam's first step, which
    # moves every weight by about the learning rate, is already large enough for the second-order
    # term to matter: 0.26 of the change was predicted there, 0.8-1.0 at the steps after.)
    np.testing.assert_allclose(predicted, measured, rtol=0.1, atol=1e-5)
    # The probe's entropies chain: each step's change is the difference of consecutive values.
    probe_h = np.array([r["entropy_rl/probe_entropy"] for r in rows])
    np.testing.assert_allclose(np.diff(probe_h), measured[1:], rtol=1e-4, atol=1e-6)  # fp32 sums


def test_the_entropy_budget_does_not_depend_on_logging_steps(tmp_path):
    """TRL averages a logging window; the probe's changes must add up to its end-to-end change
    whatever the window (the budget once understated it 4-8x with several steps per window)."""
    budgets = {}
    for logging_steps in (1, 3):
        trainer = _trainer(tmp_path / str(logging_steps), "ppo", probe_size=4, max_steps=6, num_iterations=1)
        trainer.args.logging_steps = logging_steps
        with torch.no_grad():
            trainer.model.lm_head.weight.mul_(20.0)
        trainer.train()
        rows = [r for r in trainer.state.log_history if "entropy_rl/entropy_change" in r]
        assert len(rows) == 6 // logging_steps
        trainer.state.save_to_json(str(tmp_path / str(logging_steps) / "trainer_state.json"))
        budgets[logging_steps] = entropy_budget(load_run(tmp_path / str(logging_steps)))
        h = [r["entropy_rl/probe_entropy"] for r in rows]
        # end to end: the last probe entropy minus the first window's starting entropy
        start = h[0] - rows[0]["entropy_rl/entropy_change"]
        assert budgets[logging_steps]["entropy_change_total"] == pytest.approx(h[-1] - start, abs=1e-5)
    for key in ("entropy_change_total", "entropy_change_first_order"):
        assert budgets[3][key] == pytest.approx(budgets[1][key], rel=1e-3, abs=1e-5), key
    assert abs(budgets[1]["entropy_change_total"]) > 1e-4


def test_unsupported_options_and_on_policy_kl_cov_are_reported(tmp_path):
    with pytest.raises(ValueError, match="top_entropy_quantile.*high_entropy"):
        _trainer(tmp_path, "ppo", top_entropy_quantile=0.5)
    with pytest.raises(ValueError, match="importance_sampling_level.*policy_loss='gspo'"):
        _trainer(tmp_path, "ppo", importance_sampling_level="sequence")
    with pytest.raises(ValueError, match="unknown policy loss 'nope'"):
        _trainer(tmp_path, "nope")
    with pytest.warns(UserWarning, match="KL-Cov on purely on-policy updates does nothing"):
        _trainer(tmp_path, "kl_cov", num_iterations=1)


def test_controller_law_fit_and_resume_equal_an_uninterrupted_run(tmp_path):
    def make(out, **kw):
        return _trainer(
            out, "pos_neg", controller=LambdaPosSchedule(threshold=100.0, step=0.1, lambda_pos=1.0),
            max_steps=4, save_steps=2, num_iterations=1, probe_size=4, **kw,
        )  # fmt: skip

    full = make(tmp_path / "full")
    full.train()
    # Entropy is always below the threshold, so λ_pos falls by 0.1 at each optimizer step.
    lams = [
        r["entropy_rl/ctrl_lambda_pos"] for r in full.state.log_history if "entropy_rl/ctrl_lambda_pos" in r
    ]
    assert lams == pytest.approx([0.9, 0.8, 0.7, 0.6])
    assert full.loss_config.lambda_pos == pytest.approx(0.6)
    # One generation per step (num_iterations=1): a law point per step, a fit from the third on.
    law_rows = [r for r in full.state.log_history if "entropy_rl/law_ceiling" in r]
    assert [r["step"] for r in law_rows] == [3, 4]
    for r in law_rows:
        assert r["entropy_rl/law_ceiling"] == pytest.approx(r["entropy_rl/law_b"] - r["entropy_rl/law_a"])

    resumed = make(tmp_path / "resumed")
    # Resume from the uninterrupted run's step-2 checkpoint: the same last two steps follow.
    resumed.train(resume_from_checkpoint=str(tmp_path / "full" / "checkpoint-2"))
    assert resumed.controller.lambda_pos == pytest.approx(full.controller.lambda_pos)
    assert np.allclose(resumed.law_points, full.law_points)
    for a, b in zip(resumed.model.parameters(), full.model.parameters(), strict=True):
        torch.testing.assert_close(a, b)

    # The probe (saved in the checkpoint) gives the same entropy changes after the resume.
    def changes(trainer):
        return {
            r["step"]: r["entropy_rl/entropy_change"]
            for r in trainer.state.log_history
            if r.get("step", 0) > 2 and "entropy_rl/entropy_change" in r
        }

    assert changes(resumed) == pytest.approx(changes(full)) and len(changes(full)) == 2
    # ... and the same per-token covariance sums (token_drivers.json, written in each checkpoint).
    drivers = [
        json.loads((tmp_path / d / "checkpoint-4" / "token_drivers.json").read_text())
        for d in ("full", "resumed")
    ]
    assert drivers[0]["tokens_total"] > 0 and drivers[0]["top"]
    assert drivers[0]["tokens_total"] == drivers[1]["tokens_total"]
    assert drivers[0]["covariance_total"] == pytest.approx(drivers[1]["covariance_total"])

    # `entropy-rl fit` reads a TRL output directory (its latest checkpoint's trainer_state.json).
    run = load_run(tmp_path / "full")
    assert run.performance_key == "reward" and run.token_drivers == drivers[0]
    assert [r["step"] for r in run.rows] == [1, 2, 3, 4]
    assert "covariance" in run.rows[0] and "entropy_rl/covariance" not in run.rows[0]
    state = json.loads((tmp_path / "full" / "checkpoint-4" / "trainer_state.json").read_text())
    assert len(state["log_history"]) >= 4
    result = CliRunner().invoke(app, ["fit", str(tmp_path / "full")])
    assert result.exit_code == 0, result.output
    law = full.law_points
    expected = fit_entropy_law([h for h, _ in law], [r for _, r in law])
    assert "points: 4 (entropy, reward)" in result.output
    assert f"b − a = {expected.ceiling:.4f}" in result.output
    # ... and so does `entropy-rl report`: the law on the training reward, the probe's entropy budget.
    result = CliRunner().invoke(app, ["report", str(tmp_path / "full"), "--out", str(tmp_path / "report")])
    assert result.exit_code == 0, result.output
    summary = json.loads((tmp_path / "report" / "summary.json").read_text())
    assert summary["laws"][str(tmp_path / "full")]["ceiling"] == pytest.approx(expected.ceiling)
    total = summary["methods"]["full"]["entropy_change_total"]["mean"]
    assert total == pytest.approx(
        sum(changes(full).values())
        + sum(r["entropy_rl/entropy_change"] for r in full.state.log_history if r.get("step") in (1, 2))
    )


WORKER = """
import json, pathlib, sys
sys.path.insert(0, {tests!r})
from test_trl_plugin import _trainer
from entropy_rl.core.controllers import LambdaPosSchedule
from entropy_rl.core.losses import LossConfig
out = pathlib.Path({out!r})
t = _trainer(out, "clip_cov", loss_config=LossConfig(clip_cov_ratio=0.2, clip_cov_lb=-1e9, clip_cov_ub=1e9),
             controller=LambdaPosSchedule(threshold=100.0, step=0.1, lambda_pos=1.0), max_steps=2,
             save_steps=2)
t.train()
rank = t.accelerator.process_index
rows = [r for r in t.state.log_history if "entropy" in r]
(out / f"rank{{rank}}.json").write_text(json.dumps({{"world": t.accelerator.num_processes,
    "lambda_pos": t.loss_config.lambda_pos, "rows": rows, "tokens": float(t._token_stats[:, 0].sum())}}))
"""


def test_two_processes_agree(tmp_path):
    """torchrun with 2 CPU processes (gloo): the collectives match up and both ranks' controllers agree."""
    script = tmp_path / "worker.py"
    script.write_text(WORKER.format(tests=str(Path(__file__).parent), out=str(tmp_path)))
    torchrun = Path(sys.executable).with_name("torchrun")
    env = os.environ | {"OMP_NUM_THREADS": "1"}
    proc = subprocess.run(
        [str(torchrun), "--nproc_per_node", "2", str(script)],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    ranks = [json.loads((tmp_path / f"rank{i}.json").read_text()) for i in (0, 1)]
    assert [r["world"] for r in ranks] == [2, 2]
    assert ranks[0]["lambda_pos"] == ranks[1]["lambda_pos"] == pytest.approx(0.8)
    rows = ranks[0]["rows"]
    assert len(rows) == 2 and all(math.isfinite(r["entropy_rl/covariance"]) for r in rows)
    assert all(r["entropy_rl/selected_frac"] > 0.1 for r in rows)
    # The checkpoint's token_drivers.json sums both processes' tokens.
    drivers = json.loads((tmp_path / "checkpoint-2" / "token_drivers.json").read_text())
    assert min(r["tokens"] for r in ranks) > 0
    assert drivers["tokens_total"] == ranks[0]["tokens"] + ranks[1]["tokens"]


def test_grpo_args_from_config_do_the_configs_work():
    """One RL step of the config = one generation batch of prompts × group completions, split into
    mini_batches optimizer steps, ppo_epochs passes; fp32 with no checkpointing on a CPU."""
    from entropy_rl.config import load_config
    from entropy_rl.integrations.trl import grpo_args_from_config

    cfg = load_config(
        Path(__file__).parent.parent / "configs" / "quickstart.yaml",
        [
            "rollout.prompts_per_step=6",
            "rollout.group_size=4",
            "trainer.mini_batches=3",
            "trainer.ppo_epochs=2",
        ],
    )
    args = grpo_args_from_config(cfg, "unused", steps=5, seed=3, logging_steps=1)
    assert args.per_device_train_batch_size * args.steps_per_generation == 6 * 4
    assert args.num_generations == 4 and args.num_iterations == 2
    assert args.max_steps == 5 * 3 * 2 and args.logging_steps == 1 and args.seed == 3
    assert args.temperature == cfg.rollout.temperature and args.top_k == 0 and args.top_p == 1.0
    assert args.max_completion_length == cfg.rollout.max_new_tokens and args.learning_rate == cfg.trainer.lr
    assert args.beta == 0.0 and not args.gradient_checkpointing
    assert args.bf16 == torch.cuda.is_available()  # precision "auto": bf16 on CUDA only
    cfg_bf16 = load_config(
        Path(__file__).parent.parent / "configs" / "quickstart.yaml", ["trainer.precision=bf16"]
    )
    assert grpo_args_from_config(cfg_bf16, "unused", steps=1).bf16


def test_trl_inputs_for_a_chat_model_score_conversational_completions():
    """A chat policy gets conversational prompts (TRL applies its chat template) and a reward that
    reads the completion message; a plain policy gets text prompts."""
    from types import SimpleNamespace

    from entropy_rl.integrations.trl import trl_dataset_and_reward
    from entropy_rl.models.tokenizers import CharTokenizer, HFTokenizer
    from entropy_rl.scoring.types import Problem, Verdict

    problems = [Problem(prompt=f"{a}+{b}=", answer=str(a + b)) for a, b in PAIRS[:3]]

    class Task:
        train_pool = problems

        def score(self, problem, text):
            ok = text.strip() == problem.answer
            return Verdict(reward=float(ok), parsed=text, reason="ok" if ok else "wrong")

    hf = CharTokenizer("0123456789+=").to_transformers()
    hf.chat_template = "{% for m in messages %}{{ m['content'] }}{% endfor %}"
    chat = SimpleNamespace(chat=True, tokenizer=HFTokenizer(hf))
    dataset, reward, tok = trl_dataset_and_reward(chat, Task())
    assert tok is hf and dataset["prompt"][0] == [{"role": "user", "content": "1+2="}]
    prompts = dataset["prompt"][:2]
    completions = [[{"role": "assistant", "content": "3"}], [{"role": "assistant", "content": "6"}]]
    assert reward(completions, prompts) == [1.0, 0.0]

    plain = SimpleNamespace(chat=False, tokenizer=CharTokenizer("0123456789+="))
    dataset, reward, _ = trl_dataset_and_reward(plain, Task())
    assert dataset["prompt"] == ["1+2=", "3+4=", "5+1="]
    assert reward(["3", "7"], ["1+2=", "3+4="]) == [1.0, 1.0]


def test_target_entropy_controller_from_a_spec_drives_kl_covs_beta_and_resumes(tmp_path, caplog):
    """The controller as configuration: a JSON spec on KL-Cov's β. The target is above the model's
    entropy, so β rises each optimizer step until it sits at its bound, which the log says."""
    spec = json.dumps({"name": "entropy_pi", "field": "kl_cov_coef", "target": 50.0, "band": 0.5,
                       "base": 1.0, "low": 0.0, "high": 1.3, "kp": 0.002, "ki": 0.002, "saturation_steps": 1})  # fmt: skip

    def make(out):
        return _trainer(out, "kl_cov", controller=spec, max_steps=4, save_steps=2, num_iterations=2)

    full = make(tmp_path / "full")
    full.train()
    rows = [r for r in full.state.log_history if "entropy_rl/controller_value" in r]
    assert len(rows) == 4
    betas = [r["entropy_rl/ctrl_kl_cov_coef"] for r in rows]
    assert betas[0] > 1.0 and betas == sorted(betas) and betas[-1] == 1.3
    assert all(r["entropy_rl/entropy_target"] == 50.0 and r["entropy_rl/entropy_band"] == 0.5 for r in rows)
    assert rows[-1]["entropy_rl/controller_at_bound"] == 1.0 and rows[0]["entropy_rl/controller_at_bound"] == 0.0
    assert full.loss_config.kl_cov_coef == 1.3
    assert "kl_cov_coef has sat at its upper bound 1.3" in caplog.text
    resumed = make(tmp_path / "resumed")
    resumed.train(resume_from_checkpoint=str(tmp_path / "full" / "checkpoint-2"))
    assert resumed.controller.state_dict() == full.controller.state_dict()
    assert resumed.loss_config.kl_cov_coef == full.loss_config.kl_cov_coef
    with pytest.raises(ValueError, match="'kl_cov_coef' is read by kl_cov, not by the loss 'ppo'"):
        _trainer(tmp_path / "bad", "ppo", controller=spec)
