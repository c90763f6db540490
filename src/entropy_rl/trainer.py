"""The single-machine RLVR trainer: one flat loop you can read top to bottom.

Each step: sample prompts → generate G responses each → rewards from the task's verifier →
old log-probs and pre-update entropy (one no-grad pass) → advantages → ``ppo_epochs`` ×
``mini_batches`` updates with the chosen loss (more than one update per rollout makes the later
ones off-policy, which is what activates clipping and KL-Cov) → optional KL to a frozen
reference → controller → diagnostics (one JSON line in ``RUN_DIR/metrics.jsonl``).

Simplifications, on purpose: no value model (outcome rewards and group baselines only), no
gradient accumulation across micro-batches (a mini-batch is one forward/backward), generation
with transformers' ``generate`` (no vLLM), one device.
"""

from __future__ import annotations

import copy
import json
import math
import random
import time
from collections import defaultdict
from pathlib import Path

import numpy as np
import torch

from entropy_rl.advantages import entropy_shaped_advantage, get_advantage_estimator
from entropy_rl.checkpoint import (
    RNGState,
    atomic_write_text,
    latest_checkpoint,
    load_checkpoint,
    save_checkpoint,
)
from entropy_rl.config import Config
from entropy_rl.controllers import make_controller
from entropy_rl.dynamics import (
    covariance_top_share,
    first_order_entropy_change,
    sums_by_token,
    token_covariance,
    token_drivers,
)
from entropy_rl.evaluation import ScoringFailed, sample_and_score, score_all, summarize
from entropy_rl.law import fit_entropy_law, law_points
from entropy_rl.losses import DYNAMIC_LOSS_FIELDS, aggregate_loss, get_policy_loss, masked_mean
from entropy_rl.policy import load_policy
from entropy_rl.rollout import RolloutBatch, generate, response_log_probs, response_log_softmax
from entropy_rl.tasks import make_task


def resolve_device(name: str) -> torch.device:
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name == "cuda" and not torch.cuda.is_available():
        raise ValueError("config field `trainer.device`: 'cuda' requested but no CUDA device is available")
    return torch.device(name)


def _json_safe(v):
    if isinstance(v, float) and not math.isfinite(v):
        return None
    return v


def per_response_mean(values: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """(batch, L) → (batch,) mean over each response's valid tokens."""
    m = mask.float()
    return (values * m).sum(-1) / m.sum(-1).clamp(min=1)


def update_policy(model, optimizer, batch, old_logp, ref_logp, adv, loss_fn, loss_cfg, cfg: Config):
    """``ppo_epochs`` × ``mini_batches`` gradient steps on one rollout batch; mean of the metrics."""
    t = cfg.trainer
    acc: dict[str, list[float]] = defaultdict(list)
    mask = batch.response_mask
    n = mask.shape[0]
    model.train()
    for _ in range(t.ppo_epochs):
        for rows in torch.randperm(n).chunk(min(t.mini_batches, n)):
            rows = rows.to(mask.device)
            mb = batch.select(rows)
            logp, ent = response_log_probs(model, mb, cfg.rollout.temperature, fused=cfg.model.fused_logits)
            ent_arg = ent if loss_cfg.entropy_coef != 0 else ent.detach()
            loss, m = loss_fn(logp, old_logp[rows], adv[rows], mask[rows], loss_cfg, entropy=ent_arg)
            if ref_logp is not None:
                # k3 estimator of KL(π‖π_ref), low variance and ≥ 0 (Schulman)
                log_ratio = ref_logp[rows] - logp
                k3 = torch.exp(log_ratio) - log_ratio - 1
                kl = aggregate_loss(k3, mask[rows], loss_cfg.loss_agg_mode, loss_cfg.loss_scale_factor)
                loss = loss + t.kl_coef * kl
                m["kl_ref"] = float(kl.detach())
            loss.backward()
            m["grad_norm"] = float(torch.nn.utils.clip_grad_norm_(model.parameters(), t.max_grad_norm))
            optimizer.step()
            optimizer.zero_grad(set_to_none=True)
            m["entropy_in_update"] = float(masked_mean(ent.detach(), mask[rows]))
            for k, v in m.items():
                acc[k].append(v)
    model.eval()
    return {k: float(np.mean(v)) for k, v in acc.items()}


def _load_or_make_probe(run_dir: Path, policy, task, cfg: Config, device) -> RolloutBatch:
    """A fixed batch of held-out prompts with responses sampled once from the initial policy."""
    path = run_dir / "probe.pt"
    if path.exists():
        saved = torch.load(path, weights_only=False)
        return RolloutBatch(**saved).to(device)
    problems = task.heldout[: cfg.trainer.probe_size]
    r = cfg.rollout
    probe = generate(policy, problems, 1, r.temperature, r.top_p, r.max_new_tokens, device)
    torch.save({k: (v.cpu() if torch.is_tensor(v) else v) for k, v in probe.__dict__.items()}, path)
    return probe


def train(cfg: Config, run_dir: str | Path, resume: bool = False, quiet: bool = False) -> Path:
    """Run (or resume) training; returns the run directory. See the module docstring."""
    run_dir = Path(run_dir)
    metrics_path = run_dir / "metrics.jsonl"
    log = (lambda *a: None) if quiet else print
    if quiet:
        from transformers.utils import logging as hf_logging

        hf_logging.disable_progress_bar()
    if metrics_path.exists() and not resume:
        raise FileExistsError(
            f"{run_dir} already holds a run: pass --resume to continue it, or another --out"
        )
    run_dir.mkdir(parents=True, exist_ok=True)
    (run_dir / "config.yaml").write_text(cfg.to_yaml())
    t, r, a = cfg.trainer, cfg.rollout, cfg.algorithm
    if t.threads:
        torch.set_num_threads(t.threads)
    device = resolve_device(t.device)
    torch.manual_seed(t.seed)
    random.seed(t.seed)
    np.random.seed(t.seed)

    # ------------------------------------------------------------------ set-up
    task = make_task(cfg.task)
    policy = load_policy(cfg.model, task, seed=t.seed, log=log)
    model = policy.model.to(device)
    model.eval()
    ref_model = None
    if t.kl_coef > 0:
        ref_model = copy.deepcopy(model).eval().requires_grad_(False)
    optimizer = torch.optim.AdamW(model.parameters(), lr=t.lr, weight_decay=t.weight_decay)
    loss_fn = get_policy_loss(a.loss)
    loss_cfg = cfg.loss_config()
    loss_cfg.generator = torch.Generator().manual_seed(t.seed)
    adv_fn = get_advantage_estimator(a.advantage)
    controller = make_controller(a.controller, **a.controller_args) if a.controller != "none" else None
    use_bf16 = t.precision == "bf16" or (t.precision == "auto" and device.type == "cuda")
    autocast = torch.autocast(device.type, dtype=torch.bfloat16, enabled=use_bf16)

    if controller is not None:  # coefficients for step 0 (a resumed run restores its own below)
        for k, v in controller.initial().items():
            setattr(loss_cfg, k, v)

    start = 0
    law_pts: list[tuple[float, float]] = []  # (entropy, held-out accuracy) at each evaluation
    vocab = model.config.vocab_size
    # per token id over the run: occurrences, Σ Cov_i, Σ entropy (``token_drivers.json``)
    token_stats = torch.zeros(vocab, 3, dtype=torch.float64)
    if resume:
        ckpt = latest_checkpoint(run_dir)
        if ckpt is None:
            raise FileNotFoundError(f"{run_dir} has no complete checkpoint to resume from")
        state = load_checkpoint(ckpt, model, optimizer)
        if controller is not None and state.get("controller") is not None:
            controller.load_state_dict(state["controller"])
        for k, v in state["loss_dynamic"].items():
            setattr(loss_cfg, k, v)
        if state.get("token_stats") is not None:
            token_stats = state["token_stats"]
        start = state["step"] + 1
        (run_dir / "interrupted").unlink(missing_ok=True)  # about the stop this resume continues from
        # drop log lines of steps after the checkpoint (a crashed run may have written some)
        if metrics_path.exists():
            kept = [
                ln for ln in metrics_path.read_text().splitlines() if json.loads(ln)["step"] <= state["step"]
            ]
            metrics_path.write_text("".join(ln + "\n" for ln in kept))
            law_pts = law_points([json.loads(ln) for ln in kept])
        log(f"resuming {run_dir} from step {start}")
    probe = _load_or_make_probe(run_dir, policy, task, cfg, device)
    if resume:
        state["rng"].restore(loss_cfg.generator)
    probe_lp = None  # log-softmax of the probe under the current policy (cached across steps)
    rng_after_step = RNGState.capture(loss_cfg.generator)
    t_start = time.time()

    progress = None
    if not quiet:
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

        progress = Progress(
            TextColumn("[bold]{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("{task.fields[info]}"),
            TimeElapsedColumn(),
        )
        progress.start()
        bar = progress.add_task(f"{a.loss}", total=t.steps, completed=start, info="")

    def checkpoint(step: int, rng: RNGState) -> None:
        save_checkpoint(
            run_dir,
            step,
            model,
            optimizer,
            {
                "controller": controller.state_dict() if controller is not None else None,
                "loss_dynamic": {k: getattr(loss_cfg, k) for k in DYNAMIC_LOSS_FIELDS},
                "rng": rng,
                "token_stats": token_stats,
            },
            keep=t.keep_checkpoints,
        )
        drivers = token_drivers(token_stats, policy.token_label)
        atomic_write_text(run_dir / "token_drivers.json", json.dumps(drivers, indent=1))

    last_saved = start - 1
    in_update = False
    step = start
    try:
        with metrics_path.open("a") as metrics_file:
            for step in range(start, t.steps):
                t0 = time.time()
                # ---------------------------------------------------------- rollout
                problems = task.train_batch(step, r.prompts_per_step, t.seed)
                with autocast:
                    batch = generate(
                        policy, problems, r.group_size, r.temperature, r.top_p, r.max_new_tokens, device
                    )
                mask = batch.response_mask
                t_rollout = time.time() - t0
                n_resp_tokens = int(mask.sum())

                # ---------------------------------------------------------- reward
                verdicts = score_all(task, batch.problems, batch.texts)
                if all(v.reason == "verifier_error" for v in verdicts):
                    # a broken scorer: training on all-zero rewards would only waste the run
                    bad = verdicts[0]
                    raise ScoringFailed(
                        f"step {step}: every answer failed to score (verifier_error); first, for "
                        f"problem {batch.problems[0].prompt[:80]!r}: {bad.detail}"
                    )
                rewards = torch.tensor([v.reward for v in verdicts]).view(r.prompts_per_step, r.group_size)

                # ---------------------------------------------------------- old log-probs, pre-update entropy
                with torch.no_grad(), autocast:
                    old_logp, old_ent = response_log_probs(
                        model, batch, r.temperature, fused=cfg.model.fused_logits
                    )
                    ref_logp = None
                    if ref_model is not None:
                        ref_logp, _ = response_log_probs(
                            ref_model, batch, r.temperature, fused=cfg.model.fused_logits
                        )

                # ---------------------------------------------------------- advantages
                adv = adv_fn(rewards, mask).to(device)
                if a.entropy_shaping_alpha > 0:
                    adv = entropy_shaped_advantage(
                        adv, old_ent, mask, a.entropy_shaping_alpha, a.entropy_shaping_kappa
                    )

                # diagnostics of the batch as sampled (before any update)
                valid = mask.bool()
                cov_tok = token_covariance(old_logp, adv, mask)
                n_valid = valid.sum().clamp(min=1)
                pos, neg = (adv > 0) & valid, (adv < 0) & valid
                zero = valid & ~pos & ~neg  # no policy-gradient signal (e.g. all-equal-reward groups)
                shares = covariance_top_share(cov_tok, mask)
                step_token_stats = sums_by_token(batch.responses, mask, vocab, cov_tok, old_ent).cpu()
                row = {
                    "step": step,
                    "reward": float(rewards.mean()),
                    "accuracy": float((rewards >= 1.0).float().mean()),
                    "entropy": float(per_response_mean(old_ent, mask).mean()),
                    "entropy_token_mean": float(masked_mean(old_ent, mask)),
                    "entropy_pos": float(masked_mean(old_ent, pos)) if pos.any() else None,
                    "entropy_neg": float(masked_mean(old_ent, neg)) if neg.any() else None,
                    "entropy_zero": float(masked_mean(old_ent, zero)) if zero.any() else None,
                    "zero_adv_fraction": float(zero.sum() / n_valid),
                    "sampled_neg_log_prob": float(-masked_mean(old_logp, mask)),
                    "covariance": float(cov_tok.sum() / n_valid),
                    "covariance_pos": float((cov_tok * pos).sum() / n_valid),
                    "covariance_neg": float((cov_tok * neg).sum() / n_valid),
                    "cov_top_share_0.02%": shares[2e-4],
                    "cov_top_share_0.2%": shares[2e-3],
                    "cov_top_share_2%": shares[2e-2],
                    "response_length": float(mask.float().sum(-1).mean()),
                }
                # zero-reward reasons: the usual ones always logged, any other (crash, ...) when it occurs
                reasons = {"no_answer", "rejected_chars", "too_long", "verifier_error", "timeout"}
                reasons |= {v.reason for v in verdicts} - {"ok", "wrong"}
                for reason in sorted(reasons):
                    row[f"verifier_{reason}"] = sum(v.reason == reason for v in verdicts) / len(verdicts)

                # ---------------------------------------------------------- update
                keep = torch.ones(len(verdicts), dtype=torch.bool)
                if a.filter_uniform_groups:
                    uniform = rewards.std(-1) == 0
                    keep = (~uniform).repeat_interleave(r.group_size)
                row["kept_fraction"] = float(keep.float().mean())
                rows_kept = torch.nonzero(keep).squeeze(-1).to(device)
                if probe_lp is None:
                    with torch.no_grad():
                        probe_lp = response_log_softmax(model, probe, r.temperature)
                t1 = time.time()
                in_update = True
                if rows_kept.numel() > 0:
                    with autocast:
                        upd = update_policy(
                            model,
                            optimizer,
                            batch.select(rows_kept),
                            old_logp[rows_kept],
                            None if ref_logp is None else ref_logp[rows_kept],
                            adv[rows_kept],
                            loss_fn,
                            loss_cfg,
                            cfg,
                        )
                else:
                    upd = {}
                t_update = time.time() - t1
                for key in (
                    "loss",
                    "clip_frac",
                    "clip_frac_low",
                    "clip_frac_high",
                    "clip_frac_dual",
                    "selected_frac",
                    "approx_kl",
                    "kl_ref",
                    "grad_norm",
                    "entropy_in_update",
                    "loss_share_pos",
                    "loss_share_neg",
                    "kl_cov_penalty",
                    "entropy_bonus",
                    "candidate_frac",
                ):
                    row[key] = upd.get(key)

                # ---------------------------------------------------------- controller
                if controller is not None:
                    for k, v in controller.update(row["entropy"]).items():
                        setattr(loss_cfg, k, v)
                        row[f"ctrl_{k}"] = v
                for k in DYNAMIC_LOSS_FIELDS:
                    row[k] = getattr(loss_cfg, k)

                # ---------------------------------------------------------- entropy change on the probe
                with torch.no_grad():
                    new_probe_lp = response_log_softmax(model, probe, r.temperature)
                h_before = float(-(probe_lp.exp() * probe_lp).sum(-1).mean())
                h_after = float(-(new_probe_lp.exp() * new_probe_lp).sum(-1).mean())
                row["probe_entropy"] = h_after
                row["entropy_change"] = h_after - h_before
                # first order in the realised logit change: −Cov_{a∼π_old}(log π_old, Δz), token mean
                row["predicted_entropy_change"] = float(
                    first_order_entropy_change(probe_lp.double(), (new_probe_lp - probe_lp).double()).mean()
                )
                probe_lp = new_probe_lp

                # ---------------------------------------------------------- evaluation
                if (step + 1) % t.eval_every == 0 or step == 0 or step == t.steps - 1:
                    with autocast:
                        ev = sample_and_score(
                            policy,
                            task,
                            task.heldout[: t.eval_problems],
                            t.eval_k,
                            r.temperature,
                            r.top_p,
                            r.max_new_tokens,
                            device,
                            fused=cfg.model.fused_logits,
                        )
                    for k, v in summarize(ev, diversity=True).items():
                        row[f"eval_{k}"] = v
                    # the entropy–performance law on the run so far: where accuracy is heading
                    law_pts.append((row["entropy"], row["eval_accuracy"]))
                    row.update(running_law(law_pts))

                elapsed = time.time() - t0
                row.update(
                    rollout_tokens_per_s=n_resp_tokens / max(t_rollout, 1e-9),
                    update_tokens_per_s=(int(mask[rows_kept].sum()) * t.ppo_epochs / max(t_update, 1e-9))
                    if rows_kept.numel()
                    else None,
                    step_time=elapsed,
                    wall_time=time.time() - t_start,
                )
                metrics_file.write(json.dumps({k: _json_safe(v) for k, v in row.items()}) + "\n")
                metrics_file.flush()
                rng_after_step = RNGState.capture(loss_cfg.generator)
                token_stats += step_token_stats  # only completed steps count
                in_update = False  # the weights now match the completed step again
                if (step + 1) % t.checkpoint_every == 0 or step == t.steps - 1:
                    checkpoint(step, rng_after_step)
                    last_saved = step
                if progress is not None:
                    info = f"reward {row['reward']:.3f}  entropy {row['entropy']:.3f}"
                    if row.get("law_ceiling") is not None:
                        info += f"  predicted ceiling {row['law_ceiling']:.3f}"
                    progress.update(bar, advance=1, info=info)
    except BaseException:
        # Keep what was trained: before this step's update the weights are exactly those after
        # the last completed step, so checkpoint it (with that step's RNG state) before re-raising.
        done = step - 1
        if not in_update and done > last_saved and done >= 0:
            checkpoint(done, rng_after_step)
            (run_dir / "interrupted").write_text(
                f"stopped during step {step}; checkpoint of step {done} saved\n"
            )
        raise
    finally:
        if progress is not None:
            progress.stop()
    return run_dir


def running_law(points: list[tuple[float, float]], min_points: int = 3) -> dict[str, float]:
    """``law_a``, ``law_b``, ``law_r2``, ``law_ceiling`` (b − a) of R = −a·exp(H) + b fitted on the
    (entropy, held-out accuracy) points so far; empty below ``min_points`` or without spread."""
    if len(points) < min_points:
        return {}
    h, r = zip(*points, strict=True)
    try:
        law = fit_entropy_law(h, r)
    except ValueError:
        return {}
    return {"law_a": law.a, "law_b": law.b, "law_r2": law.r2, "law_ceiling": law.ceiling}


def read_metrics(run_dir: str | Path) -> list[dict]:
    path = Path(run_dir) / "metrics.jsonl"
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
