"""Crafted answers through the verifiers and broken reward functions: nothing executes, every
answer is scored within its limit, and a broken function is a verdict or one clear error."""

import json
import time
from pathlib import Path

import pytest

from entropy_rl.config import load_config
from entropy_rl.scoring.answers import exact_or_numeric_match, extract_final_answer
from entropy_rl.scoring.limits import safe_score
from entropy_rl.scoring.types import InvalidReward
from entropy_rl.tasks.custom_reward import RewardFunctionError, with_reward_fn
from entropy_rl.tasks.factory import make_task

FIXTURES = Path(__file__).parent / "fixtures"
REWARDS = FIXTURES / "rewards.py"


@pytest.fixture(scope="module")
def countdown():
    cfg = load_config("configs/quickstart.yaml", ["task.n_train=50", "task.n_heldout=10"])
    return make_task(cfg.task)


ANSWERS = json.loads((FIXTURES / "countdown_answers.json").read_text())


@pytest.mark.parametrize("case", ANSWERS, ids=[c["answer"][:30] for c in ANSWERS])
def test_crafted_countdown_answers_are_refused_or_scored_without_running(countdown, case, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # anything that ran code would leave a file here
    problem = countdown.train_pool[0]
    t0 = time.time()
    verdict = safe_score(countdown, problem, case["answer"])
    assert time.time() - t0 < 1.0
    assert verdict.reason == case["reason"], (case, verdict)
    assert list(tmp_path.iterdir()) == []


def test_huge_and_deep_answers_stay_within_bounds(countdown):
    problem = countdown.train_pool[0]
    for answer in ["9" * 1_000_000, "(" * 100 + "1" + ")" * 100, "9**9**9**9", "\\boxed{" * 100_000, "1" + "+1" * 99]:
        t0 = time.time()
        verdict = safe_score(countdown, problem, answer)
        assert time.time() - t0 < 1.0 and verdict.reward <= 0.05, (answer[:40], verdict)


@pytest.mark.parametrize(
    ("gold", "pred", "same"),
    [
        ("-2,1", "-21", False), ("1,2", "12", False), ("7,2", "72", False), ("1,000", "1000", True),
        ("12,345.5", "12345.5", True), ("1,00", "100", False), ("1/2", "0.5", True), ("1e3", "1000", False),
        ("0.1", ".1", True), ("3", "3.0", True), ("-0", "0", True), ("1/0", "1/0", True), ("2", "1/0", False),
    ],
)
def test_numbers_match_only_as_numbers(gold, pred, same):
    assert exact_or_numeric_match(gold, pred) is same


def test_extraction_is_bounded_on_megabyte_answers():
    t0 = time.time()
    for text in ["#### " + "1" * 1_000_000, "Answer: " + "x" * 1_000_000, "{" * 1_000_000, "\\boxed " * 100_000]:
        extract_final_answer(text)
    assert time.time() - t0 < 2.0


@pytest.fixture(scope="module")
def chain_sum():
    return make_task(load_config(None, ["task.n_train=20", "task.n_heldout=5", "task.score_timeout_s=0.2"]).task)


@pytest.mark.parametrize("name", ["numpy_float", "numpy_bool", "numpy_int", "exact"])
def test_numeric_scalars_are_rewards(chain_sum, name):
    task = with_reward_fn(chain_sum, f"{REWARDS}:{name}")
    problem = task.train_pool[0]
    assert safe_score(task, problem, problem.answer).reward == 1.0
    assert safe_score(task, problem, problem.answer + "9").reward == 0.0


@pytest.mark.parametrize("name", ["swallow_everything", "swallow_once"])
def test_a_bare_except_cannot_swallow_the_time_limit(chain_sum, name):
    # refused before training: the check call runs out of time even though the function caught it
    with pytest.raises(RewardFunctionError, match="no result within 0.2 s"):
        with_reward_fn(chain_sum, f"{REWARDS}:{name}")


def test_a_bare_except_during_training_scores_timeout(chain_sum):
    from entropy_rl.tasks.custom_reward import RewardFunctionTask, load_reward_fn

    for name in ("swallow_everything", "swallow_once"):
        task = RewardFunctionTask(chain_sum, load_reward_fn(f"{REWARDS}:{name}"), name)  # unchecked
        t0 = time.time()
        verdict = safe_score(task, task.train_pool[0], "1")
        assert verdict.reason == "timeout" and verdict.reward == 0.0
        assert time.time() - t0 < 1.0


@pytest.mark.parametrize(("name", "match"), [("raises", "raised RuntimeError"), ("out_of_range", "returned 2.0"), ("not_a_number", "returned nan"), ("returns_none", "returned None")])
def test_a_broken_function_is_refused_before_training(chain_sum, name, match):
    with pytest.raises(RewardFunctionError, match=match):
        with_reward_fn(chain_sum, f"{REWARDS}:{name}")


def test_a_non_reward_during_training_is_an_error_not_a_zero(chain_sum):
    from entropy_rl.tasks.custom_reward import RewardFunctionTask, load_reward_fn

    task = RewardFunctionTask(chain_sum, load_reward_fn(f"{REWARDS}:out_of_range"), "out_of_range")
    with pytest.raises(InvalidReward, match="returned 2.0"):
        safe_score(task, task.train_pool[0], "1")
