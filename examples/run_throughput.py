"""Wall time and throughput of entropy-rl runs, from their ``metrics.jsonl``: the total wall
time, the median time of a step without a held-out evaluation, the median rollout and update
token rates, and the update's arithmetic rate (``update_gflop_per_s``) as a share of the
machine's fp32 matmul peak (``--peak``, from ``benchmarks/bench_matmul_peak.py``).

A run made before the trainer logged ``update_gflop_per_s`` gets null there.

Usage: python examples/run_throughput.py RUN_DIR [RUN_DIR ...] [--peak GFLOPS] [--json PATH]
"""

from __future__ import annotations

import argparse
import json
import statistics
from pathlib import Path

from entropy_rl.analysis.runs import load_run


def throughput(run_dir: Path, peak: float | None) -> dict:
    run = load_run(run_dir)
    rows = run.rows
    plain = [r for r in rows if r.get("eval_accuracy") is None]  # steps without an evaluation
    gflops = [r["update_gflop_per_s"] for r in plain if r.get("update_gflop_per_s") is not None]
    out = {
        "run": str(run_dir),
        "steps": len(rows),
        "wall_time_s": rows[-1]["wall_time"],
        "median_step_s_without_eval": statistics.median(r["step_time"] for r in plain),
        "median_rollout_tokens_per_s": statistics.median(r["rollout_tokens_per_s"] for r in plain),
        "median_update_tokens_per_s": statistics.median(
            r["update_tokens_per_s"] for r in plain if r.get("update_tokens_per_s")
        ),
        "median_update_gflop_per_s": statistics.median(gflops) if gflops else None,
    }
    if peak and gflops:
        out["update_share_of_peak"] = out["median_update_gflop_per_s"] / peak
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("runs", nargs="+")
    ap.add_argument("--peak", type=float, default=0.0, help="fp32 matmul GFLOP/s of the machine")
    ap.add_argument("--json", default="")
    args = ap.parse_args()
    result = [throughput(Path(r), args.peak or None) for r in args.runs]
    text = json.dumps({"peak_gflop_per_s": args.peak or None, "runs": result}, indent=1)
    print(text)
    if args.json:
        Path(args.json).write_text(text + "\n")


if __name__ == "__main__":
    main()
