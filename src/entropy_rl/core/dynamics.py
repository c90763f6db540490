"""Entropy dynamics: the covariance that drives entropy change (Cui et al. 2025, §3).

Two levels:

- **LLM batches.** ``token_covariance`` is the per-token centred cross-product
  (A_i − mean A)·(log π_i − mean log π) with means over the valid tokens of the batch; its mean
  (``covariance``) is the batch estimate of Cov(log π, A). Positive covariance means confident
  tokens get positive advantage, which sharpens the policy and lowers entropy.
- **A softmax policy over actions** (logits z, π = softmax(z)). The first-order entropy change
  for a logit change Δz is exactly ΔH ≈ −Cov_{a∼π}(log π(a), Δz(a)). A vanilla policy-gradient
  step on the logits has Δz = η·π·A (A centred under π), so ΔH ≈ −η·Cov(log π, π·A); a natural
  policy-gradient step has Δz = η·A, so ΔH ≈ −η·Cov(log π, A).
"""

from __future__ import annotations

import math

import torch

from entropy_rl.core.entropy import entropy_from_log_probs


def token_covariance(log_prob: torch.Tensor, advantages: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Per-token centred cross-product ``(batch, response_len)``, 0 where masked.

    Means are over the valid tokens of the whole tensor passed in (entropy-rl centres over the
    mini-batch; verl centres per micro-batch, so its selection depends on the micro-batch size).
    """
    valid = mask.to(log_prob.dtype)
    n = valid.sum().clamp(min=1.0)
    lp = log_prob.detach()
    adv = advantages.detach().to(lp.dtype)
    mean_lp = (lp * valid).sum() / n
    mean_adv = (adv * valid).sum() / n
    return (adv - mean_adv) * (lp - mean_lp) * valid


def covariance(log_prob: torch.Tensor, advantages: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Mean of ``token_covariance`` over valid tokens: a scalar estimate of Cov(log π, A)."""
    valid = mask.to(log_prob.dtype)
    return token_covariance(log_prob, advantages, mask).sum() / valid.sum().clamp(min=1.0)


def covariance_top_share(
    token_cov: torch.Tensor, mask: torch.Tensor, fractions: tuple[float, ...] = (2e-4, 2e-3, 2e-2)
) -> dict[float, float]:
    """Share of the positive covariance mass (Σ of the positive Cov_i) carried by the top-f
    fraction of valid tokens: a share in [0, 1].

    The top ⌈f·N⌉ tokens (at least one) by covariance value. Centred cross-products sum to N·Cov,
    which can be near 0 or negative, so a share of that total would not be a share; the
    positive mass is what drives the entropy down. Cui et al. find a tiny fraction of tokens
    carries most of it, which is why Clip-Cov/KL-Cov touch only 0.02–0.2 % of them. On a batch of
    fewer than 5,000 tokens the 0.02 % fraction selects one token, and under 500 so does 0.2 %.
    """
    values = token_cov[mask.bool()].flatten().double()
    positive = values.clamp(min=0)
    total = positive.sum()
    out: dict[float, float] = {}
    if values.numel() == 0 or total < 1e-30:
        return {f: float("nan") for f in fractions}
    ordered = torch.sort(positive, descending=True).values
    for f in fractions:
        k = max(1, math.ceil(f * values.numel()))
        out[f] = float(ordered[:k].sum() / total)
    return out


def sums_by_token(
    tokens: torch.Tensor, mask: torch.Tensor, vocab_size: int, *values: torch.Tensor
) -> torch.Tensor:
    """Per token id: ``(vocab_size, 1 + len(values))`` float64 of the number of valid occurrences,
    then the sum over them of each ``values`` tensor. ``tokens``, ``mask`` and each value are
    ``(batch, response_len)``. Summed over a run with ``token_covariance`` as a value, it says
    which tokens carry the covariance that lowers entropy (``token_drivers``)."""
    valid = mask.bool()
    ids = tokens[valid].long()
    columns = [torch.ones_like(ids, dtype=torch.float64)] + [v[valid].double() for v in values]
    out = torch.zeros(vocab_size, len(columns), dtype=torch.float64, device=tokens.device)
    return out.index_add_(0, ids, torch.stack(columns, -1))


def token_drivers(stats: torch.Tensor, label, top: int = 50) -> dict:
    """The tokens that carry the most covariance, from ``sums_by_token(tokens, mask, V, cov,
    entropy)`` accumulated over a run: the ``top`` ids by Σ Cov_i, each with its ``label(id)``,
    occurrences, Σ Cov_i, share of the run's total Σ Cov_i, and mean entropy where sampled."""
    count, cov, ent = stats[:, 0], stats[:, 1], stats[:, 2]
    total = float(cov.sum())
    order = torch.argsort(cov, descending=True)[:top]
    rows = [
        {
            "id": int(i),
            "token": label(int(i)),
            "count": int(count[i]),
            "covariance_sum": float(cov[i]),
            "covariance_share": float(cov[i] / total) if total else None,
            "mean_entropy": float(ent[i] / count[i]),
        }
        for i in order.tolist()
        if count[i] > 0
    ]
    return {"covariance_total": total, "tokens_total": int(count.sum()), "top": rows}


# ----------------------------------------------------------------------------- softmax theory


def softmax_entropy(logits: torch.Tensor) -> torch.Tensor:
    """Entropy of softmax(logits) over the last dim."""
    return entropy_from_log_probs(torch.log_softmax(logits, dim=-1))


def _cov_under_pi(logits: torch.Tensor, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Cov_{a∼π}(x(a), y(a)) with π = softmax(logits), over the last dim."""
    p = torch.softmax(logits, dim=-1)
    ex = (p * x).sum(-1, keepdim=True)
    ey = (p * y).sum(-1, keepdim=True)
    return (p * (x - ex) * (y - ey)).sum(-1)


def first_order_entropy_change(logits: torch.Tensor, delta_logits: torch.Tensor) -> torch.Tensor:
    """Exact first-order change of softmax entropy for a logit change Δz: −Cov_{a∼π}(log π, Δz)."""
    return -_cov_under_pi(logits, torch.log_softmax(logits, dim=-1), delta_logits)


def centred_advantage(logits: torch.Tensor, rewards: torch.Tensor) -> torch.Tensor:
    """A(a) = r(a) − E_{a∼π}[r]: the advantage of each action under the current policy."""
    p = torch.softmax(logits, dim=-1)
    return rewards - (p * rewards).sum(-1, keepdim=True)


def vanilla_pg_logit_step(logits: torch.Tensor, advantages: torch.Tensor, lr: float) -> torch.Tensor:
    """Δz of one exact policy-gradient step on softmax logits: η·π(a)·A(a) (A centred under π)."""
    return lr * torch.softmax(logits, dim=-1) * advantages


def natural_pg_logit_step(logits: torch.Tensor, advantages: torch.Tensor, lr: float) -> torch.Tensor:
    """Δz of one natural policy-gradient step on softmax logits: η·A(a)."""
    return lr * advantages


def predicted_entropy_change_vanilla(
    logits: torch.Tensor, advantages: torch.Tensor, lr: float
) -> torch.Tensor:
    """The paper's closed form for vanilla PG: ΔH ≈ −η·Cov_{a∼π}(log π(a), π(a)·A(a))."""
    p = torch.softmax(logits, dim=-1)
    return -lr * _cov_under_pi(logits, torch.log_softmax(logits, dim=-1), p * advantages)


def predicted_entropy_change_natural(
    logits: torch.Tensor, advantages: torch.Tensor, lr: float
) -> torch.Tensor:
    """The paper's closed form for natural PG: ΔH ≈ −η·Cov_{a∼π}(log π(a), A(a))."""
    return -lr * _cov_under_pi(logits, torch.log_softmax(logits, dim=-1), advantages)
