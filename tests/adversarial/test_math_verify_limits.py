"""The math-verify pool keeps every answer within its limit plus a small margin: a slow answer is
killed on time, its worker is replaced in the background, and the other answers are not delayed."""

import sys
import textwrap
import time

import pytest

from entropy_rl.scoring import math_verify
from entropy_rl.scoring.math_verify import MAX_NESTING, MathVerifier, nesting_depth

# a stand-in worker speaking the real protocol: "slow" answers hang, others are right when equal.
# Its start-up (as math-verify's import) is long enough that an answer waiting for a restarted
# worker would show in the timings even on a loaded machine.
START_S = 1.0
FAKE_WORKER = textwrap.dedent(
    """
    import json, sys, time
    time.sleep(START_S)
    print('{"ready": true}', flush=True)
    for line in sys.stdin:
        job, gold, pred = json.loads(line)
        if pred == "slow":
            time.sleep(3600)
        print(json.dumps([job, pred.strip() == gold.strip(), None]), flush=True)
    """
).replace("START_S", str(START_S))


class FakeVerifier(MathVerifier):
    def _spawn(self):
        import subprocess

        proc = subprocess.Popen(
            [sys.executable, "-c", FAKE_WORKER], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
        )
        return math_verify._Worker(proc)


@pytest.fixture
def pool():
    v = FakeVerifier(workers=2, timeout_s=0.5)
    yield v
    v.close()


def test_slow_answers_time_out_on_time_and_workers_restart_in_parallel(pool):
    pool.verify_many(["a"], ["b"])  # start-up outside the timing (an answer the workers must see)
    t0 = time.monotonic()
    got = pool.verify_many(["1"] * 8, ["slow"] * 8)
    elapsed = time.monotonic() - t0
    assert [v.reason for v in got] == ["timeout"] * 8
    # 8 answers on 2 workers: 4 rounds of the 0.5 s limit plus a restart each
    assert elapsed < 4 * (0.5 + START_S) + 1.0, elapsed


def test_a_slow_answer_does_not_delay_the_others(pool):
    pool.verify_many(["a"], ["b"])  # start-up outside the timing (an answer the workers must see)
    t0 = time.monotonic()
    got = pool.verify_many(["1"] * 7, ["slow", "2", "3", "1 ", "4", "1 ", "5"])
    elapsed = time.monotonic() - t0
    assert [v.reason for v in got] == ["timeout", "wrong", "wrong", "ok", "wrong", "ok", "wrong"]
    # the other worker did the rest meanwhile; waiting for the restart would take 0.5 + START_S
    assert elapsed < 0.5 + 0.9 * START_S, elapsed


def test_the_pool_works_after_timeouts(pool):
    pool.verify_many(["1", "1"], ["slow", "slow"])
    assert pool.verify_many(["2"], ["2 "])[0].reward == 1.0


def test_nesting_guard_counts_every_bracket_kind():
    assert nesting_depth("\\frac{1}{(2+[3])}") == 3
    deep = "(" * (MAX_NESTING + 1) + "1" + ")" * (MAX_NESTING + 1)
    v = MathVerifier()
    assert v._guard(deep) == "too_nested"
    assert v._guard("\\left(" * MAX_NESTING + "1" + "\\right)" * MAX_NESTING) is None
