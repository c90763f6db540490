"""Sandboxed math verification: math-verify in a pool of killable worker processes.

Model output is untrusted. Nothing here calls ``eval``; answers go through, in order:

1. extraction: only the last ``\\boxed{}`` (or the dataset's ``####`` / "Answer:" convention);
2. cheap guards: over ``max_answer_chars`` or brace depth over ``max_brace_depth`` → reward 0;
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

from entropy_rl.scoring.answers import exact_or_numeric_match
from entropy_rl.scoring.types import Verdict


def _worker_main(memory_mb: int) -> None:  # pragma: no cover - runs in a child process
    """JSON lines on stdin → JSON lines on stdout; started as ``python -m entropy_rl.scoring.math_verify``."""
    import json
    import resource
    import sys

    if memory_mb > 0:
        limit = memory_mb * 1024 * 1024
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    from math_verify import parse, verify

    out = sys.stdout
    out.write('{"ready": true}\n')
    out.flush()
    for line in sys.stdin:
        job_id, gold, pred = json.loads(line)
        err = None
        try:
            g = gold if ("$" in gold or "\\boxed" in gold) else f"${gold}$"
            # no SIGALRM timeouts in here: the parent's wall clock is the limit (it kills us)
            ok = bool(
                verify(
                    parse(g, parsing_timeout=None),
                    parse(f"\\boxed{{{pred}}}", parsing_timeout=None),
                    timeout_seconds=None,
                )
            )
        except MemoryError:
            ok, err = False, "memory"
        except Exception as e:  # math-verify bugs on odd input
            ok, err = False, f"error:{type(e).__name__}"
        out.write(json.dumps([job_id, ok, err]) + "\n")
        out.flush()


@dataclass
class _Worker:
    proc: subprocess.Popen
    job: int | None = None
    started: float = 0.0


def _close_pipes(proc: subprocess.Popen) -> None:
    """Close a finished worker's pipes (a killed process leaves them open)."""
    for pipe in (proc.stdin, proc.stdout):
        try:
            if pipe is not None:
                pipe.close()
        except OSError:
            pass


class MathVerifier:
    """A pool of ``workers`` math-verify processes; ``verify_many`` scores answers in parallel."""

    def __init__(
        self,
        workers: int = 2,
        timeout_s: float = 5.0,
        memory_mb: int = 2048,
        max_answer_chars: int = 1000,
        max_brace_depth: int = 20,
    ):
        self.n_workers = workers
        self.timeout_s = timeout_s
        self.memory_mb = memory_mb
        self.max_answer_chars = max_answer_chars
        self.max_brace_depth = max_brace_depth
        self._workers: list[_Worker] = []
        # (gold, answer) → reward of a completed math-verify call. A group of samples mostly
        # agrees on its final answer, so most pairs of a GRPO batch repeat within the batch or
        # across steps. Timeouts and crashes are not memoised (they may depend on load).
        self._memo: dict[tuple[str, str], float] = {}
        self.jobs_sent = 0  # math-verify calls made (a diagnostic for the memo)

    def _spawn(self) -> _Worker:
        env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONWARNINGS": "ignore"}
        proc = subprocess.Popen(
            [sys.executable, "-m", "entropy_rl.scoring.math_verify", str(self.memory_mb)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
            env=env,
        )
        # wait for the import to finish, so start-up never counts against an answer's time limit
        if not wait([proc.stdout], timeout=120) or '"ready"' not in proc.stdout.readline():
            proc.kill()
            proc.wait(timeout=5)
            _close_pipes(proc)
            raise RuntimeError("math-verify worker did not start (is math-verify installed?)")
        return _Worker(proc)

    def _ensure(self) -> None:
        while len(self._workers) < self.n_workers:
            self._workers.append(self._spawn())

    def _replace(self, w: _Worker) -> None:
        w.proc.kill()
        w.proc.wait(timeout=5)
        _close_pipes(w.proc)
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
        depth = peak = 0
        for c in pred:
            depth += c == "{"
            depth -= c == "}"
            peak = max(peak, depth)
        if peak > self.max_brace_depth:
            return "too_nested"
        return None

    def verify_many(self, golds: list[str], preds: list[str | None]) -> list[Verdict]:
        """One verdict per (gold, extracted answer) pair, in order."""
        out: list[Verdict | None] = [None] * len(golds)
        waiting: dict[tuple[str, str], list[int]] = {}  # one math-verify call per distinct pair
        for i, (g, p) in enumerate(zip(golds, preds, strict=True)):
            reason = self._guard(p)
            if reason is not None:
                out[i] = Verdict(0.0, None if p is None else p[:100], reason)
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

    def _run(self, golds: list[str], preds: list[str | None], pending: list[int], out: list) -> None:
        """Verify ``pending`` indices on the worker pool, writing each verdict into ``out``."""
        if pending:
            self._ensure()
            queue = list(reversed(pending))
            while queue or any(w.job is not None for w in self._workers):
                for w in self._workers:
                    if w.job is None and queue:
                        i = queue.pop()
                        w.job, w.started = i, time.monotonic()
                        self.jobs_sent += 1
                        try:
                            w.proc.stdin.write(json.dumps([i, golds[i], preds[i]]) + "\n")
                            w.proc.stdin.flush()
                        except (BrokenPipeError, OSError):
                            out[i] = Verdict(0.0, preds[i], "crash")
                            w.job = None
                            self._replace(w)
                busy = [w for w in self._workers if w.job is not None]
                if not busy:
                    continue
                deadline = min(w.started for w in busy) + self.timeout_s
                ready = wait([w.proc.stdout for w in busy], timeout=max(0.0, deadline - time.monotonic()))
                now = time.monotonic()
                for w in busy:
                    i = w.job
                    if w.proc.stdout in ready:
                        line = w.proc.stdout.readline()
                        try:
                            _, ok, err = json.loads(line)
                        except (ValueError, TypeError):  # died (out of memory, segfault): EOF
                            out[i] = Verdict(0.0, preds[i], "crash")
                            w.job = None
                            self._replace(w)
                            continue
                        reason = (
                            "ok"
                            if ok
                            else (
                                "wrong" if err is None else ("crash" if err == "memory" else "verifier_error")
                            )
                        )
                        out[i] = Verdict(float(ok), preds[i], reason)
                        w.job = None
                    elif now - w.started >= self.timeout_s:
                        out[i] = Verdict(0.0, preds[i], "timeout")
                        w.job = None
                        self._replace(w)


if __name__ == "__main__":  # pragma: no cover - the worker process
    _worker_main(int(sys.argv[1]) if len(sys.argv) > 1 else 0)
