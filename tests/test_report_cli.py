import json

from typer.testing import CliRunner

from entropy_rl.analysis.report import write_report
from entropy_rl.analysis.runs import load_run
from entropy_rl.analysis.stats import entropy_change_correlation, paired_with_grpo, summarize_runs
from entropy_rl.cli import app
from entropy_rl.train.trainer import read_metrics, train

runner = CliRunner()


def _fake_run(path, a=0.3, b=0.9, steps=30, noise=0.0, h_scale=1.0):
    import numpy as np

    rng = np.random.default_rng(0)
    path.mkdir(parents=True)
    rows = []
    for s in range(steps):
        h = (1.2 * np.exp(-s / 10) + 0.05) * h_scale
        dh = -0.12 * np.exp(-s / 10)
        row = {
            "step": s,
            "entropy": h,
            "accuracy": -a * np.exp(h) + b,
            "covariance": 0.1,
            "entropy_change": dh,
            "predicted_entropy_change": dh * 1.1 + rng.normal(0, 1e-3),
            "entropy_pos": h,
            "entropy_neg": h * 1.2,
        }
        if s % 3 == 0 or s == steps - 1:
            row["eval_accuracy"] = -a * np.exp(h) + b + rng.normal(0, noise)
            row["eval_entropy"] = h
            row["eval_pass@1"] = row["eval_accuracy"]
            row["eval_pass@4"] = min(1.0, row["eval_accuracy"] + 0.1)
            row["eval_unique_answers"] = 1.0 + 2.0 * h  # more entropy, more distinct answers
            row["eval_distinct_2"] = 0.2 + 0.1 * h
            row["eval_ece"] = 0.05 + 0.1 * (h - 0.6) ** 2  # not linear in h
        rows.append(row)
    (path / "metrics.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


def test_entropy_versus_grpo_is_paired_by_seed(tmp_path):
    runs = [_fake_run(tmp_path / "grpo" / f"seed{i}") for i in range(2)]
    runs += [_fake_run(tmp_path / "clip_cov" / f"seed{i}", h_scale=x) for i, x in enumerate([2.0, 1.5])]
    runs += [_fake_run(tmp_path / "lone" / "seed7", h_scale=3.0)]  # no GRPO run with seed 7
    summary = summarize_runs([load_run(r) for r in runs])
    ratio = summary["clip_cov"]["entropy_final_vs_grpo"]
    assert ratio["n"] == 2 and abs(ratio["mean"] - 1.75) < 1e-9 and abs(ratio["std"] - 0.5**0.5 / 2) < 1e-9  # sample std
    assert summary["grpo"]["entropy_final_vs_grpo"]["mean"] == 1.0
    assert "entropy_final_vs_grpo" not in summary["lone"]
    # 95 % t-interval with 2 seeds: t(0.975, 1) = 12.706, sample std of (2, 1.5) = 0.3536
    assert abs(ratio["ci95"] - 12.7062 * 0.353553 / 2**0.5) < 1e-3
    runs_by = {(r.parent.name, r.name): load_run(r) for r in runs}
    diffs = [
        runs_by[("clip_cov", f"seed{i}")].rows[-1]["eval_accuracy"]
        - runs_by[("grpo", f"seed{i}")].rows[-1]["eval_accuracy"]
        for i in range(2)
    ]
    acc = summary["clip_cov"]["eval_accuracy_final_minus_grpo"]
    assert acc["n"] == 2 and abs(acc["mean"] - sum(diffs) / 2) < 1e-12
    (line,) = [ln for ln in paired_with_grpo(summary) if ln.startswith("clip_cov")]
    lo, hi = 1.75 - ratio["ci95"], 1.75 + ratio["ci95"]
    assert line.startswith(f"clip_cov: entropy × 1.75 [{lo:.2f}, {hi:.2f}], held-out accuracy ")
    assert line.endswith("; entropy × 1.50 to 2.00 over the 2 seeds")
    assert not [ln for ln in paired_with_grpo(summary) if ln.startswith(("grpo", "lone"))]


def test_report_lists_each_run_with_its_paired_values(tmp_path):
    runs = [_fake_run(tmp_path / "grpo" / f"seed{i}") for i in range(2)]
    runs += [_fake_run(tmp_path / "clip_cov" / f"seed{i}", h_scale=x) for i, x in enumerate([2.0, 1.5])]
    index = write_report(runs, tmp_path / "rep")
    saved = json.loads((tmp_path / "rep" / "summary.json").read_text())
    per_run = saved["runs"]
    assert set(per_run) == {str(r) for r in runs}
    cc0, cc1 = (per_run[str(tmp_path / "clip_cov" / f"seed{i}")] for i in range(2))
    assert abs(cc0["entropy_final_vs_grpo"] - 2.0) < 1e-9 and abs(cc1["entropy_final_vs_grpo"] - 1.5) < 1e-9
    assert per_run[str(runs[0])]["entropy_final_vs_grpo"] == 1.0
    # the methods' table is the aggregate of these rows
    for key in ("entropy_final", "eval_accuracy_final", "law_ceiling"):
        mean = (cc0[key] + cc1[key]) / 2
        assert abs(saved["methods"]["clip_cov"][key]["mean"] - mean) < 1e-12
    text = index.read_text()
    assert "Per run (each seed)" in text
    row = f'<td title="{tmp_path / "clip_cov" / "seed1"}">clip_cov / seed1</td><td>{cc1["entropy_final"]:.3f}</td><td>1.500</td>'
    assert row in text


def test_report_fit_and_summary(tmp_path):
    runs = [_fake_run(tmp_path / "grpo" / f"seed{i}") for i in range(2)] + [_fake_run(tmp_path / "other")]
    index = write_report(runs, tmp_path / "rep")
    assert index.exists() and "ceiling" in index.read_text()
    for png in ("entropy", "accuracy", "law", "covariance", "entropy_change", "entropy_by_sign", "pass_at_k"):
        assert (tmp_path / "rep" / f"{png}.png").stat().st_size > 5000
    summary = summarize_runs([load_run(r) for r in runs])
    assert set(summary) == {"grpo", "other"} and summary["grpo"]["law_ceiling"]["n"] == 2
    assert abs(summary["grpo"]["law_ceiling"]["mean"] - 0.6) < 1e-6
    assert entropy_change_correlation(load_run(runs[0])) > 0.99
    # the fake runs' first-order part is 1.1 × the measured change (plus noise): the higher-order
    # rest is −0.1 × the total
    g = summary["grpo"]
    total = g["entropy_change_total"]["mean"]
    assert total < -0.5
    assert abs(g["entropy_change_first_order"]["mean"] - 1.1 * total) < 0.01
    assert abs(g["entropy_change_higher_order"]["mean"] + 0.1 * total) < 0.01
    assert (tmp_path / "rep" / "entropy_budget.png").stat().st_size > 5000
    # entropy against diversity (linear in the fake runs: correlation 1) and calibration
    assert abs(g["corr_entropy_unique_answers"]["mean"] - 1.0) < 1e-9
    assert abs(g["corr_entropy_distinct_2"]["mean"] - 1.0) < 1e-9
    import numpy as np

    h = np.array([r["eval_entropy"] for r in load_run(runs[0]).rows if "eval_entropy" in r])
    expected = np.corrcoef(h, 0.05 + 0.1 * (h - 0.6) ** 2)[0, 1]
    assert abs(g["corr_entropy_ece"]["mean"] - expected) < 1e-9 and abs(expected) < 0.999
    assert (tmp_path / "rep" / "entropy_diversity_calibration.png").stat().st_size > 5000

    res = runner.invoke(app, ["fit", str(runs[0])])
    assert res.exit_code == 0, res.output
    assert "b − a = 0.6000" in res.output and "first quarter" in res.output
    assert "entropy budget" in res.output and "higher order" in res.output
    assert "held-out entropy vs unique_answers: r = +1.00, distinct_2: r = +1.00, ece: r =" in res.output
    # the run's own verdicts: the law fitted exactly (b − a = 0.6) is a good fit, from one seed
    assert "verdict: The entropy–performance law fits well: R² 1.00, ceiling b − a = 0.600" in res.output
    assert "1 seed, too few to be sure" in res.output


def test_temperature_matched_baseline_in_the_report(tmp_path):
    import pytest

    from entropy_rl.analysis.stats import matched_baseline

    sweep = [
        {"temperature": 0.5, "entropy": 0.1, "accuracy": 0.8, "pass@1": 0.8},
        {"temperature": 1.0, "entropy": 0.5, "accuracy": 0.4, "pass@1": 0.4},
    ]
    m = matched_baseline(sweep, 0.2)
    assert m["matched_accuracy"] == pytest.approx(0.7) and m["matched_temperature"] == pytest.approx(0.625)
    assert m["matched_extrapolated"] == 0.0
    assert matched_baseline(sweep, 0.9) == {
        "matched_temperature": 1.0,
        "matched_accuracy": 0.4,
        "matched_pass@1": 0.4,
        "matched_extrapolated": 1.0,
    }
    run = _fake_run(tmp_path / "grpo" / "seed0")
    write_report([run], tmp_path / "rep", baseline=sweep)
    assert (tmp_path / "rep" / "temperature_baseline.png").stat().st_size > 5000
    assert "The frontier: the initial policy at lower temperatures" in (tmp_path / "rep" / "index.html").read_text()
    summary = json.loads((tmp_path / "rep" / "summary.json").read_text())
    g = summary["methods"]["grpo"]
    h_final = 1.2 * 2.718281828 ** (-29 / 10) + 0.05
    assert g["temperature_matched_accuracy"]["mean"] == pytest.approx(0.8 - (h_final - 0.1), abs=1e-6)
    assert g["gain_over_temperature"]["mean"] == pytest.approx(
        g["eval_accuracy_final"]["mean"] - g["temperature_matched_accuracy"]["mean"]
    )
    assert summary["temperature_baseline"] == sweep


def test_compare_runs_methods_and_the_temperature_baseline(tmp_path, tiny_cache):
    from tests.conftest import TINY

    cfg = tmp_path / "c.yaml"
    cfg.write_text("trainer: {steps: 2}\n")
    sets = [a for o in [*TINY, f"model.cache_dir={tiny_cache}"] for a in ("--set", o)]
    out = tmp_path / "cmp"
    args = [
        "compare",
        str(cfg),
        "--methods",
        "grpo,clip_cov",
        "--seeds",
        "1",
        "--jobs",
        "1",
        "--out",
        str(out),
    ]
    res = runner.invoke(app, [*args, "--baseline-temperatures", "0.5,1.5", "--quiet", *sets])
    assert res.exit_code == 0, res.output
    assert "report:" in res.output and (out / "report" / "temperature_baseline.png").exists()
    sweep = json.loads((out / "baseline_temperature.json").read_text())
    assert [s["temperature"] for s in sweep] == [0.5, 1.5]  # sorted by entropy: higher T, higher entropy
    assert sweep[0]["entropy"] < sweep[1]["entropy"]
    assert "temperature baseline 2/2: T = 1.5, pass@1" in res.output  # a line per temperature
    full = json.loads((out / "report" / "summary.json").read_text())
    summary = full["methods"]
    assert set(summary) == {"grpo", "clip_cov"} and "gain_over_temperature" in summary["grpo"]
    assert set(full["token_drivers"]) == {"grpo", "clip_cov"}  # from each run's token_drivers.json
    assert "tokens carrying the most covariance" in res.output and "  clip_cov: " in res.output
    bad = runner.invoke(app, [*args, "--baseline-temperatures", "0,1", *sets])
    assert bad.exit_code != 0 and "temperatures must be > 0" in bad.output


def test_cli_train_report_eval_and_errors(tmp_path, tiny_cache):
    from tests.conftest import TINY

    cfg = tmp_path / "c.yaml"
    cfg.write_text("trainer: {steps: 2}\n")
    sets = [x for o in [*TINY, f"model.cache_dir={tiny_cache}"] for x in ("--set", o)]
    res = runner.invoke(app, ["train", str(cfg), "--out", str(tmp_path / "run"), "--quiet", *sets])
    assert res.exit_code == 0, res.output
    assert len(read_metrics(tmp_path / "run")) == 2
    res = runner.invoke(
        app, ["train", "--resume", str(tmp_path / "run"), "--quiet", "--set", "trainer.steps=3"]
    )
    assert res.exit_code == 0, res.output
    assert [r["step"] for r in read_metrics(tmp_path / "run")] == [0, 1, 2]
    res = runner.invoke(
        app,
        [
            "eval",
            str(tmp_path / "run"),
            "--data",
            "chain_sum",
            "--k",
            "4",
            "--n",
            "5",
            "--temperatures",
            "2,0.3",
        ],
    )
    assert res.exit_code == 0, res.output
    summary = json.loads((tmp_path / "run" / "eval" / "summary.json").read_text())
    for key in ("pass@1", "pass@4", "maj@4", "ece", "brier", "auroc", "distinct_2", "self_bleu", "entropy"):
        assert key in summary
    sweep_path = tmp_path / "run" / "eval" / "temperature_sweep.json"
    sweep = json.loads(sweep_path.read_text())
    assert [s["temperature"] for s in sweep] == [0.3, 2.0] and sweep[0]["entropy"] < sweep[1]["entropy"]
    res = runner.invoke(
        app, ["report", str(tmp_path / "run"), "--out", str(tmp_path / "rep"), "--baseline", str(sweep_path)]
    )
    assert res.exit_code == 0 and (tmp_path / "rep" / "index.html").exists()
    assert (tmp_path / "rep" / "temperature_baseline.png").exists()
    assert "Evaluations" in (tmp_path / "rep" / "index.html").read_text()
    bad = runner.invoke(app, ["eval", str(tmp_path / "run"), "--data", "chain_sum", "--temperatures", "hot"])
    assert bad.exit_code != 0 and "--temperatures: expected comma-separated numbers" in bad.output
    bad = runner.invoke(app, ["train", str(cfg), "--out", str(tmp_path / "r2"), "--set", "trainer.lr=-3"])
    assert bad.exit_code == 2 and "trainer.lr" in bad.output


def test_bandit_command(tmp_path):
    res = runner.invoke(app, ["bandit", "--out", str(tmp_path), "--trials", "20"])
    assert res.exit_code == 0 and "sign(ΔH) = −sign(Cov) in 100%" in res.output
    assert (tmp_path / "bandit.png").exists()


def test_train_smoke_via_function(tiny_config, tmp_path):
    train(tiny_config("trainer.steps=1"), tmp_path / "r", quiet=True)
    assert read_metrics(tmp_path / "r")[0]["step"] == 0


def test_compare_reports_the_runs_that_finished_and_names_the_one_that_failed(tmp_path, tiny_cache):
    from tests.conftest import TINY

    rewards = tmp_path / "rewards.py"
    rewards.write_text(
        "def broken(prompt, response, answer):\n    raise KeyError('oops')\n\n"
        "def fixed(prompt, response, answer):\n    return float(response.strip() == answer)\n"
    )
    cfg = tmp_path / "c.yaml"

    def write(fn):
        cfg.write_text(
            "trainer: {steps: 2}\n"
            "methods:\n"
            "  grpo: {algorithm: {loss: ppo}}\n"
            f"  custom: {{algorithm: {{loss: ppo}}, task: {{reward_fn: '{rewards}:{fn}'}}}}\n"
        )

    sets = [a for o in [*TINY, f"model.cache_dir={tiny_cache}"] for a in ("--set", o)]
    out = tmp_path / "cmp"
    args = ["compare", str(cfg), "--methods", "grpo,custom", "--seeds", "1", "--jobs", "1"]
    args += ["--out", str(out), "--baseline-temperatures", "", "--quiet", *sets]
    write("broken")
    res = runner.invoke(app, args)
    assert res.exit_code == 2
    assert "1 of 2 runs failed" in res.output and "custom" in res.output and "KeyError('oops')" in res.output
    summary = json.loads((out / "report" / "summary.json").read_text())["methods"]
    assert set(summary) == {"grpo"}  # the report covers the run that finished
    grpo_log = (out / "grpo" / "seed0" / "metrics.jsonl").read_text()
    write("fixed")  # rerun after the fix: the finished run is kept as it is, the failed one runs
    res = runner.invoke(app, [a for a in args if a != "--quiet"])
    assert res.exit_code == 0, res.output
    # one job: a line as each run starts, then that run's own progress
    assert "run 1/2: grpo, seed 0" in res.output and "run 2/2: custom, seed 0" in res.output
    assert (out / "grpo" / "seed0" / "metrics.jsonl").read_text() == grpo_log
    summary = json.loads((out / "report" / "summary.json").read_text())["methods"]
    assert set(summary) == {"grpo", "custom"}


def _verl_log(path, a=0.3, b=0.9, steps=30):
    """A verl ``file``-logger JSONL ({"step": s, "data": {...}} per line) whose mean validation
    accuracy over two data sources follows R = −a·exp(H) + b exactly."""
    import numpy as np

    lines = [{"step": 0, "data": {"val-core/gsm8k/acc/mean@1": 0.1, "val-core/math/acc/mean@1": 0.1}}]
    for s in range(1, steps + 1):
        h = 1.2 * np.exp(-s / 10) + 0.05
        data = {
            "actor/entropy": h,
            "critic/score/mean": 0.5,
            "entropy_rl/covariance": 0.02,
            "actor/pg_loss": -0.1,
        }
        if s % 3 == 0:
            r = -a * np.exp(h) + b
            data["val-core/gsm8k/acc/mean@1"] = r + 0.05
            data["val-core/math/acc/mean@1"] = r - 0.05
            data["val-core/aime/acc/mean@1"] = None  # orjson writes a NaN as null: skipped
        lines.append({"step": s, "data": data})
    path.write_text("".join(json.dumps(line) + "\n" for line in lines))
    return path


def test_a_verl_file_log_is_read_fitted_and_reported(tmp_path):
    log = _verl_log(tmp_path / "exp.jsonl")
    run = load_run(log)
    assert run.method == "exp" and run.performance_key == "eval_accuracy"
    assert [r["step"] for r in run.rows] == list(range(31))
    assert run.rows[3]["covariance"] == 0.02 and run.rows[3]["actor/pg_loss"] == -0.1
    assert "entropy" not in run.rows[0]  # the validation before training has no entropy
    res = runner.invoke(app, ["fit", str(log)])
    assert res.exit_code == 0, res.output
    assert "points: 10 (entropy, eval_accuracy)" in res.output and "b − a = 0.6000" in res.output
    res = runner.invoke(app, ["fit", str(log), "--metric", "reward"])
    assert "points: 30 (entropy, reward)" in res.output
    res = runner.invoke(app, ["report", str(log), "--out", str(tmp_path / "rep")])
    assert res.exit_code == 0, res.output
    summary = json.loads((tmp_path / "rep" / "summary.json").read_text())
    assert abs(summary["methods"]["exp"]["law_ceiling"]["mean"] - 0.6) < 1e-6
    (tmp_path / "bad.jsonl").write_text('{"step": 1, "data": {}}\n{"step": 2}\n')
    res = runner.invoke(app, ["fit", str(tmp_path / "bad.jsonl")])
    assert res.exit_code != 0 and "bad.jsonl:2: not a verl file-logger line" in res.output


def test_token_drivers_are_pooled_over_seeds_in_the_report(tmp_path):
    runs = [_fake_run(tmp_path / "grpo" / f"seed{i}") for i in range(2)]
    for run, (plus, nl) in zip(runs, [(3.0, 1.0), (1.0, 1.0)], strict=True):
        drivers = {
            "covariance_total": 5.0,
            "tokens_total": 100,
            "top": [
                {"id": 5, "token": "+", "count": 10, "covariance_sum": plus, "covariance_share": plus / 5,
                 "mean_entropy": 0.2},
                {"id": 6, "token": "\\\\n", "count": 30, "covariance_sum": nl, "covariance_share": nl / 5,
                 "mean_entropy": 0.6},
            ],
        }  # fmt: skip
        (run / "token_drivers.json").write_text(json.dumps(drivers))
    write_report(runs, tmp_path / "rep")
    pooled = json.loads((tmp_path / "rep" / "summary.json").read_text())["token_drivers"]["grpo"]
    assert [t["token"] for t in pooled] == ["+", "\\\\n"]
    assert abs(pooled[0]["covariance_share"] - 0.4) < 1e-12 and pooled[0]["count"] == 20
    assert abs(pooled[1]["mean_entropy"] - 0.6) < 1e-12
    html_text = (tmp_path / "rep" / "index.html").read_text()
    assert "Tokens that carry the covariance" in html_text and "<code>+</code>" in html_text
    res = runner.invoke(app, ["fit", str(runs[0])])
    assert f"(share of Σ Cov): + 60.0 %, {pooled[1]['token']} 20.0 %" in res.output
