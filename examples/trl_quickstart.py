"""An entropy-rl experiment (the quickstart by default) trained by TRL's ``GRPOTrainer`` through
entropy-rl's plug-in.

Loads the config's model (the tiny model, built or taken from the cache, or SmolLM2 with its chat
template: ``--config configs/smollm2-cpu.yaml``), then trains one copy per
method with ``EntropyGRPOTrainer``, each method's loss and knobs taken from the config's
``methods:`` section. The batch is the config's (``grpo_args_from_config``): ``prompts_per_step`` × ``group_size``
completions per generation batch, ``mini_batches`` updates per pass over it, ``ppo_epochs``
passes (TRL's ``num_iterations``), and the config's lr and temperature.
Each run lands in ``OUT/<method>/``, TRL's output directory, with ``results.json``. The script prints the pre-update
entropy at the start and the end, and the held-out accuracy before and after, computed by
entropy-rl's evaluation on the quickstart's 64 held-out problems × 4 samples. Then
``entropy-rl report OUT/* --out OUT/report`` and ``entropy-rl fit OUT/grpo`` read the runs.

Usage: python examples/trl_quickstart.py [--config configs/quickstart.yaml] [--methods grpo,clip_cov,kl_cov]
       [--steps N (default: the config's)] [--out runs/trl-quickstart] [--set key=value ...]
"""

from __future__ import annotations

import argparse
import copy
import json
import time
from pathlib import Path

import torch
from transformers import PrinterCallback

from entropy_rl.config import load_config
from entropy_rl.integrations.trl import EntropyGRPOTrainer, grpo_args_from_config, trl_dataset_and_reward
from entropy_rl.models.load import load_policy
from entropy_rl.tasks.factory import make_task
from entropy_rl.train.evaluation import sample_and_score, summarize
from entropy_rl.train.rollout import SamplingParams

ROOT = Path(__file__).resolve().parent.parent


def heldout_accuracy(policy, task, cfg) -> dict[str, float]:
    t, r = cfg.trainer, cfg.rollout
    problems = task.heldout[: t.eval_problems]
    with torch.random.fork_rng():
        torch.manual_seed(0)
        ev = sample_and_score(policy, task, problems, t.eval_k, SamplingParams.from_config(r), "cpu")
    s = summarize(ev, diversity=False)
    return {"accuracy": s["accuracy"], "entropy": s["entropy"]}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--config", default=str(ROOT / "configs" / "quickstart.yaml"))
    ap.add_argument("--methods", default="grpo,clip_cov,kl_cov")
    ap.add_argument("--steps", type=int, default=0, help="generation batches (RL steps); 0 = the config's")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", default="runs/trl-quickstart")
    ap.add_argument("--set", action="append", default=[], help="key.path=value, as `entropy-rl train --set`")
    ap.add_argument("--threads", type=int, default=0, help="torch threads; 0 = trainer.threads, else 1")
    args = ap.parse_args()
    cfg = load_config(args.config, args.set)
    torch.set_num_threads(args.threads or cfg.trainer.threads or 1)
    task = make_task(cfg.task)
    base = load_policy(cfg.model, task, seed=args.seed)
    dataset, reward, tokenizer = trl_dataset_and_reward(base, task)
    t = cfg.trainer
    results = {"initial": heldout_accuracy(base, task, cfg)}
    print("initial policy, held-out:", results["initial"])
    steps = args.steps or t.steps
    for method in args.methods.split(","):
        mcfg = cfg.for_method(method)
        if mcfg.algorithm.controller != "none":
            raise SystemExit(f"method {method!r}: its controller is not wired into this example")
        policy = copy.deepcopy(base)
        out = Path(args.out) / method
        grpo = grpo_args_from_config(cfg, out, steps, seed=args.seed)
        trainer = EntropyGRPOTrainer(
            model=policy.model,
            reward_funcs=reward,
            args=grpo,
            train_dataset=dataset,
            processing_class=tokenizer,
            policy_loss=mcfg.algorithm.loss,
            loss_config=mcfg.loss_config(),
            probe_size=16,
        )
        trainer.remove_callback(PrinterCallback)  # the logs go to OUT/<method>/trainer_state.json
        t0 = time.perf_counter()
        trainer.train()
        trainer.save_state()
        rows = [row for row in trainer.state.log_history if "entropy" in row]
        results[method] = {
            "entropy_start": rows[0]["entropy"],
            "entropy_final": sum(row["entropy"] for row in rows[-5:]) / len(rows[-5:]),
            "reward_final": sum(row.get("reward", 0.0) for row in rows[-5:]) / len(rows[-5:]),
            "heldout": heldout_accuracy(policy, task, cfg),
            "wall_s": time.perf_counter() - t0,
        }
        print(method, json.dumps(results[method]))
        (out / "results.json").write_text(
            json.dumps(results[method] | {"initial": results["initial"]}, indent=1)
        )


if __name__ == "__main__":
    main()
