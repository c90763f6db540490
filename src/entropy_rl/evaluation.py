"""Held-out evaluation: k samples per problem → accuracy at k, diversity and calibration.

Confidence for calibration is the **mean token probability** of a response, exp(mean log π)
(the geometric mean of its token probabilities, at the sampling temperature); the summary
also reports the calibration of the **sequence probability** exp(Σ log π).
"""

from __future__ import annotations

import signal
import threading
from contextlib import contextmanager
from dataclasses import dataclass

import numpy as np
import torch

from entropy_rl import metrics as M
from entropy_rl.policy import Policy
from entropy_rl.rollout import generate, response_log_probs
from entropy_rl.tasks import InvalidReward, Problem, Task, Verdict


class ScoringFailed(RuntimeError):
    """Every answer of a training batch failed to score: the verifier or reward function is broken."""


class ScoreTimeout(BaseException):
    """Raised by the alarm; a BaseException so that scorers' own ``except Exception`` (reasoning-gym
    has several) cannot swallow it."""


@contextmanager
def _time_limit(seconds: float | None):
    """Interrupt the enclosed Python code after ``seconds`` with ``ScoreTimeout`` (SIGALRM; main
    thread of a POSIX process only, else no limit). C code that never returns to the
    interpreter is interrupted only when it does."""
    usable = (
        seconds and hasattr(signal, "setitimer") and threading.current_thread() is threading.main_thread()
    )
    if not usable:
        yield
        return

    def on_alarm(signum, frame):
        raise ScoreTimeout

    previous = signal.signal(signal.SIGALRM, on_alarm)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def safe_score(task: Task, problem: Problem, response: str) -> Verdict:
    """The task's verdict. A scorer that raises gives reward 0 with reason ``verifier_error``; one
    that runs past ``task.score_timeout_s`` gives reward 0 with reason ``timeout``. One that
    returns a non-reward (``InvalidReward``) is a bug that propagates."""
    try:
        with _time_limit(task.score_timeout_s):
            return task.score(problem, response)
    except ScoreTimeout:
        return Verdict(0.0, None, "timeout")
    except InvalidReward:
        raise
    except Exception as e:
        return Verdict(0.0, None, "verifier_error", detail=repr(e))


def score_all(task: Task, problems: list[Problem], responses: list[str]) -> list[Verdict]:
    """Verdicts for a batch: the task's ``score_batch`` when it has one (parallel workers), else
    ``safe_score`` one by one; a batch scorer that raises falls back to one by one."""
    batch_fn = getattr(task, "score_batch", None)
    if batch_fn is not None:
        try:
            return batch_fn(problems, responses)
        except Exception:
            pass
    return [safe_score(task, p, r) for p, r in zip(problems, responses, strict=True)]


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
    temperature: float,
    top_p: float,
    max_new_tokens: int,
    device: torch.device,
    prompts_per_batch: int = 32,
    fused: bool = False,
) -> EvalResult:
    texts, parsed, reasons, rewards, mlp, slp, ment, lens = [], [], [], [], [], [], [], []
    for s in range(0, len(problems), prompts_per_batch):
        chunk = problems[s : s + prompts_per_batch]
        batch = generate(policy, chunk, k, temperature, top_p, max_new_tokens, device)
        logp, ent = response_log_probs(policy.model, batch, temperature, fused=fused)
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


def plot_eval(res: EvalResult, summary: dict[str, float], out) -> list:
    """pass@k curve, reliability diagram (mean-token-probability confidence), entropy histogram."""
    from pathlib import Path

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from entropy_rl.report import save_figure

    out = Path(out)
    paths = []
    ks = sorted(int(k.split("@")[1]) for k in summary if k.startswith("pass@"))
    fig, ax = plt.subplots(figsize=(5, 3.6))
    ax.plot(ks, [summary[f"pass@{k}"] for k in ks], marker="o")
    ax.set_xscale("log", base=2)
    paths.append(save_figure(fig, ax, out / "pass_at_k.png", "k", "pass@k", "Unbiased pass@k"))

    conf = np.exp(res.mean_logp).ravel()
    y = (res.rewards >= 1.0).ravel()
    bins = np.minimum((conf * 10).astype(int), 9)
    centers, accs, counts = [], [], []
    for b in range(10):
        sel = bins == b
        if sel.any():
            centers.append(conf[sel].mean())
            accs.append(y[sel].mean())
            counts.append(int(sel.sum()))
    fig, ax = plt.subplots(figsize=(4.6, 4.2))
    ax.plot([0, 1], [0, 1], "k--", lw=0.8)
    ax.scatter(centers, accs, s=[10 + 200 * c / max(counts) for c in counts])
    paths.append(
        save_figure(
            fig,
            ax,
            out / "calibration.png",
            "confidence (mean token probability)",
            "accuracy",
            f"Reliability, ECE {summary['ece']:.3f}",
        )
    )

    fig, ax = plt.subplots(figsize=(5, 3.6))
    ax.hist(res.mean_entropy.ravel(), bins=30)
    paths.append(
        save_figure(
            fig,
            ax,
            out / "entropy_hist.png",
            "mean token entropy of a response",
            "responses",
            "Response entropy",
        )
    )
    return paths


def write_eval(res: EvalResult, out, extra: dict | None = None) -> dict[str, float]:
    """summary.json, samples.jsonl and the plots under ``out``; returns the summary."""
    import json
    from pathlib import Path

    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    summary = summarize(res)
    (out / "summary.json").write_text(json.dumps({**summary, **(extra or {})}, indent=1))
    with (out / "samples.jsonl").open("w") as f:
        for i, prob in enumerate(res.problems):
            for j in range(res.k):
                n = i * res.k + j
                f.write(
                    json.dumps(
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
    plot_eval(res, summary, out)
    return summary


# ----------------------------------------------------------------------------- temperature baseline


def temperature_sweep(
    policy: Policy,
    task: Task,
    problems: list[Problem],
    k: int,
    temperatures: list[float],
    top_p: float,
    max_new_tokens: int,
    device: torch.device,
    seed: int = 0,
) -> list[dict[str, float]]:
    """``summarize`` of ``policy`` sampled at each temperature, sorted by entropy.

    Lowering the temperature is the cheapest way to trade entropy for accuracy. Sweeping the
    *initial* policy gives the frontier an RL run has to beat: a run whose (entropy, accuracy)
    lies on it has only sharpened the policy, one above it has learned.
    """
    out = []
    for t in temperatures:
        if not t > 0:
            raise ValueError(f"temperatures must be > 0 (got {t})")
        torch.manual_seed(seed)
        res = sample_and_score(policy, task, problems, k, t, top_p, max_new_tokens, device)
        out.append({"temperature": float(t), **summarize(res, diversity=False)})
    return sorted(out, key=lambda s: s["entropy"])


def matched_baseline(sweep: list[dict[str, float]], entropy: float) -> dict[str, float]:
    """The sweep's metrics interpolated (linearly in entropy) at ``entropy``: what the initial
    policy scores when its temperature brings it to the same entropy. ``matched_extrapolated``
    is 1.0 when ``entropy`` lies outside the swept range (the nearest end is used).
    """
    if not sweep:
        raise ValueError("empty temperature sweep")
    hs = np.array([s["entropy"] for s in sweep])
    keys = [k for k in sweep[0] if k == "accuracy" or k.startswith("pass@") or k == "temperature"]
    out = {f"matched_{k}": float(np.interp(entropy, hs, [s[k] for s in sweep])) for k in keys}
    out["matched_extrapolated"] = float(not hs.min() <= entropy <= hs.max())
    return out
