"""``make_task``: the one place that knows every kind of task."""

from __future__ import annotations

from entropy_rl.config import TaskConfig
from entropy_rl.tasks.base import Task
from entropy_rl.tasks.custom_reward import with_reward_fn
from entropy_rl.tasks.jsonl import JsonlTask
from entropy_rl.tasks.math_data import MathTask
from entropy_rl.tasks.reasoning_gym import CountdownTask, ReasoningGymTask


def make_task(cfg: TaskConfig) -> Task:
    """The task ``cfg`` names, scored by ``cfg.reward_fn`` when one is given."""
    task = _builtin_task(cfg)
    if cfg.reward_fn:
        task = with_reward_fn(task, cfg.reward_fn)
    if cfg.train_subset is not None:
        if cfg.train_subset > len(task.train_pool):
            raise ValueError(
                f"config field `task.train_subset`: {cfg.train_subset} is more than the "
                f"{len(task.train_pool)} training problems"
            )
        task.rl_subset = cfg.train_subset
    return task


def _builtin_task(cfg: TaskConfig) -> Task:
    if cfg.name == "jsonl":
        return JsonlTask(cfg)
    if cfg.name in ("gsm8k", "math", "math500"):
        return MathTask(cfg)
    if cfg.name == "countdown":
        return CountdownTask(cfg)
    return ReasoningGymTask(cfg)
