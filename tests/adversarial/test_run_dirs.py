"""Run directories are untrusted: resuming one never runs code from it, and every damaged file is
a one-line error naming it (or, for a torn last log line, a note), never a traceback."""

import os
import pickle
import shutil

import pytest
import torch
from typer.testing import CliRunner

from entropy_rl.cli import app
from entropy_rl.files import CheckpointError
from entropy_rl.train.trainer import read_metrics, train


class Payload:
    """Unpickling it runs a shell command (what a malicious checkpoint would do)."""

    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


@pytest.fixture(scope="module")
def finished_run(tmp_path_factory, tiny_cache):
    from entropy_rl.config import load_config
    from tests.conftest import TINY

    cfg = load_config(None, [*TINY, f"model.cache_dir={tiny_cache}", "trainer.checkpoint_every=1"])
    run = tmp_path_factory.mktemp("src") / "run"
    train(cfg, run, quiet=True)
    return run


@pytest.fixture
def run(finished_run, tmp_path):
    copy = tmp_path / "run"
    shutil.copytree(finished_run, copy)
    return copy


def _resume(run, steps=3):
    from entropy_rl.config import load_config

    cfg = load_config(run / "config.yaml", [f"trainer.steps={steps}"])
    return train(cfg, run, resume=True, quiet=True)


@pytest.mark.parametrize("name", ["checkpoint-1/optimizer.pt", "checkpoint-1/state.pt", "probe.pt"])
def test_a_pickle_that_runs_code_is_refused_and_never_run(run, tmp_path, name):
    marker = tmp_path / "pwned"
    torch.save({"x": Payload(marker)}, run / name)
    with pytest.raises(CheckpointError, match=f"{name.split('/')[-1]} cannot be read safely"):
        _resume(run)
    assert not marker.exists()


def test_the_checkpoint_files_hold_only_plain_values(run):
    plain = (dict, list, tuple, str, int, float, bool, type(None), torch.Tensor)

    def leaves(obj):
        if isinstance(obj, dict):
            assert all(isinstance(k, str | int) for k in obj)
            for v in obj.values():
                yield from leaves(v)
        elif isinstance(obj, list | tuple):
            for v in obj:
                yield from leaves(v)
        else:
            yield obj

    for name in ("checkpoint-1/optimizer.pt", "checkpoint-1/state.pt", "probe.pt"):
        data = torch.load(run / name, weights_only=True)  # raises on any other Python object
        found = list(leaves(data))
        assert found and all(isinstance(x, plain) for x in found), name
        assert any(isinstance(x, torch.Tensor) for x in found), name  # the state is really in it


@pytest.mark.parametrize(
    "damage",
    [
        lambda p: p.write_bytes(p.read_bytes()[: len(p.read_bytes()) // 2]),  # truncated
        lambda p: p.write_bytes(os.urandom(4096)),  # random
        lambda p: p.write_bytes(b""),  # empty
    ],
    ids=["truncated", "random", "empty"],
)
@pytest.mark.parametrize("name", ["state.pt", "optimizer.pt", "model.safetensors"])
def test_a_damaged_checkpoint_file_is_an_error_naming_it(run, damage, name):
    damage(run / "checkpoint-1" / name)
    with pytest.raises(CheckpointError, match=f"checkpoint-1/{name}"):
        _resume(run)


def test_the_error_points_to_an_older_complete_checkpoint(run):
    shutil.copytree(run / "checkpoint-1", run / "checkpoint-0")
    (run / "checkpoint-1" / "state.pt").write_bytes(b"")
    with pytest.raises(CheckpointError, match="an older complete checkpoint exists: .*checkpoint-0"):
        _resume(run)


@pytest.mark.parametrize("target", ["../elsewhere", "/etc", "checkpoint-1/../../x", "latest"])
def test_latest_cannot_point_outside_the_run(run, target):
    (run / "latest").write_text(target)
    with pytest.raises(CheckpointError, match="not a checkpoint-<step> folder"):
        _resume(run)


def test_a_torn_last_log_line_is_dropped_and_said(run, capsys):
    with (run / "metrics.jsonl").open("a") as f:
        f.write('{"step": 2, "reward": 0.')  # the run died while writing step 2
    _resume(run)
    assert "dropped an incomplete last line" in capsys.readouterr().err
    assert [r["step"] for r in read_metrics(run)] == [0, 1, 2]


def test_a_bad_log_line_in_the_middle_is_an_error_naming_it(run):
    lines = (run / "metrics.jsonl").read_text().splitlines()
    (run / "metrics.jsonl").write_text("\n".join(["{not json", *lines]) + "\n")
    with pytest.raises(CheckpointError, match=r"metrics.jsonl:1: not a metrics row"):
        _resume(run)


def test_the_cli_says_it_in_one_line(run, tmp_path):
    marker = tmp_path / "pwned"
    torch.save(Payload(marker), run / "checkpoint-1" / "state.pt")
    res = CliRunner().invoke(app, ["train", "--resume", str(run), "--set", "trainer.steps=3", "--quiet"])
    assert res.exit_code == 2
    assert "state.pt cannot be read safely" in res.output
    assert "Traceback" not in res.output and not marker.exists()


def test_a_pickled_object_outside_torch_is_refused_too(run, tmp_path):
    marker = tmp_path / "pwned"
    (run / "checkpoint-1" / "state.pt").write_bytes(pickle.dumps(Payload(marker), protocol=2))
    with pytest.raises(CheckpointError, match="state.pt"):
        _resume(run)
    assert not marker.exists()
