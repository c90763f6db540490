"""The exploration frontier: `entropy-rl sweep` runs FAMILY@STRENGTH settings and GRPO, resumes,
and draws the frontier (table, findings paired by seed, plot) for any sweep directory."""

import json

import yaml
from typer.testing import CliRunner

from entropy_rl.analysis.frontier import frontier_findings, frontier_rows, split_method, write_frontier
from entropy_rl.cli import app
from entropy_rl.config import load_config
from tests.test_report_cli import _fake_run

runner = CliRunner()


def _fake_sweep(out, scales):
    for method, scale in scales.items():
        for s, jitter in enumerate((1.0, 1.05, 0.95)):
            _fake_run(out / method / f"seed{s}", h_scale=scale * (1 if method == "grpo" else jitter))
    (out / "baseline_temperature.json").write_text(json.dumps([
        {"temperature": t, "entropy": 0.2 * t, "accuracy": 0.5 - 0.1 * t, "pass@4": 0.6 + 0.1 * t} for t in (0.5, 1.0)
    ]))  # fmt: skip


def test_split_method():
    assert split_method("kl_cov@0.2") == ("kl_cov", 0.2)
    assert split_method("grpo") == ("grpo", None)
    assert split_method("odd@name") == ("odd@name", None)


def test_frontier_of_a_sweep_directory(tmp_path):
    _fake_sweep(tmp_path, {"grpo": 1.0, "kl_cov@0.1": 1.5, "kl_cov@0.5": 4.0})
    md = write_frontier(tmp_path)
    text = md.read_text()
    assert "| grpo | 3 |" in text and "| kl_cov@0.1 | 3 |" in text and "| kl_cov@0.5 | 3 |" in text
    data = json.loads((tmp_path / "frontier" / "frontier.json").read_text())
    rows = {r["method"]: r for r in data["rows"]}
    assert [r["method"] for r in data["rows"]] == ["grpo", "kl_cov@0.1", "kl_cov@0.5"]  # GRPO first, by strength
    strong = rows["kl_cov@0.5"]
    assert strong["family"] == "kl_cov" and strong["strength"] == 0.5 and strong["k"] == 4
    # paired by seed: each seed's ratio to the GRPO run of the same seed, 4 × (1, 1.05, 0.95)
    assert abs(strong["entropy_x_grpo"] - 4.0) < 0.05 and strong["entropy_x_grpo_min"] < 4.0
    lo, hi = strong["entropy_x_grpo_ci"]
    assert lo < 4.0 < hi
    assert any(f.startswith("kl_cov@0.5 holds") and "at least 3× on every seed" in f for f in data["findings"])
    assert not any(f.startswith("kl_cov@0.1 holds") for f in data["findings"])
    assert (tmp_path / "frontier" / "frontier.png").stat().st_size > 10_000
    assert "sample standard deviation (ddof = 1)" in data["statistics"]


def test_no_setting_holding_three_times_is_said(tmp_path):
    _fake_sweep(tmp_path, {"grpo": 1.0, "clip_cov@0.2": 1.6})
    out = json.loads((write_frontier(tmp_path).parent / "frontier.json").read_text())
    assert out["findings"][0] == ("No setting holds 3× GRPO's training entropy on every seed; the most: clip_cov@0.2, "
                                  + out["findings"][0].split("the most: clip_cov@0.2, ")[1])
    assert out["findings"][1].startswith("2 paired comparisons") and len(out["family"]["comparisons"]) == 2
    assert frontier_findings(frontier_rows({})) == ["No setting holds 3× GRPO's training entropy on every seed"]


def test_a_method_without_a_strength_is_drawn_beside_the_sweep(tmp_path):
    # the long horizon mixes kl_cov@0.5 with a controller named without a strength
    _fake_sweep(tmp_path, {"grpo": 1.0, "kl_cov@0.5": 2.0, "entropy_pi": 3.0})
    rows = {r["method"]: r for r in json.loads((write_frontier(tmp_path).parent / "frontier.json").read_text())["rows"]}
    assert rows["entropy_pi"]["strength"] is None and abs(rows["entropy_pi"]["entropy_x_grpo"] - 3.0) < 0.05
    assert (tmp_path / "frontier" / "frontier.png").stat().st_size > 10_000


def test_the_sweep_command_runs_resumes_and_draws(tmp_path, tiny_cache):
    from tests.conftest import TINY

    base = load_config(None, [*TINY, f"model.cache_dir={tiny_cache}"]).model_dump()
    base["methods"] = {
        "kl_cov@0.2": {"algorithm": {"loss": "kl_cov", "loss_config": {"kl_cov_ratio": 0.2}}},
        "qae@0.4": {"algorithm": {"advantage": "qae", "advantage_args": {"quantile": 0.4}}},
        "ce_gppo@0.5": {"algorithm": {"loss": "ce_gppo", "loss_config": {"gppo_beta_low": 0.5}}},
    }
    cfg = tmp_path / "sweep.yaml"
    cfg.write_text(yaml.safe_dump(base))
    out = tmp_path / "sweep"
    args = ["sweep", str(cfg), "--seeds", "2", "--jobs", "1", "--out", str(out), "--baseline-temperatures", "0.5,1"]
    res = runner.invoke(app, [*args, "--families", "kl_cov,qae"])
    assert res.exit_code == 0, res.output
    assert "sweep: 2 settings of kl_cov, qae, and grpo, × 2 seeds" in res.output
    assert sorted(p.name for p in out.iterdir() if (p / "seed0").exists()) == ["grpo", "kl_cov@0.2", "qae@0.4"]
    assert "| kl_cov@0.2 | 2 |" in (out / "frontier" / "frontier.md").read_text()
    first = (out / "grpo" / "seed0" / "metrics.jsonl").read_text()
    # the second part of a split sweep keeps the finished runs and adds its family to the frontier
    res = runner.invoke(app, [*args, "--families", "ce_gppo"])
    assert res.exit_code == 0, res.output
    assert (out / "grpo" / "seed0" / "metrics.jsonl").read_text() == first
    table = (out / "frontier" / "frontier.md").read_text()
    assert all(f"| {m} | 2 |" in table for m in ("grpo", "kl_cov@0.2", "qae@0.4", "ce_gppo@0.5"))
    assert (out / "report" / "frontier.png").exists()  # the report draws the frontier of a sweep
    bad = runner.invoke(app, [*args, "--families", "nope"])
    assert bad.exit_code != 0 and "the config's families are ['ce_gppo', 'kl_cov', 'qae']" in bad.output


def test_each_family_is_labelled_with_the_direction_that_raises_entropy():
    from entropy_rl.analysis.frontier import family_label

    assert family_label("kl_cov") == "kl_cov (larger raises entropy)"
    assert family_label("entropy_bonus") == "entropy_bonus (larger raises entropy)"
    assert family_label("pos_neg") == "pos_neg (larger lowers entropy)"  # λ_pos weights the collapse
    assert family_label("ce_gppo") == "ce_gppo (larger lowers entropy)"  # the authors' README on β₁
    assert family_label("qae") == "qae"  # no declared direction: none claimed
