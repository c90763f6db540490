import json
import random
from pathlib import Path

import pytest

from entropy_rl.config import TaskConfig
from entropy_rl.tasks import (
    JsonlTask,
    ReasoningGymTask,
    exact_or_numeric_match,
    extract_final_answer,
    last_boxed,
)


def test_extraction_rules():
    assert last_boxed(r"first \boxed{1} then \boxed{\frac{1}{2}}") == r"\frac{1}{2}"
    assert last_boxed(r"\boxed{unclosed") is None
    assert extract_final_answer("so the answer is\n#### 1,234") == "1,234"
    assert extract_final_answer("Answer: 42.") == "42"
    assert extract_final_answer("  -17 ") == "-17"
    assert extract_final_answer("line one\nline two") is None


def test_exact_or_numeric():
    assert exact_or_numeric_match("0.5", "1/2") and exact_or_numeric_match("1,000", "1000")
    assert exact_or_numeric_match("3", "3.0") and not exact_or_numeric_match("3", "4")
    assert not exact_or_numeric_match("1", "9" * 100)  # too long to parse as a number: just unequal


def test_reasoning_gym_split_and_scoring():
    task = ReasoningGymTask(
        TaskConfig(name="chain_sum", n_train=100, n_heldout=20, options={"min_terms": 2, "max_terms": 2})
    )
    train = {p.prompt for p in task.train_pool}
    assert len(task.heldout) == 20 and not train & {p.prompt for p in task.heldout}
    p = task.heldout[0]
    assert p.prompt.endswith("=") and " " not in p.prompt
    assert task.score(p, p.answer).reward == 1.0
    assert task.score(p, str(int(p.answer) + 1)).reason == "wrong"
    assert task.score(p, "").reason == "no_answer"
    # a step's batch is a pure function of (seed, step): resuming needs no sampler state
    assert [q.prompt for q in task.train_batch(3, 8, 0)] == [q.prompt for q in task.train_batch(3, 8, 0)]
    assert task.wrong_answer(p, random.Random(0)) != p.answer


def test_countdown_never_executes_model_text(tmp_path):
    task = ReasoningGymTask(TaskConfig(name="countdown", n_train=20, n_heldout=5))
    target = tmp_path / "pwned"
    p = task.heldout[0]
    evil = f"__import__('pathlib').Path('{target}').write_text('x') or 1"
    v = task.score(p, rf"\boxed{{{evil}}}")
    assert v.reward == 0.0 and v.reason == "rejected_chars" and not target.exists()
    assert task.score(p, "9**9**9**9").reason == "rejected_chars"
    assert task.score(p, p.answer).reward == 1.0


def test_jsonl_task_and_bad_rows(tmp_path):
    path = tmp_path / "d.jsonl"
    path.write_text("\n".join(json.dumps({"prompt": f"{i}+1=", "answer": i + 1}) for i in range(10)))
    task = JsonlTask(TaskConfig(name="jsonl", path=str(path), n_heldout=3))
    assert len(task.heldout) == 3 and len(task.train_pool) == 7
    p = task.heldout[0]
    assert task.score(p, rf"\boxed{{{p.answer}}}").reward == 1.0
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"prompt": "a", "answer": 1}\n{"prompt": "b"\n')
    with pytest.raises(ValueError, match=r"bad.jsonl:2: malformed JSON"):
        JsonlTask(TaskConfig(name="jsonl", path=str(bad)))
    missing = tmp_path / "missing.jsonl"
    missing.write_text('{"prompt": "a", "answer": 1}\n{"question": "b", "answer": 2}\n')
    with pytest.raises(ValueError, match=r"row 2: field `prompt`"):
        JsonlTask(TaskConfig(name="jsonl", path=str(missing)))
    with pytest.raises(ValueError, match="does not exist"):
        JsonlTask(TaskConfig(name="jsonl", path=str(Path(tmp_path) / "nope.jsonl")))


def test_tokenizers_roundtrip_and_errors():
    from entropy_rl.policy import EOS, CharTokenizer, NumberTokenizer

    char = CharTokenizer("0123456789+-=")
    assert char.decode(char.encode("47-13=34") + [EOS, 5]) == "47-13=34"
    with pytest.raises(ValueError, match="'x' is not in the tiny model's alphabet"):
        char.encode("4x")
    num = NumberTokenizer("0123456789+-=")
    ids = num.encode("1234-07=5")
    assert len(ids) == 6  # "123", "4", "-", "07", "=", "5"
    assert num.decode(ids) == "1234-07=5" and num.encode("7") != num.encode("07")


def test_noisy_teacher_units():
    from entropy_rl.policy import _noisy_answer

    task = ReasoningGymTask(TaskConfig(name="chain_sum", n_train=20, n_heldout=5))
    p = task.heldout[0]
    rng = random.Random(0)
    assert _noisy_answer("-47", task, p, rng, 0.0, "digit") == "-47"
    flipped = _noisy_answer("-47", task, p, rng, 1.0, "digit")
    assert flipped[0] == "-" and flipped[1] != "4" and flipped[2] != "7"
    outs = [_noisy_answer("12345678", task, p, random.Random(i), 0.25, "digit") for i in range(200)]
    changed = sum(a != b for o in outs for a, b in zip(o, "12345678", strict=True)) / (200 * 8)
    assert 0.2 < changed < 0.3
    assert _noisy_answer(p.answer, task, p, rng, 0.0, "answer") == p.answer
    assert _noisy_answer(p.answer, task, p, rng, 1.0, "answer") != p.answer
