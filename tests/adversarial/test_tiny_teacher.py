"""The tiny model trains on any valid JSONL task: negative, decimal, fraction and text answers."""

import json

from entropy_rl.models.load import load_policy
from entropy_rl.tasks.factory import make_task
from entropy_rl.train.trainer import read_metrics, train


def test_a_jsonl_task_with_any_answers_trains_the_tiny_model(tiny_config, tmp_path):
    answers = ["-3", "2.5", "3/4", "yes", "no", "-10", "0.125", "7", "-1/2", "maybe", "12", "-0.5"]
    path = tmp_path / "rows.jsonl"
    path.write_text("".join(json.dumps({"prompt": f"q{i}:", "answer": a}) + "\n" for i, a in enumerate(answers * 3)))
    cfg = tiny_config("task.name=jsonl", f"task.path={path}", "task.n_heldout=6", "trainer.steps=1")
    train(cfg, tmp_path / "run", quiet=True)
    assert [r["step"] for r in read_metrics(tmp_path / "run")] == [0]


def test_the_noisy_teacher_stays_in_each_answer_format(tiny_config, tmp_path):
    import random

    path = tmp_path / "rows.jsonl"
    rows = [("a", "-3"), ("b", "2.50"), ("c", "3/4"), ("d", "yes"), ("e", "no")] * 2
    path.write_text("".join(json.dumps({"prompt": p, "answer": a}) + "\n" for p, a in rows))
    task = make_task(tiny_config("task.name=jsonl", f"task.path={path}", "task.n_heldout=2").task)
    rng = random.Random(0)
    for p in task.train_pool:
        wrong = task.wrong_answer(p, rng)
        assert wrong != p.answer or len({q.answer for q in task.train_pool}) == 1
        if p.answer == "2.50":
            assert len(wrong.split(".")[1]) == 2
        if p.answer == "3/4":
            assert wrong.endswith("/4")
        assert set(wrong) <= set(task.alphabet)
    load_policy(tiny_config("task.name=jsonl", f"task.path={path}", "task.n_heldout=2").model, task, seed=0, log=lambda *a: None)
