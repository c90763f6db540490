"""Bad configs, `--set` values and dataset rows: each is one line naming the field or the row, exit
status 2, and nothing is built or trained first. Fixtures: tests/adversarial/fixtures/."""

import json
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
