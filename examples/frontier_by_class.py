"""The initial policy's temperature frontier split by the teacher's systematic-error class: held-out
accuracy on the problems where the teacher errs (countdown: those that need a subtraction) and on
the others, at each temperature. A design check before any RL run: lowering the temperature must
not fix the error class. Usage: python examples/frontier_by_class.py CONFIG [--problems 128]
"""

from __future__ import annotations

import argparse
import random

import numpy as np
import torch

from entropy_rl.config import load_config
from entropy_rl.models.load import load_policy
from entropy_rl.tasks.factory import make_task
from entropy_rl.train.evaluation import sample_and_score, summarize
from entropy_rl.train.rollout import SamplingParams


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("config")
    ap.add_argument("--problems", type=int, default=128)
    ap.add_argument("--k", type=int, default=8)
    args = ap.parse_args()
    cfg = load_config(args.config, [])
    task = make_task(cfg.task)
    policy = load_policy(cfg.model, task, seed=cfg.trainer.seed)
    problems = task.heldout[: args.problems]
    in_class = np.array([task.systematic_error(p, random.Random(0)) is not None for p in problems])
    print(f"{in_class.sum()} of {len(problems)} held-out problems are in the error class")
    sampling = SamplingParams.from_config(cfg.rollout)
    for t in (0.1, 0.2, 0.35, 0.5, 0.7, 1.0):
        torch.manual_seed(0)
        res = sample_and_score(policy, task, problems, args.k, sampling.at_temperature(t), torch.device("cpu"))
        m = summarize(res, diversity=False)
        solved = res.rewards >= 1
        print(
            f"T={t}: entropy {m['entropy']:.3f} pass@1 {m['accuracy']:.3f} pass@{args.k} {m[f'pass@{args.k}']:.3f} | "
            f"error class pass@1 {solved[in_class].mean():.3f} pass@{args.k} {solved[in_class].any(1).mean():.3f} | "
            f"others pass@1 {solved[~in_class].mean():.3f}"
        )


if __name__ == "__main__":
    main()
