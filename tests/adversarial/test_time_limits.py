"""Time limits a reward function cannot cancel, no timer left behind at the limit's edge, math-verify
workers that die with their parent, and a reward function's sys.exit or 10**400 as errors."""

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from entropy_rl.config import load_config
from entropy_rl.scoring.limits import safe_score
from entropy_rl.scoring.types import InvalidReward
from entropy_rl.tasks.custom_reward import (
    RewardFunctionError,
    RewardFunctionTask,
    load_reward_fn,
    with_reward_fn,
)
from entropy_rl.tasks.factory import make_task

REWARDS = Path(__file__).parent / "fixtures" / "rewards.py"


@pytest.fixture(scope="module")
def chain_sum():
    return make_task(load_config(None, ["task.n_train=20", "task.n_heldout=5", "task.score_timeout_s=0.5"]).task)


def _unchecked(task, name):
    return RewardFunctionTask(task, load_reward_fn(f"{REWARDS}:{name}"), name)


@pytest.mark.parametrize("name", ["math_verify_default_api", "cancels_the_timer", "ignores_alarms", "sleeps"])
def test_a_reward_function_cannot_cancel_the_limit(chain_sum, name):
    t0 = time.time()
    verdict = safe_score(_unchecked(chain_sum, name), chain_sum.train_pool[0], "1")
    assert verdict.reason == "timeout" and verdict.reward == 0.0, verdict
    assert time.time() - t0 < 1.5
    t0 = time.time()
    with pytest.raises(RewardFunctionError, match="no result within 0.5 s"):
        with_reward_fn(chain_sum, f"{REWARDS}:{name}")
    assert time.time() - t0 < 1.5


def test_no_timer_outlives_its_limit_even_at_the_edge():
    # scorers that finish within microseconds of their limit, many times: the process must not die
    # of a stray signal (the old SIGALRM limit leaked its timer: rc 142), nor be interrupted later
    code = textwrap.dedent(
        """
        import time
        from entropy_rl.scoring.limits import time_limit, ScoreTimeout
        out = 0
        for i in range(400):
            limit = 0.005 + (i % 7) * 1e-4
            try:
                with time_limit(limit):
                    end = time.perf_counter() + limit + (i % 5 - 2) * 2e-5
                    while time.perf_counter() < end:
                        pass
            except ScoreTimeout:
                out += 1
        time.sleep(0.5)
        end = time.perf_counter() + 0.3
        while time.perf_counter() < end:
            pass
        print("alive", out)
        """
    )
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert res.returncode == 0 and res.stdout.startswith("alive"), (res.returncode, res.stderr[-500:])


@pytest.mark.parametrize("how", [signal.SIGKILL, signal.SIGTERM])
def test_math_verify_workers_die_with_their_parent(how):
    pytest.importorskip("math_verify")
    code = textwrap.dedent(
        """
        import sys, threading
        from entropy_rl.scoring.math_verify import MathVerifier
        v = MathVerifier(workers=2, timeout_s=600)
        v._ensure()
        print(" ".join(str(w.proc.pid) for w in v._workers), flush=True)
        # a never-ending verification keeps both workers busy at 100 % CPU
        v.verify_many(["1", "1"], ["\\\\frac{" * 8 + "1" + "}{2}" * 8, "(" * 8 + "x" + ")" * 8 + "^{" * 8 + "9" + "}" * 8])
        """
    )
    parent = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    pids = [int(p) for p in parent.stdout.readline().split()]
    assert len(pids) == 2
    time.sleep(1.0)
    parent.send_signal(how)
    parent.wait(timeout=30)
    deadline = time.time() + 10
    while time.time() < deadline and any(_alive(p) for p in pids):
        time.sleep(0.1)
    assert not any(_alive(p) for p in pids)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    stat = Path(f"/proc/{pid}/stat")
    return not (stat.exists() and stat.read_text().split(")")[-1].split()[0] == "Z")


@pytest.mark.parametrize("name", ["exits", "exits_with_message"])
def test_sys_exit_in_a_reward_function_is_an_error_not_a_clean_exit(chain_sum, name):
    with pytest.raises(RewardFunctionError, match=r"called sys.exit"):
        with_reward_fn(chain_sum, f"{REWARDS}:{name}")
    with pytest.raises(InvalidReward, match=r"called sys.exit"):
        safe_score(_unchecked(chain_sum, name), chain_sum.train_pool[0], "1")


def test_sys_exit_stops_training_with_exit_status_2(tmp_path, tiny_cache):
    from typer.testing import CliRunner

    from entropy_rl.cli import app
    from tests.conftest import TINY

    (tmp_path / "c.yaml").write_text("trainer:\n  steps: 2\n")
    sets = [a for s in [*TINY, f"model.cache_dir={tiny_cache}"] for a in ("--set", s)]
    args = ["train", str(tmp_path / "c.yaml"), "--out", str(tmp_path / "run"), *sets, "--quiet"]
    res = CliRunner().invoke(app, [*args, "--reward-fn", f"{REWARDS}:exits"], catch_exceptions=False)
    assert res.exit_code == 2 and "called sys.exit(0)" in res.output


@pytest.mark.parametrize("name", ["huge_int", "huge_in_dict"])
def test_a_reward_of_10_to_the_400_is_no_reward(chain_sum, name):
    with pytest.raises(RewardFunctionError, match="a reward must be a finite number"):
        with_reward_fn(chain_sum, f"{REWARDS}:{name}")
    with pytest.raises(InvalidReward, match="a reward must be a finite number"):
        safe_score(_unchecked(chain_sum, name), chain_sum.train_pool[0], "1")
