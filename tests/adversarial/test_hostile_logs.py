"""Logs of other engines are untrusted input too: whatever a log holds, `fit`, `report`, `horizon`
and `watch` answer in seconds, within bounded memory, with a result or a one-line error naming the
file (never a traceback), and never a silently wrong number. Every case is generated here by
code, around a small good log, so that each family is checked in every format it can reach.

Bounds: each case within ``SECONDS`` of wall time and ``PEAK_MB`` of Python allocations
(tracemalloc, which also counts numpy's), measured in-process on the command as a user runs it.
"""

from __future__ import annotations

import csv
import io
import json
import time
import tracemalloc
import zlib
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from entropy_rl.analysis import watch as watch_mod
from entropy_rl.analysis.readers import read_log
from entropy_rl.cli import app

SECONDS = 20.0
PEAK_MB = 300
runner = CliRunner()


def _h(s: int) -> float:
    return 0.1 + 1.2 * float(np.exp(-s / 15))


def _score(s: int) -> float:
    return 0.9 - 0.3 * float(np.exp(_h(s)))


def verl_lines(n: int = 40, every: int = 5) -> list[str]:
    return [
        f"(TaskRunner pid=1) step:{s} - actor/entropy:{_h(s):.6f} - critic/score/mean:{_score(s):.6f}"
        + (f" - val-core/gsm8k/acc/mean@1:{_score(s):.6f}" if s % every == 0 else "")
        + "\n"
        for s in range(1, n + 1)
    ]


def jsonl_rows(n: int = 40) -> list[dict]:
    return [
        {"step": s, "data": {"actor/entropy": _h(s), "critic/score/mean": _score(s),
                             **({"val-core/gsm8k/acc/mean@1": _score(s)} if s % 5 == 0 else {})}}
        for s in range(1, n + 1)
    ]  # fmt: skip


def trl_rows(n: int = 40) -> list[dict]:
    return [{"step": s, "loss": 0.1, "entropy": _h(s), "reward": _score(s)} for s in range(1, n + 1)]


def csv_text(rows: list[list], header: list[str], newline: str = "\n") -> str:
    buf = io.StringIO()
    csv.writer(buf, lineterminator=newline).writerows([header, *rows])
    return buf.getvalue()


def bounded(*args: str):
    """The command's result, wall time and Python peak memory (MB)."""
    tracemalloc.start()
    t0 = time.perf_counter()
    try:
        res = runner.invoke(app, list(args))
    finally:
        seconds = time.perf_counter() - t0
        peak = tracemalloc.get_traced_memory()[1] / 2**20
        tracemalloc.stop()
    assert seconds < SECONDS, f"{args}: {seconds:.1f} s"
    assert peak < PEAK_MB, f"{args}: {peak:.0f} MB"
    assert res.exception is None or isinstance(res.exception, SystemExit), repr(res.exception)
    return res


def one_line_error(res, path: Path, match: str | None = None) -> str:
    lines = res.output.strip().splitlines()
    assert res.exit_code == 2 and len(lines) == 1 and lines[0].startswith("error: "), res.output[-2000:]
    assert path.name in lines[0], lines[0]  # the error names the file
    if match:
        assert match in lines[0], lines[0]
    return lines[0]


def fits(res) -> dict:
    assert res.exit_code == 0, res.output[-2000:]
    return json.loads(res.output, parse_constant=_no_constant)


def _no_constant(name):
    raise AssertionError(f"not strict JSON: {name}")


# ----------------------------------------------------------------------------- 1. hangs on small files

LONG = 100_000


def _write(path: Path, text: str | bytes) -> Path:
    (path.write_bytes if isinstance(text, bytes) else path.write_text)(text)
    return path


HANG_CASES = {
    "verl value of 100,000 digits": lambda d: _write(
        d / "a.log", "".join(verl_lines()) + f"step:41 - actor/entropy:{'9' * LONG} - critic/score/mean:0.5\n"),
    "verl value of 100,000 digits then a letter": lambda d: _write(
        d / "a.log", "".join(verl_lines()) + f"step:41 - actor/entropy:{'9' * LONG}x - critic/score/mean:0.5\n"),
    "200,000 unterminated ESC ] on one line": lambda d: _write(
        d / "a.log", "\x1b]" * 200_000 + "\n" + "".join(verl_lines())),
    "200,000 unterminated CSI on one line": lambda d: _write(
        d / "a.log", "\x1b[" + "1;" * 200_000 + "\n" + "".join(verl_lines())),
    "an initial validation of 100,000 escaped quotes": lambda d: _write(
        d / "a.log", "Initial validation metrics: " + '\\"' * LONG + "\n" + "".join(verl_lines())),
    "200,000 `step:1` on one line": lambda d: _write(
        d / "a.log", "step:1 " * 200_000 + "\n" + "step:1" * 200_000 + "\n" + "".join(verl_lines())),
    "a step line of 500,000 characters": lambda d: _write(
        d / "a.log", "step:0 - " + "a" * 500_000 + "\n" + "".join(verl_lines())),
    "TRL dict value of 100,000 digits": lambda d: _write(
        d / "t.log", "".join(f"{{'loss': '0.1', 'entropy': '{r['entropy']}', 'reward': '{r['reward']}'}}\n"
                             for r in trl_rows()) + "{'entropy': '" + "1" * LONG + "', 'reward': '0.5'}\n"),
    "100,000 opening braces in a TRL console": lambda d: _write(
        d / "t.log", "{'" * LONG + "\n" + "".join(f"{{'entropy': '{r['entropy']}', 'reward': '{r['reward']}'}}\n"
                                                    for r in trl_rows())),
    "CSV cell of 100,000 digits": lambda d: _write(
        d / "h.csv", csv_text([[s, _h(s), _score(s)] for s in range(1, 41)] + [[41, "9" * LONG, 0.5]],
                              ["_step", "entropy", "reward"])),
    "JSONL float of 100,000 digits": lambda d: _write(
        d / "a.jsonl", "".join(json.dumps(r) + "\n" for r in jsonl_rows())
        + '{"step": 41, "data": {"actor/entropy": 0.' + "1" * LONG + "}}\n"),
}


@pytest.mark.parametrize("case", sorted(HANG_CASES))
def test_a_hostile_value_costs_its_length_and_the_good_rows_are_read(tmp_path, case):
    path = HANG_CASES[case](tmp_path)
    out = fits(bounded("fit", str(path), "--json"))
    assert out["steps"] >= 40 and out["law"] is not None


@pytest.mark.parametrize("command", ["report", "watch"])
def test_report_and_watch_take_the_same_hostile_values_in_time(tmp_path, command):
    """Against the same command on the log without its hostile line, timed in the same test: the
    report draws a dozen plots, whose cost no bound in seconds could tell from a hang's."""
    clean = _write(tmp_path / "clean.log", "".join(verl_lines()) + "step:41 - actor/entropy:0.5 - critic/score/mean:0.5\n")
    hostile = HANG_CASES["verl value of 100,000 digits"](tmp_path)
    times = {}
    for name, path in (("clean", clean), ("hostile", hostile)):
        t0 = time.perf_counter()
        if command == "report":
            res = runner.invoke(app, ["report", str(path), "--out", str(tmp_path / f"rep-{name}")])
            assert res.exit_code == 0, res.output
        else:
            res = runner.invoke(app, ["watch", str(path), "--interval", "0.01", "--exit-when-idle", "0.2"])
            assert res.exit_code == 0 and "step 41" in res.output, res.output
        times[name] = time.perf_counter() - t0
    assert times["hostile"] < 2 * times["clean"] + 3, times


# ----------------------------------------------------------------------------- 2. tracebacks become one line


def _wandb_file(path: Path, items: list[list[tuple[str, str]]], flip: int | None = None, steps=None) -> Path:
    """A .wandb file of history records, each of (key, value_json) items, written as W&B writes
    them: LevelDB log records in 32 KiB blocks (FULL, or FIRST/MIDDLE/LAST across blocks), each
    with W&B's CRC-32 of its type byte and bytes; ``flip`` flips one byte of the first record;
    ``steps`` numbers the records (default 1, 2, ...)."""
    from wandb.proto import wandb_internal_pb2

    out = bytearray(b":W&B\xe1\xbe\x00")
    for step, row in zip(steps or range(1, len(items) + 1), items, strict=True):
        rec = wandb_internal_pb2.Record()
        rec.history.step.num = step
        for k, v in row:
            it = rec.history.item.add()
            it.key, it.value_json = k, v
        body, first = rec.SerializeToString(), True
        while True:
            left = 32768 - len(out) % 32768
            if left < 7:
                out += b"\x00" * left
                continue
            chunk, body = body[: left - 7], body[left - 7 :]
            kind = (1 if first else 4) if not body else (2 if first else 3)
            out += zlib.crc32(bytes([kind]) + chunk).to_bytes(4, "little") + len(chunk).to_bytes(2, "little")
            out += bytes([kind]) + chunk
            first = False
            if not body:
                break
    if flip is not None:
        out[7 + 7 + flip] ^= 0x01
    return _write(path, bytes(out))


def _wandb_rows(extra: list[tuple[str, str]] | None = None) -> list[list[tuple[str, str]]]:
    rows = [[("entropy", json.dumps(_h(s))), ("reward", json.dumps(_score(s)))] for s in range(1, 41)]
    if extra:
        rows[3] += extra
    return rows


DEEP = 200_000
TRACEBACK_CASES = {
    # name: (writer, what the one-line error says, or None where the log must read)
    "JSONL line nested 200,000 deep": (
        lambda d: _write(d / "a.jsonl", "[" * DEEP + "]" * DEEP + "\n"), "not a"),
    "JSONL line nested inside data": (
        lambda d: _write(d / "a.jsonl", '{"step": 1, "data": ' + "[" * DEEP + "]" * DEEP + "}\n"), "not a"),
    "JSONL step of 400 digits": (
        lambda d: _write(d / "a.jsonl", '{"step": ' + "9" * 400 + ', "data": {"actor/entropy": 0.5}}\n'), "step"),
    "JSONL step 1e400": (
        lambda d: _write(d / "a.jsonl", '{"step": 1e400, "data": {"actor/entropy": 0.5}}\n'), "step"),
    "JSONL step Infinity": (
        lambda d: _write(d / "a.jsonl", '{"step": Infinity, "data": {"actor/entropy": 0.5}}\n'), "step"),
    "JSONL step of 5,000 digits": (
        lambda d: _write(d / "a.jsonl", '{"step": ' + "9" * 5000 + ', "data": {}}\n'), None),
    "JSONL value 1e400": (
        lambda d: _write(d / "a.jsonl", "".join(json.dumps(r) + "\n" for r in jsonl_rows())
                         + '{"step": 41, "data": {"actor/entropy": 1e400}}\n'), None),  # inf: dropped, said
    "JSONL value of 400 digits": (
        lambda d: _write(d / "a.jsonl", "".join(json.dumps(r) + "\n" for r in jsonl_rows())
                         + '{"step": 41, "data": {"actor/entropy": ' + "9" * 400 + "}}\n"), "not a number"),
    "verl data as a list of pairs": (
        lambda d: _write(d / "a.jsonl", '{"step": 1, "data": [[1, 2]]}\n'), "not an object"),
    "verl data as a list of strings": (
        lambda d: _write(d / "a.jsonl", '{"step": 1, "data": ["ab", "cd"]}\n'), "not an object"),
    "a JSONL line that is a list": (
        lambda d: _write(d / "a.jsonl", '{"step": 1, "data": {}}\n[1, 2]\n'), "not an object"),
    "verl console step of 400 digits": (
        lambda d: _write(d / "a.log", "".join(verl_lines()) + f"step:{'9' * 400} - actor/entropy:0.5\n"),
        "not a step number"),
    "trainer_state nested 200,000 deep": (
        lambda d: _write(d / "trainer_state.json", '{"log_history": ' + "[" * DEEP + "]" * DEEP + "}"),
        "not valid JSON"),
    "trainer_state step 1e400": (
        lambda d: _write(d / "trainer_state.json", json.dumps({"log_history": [{"step": 1e400, "entropy": 1}]})
                         .replace("Infinity", "1e400")), "step"),
    "trainer_state integer of 5,000 digits": (
        lambda d: _write(d / "trainer_state.json", '{"log_history": [{"step": 1, "entropy": ' + "9" * 5000 + "}]}"),
        "not valid JSON"),
    "CSV with CR-only line ends": (
        lambda d: _write(d / "h.csv", csv_text([[s, _h(s), _score(s)] for s in range(1, 41)],
                                               ["_step", "entropy", "reward"], newline="\r")), None),
    "CSV cell of 200 KiB": (
        lambda d: _write(d / "h.csv", csv_text([[s, _h(s), _score(s), "x" * 200 * 1024 if s == 3 else ""]
                                                for s in range(1, 41)], ["_step", "entropy", "reward", "text"])), None),
    "CSV with an unclosed quote": (
        lambda d: _write(d / "h.csv", "_step,entropy,reward\n1,0.5,\"0.3\n2,0.4,0.2\n"), None),
    "CSV with a NUL byte": (
        lambda d: _write(d / "h.csv", "_step,entropy,reward\n1,0.5,0.3\x00\n2,0.4,0.2\n3,0.3,0.3\n"), None),
    "W&B value nested 200,000 deep": (
        lambda d: _wandb_file(d / "run-a.wandb", _wandb_rows([("deep", "[" * DEEP + "]" * DEEP)])), None),
    "W&B value of 100,000 digits": (
        lambda d: _wandb_file(d / "run-a.wandb", _wandb_rows([("entropy", "9" * LONG)])), None),
    "W&B step as a value of 1e400": (
        lambda d: _wandb_file(d / "run-a.wandb", _wandb_rows([("_step", "1e400")])), None),
    "a truncated TensorBoard file": (
        lambda d: _write(d / "events.out.tfevents.1.x", b"\x10\x00\x00\x00\x00\x00\x00\x00\x00\x00"), "cut"),
    "a TensorBoard file of random bytes": (
        lambda d: _write(d / "events.out.tfevents.1.y", bytes(range(256)) * 8), "checksum"),
}


@pytest.mark.parametrize("case", sorted(TRACEBACK_CASES))
def test_a_malformed_log_is_a_result_or_one_line_naming_the_file(tmp_path, case):
    writer, match = TRACEBACK_CASES[case]
    path = writer(tmp_path)
    if "tensorboard" in case.lower():
        pytest.importorskip("crc32c")
    if "W&B" in case:
        pytest.importorskip("wandb")
    res = bounded("fit", str(path), "--json")
    if res.exit_code == 0:
        assert match is None, f"read where an error naming {match!r} was expected"
        fits(res)
    else:
        one_line_error(res, path, match)


def test_a_wandb_step_that_is_not_a_step_is_one_line(tmp_path):
    pytest.importorskip("wandb")
    rows = _wandb_rows()
    path = _wandb_file(tmp_path / "run-b.wandb", rows)
    assert fits(bounded("fit", str(path), "--json"))["steps"] == 40  # the generator writes what W&B reads


def test_horizon_skips_a_metrics_key_of_pass_at_k_shape_only(tmp_path):
    for method in ("grpo", "kl_cov"):
        run = tmp_path / "cmp" / method / "seed0"
        run.mkdir(parents=True)
        rows = [{"step": s, "entropy": _h(s), "eval_accuracy": _score(s), "eval_pass@x": 0.5, "eval_pass@4": 0.6}
                for s in range(30)]
        (run / "metrics.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    res = bounded("horizon", str(tmp_path / "cmp"))
    assert res.exit_code == 0 and "pass@4" in res.output and "pass@x" not in res.output, res.output


@pytest.mark.parametrize("case", ["JSONL line nested 200,000 deep", "JSONL step 1e400", "verl data as a list of pairs",
                                  "CSV with CR-only line ends", "JSONL value 1e400"])
def test_watch_keeps_watching_and_says_what_it_skipped(tmp_path, case):
    writer, _ = TRACEBACK_CASES[case]
    path = writer(tmp_path)
    res = bounded("watch", str(path), "--interval", "0.01", "--exit-when-idle", "0.2")
    assert res.exit_code == 0 and res.output.rstrip().endswith("watch: stopped"), res.output
    assert "Traceback" not in res.output


def test_watch_says_what_it_skipped_after_a_good_status(tmp_path):
    path = tmp_path / "a.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in jsonl_rows()))
    seen = []

    def sleep(_):
        if len(seen) == 1:  # after the first status, a bad line is appended
            with open(path, "a") as f:
                f.write('{"step": 41, "data": [[1, 2]]}\n')
        seen.append(1)
        if len(seen) > 3:
            raise KeyboardInterrupt

    out = []
    try:
        for st in watch_mod.follow(path, 0.0, None, sleep=sleep):
            out.append(st)
    except KeyboardInterrupt:
        pass
    assert not isinstance(out[0], str) and out[0].step == 40
    assert isinstance(out[1], str) and out[1].startswith("skipped: ") and "a.jsonl:41" in out[1]
    assert "last status: step 40" in out[1]


def test_watch_says_why_it_stops_past_the_size_bound(tmp_path, monkeypatch):
    path = tmp_path / "a.log"
    path.write_text("".join(verl_lines()))
    monkeypatch.setattr(watch_mod, "MAX_TEXT_BYTES", 100)
    res = bounded("watch", str(path), "--interval", "0.01", "--exit-when-idle", "0.2")
    assert "grown past" in res.output and "no longer read" in res.output, res.output


# ----------------------------------------------------------------------------- 3. one NaN does not kill the law


def _nan_logs(d: Path) -> dict[str, Path]:
    rows = jsonl_rows(80)
    rows[9]["data"]["actor/entropy"] = float("nan")  # step 10: a validation step
    rows[39]["data"]["val-core/gsm8k/acc/mean@1"] = float("inf")
    state = {"log_history": [{**r, "entropy": float("nan") if r["step"] == 7 else r["entropy"]} for r in trl_rows(80)]}
    console = "".join(verl_lines(80)).replace(f"actor/entropy:{_h(10):.6f}", "actor/entropy:nan")
    return {
        "verl-jsonl": _write(d / "a.jsonl", "".join(json.dumps(r) + "\n" for r in rows)),
        "trainer_state": _write(d / "trainer_state.json", json.dumps(state)),
        "verl-console": _write(d / "c.log", console),
    }


@pytest.mark.parametrize("fmt", ["verl-jsonl", "trainer_state", "verl-console"])
def test_a_non_finite_point_is_dropped_counted_and_said(tmp_path, fmt):
    path = _nan_logs(tmp_path)[fmt]
    out = fits(bounded("fit", str(path), "--json"))
    assert out["law"] is not None and out["forecast"]["predicted_final"] is not None
    assert None not in out["forecast"]["interval"] and None not in out["law"]["ceiling_interval"]
    if fmt != "verl-console":  # the console's `nan` is no number at all: never read as one
        assert any("dropped before any fit" in n for n in out["notes"]), out["notes"]


def test_one_nan_in_our_own_metrics_file_is_dropped_and_said(tmp_path):
    run = tmp_path / "run"
    run.mkdir()
    rows = [{"step": s, "entropy": _h(s), "eval_accuracy": _score(s) if s % 3 == 0 else None} for s in range(40)]
    rows[9]["entropy"] = float("nan")
    (run / "metrics.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    out = fits(bounded("fit", str(run), "--json"))
    assert out["law"] is not None and any("`entropy` ×1 (first at step 9)" in n for n in out["notes"]), out


# ----------------------------------------------------------------------------- 4. output that is JSON


def test_fit_json_is_strict_json_on_stdout_even_past_exp_overflow(tmp_path):
    import subprocess
    import sys

    lines = [f"step:{s} - actor/entropy:{800 + s} - critic/score/mean:0.5\n" for s in range(1, 41)]
    path = _write(tmp_path / "big.log", "".join(lines))
    # a subprocess: LAPACK writes its complaints to the process's stdout, which CliRunner cannot see
    proc = subprocess.run([str(Path(sys.executable).parent / "entropy-rl"), "fit", str(path), "--json"],
                          capture_output=True, text=True, timeout=60)  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout, parse_constant=_no_constant)
    assert out["law"] is None and "exp(H) overflows" in out["law_error"]


def test_every_committed_json_is_strict():
    root = Path(__file__).resolve().parents[2] / "docs" / "results"
    for path in root.rglob("*.json"):
        json.loads(path.read_text(), parse_constant=_no_constant)


# ----------------------------------------------------------------------------- 5. cost that grows with the log


def test_a_long_log_answers_in_time_and_bounded_memory(tmp_path):
    n = 30_000
    lines = "".join(f"step:{s} - actor/entropy:{0.1 + np.exp(-s / 4500):.5f} - critic/score/mean:0.5\n"
                    for s in range(1, n + 1))  # fmt: skip
    path = _write(tmp_path / "long.log", lines)
    out = fits(bounded("fit", str(path), "--json"))
    assert out["steps"] == n and out["forecast"]["entropy_points"] == n // 4


def _tensorboard(folder: Path, steps) -> Path:
    """TensorBoard events written by torch's SummaryWriter: entropy and reward at each step."""
    from torch.utils.tensorboard import SummaryWriter

    w = SummaryWriter(str(folder))
    for s in steps:
        w.add_scalar("train/entropy", _h(s), s)
        w.add_scalar("train/reward", _score(s), s)
    w.close()
    return next(folder.glob("events.out.tfevents.*"))


def test_tensorboard_files_are_bounded_like_any_log(tmp_path, monkeypatch):
    pytest.importorskip("crc32c")
    import entropy_rl.analysis.readers.tensorboard as readers

    f = _tensorboard(tmp_path / "tb", range(1, 41))
    assert fits(bounded("fit", str(tmp_path / "tb"), "--json"))["steps"] == 40
    monkeypatch.setattr(readers, "MAX_TEXT_BYTES", 1000)  # the bound docs/safety.md states, made small
    one_line_error(bounded("fit", str(tmp_path / "tb"), "--json"), f, "limit")


# ----------------------------------------------------------------------------- 6. valid logs past a preamble


@pytest.mark.parametrize("fmt", ["verl", "trl"])
def test_a_log_after_a_long_preamble_is_read(tmp_path, fmt):
    preamble = "loading shards ... done\n" * 500_000  # 12 MB of start-up before the first row
    body = "".join(verl_lines()) if fmt == "verl" else "".join(
        f"{{'loss': '0.1', 'entropy': '{r['entropy']}', 'reward': '{r['reward']}'}}\n" for r in trl_rows())
    path = _write(tmp_path / "a.log", preamble + body)
    out = fits(bounded("fit", str(path), "--json"))
    assert out["steps"] == 40


# ----------------------------------------------------------------------------- 7. no silent wrong number


def test_a_flipped_byte_in_a_wandb_record_is_refused(tmp_path):
    pytest.importorskip("wandb")
    path = _wandb_file(tmp_path / "run-c.wandb", _wandb_rows(), flip=5)
    one_line_error(bounded("fit", str(path), "--json"), path, "checksum")


def test_a_flipped_byte_in_a_tensorboard_record_is_refused(tmp_path):
    pytest.importorskip("crc32c")
    f = _tensorboard(tmp_path / "tb", range(1, 41))
    assert fits(bounded("fit", str(f), "--json"))["steps"] == 40
    data = bytearray(f.read_bytes())
    data[len(data) // 2] ^= 0x01
    f.write_bytes(bytes(data))
    one_line_error(bounded("fit", str(f), "--json"), f, "checksum")


def test_a_step_inside_the_metrics_never_replaces_the_rows_step(tmp_path):
    rows = jsonl_rows()
    rows[4]["data"]["step"] = 999
    path = _write(tmp_path / "a.jsonl", "".join(json.dumps(r) + "\n" for r in rows))
    log = read_log(path)
    assert [r["step"] for r in log.rows] == list(range(1, 41))
    assert any("`step` metric that is not their step" in n for n in log.notes)
    csvp = _write(tmp_path / "h.csv", csv_text([[s, 1000 - s, _h(s), _score(s)] for s in range(1, 41)],
                                               ["_step", "step", "entropy", "reward"]))  # fmt: skip
    log = read_log(csvp)
    assert [r["step"] for r in log.rows] == list(range(1, 41)) and "step" in " ".join(log.notes)


STEP_CASES = {
    "JSONL step true": ('{"step": true, "data": {"actor/entropy": 0.5}}\n', "a.jsonl"),
    "JSONL step 7.9": ('{"step": 7.9, "data": {"actor/entropy": 0.5}}\n', "a.jsonl"),
    "JSONL step \"7\"": ('{"step": "7", "data": {"actor/entropy": 0.5}}\n', "a.jsonl"),
    "JSONL step -1": ('{"step": -1, "data": {"actor/entropy": 0.5}}\n', "a.jsonl"),
    "flat JSONL step 7.9": ('{"step": 7.9, "entropy": 0.5}\n', "b.jsonl"),
    "trainer_state step true": (json.dumps({"log_history": [{"step": True, "entropy": 0.5, "reward": 1}]}), "trainer_state.json"),
    "trainer_state step 7.9": (json.dumps({"log_history": [{"step": 7.9, "entropy": 0.5, "reward": 1}]}), "trainer_state.json"),
    "CSV step 7.9": ("_step,entropy,reward\n7.9,0.5,1\n", "h.csv"),
    "CSV step true": ("_step,entropy,reward\ntrue,0.5,1\n", "h.csv"),
    "TRL console step 7.9": ("{'step': '7.9', 'entropy': '0.5', 'reward': '1'}\n", "t.log"),
}


@pytest.mark.parametrize("case", sorted(STEP_CASES))
def test_a_step_that_is_not_an_integer_is_refused_naming_the_file(tmp_path, case):
    text, name = STEP_CASES[case]
    path = _write(tmp_path / name, text)
    one_line_error(bounded("fit", str(path), "--json"), path, "step")


REPEAT_CASES = {
    "verl-jsonl": lambda d: _write(d / "a.jsonl", "".join(json.dumps(r) + "\n" for r in jsonl_rows() + jsonl_rows()[30:])),
    "jsonl": lambda d: _write(d / "b.jsonl", "".join(json.dumps({"step": r["step"], **r["data"]}) + "\n"
                                                     for r in jsonl_rows() + jsonl_rows()[30:])),
    "trainer_state": lambda d: _write(d / "trainer_state.json", json.dumps({"log_history": trl_rows() + trl_rows()[30:]})),
    "CSV": lambda d: _write(d / "h.csv", csv_text([[s, _h(s), _score(s)] for s in [*range(1, 41), *range(31, 41)]],
                                                  ["_step", "entropy", "reward"])),
    "TRL console": lambda d: _write(d / "t.log", "".join(f"{{'step': {r['step']}, 'entropy': '{r['entropy']}', "
                                                         f"'reward': '{r['reward']}'}}\n" for r in trl_rows() + trl_rows()[30:])),
    "verl console": lambda d: _write(d / "c.log", "".join(verl_lines() + verl_lines()[30:])),
}


@pytest.mark.parametrize("fmt", sorted(REPEAT_CASES))
def test_every_reader_says_steps_logged_twice(tmp_path, fmt):
    path = REPEAT_CASES[fmt](tmp_path)
    out = fits(bounded("fit", str(path), "--json"))
    assert out["steps"] == 40 and any("10 steps logged twice" in n for n in out["notes"]), out["notes"]


# ----------------------------------------------------------------------------- 8. smaller


def test_an_empty_path_is_one_line_not_the_current_directory(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "metrics.jsonl").write_text('{"step": 0, "entropy": 0.5}\n')
    res = bounded("fit", "")
    lines = res.output.strip().splitlines()
    assert res.exit_code == 2 and len(lines) == 1 and "empty path" in lines[0], res.output


def test_an_accuracy_forecast_stays_in_range_around_its_own_point(tmp_path):
    rng = np.random.default_rng(0)
    lines = []
    for s in range(1, 121):
        h = 0.05 + 1.5 * np.exp(-s / 10)
        acc = float(np.clip(1.02 - 0.25 * np.exp(h) + rng.normal(0, 0.04), 0, 1))
        lines.append(f"step:{s} - actor/entropy:{h} - val-core/x/acc/mean@1:{acc}\n")
    out = fits(bounded("fit", str(_write(tmp_path / "acc.log", "".join(lines))), "--json"))
    fc = out["forecast"]
    lo, hi = fc["interval"]
    assert 0 <= lo <= fc["predicted_final"] <= hi <= 1, fc


def test_run_names_reach_horizon_md_as_text(tmp_path):
    name = "x<img src=y onerror=z>|[a](javascript:b)"
    for method in ("grpo", name):
        run = tmp_path / "cmp" / method / "seed0"
        run.mkdir(parents=True)
        rows = [{"step": s, "entropy": _h(s), "eval_accuracy": _score(s), "eval_pass@4": 0.6} for s in range(30)]
        (run / "metrics.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    res = bounded("horizon", str(tmp_path / "cmp"))
    md = (tmp_path / "cmp" / "horizon" / "horizon.md").read_text()
    assert res.exit_code == 0 and "<img" not in md and "&lt;img" in md and "\\[a\\](javascript" in md, md


def test_tensorboard_and_wandb_say_steps_logged_twice(tmp_path):
    pytest.importorskip("crc32c")
    pytest.importorskip("wandb")
    _tensorboard(tmp_path / "tb", [*range(1, 41), *range(31, 41)])
    rows = _wandb_rows()
    wandb = _wandb_file(tmp_path / "run-d.wandb", rows + rows[30:], steps=[*range(1, 41), *range(31, 41)])
    for path in (tmp_path / "tb", wandb):
        out = fits(bounded("fit", str(path), "--json"))
        assert out["steps"] == 40 and any("10 steps logged twice" in n for n in out["notes"]), (path, out["notes"])


def test_a_read_error_without_a_file_name_names_the_file(tmp_path, monkeypatch):
    import os

    path = _write(tmp_path / "a.log", "".join(verl_lines()))
    real_fdopen = os.fdopen

    class Broken:
        def __init__(self, f):
            self.f = f

        def __enter__(self):
            return self

        def __exit__(self, *a):
            self.f.close()

        def read(self, n):
            raise OSError(5, "Input/output error")  # what a failing disk gives: no file name

    monkeypatch.setattr(os, "fdopen", lambda fd, mode="r", *a, **k: Broken(real_fdopen(fd, mode, *a, **k)))
    one_line_error(bounded("fit", str(path), "--json"), path, "Input/output error")
