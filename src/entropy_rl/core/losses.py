"""Policy losses as pure functions of tensors, registered by name (the verl pattern).

Every loss has one signature::

    loss_fn(log_prob, old_log_prob, advantages, mask, config, entropy=None, weights=None)
        -> (loss, metrics)

- ``log_prob``      (batch, response_len) log π_θ of the sampled tokens, with gradient.
- ``old_log_prob``  (batch, response_len) log π_old of the same tokens (rollout policy), no grad.
- ``advantages``    (batch, response_len) token advantages.
- ``mask``          (batch, response_len) 1 for response tokens, 0 for padding.
- ``config``        a :class:`LossConfig`.
- ``entropy``       (batch, response_len) token entropy; with gradient when
                    ``config.entropy_coef`` ≠ 0; required by ``high_entropy``.
- ``weights``       (batch, response_len) or (batch, 1) importance weights that correct for a
                    rollout engine whose probabilities differ from the trainer's (verl's
                    ``rollout_is_weights``, TRL's vLLM ``importance_sampling_ratio``): the
                    per-token loss is multiplied by them (no gradient) before aggregation, after
                    any token selection, as verl and TRL do. None = all 1.

``loss`` is a scalar already aggregated with ``config.loss_agg_mode``; ``metrics`` is a flat
dict of Python floats. Every loss reports the same diagnostic keys (see ``_common_metrics``).
"""

from __future__ import annotations

import inspect
import math
from collections.abc import Mapping
from dataclasses import dataclass, fields
from typing import Protocol

import torch

from entropy_rl.core.dynamics import token_covariance
from entropy_rl.core.registry import Registry

LOSS_AGG_MODES = ("token-mean", "seq-mean-token-sum", "seq-mean-token-mean", "seq-mean-token-sum-norm")


@dataclass
class LossConfig:
    """Every knob of every policy loss, with the papers' defaults."""

    loss_agg_mode: str = "token-mean"
    """How per-token losses become a scalar: one of ``LOSS_AGG_MODES`` (see ``aggregate_loss``)."""
    loss_scale_factor: float | None = None
    """Divisor of ``seq-mean-token-sum-norm`` (Dr.GRPO's constant); None = response_len."""
    clip_ratio_low: float = 0.2
    """PPO ε_low: ratios below 1 − ε_low stop pushing A < 0 tokens down (raises entropy)."""
    clip_ratio_high: float = 0.2
    """PPO ε_high: ratios above 1 + ε_high stop pushing A > 0 tokens up. DAPO's clip-higher: 0.28."""
    clip_ratio_c: float = 3.0
    """Dual-clip constant c (> 1) bounding the loss of A < 0 tokens at −c·A (Ye et al. 2020)."""
    clip_cov_ratio: float = 2e-4
    """Clip-Cov r: the fraction of valid tokens whose gradient is detached."""
    clip_cov_lb: float = 1.0
    """Clip-Cov lower covariance bound (strict)."""
    clip_cov_ub: float = 5.0
    """Clip-Cov upper covariance bound (strict)."""
    kl_cov_ratio: float = 2e-3
    """KL-Cov k: the fraction of valid tokens penalised (paper's 7B scripts; verl default 2e-4)."""
    kl_cov_coef: float = 1.0
    """KL-Cov β, weight of |log π − log π_old| on the selected tokens."""
    lambda_pos: float = 1.0
    """pos_neg: loss weight of A > 0 tokens (Jin et al. set it < 1, fixed or by a controller)."""
    lambda_neg: float = 1.0
    """pos_neg: loss weight of A < 0 tokens."""
    entropy_quantile: float = 0.2
    """high_entropy ρ: keep tokens whose entropy is in the batch's top-ρ fraction (80/20)."""
    entropic_alpha: float = 0.0
    """entropic: the EntroPIC controller output α ∈ [−1, 1] (weights 1 ± α on confident tokens)."""
    entropic_prob_threshold: float = 0.95
    """entropic: tokens with π_old > this threshold count as confident."""
    gppo_beta_low: float = 0.75
    """CE-GPPO β₁: gradient share kept by A < 0 tokens whose ratio fell below 1 − ε_low (paper's 7B: 0.75)."""
    gppo_beta_high: float = 1.0
    """CE-GPPO β₂: gradient share kept by A > 0 tokens whose ratio rose above 1 + ε_high (paper: 1)."""
    entropy_coef: float = 0.0
    """Entropy bonus with any loss: loss − coef × aggregated entropy (needs ``entropy`` with grad)."""
    generator: torch.Generator | None = None
    """Random source of Clip-Cov's choice; seed it for reproducible runs (None = global RNG)."""

    def __post_init__(self) -> None:
        if self.loss_agg_mode not in LOSS_AGG_MODES:
            raise ValueError(f"loss_agg_mode={self.loss_agg_mode!r}: allowed {LOSS_AGG_MODES}")
        for name in ("clip_ratio_low", "clip_ratio_high", "clip_cov_ratio", "kl_cov_ratio", "gppo_beta_low", "gppo_beta_high"):
            if getattr(self, name) < 0:
                raise ValueError(f"{name} must be >= 0, got {getattr(self, name)}")
        if self.clip_ratio_c <= 1:
            raise ValueError(f"clip_ratio_c must be > 1, got {self.clip_ratio_c}")
        if not 0 < self.entropy_quantile <= 1:
            raise ValueError(f"entropy_quantile must be in (0, 1], got {self.entropy_quantile}")

    def update(self, values: Mapping[str, float]) -> None:
        """Set fields by name: what a controller returns, or a checkpoint's ``dynamic_state``."""
        names = {f.name for f in fields(self)}
        for k, v in values.items():
            if k not in names:
                raise ValueError(f"LossConfig has no field {k!r}")
            setattr(self, k, v)

    def dynamic_state(self) -> dict[str, float]:
        """The fields controllers set during a run (``DYNAMIC_LOSS_FIELDS``), for checkpoints."""
        return {k: getattr(self, k) for k in DYNAMIC_LOSS_FIELDS}


@dataclass(frozen=True)
class Knob:
    """A ``LossConfig`` field a controller may drive, declared with the remedy that reads it."""

    losses: tuple[str, ...]
    """The losses that read it (empty: every loss, as the entropy bonus)."""
    raises_entropy: bool
    """True when a larger value raises entropy (the controller's sign follows from it)."""
    low: float
    high: float
    """The values it may take (checked in checkpoints and a controller's bounds)."""


# Every strength knob of a remedy, with the direction that raises entropy. A controller drives one
# of them; the trainer, TRL and verl checkpoint all of them with the controller.
KNOBS: dict[str, Knob] = {
    "kl_cov_coef": Knob(("kl_cov",), True, 0.0, 1e3),  # β: a heavier penalty holds high-cov tokens back
    "kl_cov_ratio": Knob(("kl_cov",), True, 0.0, 1.0),  # k: more tokens penalised
    "clip_cov_ratio": Knob(("clip_cov",), True, 0.0, 1.0),  # more tokens detached
    "lambda_pos": Knob(("pos_neg",), False, 0.0, 1e3),  # A > 0 updates drive the collapse
    "lambda_neg": Knob(("pos_neg",), True, 0.0, 1e3),
    "entropy_coef": Knob((), True, -1e3, 1e3),
    "gppo_beta_low": Knob(("ce_gppo",), False, 0.0, 1e3),  # authors: a larger β₁ restricts exploration
    "gppo_beta_high": Knob(("ce_gppo",), True, 0.0, 1e3),  # β₂ keeps low-probability A > 0 gradients
    "entropic_alpha": Knob(("entropic",), False, -1.0, 1.0),  # α > 0 sharpens confident A > 0 tokens
}
# The LossConfig fields that controllers set during a run (checkpointed with the controller).
DYNAMIC_LOSS_FIELDS = tuple(KNOBS)
# Their ranges, for checking a checkpoint's values before they are used.
DYNAMIC_LOSS_RANGES = {k: (v.low, v.high) for k, v in KNOBS.items()}


def check_knob(field: str, loss: str | None = None) -> Knob:
    """The declared knob ``field`` (read by ``loss`` when given), else a one-line ``ValueError``."""
    knob = KNOBS.get(field)
    if knob is None:
        raise ValueError(f"{field!r} is not a remedy knob a controller can drive; knobs: {', '.join(KNOBS)}")
    if loss is not None and knob.losses and loss not in knob.losses:
        raise ValueError(f"{field!r} is read by {'/'.join(knob.losses)}, not by the loss {loss!r}")
    return knob


def checked_dynamic_state(values: object) -> dict[str, float]:
    """A saved ``dynamic_state``: only ``DYNAMIC_LOSS_FIELDS``, each a finite number in its range;
    else a ``ValueError`` naming the field (a checkpoint must not set other loss knobs)."""
    if not isinstance(values, Mapping):
        raise ValueError("loss_dynamic is not a mapping")
    out = {}
    for k, v in values.items():
        if k not in DYNAMIC_LOSS_RANGES:
            raise ValueError(
                f"loss_dynamic sets {str(k)[:40]!r}, which is not one a controller sets ({', '.join(DYNAMIC_LOSS_FIELDS)})"
            )
        low, high = DYNAMIC_LOSS_RANGES[k]
        ok = isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v) and low <= v <= high
        if not ok:
            raise ValueError(f"loss_dynamic.{k} = {repr(v)[:40]} is not a number in [{low:g}, {high:g}]")
        out[k] = float(v)
    return out


# Every metric a loss may report, documented; a loss reports a subset (tests/test_losses.py checks
# that none reports another key), so a trainer can log the same columns whatever the loss.
LOSS_METRICS: dict[str, str] = {
    "loss": "the aggregated loss",
    "clip_frac": "share of tokens whose PPO ε clip binds",
    "clip_frac_low": "share clipped at r < 1 − ε_low (A < 0)",
    "clip_frac_high": "share clipped at r > 1 + ε_high (A > 0)",
    "clip_frac_dual": "share where the dual clip binds (A < 0)",
    "selected_frac": "share of tokens a remedy selected (Clip-Cov detached, KL-Cov penalised, ...; "
    "all of them under an entropy bonus)",
    "candidate_frac": "Clip-Cov: share of tokens in the covariance band",
    "approx_kl": "mean log π_old − log π over valid tokens",
    "loss_share_pos": "share of Σ|loss| carried by A > 0 tokens",
    "loss_share_neg": "share of Σ|loss| carried by A < 0 tokens",
    "kl_cov_penalty": "KL-Cov: mean penalty β·|log π − log π_old| on the selected tokens",
    "entropy_bonus": "entropy_coef × aggregated entropy subtracted from the loss",
    "covariance": "mean centred cross-product of log π and A over the batch passed in",
    "covariance_pos": "its part from A > 0 tokens",
    "covariance_neg": "its part from A < 0 tokens",
    "lambda_pos": "pos_neg: the loss weight of A > 0 tokens used",
    "lambda_neg": "pos_neg: the loss weight of A < 0 tokens used",
    "entropic_alpha": "entropic: the controller output α used",
}


class PolicyLossFn(Protocol):
    """The one signature of every policy loss (verl's ``PolicyLossFn``); see the module docstring.

    Args:
        log_prob: (batch, response_len) log π_θ of the sampled tokens, with gradient.
        old_log_prob: (batch, response_len) log π_old of the same tokens, no gradient.
        advantages: (batch, response_len) token advantages.
        mask: (batch, response_len) 1 on response tokens, 0 on padding.
        config: the loss's knobs.
        entropy: (batch, response_len) token entropy, or None.
        weights: (batch, response_len) or (batch, 1) importance weights, or None.

    Returns:
        (loss, metrics): a scalar aggregated with ``config.loss_agg_mode``, and a flat dict of floats.
    """

    def __call__(
        self,
        log_prob: torch.Tensor,
        old_log_prob: torch.Tensor,
        advantages: torch.Tensor,
        mask: torch.Tensor,
        config: LossConfig,
        entropy: torch.Tensor | None = None,
        weights: torch.Tensor | None = None,
    ) -> tuple[torch.Tensor, dict[str, float]]: ...


_LOSS_PARAMS = ("log_prob", "old_log_prob", "advantages", "mask", "config", "entropy", "weights")


def _check_loss_signature(name: str, fn: PolicyLossFn) -> None:
    params = tuple(inspect.signature(fn).parameters)
    if params != _LOSS_PARAMS:
        raise TypeError(f"policy loss {name!r} must take {_LOSS_PARAMS}, takes {params}")


POLICY_LOSSES: Registry[PolicyLossFn] = Registry("policy loss", check=_check_loss_signature)
register_policy_loss = POLICY_LOSSES.register
get_policy_loss = POLICY_LOSSES.lookup


# ----------------------------------------------------------------------------- aggregation


def aggregate_loss(
    loss_mat: torch.Tensor,
    mask: torch.Tensor,
    mode: str,
    loss_scale_factor: float | None = None,
) -> torch.Tensor:
    """Aggregate per-token losses ``(batch, response_len)`` into a scalar (verl's ``agg_loss``).

    - ``token-mean``: Σ loss·mask / Σ mask (every token weighs the same; DAPO).
    - ``seq-mean-token-sum``: per-sequence token sums, averaged over non-empty sequences.
    - ``seq-mean-token-mean``: per-sequence token means, averaged over non-empty sequences (GRPO).
    - ``seq-mean-token-sum-norm``: per-sequence token sums divided by a constant
      (``loss_scale_factor``, default response_len), averaged over non-empty sequences (Dr.GRPO).

    Fully masked rows count in no denominator (as verl on one device); an all-masked batch
    gives 0 (with a graph, so ``backward`` still works) instead of NaN.
    """
    mask = mask.to(loss_mat.dtype)
    masked = loss_mat * mask
    if mode == "token-mean":
        return masked.sum() / mask.sum().clamp(min=1.0)
    seq_tokens = mask.sum(-1)
    n_seqs = (seq_tokens > 0).to(loss_mat.dtype).sum().clamp(min=1.0)
    seq_sums = masked.sum(-1)
    if mode == "seq-mean-token-sum":
        return seq_sums.sum() / n_seqs
    if mode == "seq-mean-token-mean":
        return (seq_sums / (seq_tokens + 1e-8)).sum() / n_seqs
    if mode == "seq-mean-token-sum-norm":
        scale = float(loss_scale_factor) if loss_scale_factor else float(loss_mat.shape[-1])
        return (seq_sums / scale).sum() / n_seqs
    raise ValueError(f"loss_agg_mode={mode!r}: allowed {LOSS_AGG_MODES}")


def k3_kl(log_prob: torch.Tensor, ref_log_prob: torch.Tensor) -> torch.Tensor:
    """Per-token k3 estimator of KL(π‖π_ref) (Schulman): e^(ref − lp) − (ref − lp) − 1, low variance
    and ≥ 0. ``(batch, response_len)`` each; TRL and verl use the same term."""
    log_ratio = ref_log_prob - log_prob
    return torch.exp(log_ratio) - log_ratio - 1


def masked_mean(values: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Mean of ``values`` over ``mask`` (0 when the mask is empty)."""
    mask = mask.to(values.dtype)
    return (values * mask).sum() / mask.sum().clamp(min=1.0)


# ----------------------------------------------------------------------------- shared pieces


def _ratio(log_prob: torch.Tensor, old_log_prob: torch.Tensor) -> torch.Tensor:
    # Clamp the log-ratio as verl does, so a stale token cannot overflow exp().
    return torch.exp(torch.clamp(log_prob - old_log_prob, -20.0, 20.0))


@dataclass
class _PPOTerms:
    """Per-token PPO quantities, all ``(batch, response_len)``."""

    ratio: torch.Tensor
    unclipped: torch.Tensor  # −A·r
    clip_loss: torch.Tensor  # max(−A·r, −A·clip(r)): the ε clip only
    loss: torch.Tensor  # clipped + dual-clipped surrogate
    clipped: torch.Tensor  # bool: the ε clip binds (max picked the clamped term)
    clipped_low: torch.Tensor  # bool: bound at r < 1 − ε_low (A < 0)
    clipped_high: torch.Tensor  # bool: bound at r > 1 + ε_high (A > 0)
    dual_clipped: torch.Tensor  # bool: dual clip binds (A < 0)


def _ppo_terms(log_prob, old_log_prob, advantages, mask, config: LossConfig) -> _PPOTerms:
    valid = mask.bool()
    ratio = _ratio(log_prob, old_log_prob)
    loss1 = -advantages * ratio
    loss2 = -advantages * torch.clamp(ratio, 1.0 - config.clip_ratio_low, 1.0 + config.clip_ratio_high)
    clip_loss = torch.maximum(loss1, loss2)
    clipped = (loss2 > loss1) & valid
    loss3 = -advantages * config.clip_ratio_c
    dual = torch.minimum(loss3, clip_loss)
    neg = advantages < 0
    loss = torch.where(neg, dual, clip_loss)
    r = ratio.detach()
    return _PPOTerms(
        ratio=ratio,
        unclipped=loss1,
        clip_loss=clip_loss,
        loss=loss,
        clipped=clipped,
        clipped_low=clipped & (r < 1.0 - config.clip_ratio_low),
        clipped_high=clipped & (r > 1.0 + config.clip_ratio_high),
        dual_clipped=(clip_loss > loss3) & neg & valid,
    )


def _finish(
    loss_mat: torch.Tensor,
    agg_mask: torch.Tensor,
    log_prob: torch.Tensor,
    old_log_prob: torch.Tensor,
    advantages: torch.Tensor,
    mask: torch.Tensor,
    config: LossConfig,
    entropy: torch.Tensor | None,
    metrics: dict[str, float],
    weights: torch.Tensor | None,
) -> tuple[torch.Tensor, dict[str, float]]:
    """Weight, aggregate, add the optional entropy bonus, and attach the diagnostics every loss
    reports. The covariance diagnostics and the remedies' token choice ignore the weights."""
    if weights is not None:
        batch, length = loss_mat.shape
        if weights.shape not in ((batch, length), (batch, 1)):
            raise ValueError(
                f"weights must have shape (batch, response_len) = {tuple(loss_mat.shape)} or "
                f"(batch, 1), got {tuple(weights.shape)}"
            )
        loss_mat = loss_mat * weights.detach().to(loss_mat.dtype)
    loss = aggregate_loss(loss_mat, agg_mask, config.loss_agg_mode, config.loss_scale_factor)
    if config.entropy_coef != 0.0:
        if entropy is None:
            raise ValueError("entropy_coef != 0 needs the `entropy` tensor (with gradient)")
        ent = aggregate_loss(entropy, mask, config.loss_agg_mode, config.loss_scale_factor)
        loss = loss - config.entropy_coef * ent
        metrics["entropy_bonus"] = float(config.entropy_coef * ent.detach())
        metrics["selected_frac"] = 1.0  # the bonus's gradient reaches every valid token
    metrics.update(_common_metrics(loss_mat, log_prob, old_log_prob, advantages, mask))
    metrics["loss"] = float(loss.detach())
    return loss, metrics


@torch.no_grad()
def _common_metrics(loss_mat, log_prob, old_log_prob, advantages, mask) -> dict[str, float]:
    """Covariance and its per-sign parts, loss shares of A>0/A<0 tokens, approximate KL."""
    valid = mask.bool()
    n_valid = valid.sum().clamp(min=1)
    cov = token_covariance(log_prob.detach(), advantages, mask)
    pos = (advantages > 0) & valid
    neg = (advantages < 0) & valid
    abs_loss = loss_mat.detach().abs() * valid
    total = abs_loss.sum().clamp(min=1e-12)
    return {
        "covariance": float(cov.sum() / n_valid),
        # The two parts add up to the covariance (A = 0 tokens contribute 0).
        "covariance_pos": float((cov * pos).sum() / n_valid),
        "covariance_neg": float((cov * neg).sum() / n_valid),
        "loss_share_pos": float((abs_loss * pos).sum() / total),
        "loss_share_neg": float((abs_loss * neg).sum() / total),
        "approx_kl": float(masked_mean(old_log_prob - log_prob.detach(), mask)),
    }


def _ppo_metrics(terms: _PPOTerms, mask: torch.Tensor) -> dict[str, float]:
    f = lambda b: float(masked_mean(b.float(), mask))  # noqa: E731
    return {
        "clip_frac": f(terms.clipped),
        "clip_frac_low": f(terms.clipped_low),
        "clip_frac_high": f(terms.clipped_high),
        "clip_frac_dual": f(terms.dual_clipped),
    }


# ----------------------------------------------------------------------------- the losses


@register_policy_loss("ppo")
def ppo_loss(log_prob, old_log_prob, advantages, mask, config: LossConfig, entropy=None, weights=None):
    """Clipped surrogate with asymmetric ε (clip-higher) and dual clip (Schulman 2017; DAPO; Ye 2020).

    ℓ = max(−A·r, −A·clip(r, 1−ε_low, 1+ε_high)), and for A < 0 additionally min(ℓ, −c·A).
    """
    terms = _ppo_terms(log_prob, old_log_prob, advantages, mask, config)
    metrics = _ppo_metrics(terms, mask) | {"selected_frac": 0.0}
    return _finish(
        terms.loss, mask, log_prob, old_log_prob, advantages, mask, config, entropy, metrics, weights
    )


@register_policy_loss("clip_cov")
def clip_cov_loss(log_prob, old_log_prob, advantages, mask, config: LossConfig, entropy=None, weights=None):
    """Clip-Cov (Cui et al. 2025): detach the gradient of a few high-covariance tokens.

    Candidates are valid tokens not clipped by the PPO clip with lb < Cov_i < ub (strict);
    max(1, ⌊r·N_valid⌋) of them are chosen uniformly at random (``config.generator``) and their
    loss term is zeroed; they stay in the token-mean denominator, as in the released code.
    The covariance is centred over the whole batch passed in (verl centres per micro-batch).
    The PPO clip uses ``clip_ratio_low/high``; the paper's scripts set both to 1 (clip ≈ off).
    No dual clip, as in the released code.
    """
    valid = mask.bool()
    terms = _ppo_terms(log_prob, old_log_prob, advantages, mask, config)
    clipped = terms.clipped
    cov = token_covariance(log_prob.detach(), advantages, mask)
    candidates = valid & ~clipped & (cov > config.clip_cov_lb) & (cov < config.clip_cov_ub)
    n_clip = max(1, int(config.clip_cov_ratio * int(valid.sum())))
    idx = torch.nonzero(candidates.flatten()).squeeze(-1)
    keep = torch.ones_like(advantages)
    if idx.numel() > 0:
        perm = torch.randperm(idx.numel(), generator=config.generator, device="cpu").to(idx.device)
        keep.view(-1)[idx[perm[:n_clip]]] = 0.0
    loss_mat = terms.clip_loss * keep
    metrics = {
        "clip_frac": float(masked_mean(clipped.float(), mask)),
        "selected_frac": float(masked_mean((keep == 0).float(), mask)),
        "candidate_frac": float(masked_mean(candidates.float(), mask)),
    }
    return _finish(
        loss_mat, mask, log_prob, old_log_prob, advantages, mask, config, entropy, metrics, weights
    )


@register_policy_loss("kl_cov")
def kl_cov_loss(log_prob, old_log_prob, advantages, mask, config: LossConfig, entropy=None, weights=None):
    """KL-Cov (Cui et al. 2025): −A·r on valid tokens (no PPO clip), plus β·|log π − log π_old| on
    the top max(1, ⌊k·N_valid⌋) tokens by covariance.

    The penalty is 0 while π = π_old, so KL-Cov does nothing on a purely on-policy update:
    it needs ``ppo_epochs`` × mini-batches > 1 per rollout batch.
    """
    valid = mask.bool()
    ratio = _ratio(log_prob, old_log_prob)
    loss_mat = -advantages * ratio
    cov = token_covariance(log_prob.detach(), advantages, mask)
    n_sel = max(1, int(config.kl_cov_ratio * int(valid.sum())))
    n_sel = min(n_sel, int(valid.sum()))
    selected = torch.zeros_like(valid)
    if n_sel > 0:
        flat = cov.masked_fill(~valid, float("-inf")).flatten()
        selected.view(-1)[torch.topk(flat, n_sel).indices] = True
    kl_abs = (log_prob - old_log_prob).abs()
    loss_mat = torch.where(selected, loss_mat + config.kl_cov_coef * kl_abs, loss_mat)
    metrics = {
        "selected_frac": float(masked_mean(selected.float(), mask)),
        "kl_cov_penalty": float((kl_abs.detach() * selected).sum() / max(n_sel, 1)),
    }
    return _finish(
        loss_mat, mask, log_prob, old_log_prob, advantages, mask, config, entropy, metrics, weights
    )


@register_policy_loss("pos_neg")
def pos_neg_loss(log_prob, old_log_prob, advantages, mask, config: LossConfig, entropy=None, weights=None):
    """Positive/negative-advantage reweighting (Jin et al. 2025): the ``ppo`` per-token loss × λ_pos
    on A > 0 tokens and × λ_neg on A < 0 tokens. λ_pos < 1 slows the entropy collapse.
    """
    terms = _ppo_terms(log_prob, old_log_prob, advantages, mask, config)
    weight = torch.where(
        advantages > 0, config.lambda_pos, torch.where(advantages < 0, config.lambda_neg, 1.0)
    )
    metrics = _ppo_metrics(terms, mask) | {
        "selected_frac": float(masked_mean((weight != 1.0).float(), mask)),  # the reweighted tokens
        "lambda_pos": float(config.lambda_pos),
        "lambda_neg": float(config.lambda_neg),
    }
    return _finish(
        terms.loss * weight, mask, log_prob, old_log_prob, advantages, mask, config, entropy, metrics, weights
    )


@register_policy_loss("entropic")
def entropic_loss(log_prob, old_log_prob, advantages, mask, config: LossConfig, entropy=None, weights=None):
    """EntroPIC weighting: the ``ppo`` per-token loss × (1 + α) on confident (π_old > 0.95) A > 0
    tokens and × (1 − α) on confident A < 0 tokens; α comes from the PI controller.
    """
    terms = _ppo_terms(log_prob, old_log_prob, advantages, mask, config)
    confident = (old_log_prob.exp() > config.entropic_prob_threshold) & mask.bool()
    alpha = config.entropic_alpha
    weight = torch.ones_like(advantages)
    weight = torch.where(confident & (advantages > 0), 1.0 + alpha, weight)
    weight = torch.where(confident & (advantages < 0), 1.0 - alpha, weight)
    metrics = _ppo_metrics(terms, mask) | {
        "selected_frac": float(masked_mean(confident.float(), mask)),
        "entropic_alpha": float(alpha),
    }
    return _finish(
        terms.loss * weight, mask, log_prob, old_log_prob, advantages, mask, config, entropy, metrics, weights
    )


@register_policy_loss("high_entropy")
def high_entropy_loss(
    log_prob, old_log_prob, advantages, mask, config: LossConfig, entropy=None, weights=None
):
    """80/20 high-entropy minority tokens (Wang et al. 2025): the ``ppo`` loss only on tokens whose
    entropy is at or above the batch's top-ρ quantile, renormalised by the number kept (the
    aggregation runs over the kept tokens). TRL's ``top_entropy_quantile`` masks without
    renormalising, so its loss is smaller by about a factor ρ.
    """
    if entropy is None:
        raise ValueError("high_entropy needs the `entropy` tensor")
    valid = mask.bool()
    terms = _ppo_terms(log_prob, old_log_prob, advantages, mask, config)
    ent = entropy.detach()
    if valid.any():
        threshold = torch.quantile(ent[valid].float(), 1.0 - config.entropy_quantile)
        kept = valid & (ent >= threshold)
    else:
        kept = valid
    metrics = _ppo_metrics(terms, mask) | {"selected_frac": float(masked_mean(kept.float(), mask))}
    return _finish(
        terms.loss, kept, log_prob, old_log_prob, advantages, mask, config, entropy, metrics, weights
    )


@register_policy_loss("cispo")
def cispo_loss(log_prob, old_log_prob, advantages, mask, config: LossConfig, entropy=None, weights=None):
    """CISPO (MiniMax-M1, Chen et al. 2025): −sg(clip(r, 1−ε_low, 1+ε_high))·A·log π.

    The ratio is clipped as a weight and never masks a token's gradient, so low-probability
    tokens whose ratio has grown (often the high-entropy "forks") keep learning, where PPO's clip
    drops them. Clipping as verl's ``cispo``; MiniMax clips only above (a large ε_low, e.g. 1).
    """
    ratio = _ratio(log_prob, old_log_prob).detach()
    clipped_ratio = torch.clamp(ratio, 1.0 - config.clip_ratio_low, 1.0 + config.clip_ratio_high)
    loss_mat = -clipped_ratio * advantages * log_prob
    metrics = {
        "clip_frac": float(masked_mean((clipped_ratio != ratio).float(), mask)),
        "clip_frac_low": float(masked_mean((ratio < 1.0 - config.clip_ratio_low).float(), mask)),
        "clip_frac_high": float(masked_mean((ratio > 1.0 + config.clip_ratio_high).float(), mask)),
        "selected_frac": 0.0,
    }
    return _finish(
        loss_mat, mask, log_prob, old_log_prob, advantages, mask, config, entropy, metrics, weights
    )


@register_policy_loss("gspo")
def gspo_loss(log_prob, old_log_prob, advantages, mask, config: LossConfig, entropy=None, weights=None):
    """GSPO (Zheng et al. 2025): the PPO clip on the sequence ratio s = exp(mean_t log r_t).

    Token t's ratio is s_t = sg(s)·π_t/sg(π_t): its value is the sequence's, its gradient that
    of log π_t scaled by s, as verl's ``gspo``. ℓ = max(−A·s_t, −A·clip(s_t, 1−ε_low, 1+ε_high)),
    no dual clip. The paper's ε are tiny (3e-4 / 4e-4) and its aggregation
    ``seq-mean-token-mean``.
    """
    log_ratio = log_prob - old_log_prob
    seq_log_ratio = (log_ratio * mask).sum(-1) / mask.sum(-1).clamp(min=1.0)  # (batch,)
    log_s = log_prob - log_prob.detach() + seq_log_ratio.detach().unsqueeze(-1)
    s = torch.exp(torch.clamp(log_s, max=10.0))  # verl's clamp
    loss1 = -advantages * s
    loss2 = -advantages * torch.clamp(s, 1.0 - config.clip_ratio_low, 1.0 + config.clip_ratio_high)
    loss_mat = torch.maximum(loss1, loss2)
    clipped = (loss2 > loss1) & mask.bool()
    s_val = s.detach()
    metrics = {
        "clip_frac": float(masked_mean(clipped.float(), mask)),
        "clip_frac_low": float(masked_mean((clipped & (s_val < 1.0)).float(), mask)),
        "clip_frac_high": float(masked_mean((clipped & (s_val > 1.0)).float(), mask)),
        "selected_frac": 0.0,
    }
    return _finish(
        loss_mat, mask, log_prob, old_log_prob, advantages, mask, config, entropy, metrics, weights
    )


@register_policy_loss("ce_gppo")
def ce_gppo_loss(log_prob, old_log_prob, advantages, mask, config: LossConfig, entropy=None, weights=None):
    """CE-GPPO (Su et al. 2025, arXiv 2509.20712): PPO's clipped tokens keep a bounded gradient.

    Where PPO's clip binds and cuts the gradient (A < 0 with r < 1 − ε_low, A > 0 with
    r > 1 + ε_high), the token's loss is −β·(1 ∓ ε)·A·r/sg(r): the value PPO's clip gives (times
    β), the gradient −β·(1 ∓ ε)·A·∇log π. β₁ (``gppo_beta_low``) scales the low side, whose A < 0
    low-probability tokens would otherwise stop being pushed down (entropy rises); β₂
    (``gppo_beta_high``) the high side, whose A > 0 tokens would stop being pushed up. Every other
    token is −A·r, and A < 0 tokens keep the dual clip min(ℓ, −c·A), as the paper's loss.
    β₁ = β₂ = 0 gives PPO's gradient (the clipped tokens' value is then 0); β₁ = β₂ = 1 PPO's
    value, with the clipped tokens' gradient back. ``selected_frac``: the tokens whose gradient was
    restored.
    """
    valid = mask.bool()
    ratio = _ratio(log_prob, old_log_prob)
    r = ratio.detach()
    low = (r < 1.0 - config.clip_ratio_low) & (advantages < 0)
    high = (r > 1.0 + config.clip_ratio_high) & (advantages > 0)
    scaled = ratio / r  # value 1, gradient ∇log π
    loss_mat = torch.where(
        low,
        -config.gppo_beta_low * (1.0 - config.clip_ratio_low) * scaled * advantages,
        torch.where(high, -config.gppo_beta_high * (1.0 + config.clip_ratio_high) * scaled * advantages,
                    -ratio * advantages),
    )
    dual = -advantages * config.clip_ratio_c
    neg = advantages < 0
    dual_clipped = (loss_mat.detach() > dual) & neg & valid
    loss_mat = torch.where(neg, torch.minimum(dual, loss_mat), loss_mat)
    f = lambda b: float(masked_mean(b.float(), mask))  # noqa: E731
    metrics = {
        "clip_frac": f(low | high),
        "clip_frac_low": f(low),
        "clip_frac_high": f(high),
        "clip_frac_dual": f(dual_clipped),
        "selected_frac": f((low & (config.gppo_beta_low > 0)) | (high & (config.gppo_beta_high > 0))),
    }
    return _finish(
        loss_mat, mask, log_prob, old_log_prob, advantages, mask, config, entropy, metrics, weights
    )


@register_policy_loss("reinforce")
def reinforce_loss(log_prob, old_log_prob, advantages, mask, config: LossConfig, entropy=None, weights=None):
    """Plain policy gradient −A·log π, no ratio and no clip (REINFORCE / GPG)."""
    loss_mat = -advantages * log_prob
    metrics = {"clip_frac": 0.0, "selected_frac": 0.0}
    return _finish(
        loss_mat, mask, log_prob, old_log_prob, advantages, mask, config, entropy, metrics, weights
    )
