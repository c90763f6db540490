"""`entropy-rl watch`: a writer thread appends a real log line by line (each line in two writes, so
the watcher meets torn lines) while the command follows it."""

import threading
import time
from pathlib import Path

import numpy as np
from typer.testing import CliRunner

from entropy_rl.analysis import watch as watch_mod
from entropy_rl.analysis.readers import read_log
from entropy_rl.analysis.watch import Alarms, status_of
from entropy_rl.cli import app

LOGS = Path(__file__).parent / "fixtures" / "logs"
runner = CliRunner()


def _writer(path: Path, lines: list[str], pause: float = 0.004, start: float = 0.3) -> threading.Thread:
    def run():
        time.sleep(start)  # the watcher starts before the file exists
        with open(path, "a") as f:
            for line in lines:
                half = len(line) // 2
                f.write(line[:half])
                f.flush()
                time.sleep(pause)
                f.write(line[half:])
                f.flush()
                time.sleep(pause)

    t = threading.Thread(target=run, daemon=True)
    t.start()
    return t


def test_watch_follows_a_real_verl_log_as_it_is_written(tmp_path):
    path = tmp_path / "output.log"
    lines = (LOGS / "verl_2025_wandb_output.log").read_text().splitlines(keepends=True)
    writer = _writer(path, lines)
    res = runner.invoke(app, ["watch", str(path), "--interval", "0.01", "--exit-when-idle", "1.5"])
    writer.join()
    out = res.output
    assert res.exit_code == 0, out
    assert out.startswith("waiting: ") and "no such file" in out.splitlines()[0]
    statuses = [ln for ln in out.splitlines() if ln.startswith("step ")]
    steps = [int(ln.split()[1]) for ln in statuses]
    assert steps == sorted(steps) and steps[-1] == 21  # every status is of complete rows only
    # entropy 0.21 -> 0.0006 by step 16: warned once, at the first status below 0.3 x its start
    warnings = [ln for ln in out.splitlines() if ln.startswith("warning: entropy")]
    assert len(warnings) == 1 and "below 0.3 × its start" in warnings[0]
    assert "law: waiting" in out or "law: R =" in out
    assert out.rstrip().endswith("watch: stopped")
    # the last status is what `fit` reads from the whole file
    whole = read_log(path)
    assert statuses[-1].startswith(f"step 21 (verl-console, {len(whole.rows)} rows)")


def test_the_ceiling_stopping_rising_is_warned_once(tmp_path):
    path = tmp_path / "run.log"
    lines = []
    for s in range(1, 121):
        h = 0.2 + 1.0 * np.exp(-s / 12)
        score = min(0.9 - 0.4 * np.exp(h), 0.3)  # the score stops rising at 0.3
        val = f" - val-core/gsm8k/acc/mean@1:{score}" if s % 5 == 0 else ""
        lines.append(f"step:{s} - actor/entropy:{h} - critic/score/mean:0.1{val}\n")
    writer = _writer(path, lines, pause=0.002, start=0.0)
    res = runner.invoke(
        app, ["watch", str(path), "--interval", "0.01", "--exit-when-idle", "1.0", "--total-steps", "200"]
    )
    writer.join()
    assert res.exit_code == 0, res.output
    warned = [ln for ln in res.output.splitlines() if ln.startswith("warning: the law's ceiling")]
    assert len(warned) == 1 and "forecast at step 200:" in res.output


def test_alarms_need_the_fall_to_happen():
    log = read_log(LOGS / "verl_2024_console.log")  # entropy 0.48 -> 0.55 (medians) over 19 steps: a rise
    st = status_of(log)
    assert st.entropy_now > st.entropy_start and Alarms(1.0).update(st) == []
    for r in log.rows[-3:]:
        r["entropy"] = 0.1
    st = status_of(log)
    alarms = Alarms(0.3)
    assert alarms.update(st)[0].startswith("entropy 0.1 at step 18 is below 0.3")
    assert alarms.update(st) == []  # once


def test_ctrl_c_stops_watch_cleanly(tmp_path, monkeypatch):
    def interrupt(_):
        raise KeyboardInterrupt

    monkeypatch.setattr(watch_mod.time, "sleep", interrupt)
    res = runner.invoke(app, ["watch", str(LOGS / "trl_console.log")])
    assert res.exit_code == 0 and res.output.splitlines()[-1] == "watch: stopped"
    assert res.output.startswith("step 20 (trl-console, 4 rows)")


def test_the_default_forecast_has_its_calibrated_interval_given_the_runs_length():
    """With the run's length, watch prints the backtest's default forecaster at the run's end with
    the 90 % interval the published backtest calibrated at the nearest cutoff (and the naive value
    beside it when the default is another); without it, the naive value alone."""
    from entropy_rl.analysis.backtest import packaged_calibration
    from entropy_rl.cli.analyze import status_lines
    from entropy_rl.core.forecast import naive_value

    log = read_log(LOGS / "verl_2024_console.log")
    st = status_of(log)
    assert st.default is None and any(line.startswith("naive forecast: ") for line in status_lines(st))
    last = log.rows[-1]["step"]
    st = status_of(log, total_steps=4 * last)  # a quarter of the way: the 25 % calibration
    cal = packaged_calibration()
    d = st.default
    assert d["name"] == cal["default"]["forecaster"] and d["calibrated_at"] == "0.25" and d["at"] == 4 * last
    key = log.performance_key
    assert st.naive == naive_value([r[key] for r in log.rows if r.get(key) is not None])
    lines = status_lines(st)
    if d["value"] is not None:
        lo, hi = d["interval"]
        assert lo <= d["value"] <= hi
        assert any(f"forecast at step {4 * last} ({d['name']}, the backtest's default)" in line
                   and "calibrated at the 25% cutoff" in line for line in lines)  # fmt: skip
    assert any(line.startswith("naive forecast: ") for line in lines) == (d["name"] != "naive")
