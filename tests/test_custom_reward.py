"""`task.reward_fn`: your own reward function, loaded by path, checked before training, guarded."""

import json
import textwrap

import pytest
from typer.testing import CliRunner

from entropy_rl.cli import app
from entropy_rl.config import TaskConfig
from entropy_rl.scoring.limits import safe_score
from entropy_rl.scoring.types import InvalidReward, ScoringFailed
from entropy_rl.tasks.custom_reward import RewardFunctionError, RewardFunctionTask, load_reward_fn
from entropy_rl.tasks.factory import make_task
from entropy_rl.train.trainer import read_metrics, train

REWARDS = textwrap.dedent(
    """
    import math, time

    def exact(prompt, response, answer):
        return response.strip() == answer

    def graded(prompt, response, answer):
        return {"reward": 0.5 if response.strip() else 0.0, "parsed": response.strip()[:3]}

    def picky(prompt, response, answer):
        if response == "boom":
            raise KeyError("no such key")
        if response == "nan":
            return math.nan
        if response == "big":
            return 2.0
        return 1.0 if response == answer else 0.0

    def always_raises(prompt, response, answer):
        raise ZeroDivisionError("bug in the reward")

    def hangs(prompt, response, answer):
        time.sleep(30)

    def scaled(prompt, response, answer):
        return 10.0

    def two_args(prompt, response):
        return 1.0

    CALLS = {"n": 0}

    def breaks_later(prompt, response, answer):
        CALLS["n"] += 1
        if CALLS["n"] > 1 + 16:  # the check, then step 0's 16 answers
            raise RuntimeError("the reward service went away")
        return float(response.strip() == answer)
    """
)


@pytest.fixture
def rewards_file(tmp_path):
    path = tmp_path / "my_rewards.py"
    path.write_text(REWARDS)
    return path


BASE = dict(
    name="chain_sum",
    n_train=30,
    n_heldout=5,
    options={"min_terms": 2, "max_terms": 2, "min_digits": 1, "max_digits": 1},
)


def _task(rewards_file, name, **kw):
    return make_task(TaskConfig(**BASE, reward_fn=f"{rewards_file}:{name}", **kw))


def test_reward_fn_replaces_the_verifier(rewards_file):
    task = _task(rewards_file, "exact")
    assert isinstance(task, RewardFunctionTask)
    p = task.train_pool[0]
    assert task.score(p, p.answer).reward == 1.0 and task.score(p, p.answer).reason == "ok"
    assert task.score(p, p.answer + "0").reward == 0.0  # the built-in scorer would also say 0
    assert task.score(p, f" {p.answer} ").reward == 1.0  # but this is the function's own rule
    graded = _task(rewards_file, "graded")
    v = graded.score(p, "12345")
    assert (v.reward, v.parsed, v.reason) == (0.5, "123", "wrong")
    # prompts, split and warm-up teacher stay the base task's
    base = make_task(TaskConfig(**BASE))
    assert [q.prompt for q in task.train_pool] == [q.prompt for q in base.train_pool]
    assert task.alphabet == base.alphabet


@pytest.mark.parametrize(
    "spec, message",
    [
        ("no_colon", "is not 'FILE.py:FUNCTION'"),
        ("{file}:", "is not 'FILE.py:FUNCTION'"),
        ("missing.py:f", "does not exist"),
        ("{file}:nope", "has no function 'nope'"),
        ("{file}:two_args", "must accept (prompt, response, answer)"),
        ("no_such_module_xyz:f", "importing no_such_module_xyz failed"),
    ],
)
def test_bad_specs_name_the_field(rewards_file, spec, message):
    with pytest.raises(RewardFunctionError, match="task.reward_fn") as e:
        load_reward_fn(spec.format(file=rewards_file))
    assert message in str(e.value)


def test_module_path_spec(rewards_file, monkeypatch):
    monkeypatch.syspath_prepend(str(rewards_file.parent))
    fn = load_reward_fn("my_rewards:exact")
    assert fn("1+2=", "3", "3") and not fn("1+2=", "4", "3")


@pytest.mark.parametrize(
    "name, message",
    [
        ("always_raises", "raised ZeroDivisionError('bug in the reward')"),
        ("hangs", "no result within 0.2 s"),
        ("scaled", "returned 10.0"),
    ],
)
def test_checked_before_training(rewards_file, name, message):
    with pytest.raises(RewardFunctionError) as e:
        _task(rewards_file, name, score_timeout_s=0.2)
    text = str(e.value)
    assert "task.reward_fn" in text and "training problem 1" in text and message in text


def test_guarded_during_training(rewards_file):
    task = _task(rewards_file, "picky")
    p = task.train_pool[0]
    v = safe_score(task, p, "boom")  # raises: 0, counted, with the exception kept for the log
    assert (v.reward, v.reason) == (0.0, "verifier_error") and "KeyError" in v.detail
    for bad in ("nan", "big"):  # not a reward: a bug that stops, never a silent 0
        with pytest.raises(InvalidReward, match="finite number in \\[0, 1\\]"):
            safe_score(task, p, bad)
    assert safe_score(task, p, p.answer).reward == 1.0


def test_a_broken_reward_stops_the_run_and_keeps_what_was_trained(tiny_config, rewards_file, tmp_path):
    # the tiny config: 4 prompts × 4 samples per step
    cfg = tiny_config(f"task.reward_fn={rewards_file}:breaks_later", "trainer.steps=3")
    with pytest.raises(ScoringFailed, match="step 1: every answer failed to score") as e:
        train(cfg, tmp_path / "run", quiet=True)
    assert "the reward service went away" in str(e.value)
    assert [r["step"] for r in read_metrics(tmp_path / "run")] == [0]
    assert (tmp_path / "run" / "checkpoint-0").is_dir()
    assert "checkpoint of step 0 saved" in (tmp_path / "run" / "interrupted").read_text()


def test_cli_names_the_problem(tiny_config, rewards_file, tmp_path):
    cfg_path = tmp_path / "c.yaml"
    cfg = tiny_config(f"task.reward_fn={rewards_file}:scaled")
    cfg_path.write_text(json.dumps(json.loads(cfg.model_dump_json())))
    result = CliRunner().invoke(app, ["train", str(cfg_path), "--out", str(tmp_path / "r"), "--quiet"])
    assert result.exit_code == 2
    assert "task.reward_fn" in result.output and "returned 10.0" in result.output
    assert not (tmp_path / "r" / "metrics.jsonl").exists()
