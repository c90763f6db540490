"""Every plot the report can draw, from a run that has its data and from one that lacks it: drawn
with plain tick labels (never matplotlib's mathtext markup, which is off for safety), and not
drawn at all, nor any empty panel, where no run has the data."""

from __future__ import annotations

from pathlib import Path

import pytest

from entropy_rl.analysis import plots
from entropy_rl.analysis.report import DIAGNOSTICS, _figures, write_report
from entropy_rl.analysis.runs import load_run

FIXTURES = Path(__file__).parent / "fixtures"
SWEEP = [{"temperature": t, "entropy": 0.2 + t, "accuracy": 0.5 - 0.1 * t, "pass@2": 0.6} for t in (0.2, 0.5, 1.0)]


@pytest.fixture
def spy(monkeypatch):
    """Each figure as it is written: its axes, and every tick label's text once drawn."""
    seen = []
    real = plots._savefig

    def savefig(fig, path, dpi):
        drawn = real(fig, path, dpi)
        if drawn:
            fig.canvas.draw()
            labels = [t.get_text() for ax in fig.axes for t in [*ax.get_xticklabels(), *ax.get_yticklabels()]]
            seen.append({"path": Path(path), "axes": [ax.has_data() for ax in fig.axes], "labels": labels})
        return drawn

    monkeypatch.setattr(plots, "_savefig", savefig)
    return seen


def test_every_report_plot_from_a_run_with_its_data_has_plain_ticks(tmp_path, spy):
    run = load_run(FIXTURES / "run-grpo")
    figs = _figures([run], tmp_path, SWEEP)
    drawn = {p.name for p, f in figs.items() if f is not None}
    assert {"entropy.png", "law.png", "covariance.png", "pass_at_k.png", "entropy_budget.png",
            "temperature_baseline.png"} <= drawn  # fmt: skip
    assert {s["path"].name for s in spy} == drawn
    for s in spy:
        assert all(s["axes"]), s["path"]  # no empty panel
        bad = [t for t in s["labels"] if "$" in t or "mathdefault" in t]
        assert not bad, (s["path"].name, bad)
    k_ticks = next(s for s in spy if s["path"].name == "pass_at_k.png")["labels"]
    assert {"1", "2", "4"} <= set(k_ticks)  # a log-2 axis labelled 1, 2, 4


def test_a_log_without_the_diagnostics_draws_no_empty_panel(tmp_path, spy):
    run = load_run(FIXTURES / "logs" / "verl_2024_console.log")
    figs = _figures([run], tmp_path, None)
    assert figs[tmp_path / "entropy.png"] is not None
    missing = {p.name for p, f in figs.items() if f is None}
    assert missing == set(DIAGNOSTICS)
    assert not any((tmp_path / name).exists() for name in missing)
    for s in spy:
        assert all(s["axes"]) and not any("$" in t for t in s["labels"]), s["path"]


def test_the_report_of_two_logs_says_what_they_do_not_log_and_gives_each_its_verdicts(tmp_path):
    logs = FIXTURES / "logs"
    page = write_report([logs / "verl_2025_wandb_output.log", logs / "verl_2024_console.log"], tmp_path / "r")
    html = page.read_text()
    assert html.count("<ul class='run-verdicts'>") == 2
    assert "Not drawn: these runs do not log the covariance per step" in html and "plug-ins" in html
    for name in DIAGNOSTICS:
        assert f"src='{name}'" not in html
    # each list is about its own run: the first log collapses, the second's entropy rises
    first, second = html.split("<ul class='run-verdicts'>")[1:3]
    assert "collapsed" in first and "did not collapse" in second
    from entropy_rl.analysis.backtest import packaged_calibration

    default = packaged_calibration()["default"]["forecaster"]
    assert f"No forecast of the last score from the first quarter ({default}):" in first
    assert f"first quarter ({default})" in second or f"first quarter: {default} (the backtest" in second
    assert "naive 0." in second  # the naive value beside the default, or alone where the default has none


def test_one_experiment_keeps_one_verdict_list(tmp_path):
    import shutil

    runs = []
    for method in ("grpo", "kl_cov"):
        d = tmp_path / "runs" / method / "seed0"
        shutil.copytree(FIXTURES / "run-grpo", d)
        runs.append(d)
    html = write_report(runs, tmp_path / "r").read_text()
    assert '<ul id="verdicts">' in html and "run-verdicts" not in html
