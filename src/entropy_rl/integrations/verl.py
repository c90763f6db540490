"""verl plug-in: entropy-rl's policy losses, with their covariance diagnostics, as verl losses.

Importing this module registers, in verl's policy-loss registry, ``entropy_rl_<name>`` for each
name in ``VERL_LOSSES``. Each one is the entropy-rl loss of that name, adapted to verl's
signature, and returns entropy-rl's diagnostics as metrics under ``entropy_rl/`` (the covariance
Cov(log π, A) and its parts on A > 0 / A < 0 tokens, loss shares, clip and selection
fractions, approximate KL). verl logs them with its actor metrics. verl's own ``clip_cov`` and
``kl_cov`` report only a clip fraction and the PPO KL.

Use it in verl's workers (they are separate processes) by naming this module, and select a loss::

    export VERL_USE_EXTERNAL_MODULES=entropy_rl.integrations.verl   # or model.external_lib=...
    python -m verl.trainer.main_ppo ... \\
        actor_rollout_ref.actor.policy_loss.loss_mode=entropy_rl_pos_neg

Knobs come from verl's actor config where verl has them: ``clip_ratio`` / ``clip_ratio_low`` /
``clip_ratio_high`` / ``clip_ratio_c`` and ``policy_loss.clip_cov_ratio`` / ``clip_cov_lb`` /
``clip_cov_ub`` / ``kl_cov_ratio`` / ``ppo_kl_coef`` (KL-Cov's β, as in verl's ``kl_cov``).
verl's config schema has no field for the others (``lambda_pos``, ``lambda_neg``,
``entropic_alpha``, ``entropic_prob_threshold``), so they come from the environment variable
``ENTROPY_RL_LOSS_CONFIG``, a JSON object of ``LossConfig`` fields, e.g.
``{"lambda_pos": 0.5}``. It is read when each loss is called and is validated, with an error
naming the field. Export it where the Ray workers inherit it.

Aggregation: each loss aggregates over the micro-batch it is given, with the same semantics as
verl's ``agg_loss`` on one device. It is then rescaled by the ratio of the micro-batch's
normaliser to verl's global one (``config.global_batch_info``: ``dp_size``,
``batch_num_tokens``, ``global_batch_size``). All four modes are linear in the per-token losses,
so the result equals verl's aggregation of the same per-token losses. Clip-Cov and KL-Cov
centre the covariance over the micro-batch, as verl's do.

Rollout-correction weights (``rollout_is_weights``, verl's truncated importance weights for the
rollout engine's mismatch) multiply each token's loss before aggregation, after the remedies'
token choice, as in verl's own losses. Refused with a clear error: verl's ``token-sum`` mode, and
a non-zero ``entropy_coef`` in ``ENTROPY_RL_LOSS_CONFIG``, because verl adds its own
entropy bonus (``actor.entropy_coeff``) outside the policy loss. ``high_entropy`` needs token
entropies, which verl does not pass to policy losses, so it is not registered.

Target-entropy control: ``ENTROPY_RL_CONTROLLER``, a JSON object ``{"name": "entropy_pi", "field":
"kl_cov_coef", "target": 0.3, ...}`` (the controller's arguments, as ``algorithm.controller_args``
in entropy-rl's config), drives one remedy knob from the measured entropy. It is stepped once per
verl training step, before the update, in each actor worker (``TrainingWorker.train_mini_batch``,
which this module wraps when the variable is set): the step's entropy is the token mean of
−log π_old over the rollout's response tokens (an unbiased estimate of the policy's entropy at
the rollout temperature, from the ``old_log_probs`` verl already has), summed over the
data-parallel group with one all-reduce, so every rank applies the same strength. The knob
overrides verl's config value (``entropy_coef`` sets ``actor.entropy_coeff``, which needs
``actor.calculate_entropy=True``). Its state is saved beside each actor checkpoint
(``entropy_rl_controller.json``) and restored with it, so a resumed run equals an uninterrupted
one. Each step logs ``entropy_rl/entropy_target``, ``entropy_band``, ``controller_entropy``,
``controller_value`` and ``controller_at_bound`` (−1, 0, +1), and a knob stuck at a bound with
entropy outside the band logs a warning.
"""

from __future__ import annotations

import functools
import json
import logging
import math
import os
from pathlib import Path

import torch
from verl.trainer.ppo.core_algos import register_adv_est, register_policy_loss

from entropy_rl.core.advantages import get_advantage_estimator
from entropy_rl.core.controllers import Controller, controller_from_spec
from entropy_rl.core.losses import LossConfig, check_knob, get_policy_loss
from entropy_rl.files import CheckpointError, atomic_write_text, read_json, strict_json

VERL_LOSSES = ("ppo", "clip_cov", "kl_cov", "pos_neg", "entropic", "cispo", "gspo", "reinforce", "ce_gppo")
ENV_VAR = "ENTROPY_RL_LOSS_CONFIG"
PREFIX = "entropy_rl/"
_FROM_ENV = (
    "lambda_pos", "lambda_neg", "entropic_alpha", "entropic_prob_threshold", "gppo_beta_low", "gppo_beta_high",
)
ADV_ENV_VAR = "ENTROPY_RL_ADVANTAGE_ARGS"
CONTROLLER_ENV_VAR = "ENTROPY_RL_CONTROLLER"
CONTROLLER_FILE = "entropy_rl_controller.json"
log = logging.getLogger(__name__)


def _json_env(var: str, what: str) -> dict:
    """The JSON object in environment variable ``var`` ({} when unset); one line naming it if not."""
    raw = os.environ.get(var, "").strip()
    if not raw:
        return {}
    try:
        values = json.loads(raw)
    except json.JSONDecodeError as e:
        raise ValueError(f"{var} is not valid JSON ({e}): {raw!r}") from None
    if not isinstance(values, dict):
        raise ValueError(f"{var} must be {what}, got {raw!r}")
    return values


def env_overrides() -> dict:
    """The ``LossConfig`` fields given in ``ENTROPY_RL_LOSS_CONFIG`` (JSON), checked by name."""
    values = _json_env(ENV_VAR, "a JSON object of LossConfig fields")
    allowed = set(_FROM_ENV) | {"entropy_coef"}
    unknown = sorted(set(values) - allowed)
    if unknown:
        raise ValueError(
            f"{ENV_VAR}: unknown field(s) {unknown}; allowed {sorted(_FROM_ENV)} "
            "(the others come from verl's actor config)"
        )
    if values.get("entropy_coef", 0.0) != 0.0:
        raise ValueError(f"{ENV_VAR}: entropy_coef is not supported in verl; use actor.entropy_coeff")
    return {k: v for k, v in values.items() if k != "entropy_coef"}


def loss_config_from_verl(config, loss_agg_mode: str) -> LossConfig:
    """A ``LossConfig`` from verl's ``ActorConfig`` (or a DictConfig of the same shape)."""
    if loss_agg_mode == "token-sum":
        raise ValueError("loss_agg_mode='token-sum' is not supported by entropy-rl's losses")
    clip = config.clip_ratio
    pl = config.policy_loss
    low, high = config.clip_ratio_low, config.clip_ratio_high
    return LossConfig(
        loss_agg_mode=loss_agg_mode,
        loss_scale_factor=config.get("loss_scale_factor", None),
        clip_ratio_low=clip if low is None else low,
        clip_ratio_high=clip if high is None else high,
        clip_ratio_c=config.get("clip_ratio_c", 3.0),
        clip_cov_ratio=pl.clip_cov_ratio,
        clip_cov_lb=pl.clip_cov_lb,
        clip_cov_ub=pl.clip_cov_ub,
        kl_cov_ratio=pl.kl_cov_ratio,
        kl_cov_coef=pl.ppo_kl_coef,
        **env_overrides(),
    )


def global_scale(mask: torch.Tensor, loss_agg_mode: str, info: dict) -> float:
    """Local normaliser × dp_size / global normaliser: turns a micro-batch aggregate into verl's
    globally normalised one (1 when ``global_batch_info`` is empty, a single device)."""
    dp = info.get("dp_size", 1)
    if loss_agg_mode == "token-mean":
        total = info.get("batch_num_tokens")
        local = mask.sum()
    else:  # the seq-mean modes: the number of non-empty sequences
        total = info.get("global_batch_size")
        local = (mask.sum(-1) > 0).sum()
    if total is None:
        if dp > 1:
            raise ValueError(f"verl's global_batch_info lacks the global normaliser of {loss_agg_mode!r}")
        return 1.0
    return float(local) * dp / float(total)


def make_verl_loss(name: str):
    """verl's policy-loss signature around the entropy-rl loss ``name``."""
    loss_fn = get_policy_loss(name)

    def verl_policy_loss(
        old_log_prob: torch.Tensor,
        log_prob: torch.Tensor,
        advantages: torch.Tensor,
        response_mask: torch.Tensor,
        loss_agg_mode: str = "token-mean",
        config=None,
        rollout_is_weights: torch.Tensor | None = None,
    ):
        """(batch, response_len) tensors → (loss, metrics), as verl's policy losses."""
        if config is None:
            raise ValueError(f"entropy_rl_{name}: verl passes the actor config; got None")
        cfg = loss_config_from_verl(config, loss_agg_mode)
        extra = {}
        if STEPPER is not None:  # the knob the controller set for this step overrides verl's value
            extra = STEPPER.apply(cfg, config, name)
        loss, metrics = loss_fn(
            log_prob, old_log_prob, advantages, response_mask, cfg, weights=rollout_is_weights
        )
        loss = loss * global_scale(response_mask, loss_agg_mode, config.get("global_batch_info", None) or {})
        return loss, {PREFIX + k: v for k, v in (metrics | extra).items()}

    verl_policy_loss.__name__ = f"entropy_rl_{name}"
    return verl_policy_loss


class StepController:
    """One controller per worker process, stepped once per training step with the entropy measured
    over the whole data-parallel group, so every rank holds the same state and applies the same knob."""

    def __init__(self, controller: Controller):
        self.controller = controller
        self.values: dict[str, float] = controller.initial()
        self.measured = math.nan
        self.steps = 0

    @classmethod
    def from_env(cls) -> StepController | None:
        raw = os.environ.get(CONTROLLER_ENV_VAR, "").strip()
        if not raw:
            return None
        try:
            return cls(controller_from_spec(raw))
        except ValueError as e:
            raise ValueError(f"{CONTROLLER_ENV_VAR}: {e}") from None

    def step(self, old_log_probs: torch.Tensor, mask: torch.Tensor, group=None) -> None:
        """Before a step's update: the token mean of −log π_old over the rank's response tokens,
        summed over ``group`` (one all-reduce when torch.distributed is initialised), to the controller."""
        lp = old_log_probs.values() if old_log_probs.is_nested else old_log_probs
        m = (mask.values() if mask.is_nested else mask).to(torch.float64)
        totals = torch.stack([(-lp.detach().to(torch.float64) * m).sum(), m.sum()])
        if torch.distributed.is_available() and torch.distributed.is_initialized():
            torch.distributed.all_reduce(totals, group=group)
        if totals[1] <= 0:
            raise ValueError("entropy_rl controller: this step has no response token on any rank")
        self.measured = float(totals[0] / totals[1])
        self.values = self.controller.update(self.measured)
        self.steps += 1
        message = self.controller.warning()
        if message and (not torch.distributed.is_initialized() or torch.distributed.get_rank() == 0):
            log.warning("entropy-rl step %d: %s", self.steps, message)

    def apply(self, cfg: LossConfig, verl_config, loss: str) -> dict[str, float]:
        """Set this step's knob on the loss's config (``entropy_coef`` on verl's own
        ``entropy_coeff``); returns the values to log beside the loss's metrics."""
        values = dict(self.values)
        if "entropy_coef" in values:
            if not verl_config.get("calculate_entropy", True):
                raise ValueError(
                    "entropy_rl controller on entropy_coef: verl adds the bonus only with actor.calculate_entropy=True"
                )
            object.__setattr__(verl_config, "entropy_coeff", float(values.pop("entropy_coef")))
        for field in values:
            check_knob(field, loss)
        cfg.update(values)
        return {"controller_entropy": self.measured} | self.controller.logged() | self.values

    def save(self, folder: str | os.PathLike) -> None:
        state = {"steps": self.steps, "measured": self.measured, "values": self.values,
                 "controller": self.controller.state_dict()}  # fmt: skip
        atomic_write_text(Path(folder) / CONTROLLER_FILE, strict_json(state, indent=1))

    def load(self, folder: str | os.PathLike) -> bool:
        """Restore the state saved in ``folder`` (False when there is none); a malformed file is a
        one-line error naming it."""
        path = Path(folder) / CONTROLLER_FILE
        if not path.exists():
            return False
        try:
            state = read_json(path)  # a regular, bounded file: never through a planted link
            self.controller.load_state_dict(state["controller"])
            self.values = {k: float(v) for k, v in state["values"].items()}
            for k in self.values:
                check_knob(k)
            self.steps = int(state["steps"])
            self.measured = math.nan if state["measured"] is None else float(state["measured"])
            if not all(math.isfinite(v) for v in self.values.values()):
                raise ValueError("a knob value is not finite")
        except (OSError, CheckpointError, KeyError, TypeError, ValueError, AttributeError) as e:
            raise ValueError(f"{path}: not an entropy-rl controller state ({str(e)[:200]})") from None
        return True


STEPPER: StepController | None = StepController.from_env()


def _install_worker_hooks() -> None:
    """Wrap verl's ``TrainingWorker``: step the controller before each ``train_mini_batch`` (one
    call per training step on every rank), save and load its state with each checkpoint."""
    from verl.utils import tensordict_utils as tu
    from verl.workers.engine_workers import TrainingWorker

    if getattr(TrainingWorker.train_mini_batch, "_entropy_rl", False):
        return
    train, save, load = TrainingWorker.train_mini_batch, TrainingWorker.save_checkpoint, TrainingWorker.load_checkpoint

    @functools.wraps(train)
    def train_mini_batch(self, data):
        STEPPER.step(tu.get(data, "old_log_probs"), tu.get(data, "response_mask"), self.engine.get_data_parallel_group())
        return train(self, data)

    @functools.wraps(save)
    def save_checkpoint(self, local_path, *args, **kwargs):
        out = save(self, local_path, *args, **kwargs)
        if not torch.distributed.is_initialized() or torch.distributed.get_rank() == 0:
            STEPPER.save(local_path)
        return out

    @functools.wraps(load)
    def load_checkpoint(self, local_path, *args, **kwargs):
        out = load(self, local_path, *args, **kwargs)
        STEPPER.load(local_path)
        return out

    for fn in (train_mini_batch, save_checkpoint, load_checkpoint):
        fn._entropy_rl = True
    TrainingWorker.train_mini_batch = train_mini_batch
    TrainingWorker.save_checkpoint = save_checkpoint
    TrainingWorker.load_checkpoint = load_checkpoint


if STEPPER is not None:
    _install_worker_hooks()

for _name in VERL_LOSSES:
    register_policy_loss(f"entropy_rl_{_name}")(make_verl_loss(_name))


def advantage_args() -> dict:
    """The advantage estimator's keyword arguments from ``ENTROPY_RL_ADVANTAGE_ARGS`` (JSON)."""
    return _json_env(ADV_ENV_VAR, "a JSON object")


@register_adv_est("entropy_rl_qae")
def qae_outcome_advantage(
    token_level_rewards: torch.Tensor,
    response_mask: torch.Tensor,
    index,
    epsilon: float = 1e-6,
    norm_adv_by_std_in_grpo: bool = True,
    config=None,
    **kwargs,
) -> tuple[torch.Tensor, torch.Tensor]:
    """QAE (``entropy_rl.core.advantages.qae_advantage``) with verl's outcome-advantage signature:
    each response's summed reward, grouped by ``index`` (the prompt), the group's K-quantile as
    baseline; K from ``ENTROPY_RL_ADVANTAGE_ARGS`` ({"quantile": 0.4}, the default)."""
    args = {"quantile": 0.4, **advantage_args()}
    fn = get_advantage_estimator("qae")
    scores = token_level_rewards.sum(dim=-1)
    out = torch.zeros_like(scores)
    groups: dict = {}
    for i, key in enumerate(index):
        groups.setdefault(key, []).append(i)
    with torch.no_grad():
        for rows in groups.values():
            if len(rows) == 1:  # a lone response has no group to take a quantile of: as verl's GRPO
                out[rows[0]] = scores[rows[0]]
                continue
            r = scores[rows].unsqueeze(0)
            adv = fn(r, torch.ones(len(rows), 1), norm_std=norm_adv_by_std_in_grpo, eps=epsilon, **args)
            out[rows] = adv[:, 0].to(out.dtype)
    out = out.unsqueeze(-1) * response_mask
    return out, out
