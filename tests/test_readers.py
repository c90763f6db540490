"""Readers of other engines' logs (analysis.readers), each on a fixture cut from a real log
(sources in tests/fixtures/README.md) or, for binary formats, written by the format's own library."""

import csv
import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from entropy_rl.analysis.readers import LogFormatError, parse_number, read_log
from entropy_rl.analysis.runs import load_run
from entropy_rl.cli import app

LOGS = Path(__file__).parent / "fixtures" / "logs"
REAL = Path(__file__).resolve().parents[2] / "shared" / "real-logs"
runner = CliRunner()


def by_step(log):
    return {r["step"]: r for r in log.rows}


@pytest.mark.parametrize(
    "text, value",
    [
        ("0.5", 0.5),
        ("-0.000", 0.0),
        ("-2.501", -2.501),
        ("1e-06", 1e-06),
        ("np.float64(0.009888888332578867)", 0.009888888332578867),
        ("np.int32(16)", 16.0),
        ("'0.375'", 0.375),
        ("'1.337e+04'", 13370.0),
        ("tensor(0.5, device='cuda:0')", 0.5),
        ("nan", None),
        ("np.float64(inf)", None),
        ("True_", None),
        ("[1, 2]", None),
        ("__import__('os')", None),
    ],
)
def test_logged_values_are_parsed_never_evaluated(text, value):
    assert parse_number(text) == value


def test_verl_console_2024_ansi_ray_prefix_old_entropy_key_and_one_line_initial_validation():
    log = read_log(LOGS / "verl_2024_console.log")
    rows = by_step(log)
    assert log.source == "verl-console"
    assert log.keys == {
        "entropy": "actor/entropy_loss",
        "reward": "critic/score/mean",
        "eval_accuracy": "val/test_score/openai/gsm8k",
    }
    assert sorted(rows) == list(range(19))  # model output containing "step:" is not a row
    assert rows[0]["entropy"] == 0.526 and rows[0]["reward"] == 0.012
    assert rows[0]["critic/advantages/min"] == -2.501 and rows[0]["critic/kl"] == 0.0
    # the initial validation (printed as a dict, keys without `val/`) is the policy that sampled step 0
    assert rows[0]["eval_accuracy"] == pytest.approx(0.0007621951219512195)
    assert rows[9]["eval_accuracy"] == 0.013
    assert [s for s, r in rows.items() if "eval_accuracy" in r] == [0, 9]  # the final print is not a row
    assert log.performance_key == "eval_accuracy"


def test_verl_2025_wandb_output_log_np_float64_step0_line_counted_once(tmp_path):
    run_dir = tmp_path / "run-20251129_221801-i80f2v90"
    (run_dir / "files").mkdir(parents=True)
    shutil.copy(LOGS / "verl_2025_wandb_output.log", run_dir / "files" / "output.log")
    log = read_log(run_dir)
    rows = by_step(log)
    assert log.source == "wandb-output-log (verl-console)"
    assert log.keys["entropy"] == "actor/entropy"
    assert log.keys["eval_accuracy"] == "val-aux/aime_2024/score/mean@30"
    # `training/global_step:N` inside a line is not a step; the initial-validation dict is not a second step 0
    assert sorted(rows) == list(range(22)) and not log.notes
    assert "entropy" not in rows[0] and rows[0]["eval_accuracy"] == pytest.approx(0.009888888888888885)
    assert rows[10]["entropy"] == pytest.approx(0.3711443543434143)
    assert rows[10]["eval_accuracy"] == pytest.approx(-0.9682222222222223)  # scores in [-1, 1]
    assert rows[1]["actor/pg_loss"] == pytest.approx(0.03507936282299592)


def test_a_resumed_verl_run_keeps_the_later_value_of_redone_steps(tmp_path):
    import re

    lines = (LOGS / "verl_2024_console.log").read_text().splitlines(keepends=True)
    # the run restarted from its step-9 checkpoint: steps 10-18 logged again, with other values
    redo = [ln.replace("actor/entropy_loss:", "actor/entropy_loss:1") for ln in lines if re.search(r"step:1\d - ", ln)]
    path = tmp_path / "resumed.log"
    path.write_text("".join(lines) + "".join(redo))
    log = read_log(path)
    rows = by_step(log)
    assert sorted(rows) == list(range(19)) and len(redo) == 9
    assert all(rows[s]["entropy"] > 1 for s in range(10, 19)) and all(rows[s]["entropy"] < 1 for s in range(10))
    assert log.notes == ["9 steps logged twice (a resumed run): the later values kept"]


def test_other_ray_prefixes_and_a_run_resumed_mid_way(tmp_path):
    path = tmp_path / "mid.log"
    path.write_text(
        "\x1b[36m(TaskRunner pid=3140, ip=10.0.0.2)\x1b[0m step:101 - actor/entropy:0.4 - critic/score/mean:-0.5\n"
        "(TaskRunner pid=3140) step:102 - actor/entropy:np.float64(0.3) - critic/score/mean:np.float64(-0.25)\n"
        "step:103 - actor/entropy:0.2 - critic/score/mean:0.0 - val-core/math/acc/mean@4:0.5 - val-core/gsm8k/acc/mean@4:0.7"
    )
    with open(path, "a") as f:  # a logger's timestamp before the line
        f.write("\n2025-06-01 12:00:01,123 INFO [rank0]: step:104 - actor/entropy:0.1 - critic/score/mean:0.1\n")
    rows = by_step(read_log(path))
    assert sorted(rows) == [101, 102, 103, 104]
    assert rows[102]["entropy"] == 0.3 and rows[102]["reward"] == -0.25
    assert rows[103]["eval_accuracy"] == pytest.approx(0.6)  # mean over data sources


def test_val_core_logged_only_at_step_0_gives_way_to_val_aux(tmp_path):
    lines = ["step:0 - val-core/aime/acc/mean@30:0.2 - val-aux/aime/score/mean@30:0.1"]
    for s in range(1, 31):
        extra = f" - val-aux/aime/score/mean@30:{0.1 + s / 100}" if s % 5 == 0 else ""
        lines.append(f"step:{s} - actor/entropy:{1 / s} - critic/score/mean:0.1{extra}")
    (tmp_path / "v.log").write_text("\n".join(lines) + "\n")
    log = read_log(tmp_path / "v.log")
    assert log.keys["eval_accuracy"] == "val-aux/aime/score/mean@30"
    assert by_step(log)[0]["eval_accuracy"] == 0.1 and by_step(log)[10]["eval_accuracy"] == pytest.approx(0.2)


def test_trl_console_dicts_inside_tqdm_steps_from_the_progress_bar():
    log = read_log(LOGS / "trl_console.log")
    rows = by_step(log)
    assert log.source == "trl-console" and sorted(rows) == [5, 10, 15, 20]
    assert rows[5]["reward"] == 0.375 and rows[5]["rewards/accuracy_reward/mean"] == 0.375
    assert isinstance(rows[5]["entropy"], float) and rows[5]["loss"] == pytest.approx(-4.768e-16)
    assert "train_runtime" not in set().union(*rows.values())
    assert log.performance_key == "reward"


def test_trl_console_without_a_progress_bar_numbers_rows(tmp_path):
    path = tmp_path / "plain.log"
    path.write_text("{'loss': 0.1, 'reward': 0.2, 'entropy': 0.9}\nnoise\n{'loss': 0.1, 'reward': 0.3, 'entropy': 0.8}\n")
    log = read_log(path)
    assert [r["step"] for r in log.rows] == [1, 2] and "rows' order" in log.notes[0]


def test_trainer_state_as_a_file_or_a_directory(tmp_path):
    as_file = read_log(LOGS / "trl_trainer_state.json")
    shutil.copy(LOGS / "trl_trainer_state.json", tmp_path / "trainer_state.json")
    as_dir = read_log(tmp_path)
    assert as_file.rows == as_dir.rows and as_file.source == "trl-trainer-state"
    assert [r["step"] for r in as_file.rows] == [5, 10, 15, 20]
    assert as_file.rows[0]["entropy"] == pytest.approx(0.9396193832159042)
    assert load_run(LOGS / "trl_trainer_state.json").method == "trl_trainer_state"


def test_a_bare_json_list_of_trl_rows(tmp_path):
    log = read_log(LOGS / "trl_log_history.json")
    assert log.source == "trl-log-history" and log.keys == {"entropy": "entropy", "reward": "reward"}
    assert [r["step"] for r in log.rows] == [5, 10, 15, 20, 25, 30, 35, 40]  # the train_runtime row left out
    assert log.rows[0]["entropy"] == pytest.approx(0.23870451748371124) and log.rows[1]["reward"] == 0.6375
    res = runner.invoke(app, ["fit", str(LOGS / "trl_log_history.json"), "--json"])
    assert res.exit_code == 0 and json.loads(res.output)["source"] == "trl-log-history", res.output
    for bad, where in (([{"step": 5, "entropy": 0.2}, 3], "the JSON list is not a list of rows"),
                       ([{"step": "5", "entropy": 0.2}], r"\[0\]: step .'5'. is not a step number")):
        (tmp_path / "h.json").write_text(json.dumps(bad))
        with pytest.raises(LogFormatError, match=where):
            read_log(tmp_path / "h.json")


def test_an_sft_log_is_a_one_line_error_saying_so(tmp_path):
    history = [{"step": s, "loss": 1.0 / s, "entropy": 1.0 / s, "mean_token_accuracy": 0.5} for s in (10, 20, 30)]
    (tmp_path / "trainer_state.json").write_text(json.dumps({"log_history": history}))
    with pytest.raises(LogFormatError, match="no reward nor validation score .an SFT log"):
        read_log(tmp_path)
    res = runner.invoke(app, ["fit", str(tmp_path)])
    assert res.exit_code != 0 and len(res.output.strip().splitlines()) == 1 and "SFT" in res.output
    # the user may still name a key
    assert read_log(tmp_path, perf_key="mean_token_accuracy").rows[0]["mean_token_accuracy"] == 0.5


def test_entropy_and_performance_keys_can_be_named(tmp_path):
    path = tmp_path / "x.log"
    path.write_text("".join(f"step:{s} - my/ent:{1 / s} - my/score:{s / 10}\n" for s in range(1, 9)))
    with pytest.raises(LogFormatError, match="no entropy key"):
        read_log(path)
    log = read_log(path, entropy_key="my/ent", perf_key="my/score")
    assert by_step(log)[4]["entropy"] == 0.25
    with pytest.raises(LogFormatError, match="no `nope` in any row"):
        read_log(path, entropy_key="nope")
    res = runner.invoke(app, ["fit", str(path), "--entropy-key", "my/ent", "--perf-key", "my/score", "--json"])
    assert res.exit_code == 0, res.output
    assert json.loads(res.output)["points"] == 8


def _write_csv(path, header, rows):
    with open(path, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(header)
        w.writerows(rows)


def test_wandb_csv_history_and_panel_exports(tmp_path):
    # values: the first steps of the 2024 verl fixture
    v = read_log(LOGS / "verl_2024_console.log").rows
    _write_csv(
        tmp_path / "history.csv",
        ["_step", "_runtime", "actor/entropy_loss", "critic/score/mean", "val/test_score/openai/gsm8k"],
        [[r["step"], 1.0, r["entropy"], r["reward"], r.get("eval_accuracy", "")] for r in v],
    )
    log = read_log(tmp_path / "history.csv")
    assert log.source == "wandb-csv" and [r["entropy"] for r in log.rows] == [r["entropy"] for r in v]
    assert by_step(log)[9]["eval_accuracy"] == 0.013 and "_runtime" not in log.rows[0]
    _write_csv(
        tmp_path / "panel.csv",
        ["Step", "ppo-run - actor/entropy", "ppo-run - actor/entropy__MIN", "ppo-run - actor/entropy__MAX",
         "ppo-run - critic/score/mean"],
        [[r["step"], r["entropy"], r["entropy"], r["entropy"], r["reward"]] for r in v],
    )
    log = read_log(tmp_path / "panel.csv")
    assert log.keys["entropy"] == "actor/entropy" and len(log.rows) == 19
    _write_csv(tmp_path / "two.csv", ["Step", "a - actor/entropy", "b - actor/entropy"], [[1, 0.5, 0.4]])
    with pytest.raises(LogFormatError, match="a CSV of 2 runs"):
        read_log(tmp_path / "two.csv")
    _write_csv(tmp_path / "bad.csv", ["_step", "actor/entropy"], [[1, 0.5], ["x", 0.4]])
    with pytest.raises(LogFormatError, match=r"bad.csv:3: step `x`"):
        read_log(tmp_path / "bad.csv")


def test_openrlhf_names_through_a_csv_export(tmp_path):
    _write_csv(
        tmp_path / "openrlhf.csv",
        ["train/global_step", "train/entropy_loss", "train/reward", "eval/pass1"],
        [[s, 1.0 / s, 0.1 * s, 0.05 * s if s % 2 == 0 else ""] for s in range(1, 9)],
    )
    log = read_log(tmp_path / "openrlhf.csv")
    assert log.keys == {"entropy": "train/entropy_loss", "reward": "train/reward", "eval_accuracy": "eval/pass1"}
    assert log.performance_key == "eval_accuracy"


def test_tensorboard_events_written_by_torch_are_read(tmp_path):
    pytest.importorskip("tensorboard")
    from torch.utils.tensorboard import SummaryWriter

    v = read_log(LOGS / "verl_2024_console.log").rows
    w = SummaryWriter(str(tmp_path / "tb"))
    for r in v:
        w.add_scalar("actor/entropy", r["entropy"], r["step"])
        w.add_scalar("critic/score/mean", r["reward"], r["step"])
    w.close()
    log = read_log(tmp_path / "tb")
    assert log.source == "tensorboard" and [r["step"] for r in log.rows] == list(range(19))
    assert [r["entropy"] for r in log.rows] == pytest.approx([r["entropy"] for r in v])
    event_file = next((tmp_path / "tb").glob("events.out.tfevents.*"))
    assert len(read_log(event_file).rows) == 19
    (tmp_path / "events.out.tfevents.broken").write_bytes(b"\x00garbage" * 10)
    with pytest.raises(LogFormatError):
        read_log(tmp_path / "events.out.tfevents.broken")


def test_a_wandb_offline_run_folder_is_read_through_the_sdk(tmp_path, monkeypatch):
    wandb = pytest.importorskip("wandb")
    monkeypatch.setenv("WANDB_MODE", "offline")
    monkeypatch.setenv("WANDB_SILENT", "true")
    monkeypatch.setenv("WANDB_CONSOLE", "off")
    run = wandb.init(project="p", dir=str(tmp_path), settings=wandb.Settings(console="off"))
    for s in range(1, 13):
        run.log({"actor/entropy": 1.0 / s, "critic/score/mean": 0.05 * s}, step=s)
    run.finish()
    # finish() can return before wandb's service has flushed the file's last block (seen under
    # load: 11 of 12 steps); teardown() waits for it, as a finished run's folder would be
    wandb.teardown()
    folder = next((tmp_path / "wandb").glob("offline-run-*"))
    log = read_log(folder)
    assert log.source == "wandb-history" and [r["step"] for r in log.rows] == list(range(1, 13))
    assert by_step(log)[4]["entropy"] == 0.25 and by_step(log)[4]["reward"] == pytest.approx(0.2)


@pytest.mark.parametrize(
    "name, content, message",
    [
        ("notes.txt", "just some text\nwith step: words\n", "not a log entropy-rl reads"),
        ("blob.bin", bytes(range(256)) * 8, "not a log entropy-rl reads"),
        ("empty.csv", "", "an empty CSV file"),
        ("other.json", '{"a": 1}', "`log_history` is not a list"),
        ("bad.jsonl", '{"step": 1, "data": {}}\n{"step": 2}\n', "bad.jsonl:2: not a verl file-logger line"),
        ("noent.log", "step:1 - critic/score/mean:0.5\nstep:2 - critic/score/mean:0.6\n", "no entropy key"),
        ("run-x.wandb", b":W&B\xe1\xbe\x00" + b"\x00\x00\x00\x00\x05\x00\x09hello", "a damaged W&B record"),
        ("run-y.wandb", b"not wandb at all", "no :W&B header"),
        ("huge.log", "step:1 - actor/entropy:1e400 - critic/score/mean:1\n" * 3, "no entropy key"),
    ],
)
def test_foreign_files_are_one_line_errors(tmp_path, name, content, message):
    path = tmp_path / name
    path.write_bytes(content if isinstance(content, bytes) else content.encode())
    with pytest.raises(LogFormatError, match=message):
        read_log(path)
    res = runner.invoke(app, ["fit", str(path)])
    assert res.exit_code != 0 and len(res.output.strip().splitlines()) == 1, res.output


def test_a_directory_with_no_log_names_what_it_looked_for(tmp_path):
    res = runner.invoke(app, ["fit", str(tmp_path)])
    assert res.exit_code != 0 and "trainer_state.json" in res.output and "TensorBoard" in res.output


@pytest.mark.skipif(not REAL.is_dir(), reason="../shared/real-logs is not in this checkout")
def test_every_real_log_reads_every_step_with_its_entropy_key():
    import re

    for path in sorted(REAL.iterdir()):
        if path.suffix not in (".log", ".json"):
            continue
        log = read_log(path)
        key = log.keys["entropy"]
        text = path.read_text(errors="replace")
        if path.suffix == ".json":
            data = json.loads(text)
            history = data if isinstance(data, list) else data["log_history"]
            expected = sum(key in r for r in history)
        elif log.source == "trl-console":
            expected = text.count(f"'{key}':")
        else:
            expected = len(set(re.findall(r"(?:^|\s)step:(\d+) - .*?" + re.escape(key) + ":", text, re.M)))
        assert sum(r.get("entropy") is not None for r in log.rows) == expected, path.name
        res = runner.invoke(app, ["fit", str(path), "--json"])
        assert res.exit_code == 0 and json.loads(res.output)["source"] == log.source, res.output


def _console(path, entropy, every=5, a=0.3, b=0.9):
    lines = []
    for s, h in enumerate(entropy, 1):
        val = f" - val-core/gsm8k/acc/mean@1:{-a * np.exp(h) + b}" if s % every == 0 else ""
        lines.append(f"(TaskRunner pid=1) step:{s} - actor/entropy:{h} - critic/score/mean:0.5{val}\n")
    path.write_text("".join(lines))
    return path


def test_fit_json_prints_one_object_with_the_forecast(tmp_path):
    steps = np.arange(1, 101)
    log = _console(tmp_path / "run.log", 0.1 + 1.2 * np.exp(-steps / 15))
    res = runner.invoke(app, ["fit", str(log), "--json"])
    assert res.exit_code == 0, res.output
    out = json.loads(res.output)
    assert out["source"] == "verl-console" and out["points"] == 20 and out["steps"] == 100
    assert set(out) >= {"law", "forecast", "at_final_entropy", "collapse"}
    assert out["law"]["ceiling"] == pytest.approx(0.6) and out["law"]["r2"] == pytest.approx(1.0)
    fc = out["forecast"]
    assert fc["fraction"] == 0.25 and fc["law_points"] == 5 and fc["horizon_step"] == 100
    assert fc["abs_error"] < 0.01 and fc["interval"][0] <= fc["predicted_final"] <= fc["interval"][1]
    assert out["at_final_entropy"]["abs_error"] < 1e-6  # the law is exact here: only the entropy is forecast
    assert out["collapse"]["ratio"] == pytest.approx(out["collapse"]["end"] / out["collapse"]["start"])
    text = runner.invoke(app, ["fit", str(log), "--fraction", "0.5"]).output
    assert "forecast from the first 50% (steps ≤ 50.5)" in text and "observed final entropy" in text


def test_fit_on_rising_entropy_says_the_law_does_not_apply(tmp_path):
    log = _console(tmp_path / "rising.log", np.linspace(0.2, 1.0, 80))
    out = json.loads(runner.invoke(app, ["fit", str(log), "--json"]).output)
    assert out["forecast"]["predicted_final"] is None and "does not fall" in out["forecast"]["law_does_not_apply"]
    text = runner.invoke(app, ["fit", str(log)]).output
    assert "the law does not apply: entropy does not fall" in text


def test_report_reads_the_same_logs_and_shows_the_forecast(tmp_path):
    steps = np.arange(1, 101)
    verl = _console(tmp_path / "verl.log", 0.1 + 1.2 * np.exp(-steps / 15))
    res = runner.invoke(
        app, ["report", str(verl), str(LOGS / "trl_console.log"), str(LOGS / "trl_trainer_state.json"),
              "--out", str(tmp_path / "rep")]
    )
    assert res.exit_code == 0, res.output
    page = (tmp_path / "rep" / "index.html").read_text()
    assert "forecast from the first quarter" in page and "none: entropy at 1 steps" in page
    laws = json.loads((tmp_path / "rep" / "summary.json").read_text())["laws"]
    assert laws[str(verl)]["forecast"]["predicted_final"] == pytest.approx(0.6 - 0.3 * (np.exp(0.1 + 1.2 * np.exp(-100 / 15)) - 1), abs=0.01)


def test_a_flat_jsonl_such_as_an_entropy_rl_metrics_file(tmp_path):
    fixture = Path(__file__).parent / "fixtures" / "run-grpo" / "metrics.jsonl"
    log = read_log(fixture)
    assert log.source == "jsonl" and [r["step"] for r in log.rows] == [
        json.loads(line)["step"] for line in fixture.read_text().splitlines() if line.strip()
    ]
    (tmp_path / "m.jsonl").write_text('{"step": 1, "entropy": 0.5}\n{"entropy": 0.4}\n')
    with pytest.raises(LogFormatError, match=r"m.jsonl:2: not a JSONL metrics line"):
        read_log(tmp_path / "m.jsonl")


def test_fit_json_still_prints_an_object_when_the_law_cannot_be_fitted(tmp_path):
    log = _console(tmp_path / "short.log", [0.9, 0.8, 0.7, 0.6, 0.5, 0.4], every=5)  # one validation
    res = runner.invoke(app, ["fit", str(log), "--json"])
    out = json.loads(res.output)
    assert res.exit_code == 0 and out["law"] is None and "at least 2 points" in out["law_error"]
    assert out["points"] == 1 and out["forecast"]["predicted_final"] is None
    res = runner.invoke(app, ["fit", str(log)])
    assert res.exit_code == 2 and "at least 2 points" in res.output


def test_a_first_quarter_check_needs_eight_evaluations(tmp_path):
    from entropy_rl.analysis.stats import fit_run_law

    steps = np.arange(1, 36)
    few = load_run(_console(tmp_path / "few.log", 0.1 + 1.2 * np.exp(-steps / 10)))  # 7 evaluations
    law = fit_run_law(few)
    assert law.n == 7 and law.prefix_predicted_final is None and "too few" in law.extra["prefix"]
    steps = np.arange(1, 41)
    enough = fit_run_law(load_run(_console(tmp_path / "ok.log", 0.1 + 1.2 * np.exp(-steps / 10))))
    assert enough.n == 8 and enough.prefix_predicted_final is not None
