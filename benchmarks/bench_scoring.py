"""Benchmark: countdown scoring of a sharpening policy's answers.

Emulates the answer stream of a GRPO run: each step draws ``prompts`` problems and ``group``
answers each from the problem's expressions over its numbers (correct and wrong, from
``tasks.countdown_expressions``). The sampling weights sharpen over the steps (Zipf exponent
0 → ``final_sharpness``), as a collapsing policy's do. It scores the same stream three times:
every answer through reasoning-gym's sympy scorer (the baseline), every answer through our
sympy-free scorer (``tasks.countdown_reward``), and with both that scorer and the verdict memo.
Prints the times and their ratios to the baseline; all three must give the same rewards.

Usage: python benchmarks/bench_scoring.py [--steps 60] [--prompts 16] [--group 8]
"""

from __future__ import annotations

import argparse
import random
import time
from pathlib import Path

from _record import write_record  # benchmarks/_record.py (scripts run from their folder)

from entropy_rl.config import load_config
from entropy_rl.tasks.factory import make_task
from entropy_rl.tasks.reasoning_gym import ReasoningGymTask


def _stream(task, steps: int, prompts: int, group: int, final_sharpness: float, seed: int):
    rng = random.Random(seed)
    out = []
    for step in range(steps):
        sharp = final_sharpness * step / max(1, steps - 1)
        for problem in task.train_batch(step, prompts, seed):
            correct, wrong = task._expressions(problem)
            answers = list(correct) + list(wrong)
            # a fixed, per-problem preference order; sharper weights concentrate on its head
            order = random.Random(problem.prompt).sample(answers, len(answers))
            weights = [1.0 / (rank + 1) ** sharp for rank in range(len(order))]
            out += [(problem, a) for a in rng.choices(order, weights, k=group)]
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--steps", type=int, default=60)
    ap.add_argument("--prompts", type=int, default=16)
    ap.add_argument("--group", type=int, default=8)
    ap.add_argument("--final-sharpness", type=float, default=3.0)
    ap.add_argument("--json", default="", help="Also write the results and their provenance here.")
    args = ap.parse_args()
    # the quickstart's task, countdown (configs/quickstart.yaml)
    task = make_task(load_config(Path(__file__).resolve().parent.parent / "configs" / "quickstart.yaml").task)
    stream = _stream(task, args.steps, args.prompts, args.group, args.final_sharpness, seed=0)
    distinct = len({(p.prompt, a) for p, a in stream})

    def timed(score_one, memo: bool) -> tuple[list[float], float]:
        task._verdicts.clear()
        t0 = time.perf_counter()
        rewards = []
        for p, a in stream:
            if not memo:
                task._verdicts.clear()
            rewards.append(score_one(p, a))
        return rewards, time.perf_counter() - t0

    fast_scorer = task._scorer_reward
    task._scorer_reward = lambda ans, entry: ReasoningGymTask._scorer_reward(task, ans, entry)
    sympy_rewards, t_sympy = timed(lambda p, a: task.score(p, a).reward, memo=False)
    task._scorer_reward = fast_scorer
    fast_rewards, t_fast = timed(lambda p, a: task.score(p, a).reward, memo=False)
    memo_rewards, t_memo = timed(lambda p, a: task.score(p, a).reward, memo=True)

    assert fast_rewards == sympy_rewards, "the sympy-free scorer's rewards differ"
    assert memo_rewards == sympy_rewards, "memoised rewards differ"
    print(
        f"answers: {len(stream)} ({args.steps} steps × {args.prompts} prompts × {args.group}), distinct: {distinct}"
    )
    print(f"reasoning-gym (sympy), every answer: {t_sympy:.2f} s")
    print(f"sympy-free, every answer:            {t_fast:.2f} s  ({t_fast / t_sympy:.2f}× the time)")
    print(f"sympy-free and memoised:             {t_memo:.2f} s  ({t_memo / t_sympy:.2f}× the time)")

    write_record(
        args.json,
        {
            "answers": len(stream),
            "distinct": distinct,
            "seconds": {"reasoning_gym_sympy": t_sympy, "sympy_free": t_fast, "sympy_free_memoised": t_memo},
            "time_vs_sympy": {"sympy_free": t_fast / t_sympy, "sympy_free_memoised": t_memo / t_sympy},
            "same_rewards": True,
        },
    )


if __name__ == "__main__":
    main()
