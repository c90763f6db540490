"""Re-match SmolLM2 seed 0's RL runs with the initial policy at the same entropy, measured rather
than extrapolated: the runs were rerun (same config, seed and machine) with the temperature
sweep down to T = 0.02, which logs each run's final held-out entropy; a rerun counts only if it
reproduces the committed run (its final held-out pass@1 and training entropy equal the committed
summary's exactly). Writes docs/results/smollm2-cpu/rematch_seed0.json.

    bash scripts/smollm2_rerun_seed0.sh    # entropy-rl compare configs/smollm2-cpu.yaml ... --out runs/smollm2-rerun
    python scripts/smollm2_rematch.py runs/smollm2-rerun
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import numpy as np

from entropy_rl.analysis.runs import load_run, read_baseline
from entropy_rl.analysis.stats import matched_baseline, run_metrics
from entropy_rl.models.tiny import machine

DEST = Path("docs/results/smollm2-cpu")
COMMAND = ("entropy-rl compare configs/smollm2-cpu.yaml --methods grpo,kl_cov,clip_cov --seeds 1 --jobs 1 "
           "--baseline-temperatures 0.02,0.05,0.1,0.3,0.5 --out runs/smollm2-rerun")  # fmt: skip


def main(out: str) -> None:
    src = Path(out)
    sweep = read_baseline(src / "baseline_temperature.json")
    committed = json.loads((DEST / "summary.json").read_text())["methods"]
    result = {
        "command": COMMAND,
        "then": "python scripts/smollm2_rematch.py runs/smollm2-rerun",
        "baseline": "the committed T = 0.1, 0.3, 0.5 sweep (baseline_temperature.json) and the T = 0.02, 0.05 "
        "sweep of low_temperatures.json, seed 0, copied into the rerun's baseline_temperature.json",
        "machine": f"{machine()['cpu']}, 2 cores, no GPU",
        "date": time.strftime("%Y-%m-%d"),
        "sweep": sweep,
        "runs": {},
    }
    for method in ("grpo", "kl_cov", "clip_cov"):
        run_dir = src / method / "seed0"
        metrics = run_dir / "metrics.jsonl"
        if not metrics.exists() or len(metrics.read_text().splitlines()) < 30:
            continue  # not run, or not finished
        run = load_run(run_dir)
        vals = run_metrics([run])[0]
        c = committed[method]
        reproduced = (vals["eval_accuracy_final"] == c["eval_accuracy_final"]["mean"]
                      and vals["entropy_final"] == c["entropy_final"]["mean"])  # fmt: skip
        m = matched_baseline(sweep, vals["eval_entropy_final"])
        _, tokens = run.series("remedy_tokens")
        _, share = run.series("remedy_token_share")
        result["runs"][method] = {
            "reproduced": reproduced,
            "eval_accuracy_final": vals["eval_accuracy_final"],
            "eval_entropy_final": vals["eval_entropy_final"],
            "matched_temperature": m["matched_temperature"],
            "matched_accuracy": m["matched_accuracy"],
            "matched_extrapolated": bool(m["matched_extrapolated"]),
            "gain_over_temperature": vals["eval_accuracy_final"] - m["matched_accuracy"],
            "committed_gain_extrapolated": c["gain_over_temperature"]["mean"],
            "remedy_tokens_per_step": float(np.mean(tokens)) if tokens.size else None,
            "remedy_token_share": float(np.mean(share)) if share.size else None,
            "remedy_tokens_max": float(np.max(tokens)) if tokens.size else None,
        }
    (DEST / "rematch_seed0.json").write_text(json.dumps(result, indent=1) + "\n")
    print(json.dumps(result["runs"], indent=1))


if __name__ == "__main__":
    main(sys.argv[1])
