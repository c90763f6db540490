"""The policy update: ``ppo_epochs`` × ``mini_batches`` gradient steps on one rollout batch."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

import numpy as np
import torch

from entropy_rl.config import Config
from entropy_rl.core.losses import LossConfig, PolicyLossFn, aggregate_loss, k3_kl, masked_mean
from entropy_rl.train.rollout import RolloutBatch, response_log_probs

# what ``update_policy`` adds to the loss's metrics (``core.losses.LOSS_METRICS``)
UPDATE_METRICS = ("kl_ref", "grad_norm", "entropy_in_update", "remedy_tokens", "remedy_token_share")


@dataclass
class UpdateBatch:
    """What an update trains on: the kept rollout rows and their per-token tensors, (rows, L)."""

    batch: RolloutBatch
    old_log_prob: torch.Tensor
    advantages: torch.Tensor
    ref_log_prob: torch.Tensor | None = None  # the frozen reference's, when ``trainer.kl_coef`` > 0


def update_policy(
    model, optimizer, data: UpdateBatch, loss_fn: PolicyLossFn, loss_cfg: LossConfig, cfg: Config
) -> dict[str, float]:
    """``ppo_epochs`` × ``mini_batches`` gradient steps on one rollout batch; the mean over them of
    the loss's metrics, plus ``kl_ref``, ``grad_norm`` and ``entropy_in_update``; and the tokens the
    method's remedy acted on (its ``selected_frac``: detached, penalised, reweighted), summed over
    the updates (``remedy_tokens``) and as a share of the tokens updated (``remedy_token_share``)."""
    t = cfg.trainer
    acc: dict[str, list[float]] = defaultdict(list)
    mask = data.batch.response_mask
    n = mask.shape[0]
    remedy, updated = 0.0, 0
    model.train()
    for _ in range(t.ppo_epochs):
        for rows in torch.randperm(n).chunk(min(t.mini_batches, n)):
            rows = rows.to(mask.device)
            mb = data.batch.select(rows)
            logp, ent = response_log_probs(model, mb, cfg.rollout.temperature, fused=cfg.model.fused_logits)
            ent_arg = ent if loss_cfg.entropy_coef != 0 else ent.detach()
            loss, m = loss_fn(
                logp, data.old_log_prob[rows], data.advantages[rows], mask[rows], loss_cfg, entropy=ent_arg
            )
            if data.ref_log_prob is not None:
                kl = aggregate_loss(
                    k3_kl(logp, data.ref_log_prob[rows]),
                    mask[rows],
                    loss_cfg.loss_agg_mode,
                    loss_cfg.loss_scale_factor,
                )
                loss = loss + t.kl_coef * kl
                m["kl_ref"] = float(kl.detach())
            loss.backward()
            m["grad_norm"] = float(torch.nn.utils.clip_grad_norm_(model.parameters(), t.max_grad_norm))
            optimizer.step()
            optimizer.zero_grad(set_to_none=True)
            m["entropy_in_update"] = float(masked_mean(ent.detach(), mask[rows]))
            n_valid = int(mask[rows].sum())
            remedy += round(m.get("selected_frac", 0.0) * n_valid)
            updated += n_valid
            for k, v in m.items():
                acc[k].append(v)
    model.eval()
    out = {k: float(np.mean(v)) for k, v in acc.items()}
    out.update(remedy_tokens=float(remedy), remedy_token_share=remedy / max(updated, 1))
    return out
