"""What the runs measure: covariance on the tokens the loss sees, the initial policy evaluated
before any update, and the covariance–entropy-change correlation in every report."""

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from entropy_rl.analysis.report import write_report
from entropy_rl.analysis.runs import load_run
from entropy_rl.analysis.stats import covariance_entropy_change_correlation
from entropy_rl.core.diagnostics import batch_diagnostics
from entropy_rl.train import trainer as T

FIXTURE = Path(__file__).parent / "fixtures" / "run-grpo"


def test_covariance_is_over_the_kept_tokens_and_the_whole_batch_is_named(tiny_config, tmp_path):
    cfg = tiny_config("algorithm.filter_uniform_groups=true")
    run = T._set_up(cfg, tmp_path / "run", lambda *a: None)
    for step in range(6):  # find a step where some groups are dropped and some kept
        s = T._sample(run, step)
        kept, fraction = T._kept_rows(run, s.rewards)
        if 0 < fraction < 1:
            break
    else:
        pytest.skip("no step with both kinds of group at this seed")
    row, tokens = T._batch_row(run, step, s, kept)
    mask = s.batch.response_mask
    on_kept = batch_diagnostics(s.old_log_prob[kept], s.advantages[kept], s.old_entropy[kept], mask[kept])
    every = batch_diagnostics(s.old_log_prob, s.advantages, s.old_entropy, mask)
    assert row["covariance"] == on_kept.metrics["covariance"]
    assert row["cov_top_share_2%"] == on_kept.metrics["cov_top_share_2%"]
    assert row["covariance_all_tokens"] == every.metrics["covariance"]
    assert row["covariance"] != row["covariance_all_tokens"]
    assert row["zero_adv_fraction"] == every.metrics["zero_adv_fraction"] > 0  # still the whole batch
    assert tokens[:, 0].sum() == mask[kept].sum()  # the drivers count the kept tokens only


def test_the_initial_policy_is_evaluated_before_any_update_and_shared_by_methods(tiny_config, tmp_path):
    for loss in ("ppo", "reinforce"):
        T.train(tiny_config(f"algorithm.loss={loss}", "trainer.steps=1"), tmp_path / loss, quiet=True)
    a, b = (json.loads((tmp_path / m / "initial_eval.json").read_text()) for m in ("ppo", "reinforce"))
    assert a == b and a["step"] == "initial" and 0 <= a["accuracy"] <= 1
    # the evaluation runs in a forked RNG: the run's own trajectory is the same as that of a run
    # that skips it (an initial_eval.json already there is not redone)
    (tmp_path / "again").mkdir()
    (tmp_path / "again" / "initial_eval.json").write_text(json.dumps(a))
    T.train(tiny_config("algorithm.loss=ppo", "trainer.steps=1"), tmp_path / "again", quiet=True)
    row_a = T.read_metrics(tmp_path / "ppo")[0]
    row_b = T.read_metrics(tmp_path / "again")[0]
    assert row_a["entropy"] == row_b["entropy"] and row_a["loss"] == row_b["loss"]
    assert load_run(tmp_path / "ppo").initial_eval["accuracy"] == a["accuracy"]


def test_corr_covariance_entropy_change_is_computed_and_reported(tmp_path):
    run_dir = tmp_path / "run"
    shutil.copytree(FIXTURE, run_dir)
    rows = [json.loads(x) for x in (run_dir / "metrics.jsonl").read_text().splitlines()]
    for i, r in enumerate(rows):  # a known relation: ΔH = −2·Cov + a little
        r["covariance"] = 0.1 * (i + 1)
        r["entropy_change"] = -2 * r["covariance"] + (0.01 if i % 2 else -0.01)
    (run_dir / "metrics.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    run = load_run(run_dir)
    c = np.array([r["covariance"] for r in rows])
    d = np.array([r["entropy_change"] for r in rows])
    assert covariance_entropy_change_correlation(run) == pytest.approx(np.corrcoef(c, d)[0, 1])
    assert covariance_entropy_change_correlation(run) < -0.99
    index = write_report([run_dir], tmp_path / "rep")
    summary = json.loads((index.parent / "summary.json").read_text())
    assert summary["runs"][str(run_dir)]["corr_covariance_entropy_change"] < -0.99
    assert "corr_covariance_entropy_change" in index.read_text()
    assert '<ul id="verdicts"><li>' in index.read_text()  # the report opens on its verdicts
    assert (index.parent / "covariance_entropy_change.png").exists()


def test_entropy_tracking_counts_from_the_first_step_in_the_band():
    from entropy_rl.analysis.runs import Run
    from entropy_rl.analysis.stats import entropy_tracking

    hs = [0.5, 0.42, 0.36, 0.33, 0.29, 0.27, 0.31, 0.40, 0.30]
    rows = [{"step": i, "entropy": h, "entropy_target": 0.3, "entropy_band": 0.05} for i, h in enumerate(hs)]
    t = entropy_tracking(Run(Path("x/entropy_pi/seed0"), "entropy_pi", rows))
    after = np.abs(np.array(hs[3:]) - 0.3)  # 0.33 is the first inside the band
    assert t["entropy_band_reached_step"] == 3
    assert t["entropy_tracking_error"] == pytest.approx(after.mean())
    assert t["entropy_in_band_share"] == pytest.approx(5 / 6)  # 0.40 is outside
    assert t["entropy_tracking_error_all"] == pytest.approx(np.abs(np.array(hs) - 0.3).mean())
    assert t["entropy_in_band_share_all"] == pytest.approx(5 / 9)  # every step, the approach too
    never = [dict(r, entropy=0.6) for r in rows]
    t_never = entropy_tracking(Run(Path("y"), "m", never))
    assert "entropy_tracking_error" not in t_never
    assert t_never["entropy_in_band_share_all"] == 0.0 == t_never["entropy_in_band_share_smoothed_all"]
    assert "knob_at_bound_share" not in t  # a controller that does not say where its knob is
    assert entropy_tracking(Run(Path("z"), "grpo", [{"step": 0, "entropy": 0.3}])) == {}


def test_pass_at_k_is_paired_with_grpo_by_seed():
    from entropy_rl.analysis.runs import Run
    from entropy_rl.analysis.stats import run_metrics

    def rows(acc, p8):
        return [
            {"step": s, "entropy": 0.5 - 0.01 * s, "accuracy": 0.3, "eval_accuracy": acc, "eval_pass@8": p8, "eval_entropy": 0.4}
            for s in range(3)
        ]

    runs = [Run(Path("o/grpo/seed0"), "grpo", rows(0.4, 0.6)), Run(Path("o/kl_cov/seed0"), "kl_cov", rows(0.4, 0.7))]
    per_run = run_metrics(runs)
    assert per_run[1]["eval_pass@8_minus_grpo"] == pytest.approx(0.1)
    assert per_run[1]["eval_accuracy_final_minus_grpo"] == pytest.approx(0.0)


def test_entropy_tracking_smoothed_over_ten_steps():
    from entropy_rl.analysis.runs import Run
    from entropy_rl.analysis.stats import entropy_tracking

    # alternating ±0.07 around the target: every step outside the band, every 10-step mean inside
    hs = [0.3 + (0.07 if i % 2 else -0.07) for i in range(40)]
    hs[0] = 0.3
    rows = [{"step": i, "entropy": h, "entropy_target": 0.3, "entropy_band": 0.05} for i, h in enumerate(hs)]
    t = entropy_tracking(Run(Path("x/entropy_pi/seed0"), "entropy_pi", rows))
    assert t["entropy_in_band_share"] == pytest.approx(1 / 40)
    assert t["entropy_in_band_share_smoothed"] == 1.0
    assert t["entropy_tracking_error_smoothed"] < 0.05 < t["entropy_tracking_error"]


def test_knob_saturation_is_counted_from_the_controllers_log():
    from entropy_rl.analysis.runs import Run
    from entropy_rl.analysis.stats import entropy_tracking

    at = [0, 0, 1, 1, 1, -1, 0, 0]
    rows = [
        {"step": i, "entropy": 0.2, "entropy_target": 0.3, "entropy_band": 0.05, "controller_at_bound": float(b),
         "controller_value": 0.1 * (i + 1)}
        for i, b in enumerate(at)
    ]  # fmt: skip
    t = entropy_tracking(Run(Path("x/kl_cov_pi/seed0"), "kl_cov_pi", rows))
    assert t["knob_at_bound_share"] == pytest.approx(4 / 8) and t["knob_at_upper_share"] == pytest.approx(3 / 8)
    assert t["knob_mean"] == pytest.approx(0.45) and t["knob_final"] == pytest.approx(0.8)
