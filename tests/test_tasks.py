import json
import random
import warnings
from pathlib import Path

import pytest

from entropy_rl.config import TaskConfig
from entropy_rl.scoring.answers import exact_or_numeric_match, extract_final_answer, last_boxed
from entropy_rl.scoring.countdown import countdown_expressions, countdown_reward
from entropy_rl.scoring.types import Problem
from entropy_rl.tasks.factory import make_task
from entropy_rl.tasks.jsonl import JsonlTask
from entropy_rl.tasks.reasoning_gym import CountdownTask, ReasoningGymTask


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
    task = make_task(TaskConfig(name="countdown", n_train=20, n_heldout=5))
    assert isinstance(task, CountdownTask)
    with pytest.raises(ValueError, match="CountdownTask"):  # the plain class lacks the character filter
        ReasoningGymTask(TaskConfig(name="countdown", n_train=20, n_heldout=5))
    target = tmp_path / "pwned"
    p = task.heldout[0]
    evil = f"__import__('pathlib').Path('{target}').write_text('x') or 1"
    v = task.score(p, rf"\boxed{{{evil}}}")
    assert v.reward == 0.0 and v.reason == "rejected_chars" and not target.exists()
    assert task.score(p, "9**9**9**9").reason == "rejected_chars"
    assert task.score(p, p.answer).reward == 1.0


def test_tasks_of_one_config_share_generated_entries():
    """``compare`` trains several runs per worker process: the entries are generated once."""
    from entropy_rl.tasks.reasoning_gym import _generated_entries

    cfg = TaskConfig(name="chain_sum", n_train=25, n_heldout=5, seed=123)
    before = _generated_entries.cache_info()
    a, b = make_task(cfg), make_task(cfg)
    after = _generated_entries.cache_info()
    assert after.misses - before.misses == 2 and after.hits - before.hits == 2  # train + held-out
    assert [p.prompt for p in a.train_pool] == [p.prompt for p in b.train_pool]
    assert a.train_pool[0] is not b.train_pool[0]  # each task has its own Problem objects
    other = make_task(TaskConfig(name="chain_sum", n_train=25, n_heldout=5, seed=124))
    assert [p.prompt for p in other.train_pool] != [p.prompt for p in a.train_pool]


def test_repeated_verdicts_are_memoised_and_equal(monkeypatch):
    task = make_task(TaskConfig(name="countdown", n_train=20, n_heldout=5))
    calls = []
    real = task._scorer_reward
    monkeypatch.setattr(task, "_scorer_reward", lambda ans, entry: calls.append(ans) or real(ans, entry))
    p, q = task.heldout[0], task.heldout[1]
    wrong = "1+1"
    first = [task.score(p, p.answer), task.score(p, wrong), task.score(q, p.answer)]
    again = [task.score(p, p.answer), task.score(p, wrong), task.score(q, p.answer)]
    assert first == again and first[0].reward == 1.0 and first[1].reward < 1.0
    assert calls == [p.answer, wrong, p.answer]  # each (problem, answer) pair scored once

    def broken(ans, entry):
        raise RuntimeError("scorer bug")

    monkeypatch.setattr(task, "_scorer_reward", broken)
    assert task.score(p, "2+2").reason == "verifier_error"
    assert task.score(p, p.answer).reward == 1.0  # memoised before the scorer broke


def test_countdown_fast_scorer_agrees_with_reasoning_gym(monkeypatch):
    """Our sympy-free scorer gives reasoning-gym's reward on every answer it takes, and leaves the
    rest (leading zeros, ``(4)(5)``, x/0, malformed) to reasoning-gym's scorer."""
    opts = {"min_numbers": 3, "max_numbers": 4}  # all four operators (reasoning-gym's default)
    task = make_task(TaskConfig(name="countdown", n_train=30, n_heldout=5, options=opts))
    rng = random.Random(0)
    alphabet = "0123456789+-*/() "
    taken = 0
    for p in task.train_pool:
        meta = p.entry["metadata"]
        exprs = sorted(countdown_expressions(tuple(meta["numbers"]), "+-*/"))
        for _ in range(60):
            s = list(rng.choice(exprs))
            for _ in range(rng.randint(0, 2)):  # typos: a character inserted anywhere
                s.insert(rng.randrange(len(s) + 1), rng.choice(alphabet))
            ans = "".join(s).strip() or "0"
            fast = countdown_reward(ans, meta["numbers"], meta["target"])
            if fast is not None:
                taken += 1
                assert fast == task._dataset.score_answer(ans, p.entry), ans
    assert taken > 1000  # most answers take the fast path
    p = task.train_pool[0]
    meta = p.entry["metadata"]
    for odd in ("(4)(5)+3", "05+3", "1/0", "1/(2-2)", "()", "3 4", "1_0"):
        assert countdown_reward(odd, meta["numbers"], meta["target"]) is None, odd
    calls = []
    real = task._dataset.score_answer
    monkeypatch.setattr(task._dataset, "score_answer", lambda a, e: calls.append(a) or real(a, e))
    assert task.score(p, "(4)(5)+3").reward == 0.01 and calls == ["(4)(5)+3"]
    with warnings.catch_warnings(record=True) as caught:  # sympy's "'tuple' object is not callable"
        warnings.simplefilter("always")  # stays out of the logs
        assert task.score(p, "()(3)").reward == 0.01
    assert not [w for w in caught if issubclass(w.category, SyntaxWarning)]
    assert task.score(p, p.answer).reward == 1.0 and calls == ["(4)(5)+3", "()(3)"]


def _eval_tree(node):
    """Exact value of one of our own arithmetic strings (test oracle, independent of the enumerator)."""
    import ast
    from fractions import Fraction

    if isinstance(node, ast.Expression):
        return _eval_tree(node.body)
    if isinstance(node, ast.Constant):
        return Fraction(node.value)
    ops = {ast.Add: lambda a, b: a + b, ast.Sub: lambda a, b: a - b, ast.Mult: lambda a, b: a * b}
    ops[ast.Div] = lambda a, b: a / b
    return ops[type(node.op)](_eval_tree(node.left), _eval_tree(node.right))


def test_countdown_expressions_enumerate_every_bracketing_minimally():
    import ast

    exprs = countdown_expressions((1, 2, 3), "+-*")
    for s, v in exprs.items():
        assert _eval_tree(ast.parse(s, mode="eval")) == v, s
        assert "((" not in s
    assert {"1+2*3", "(1+2)*3", "1-(2-3)", "1-2-3", "3*2*1"} <= set(exprs)
    assert "(1*2)*3" not in exprs and "1+(2+3)" not in exprs  # brackets only where they change the value
    assert len(exprs) == len(set(exprs))
    with_div = countdown_expressions((4, 2, 2), "+-*/")
    assert with_div["4/2/2"] == 1 and with_div["4/(2/2)"] == 4
    assert all(_eval_tree(ast.parse(s, mode="eval")) == v for s, v in with_div.items())


def test_countdown_teacher_spreads_over_correct_answers():
    task = make_task(
        TaskConfig(
            name="countdown",
            n_train=50,
            n_heldout=5,
            options={
                "min_numbers": 3,
                "max_numbers": 3,
                "min_value": 1,
                "max_value": 9,
                "min_target": 1,
                "max_target": 60,
                "operators": ["+", "-", "*"],
            },
        )
    )
    rng = random.Random(0)
    spread = []
    for p in task.train_pool[:20]:
        draws = {task.teacher_answer(p, rng) for _ in range(30)}
        assert all(task.score(p, d).reward == 1.0 for d in draws), (p.prompt, draws)
        spread.append(len(draws))
        wrong = task.wrong_answer(p, rng)
        assert (
            task.score(p, wrong).reward == 0.05
        )  # right numbers, wrong value: reasoning-gym's partial credit
        assert " " not in p.answer and task.score(p, p.answer).reward == 1.0
    assert max(spread) >= 4 and sum(s > 1 for s in spread) >= 15
    big = make_task(TaskConfig(name="countdown", n_train=5, n_heldout=2, options={"min_numbers": 5}))
    with pytest.raises(ValueError, match="task.options.max_numbers"):
        big.teacher_answer(big.train_pool[0], rng)


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
    from entropy_rl.models.tokenizers import EOS, CharTokenizer, NumberTokenizer

    char = CharTokenizer("0123456789+-=")
    assert char.decode(char.encode("47-13=34") + [EOS, 5]) == "47-13=34"
    with pytest.raises(ValueError, match="'x' is not in the tiny model's alphabet"):
        char.encode("4x")
    num = NumberTokenizer("0123456789+-=")
    ids = num.encode("1234-07=5")
    assert len(ids) == 6  # "123", "4", "-", "07", "=", "5"
    assert num.decode(ids) == "1234-07=5" and num.encode("7") != num.encode("07")


def test_char_tokenizer_as_transformers_tokenizer_gives_the_same_ids():
    from entropy_rl.models.tokenizers import BOS, EOS, PAD, CharTokenizer, NumberTokenizer

    char = CharTokenizer("0123456789+-= ")
    hf = char.to_transformers()
    rng = random.Random(0)
    for _ in range(50):
        text = "".join(rng.choice(char.alphabet) for _ in range(rng.randint(1, 12)))
        assert hf(text).input_ids == [BOS, *char.encode(text)]  # as Policy.prompt_ids
        assert hf.decode([*char.encode(text), EOS, PAD], skip_special_tokens=True) == char.decode(char.encode(text))
    assert (hf.pad_token_id, hf.bos_token_id, hf.eos_token_id) == (PAD, BOS, EOS)
    with pytest.raises(ValueError, match="character tokenizer, not NumberTokenizer"):
        NumberTokenizer("0123456789+-=").to_transformers()


def test_noisy_teacher_units():
    from entropy_rl.models.tiny import _noisy_answer

    task = ReasoningGymTask(TaskConfig(name="chain_sum", n_train=20, n_heldout=5))
    p = task.heldout[0]
    rng = random.Random(0)
    assert _noisy_answer(task, p, rng, 0.0, "digit") == p.answer
    flipped = _noisy_answer(task, p, rng, 1.0, "digit")
    assert len(flipped) == len(p.answer)
    assert all(a != b for a, b in zip(flipped, p.answer, strict=True) if b.isdigit())
    assert all(a == b for a, b in zip(flipped, p.answer, strict=True) if not b.isdigit())
    long = Problem(prompt="x", answer="12345678")
    outs = [_noisy_answer(task, long, random.Random(i), 0.25, "digit") for i in range(200)]
    changed = sum(a != b for o in outs for a, b in zip(o, "12345678", strict=True)) / (200 * 8)
    assert 0.2 < changed < 0.3
    assert _noisy_answer(task, p, rng, 0.0, "answer") == p.answer
    assert _noisy_answer(task, p, rng, 1.0, "answer") != p.answer


def test_token_labels_are_readable():
    from entropy_rl.models.policy import Policy
    from entropy_rl.models.tokenizers import EOS, PAD, CharTokenizer

    policy = Policy(model=None, tokenizer=CharTokenizer("a\n"), chat=False, name="t")
    assert policy.token_label(3) == "a"
    assert policy.token_label(4) == "\\n"  # escaped, so a table shows it
    assert policy.token_label(EOS) == "<eos>"
    assert policy.token_label(PAD) == "<id 0>"


def test_countdown_systematic_error_writes_minus_as_plus():
    """The showcase teacher's consistent mistake: only on problems that need a subtraction, a
    correct expression with '-' turned into '+', which scores as wrong (right numbers, 0.05)."""
    opts = {"min_numbers": 3, "max_numbers": 3, "min_value": 1, "max_value": 9, "min_target": 1,
            "max_target": 60, "operators": ["+", "-", "*"]}
    task = make_task(TaskConfig(name="countdown", n_train=200, n_heldout=5, options=opts))
    rng = random.Random(0)
    applies = 0
    for p in task.train_pool:
        correct, _ = task._expressions(p)
        err = task.systematic_error(p, rng)
        if correct and all("-" in e for e in correct):
            applies += 1
            assert err is not None and "-" not in err and err.replace("+", "-") != err
            assert task.score(p, err).reward == 0.05
        else:
            assert err is None
    assert 0.3 < applies / len(task.train_pool) < 0.7  # about half of these problems subtract


def test_biased_teacher_only_biases_its_class():
    from entropy_rl.models.tiny import _noisy_answer

    opts = {"min_numbers": 3, "max_numbers": 3, "min_value": 1, "max_value": 9, "min_target": 1,
            "max_target": 60, "operators": ["+", "-", "*"]}
    task = make_task(TaskConfig(name="countdown", n_train=200, n_heldout=5, options=opts))
    sub = next(p for p in task.train_pool if task.systematic_error(p, random.Random(0)) is not None)
    other = next(p for p in task.train_pool if task.systematic_error(p, random.Random(0)) is None)
    rng = random.Random(1)
    outs = [task.score(sub, _noisy_answer(task, sub, rng, 0.0, "answer", bias=0.65)).reward for _ in range(400)]
    wrong = sum(r < 1 for r in outs) / len(outs)
    assert 0.58 < wrong < 0.72  # the error at rate `bias`, a correct answer otherwise
    # on the other class only the usual noise applies, and bias 0 leaves the stream as before
    assert all(task.score(other, _noisy_answer(task, other, rng, 0.0, "answer", bias=1.0)).reward == 1 for _ in range(50))
    a, b = random.Random(5), random.Random(5)
    assert [_noisy_answer(task, sub, a, 0.3, "answer") for _ in range(20)] == [
        _noisy_answer(task, sub, b, 0.3, "answer", bias=0.0) for _ in range(20)
    ]


def test_last_number_answers_for_instruct_models():
    from entropy_rl.scoring.answers import last_number

    assert last_number("12 + 25 = 37.") == "37"
    assert last_number("The final answer is -29.") == "-29"
    assert last_number("3.5, then 4") == "4" and last_number("no digits") is None
    opts = {"min_terms": 2, "max_terms": 2, "min_digits": 2, "max_digits": 2}
    task = make_task(TaskConfig(name="chain_sum", compact=False, answer_format="last_number", n_train=20, n_heldout=4, options=opts))
    p = task.heldout[0]
    assert "boxed" not in p.prompt
    assert task.score(p, f"Adding them: the sum is {p.answer}.").reward == 1.0
    assert task.score(p, f"{p.answer} plus one is {int(p.answer) + 1}").reward == 0.0  # the last number counts
    assert task.score(p, "I cannot say").reason == "no_answer"
    boxed = make_task(TaskConfig(name="chain_sum", compact=False, n_train=20, n_heldout=4, options=opts))
    assert "boxed" in boxed.heldout[0].prompt


def test_prompt_template_over_the_entry_metadata():
    opts = {"min_terms": 2, "max_terms": 2, "min_digits": 2, "max_digits": 2}
    cfg = TaskConfig(name="chain_sum", compact=False, answer_format="last_number", prompt_template="What is {expression}?", n_train=20, n_heldout=4, options=opts)
    p = make_task(cfg).heldout[0]
    assert p.prompt == f"What is {p.entry['metadata']['expression']}?"
    with pytest.raises(ValueError, match=r"task.prompt_template.*'bogus'.*expression"):
        make_task(cfg.model_copy(update={"prompt_template": "What is {bogus}?"}))
