"""A run directory is data, never code: what an adversarial pass found, each with its variants.

Resuming or evaluating a run never imports code it names; its strings never reach the report's
HTML raw; planted links never redirect a write; reads are bounded; one writer at a time; a
tampered checkpoint, log or JSON file is a one-line error naming it."""

import json
import os
import shutil
import threading
import time

import pytest
import torch
from safetensors.torch import load_file, save_file
from typer.testing import CliRunner

from entropy_rl.cli import app
from entropy_rl.files import CheckpointError, RunLocked, read_metrics, run_lock
from entropy_rl.train.trainer import train


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


def _cli(*args):
    return CliRunner().invoke(app, [str(a) for a in args], catch_exceptions=False)


def _one_line_error(res) -> str:
    assert res.exit_code == 2, res.output
    lines = res.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), res.output
    return lines[0]


def _resume(run, steps=3, config=None):
    from entropy_rl.config import load_config

    cfg = load_config(config or run / "config.yaml", [f"trainer.steps={steps}"])
    return train(cfg, run, resume=True, quiet=True)


# ----------------------------------------------------------------------------- 1. code execution


def _plant_reward_fn(run, marker, spec_of):
    (run / "notes.py").write_text(
        f"import pathlib\npathlib.Path({str(marker)!r}).write_text('ran')\n"
        "def score(prompt, response, answer):\n    return 1.0\n"
    )
    cfg = (run / "config.yaml").read_text().replace("reward_fn: null", f"reward_fn: {spec_of(run)}")
    (run / "config.yaml").write_text(cfg)


SPECS = {
    "absolute": lambda run: f"{run}/notes.py:score",
    "relative": lambda run: f"{os.path.relpath(run)}/notes.py:score",
}


@pytest.mark.parametrize("spec", sorted(SPECS))
@pytest.mark.parametrize("command", ["resume", "eval"])
def test_a_reward_function_named_by_a_run_directory_is_never_imported(run, tmp_path, spec, command):
    marker = tmp_path / "pwned"
    _plant_reward_fn(run, marker, SPECS[spec])
    if command == "resume":
        res = _cli("train", "--resume", run, "--set", "trainer.steps=3", "--quiet")
    else:
        res = _cli("eval", run, "--data", "chain_sum", "--k", "1", "--n", "1")
    line = _one_line_error(res)
    assert "never run on its word" in line and "--reward-fn" in line
    assert not marker.exists()


def test_a_different_reward_function_on_the_command_line_does_not_unlock_it(run, tmp_path):
    marker = tmp_path / "pwned"
    _plant_reward_fn(run, marker, SPECS["absolute"])
    other = tmp_path / "mine.py"
    other.write_text("def score(prompt, response, answer):\n    return 0.0\n")
    res = _cli("train", "--resume", run, "--set", "trainer.steps=3", "--quiet", "--reward-fn", f"{other}:score")
    assert "never run on its word" in _one_line_error(res) and not marker.exists()


def test_the_same_reference_passed_again_is_the_users_choice(run, tmp_path):
    marker = tmp_path / "ran"
    _plant_reward_fn(run, marker, SPECS["absolute"])
    res = _cli("train", "--resume", run, "--set", "trainer.steps=3", "--quiet", "--reward-fn", f"{run}/notes.py:score")
    assert res.exit_code == 0, res.output
    assert marker.exists()


# ----------------------------------------------------------------------------- 2. stored XSS

XSS = ["<img src=x onerror=alert(1)>", "<script>alert(2)</script>", "\"><svg onload=alert(3)>"]


@pytest.mark.parametrize("payload", XSS)
def test_strings_from_run_files_never_reach_the_page_raw(run, tmp_path, payload):
    second = tmp_path / f"other{payload[:4].strip('<>')}"
    shutil.copytree(run, second)
    initial = json.loads((run / "initial_eval.json").read_text())
    initial[f"pass@2_{payload}"] = 0.5
    (run / "initial_eval.json").write_text(json.dumps(initial))
    rows = (second / "metrics.jsonl").read_text().splitlines()
    last = json.loads(rows[-1])
    last[f"eval_pass@4_{payload}"] = 0.5
    last[payload] = 1.0
    (second / "metrics.jsonl").write_text("\n".join([*rows[:-1], json.dumps(last)]) + "\n")
    drivers = json.loads((run / "token_drivers.json").read_text())
    drivers["top"][0]["token"] = payload
    (run / "token_drivers.json").write_text(json.dumps(drivers))
    res = _cli("report", run, second, "--out", tmp_path / "report")
    assert res.exit_code == 0, res.output
    page = (tmp_path / "report" / "index.html").read_text()
    assert payload not in page and "onerror=" not in page.replace("onerror=alert(1)&gt;", "")
    assert "<script" not in page and "<svg" not in page


@pytest.mark.parametrize("name", ["$\\frac{1}{$", "$x^$", "a$b$c$"])
def test_a_run_named_like_mathtext_is_plain_text_in_the_plots(run, tmp_path, name):
    odd = tmp_path / name
    shutil.copytree(run, odd)
    res = _cli("report", odd, "--out", tmp_path / "report")
    assert res.exit_code == 0, res.output


# ----------------------------------------------------------------------------- 3. planted links


@pytest.mark.parametrize(
    "name", ["config.yaml", "metrics.jsonl.tmp", "latest.tmp", "token_drivers.json.tmp", "interrupted", "token_drivers.json"]
)
def test_a_planted_link_in_a_run_directory_is_never_written_through(run, tmp_path, name):
    target = tmp_path / "victim.txt"
    target.write_text("precious")
    shutil.copy(run / "config.yaml", tmp_path / "config.yaml")
    (run / name).unlink(missing_ok=True)
    (run / name).symlink_to(target)
    _resume(run, config=tmp_path / "config.yaml")
    assert target.read_text() == "precious"
    assert [r["step"] for r in read_metrics(run)] == [0, 1, 2]


def test_a_planted_link_as_the_log_itself_is_refused_or_replaced(run, tmp_path):
    target = tmp_path / "victim.jsonl"
    shutil.copy(run / "metrics.jsonl", target)
    before = target.read_text()
    (run / "metrics.jsonl").unlink()
    (run / "metrics.jsonl").symlink_to(target)
    _resume(run)
    assert target.read_text() == before and not (run / "metrics.jsonl").is_symlink()


@pytest.mark.parametrize("name", ["index.html", "summary.json", "entropy.png"])
def test_a_planted_link_in_the_report_directory_is_never_written_through(run, tmp_path, name):
    out = tmp_path / "report"
    out.mkdir()
    target = tmp_path / "victim"
    target.write_text("precious")
    (out / name).symlink_to(target)
    assert _cli("report", run, "--out", out).exit_code == 0
    assert target.read_text() == "precious"


# ----------------------------------------------------------------------------- 5. bounded reads


@pytest.mark.parametrize("name", ["latest", "metrics.jsonl", "initial_eval.json", "token_drivers.json"])
@pytest.mark.parametrize("kind", ["dev_zero", "fifo"])
def test_a_device_or_fifo_in_a_run_directory_is_refused_at_once(run, name, kind):
    (run / name).unlink()
    if kind == "fifo":
        os.mkfifo(run / name)
    else:
        (run / name).symlink_to("/dev/zero")
    t0 = time.time()
    command = ["fit", run] if name != "latest" else ["eval", run, "--data", "chain_sum", "--k", "1", "--n", "1"]
    line = _one_line_error(_cli(*command))
    assert "not a regular file" in line and name in line
    assert time.time() - t0 < 30


# ----------------------------------------------------------------------------- 6. silent corruption


def test_a_second_writer_is_refused_while_the_first_holds_the_run(run):
    with run_lock(run):
        with pytest.raises(RunLocked, match="being written by another process"):
            _resume(run)
        res = _cli("train", "--resume", run, "--set", "trainer.steps=3", "--quiet")
        assert "being written by another process" in _one_line_error(res)
    _resume(run)  # free again once the first writer is done


def test_two_trainings_into_one_directory_at_once_never_interleave(finished_run, tmp_path, tiny_cache):
    from entropy_rl.config import load_config
    from tests.conftest import TINY

    cfg = load_config(None, [*TINY, f"model.cache_dir={tiny_cache}", "trainer.steps=40"])
    out, errors = tmp_path / "same", []
    first = threading.Thread(target=lambda: train(cfg, out, quiet=True))
    first.start()
    while first.is_alive() and not (out / "metrics.jsonl").exists():
        time.sleep(0.05)
    for resume in (False, True):  # a second `train --out SAME`, and a resume of it, while it runs
        try:
            train(cfg, out, resume=resume, quiet=True)
        except (RunLocked, FileExistsError) as e:
            errors.append(e)
    first.join()
    assert len(errors) == 2 and any(isinstance(e, RunLocked) for e in errors)
    assert [r["step"] for r in read_metrics(out)] == list(range(40))


@pytest.mark.parametrize("steps", [[0, 1, 1], [0, 2, 1], [1, 0]])
def test_fit_refuses_repeated_or_backward_steps(run, steps):
    row = json.loads((run / "metrics.jsonl").read_text().splitlines()[0])
    (run / "metrics.jsonl").write_text("".join(json.dumps({**row, "step": s}) + "\n" for s in steps))
    assert "does not follow step" in _one_line_error(_cli("fit", run))


@pytest.mark.parametrize("step", [-5, 7, "1", 1.0, None])
def test_a_checkpoint_step_that_is_not_its_folders_is_refused_and_the_log_kept(run, step):
    path = run / "checkpoint-1" / "state.pt"
    state = torch.load(path, weights_only=True)
    state["step"] = step
    torch.save(state, path)
    before = (run / "metrics.jsonl").read_text()
    with pytest.raises(CheckpointError, match="state.pt: step"):
        _resume(run)
    assert (run / "metrics.jsonl").read_text() == before


@pytest.mark.parametrize(
    ("values", "match"),
    [
        ({"clip_ratio_c": 0.5}, "not one a controller sets"),
        ({"clip_ratio_low": 0.3}, "not one a controller sets"),
        ({"clip_cov_ratio": -3}, r"clip_cov_ratio = -3 is not a number in \[0, 1\]"),
        ({"kl_cov_coef": float("inf")}, "kl_cov_coef"),
        ({"lambda_pos": float("nan")}, "lambda_pos"),
        ({"lambda_pos": -1.0}, "lambda_pos"),
        ({"entropic_alpha": 5.0}, "entropic_alpha"),
        ({"entropy_coef": "1"}, "entropy_coef"),
    ],
)
def test_checkpointed_loss_settings_are_validated(run, values, match):
    path = run / "checkpoint-1" / "state.pt"
    state = torch.load(path, weights_only=True)
    state["loss_dynamic"] = {**state["loss_dynamic"], **values}
    torch.save(state, path)
    with pytest.raises(CheckpointError, match=match):
        _resume(run)


# ----------------------------------------------------------------------------- 7. tampered checkpoints


def _edit_weights(run, edit):
    path = run / "checkpoint-1" / "model.safetensors"
    weights = load_file(path)
    edit(weights)
    save_file(weights, path)


def _edit_state(run, edit, name="state.pt"):
    path = run / "checkpoint-1" / name
    state = torch.load(path, weights_only=True)
    edit(state)
    torch.save(state, path)


def _first(d):
    return next(iter(d))


TAMPERED = {
    "weight_shape": lambda r: _edit_weights(r, lambda w: w.update({_first(w): torch.zeros(3, 3)})),
    "weight_nan": lambda r: _edit_weights(r, lambda w: w[_first(w)].fill_(float("nan"))),
    "weight_inf": lambda r: _edit_weights(r, lambda w: w[_first(w)].fill_(float("inf"))),
    "rng_torch_size": lambda r: _edit_state(r, lambda s: s["rng"].update(torch_cpu=s["rng"]["torch_cpu"][:100])),
    "rng_clip_cov_size": lambda r: _edit_state(r, lambda s: s["rng"].update(clip_cov=torch.zeros(7, dtype=torch.uint8))),
    "rng_python": lambda r: _edit_state(r, lambda s: s["rng"].update(python=(3, (1, 2), None))),
    "rng_numpy_keys": lambda r: _edit_state(
        r, lambda s: s["rng"].update(numpy=("MT19937", torch.zeros(5, dtype=torch.int64), 0, 0, 0.0))
    ),
    "rng_missing": lambda r: _edit_state(r, lambda s: s.update(rng={})),
    "optimizer_shape": lambda r: _edit_state(
        r, lambda s: s["state"][_first(s["state"])].update(exp_avg=torch.zeros(2, 2)), "optimizer.pt"
    ),
    "optimizer_nan": lambda r: _edit_state(
        r, lambda s: s["state"][_first(s["state"])]["exp_avg_sq"].fill_(float("nan")), "optimizer.pt"
    ),
    "optimizer_params": lambda r: _edit_state(r, lambda s: s["param_groups"][0].update(params=[0]), "optimizer.pt"),
    "state_not_dict": lambda r: torch.save([1, 2, 3], r / "checkpoint-1" / "state.pt"),
    "hidden_size": lambda r: (r / "config.yaml").write_text(
        (r / "config.yaml").read_text().replace("hidden_size: 32", "hidden_size: 64")
    ),
}


@pytest.mark.parametrize("case", sorted(TAMPERED))
def test_a_tampered_checkpoint_is_one_line_naming_the_file(run, case):
    TAMPERED[case](run)
    res = _cli("train", "--resume", run, "--set", "trainer.steps=3", "--quiet")
    line = _one_line_error(res)
    assert "checkpoint-1" in line, line
    assert "Traceback" not in res.output


# ----------------------------------------------------------------------------- 7. tampered logs for fit / report


def _last_row(run, **values):
    rows = (run / "metrics.jsonl").read_text().splitlines()
    last = {**json.loads(rows[-1]), **values}
    (run / "metrics.jsonl").write_text("\n".join([*rows[:-1], json.dumps(last), ""]))


def _write(run, name, text):
    (run / name).write_text(text)


LOGS = {
    "value_dict": (lambda r: _last_row(r, entropy={"a": 1}), "field `entropy` is not a number"),
    "value_list": (lambda r: _last_row(r, eval_accuracy=[1, 2]), "field `eval_accuracy` is not a number"),
    "value_huge": (lambda r: _last_row(r, entropy=10**400), "field `entropy` is not a number"),
    "value_long_string": (lambda r: _last_row(r, reward="x" * 5000), "field `reward` is not a number"),
    "empty_metrics": (lambda r: _write(r, "metrics.jsonl", ""), "holds no metrics rows"),
    "drivers_not_json": (lambda r: _write(r, "token_drivers.json", "{nope"), "token_drivers.json is not valid JSON"),
    "drivers_shape": (lambda r: _write(r, "token_drivers.json", '{"top": 3}'), "not a token_drivers file"),
    "drivers_count": (
        lambda r: _write(r, "token_drivers.json", json.dumps({"covariance_total": 1, "top": [{"token": "a", "count": "x", "covariance_sum": 1, "mean_entropy": 1}]})),
        "top[0].count is not a number",
    ),
    "initial_list": (lambda r: _write(r, "initial_eval.json", "[1, 2]"), "initial_eval.json is not a JSON object"),
    "initial_value_dict": (lambda r: _write(r, "initial_eval.json", '{"accuracy": {"x": 1}}'), "field `accuracy`"),
    "initial_huge": (lambda r: _write(r, "initial_eval.json", '{"accuracy": 1' + "0" * 400 + "}"), "field `accuracy`"),
    "initial_deep": (lambda r: _write(r, "initial_eval.json", "[" * 100_000 + "]" * 100_000), "initial_eval.json is not valid JSON"),
    "step_string": (lambda r: _write(r, "metrics.jsonl", '{"step": "0"}\n{"step": 1}\n'), "not a metrics row"),
    "eval_summary": (lambda r: (r / "eval").mkdir() or _write(r, "eval/summary.json", '{"x": [1]}'), "summary.json: field `x`"),
}


@pytest.mark.parametrize("case", sorted(LOGS))
@pytest.mark.parametrize("command", ["fit", "report"])
def test_a_tampered_log_is_one_line_for_fit_and_report(run, tmp_path, case, command):
    damage, expected = LOGS[case]
    damage(run)
    args = ["fit", run] if command == "fit" else ["report", run, "--out", tmp_path / "report"]
    line = _one_line_error(_cli(*args))
    assert expected in line, line


@pytest.mark.parametrize("text", ["{}", "[1, 2]", '[{"temperature": "hot", "entropy": 1, "accuracy": 1}]', "nope"])
def test_a_tampered_baseline_is_one_line(run, tmp_path, text):
    (tmp_path / "b.json").write_text(text)
    line = _one_line_error(_cli("report", run, "--out", tmp_path / "report", "--baseline", tmp_path / "b.json"))
    assert "b.json" in line


# ----------------------------------------------------------------------------- 7. where the run cannot be written


@pytest.mark.parametrize("out", ["/proc/entropy-rl-run", "FILE/run", "x" * 5000])
def test_an_unwritable_or_impossible_out_is_one_line(tmp_path, out, tiny_cache, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "FILE").write_text("a file, not a folder")
    from tests.conftest import TINY

    sets = [a for s in [*TINY, f"model.cache_dir={tiny_cache}"] for a in ("--set", s)]
    (tmp_path / "c.yaml").write_text("trainer:\n  steps: 1\n")
    res = _cli("train", tmp_path / "c.yaml", "--out", out, *sets, "--quiet")
    line = _one_line_error(res)
    assert len(line) < 400


def test_a_full_disk_mid_run_is_one_line_and_keeps_the_completed_steps(tmp_path, tiny_cache, monkeypatch):
    import errno

    import entropy_rl.train.checkpoint as checkpoint
    from tests.conftest import TINY

    def full(*args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device", str(tmp_path / "run" / "model.safetensors"))

    monkeypatch.setattr(checkpoint, "save_file", full)
    (tmp_path / "c.yaml").write_text("trainer:\n  steps: 2\n")
    sets = [a for s in [*TINY, f"model.cache_dir={tiny_cache}"] for a in ("--set", s)]
    line = _one_line_error(_cli("train", tmp_path / "c.yaml", "--out", tmp_path / "run", *sets, "--quiet"))
    assert "No space left on device" in line
    assert [r["step"] for r in read_metrics(tmp_path / "run")] == [0, 1]


@pytest.mark.parametrize("target", ["/dev/zero", "fifo"])
def test_a_dataset_path_that_is_a_device_or_fifo_is_refused(tmp_path, target):
    from entropy_rl.config import load_config
    from entropy_rl.tasks.factory import make_task

    if target == "fifo":
        os.mkfifo(tmp_path / "data.jsonl")
        target = tmp_path / "data.jsonl"
    else:
        (tmp_path / "data.jsonl").symlink_to(target)
    t0 = time.time()
    with pytest.raises((ValueError, CheckpointError), match="not a"):
        make_task(load_config(None, ["task.name=jsonl", f"task.path={tmp_path / 'data.jsonl'}"]).task)
    assert time.time() - t0 < 5
