"""Scoring under a time limit: a scorer that raises or runs too long gives reward 0 with a reason;
one that returns a non-reward is a bug that propagates."""

from __future__ import annotations

import contextlib
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
    armed = False  # the enclosed code runs: an interruption may be raised
    closing = False  # the limit is being taken down: no interruption any more


# after the first interruption, it repeats this often
_REPEAT_S = 0.05
# The interruption's signal: a real-time signal of our own, sent to the main thread by a watchdog
# thread. Scorers use SIGALRM for their own limits (math-verify's default API installs a handler
# and calls ``signal.alarm(0)``), which would cancel an alarm-based limit; nothing they do reaches
# a thread or this signal.
_SIGNAL = signal.SIGRTMIN + 3 if hasattr(signal, "SIGRTMIN") else getattr(signal, "SIGUSR2", None)
_OWN_FILES = {__file__, contextlib.__file__}


class _Active:
    """The deadline of the innermost ``time_limit`` in progress (main thread only), and its frames."""

    deadline: Deadline | None = None
    caller = None  # the frame that entered the ``with``: not interrupted
    traced: list = []


def _stop_every_line(frame, event, arg):
    """Line tracer on the interrupted code: once the limit has passed, every line it runs raises
    again, so that a handler that caught the interruption cannot go on. Our own frames (this
    module's cleanup, contextlib's ``__exit__``) are never traced."""
    d = _Active.deadline
    if d is None or not d.expired or d.closing or frame.f_code.co_filename in _OWN_FILES:
        return None
    if event == "line":
        raise ScoreTimeout
    return _stop_every_line


def _on_signal(signum, frame):
    """Installed once and kept: a signal that arrives outside the enclosed code (while the limit is
    set up or taken down, whose threading locks must never be interrupted, or after it ended)
    does nothing; the watchdog repeats it."""
    d = _Active.deadline
    if d is None or not d.expired or not d.armed or d.closing:
        return
    if not _Active.traced:
        while frame is not None and frame is not _Active.caller:
            if frame.f_code.co_filename not in _OWN_FILES:
                frame.f_trace = _stop_every_line
                _Active.traced.append(frame)
            frame = frame.f_back
        sys.settrace(_stop_every_line)  # frames the interrupted code calls next
    raise ScoreTimeout


def _watchdog(seconds: float, deadline: Deadline, cancel: threading.Event, target: int) -> None:
    if cancel.wait(seconds):
        return
    deadline.expired = True
    while True:
        signal.pthread_kill(target, _SIGNAL)
        if cancel.wait(_REPEAT_S):
            return


@contextmanager
def time_limit(seconds: float | None) -> Iterator[Deadline]:
    """Interrupt the enclosed Python code after ``seconds`` with ``ScoreTimeout`` (main thread of a
    POSIX process only, else no limit). C code that never returns to the interpreter is
    interrupted only when it does (sleeps and blocking calls are).

    A watchdog thread times the limit and signals the main thread, so nothing the enclosed code
    does to SIGALRM or its own timers can cancel it; the cleanup cannot be skipped by an
    interruption that lands at the limit's last microsecond. Code that catches the interruption
    (a bare ``except:``) cannot go on: every line it runs from then raises it again."""
    deadline = Deadline()
    usable = seconds and _SIGNAL is not None and threading.current_thread() is threading.main_thread()
    if not usable:
        yield deadline
        return
    if signal.getsignal(_SIGNAL) is not _on_signal:
        signal.signal(_SIGNAL, _on_signal)
    outer = (_Active.deadline, _Active.caller, _Active.traced)
    previous_trace = sys.gettrace()
    _Active.deadline, _Active.caller, _Active.traced = deadline, sys._getframe(2), []
    cancel = threading.Event()
    watchdog = threading.Thread(
        target=_watchdog, args=(seconds, deadline, cancel, threading.main_thread().ident), daemon=True
    )
    watchdog.start()
    try:
        deadline.armed = True
        yield deadline
    finally:
        while True:  # an interruption landing before the flag is set is absorbed
            try:
                deadline.closing = True  # from here on the handler never raises
                break
            except ScoreTimeout:
                continue
        cancel.set()
        watchdog.join()
        traced = _Active.traced
        _Active.deadline, _Active.caller, _Active.traced = outer
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
