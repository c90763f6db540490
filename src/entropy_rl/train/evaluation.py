"""Held-out evaluation: k samples per problem → accuracy at k, diversity and calibration.

Confidence for calibration is the **mean token probability** of a response, exp(mean log π)
(the geometric mean of its token probabilities, at the sampling temperature); the summary
also reports the calibration of the **sequence probability** exp(Σ log π).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from entropy_rl.core import metrics as M
from entropy_rl.files import atomic_write_text, strict_json
from entropy_rl.models.policy import Policy
from entropy_rl.scoring.limits import score_all
from entropy_rl.scoring.types import Problem
from entropy_rl.tasks.base import Task
from entropy_rl.train.rollout import SamplingParams, generate, response_log_probs


@dataclass
class EvalResult:
    """Per sample, ``n_problems × k`` in problem-major order."""

    k: int
    problems: list[Problem]
    texts: list[str]
    rewards: np.ndarray  # (n_problems, k)
    parsed: list[str | None]
    reasons: list[str]
    mean_logp: np.ndarray  # (n_problems, k) mean token log-prob
    sum_logp: np.ndarray  # (n_problems, k)
    mean_entropy: np.ndarray  # (n_problems, k) mean token entropy
    lengths: np.ndarray  # (n_problems, k) response tokens


@torch.no_grad()
def sample_and_score(
    policy: Policy,
    task: Task,
    problems: list[Problem],
    k: int,
    sampling: SamplingParams,
    device: torch.device,
    prompts_per_batch: int = 32,
    fused: bool = False,
) -> EvalResult:
    """``k`` responses per problem, scored, with their log-probs and entropy at the sampling
    temperature."""
    texts, parsed, reasons, rewards, mlp, slp, ment, lens = [], [], [], [], [], [], [], []
    for s in range(0, len(problems), prompts_per_batch):
        chunk = problems[s : s + prompts_per_batch]
        batch = generate(policy, chunk, k, sampling, device)
        logp, ent = response_log_probs(policy.model, batch, sampling.temperature, fused=fused)
        m = batch.response_mask.float()
        n_tok = m.sum(-1).clamp(min=1)
        mlp += (logp.sum(-1) / n_tok).tolist()
        slp += logp.sum(-1).tolist()
        ment += (ent.sum(-1) / n_tok).tolist()
        lens += m.sum(-1).tolist()
        for text, v in zip(batch.texts, score_all(task, batch.problems, batch.texts), strict=True):
            texts.append(text)
            parsed.append(v.parsed)
            reasons.append(v.reason)
            rewards.append(v.reward)
    shape = (len(problems), k)
    return EvalResult(
        k=k,
        problems=problems,
        texts=texts,
        rewards=np.array(rewards).reshape(shape),
        parsed=parsed,
        reasons=reasons,
        mean_logp=np.array(mlp).reshape(shape),
        sum_logp=np.array(slp).reshape(shape),
        mean_entropy=np.array(ment).reshape(shape),
        lengths=np.array(lens).reshape(shape),
    )


def summarize(res: EvalResult, diversity: bool = True) -> dict[str, float]:
    """Aggregate metrics of an evaluation (means over problems)."""
    k = res.k
    correct = res.rewards >= 1.0
    # accuracy counts full-credit answers only: some scorers (countdown) give partial format credit
    out: dict[str, float] = {"accuracy": float(correct.mean()), "mean_reward": float(res.rewards.mean())}
    out[f"mean@{k}"] = float(np.mean([M.mean_at_k(c) for c in correct]))  # = accuracy: equal k per problem
    ks = sorted({1, *[2**i for i in range(1, 12) if 2**i <= k], k})
    for kk in ks:
        out[f"pass@{kk}"] = float(np.mean([M.pass_at_k(k, int(c), kk) for c in correct.sum(1)]))
    out[f"maj@{k}"] = float(
        np.mean(
            [
                M.maj_at_k(res.parsed[i * k : (i + 1) * k], correct[i].tolist())
                for i in range(len(res.problems))
            ]
        )
    )
    out["unique_answers"] = float(
        np.mean([M.unique_answers(res.parsed[i * k : (i + 1) * k]) for i in range(len(res.problems))])
    )
    if diversity and k > 1:
        groups = [res.texts[i * k : (i + 1) * k] for i in range(len(res.problems))]
        out["distinct_1"] = float(np.mean([M.distinct_n(g, 1) for g in groups]))
        out["distinct_2"] = float(np.mean([M.distinct_n(g, 2) for g in groups]))
        out["self_bleu"] = float(np.nanmean([M.self_bleu(g) for g in groups]))
    conf_tok = np.exp(res.mean_logp).ravel()
    conf_seq = np.exp(res.sum_logp).ravel()
    y = correct.ravel()
    out["ece"] = M.expected_calibration_error(conf_tok, y)
    out["brier"] = M.brier_score(conf_tok, y)
    out["auroc"] = M.auroc(conf_tok, y)
    out["ece_seq"] = M.expected_calibration_error(conf_seq, y)
    out["auroc_seq"] = M.auroc(conf_seq, y)
    out["response_length"] = float(res.lengths.mean())
    out["entropy"] = float(res.mean_entropy.mean())
    for reason in sorted(set(res.reasons) - {"ok", "wrong"}):
        out[f"verifier_{reason}"] = float(np.mean([r == reason for r in res.reasons]))
    return out


def write_eval(res: EvalResult, out, extra: dict | None = None) -> dict[str, float]:
    """summary.json and samples.jsonl under ``out`` (the plots: ``analysis.plots.plot_eval``);
    returns the summary."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    summary = summarize(res)
    atomic_write_text(out / "summary.json", strict_json({**summary, **(extra or {})}, indent=1))
    lines = []
    for i, prob in enumerate(res.problems):
        for j in range(res.k):
            n = i * res.k + j
            lines.append(
                strict_json(
                    {
                        "problem": i,
                        "sample": j,
                        "prompt": prob.prompt,
                        "gold": prob.answer,
                        "response": res.texts[n],
                        "parsed": res.parsed[n],
                        "reward": float(res.rewards[i, j]),
                        "reason": res.reasons[n],
                        "mean_logp": float(res.mean_logp[i, j]),
                        "mean_entropy": float(res.mean_entropy[i, j]),
                    }
                )
                + "\n"
            )
    atomic_write_text(out / "samples.jsonl", "".join(lines))
    return summary


# ----------------------------------------------------------------------------- temperature baseline


def temperature_sweep(
    policy: Policy,
    task: Task,
    problems: list[Problem],
    k: int,
    temperatures: list[float],
    sampling: SamplingParams,
    device: torch.device,
    seed: int = 0,
    log: Callable[[str], None] | None = None,
) -> list[dict[str, float]]:
    """``summarize`` of ``policy`` sampled at each temperature, sorted by entropy; ``log`` gets
    a line per temperature (on a real model each takes minutes on a CPU).

    Lowering the temperature is the cheapest way to trade entropy for accuracy. Sweeping the
    *initial* policy gives the frontier an RL run has to beat: a run whose (entropy, accuracy)
    lies on it has only sharpened the policy, one above it has learned. ``sampling`` gives
    ``top_p`` and ``max_new_tokens``; its temperature is replaced by each of ``temperatures``.
    """
    out = []
    for i, t in enumerate(temperatures):
        if not t > 0:
            raise ValueError(f"temperatures must be > 0 (got {t})")
        torch.manual_seed(seed)
        res = sample_and_score(policy, task, problems, k, sampling.at_temperature(t), device)
        out.append({"temperature": float(t), **summarize(res, diversity=False)})
        if log is not None:
            log(
                f"temperature baseline {i + 1}/{len(temperatures)}: T = {t:g}, pass@1 "
                f"{out[-1]['accuracy']:.3f}, entropy {out[-1]['entropy']:.3f}"
            )
    return sorted(out, key=lambda s: s["entropy"])
