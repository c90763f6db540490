"""Sandboxed math verification: math-verify in a pool of killable worker processes.

Model output is untrusted. Nothing here calls ``eval``; answers go through, in order:

1. extraction: only the last ``\\boxed{}`` (or the dataset's ``####`` / "Answer:" convention);
2. cheap guards: over ``max_answer_chars``, or brackets of any kind nested over ``max_nesting``
   (``MAX_NESTING``, set from measurement) → reward 0;
3. a cheap exact / exact-rational match in this process (most correct answers stop here);
   then the verdicts of earlier calls: each distinct (gold, answer) pair is verified once (the
   worker runs math-verify without its own timeouts, so a completed verdict is deterministic);
4. math-verify (gold first) in a worker process with a wall-time limit (the worker is killed and
   replaced when it overruns: SIGALRM cannot stop C-level work) and an address-space limit.

A timeout or a crash gives reward 0 with its reason (``timeout``, ``crash``) and never stops
training; the counts by reason go to the metrics.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from dataclasses import dataclass
from multiprocessing.connection import wait

from entropy_rl.scoring.answers import exact_or_numeric_match, prepare_answer
from entropy_rl.scoring.types import Verdict

# A decimal answer equals a value when within this relative distance of it (about 12 significant
# digits): "0.5" is 1/2, but a rounded "0.333333" is not 1/3, nor "2.718281828" e. math-verify's
# own rule (rounding to 6 decimals) accepts both.
REL_TOL = 1e-12


def _imaginary(expr):
    """The symbol ``i`` as the imaginary unit, and ``\\sqrt{-1}`` evaluated to it."""
    import sympy

    named_i = {s: sympy.I for s in expr.free_symbols if getattr(s, "name", None) == "i"}
    return (expr.subs(named_i) if named_i else expr).doit()


def _close(g, p) -> bool | None:
    """Numbers compared with the relative tolerance ``REL_TOL``; None when they cannot be evaluated."""
    import sympy

    try:
        gv, pv = complex(sympy.N(g, 30)), complex(sympy.N(p, 30))
    except (TypeError, ValueError, OverflowError, AttributeError):
        return None
    return abs(gv - pv) <= REL_TOL * max(abs(gv), abs(pv))


def equal(gold: list, pred: list) -> bool:  # pragma: no cover - runs in a child process
    """math-verify's ``verify`` of parsed answers, except that ``i`` is the imaginary unit and
    that a decimal is compared with a relative tolerance (``REL_TOL``), not rounded to 6 places."""
    import sympy
    from math_verify import verify

    if gold and pred and isinstance(gold[0], sympy.Expr) and isinstance(pred[0], sympy.Expr):
        g, p = _imaginary(gold[0]), _imaginary(pred[0])
        if g.is_number and p.is_number and (g.atoms(sympy.Float) or p.atoms(sympy.Float)):
            close = _close(g, p)
            if close is not None:
                return close
        gold, pred = [g, *gold[1:]], [p, *pred[1:]]
    # no SIGALRM timeouts in here: the parent's wall clock is the limit (it kills us)
    return bool(verify(gold, pred, timeout_seconds=None))


def _die_with_parent(parent: int) -> None:  # pragma: no cover - runs in a child process
    """Exit when the parent dies, even mid-computation (Linux: the kernel sends SIGKILL); else at
    least when it is already gone."""
    import ctypes
    import os
    import signal

    try:
        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass
    if parent and os.getppid() != parent:  # it died before the death signal was armed
        os._exit(0)


def _worker_main(memory_mb: int, parent: int = 0) -> None:  # pragma: no cover - runs in a child process
    """JSON lines on stdin → JSON lines on stdout; started as ``python -m entropy_rl.scoring.math_verify``."""
    import json
    import resource
    import sys

    _die_with_parent(parent)
    if memory_mb > 0:
        limit = memory_mb * 1024 * 1024
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    from math_verify import parse

    out = sys.stdout
    out.write('{"ready": true}\n')
    out.flush()
    for line in sys.stdin:
        job_id, gold, pred = json.loads(line)
        err = None
        try:
            g = gold if ("$" in gold or "\\boxed" in gold) else f"${gold}$"
            # no SIGALRM timeouts in here: the parent's wall clock is the limit (it kills us)
            ok = equal(parse(g, parsing_timeout=None), parse(f"\\boxed{{{pred}}}", parsing_timeout=None))
        except MemoryError:
            ok, err = False, "memory"
        except Exception as e:  # math-verify bugs on odd input
            ok, err = False, f"error:{type(e).__name__}"
        out.write(json.dumps([job_id, ok, err]) + "\n")
        out.flush()


@dataclass
class _Worker:
    proc: subprocess.Popen
    ready: bool = False  # its "ready" line was read: math-verify is imported
    job: int | None = None
    started: float = 0.0  # when its job was sent


def _close_pipes(proc: subprocess.Popen) -> None:
    """Close a finished worker's pipes (a killed process leaves them open)."""
    for pipe in (proc.stdin, proc.stdout):
        try:
            if pipe is not None:
                pipe.close()
        except OSError:
            pass


def _kill(proc: subprocess.Popen) -> None:
    proc.kill()
    proc.wait(timeout=5)
    _close_pipes(proc)


# Nesting an answer may have ({[ counted together, \left/\right ignored). math-verify's time
# grows steeply with it (docs/results/benchmarks/bench_math_nesting.json, 2 cores: nested braces
# 8 deep 1.1 s, 12 deep 2.1 s, 14 deep 5.8 s, 16 deep over 20 s; nested fractions 12 deep 0.8 s,
# 16 deep 7.1 s), while the deepest reference answer of GSM8K, MATH and MATH-500 is nested 3 deep.
# Deeper answers score 0 as too_nested without reaching math-verify.
MAX_NESTING = 8
_OPEN, _CLOSE = set("{[("), set("}])")


def nesting_depth(text: str) -> int:
    """The deepest nesting of brackets of any kind in ``text``."""
    depth = peak = 0
    for c in text:
        if c in _OPEN:
            depth += 1
            peak = max(peak, depth)
        elif c in _CLOSE:
            depth -= 1
    return peak


class MathVerifier:
    """A pool of ``workers`` math-verify processes; ``verify_many`` scores answers in parallel.

    Each answer gets ``timeout_s`` of a ready worker's time, measured from when it is sent; a
    worker that overruns is killed, and its replacement starts in the background while the other
    workers go on, so one slow answer never eats into another's limit."""

    def __init__(
        self,
        workers: int = 2,
        timeout_s: float = 5.0,
        memory_mb: int = 2048,
        max_answer_chars: int = 1000,
        max_nesting: int = MAX_NESTING,
        start_timeout_s: float = 120.0,
        percent_as_fraction: bool = False,
    ):
        self.n_workers = workers
        self.timeout_s = timeout_s
        self.memory_mb = memory_mb
        self.max_answer_chars = max_answer_chars
        self.max_nesting = max_nesting
        self.start_timeout_s = start_timeout_s
        self.percent_as_fraction = percent_as_fraction
        self._workers: list[_Worker] = []
        # (gold, answer) → reward of a completed math-verify call. A group of samples mostly
        # agrees on its final answer, so most pairs of a GRPO batch repeat within the batch or
        # across steps. Timeouts and crashes are not memoised (they may depend on load).
        self._memo: dict[tuple[str, str], float] = {}
        self.jobs_sent = 0  # math-verify calls made (a diagnostic for the memo)

    def _spawn(self) -> _Worker:
        """Start a worker; it becomes ready when its import is done (``_await_ready``)."""
        env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONWARNINGS": "ignore"}
        proc = subprocess.Popen(
            [sys.executable, "-m", "entropy_rl.scoring.math_verify", str(self.memory_mb), str(os.getpid())],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
            env=env,
        )
        return _Worker(proc)

    def _mark_ready(self, w: _Worker) -> None:
        """Read a starting worker's first line: it is ready, or it failed to start."""
        if '"ready"' not in w.proc.stdout.readline():
            _kill(w.proc)
            raise RuntimeError("math-verify worker did not start (is math-verify installed?)")
        w.ready = True

    def _ensure(self) -> None:
        """Start the missing workers together and wait until every worker is ready, so that
        start-up never counts against an answer's limit."""
        while len(self._workers) < self.n_workers:
            self._workers.append(self._spawn())
        starting = [w for w in self._workers if not w.ready]
        end = time.monotonic() + self.start_timeout_s
        while starting:
            ready = wait([w.proc.stdout for w in starting], timeout=max(0.0, end - time.monotonic()))
            if not ready:
                for w in starting:
                    _kill(w.proc)
                    self._workers.remove(w)
                raise RuntimeError(f"math-verify worker did not start within {self.start_timeout_s:g} s")
            for w in [w for w in starting if w.proc.stdout in ready]:
                self._mark_ready(w)
                starting.remove(w)

    def _replace(self, w: _Worker) -> None:
        """Kill ``w`` and start its replacement without waiting for it."""
        _kill(w.proc)
        self._workers[self._workers.index(w)] = self._spawn()

    def close(self) -> None:
        for w in self._workers:
            try:
                w.proc.stdin.close()
                w.proc.wait(timeout=1)
            except (OSError, subprocess.TimeoutExpired):
                w.proc.kill()
                w.proc.wait(timeout=5)
            _close_pipes(w.proc)
        self._workers = []

    def __del__(self):  # pragma: no cover
        try:
            self.close()
        except Exception:
            pass

    def _guard(self, pred: str | None) -> str | None:
        """Reason to reject an answer without verifying it, or None."""
        if pred is None or not pred.strip():  # an empty \boxed{} is no answer
            return "no_answer"
        if len(pred) > self.max_answer_chars:
            return "too_long"
        if nesting_depth(pred.replace("\\left", "").replace("\\right", "")) > self.max_nesting:
            return "too_nested"
        return None

    def verify_many(self, golds: list[str], preds: list[str | None]) -> list[Verdict]:
        """One verdict per (gold, extracted answer) pair, in order."""
        out: list[Verdict | None] = [None] * len(golds)
        waiting: dict[tuple[str, str], list[int]] = {}  # one math-verify call per distinct pair
        golds, preds, originals = list(golds), list(preds), list(preds)
        for i, (g, p) in enumerate(zip(golds, originals, strict=True)):
            reason = self._guard(p)
            if reason is None:
                g, p, why = prepare_answer(g, p, self.percent_as_fraction)
                golds[i], preds[i] = g, p
            if reason is not None:
                out[i] = Verdict(0.0, None if p is None else p[:100], reason)
            elif why is not None:
                out[i] = Verdict(0.0, p[:100], "wrong", detail=why)
            elif exact_or_numeric_match(g, p):
                out[i] = Verdict(1.0, p, "ok")
            elif (g, p) in self._memo:
                ok = self._memo[(g, p)]
                out[i] = Verdict(ok, p, "ok" if ok else "wrong")
            else:
                waiting.setdefault((g, p), []).append(i)
        pending = [idx[0] for idx in waiting.values()]
        self._run(golds, preds, pending, out)
        for key, (first, *rest) in waiting.items():
            v = out[first]
            if v.reason in ("ok", "wrong"):
                if len(self._memo) >= 1_000_000:  # bound the memory of a long run
                    self._memo.clear()
                self._memo[key] = v.reward
            for j in rest:
                out[j] = Verdict(v.reward, preds[j], v.reason)
        return [v for v in out if v is not None]

    def _send(self, w: _Worker, i: int, golds, preds, out) -> None:
        w.job, w.started = i, time.monotonic()
        self.jobs_sent += 1
        try:
            w.proc.stdin.write(json.dumps([i, golds[i], preds[i]]) + "\n")
            w.proc.stdin.flush()
        except (BrokenPipeError, OSError):
            out[i] = Verdict(0.0, preds[i], "crash")
            w.job = None
            self._replace(w)

    def _receive(self, w: _Worker, preds, out) -> None:
        i, line = w.job, w.proc.stdout.readline()
        w.job = None
        try:
            _, ok, err = json.loads(line)
        except (ValueError, TypeError):  # died (out of memory, segfault): EOF
            out[i] = Verdict(0.0, preds[i], "crash")
            self._replace(w)
            return
        reason = (
            "ok" if ok else ("wrong" if err is None else ("crash" if err == "memory" else "verifier_error"))
        )
        out[i] = Verdict(float(ok), preds[i], reason)

    def _run(self, golds: list[str], preds: list[str | None], pending: list[int], out: list) -> None:
        """Verify ``pending`` indices on the worker pool, writing each verdict into ``out``."""
        if not pending:
            return
        self._ensure()
        queue = list(reversed(pending))
        while queue or any(w.job is not None for w in self._workers):
            for w in self._workers:
                if w.ready and w.job is None and queue:
                    self._send(w, queue.pop(), golds, preds, out)
            busy = [w for w in self._workers if w.job is not None]
            starting = [w for w in self._workers if not w.ready]
            if not busy and not starting:
                continue
            now = time.monotonic()
            timeout = (
                min((w.started + self.timeout_s for w in busy), default=now + self.start_timeout_s) - now
            )
            ready = wait([w.proc.stdout for w in busy + starting], timeout=max(0.0, timeout))
            for w in starting:
                if w.proc.stdout in ready:
                    self._mark_ready(w)
            now = time.monotonic()
            for w in busy:
                if w.proc.stdout in ready:
                    self._receive(w, preds, out)
                elif now - w.started >= self.timeout_s:
                    out[w.job] = Verdict(0.0, preds[w.job], "timeout")
                    w.job = None
                    self._replace(w)
            if not busy and not ready:
                raise RuntimeError(f"math-verify worker did not start within {self.start_timeout_s:g} s")


if __name__ == "__main__":  # pragma: no cover - the worker process
    _worker_main(int(sys.argv[1]) if len(sys.argv) > 1 else 0, int(sys.argv[2]) if len(sys.argv) > 2 else 0)
