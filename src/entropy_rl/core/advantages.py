"""Advantage estimators for outcome rewards: ``(n_prompts, group)`` rewards → token advantages.

Every estimator has the signature ``fn(rewards, mask, **kwargs) -> (batch, response_len)`` with
``rewards`` (n_prompts, group) in [0, 1], ``mask`` (n_prompts·group, response_len); rows of the
output follow prompt-major order (prompt 0's group first). Each response's scalar advantage is
broadcast over its tokens and zeroed on padding. Registered in ``ADVANTAGE_ESTIMATORS``.
"""

from __future__ import annotations

import math
from typing import Protocol

import torch

from entropy_rl.core.registry import Registry


class AdvantageFn(Protocol):
    """``(rewards (n_prompts, group), mask (n_prompts·group, response_len)) -> (n_prompts·group,
    response_len)`` token advantages, zero on padding."""

    def __call__(self, rewards: torch.Tensor, mask: torch.Tensor) -> torch.Tensor: ...


ADVANTAGE_ESTIMATORS: Registry[AdvantageFn] = Registry("advantage estimator")
register_advantage = ADVANTAGE_ESTIMATORS.register
get_advantage_estimator = ADVANTAGE_ESTIMATORS.lookup


def _broadcast(scores: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """(n_prompts, group) scores → (n_prompts·group, response_len) token advantages."""
    flat = scores.reshape(-1)
    if flat.numel() != mask.shape[0]:
        raise ValueError(f"rewards hold {flat.numel()} responses but mask has {mask.shape[0]} rows")
    return flat.unsqueeze(-1).to(torch.float32) * mask.to(torch.float32)


@register_advantage("grpo")
def grpo_advantage(
    rewards: torch.Tensor, mask: torch.Tensor, norm_std: bool = True, eps: float = 1e-6
) -> torch.Tensor:
    """GRPO (Shao et al. 2024): (r − mean_group r) / (std_group r + ε).

    ``norm_std=False`` drops the division (Dr.GRPO, Liu et al. 2025), which removes the bias
    towards groups that are almost all right or all wrong. std is the unbiased one, as verl.
    """
    r = rewards.float()
    adv = r - r.mean(-1, keepdim=True)
    if norm_std:
        std = r.std(-1, keepdim=True) if r.shape[-1] > 1 else torch.zeros_like(r[:, :1])
        adv = adv / (std + eps)
    return _broadcast(adv, mask)


@register_advantage("drgrpo")
def drgrpo_advantage(rewards: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Dr.GRPO: group-mean baseline without std normalisation (``grpo`` with ``norm_std=False``)."""
    return grpo_advantage(rewards, mask, norm_std=False)


@register_advantage("rloo")
def rloo_advantage(rewards: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """RLOO (Ahmadian et al. 2024): r_i − mean of the other G−1 rewards of its group."""
    r = rewards.float()
    g = r.shape[-1]
    if g < 2:
        raise ValueError("RLOO needs a group of at least 2 responses per prompt")
    baseline = (r.sum(-1, keepdim=True) - r) / (g - 1)
    return _broadcast(r - baseline, mask)


@register_advantage("reinforce_pp")
def reinforce_pp_advantage(rewards: torch.Tensor, mask: torch.Tensor, eps: float = 1e-8) -> torch.Tensor:
    """REINFORCE++ with baseline (Hu 2025; verl's ``reinforce_plus_plus_baseline``):
    subtract the group mean, broadcast to tokens, then whiten over all valid tokens of the batch.
    """
    r = rewards.float()
    tok = _broadcast(r - r.mean(-1, keepdim=True), mask)
    valid = mask.bool()
    vals = tok[valid]
    if vals.numel() < 2:
        return tok
    whitened = (tok - vals.mean()) / (vals.std() + eps)
    return whitened * mask.to(torch.float32)


@register_advantage("qae")
def qae_advantage(
    rewards: torch.Tensor,
    mask: torch.Tensor,
    quantile: float = 0.4,
    norm_std: bool = True,
    eps: float = 1e-6,
    method: str = "order",
) -> torch.Tensor:
    """QAE, quantile advantage (Wu et al. 2025, arXiv 2509.22611): GRPO with the group's
    K-quantile reward as the baseline instead of its mean: (r − Q_K) / (std_group r + ε).

    Q_K is the empirical quantile inf{x : F(x) ≥ K} (the ⌈K·G⌉-th smallest of G rewards). With
    binary rewards and success rate p, a hard group (p ≤ 1 − K) has Q_K = 0: only its successes
    get an advantage (> 0); an easy group (p > 1 − K) has Q_K = 1: only its failures do (< 0). K
    (``quantile``) in (0, 1); ``norm_std=False`` drops the division as Dr.GRPO does.

    ``method="linear"`` is the authors' released form instead: ``torch.quantile`` (linear
    interpolation between order statistics). With G = 8 the two differ for one success count per
    K (e.g. K = 0.4: 5 successes of 8 give Q = 1 by order, 0.8 by interpolation).
    """
    if not 0 < quantile < 1:
        raise ValueError(f"qae quantile must be in (0, 1), got {quantile}")
    if method not in ("order", "linear"):
        raise ValueError(f"qae method must be 'order' or 'linear', got {method!r}")
    r = rewards.float()
    g = r.shape[-1]
    k = min(g, max(1, math.ceil(quantile * g - 1e-9)))  # 1-based rank; the tolerance absorbs K·G's rounding
    if method == "linear":
        baseline = torch.quantile(r, quantile, dim=-1, keepdim=True)
    else:
        baseline = r.sort(-1).values[:, k - 1 : k]
    adv = r - baseline
    if norm_std:
        std = r.std(-1, keepdim=True) if g > 1 else torch.zeros_like(r[:, :1])
        adv = adv / (std + eps)
    return _broadcast(adv, mask)


@register_advantage("nsr")
def nsr_advantage(rewards: torch.Tensor, mask: torch.Tensor, lam: float = 0.1) -> torch.Tensor:
    """W-REINFORCE / NSR (Zhu et al. 2025): +λ for correct, −1 for wrong, no baseline (λ = 0.1).

    Rewards in [0, 1] interpolate: A = λ·r − (1 − r).
    """
    r = rewards.float()
    return _broadcast(lam * r - (1.0 - r), mask)


def entropy_shaped_advantage(
    advantages: torch.Tensor,
    entropy: torch.Tensor,
    mask: torch.Tensor,
    alpha: float = 0.4,
    kappa: float = 2.0,
) -> torch.Tensor:
    """Entropy-based advantage shaping (Cheng et al. 2025): A + min(α·H.detach(), |A|/κ).

    ``advantages``, ``entropy``, ``mask``: (batch, response_len). The clip by |A|/κ keeps the
    bonus from flipping the sign of a negative advantage. Applied on top of any estimator.
    """
    bonus = torch.minimum(alpha * entropy.detach().float(), advantages.abs() / kappa)
    return (advantages + bonus) * mask.to(torch.float32)
