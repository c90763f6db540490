"""TRL plug-in: entropy-rl's losses, diagnostics and controllers inside TRL's ``GRPOTrainer``.

TRL runs the loop and scales it out (accelerate, DeepSpeed, vLLM generation); this subclass
replaces only the loss step (``_compute_loss``, TRL's documented extension point) and adds what
TRL does not have:

- every policy loss of ``entropy_rl.core.losses`` by name: Clip-Cov, KL-Cov, pos/neg reweighting,
  EntroPIC weighting, 80/20 high-entropy tokens (renormalised), PPO with dual clip, REINFORCE;
- per-step diagnostics under ``entropy_rl/`` in TRL's logs (so in wandb/trackio/TensorBoard and
  ``trainer_state.json``): the covariance Cov(log π, A) and its parts on A > 0 / A < 0 tokens,
  the share carried by the top 0.02 % / 0.2 % / 2 % tokens, entropy on A > 0 / A < 0 / A = 0
  tokens and the share of A = 0 tokens, clip and selection fractions, loss shares, approximate
  KL; and in each checkpoint ``token_drivers.json``, the tokens carrying the most covariance;
- an entropy controller from ``entropy_rl.core.controllers`` (λ_pos schedule, EntroPIC PI control,
  Skywork's adaptive bonus…), updated once per optimizer step with the window's mean token
  entropy (as TRL's own adaptive bonus is) and checkpointed with TRL's checkpoints;
- optionally (``probe_size`` > 0), the entropy change each optimizer step causes on a fixed
  probe batch, measured (``entropy_rl/entropy_change``) and predicted to first order from the
  realised logit change, −Cov_{a∼π_old}(log π_old, Δz) (``entropy_rl/predicted_entropy_change``),
  as entropy-rl's own trainer logs them;
- a running fit of the entropy–performance law R = −a·exp(H) + b on (entropy, ``law_metric``)
  at each logging step, logged as ``entropy_rl/law_a``, ``law_b``, ``law_r2``, ``law_ceiling``
  from the third point on. TRL logs training reward, not held-out accuracy, so by default the
  law is fitted on the training reward; ``entropy-rl fit OUTPUT_DIR`` refits it afterwards.

Usage::

    from trl import GRPOConfig
    from entropy_rl.integrations.trl import EntropyGRPOTrainer
    from entropy_rl.core.losses import LossConfig

    trainer = EntropyGRPOTrainer(
        model=..., reward_funcs=..., train_dataset=..., processing_class=...,
        # num_iterations > 1 makes updates off-policy: KL-Cov's penalty is 0 on on-policy updates
        args=GRPOConfig(output_dir="out", num_iterations=2),
        policy_loss="kl_cov",
        loss_config=LossConfig(kl_cov_ratio=2e-3, kl_cov_coef=1.0),
    )
    trainer.train()

Semantics: the loss sees TRL's per-token log-probs, entropies and ``old_per_token_logps``
(``log_prob.detach()`` when TRL skips them because the update is on-policy); TRL's
per-sequence advantages are broadcast over the completion tokens. The loss is aggregated with
``loss_config.loss_agg_mode`` (TRL's ``loss_type`` is not used) over each micro-batch and divided
by the gradient-accumulation steps, as TRL's ``grpo`` loss type is; Clip-Cov and KL-Cov centre
the covariance over the micro-batch, as verl does. Without ``loss_config``, the PPO clip comes
from TRL's ``epsilon`` / ``epsilon_high``. TRL's KL to the reference (``beta``, with
``use_bias_correction_kl``) and MoE router loss are added as TRL adds them. With vLLM generation,
TRL's importance-sampling correction (``vllm_importance_sampling_correction``, on by default)
weights each token's policy loss by TRL's truncated or masked ratio π_trainer/π_vLLM, as TRL's
own losses do; the remedies choose their tokens before that weighting, as verl's do. TRL options
that change the loss in ways these losses do not model (listed in ``UNSUPPORTED_OPTIONS``) are
refused at construction with the replacement to use.
"""

from __future__ import annotations

import inspect
import logging
import math
import os
import warnings
from pathlib import Path

import torch
from transformers import TrainerCallback
from transformers.trainer_utils import PREFIX_CHECKPOINT_DIR
from trl import GRPOTrainer

from entropy_rl.core.controllers import Controller, controller_from_spec
from entropy_rl.core.diagnostics import batch_diagnostics, probe_entropy_terms, readable_token, running_law
from entropy_rl.core.dynamics import sums_by_token, token_drivers
from entropy_rl.core.law import law_points
from entropy_rl.core.losses import (
    LossConfig,
    aggregate_loss,
    check_knob,
    checked_dynamic_state,
    get_policy_loss,
    k3_kl,
)
from entropy_rl.files import CheckpointError, atomic_write_text, safe_load, save_torch, strict_json

logger = logging.getLogger(__name__)
PREFIX = "entropy_rl/"
STATE_FILE = "entropy_rl_state.pt"
DRIVERS_FILE = "token_drivers.json"

# GRPOConfig option → (value that means "off", why it is refused and what to use instead).
UNSUPPORTED_OPTIONS: dict[str, tuple[object, str]] = {
    "importance_sampling_level": ("token", "for GSPO's sequence-level ratio use policy_loss='gspo'"),
    "top_entropy_quantile": (1.0, "use policy_loss='high_entropy' with loss_config.entropy_quantile"),
    "entropy_coef": (0.0, "use loss_config.entropy_coef"),
    "use_adaptive_entropy": (
        False,
        "use controller=AdaptiveEntropyBonus(...) from entropy_rl.core.controllers",
    ),
    "off_policy_mask_threshold": (None, "not modelled by entropy-rl's losses"),
    "delta": (None, "two-sided clipping is not modelled; the ppo loss has a dual clip (clip_ratio_c)"),
}

# Extra model inputs (vision-language models) that TRL passes to its log-prob helper.
_MODEL_INPUT_KEYS = (
    "pixel_values", "image_grid_thw", "num_images", "pixel_attention_mask", "spatial_shapes",
    "num_tiles", "image_sizes", "token_type_ids", "mm_token_type_ids", "image_position_ids",
)  # fmt: skip


def check_grpo_args(args, policy_loss: str) -> None:
    """Refuse GRPOConfig options this plug-in cannot honour; warn about KL-Cov on-policy."""
    for name, (off, why) in UNSUPPORTED_OPTIONS.items():
        if hasattr(args, name) and getattr(args, name) != off:
            raise ValueError(
                f"GRPOConfig.{name}={getattr(args, name)!r} is not supported by EntropyGRPOTrainer "
                f"(set it to {off!r}): {why}"
            )
    on_policy = args.num_iterations == 1 and args.steps_per_generation <= args.gradient_accumulation_steps
    if policy_loss == "kl_cov" and on_policy:
        warnings.warn(
            "KL-Cov on purely on-policy updates does nothing (|log π − log π_old| = 0): set "
            "GRPOConfig.num_iterations > 1 or steps_per_generation > gradient_accumulation_steps",
            stacklevel=3,
        )


class EntropyGRPOTrainer(GRPOTrainer):
    """TRL's ``GRPOTrainer`` with an entropy-rl policy loss, diagnostics, controller and law fit.

    Args (besides ``GRPOTrainer``'s):
        policy_loss: a name in ``entropy_rl.core.losses.POLICY_LOSSES``.
        loss_config: the loss's knobs; None = defaults with TRL's ``epsilon`` / ``epsilon_high``.
            Its ``generator`` (Clip-Cov's random choice) is seeded from ``args.seed`` and the
            process index when None.
        controller: an ``entropy_rl.core.controllers.Controller`` that sets ``loss_config`` fields
            (e.g. ``lambda_pos`` for ``pos_neg``) from the measured entropy, or its spec as a
            mapping or JSON object (``{"name": "entropy_pi", "field": "kl_cov_coef", "target":
            0.3}``, the arguments of ``algorithm.controller_args``); None = fixed knobs. Each step
            logs the knob and the controller's target, band and whether the knob sits at a bound.
        law_metric: the TRL metric fitted against entropy by the running law (default
            ``"reward"``, the mean training reward).
        probe_size: sequences of the first training micro-batch kept as the probe batch on which
            each optimizer step's entropy change is measured and predicted (0 = off). It costs
            one forward pass on the probe per optimizer step and keeps its full-vocabulary
            log-probabilities: probe_size × probe_max_tokens × vocab floats (4 × 256 × 50k fp32
            ≈ 200 MB).
        probe_max_tokens: completion tokens of each probe sequence that are kept.
    """

    def __init__(
        self,
        *args,
        policy_loss: str = "ppo",
        loss_config: LossConfig | None = None,
        controller: Controller | dict | str | None = None,
        law_metric: str = "reward",
        probe_size: int = 0,
        probe_max_tokens: int = 256,
        **kwargs,
    ):
        if probe_size < 0 or probe_max_tokens < 1:
            raise ValueError(
                f"probe_size must be >= 0 and probe_max_tokens >= 1, got {probe_size}, {probe_max_tokens}"
            )
        self.policy_loss_fn = get_policy_loss(policy_loss)  # unknown names fail before any set-up
        self.policy_loss = policy_loss
        grpo_args = kwargs.get("args", args[2] if len(args) > 2 else None)
        if grpo_args is not None:  # before TRL loads models or starts vLLM
            check_grpo_args(grpo_args, policy_loss)
        super().__init__(*args, **kwargs)
        if grpo_args is None:  # TRL built its default GRPOConfig
            check_grpo_args(self.args, policy_loss)
        if loss_config is None:
            loss_config = LossConfig(clip_ratio_low=self.epsilon_low, clip_ratio_high=self.epsilon_high)
        if loss_config.generator is None:
            seed = self.args.seed + self.accelerator.process_index
            loss_config.generator = torch.Generator().manual_seed(seed)
        self.loss_config = loss_config
        if controller is not None:
            controller = controller_from_spec(controller)
            field = getattr(controller, "field", None)
            if field is not None:
                check_knob(field, policy_loss)  # a knob this loss does not read would do nothing
        self.controller = controller
        if controller is not None:
            loss_config.update(controller.initial())
        self.law_metric = law_metric
        self._entropy_window: torch.Tensor | None = None  # (Σ entropy, Σ tokens) since the last step
        self.probe_size, self.probe_max_tokens = probe_size, probe_max_tokens
        self._probe: dict[str, torch.Tensor] | None = None  # fixed prompt + completion ids
        self._probe_lp: torch.Tensor | None = None  # its log-softmax under the current policy
        # per token id, over this process's training micro-batches: occurrences, Σ Cov_i, Σ entropy;
        # float64 on the CPU (MPS has no float64). The config gives the size: under ZeRO-3 the
        # output layer's weight is partitioned and its shape is 0.
        vocab = self.model.config.get_text_config().vocab_size
        self._token_stats = torch.zeros(vocab, 3, dtype=torch.float64)
        if probe_size:
            self.add_callback(_ProbeCallback(self))
        params = inspect.signature(self._get_per_token_logps_and_entropies).parameters
        self._model_input_keys = [k for k in _MODEL_INPUT_KEYS if k in params]

    # ------------------------------------------------------------------------- the loss step

    def _compute_loss(self, model, inputs):
        prompt_ids, prompt_mask = inputs["prompt_ids"], inputs["prompt_mask"]
        completion_ids, completion_mask = inputs["completion_ids"], inputs["completion_mask"]
        input_ids = torch.cat([prompt_ids, completion_ids], dim=1)
        attention_mask = torch.cat([prompt_mask, completion_mask], dim=1)
        mask = completion_mask if "tool_mask" not in inputs else completion_mask * inputs["tool_mask"]
        mode = "train" if self.model.training else "eval"
        if mode == "train" and self.probe_size:  # before the forward: the probe's pre-update state
            self._ensure_probe(prompt_ids, completion_ids, attention_mask, mask)
        log_prob, entropy, aux_loss = self._get_per_token_logps_and_entropies(
            model,
            input_ids,
            attention_mask,
            completion_ids.size(1),
            compute_entropy=True,
            compute_aux_loss=self.aux_loss_enabled,
            **{k: inputs.get(k) for k in self._model_input_keys},
        )  # (batch, completion_len) each
        advantages = inputs["advantages"]
        if advantages.dim() == 1:  # TRL: one advantage per sequence
            advantages = advantages.unsqueeze(1)
        advantages = advantages.expand_as(log_prob).contiguous()
        old_log_prob = inputs.get("old_per_token_logps")
        if old_log_prob is None:  # TRL skips them when the update is on-policy
            old_log_prob = log_prob.detach()

        # vLLM's sampling probabilities differ from the trainer's: TRL's truncated (or masked)
        # importance ratio, (batch, len) or (batch, 1), weights the per-token loss, as in TRL.
        weights = None
        if self.use_vllm and self.vllm_importance_sampling_correction:
            weights = inputs["importance_sampling_ratio"]
        cfg = self.loss_config
        loss, metrics = self.policy_loss_fn(
            log_prob, old_log_prob, advantages, mask, cfg, entropy=entropy, weights=weights
        )
        if self.beta != 0.0:
            ref = inputs["ref_per_token_logps"]
            per_token_kl = k3_kl(log_prob, ref)  # as TRL
            if self.args.use_bias_correction_kl:  # TRL: × the (token-level) ratio π/π_old
                per_token_kl = per_token_kl * torch.exp(log_prob - old_log_prob)
            kl = aggregate_loss(per_token_kl, mask, cfg.loss_agg_mode, cfg.loss_scale_factor)
            loss = loss + self.beta * kl
            self._metrics[mode]["kl"].append(self._global_mean(per_token_kl.detach(), mask))
        normalizer = self.current_gradient_accumulation_steps if mode == "train" else 1.0
        loss = loss / normalizer
        if self.aux_loss_enabled:
            loss = loss + self.router_aux_loss_coef * aux_loss / normalizer

        entropy = entropy.detach()
        self._metrics[mode]["entropy"].append(self._global_mean(entropy, mask))
        self._log_diagnostics(mode, metrics, log_prob.detach(), advantages, entropy, mask, completion_ids)
        if mode == "train" and self.controller is not None:
            self._step_controller(entropy, mask)
        return loss

    def _global_mean(self, values: torch.Tensor, mask: torch.Tensor) -> float:
        """Token-weighted mean over all processes of ``values`` (batch, len) on ``mask``."""
        totals = torch.stack([(values * mask).sum(), mask.sum().to(values.dtype)])
        totals = self.accelerator.reduce(totals, reduction="sum")
        return float(totals[0] / totals[1].clamp(min=1.0))

    @torch.no_grad()
    def _log_diagnostics(self, mode, metrics, log_prob, advantages, entropy, mask, completion_ids) -> None:
        """The loss's metrics plus covariance concentration and per-sign entropy, averaged over
        processes with one collective (NaN, e.g. no A > 0 token on a process, is skipped); in
        training, the per-token sums behind ``token_drivers.json``."""
        diag = batch_diagnostics(log_prob, advantages, entropy, mask)
        if mode == "train":
            cpu = [t.detach().cpu() for t in (completion_ids, mask, diag.token_covariance, entropy)]
            self._token_stats += sums_by_token(cpu[0], cpu[1], self._token_stats.shape[0], *cpu[2:])
        # the batch's diagnostics (NaN where a quantity has no token), then the loss's metrics
        values = {k: math.nan if v is None else v for k, v in diag.metrics.items()} | metrics
        keys = sorted(values)  # the same loss on every process: the same keys in the same order
        local = torch.tensor([values[k] for k in keys], dtype=torch.float32, device=log_prob.device)
        gathered = self.accelerator.gather(local.unsqueeze(0)).nanmean(0)
        for k, v in zip(keys, gathered.tolist(), strict=True):
            self._metrics[mode][PREFIX + k].append(v)

    def _step_controller(self, entropy: torch.Tensor, mask: torch.Tensor) -> None:
        """Accumulate this micro-batch's entropy; at the optimizer-step boundary, feed the window's
        mean over all processes to the controller and apply its coefficients to the next step."""
        stats = torch.stack([(entropy * mask).sum(), mask.sum().to(entropy.dtype)])
        self._entropy_window = stats if self._entropy_window is None else self._entropy_window + stats
        if not self.accelerator.sync_gradients:
            return
        totals = self.accelerator.reduce(self._entropy_window, reduction="sum")
        self._entropy_window = None
        measured = float(totals[0] / totals[1].clamp(min=1.0))
        values = self.controller.update(measured)
        self.loss_config.update(values)
        for k, v in values.items():
            self._metrics["train"][f"{PREFIX}ctrl_{k}"].append(float(v))
        for k, v in self.controller.logged().items():  # target, band, knob value, at a bound
            self._metrics["train"][PREFIX + k].append(float(v))
        message = self.controller.warning()
        if message and self.accelerator.is_main_process:
            logger.warning(f"step {self.state.global_step}: {message}")

    # ------------------------------------------------------------------------- probe batch

    def _ensure_probe(self, prompt_ids, completion_ids, attention_mask, mask) -> None:
        """Keep the first micro-batch's first sequences as the probe; (re)compute its log-softmax
        under the current policy when missing (the first step, or after a resume)."""
        if self._probe is None:
            n, keep = (
                min(self.probe_size, prompt_ids.size(0)),
                min(self.probe_max_tokens, completion_ids.size(1)),
            )
            width = prompt_ids.size(1) + keep
            self._probe = {
                "input_ids": torch.cat([prompt_ids[:n], completion_ids[:n, :keep]], 1).detach().clone(),
                "attention_mask": attention_mask[:n, :width].detach().clone(),
                "mask": mask[:n, :keep].detach().clone(),
            }
        if self._probe_lp is None:
            self._probe_lp = self._probe_log_softmax()

    @torch.no_grad()
    def _probe_log_softmax(self) -> torch.Tensor:
        """(probe, kept completion tokens, vocab) log-softmax at the sampling temperature."""
        p = self._probe
        keep = p["mask"].size(1)
        device = self.accelerator.device
        out = self.model(
            input_ids=p["input_ids"].to(device),
            attention_mask=p["attention_mask"].to(device),
            use_cache=False,
        )
        logits = out.logits[:, -keep - 1 : -1].float() / self.temperature
        return torch.log_softmax(logits, -1)

    def _measure_probe(self) -> None:
        """After an optimizer step: the probe's entropy change, measured and predicted to first
        order in the realised logit change (token means over all processes)."""
        if self._probe is None or self._probe_lp is None:
            return
        old, new = self._probe_lp, self._probe_log_softmax()
        mask = self._probe["mask"].to(new.device, new.dtype)
        h_old, h_new, predicted = probe_entropy_terms(old, new)
        predicted = predicted.to(new.dtype)
        sums = torch.stack(
            [(h_new * mask).sum(), ((h_new - h_old) * mask).sum(), (predicted * mask).sum(), mask.sum()]
        )
        sums = self.accelerator.reduce(sums, reduction="sum")
        n = sums[3].clamp(min=1.0)
        train = self._metrics["train"]
        train[f"{PREFIX}probe_entropy"].append(float(sums[0] / n))
        train[f"{PREFIX}entropy_change"].append(float(sums[1] / n))
        train[f"{PREFIX}predicted_entropy_change"].append(float(sums[2] / n))
        self._probe_lp = new

    # ------------------------------------------------------------------------- law and logging

    def log(self, logs: dict[str, float], start_time: float | None = None) -> None:
        """Add the running entropy-law fit, then let TRL average and emit its metrics.

        TRL averages each metric over the optimizer steps of a logging window. The probe's
        entropy changes are summed instead, and its entropy is the window's last value, so that
        the logged changes add up to the probe's end-to-end change for any ``logging_steps``
        (``entropy-rl fit``'s entropy budget); their correlations are then over windows."""
        if self.model.training:
            self._update_law(logs)
            train = self._metrics["train"]
            for key in (f"{PREFIX}entropy_change", f"{PREFIX}predicted_entropy_change"):
                if train.get(key):
                    train[key] = [sum(train[key])]
            if train.get(f"{PREFIX}probe_entropy"):
                train[f"{PREFIX}probe_entropy"] = [train[f"{PREFIX}probe_entropy"][-1]]
        super().log(logs, start_time)

    @property
    def law_points(self) -> list[tuple[float, float]]:
        """(entropy, ``law_metric``) of every logged training step so far. Derived from TRL's
        ``log_history``, which checkpoints restore, so a resumed run has the same points."""
        return law_points(self.state.log_history, self.law_metric)

    def _update_law(self, logs: dict[str, float]) -> None:
        train = self._metrics["train"]
        h, r = _nanmean(train.get("entropy", [])), _nanmean(train.get(self.law_metric, []))
        if math.isnan(h) or math.isnan(r):
            return  # e.g. a logging window without a new generation batch has no reward
        points = [*self.law_points, (h, r)]  # this step's point joins log_history in super().log
        logs.update({PREFIX + k: v for k, v in running_law(points).items()})

    # ------------------------------------------------------------------------- checkpoints

    def _token_label(self, token_id: int) -> str:
        return readable_token(self.processing_class.decode([token_id]), token_id)

    def _save_checkpoint(self, model, trial):
        super()._save_checkpoint(model, trial)
        token_stats = self._token_stats.clone()
        if self.accelerator.num_processes > 1:  # every process takes part in the sum; the main one writes it
            token_stats = self.accelerator.reduce(
                token_stats.to(self.accelerator.device), reduction="sum"
            ).cpu()
        if not self.args.should_save:
            return
        folder = os.path.join(
            self._get_output_dir(trial=trial), f"{PREFIX_CHECKPOINT_DIR}-{self.state.global_step}"
        )
        drivers = token_drivers(token_stats, self._token_label)
        atomic_write_text(Path(folder) / DRIVERS_FILE, strict_json(drivers, indent=1))
        state = {
            "controller": self.controller.state_dict() if self.controller is not None else None,
            "loss_dynamic": self.loss_config.dynamic_state(),
            "generator": self.loss_config.generator.get_state(),
            "probe": None if self._probe is None else {k: v.cpu() for k, v in self._probe.items()},
            "token_stats": token_stats,  # the sum over processes: the main process resumes from it
        }
        save_torch(state, Path(folder) / STATE_FILE)  # atomic; never through a planted link

    def _load_optimizer_and_scheduler(self, checkpoint):
        super()._load_optimizer_and_scheduler(checkpoint)
        if checkpoint is None:
            return
        path = os.path.join(checkpoint, STATE_FILE)
        if not os.path.exists(path):
            return
        state = safe_load(Path(path))  # never runs code from the checkpoint
        try:
            if self.controller is not None and state["controller"] is not None:
                self.controller.load_state_dict(state["controller"])
            self.loss_config.update(checked_dynamic_state(state["loss_dynamic"]))
            self.loss_config.generator.set_state(state["generator"])
        except (KeyError, TypeError, ValueError, RuntimeError) as e:
            raise CheckpointError(
                f"{path} is not an entropy-rl plug-in state for this trainer ({e})"
            ) from None
        # The probe's log-softmax is recomputed from the restored weights before the next step.
        self._probe, self._probe_lp = state.get("probe"), None
        if state.get("token_stats") is not None and self.accelerator.is_main_process:
            self._token_stats = state["token_stats"].clone()


def _nanmean(values: list[float]) -> float:
    finite = [v for v in values if not math.isnan(v)]
    return sum(finite) / len(finite) if finite else math.nan


class _ProbeCallback(TrainerCallback):
    """Measures the probe's entropy change right after each optimizer step, before logging."""

    def __init__(self, trainer: EntropyGRPOTrainer):
        self.trainer = trainer

    def on_step_end(self, args, state, control, **kwargs):
        self.trainer._measure_probe()


# ----------------------------------------------------------------------------- entropy-rl configs


def grpo_args_from_config(cfg, output_dir: str | Path, steps: int, seed: int = 0, **overrides):
    """A ``GRPOConfig`` doing an entropy-rl config's work: ``prompts_per_step`` × ``group_size``
    completions per generation batch, ``mini_batches`` optimizer steps per pass over it,
    ``ppo_epochs`` passes (TRL's ``num_iterations``), the same lr, temperature, length cap and
    full-vocabulary sampling, ``trainer.precision`` as entropy-rl's trainer reads it (bf16
    autocast on CUDA, fp32 on CPU, where TRL's default is bf16 everywhere), no gradient
    checkpointing (TRL's default is on) and no KL term. ``steps`` counts generation batches (RL steps); ``overrides`` win."""
    from trl import GRPOConfig

    r, t = cfg.rollout, cfg.trainer
    cuda = torch.cuda.is_available() and t.device != "cpu"
    kwargs = dict(
        output_dir=str(output_dir),
        per_device_train_batch_size=r.prompts_per_step * r.group_size // t.mini_batches,
        steps_per_generation=t.mini_batches,
        num_generations=r.group_size,
        max_completion_length=r.max_new_tokens,
        temperature=r.temperature,
        top_p=r.top_p,
        top_k=0,
        learning_rate=t.lr,
        lr_scheduler_type="constant",
        weight_decay=t.weight_decay,
        max_grad_norm=t.max_grad_norm,
        num_iterations=t.ppo_epochs,
        max_steps=steps * t.mini_batches * t.ppo_epochs,
        beta=0.0,
        bf16=t.precision == "bf16" or (t.precision == "auto" and cuda),
        gradient_checkpointing=False,
        use_cpu=not cuda,
        report_to=[],
        logging_steps=t.mini_batches * t.ppo_epochs,  # one log per generation batch
        save_strategy="no",
        disable_tqdm=True,
        seed=seed,
    )
    return GRPOConfig(**(kwargs | overrides))


def trl_dataset_and_reward(policy, task):
    """TRL's inputs for an entropy-rl policy and task: the training prompts as a ``Dataset``
    (conversational for a chat model, so TRL applies the same chat template as
    ``Policy.prompt_ids``), the reward function (the task's own scorer) and the tokenizer."""
    from datasets import Dataset

    problems = {p.prompt: p for p in task.train_pool}
    if policy.chat:
        dataset = Dataset.from_dict({"prompt": [[{"role": "user", "content": p}] for p in problems]})
        tokenizer = policy.tokenizer.tok
    else:
        dataset = Dataset.from_dict({"prompt": list(problems)})
        tokenizer = policy.tokenizer.to_transformers()

    def text(x) -> str:  # a conversational prompt or completion is a list of messages
        return x if isinstance(x, str) else x[-1]["content"]

    def reward(completions, prompts, **kwargs):
        return [
            task.score(problems[text(p)], text(c)).reward for p, c in zip(prompts, completions, strict=True)
        ]

    return dataset, reward, tokenizer
