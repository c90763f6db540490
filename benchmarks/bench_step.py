"""Benchmark: one RL step through entropy-rl's trainer and through TRL's ``GRPOTrainer`` with the
plug-in, on identical work, with each phase's share.

Identical work: the same model weights and config (``grpo_args_from_config`` maps it to TRL):
``prompts_per_step`` × ``group_size`` sampled completions of at most ``max_new_tokens`` at the
same temperature over the full vocabulary, the same loss (``grpo`` method's, the plug-in's
``ppo`` by default), ``mini_batches`` × ``ppo_epochs`` optimizer steps per rollout, fp32, no
gradient checkpointing, the same probe size, every group in the update (entropy-rl's
``filter_uniform_groups`` is turned off: TRL keeps groups whose rewards are all equal). The samples themselves differ (each engine draws its
own), so tokens per step are printed beside the times. Evaluation and checkpoints are off in both.

Phases, timed by wrapping each engine's own functions:
- generation: sampling the completions (entropy-rl ``_rollout``; TRL ``_generate``);
- scoring: the task's verifier (``_score``; ``_calculate_rewards``);
- log-probs: the pre-update log-probs (``_old_log_probs``, with the entropy; TRL's
  ``_get_per_token_logps_and_entropies`` called while preparing the batch);
- diagnostics: covariance, per-token sums, the probe's entropy change, the controller
  (``_batch_row``, ``_probe_change``, ``_step_controller``; the plug-in's ``_log_diagnostics``,
  ``_ensure_probe``, ``_measure_probe``, ``_step_controller``);
- update: forward, loss, backward and optimizer steps (``_update``; the rest of TRL's optimizer
  steps);
- other: the rest of the step (advantages, logging, the loop itself).
Medians are taken per phase, so the phases need not add up to the step's median exactly.
An RL step's time is the median over ``--steps`` steps after a first, discarded one. Engines run
one after the other in one process (entropy-rl first).

Usage: python benchmarks/bench_step.py [--models tiny,smollm2] [--steps 4] [--threads 2]
       [--tiny-config configs/quickstart.yaml] [--smollm2-config configs/smollm2-cpu.yaml]
       [--set key=value ...] [--json PATH]
"""

from __future__ import annotations

import argparse
import contextlib
import copy
import functools
import statistics
import tempfile
import time
from collections import defaultdict
from pathlib import Path

import torch
from _record import write_record  # benchmarks/_record.py (scripts run from their folder)

from entropy_rl.config import load_config
from entropy_rl.models.load import load_policy
from entropy_rl.tasks.factory import make_task

ROOT = Path(__file__).resolve().parent.parent
PHASES = ("generation", "scoring", "log-probs", "diagnostics", "update", "other")


class PhaseClock:
    """Seconds per phase for each RL step; nested timed calls count once, in the outer phase."""

    def __init__(self):
        self.steps: list[dict[str, float]] = []
        self.tokens: list[int] = []
        self._depth = 0

    def new_step(self) -> None:
        self.steps.append(defaultdict(float))

    def wrap(self, fn, phase: str):
        @functools.wraps(fn)
        def timed(*args, **kwargs):
            if self._depth or not self.steps:
                return fn(*args, **kwargs)
            self._depth += 1
            t0 = time.perf_counter()
            try:
                return fn(*args, **kwargs)
            finally:
                self.steps[-1][phase] += time.perf_counter() - t0
                self._depth -= 1

        return timed


@contextlib.contextmanager
def patched(obj, name: str, value):
    old = getattr(obj, name)
    setattr(obj, name, value)
    try:
        yield
    finally:
        setattr(obj, name, old)


def run_entropy_rl(cfg, steps: int) -> PhaseClock:
    """``steps`` RL steps of entropy-rl's trainer with each phase timed."""
    from entropy_rl.train import trainer as tr

    clock = PhaseClock()
    starts: list[float] = []

    def rollout(run, step):
        starts.append(time.perf_counter())
        clock.new_step()
        batch = clock.wrap(original["_rollout"], "generation")(run, step)
        clock.tokens.append(int(batch.response_mask.sum()))
        return batch

    phases = {
        "_score": "scoring",
        "_old_log_probs": "log-probs",
        "_batch_row": "diagnostics",
        "_probe_change": "diagnostics",
        "_step_controller": "diagnostics",
        "_update": "update",
    }
    original = {name: getattr(tr, name) for name in [*phases, "_rollout"]}
    with contextlib.ExitStack() as stack:
        for name, phase in phases.items():
            stack.enter_context(patched(tr, name, clock.wrap(original[name], phase)))
        stack.enter_context(patched(tr, "_rollout", rollout))
        for off in ("_evaluate", "_initial_evaluation", "_checkpoint"):
            stack.enter_context(patched(tr, off, lambda *a, **k: None))
        with tempfile.TemporaryDirectory() as out:
            tr.train(
                cfg.model_copy(update={"trainer": cfg.trainer.model_copy(update={"steps": steps})}),
                out,
                quiet=True,
            )
            starts.append(time.perf_counter())
    _close_steps(clock, starts)
    return clock


def run_trl(cfg, steps: int) -> PhaseClock:
    """``steps`` RL steps (generation batches) of TRL's GRPOTrainer with the plug-in."""
    from transformers import PrinterCallback, TrainerCallback

    from entropy_rl.integrations.trl import EntropyGRPOTrainer, grpo_args_from_config, trl_dataset_and_reward

    t = cfg.trainer
    per_rollout = t.mini_batches * t.ppo_epochs
    task = make_task(cfg.task)
    torch.manual_seed(t.seed)
    policy = load_policy(cfg.model, task, seed=t.seed, log=lambda *a: None)
    dataset, reward, tokenizer = trl_dataset_and_reward(policy, task)
    clock = PhaseClock()
    starts: list[float] = []

    class StepClock(TrainerCallback):
        def on_step_begin(self, args, state, control, **kwargs):
            if state.global_step % per_rollout == 0:  # this optimizer step generates
                starts.append(time.perf_counter())
                clock.new_step()

    with tempfile.TemporaryDirectory() as out:
        trainer = EntropyGRPOTrainer(
            model=copy.deepcopy(policy.model),
            reward_funcs=reward,
            args=grpo_args_from_config(cfg, out, steps, seed=t.seed),
            train_dataset=dataset,
            processing_class=tokenizer,
            policy_loss=cfg.algorithm.loss,
            loss_config=cfg.loss_config(),
            probe_size=t.probe_size,
            probe_max_tokens=cfg.rollout.max_new_tokens,
        )
        trainer.remove_callback(PrinterCallback)
        trainer.add_callback(StepClock())
        prepare = trainer._generate_and_score_completions

        def prepare_batch(*args, **kwargs):
            t0 = time.perf_counter()
            with patched(trainer, "_get_per_token_logps_and_entropies", logps):
                output = prepare(*args, **kwargs)
            clock.steps[-1]["prepare"] += time.perf_counter() - t0
            clock.tokens.append(int(output["completion_mask"].sum()))
            return output

        logps = clock.wrap(trainer._get_per_token_logps_and_entropies, "log-probs")
        trainer._generate = clock.wrap(trainer._generate, "generation")
        trainer._calculate_rewards = clock.wrap(trainer._calculate_rewards, "scoring")
        for name in ("_log_diagnostics", "_ensure_probe", "_measure_probe", "_step_controller"):
            setattr(trainer, name, clock.wrap(getattr(trainer, name), "diagnostics"))
        trainer._generate_and_score_completions = prepare_batch
        trainer.train()
        starts.append(time.perf_counter())
    _close_steps(clock, starts)
    return clock


def _close_steps(clock: PhaseClock, starts: list[float]) -> None:
    """Each step's total, from its start to the next step's start."""
    for i, step in enumerate(clock.steps):
        step["total"] = starts[i + 1] - starts[i]


def _finish_ours(clock: PhaseClock) -> None:
    for step in clock.steps:
        step["other"] = step["total"] - sum(step[p] for p in PHASES if p != "other")


def _finish_trl(clock: PhaseClock) -> None:
    """TRL's loss forward, backward and optimizer steps run inside HF Trainer's loop, not in one
    function: the update is the step's time outside preparing the batch and the diagnostics;
    'other' is what preparing the batch took besides generation, scoring and log-probs
    (advantages, gathering, TRL's own logging)."""
    for step in clock.steps:
        timed = step["generation"] + step["scoring"] + step["log-probs"]
        step["other"] = step["prepare"] - timed
        step["update"] = step["total"] - step["prepare"] - step["diagnostics"]


def summarize(clock: PhaseClock) -> dict:
    kept = clock.steps[1:] or clock.steps  # the first step warms up
    total = statistics.median(s["total"] for s in kept)
    phases = {p: statistics.median(s[p] for s in kept) for p in PHASES}
    tokens = statistics.median(clock.tokens[1:] or clock.tokens)
    return {"step_s": total, "phase_s": phases, "tokens": tokens, "steps_timed": len(kept)}


def bench_model(name: str, config: str, sets: list[str], steps: int) -> dict:
    # TRL trains on every group; entropy-rl drops those with equal rewards unless told not to
    cfg = load_config(config, ["algorithm.filter_uniform_groups=false", *sets]).for_method("grpo")
    ours_clock = run_entropy_rl(cfg, steps + 1)
    _finish_ours(ours_clock)
    ours = summarize(ours_clock)
    trl_clock = run_trl(cfg, steps + 1)
    _finish_trl(trl_clock)
    theirs = summarize(trl_clock)
    r, t = cfg.rollout, cfg.trainer
    print(
        f"\n{name} ({config}): {r.prompts_per_step} prompts × {r.group_size} samples ≤ {r.max_new_tokens} tokens, "
        f"{t.mini_batches * t.ppo_epochs} optimizer steps per RL step, loss {cfg.algorithm.loss}; "
        f"median of {ours['steps_timed']} steps"
    )
    print(
        f"{'phase':12s} {'entropy-rl s':>13s} {'share':>6s} {'TRL+plug-in s':>14s} {'share':>6s} {'ratio TRL/ours':>15s}"
    )
    for p in PHASES:
        a, b = ours["phase_s"][p], theirs["phase_s"][p]
        ratio = f"{b / a:.2f}" if a > 1e-4 else "-"
        print(
            f"{p:12s} {a:13.3f} {a / ours['step_s']:6.1%} {b:14.3f} {b / theirs['step_s']:6.1%} {ratio:>15s}"
        )
    print(
        f"{'step':12s} {ours['step_s']:13.3f} {'':6s} {theirs['step_s']:14.3f} {'':6s} {theirs['step_s'] / ours['step_s']:15.2f}"
    )
    print(f"completion tokens per step: entropy-rl {ours['tokens']:.0f}, TRL {theirs['tokens']:.0f}")
    return {
        "config": config,
        "entropy_rl": ours,
        "trl": theirs,
        "step_ratio_trl_over_ours": theirs["step_s"] / ours["step_s"],
    }


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--models", default="tiny,smollm2")
    ap.add_argument("--steps", type=int, default=4, help="timed RL steps per engine (after one warm-up step)")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--tiny-config", default=str(ROOT / "configs" / "quickstart.yaml"))
    ap.add_argument("--smollm2-config", default=str(ROOT / "configs" / "smollm2-cpu.yaml"))
    ap.add_argument("--set", action="append", default=[], help="key.path=value, for every model")
    ap.add_argument("--json", default="", help="Also write the results and their provenance here.")
    args = ap.parse_args()
    # the repository's model cache, not one under benchmarks/ (the script runs from there)
    sets = [f"model.cache_dir={ROOT / '.cache' / 'entropy-rl'}", *args.set, f"trainer.threads={args.threads}"]
    configs = {"tiny": args.tiny_config, "smollm2": args.smollm2_config}
    record = {}
    for name in args.models.split(","):
        if name not in configs:
            raise SystemExit(f"--models: {name!r} is neither tiny nor smollm2")
        record[name] = bench_model(name, configs[name], sets, args.steps)
    write_record(args.json, record)


if __name__ == "__main__":
    main()
