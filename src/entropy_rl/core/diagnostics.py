"""What both our trainer and the engine plug-ins log about a batch and a step: one place.

- ``batch_diagnostics``: per-sign entropy, the covariance Cov(log π, A) and its per-sign parts,
  how concentrated it is in the top tokens, and the share of tokens without gradient signal.
- ``probe_entropy_terms``: a fixed probe batch's per-token entropy before and after a step and
  the first-order prediction of its change, −Cov_{a∼π_old}(log π_old, Δz).
- ``running_law``: the entropy–performance law fitted on the points so far.
- ``readable_token``: a decoded token for tables.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from entropy_rl.core.dynamics import covariance_top_share, first_order_entropy_change, token_covariance
from entropy_rl.core.entropy import entropy_from_log_probs
from entropy_rl.core.law import fit_entropy_law
from entropy_rl.core.losses import masked_mean

# the fractions of ``covariance_top_share`` that are logged, and their metric names
TOP_SHARES = {2e-4: "cov_top_share_0.02%", 2e-3: "cov_top_share_0.2%", 2e-2: "cov_top_share_2%"}


@dataclass
class BatchDiagnostics:
    metrics: dict[str, float | None]
    """Flat metrics; None where a quantity has no token (e.g. ``entropy_pos`` without A > 0)."""
    token_covariance: torch.Tensor
    """(batch, response_len) per-token Cov_i, 0 where masked (for ``sums_by_token``)."""


@torch.no_grad()
def batch_diagnostics(
    log_prob: torch.Tensor, advantages: torch.Tensor, entropy: torch.Tensor, mask: torch.Tensor
) -> BatchDiagnostics:
    """Diagnostics of one batch of sampled tokens, all inputs ``(batch, response_len)``.

    ``covariance`` is the mean over valid tokens of the centred cross-product of log π and A;
    ``covariance_pos`` / ``covariance_neg`` are the parts of A > 0 / A < 0 tokens (they add up to
    it); ``entropy_zero`` and ``zero_adv_fraction`` are about A = 0 tokens, which get no gradient.
    """
    valid = mask.bool()
    cov_tok = token_covariance(log_prob, advantages, mask)
    n_valid = valid.sum().clamp(min=1)
    pos, neg = (advantages > 0) & valid, (advantages < 0) & valid
    zero = valid & ~pos & ~neg
    shares = covariance_top_share(cov_tok, mask)
    metrics: dict[str, float | None] = {
        "entropy_pos": float(masked_mean(entropy, pos)) if pos.any() else None,
        "entropy_neg": float(masked_mean(entropy, neg)) if neg.any() else None,
        "entropy_zero": float(masked_mean(entropy, zero)) if zero.any() else None,
        "zero_adv_fraction": float(zero.sum() / n_valid),
        "covariance": float(cov_tok.sum() / n_valid),
        "covariance_pos": float((cov_tok * pos).sum() / n_valid),
        "covariance_neg": float((cov_tok * neg).sum() / n_valid),
    }
    metrics.update({name: shares[f] for f, name in TOP_SHARES.items()})
    return BatchDiagnostics(metrics, cov_tok)


@torch.no_grad()
def probe_entropy_terms(
    old_log_probs: torch.Tensor, new_log_probs: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Per-token (entropy before, entropy after, first-order predicted change) of a probe batch.

    ``old_log_probs``, ``new_log_probs``: (..., vocab) log-softmax before and after a step. The
    prediction, −Cov_{a∼π_old}(log π_old, Δz) with Δz the realised logit change, is in float64.
    """
    h_old = entropy_from_log_probs(old_log_probs)
    h_new = entropy_from_log_probs(new_log_probs)
    predicted = first_order_entropy_change(old_log_probs.double(), (new_log_probs - old_log_probs).double())
    return h_old, h_new, predicted


def running_law(points: list[tuple[float, float]], min_points: int = 3) -> dict[str, float]:
    """``law_a``, ``law_b``, ``law_r2``, ``law_ceiling`` (b − a) of R = −a·exp(H) + b fitted on the
    (entropy, performance) points so far; empty below ``min_points`` or without spread."""
    if len(points) < min_points:
        return {}
    h, r = zip(*points, strict=True)
    try:
        law = fit_entropy_law(h, r)
    except ValueError:
        return {}
    return {"law_a": law.a, "law_b": law.b, "law_r2": law.r2, "law_ceiling": law.ceiling}


def readable_token(text: str, token_id: int) -> str:
    """A decoded token for tables: escapes shown (``\\n``), ``<id N>`` when it decodes to nothing."""
    return repr(text)[1:-1] if text else f"<id {token_id}>"
