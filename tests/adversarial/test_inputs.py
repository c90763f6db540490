"""Bad configs, `--set` values and dataset rows: each is one line naming the field or the row, exit
status 2, and nothing is built or trained first. Fixtures: tests/adversarial/fixtures/."""

import json
import time
from pathlib import Path

import pytest
from typer.testing import CliRunner

from entropy_rl.cli import app

FIXTURES = Path(__file__).parent / "fixtures"
CONFIGS = json.loads((FIXTURES / "configs" / "expected.json").read_text())
ROWS = json.loads((FIXTURES / "rows" / "expected.json").read_text())


def _error_line(args, cwd: Path) -> str:
    res = CliRunner().invoke(app, args, catch_exceptions=False)
    assert res.exit_code == 2, res.output
    lines = res.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), res.output
    return lines[0]


@pytest.mark.parametrize("name", sorted(CONFIGS))
def test_a_bad_config_file_is_one_line_naming_the_field(name, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # a YAML tag that ran code would leave PWNED here
    line = _error_line(["train", str(FIXTURES / "configs" / name), "--out", str(tmp_path / "run")], tmp_path)
    assert CONFIGS[name] in line
    assert not (tmp_path / "run").exists() and not (tmp_path / "PWNED").exists()


@pytest.mark.parametrize(
    ("override", "expected"),
    [
        ("trainer.lr=[1", "override 'trainer.lr=[1': the value is not valid YAML"),
        ("trainer.lr=.inf", "config field `trainer.lr`: Input should be a finite number"),
        ("trainer.steps=true", "config field `trainer.steps`: Value error, expected a number, got a boolean"),
        ("task.score_timeout_s=.inf", "config field `task.score_timeout_s`"),
        ("trainer=3", "config field `trainer`"),
        ("trainer.lr.x=1", "config field `trainer.lr`"),
        ("model.tiny.num_heads.x=1", "`num_heads` is not a section"),
        ("noequals", "must look like key.path=value"),
        ("trainer.lr=!!python/object/apply:os.system [touch PWNED]", "the value is not valid YAML"),
    ],
)
def test_a_bad_override_is_one_line_naming_it(override, expected, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    line = _error_line(["train", str(FIXTURES / "configs" / "heads.yaml"), "--out", "run", "--set", "model.tiny.num_heads=2", "--set", override], tmp_path)
    assert expected in line
    assert not (tmp_path / "PWNED").exists()


def test_a_folder_as_config_is_one_line(tmp_path):
    line = _error_line(["train", str(tmp_path), "--out", str(tmp_path / "run")], tmp_path)
    assert f"config file {tmp_path} is not a file" in line


@pytest.mark.parametrize("name", sorted(ROWS))
def test_a_bad_dataset_row_is_one_line_naming_the_row(name, tmp_path):
    path = FIXTURES / "rows" / name
    args = ["train", str(FIXTURES / "configs" / "lr_negative.yaml"), "--out", str(tmp_path / "run")]
    args += ["--set", "trainer.lr=1e-3", "--set", "task.name=jsonl", "--set", f"task.path={path}"]
    line = _error_line(args, tmp_path)
    assert ROWS[name] in line


@pytest.mark.parametrize(
    ("override", "expected"),
    [
        ("trainer.steps=[&a [1,1,1,1,1,1,1,1], &b [*a,*a,*a,*a,*a,*a,*a,*a], [*b,*b,*b,*b,*b,*b,*b,*b]]", "YAML aliases"),
        ("trainer.lr={a: 1, a: 2}", "duplicate key 'a'"),
        ("trainer.steps=1:30", "config field `trainer.steps`"),
        ("task.options={1: 2}", "keys must be names"),
        ("task.options=" + "[" * 2000 + "]" * 2000, "nested too deeply"),
        ("trainer.seed=-1", "config field `trainer.seed`"),
        ("trainer.seed=4294967296", "config field `trainer.seed`"),
        ("task.score_timeout_s=1e308", "config field `task.score_timeout_s`"),
        ("trainer.eval_k=1e29", "config field `trainer.eval_k`"),
        ("rollout.max_new_tokens=100000000000000000000000000000", "config field `rollout.max_new_tokens`"),
        ("rollout.temperature=1e-320", "config field `rollout.temperature`"),
        ("model.cache_dir=" + "d" * 5000, "config field `model.cache_dir`"),
        ("trainer.steps=" + "9" * 5000, "an integer of over 400 digits"),
    ],
    ids=lambda v: v[:30],
)
def test_a_hostile_override_is_one_short_line(override, expected, tmp_path):
    t0 = time.time()
    line = _error_line(["train", str(FIXTURES / "configs" / "heads.yaml"), "--out", str(tmp_path / "run"), "--set", override], tmp_path)
    assert expected in line and len(line) < 600, line[:300]
    assert time.time() - t0 < 5 and not (tmp_path / "run").exists()


def test_a_long_set_value_is_quoted_cut_short(tmp_path):
    value = "[" + ", ".join(["abcdefgh"] * 50) + "]"  # 420+ characters where a number belongs
    line = _error_line(["train", str(FIXTURES / "configs" / "heads.yaml"), "--out", str(tmp_path / "r"), "--set", f"trainer.lr={value}"], tmp_path)
    assert "config field `trainer.lr`" in line and len(line) < 300


def test_an_alias_bomb_is_refused_at_once(tmp_path):
    t0 = time.time()
    line = _error_line(["train", str(FIXTURES / "configs" / "alias_bomb.yaml"), "--out", str(tmp_path / "run")], tmp_path)
    assert "aliases" in line and time.time() - t0 < 2.0
    assert (FIXTURES / "configs" / "alias_bomb.yaml").stat().st_size < 1024


def _jsonl_task(path, **extra):
    from entropy_rl.config import load_config
    from entropy_rl.tasks.factory import make_task

    sets = ["task.name=jsonl", f"task.path={path}", "task.n_heldout=20", *[f"task.{k}={v}" for k, v in extra.items()]]
    return make_task(load_config(None, sets).task)


def test_a_byte_order_mark_is_not_data(tmp_path):
    path = tmp_path / "bom.jsonl"
    rows = "".join(json.dumps({"prompt": f"{i}+1=", "answer": str(i + 1)}) + "\n" for i in range(10))
    path.write_bytes(b"\xef\xbb\xbf" + rows.encode())
    task = _jsonl_task(path)
    assert len(task.train_pool) + len(task.heldout) == 10
    assert all(not p.prompt.startswith("\ufeff") for p in task.train_pool + task.heldout)


@pytest.mark.parametrize("copies", [2, 5])
def test_repeated_rows_never_put_a_held_out_problem_in_training(tmp_path, copies):
    path = tmp_path / "dup.jsonl"
    rows = [json.dumps({"prompt": f"{i}*3=", "answer": str(3 * i)}) for i in range(40)] * copies
    path.write_text("\n".join(rows) + "\n")
    with pytest.warns(UserWarning, match=f"dropped {40 * (copies - 1)} repeated rows"):
        task = _jsonl_task(path)
    held = {p.prompt for p in task.heldout}
    assert len(held) == 20 and not held & {p.prompt for p in task.train_pool}


def test_one_prompt_with_two_answers_names_both_rows(tmp_path):
    path = tmp_path / "clash.jsonl"
    path.write_text('{"prompt": "1+1=", "answer": "2"}\n{"prompt": "2+2=", "answer": "4"}\n{"prompt": "1+1=", "answer": "3"}\n')
    with pytest.raises(ValueError, match="rows 1 and 3: the same prompt with two answers"):
        _jsonl_task(path)
