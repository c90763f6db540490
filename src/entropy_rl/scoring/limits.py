"""Scoring under a time limit: a scorer that raises or runs too long gives reward 0 with a reason;
one that returns a non-reward is a bug that propagates."""

from __future__ import annotations

import signal
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager

from entropy_rl.scoring.types import InvalidReward, Problem, Scorer, Verdict


class ScoreTimeout(BaseException):
    """Raised by the alarm; a BaseException so that scorers' own ``except Exception`` (reasoning-gym
    has several) cannot swallow it."""


class Deadline:
    """What ``time_limit`` yields: ``expired`` is True once the limit has passed, even when the
    enclosed code swallowed the ``ScoreTimeout`` (a bare ``except:``) and returned."""

    expired = False


# after the first alarm, the alarm repeats this often
_REPEAT_S = 0.05


@contextmanager
def time_limit(seconds: float | None) -> Iterator[Deadline]:
    """Interrupt the enclosed Python code after ``seconds`` with ``ScoreTimeout`` (SIGALRM; main
    thread of a POSIX process only, else no limit). C code that never returns to the interpreter
    is interrupted only when it does.

    Code that catches the interruption (a bare ``except:``) cannot go on: from the first alarm,
    a line tracer on the enclosed frames raises ``ScoreTimeout`` again at every line they run,
    including the handler's own, so the exception leaves the handler; the alarm also repeats."""
    deadline = Deadline()
    usable = (
        seconds and hasattr(signal, "setitimer") and threading.current_thread() is threading.main_thread()
    )
    if not usable:
        yield deadline
        return
    caller = sys._getframe(2)  # the frame that entered the `with` (above contextlib's __enter__)
    traced: list = []
    previous_trace = sys.gettrace()

    def stop_every_line(frame, event, arg):
        if event == "line":
            raise ScoreTimeout
        return stop_every_line

    def on_alarm(signum, frame):
        if not deadline.expired:
            deadline.expired = True
            while frame is not None and frame is not caller:
                frame.f_trace = stop_every_line
                traced.append(frame)
                frame = frame.f_back
            sys.settrace(stop_every_line)  # frames the interrupted code calls next
        raise ScoreTimeout

    previous = signal.signal(signal.SIGALRM, on_alarm)
    signal.setitimer(signal.ITIMER_REAL, seconds, _REPEAT_S)
    try:
        yield deadline
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
        if deadline.expired:
            sys.settrace(previous_trace)
            for frame in traced:
                frame.f_trace = None


def safe_score(task: Scorer, problem: Problem, response: str) -> Verdict:
    """The task's verdict. A scorer that raises gives reward 0 with reason ``verifier_error``; one
    that runs past ``task.score_timeout_s`` gives reward 0 with reason ``timeout``. One that
    returns a non-reward (``InvalidReward``) is a bug that propagates."""
    try:
        with time_limit(task.score_timeout_s) as deadline:
            verdict = task.score(problem, response)
    except ScoreTimeout:
        return Verdict(0.0, None, "timeout")
    except InvalidReward:
        raise
    except Exception as e:
        return Verdict(0.0, None, "verifier_error", detail=repr(e))
    if deadline.expired:  # the scorer caught the timeout and returned anyway
        return Verdict(0.0, None, "timeout")
    return verdict


def score_all(task: Scorer, problems: list[Problem], responses: list[str]) -> list[Verdict]:
    """Verdicts for a batch: the task's ``score_batch`` when it has one (parallel workers), else
    ``safe_score`` one by one; a batch scorer that raises falls back to one by one."""
    batch_fn = getattr(task, "score_batch", None)
    if batch_fn is not None:
        try:
            return batch_fn(problems, responses)
        except Exception:
            pass
    return [safe_score(task, p, r) for p, r in zip(problems, responses, strict=True)]
