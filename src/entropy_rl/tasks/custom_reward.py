"""Your own reward function in place of a task's verifier: ``task.reward_fn: FILE.py:NAME``
(or ``package.module:NAME``).

The function is called once per response as ``fn(prompt, response, answer)`` with three strings
(the task's prompt, the decoded response, the reference answer) and returns a reward in [0, 1]:
a number, a bool, or a dict ``{"reward": x, "parsed": "..."}``. A reward of 1 counts as correct
in ``accuracy`` and pass@k.

It is the user's code, so it runs in-process and is trusted; the *response* it receives is model
output, so it must not execute that. Guarded like the built-in scorers:
- before training, one call on the first training problem with its own reference answer as the
  response must return a valid reward, else the run does not start and the error names the field,
  the problem and what went wrong;
- a call that raises gives reward 0 with reason ``verifier_error`` (the trainer stops, keeping the
  last completed step, when every answer of a batch fails);
- a call that runs past ``task.score_timeout_s`` gives reward 0 with reason ``timeout``;
- a return value that is not a finite number in [0, 1] is an error, not a reward: it raises
  ``InvalidReward`` naming the problem, which stops training after keeping the last completed
  step (a reward on another scale would silently change every advantage).
"""

from __future__ import annotations

import importlib
import importlib.util
import inspect
import math
import numbers
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from entropy_rl.config import short
from entropy_rl.scoring.limits import ScoreTimeout, time_limit
from entropy_rl.scoring.types import InvalidReward, Problem, Verdict
from entropy_rl.tasks.base import Task

FIELD = "task.reward_fn"


class RewardFunctionError(ValueError):
    """The reward function cannot be loaded, or failed its check before training."""


def load_reward_fn(spec: str) -> Callable[..., Any]:
    """``'path/to/file.py:name'`` or ``'package.module:name'`` → the callable."""
    target, sep, name = spec.rpartition(":")
    if not sep or not target or not name.isidentifier():
        raise RewardFunctionError(
            f"config field `{FIELD}`: {spec!r} is not 'FILE.py:FUNCTION' or 'package.module:FUNCTION'"
        )
    if target.endswith(".py"):
        path = Path(target)
        if not path.is_file():
            raise RewardFunctionError(f"config field `{FIELD}`: file {path} does not exist")
        module_spec = importlib.util.spec_from_file_location(f"entropy_rl_reward_{path.stem}", path)
        module = importlib.util.module_from_spec(module_spec)
        try:
            module_spec.loader.exec_module(module)
        except Exception as e:
            raise RewardFunctionError(f"config field `{FIELD}`: importing {path} failed: {e!r}") from e
    else:
        try:
            module = importlib.import_module(target)
        except Exception as e:
            raise RewardFunctionError(f"config field `{FIELD}`: importing {target} failed: {e!r}") from e
    fn = getattr(module, name, None)
    if not callable(fn):
        raise RewardFunctionError(f"config field `{FIELD}`: {target} has no function {name!r}")
    try:
        inspect.signature(fn).bind("prompt", "response", "answer")
    except TypeError:
        raise RewardFunctionError(
            f"config field `{FIELD}`: {name} must accept (prompt, response, answer)"
        ) from None
    except ValueError:  # builtins without a signature: let the first call tell
        pass
    return fn


def _as_verdict(value: Any) -> Verdict:
    """The function's return value as a verdict; ``InvalidReward`` when it is not a reward."""
    parsed = None
    if isinstance(value, dict):
        if "reward" not in value:
            raise InvalidReward(f"returned a dict without 'reward': {short(value, 200)}")
        parsed = value.get("parsed")
        parsed = None if parsed is None else str(parsed)[:200]
        value = value["reward"]
    if isinstance(value, bool | np.bool_):
        value = float(bool(value))
    elif isinstance(value, numbers.Real) and not isinstance(value, int | float):
        value = float(value)  # numpy and other numeric scalars (np.float32, np.int64, ...)
    if isinstance(value, int) and not -(2**53) <= value <= 2**53:
        value = float("inf")  # 10**400 is no reward, and overflows math.isfinite
    if not isinstance(value, int | float) or not math.isfinite(value) or not 0.0 <= value <= 1.0:
        raise InvalidReward(
            f"returned {short(value, 200)}: a reward must be a finite number in [0, 1] (rescale it in the function)"
        )
    value = float(value)
    return Verdict(value, None if parsed is None else str(parsed), "ok" if value >= 1.0 else "wrong")


class RewardFunctionTask(Task):
    """A task whose prompts, answers, split and warm-up teacher are ``base``'s, scored by ``fn``."""

    def __init__(self, base: Task, fn: Callable[..., Any], spec: str):
        self.base, self.fn, self.spec = base, fn, spec
        self.name = base.name
        self.alphabet = base.alphabet
        self.score_timeout_s = base.score_timeout_s
        self.train_pool, self.heldout = base.train_pool, base.heldout

    def score(self, problem: Problem, response: str) -> Verdict:
        try:
            value = self.fn(problem.prompt, response, problem.answer)
        except SystemExit as e:  # a bug to stop on, not a clean exit of the trainer
            raise InvalidReward(
                f"`{FIELD}` ({self.spec}) called sys.exit({short(e.code)}); problem {problem.prompt[:80]!r}"
            ) from None
        try:
            return _as_verdict(value)
        except InvalidReward as e:
            raise InvalidReward(f"`{FIELD}` ({self.spec}) {e}; problem {problem.prompt[:80]!r}") from None

    def teacher_answer(self, problem, rng):
        return self.base.teacher_answer(problem, rng)

    def wrong_answer(self, problem, rng):
        return self.base.wrong_answer(problem, rng)

    def check(self) -> None:
        """One call on the first training problem with its reference answer as the response, under
        the time limit: a function that raises, hangs or returns a non-reward stops the run here,
        before anything is trained."""
        problem = self.train_pool[0]
        where = f"config field `{FIELD}` ({self.spec}), called on training problem 1 {problem.prompt[:80]!r}"
        try:
            with time_limit(self.score_timeout_s) as deadline:
                value = self.fn(problem.prompt, problem.answer, problem.answer)
            if deadline.expired:  # it caught the timeout (a bare except) and returned
                raise ScoreTimeout
        except ScoreTimeout:
            raise RewardFunctionError(f"{where}: no result within {self.score_timeout_s} s") from None
        except SystemExit as e:
            raise RewardFunctionError(f"{where}: called sys.exit({short(e.code)})") from None
        except Exception as e:
            raise RewardFunctionError(f"{where}: raised {short(e, 200)}") from e
        try:
            _as_verdict(value)
        except InvalidReward as e:
            raise RewardFunctionError(f"{where}: {e}") from None


def with_reward_fn(task: Task, spec: str) -> RewardFunctionTask:
    """``task`` scored by the function ``spec`` names, checked once before use."""
    wrapped = RewardFunctionTask(task, load_reward_fn(spec), spec)
    wrapped.check()
    return wrapped
