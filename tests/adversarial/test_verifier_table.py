"""The math verifier on a hidden-style table of (reference, answer, correct?) pairs, made of the
ways answers went wrong in the adversarial pass and their variants: equations and approximations
as answers, percentages, rounded decimals, thousands separators, the imaginary unit, and ordinary
answers that must stay right or wrong (tests/adversarial/fixtures/verifier_table.json)."""

import json
from collections import Counter
from pathlib import Path

import pytest

from entropy_rl.scoring.answers import exact_or_numeric_match
from entropy_rl.tasks.factory import make_task

TABLE = json.loads((Path(__file__).parent / "fixtures" / "verifier_table.json").read_text())


def test_the_table_is_large_and_covers_every_kind():
    assert len(TABLE) >= 200
    kinds = Counter(r["kind"] for r in TABLE)
    assert {"equation", "approx", "percent", "rounded", "thousands", "imaginary", "plain"} <= set(kinds)


def test_every_pair_of_the_table_gets_its_verdict():
    pytest.importorskip("math_verify")
    from entropy_rl.scoring.math_verify import MathVerifier

    verifier = MathVerifier(workers=2, timeout_s=10)
    try:
        verdicts = verifier.verify_many([r["gold"] for r in TABLE], [r["answer"] for r in TABLE])
    finally:
        verifier.close()
    wrong = [
        (r["kind"], r["gold"], r["answer"], v.reason)
        for r, v in zip(TABLE, verdicts, strict=True)
        if (v.reward == 1.0) != r["correct"]
    ]
    assert not wrong, f"{len(wrong)} of {len(TABLE)} misjudged: {wrong[:10]}"


def test_percent_is_the_fraction_only_where_the_task_says_so():
    pytest.importorskip("math_verify")
    from entropy_rl.scoring.math_verify import MathVerifier

    verifier = MathVerifier(workers=1, timeout_s=10, percent_as_fraction=True)
    try:
        got = [v.reward for v in verifier.verify_many(["0.5", "50", "0.125"], ["50\\%", "50\\%", "12.5%"])]
    finally:
        verifier.close()
    assert got == [1.0, 0.0, 1.0]


@pytest.mark.parametrize(
    ("gold", "pred", "same"),
    [
        ("12", "1 2", False), ("12", "$$1$2", False), ("12", "1$2", False), ("12", "$12$", True), ("12", "$$12$$", True),
        ("123", "1 23", False), ("x+1", "x + 1", True), ("x y", "xy", False), ("12", " 12 ", True), ("-3", "- 3", True),
    ],
)
def test_the_quick_match_reads_spaces_and_dollars_as_a_reader_would(gold, pred, same):
    assert exact_or_numeric_match(gold, pred) is same


@pytest.fixture(scope="module")
def chain_sum():
    from entropy_rl.config import load_config

    return make_task(load_config(None, ["task.n_train=50", "task.n_heldout=10"]).task)


@pytest.mark.parametrize(
    ("value", "answer", "reward"),
    [
        (-28, "-2,8", 0.0), (-28, "-2_8", 0.0), (-28, "-28", 1.0), (28, "2_8", 0.0), (28, "2,8", 0.0),
        (1000, "1,000", 1.0), (1000, "1_000", 0.0), (1000, "10,00", 0.0), (-1234, "-1,234", 1.0), (1234, "1,2,3,4", 0.0),
    ],
)
def test_chain_sum_reads_commas_only_as_thousands_and_underscores_never(chain_sum, value, answer, reward):
    from dataclasses import replace

    from entropy_rl.scoring.limits import safe_score

    problem = chain_sum.train_pool[0]
    problem = replace(problem, answer=str(value), entry={**problem.entry, "answer": str(value)})
    assert safe_score(chain_sum, problem, answer).reward == reward
