"""examples/paper2_ablations.py turns a paper2 compare into its table, verdicts and plots."""

import json
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_ablation_table_and_verdicts(tmp_path):
    runs = tmp_path / "runs"
    for setting in ("grpo", "updates_1"):
        for seed in (0, 1):
            shutil.copytree(ROOT / "tests" / "fixtures" / "run-grpo", runs / setting / f"seed{seed}")
    # make updates_1 end with more entropy on both seeds, by different amounts
    for seed, bump in ((0, 0.1), (1, 0.2)):
        path = runs / "updates_1" / f"seed{seed}" / "metrics.jsonl"
        rows = [json.loads(x) for x in path.read_text().splitlines()]
        for r in rows:
            r["entropy"] += bump
        path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    out = tmp_path / "out"
    proc = subprocess.run(
        [sys.executable, str(ROOT / "examples" / "paper2_ablations.py"), str(runs), "--out", str(out)],
        capture_output=True, text=True, timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    result = json.loads((out / "ablations.json").read_text())
    a = result["claims"]["a"]
    assert a["seeds"] == 2 and a["difference"][0] == __import__("pytest").approx(-0.15)
    # 2 seeds, differences -0.1 and -0.2: t-interval -0.15 ± 12.7 × 0.0707 / √2 spans 0
    assert a["difference"][1] < 0 < a["difference"][2] and a["verdict"] == "not resolved"
    assert result["claims"]["b"]["seeds"] == 0 and result["claims"]["b"]["verdict"] == "not resolved"
    assert (out / "entropy_curves.png").stat().st_size > 0 and (out / "covariance_by_sign.png").exists()
