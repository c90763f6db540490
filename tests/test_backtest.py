"""Forecasters (core.forecast) on runs with a known answer, the backtest's leave-one-run-out
calibration, and the published backtest against its committed JSON and series."""

from __future__ import annotations

import json
import math
import re
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from entropy_rl.analysis.backtest import (
    DEFAULT_RULE,
    Series,
    backtest_records,
    calibrate,
    choose_default,
    needed_scale,
    run_series,
)
from entropy_rl.analysis.runs import load_run
from entropy_rl.cli import app
from entropy_rl.core.forecast import FORECASTERS, Prefix, make_prefix, predict

ROOT = Path(__file__).resolve().parent.parent
PUBLISHED = ROOT / "docs" / "results" / "forecast-backtest"
REAL = ROOT.parent / "shared" / "real-logs"
runner = CliRunner()


def _exact_run(n: int = 200, every: int = 5, a: float = 0.3, b: float = 0.9):
    """Entropy decaying exactly to a floor, the score exactly on the law."""
    steps = np.arange(1, n + 1, dtype=float)
    h = 0.1 + 1.2 * np.exp(-(steps - 1) / 30)
    ps = steps[every - 1 :: every]
    ph = h[every - 1 :: every]
    return steps, h, ps, ph, -a * np.exp(ph) + b


def test_every_forecaster_is_registered_with_one_signature():
    assert set(FORECASTERS) == {"naive", "step_curve", "law", "law_ceiling", "blend"}


def test_naive_is_the_mean_of_the_last_three_scores():
    p = Prefix(np.arange(5.0), np.ones(5), np.arange(5.0), np.ones(5), np.array([0.1, 0.2, 0.3, 0.5, 0.7]), 100.0)
    assert predict("naive", p).value == pytest.approx(0.5)


def test_the_law_and_its_ceiling_are_exact_on_a_run_on_the_law():
    hs, h, ps, ph, pr = _exact_run()
    prefix = make_prefix(hs, h, ps, ph, pr, cutoff=50, horizon=200)
    assert predict("law", prefix).value == pytest.approx(pr[-1], abs=2e-3)
    assert predict("law_ceiling", prefix).value == pytest.approx(0.9 - 0.3, abs=1e-9)


def test_the_step_curve_recovers_a_saturating_rise():
    steps = np.arange(1, 301, dtype=float)
    tau = 149 * np.geomspace(0.02, 50, 121)[40]  # on the fit's grid: the seen steps span 149
    score = 0.7 - 0.5 * np.exp(-(steps - 1) / tau)
    prefix = make_prefix(steps, np.ones(300), steps, np.ones(300), score, cutoff=150, horizon=300)
    assert predict("step_curve", prefix).value == pytest.approx(score[-1], abs=1e-6)
    blend = predict("blend", prefix).value
    assert blend == pytest.approx((score[-1] + np.mean(score[147:150])) / 2, abs=1e-6)


def test_a_forecast_stays_in_the_scores_range_around_its_point():
    steps = np.arange(1, 101, dtype=float)
    score = np.clip(0.2 + 0.01 * steps, 0, 1)  # a line that would pass 1 by step 100
    prefix = make_prefix(steps, np.ones(100), steps, np.ones(100), score, cutoff=60, horizon=400)
    assert prefix.bounds == (0.0, 1.0)
    for name in FORECASTERS:
        pred = predict(name, prefix)
        if pred.value is not None:
            assert 0 <= pred.value <= 1, name
            if pred.interval:
                assert 0 <= pred.interval[0] <= pred.value <= pred.interval[1] <= 1, (name, pred)


def _series(name: str, rng, noise: float) -> Series:
    steps = np.arange(1, 101, dtype=float)
    h = 0.2 + np.exp(-steps / 20)
    score = 0.6 - 0.2 * np.exp(-steps / 25) + rng.normal(0, noise, 100)
    return Series(name, "collapse", True, steps, h, steps, h, score)


def test_leave_one_run_out_never_sees_the_held_out_run():
    rng = np.random.default_rng(0)
    runs = [_series(f"r{i}", rng, 0.02) for i in range(8)]
    before = calibrate(backtest_records(runs, fractions=(0.5,), names=["naive"]))
    runs[0].scores[-1] += 5.0  # the held-out run's answer changes wildly
    after = calibrate(backtest_records(runs, fractions=(0.5,), names=["naive"]))
    scale = {r["run"]: r["scale"] for r in before}
    moved = {r["run"]: r["scale"] for r in after}
    assert moved["r0"] == scale["r0"]  # its own scale comes from the others only
    assert any(moved[k] != scale[k] for k in scale if k != "r0")  # theirs see it


def test_calibrated_intervals_cover_about_ninety_percent_of_simulated_runs():
    rng = np.random.default_rng(1)
    runs = [_series(f"r{i}", rng, 0.05) for i in range(60)]
    recs = calibrate(backtest_records(runs, fractions=(0.5,), names=["naive"]))
    cov = np.mean([r["covered"] for r in recs])
    assert 0.8 <= cov <= 0.97, cov
    raw = np.mean([r["raw_interval"][0] <= r["actual"] <= r["raw_interval"][1] for r in recs])
    assert all(r["scale"] > 0 for r in recs) and raw != cov  # calibration changed the intervals


def test_needed_scale_is_the_arm_multiple_that_reaches_the_actual():
    assert needed_scale(0.5, (0.4, 0.7), 0.9) == pytest.approx(2.0)
    assert needed_scale(0.5, (0.4, 0.7), 0.45) == pytest.approx(0.5)
    assert needed_scale(0.5, (0.5, 0.5), 0.6) == math.inf and needed_scale(0.5, (0.5, 0.5), 0.5) == 0


def _records(pairs):
    return [{"run": f"r{i}", "fraction": 0.25, "forecaster": name, "value": 0.5, "abs_error": err}
            for i, errs in enumerate(pairs) for name, err in zip(("law", "naive"), errs, strict=True)]  # fmt: skip


def test_the_default_rule_picks_naive_unless_the_best_beats_it_more_often_than_not():
    assert choose_default(_records([(0.01, 0.05), (0.01, 0.05), (0.2, 0.05)]))["forecaster"] == "law"
    # the law has the lowest median error (0.01 against 0.025) but wins 2 runs and loses 2
    tied = choose_default(_records([(0.01, 0.05), (0.01, 0.0), (0.2, 0.0), (0.01, 0.05)]))
    assert tied["lowest_median_error"] == "law" and tied["forecaster"] == "naive"
    assert (tied["best_beats_naive"], tied["best_loses_to_naive"]) == (2, 2)


def test_backtest_cli_on_the_committed_series():
    ours = sorted(str(p.parent) for p in (ROOT / "docs" / "results").glob("trl-*-cpu/*/trainer_state.json"))
    res = runner.invoke(app, ["backtest", *ours, "--json", "--fractions", "0.25,0.5"])
    assert res.exit_code == 0, res.output
    out = json.loads(res.output)
    assert len(out["runs"]) == 6 and all(r["ours"] for r in out["runs"].values())
    assert set(out["summary"]["all"]) == {"0.25", "0.5"} and "naive" in out["summary"]["all"]["0.25"]
    bad = runner.invoke(app, ["backtest", ours[0], "--fractions", "1.5"])
    assert bad.exit_code == 2 and "--fractions" in bad.output


@pytest.mark.skipif(not REAL.is_dir(), reason="../shared/real-logs is not in this checkout")
def test_backtest_cli_on_the_real_logs():
    logs = sorted(str(p) for p in REAL.iterdir() if p.suffix in (".log", ".json"))
    res = runner.invoke(app, ["backtest", *logs, "--json"])
    assert res.exit_code == 0, res.output
    out = json.loads(res.output)
    assert len(out["runs"]) == len(logs) and not any(r["ours"] for r in out["runs"].values())


def _published() -> dict:
    return json.loads((PUBLISHED / "backtest.json").read_text())


def test_the_published_backtest_is_recomputed_from_the_committed_series():
    """Every record of our committed series (value, error) is what today's code gives; with the
    real logs here, every record and the whole summary too."""
    pub = _published()
    assert pub["command"].startswith("python scripts/forecast_backtest.py") and pub["machine"]["cpu"] and pub["date"]
    res = pub["results"]
    names = [n for n, r in res["runs"].items() if r["ours"]]
    # 6 TRL runs; reruns of the demo (6), the showcase (15) and the quickstart (8); the target-entropy study (35)
    assert len(names) == 70
    series = []
    for name in names:
        s = run_series(load_run(ROOT / name))
        s.name = name
        series.append(s)
    fresh = {(r["run"], r["fraction"], r["forecaster"]): r for r in backtest_records(series)}
    for r in res["records"]:
        if r["run"] in names:
            f = fresh[(r["run"], r["fraction"], r["forecaster"])]
            assert f["value"] == pytest.approx(r["value"], rel=1e-9, abs=1e-12) if r["value"] is not None \
                else f["value"] is None, r  # fmt: skip
    if REAL.is_dir():
        for p in sorted(REAL.iterdir()):
            if p.suffix in (".log", ".json") and p.name in res["runs"]:
                s = run_series(load_run(p))
                s.name = p.name
                series.append(s)
        recs = {(r["run"], r["fraction"], r["forecaster"]): r for r in calibrate(backtest_records(series))}
        assert len(recs) == len(res["records"])
        for b in res["records"]:
            assert recs[(b["run"], b["fraction"], b["forecaster"])]["covered"] == b["covered"], b
    assert res["default"]["rule"] == DEFAULT_RULE


def test_the_page_quotes_the_committed_figures_and_fit_applies_them():
    res = _published()["results"]
    page = " ".join((PUBLISHED / "README.md").read_text().split())
    table = (PUBLISHED / "backtest.md").read_text()
    for f, per in res["summary"]["all"].items():
        for name, v in per.items():
            assert f"| {float(f):.0%} | {name} | {v['runs']} | {v['median_abs_error']:.3f} |" in table
    for number in re.findall(r"\b\d\.\d{3}\b", page):  # every 3-decimal figure on the page is in the JSON
        assert number in json.dumps(_rounded(res)), number
    cal = json.loads((ROOT / "src" / "entropy_rl" / "analysis" / "forecast_calibration.json").read_text())
    assert cal["default"] == res["default"] and cal["scales"] == res["calibration"]
    assert f"**{res['default']['forecaster']}**" in page


def _rounded(obj):
    if isinstance(obj, float):
        return f"{obj:.3f}"
    if isinstance(obj, dict):
        return {k: _rounded(v) for k, v in obj.items()}
    if isinstance(obj, list):
        return [_rounded(v) for v in obj]
    return obj


def test_the_readme_opening_follows_the_backtest():
    """README's first paragraph: the law against naive on ours and on the real logs at 25 %, the run
    count and the default, from the published backtest.json."""
    res = _published()["results"]
    readme = " ".join((ROOT / "README.md").read_text().split())
    ours, theirs = (res["by_source"][k]["0.25"]["law"] for k in ("True", "False"))
    assert f"the law beat the mean of the last scores seen on {ours['beats_naive']} of {ours['runs']} of our runs" in readme
    assert f"but on {theirs['beats_naive']} of {theirs['runs']} real logs of other people's runs" in readme
    assert f"over {len(res['runs'])} runs a curve of score against step did best" in readme
    assert res["default"]["forecaster"] == "step_curve"
