"""The single-machine RLVR trainer: phase helpers in the order a step runs them, then ``train``.

Each step: sample prompts → generate G responses each → rewards from the task's verifier →
old log-probs and pre-update entropy (one no-grad pass) → advantages → diagnostics of the batch →
``ppo_epochs`` × ``mini_batches`` updates with the chosen loss (more than one update per rollout
makes the later ones off-policy, which is what activates clipping and KL-Cov) → controller →
entropy change on a fixed probe batch → held-out evaluation now and then → one row in
``RUN_DIR/metrics.jsonl`` (and the trackers ``trainer.report_to`` names).

Simplifications, on purpose: no value model (outcome rewards and group baselines only), no
gradient accumulation across micro-batches (a mini-batch is one forward/backward), generation
with transformers' ``generate`` (no vLLM), one device.
"""

from __future__ import annotations

import contextlib
import copy
import functools
import random
import sys
import time
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from entropy_rl.config import Config
from entropy_rl.core.advantages import AdvantageFn, entropy_shaped_advantage, get_advantage_estimator
from entropy_rl.core.controllers import Controller, make_controller
from entropy_rl.core.diagnostics import batch_diagnostics, probe_entropy_terms, running_law
from entropy_rl.core.dynamics import sums_by_token, token_drivers
from entropy_rl.core.law import law_points
from entropy_rl.core.losses import LOSS_METRICS, LossConfig, PolicyLossFn, get_policy_loss, masked_mean
from entropy_rl.files import (
    CheckpointError,
    atomic_write_text,
    read_metrics,
    run_lock,
    safe_load,
    save_torch,
    strict_json,
)
from entropy_rl.models.load import load_policy
from entropy_rl.models.policy import Policy
from entropy_rl.scoring.limits import score_all
from entropy_rl.scoring.types import Problem, ScoringFailed, Verdict
from entropy_rl.tasks.base import Task
from entropy_rl.tasks.factory import make_task
from entropy_rl.train.checkpoint import RNGState, latest_checkpoint, load_checkpoint, save_checkpoint
from entropy_rl.train.evaluation import sample_and_score, summarize
from entropy_rl.train.rollout import (
    RolloutBatch,
    SamplingParams,
    generate,
    response_log_probs,
    response_log_softmax,
)
from entropy_rl.train.trackers import MetricsLogger
from entropy_rl.train.update import UPDATE_METRICS, UpdateBatch, update_policy

# zero-reward reasons always logged (any other, e.g. a crash, is logged when it occurs)
VERIFIER_REASONS = {"no_answer", "rejected_chars", "too_long", "verifier_error", "timeout"}


def resolve_device(name: str) -> torch.device:
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name == "cuda" and not torch.cuda.is_available():
        raise ValueError("config field `trainer.device`: 'cuda' requested but no CUDA device is available")
    return torch.device(name)


def per_response_mean(values: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """(batch, L) → (batch,) mean over each response's valid tokens."""
    m = mask.float()
    return (values * m).sum(-1) / m.sum(-1).clamp(min=1)


@dataclass
class Run:
    """What a run holds for its whole length (built once by ``_set_up``)."""

    cfg: Config
    run_dir: Path
    task: Task
    policy: Policy
    device: torch.device
    sampling: SamplingParams
    optimizer: torch.optim.Optimizer
    loss_fn: PolicyLossFn
    loss_cfg: LossConfig
    adv_fn: AdvantageFn
    controller: Controller | None
    autocast: torch.autocast
    ref_model: torch.nn.Module | None = None
    probe: RolloutBatch | None = None

    @property
    def model(self) -> torch.nn.Module:
        return self.policy.model


@dataclass
class RunState:
    """What changes from step to step and is checkpointed or rebuilt on resume."""

    start: int
    token_stats: torch.Tensor  # per token id over the run: occurrences, Σ Cov_i, Σ entropy
    law_points: list[tuple[float, float]] = field(default_factory=list)  # (entropy, held-out acc.)
    probe_lp: torch.Tensor | None = None  # the probe's log-softmax under the current policy
    rng_after_step: RNGState | None = None  # RNG state after the last completed step
    step: int = 0  # the step in progress
    last_saved: int = -1
    in_update: bool = False  # the weights no longer match the last completed step


# ----------------------------------------------------------------------------- set-up


def _check_run_dir(run_dir: Path, resume: bool) -> None:
    if (run_dir / "metrics.jsonl").exists() and not resume:
        raise FileExistsError(
            f"{run_dir} already holds a run: pass --resume to continue it, or another --out"
        )
    if run_dir.exists() and not run_dir.is_dir():
        raise FileExistsError(f"{run_dir} is a file, not a run directory")
    if resume and not run_dir.is_dir():
        raise FileNotFoundError(f"{run_dir} is not a run directory: nothing to resume")


@contextlib.contextmanager
def _locked_run_dir(cfg: Config, run_dir: Path, resume: bool) -> Iterator[None]:
    """The run directory, created once the task and model are built (so that a bad setting leaves
    nothing behind), held by this process alone while it trains (a second writer is refused),
    with the run's config written into it."""
    run_dir.mkdir(parents=True, exist_ok=True)
    with run_lock(run_dir):
        _check_run_dir(run_dir, resume)  # again, under the lock: another writer may have started
        atomic_write_text(run_dir / "config.yaml", cfg.to_yaml())
        yield


def _set_up(cfg: Config, run_dir: Path, log: Callable[..., None]) -> Run:
    t, a = cfg.trainer, cfg.algorithm
    if t.threads:
        torch.set_num_threads(t.threads)
    device = resolve_device(t.device)
    torch.manual_seed(t.seed)
    random.seed(t.seed)
    np.random.seed(t.seed)
    task = make_task(cfg.task)
    policy = load_policy(cfg.model, task, seed=t.seed, log=log)
    model = policy.model.to(device)
    model.eval()
    loss_cfg = cfg.loss_config()
    loss_cfg.generator = torch.Generator().manual_seed(t.seed)
    controller = make_controller(a.controller, **a.controller_args) if a.controller != "none" else None
    if controller is not None:  # coefficients for step 0 (a resumed run restores its own)
        loss_cfg.update(controller.initial())
    use_bf16 = t.precision == "bf16" or (t.precision == "auto" and device.type == "cuda")
    return Run(
        cfg=cfg,
        run_dir=run_dir,
        task=task,
        policy=policy,
        device=device,
        sampling=SamplingParams.from_config(cfg.rollout),
        optimizer=torch.optim.AdamW(model.parameters(), lr=t.lr, weight_decay=t.weight_decay),
        loss_fn=get_policy_loss(a.loss),
        loss_cfg=loss_cfg,
        adv_fn=functools.partial(get_advantage_estimator(a.advantage), **a.advantage_args),
        controller=controller,
        autocast=torch.autocast(device.type, dtype=torch.bfloat16, enabled=use_bf16),
        ref_model=copy.deepcopy(model).eval().requires_grad_(False) if t.kl_coef > 0 else None,
    )


def _resume(run: Run, state: RunState, log: Callable[..., None]) -> dict:
    """Restore the latest checkpoint into ``run`` and ``state``; drop log lines written after it."""
    ckpt = latest_checkpoint(run.run_dir)
    if ckpt is None:
        raise FileNotFoundError(f"{run.run_dir} has no complete checkpoint to resume from")
    saved = load_checkpoint(ckpt, run.model, run.optimizer)
    try:
        if run.controller is not None and saved.get("controller") is not None:
            run.controller.load_state_dict(saved["controller"])
        run.loss_cfg.update(saved["loss_dynamic"])  # checked by load_checkpoint
        if saved.get("token_stats") is not None:
            if saved["token_stats"].shape != state.token_stats.shape:
                raise ValueError(f"token sums of shape {tuple(saved['token_stats'].shape)}")
            state.token_stats = saved["token_stats"]
        state.start = int(saved["step"]) + 1
    except (ValueError, TypeError, AttributeError, KeyError) as e:
        raise CheckpointError(f"{ckpt / 'state.pt'} does not fit this run: {e}") from None
    (run.run_dir / "interrupted").unlink(missing_ok=True)  # about the stop this resume continues from
    warn = lambda msg: print(msg, file=sys.stderr)  # noqa: E731  (also when quiet)
    rows = read_metrics(run.run_dir, log=warn) if (run.run_dir / "metrics.jsonl").exists() else []
    kept = [r for r in rows if r["step"] <= saved["step"]]  # a crashed run may have logged later steps
    atomic_write_text(run.run_dir / "metrics.jsonl", "".join(strict_json(r) + "\n" for r in kept))
    state.law_points = law_points(kept)
    log(f"resuming {run.run_dir} from step {state.start}")
    return saved


def _load_or_make_probe(run: Run) -> RolloutBatch:
    """A fixed batch of held-out prompts with responses sampled once from the initial policy,
    saved as plain tensors and strings (``probe.pt``, read without running code)."""
    path = run.run_dir / "probe.pt"
    if path.exists():
        saved = safe_load(path)
        try:
            problems = [Problem(p, a) for p, a in zip(saved["prompts"], saved["answers"], strict=True)]
            probe = RolloutBatch(
                saved["input_ids"], saved["attention_mask"], saved["response_mask"], int(saved["prompt_len"]),
                list(saved["texts"]), problems,
            )  # fmt: skip
        except (KeyError, TypeError, ValueError) as e:
            raise CheckpointError(f"{path} is not an entropy-rl probe batch ({e})") from None
        return probe.to(run.device)
    problems = run.task.heldout[: run.cfg.trainer.probe_size]
    probe = generate(run.policy, problems, 1, run.sampling, run.device)
    saved = {
        "input_ids": probe.input_ids.cpu(),
        "attention_mask": probe.attention_mask.cpu(),
        "response_mask": probe.response_mask.cpu(),
        "prompt_len": probe.prompt_len,
        "texts": probe.texts,
        "prompts": [p.prompt for p in probe.problems],
        "answers": [p.answer for p in probe.problems],
    }
    save_torch(saved, path)
    return probe


# ----------------------------------------------------------------------------- one step, in order


@dataclass
class Sampled:
    """One step's rollout as scored and measured before any update; per-token tensors (rows, L)."""

    batch: RolloutBatch
    verdicts: list[Verdict]
    rewards: torch.Tensor  # (prompts, group)
    old_log_prob: torch.Tensor
    old_entropy: torch.Tensor
    ref_log_prob: torch.Tensor | None
    advantages: torch.Tensor
    rollout_time: float


def _rollout(run: Run, step: int) -> RolloutBatch:
    r = run.cfg.rollout
    problems = run.task.train_batch(step, r.prompts_per_step, run.cfg.trainer.seed)
    with run.autocast:
        return generate(run.policy, problems, r.group_size, run.sampling, run.device)


def _score(run: Run, batch: RolloutBatch, step: int) -> tuple[list[Verdict], torch.Tensor]:
    """Verdicts and the (prompts, group) rewards. A batch whose every answer failed to score
    (the scorer raised or ran out of time) stops the run: training on all-zero rewards would only
    waste it. A batch where most answers time out is warned about."""
    verdicts = score_all(run.task, batch.problems, batch.texts)
    failed = sorted({v.reason for v in verdicts if v.reason in ("verifier_error", "timeout")})
    limit = f"task.score_timeout_s = {run.cfg.task.score_timeout_s:g} s"
    if len(failed) and all(v.reason in failed for v in verdicts):
        first = next((v for v in verdicts if v.reason == "verifier_error"), verdicts[0])
        detail = first.detail if first.reason == "verifier_error" else f"no verdict within {limit}"
        raise ScoringFailed(
            f"step {step}: every answer failed to score ({', '.join(failed)}); first, for "
            f"problem {batch.problems[0].prompt[:80]!r}: {detail}"
        )
    timeouts = sum(v.reason == "timeout" for v in verdicts)
    if timeouts > len(verdicts) / 2:
        warnings.warn(f"most answers of a step timed out ({limit}): the scorer may be too slow", stacklevel=2)
    r = run.cfg.rollout
    return verdicts, torch.tensor([v.reward for v in verdicts]).view(r.prompts_per_step, r.group_size)


@torch.no_grad()
def _old_log_probs(run: Run, batch: RolloutBatch) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor | None]:
    """log π_old, the pre-update entropy and the reference's log-probs of the sampled tokens."""
    temperature, fused = run.sampling.temperature, run.cfg.model.fused_logits
    with run.autocast:
        old_logp, old_ent = response_log_probs(run.model, batch, temperature, fused=fused)
        ref_logp = None
        if run.ref_model is not None:
            ref_logp, _ = response_log_probs(run.ref_model, batch, temperature, fused=fused)
    return old_logp, old_ent, ref_logp


def _advantages(run: Run, rewards: torch.Tensor, mask: torch.Tensor, old_ent: torch.Tensor) -> torch.Tensor:
    a = run.cfg.algorithm
    adv = run.adv_fn(rewards, mask).to(run.device)
    if a.entropy_shaping_alpha > 0:
        adv = entropy_shaped_advantage(adv, old_ent, mask, a.entropy_shaping_alpha, a.entropy_shaping_kappa)
    return adv


def _sample(run: Run, step: int) -> Sampled:
    """Rollout → rewards → old log-probs and entropy → advantages."""
    t0 = time.time()
    batch = _rollout(run, step)
    rollout_time = time.time() - t0
    verdicts, rewards = _score(run, batch, step)
    old_logp, old_ent, ref_logp = _old_log_probs(run, batch)
    adv = _advantages(run, rewards, batch.response_mask, old_ent)
    return Sampled(batch, verdicts, rewards, old_logp, old_ent, ref_logp, adv, rollout_time)


def _batch_row(run: Run, step: int, s: Sampled, kept: torch.Tensor) -> tuple[dict, torch.Tensor]:
    """The step's row as sampled (before any update), and its per-token sums for the drivers.

    Entropy, its per-sign parts and ``zero_adv_fraction`` are over every sampled token;
    the covariance, its concentration and the token sums over the tokens the loss sees (the
    ``kept`` rows), with the whole batch's covariance as ``covariance_all_tokens``."""
    mask = s.batch.response_mask
    every = batch_diagnostics(s.old_log_prob, s.advantages, s.old_entropy, mask).metrics
    row = {
        "step": step,
        "reward": float(s.rewards.mean()),
        "accuracy": float((s.rewards >= 1.0).float().mean()),
        "entropy": float(per_response_mean(s.old_entropy, mask).mean()),
        "entropy_token_mean": float(masked_mean(s.old_entropy, mask)),
        **{k: every[k] for k in ("entropy_pos", "entropy_neg", "entropy_zero", "zero_adv_fraction")},
        "sampled_neg_log_prob": float(-masked_mean(s.old_log_prob, mask)),
    }
    vocab = run.model.config.vocab_size
    step_tokens = torch.zeros(vocab, 3, dtype=torch.float64)
    cov_keys = [k for k in every if k.startswith("cov")]
    if kept.numel():
        k_mask = mask[kept]
        diag = batch_diagnostics(s.old_log_prob[kept], s.advantages[kept], s.old_entropy[kept], k_mask)
        row.update({k: diag.metrics[k] for k in cov_keys})
        responses = s.batch.responses[kept]
        step_tokens = sums_by_token(
            responses, k_mask, vocab, diag.token_covariance, s.old_entropy[kept]
        ).cpu()
    else:
        row.update(dict.fromkeys(cov_keys))
    row["covariance_all_tokens"] = every["covariance"]
    row["response_length"] = float(mask.float().sum(-1).mean())
    for reason in sorted(VERIFIER_REASONS | ({v.reason for v in s.verdicts} - {"ok", "wrong"})):
        row[f"verifier_{reason}"] = sum(v.reason == reason for v in s.verdicts) / len(s.verdicts)
    return row, step_tokens


def _kept_rows(run: Run, rewards: torch.Tensor) -> tuple[torch.Tensor, float]:
    """Row indices the update trains on (all, or those of groups whose rewards differ), and
    their share."""
    keep = torch.ones(rewards.numel(), dtype=torch.bool)
    if run.cfg.algorithm.filter_uniform_groups:
        keep = (~(rewards.std(-1) == 0)).repeat_interleave(run.cfg.rollout.group_size)
    return torch.nonzero(keep).squeeze(-1).to(run.device), float(keep.float().mean())


def _update(run: Run, state: RunState, s: Sampled, kept: torch.Tensor) -> dict[str, float]:
    """The policy update on the kept rows (marks the weights as mid-update until the step ends)."""
    if state.probe_lp is None:  # the probe's log-softmax before the first update of this process
        with torch.no_grad():
            state.probe_lp = response_log_softmax(run.model, run.probe, run.sampling.temperature)
    state.in_update = True
    if kept.numel() == 0:
        return {}
    ref = None if s.ref_log_prob is None else s.ref_log_prob[kept]
    data = UpdateBatch(s.batch.select(kept), s.old_log_prob[kept], s.advantages[kept], ref)
    with run.autocast:
        return update_policy(run.model, run.optimizer, data, run.loss_fn, run.loss_cfg, run.cfg)


def _throughput(run: Run, s: Sampled, kept: torch.Tensor, t_update: float) -> dict[str, float | None]:
    """Sampled tokens per second of the rollout; response tokens per second of the update and
    its arithmetic rate, 6 × parameters × (prompt + response tokens) per pass, the usual
    estimate of a transformer's forward + backward matmul work (attention scores left out)."""
    out: dict[str, float | None] = {
        "rollout_tokens_per_s": int(s.batch.response_mask.sum()) / max(s.rollout_time, 1e-9),
        "update_tokens_per_s": None,
        "update_gflop_per_s": None,
    }
    if kept.numel():
        epochs = run.cfg.trainer.ppo_epochs
        params = sum(p.numel() for p in run.model.parameters())
        tokens = int(s.batch.attention_mask[kept].sum()) * epochs
        out["update_tokens_per_s"] = int(s.batch.response_mask[kept].sum()) * epochs / max(t_update, 1e-9)
        out["update_gflop_per_s"] = 6 * params * tokens / max(t_update, 1e-9) / 1e9
    return out


def _step_controller(run: Run, row: dict) -> None:
    if run.controller is not None:
        values = run.controller.update(row["entropy"])
        run.loss_cfg.update(values)
        row.update({f"ctrl_{k}": v for k, v in values.items()})
        row.update(run.controller.logged())
        message = run.controller.warning()
        if message:  # a remedy that cannot reach its target says so (also when quiet)
            print(f"step {row['step']}: {message}", file=sys.stderr)
    row.update(run.loss_cfg.dynamic_state())


def _probe_change(run: Run, state: RunState) -> dict[str, float]:
    """The probe's entropy after the update, its change, and the change predicted to first order
    in the realised logit change (token means)."""
    with torch.no_grad():
        new_lp = response_log_softmax(run.model, run.probe, run.sampling.temperature)
    h_old, h_new, predicted = probe_entropy_terms(state.probe_lp, new_lp)
    state.probe_lp = new_lp
    h_before, h_after = float(h_old.mean()), float(h_new.mean())
    return {
        "probe_entropy": h_after,
        "entropy_change": h_after - h_before,
        "predicted_entropy_change": float(predicted.mean()),
    }


def _evaluate(run: Run, state: RunState, row: dict) -> None:
    """Held-out pass@k, diversity and calibration, and the law fitted on the run so far."""
    t = run.cfg.trainer
    with run.autocast:
        ev = sample_and_score(
            run.policy,
            run.task,
            run.task.heldout[: t.eval_problems],
            t.eval_k,
            run.sampling,
            run.device,
            fused=run.cfg.model.fused_logits,
        )
    row.update({f"eval_{k}": v for k, v in summarize(ev, diversity=True).items()})
    state.law_points.append((row["entropy"], row["eval_accuracy"]))
    row.update(running_law(state.law_points))


def _initial_evaluation(run: Run) -> None:
    """The initial policy's held-out metrics, before any update (``RUN_DIR/initial_eval.json``).
    Sampled under its own seed (``trainer.seed``) in a forked RNG, so it leaves the run's
    trajectory unchanged and every method of a seed gets the same figures."""
    path = run.run_dir / "initial_eval.json"
    if path.exists():
        return
    t = run.cfg.trainer
    devices = [run.device] if run.device.type == "cuda" else []
    with torch.random.fork_rng(devices=devices), run.autocast:
        torch.manual_seed(t.seed)
        ev = sample_and_score(
            run.policy, run.task, run.task.heldout[: t.eval_problems], t.eval_k, run.sampling, run.device,
            fused=run.cfg.model.fused_logits,
        )  # fmt: skip
    atomic_write_text(path, strict_json({"step": "initial", **summarize(ev, diversity=True)}, indent=1))


def _checkpoint(run: Run, state: RunState, step: int) -> None:
    """The weights, optimizer, controller, RNG and token sums after ``step``, and the drivers."""
    extra = {
        "controller": run.controller.state_dict() if run.controller is not None else None,
        "loss_dynamic": run.loss_cfg.dynamic_state(),
        "rng": state.rng_after_step,
        "token_stats": state.token_stats,
    }
    save_checkpoint(run.run_dir, step, run.model, run.optimizer, extra, keep=run.cfg.trainer.keep_checkpoints)
    drivers = token_drivers(state.token_stats, run.policy.token_label)
    atomic_write_text(run.run_dir / "token_drivers.json", strict_json(drivers, indent=1))
    state.last_saved = step


@contextlib.contextmanager
def _checkpoint_if_interrupted(run: Run, state: RunState) -> Iterator[None]:
    """Keep what was trained: outside an update the weights are exactly those after the last
    completed step, so an exception or Ctrl-C checkpoints that step (with its RNG state)."""
    try:
        yield
    except BaseException:
        done = state.step - 1
        if not state.in_update and done > state.last_saved and done >= 0:
            _checkpoint(run, state, done)
            atomic_write_text(
                run.run_dir / "interrupted", f"stopped during step {state.step}; checkpoint of step {done} saved\n"
            )
        raise


@contextlib.contextmanager
def _progress(name: str, total: int, done: int, quiet: bool) -> Iterator[Callable[[dict], None]]:
    """A rich progress bar (none when quiet); yields ``advance(row)``."""
    if quiet:
        yield lambda row: None
        return
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    columns = (TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn())
    with Progress(*columns, TextColumn("{task.fields[info]}"), TimeElapsedColumn()) as progress:
        bar = progress.add_task(name, total=total, completed=done, info="")

        def advance(row: dict) -> None:
            info = f"reward {row['reward']:.3f}  entropy {row['entropy']:.3f}"
            if row.get("law_ceiling") is not None:
                info += f"  predicted ceiling {row['law_ceiling']:.3f}"
            progress.update(bar, advance=1, info=info)

        yield advance


# ----------------------------------------------------------------------------- the loop


def train(cfg: Config, run_dir: str | Path, resume: bool = False, quiet: bool = False) -> Path:
    """Run (or resume) training; returns the run directory. See the module docstring."""
    run_dir = Path(run_dir)
    log = (lambda *a: None) if quiet else print
    if quiet:
        from transformers.utils import logging as hf_logging

        hf_logging.disable_progress_bar()
    _check_run_dir(run_dir, resume)
    run = _set_up(cfg, run_dir, log)
    with _locked_run_dir(cfg, run_dir, resume):
        return _train(run, resume, quiet, log)


def _train(run: Run, resume: bool, quiet: bool, log: Callable[..., None]) -> Path:
    """``train`` once the run directory is built and locked."""
    cfg, run_dir, t = run.cfg, run.run_dir, run.cfg.trainer
    state = RunState(start=0, token_stats=torch.zeros(run.model.config.vocab_size, 3, dtype=torch.float64))
    saved = _resume(run, state, log) if resume else None
    run.probe = _load_or_make_probe(run)
    if saved is None:  # a resumed run's weights are no longer the initial policy
        _initial_evaluation(run)
    if saved is not None:
        saved["rng"].restore(run.loss_cfg.generator)
    state.rng_after_step = RNGState.capture(run.loss_cfg.generator)
    state.last_saved, state.step = state.start - 1, state.start
    t_start = time.time()
    with (
        _progress(cfg.algorithm.loss, t.steps, state.start, quiet) as advance,
        MetricsLogger(run_dir, cfg, state.start) as metrics,
        _checkpoint_if_interrupted(run, state),
    ):
        for step in range(state.start, t.steps):
            state.step, t0 = step, time.time()
            s = _sample(run, step)
            kept, kept_fraction = _kept_rows(run, s.rewards)
            row, step_tokens = _batch_row(run, step, s, kept)
            row["kept_fraction"] = kept_fraction
            t1 = time.time()
            upd = _update(run, state, s, kept)
            t_update = time.time() - t1
            # every loss column, None where this loss (or a step without update) has none; the
            # covariance of the batch as sampled stays, not the update's mini-batch mean
            row.update({k: upd.get(k) for k in (*LOSS_METRICS, *UPDATE_METRICS) if k not in row})
            _step_controller(run, row)
            row.update(_probe_change(run, state))
            if (step + 1) % t.eval_every == 0 or step == 0 or step == t.steps - 1:
                _evaluate(run, state, row)
            row.update(_throughput(run, s, kept, t_update))
            row.update(step_time=time.time() - t0, wall_time=time.time() - t_start)
            metrics.log(row)
            state.rng_after_step = RNGState.capture(run.loss_cfg.generator)
            state.token_stats += step_tokens  # only completed steps count
            state.in_update = False  # the weights match the completed step again
            if (step + 1) % t.checkpoint_every == 0 or step == t.steps - 1:
                _checkpoint(run, state, step)
            advance(row)
    return run_dir
