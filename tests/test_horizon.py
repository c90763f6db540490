"""The long horizon by thirds: which evaluations fall in which third, the differences from GRPO
paired by seed, and findings that say what the intervals show."""

import json
import math

from typer.testing import CliRunner

from entropy_rl.analysis.horizon import horizon_summary, phase_means, write_horizon
from entropy_rl.analysis.runs import load_run
from entropy_rl.cli import app


def _run(path, values: dict[int, float], steps: int = 12, pass8: float = 0.1, entropy: float = 0.2):
    """A run of ``steps`` steps whose held-out pass@1 at step s is values[s]."""
    path.mkdir(parents=True)
    rows = []
    for s in range(steps):
        row = {"step": s, "entropy": entropy}
        if s in values:
            row |= {"eval_accuracy": values[s], "eval_pass@1": values[s], "eval_pass@8": values[s] + pass8,
                    "eval_entropy": entropy}  # fmt: skip
        rows.append(row)
    (path / "metrics.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


def test_phase_means_assign_each_evaluation_to_its_third_and_leave_the_first_step_out(tmp_path):
    # 12 steps: thirds are steps 0-3, 4-7, 8-11; the evaluation after step 0 measures the start
    run = load_run(_run(tmp_path / "g" / "seed0", {0: 9.0, 1: 1.0, 3: 3.0, 4: 5.0, 7: 7.0, 11: 11.0}))
    assert phase_means(run, "eval_accuracy") == [2.0, 6.0, 11.0]
    sparse = load_run(_run(tmp_path / "h" / "seed0", {0: 1.0, 11: 2.0}))
    first, second, last = phase_means(sparse, "eval_accuracy")
    assert math.isnan(first) and math.isnan(second) and last == 2.0
    assert all(math.isnan(x) for x in phase_means(sparse, "eval_ece"))


def _horizon(tmp_path, gaps: dict[str, list[tuple[float, float]]]):
    """GRPO flat at 0.5 on 3 seeds; each other method's (first-third, last-third) gap per seed."""
    dirs = []
    for seed in range(3):
        dirs.append(_run(tmp_path / "grpo" / f"seed{seed}", {3: 0.5, 7: 0.5, 11: 0.5 + 0.01 * seed}))
        for method, per_seed in gaps.items():
            early, late = per_seed[seed]
            dirs.append(_run(tmp_path / method / f"seed{seed}", {3: 0.5 + early, 7: 0.5, 11: 0.5 + 0.01 * seed + late},
                             pass8=0.2, entropy=0.2 * (3 + 0.1 * seed)))  # fmt: skip
    return dirs


def test_differences_are_paired_by_seed_and_the_findings_follow_the_intervals(tmp_path):
    dirs = _horizon(tmp_path, {"overtakes": [(-0.05, 0.10), (-0.04, 0.11), (-0.06, 0.09)],
                               "noisy": [(0.0, 0.2), (0.0, -0.2), (0.0, 0.01)]})  # fmt: skip
    s = horizon_summary([load_run(d) for d in dirs])
    over = s["methods"]["overtakes"]
    # GRPO's seed offset (0.01 × seed) cancels in the pairing: the spread is the method's own
    assert abs(over["pass@1_third3_minus_grpo"]["mean"] - 0.10) < 1e-9
    assert abs(over["pass@1_third3_minus_grpo"]["ci95"] - 4.303 * 0.01 / math.sqrt(3)) < 1e-3
    assert abs(over["pass@1_gap_change"]["mean"] - 0.15) < 1e-9
    assert abs(over["pass@8_third1_minus_grpo"]["mean"] - (0.1 - 0.05)) < 1e-9
    assert abs(over["eval_entropy_final_vs_grpo"]["mean"] - 3.1) < 1e-9
    md = write_horizon(dirs, tmp_path / "out")
    data = json.loads((tmp_path / "out" / "horizon.json").read_text())
    text = md.read_text()
    assert "| overtakes | pass@1 |" in text and "| grpo | pass@8 |" in text
    found = {f.split(" ")[0]: f for f in data["findings"]}
    assert "pass@1 -0.050 [-0.0" in found["overtakes"] and "third, +0.100 [+0.0" in found["overtakes"]
    assert "in the last (higher; the gap moved +0.150" in found["overtakes"]
    assert "in the last (not resolved: the interval reaches past ±0.02;" in found["noisy"]
    assert found["GRPO,"].startswith("GRPO, last third minus first: pass@1 +0.010 [")
    assert "(3 seeds)" in found["overtakes"]


def test_one_seed_speaks_of_no_interval(tmp_path):
    dirs = [_run(tmp_path / "grpo" / "seed0", {3: 0.5, 11: 0.5}), _run(tmp_path / "kl_cov" / "seed0", {3: 0.4, 11: 0.6})]
    data = json.loads((write_horizon(dirs, tmp_path / "out").parent / "horizon.json").read_text())
    assert all("[" not in f and "one seed: no interval" in f for f in data["findings"])


def test_the_horizon_command_writes_the_thirds_of_any_compare_directory(tmp_path):
    _horizon(tmp_path / "runs", {"kl_cov": [(-0.05, 0.10), (-0.04, 0.11), (-0.06, 0.09)]})
    res = CliRunner().invoke(app, ["horizon", str(tmp_path / "runs")])
    assert res.exit_code == 0, res.output
    assert "| kl_cov | pass@1 |" in res.output and (tmp_path / "runs" / "horizon" / "horizon.json").exists()
    empty = CliRunner().invoke(app, ["horizon", str(tmp_path / "nothing")])
    assert empty.exit_code != 0 and "no runs" in empty.output and "Traceback" not in empty.output
