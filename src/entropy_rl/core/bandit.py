"""The softmax-bandit demonstration of the entropy mechanism.

A tabular softmax policy over many actions, random rewards, and one exact gradient step:
the measured entropy change matches the paper's closed forms, −η·Cov(log π, π·A) for vanilla
policy gradient and −η·Cov(log π, A) for natural policy gradient, and its sign is always
opposite to the covariance's. Run it with ``entropy-rl bandit --out DIR`` (the plot: ``analysis.plots.plot_bandit``).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from entropy_rl.core import dynamics


@dataclass
class BanditResult:
    """One row per trial and gradient form ("vanilla" or "natural")."""

    form: list[str]
    covariance: np.ndarray  # Cov_{a∼π}(log π, Δz/η)
    predicted: np.ndarray  # −η·Cov
    measured: np.ndarray  # H(z + Δz) − H(z)

    @property
    def relative_error(self) -> np.ndarray:
        return np.abs(self.predicted - self.measured) / np.abs(self.measured)

    @property
    def sign_agreement(self) -> float:
        """Fraction of trials with sign(ΔH) = −sign(Cov)."""
        return float(np.mean(np.sign(self.measured) == -np.sign(self.covariance)))


def run_bandit(n_trials: int = 200, n_actions: int = 64, lr: float = 1e-3, seed: int = 0) -> BanditResult:
    """Random logits (scale 2) and Bernoulli(0.5)-ish rewards; one exact step per trial per form."""
    gen = torch.Generator().manual_seed(seed)
    forms, covs, preds, meas = [], [], [], []
    for _ in range(n_trials):
        logits = 2.0 * torch.randn(n_actions, generator=gen, dtype=torch.float64)
        rewards = torch.rand(n_actions, generator=gen, dtype=torch.float64)
        adv = dynamics.centred_advantage(logits, rewards)
        h0 = dynamics.softmax_entropy(logits)
        steps = {
            "vanilla": (dynamics.vanilla_pg_logit_step, dynamics.predicted_entropy_change_vanilla),
            "natural": (dynamics.natural_pg_logit_step, dynamics.predicted_entropy_change_natural),
        }
        for form, (step_fn, predict_fn) in steps.items():
            delta = step_fn(logits, adv, lr)
            pred = float(predict_fn(logits, adv, lr))
            forms.append(form)
            covs.append(-pred / lr)
            preds.append(pred)
            meas.append(float(dynamics.softmax_entropy(logits + delta) - h0))
    return BanditResult(forms, np.array(covs), np.array(preds), np.array(meas))


def summarise(result: BanditResult) -> str:
    lines = []
    forms = np.array(result.form)
    for form in ("vanilla", "natural"):
        sel = forms == form
        rel = result.relative_error[sel]
        agree = np.mean(np.sign(result.measured[sel]) == -np.sign(result.covariance[sel]))
        lines.append(
            f"{form:>8} PG: {sel.sum()} trials, median rel. error {np.median(rel):.2e}, "
            f"max {rel.max():.2e}, sign(ΔH) = −sign(Cov) in {agree:.0%}"
        )
    return "\n".join(lines)
