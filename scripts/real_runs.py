"""The law's forecast checked on real runs of other people: ``entropy-rl fit LOG --json`` on every log
of a folder (default ``../shared/real-logs``) that has entropy and a reward or validation score;
writes docs/results/real-runs/summary.json (each log's JSON as the command printed it, with the
command, machine and date) and prints the table of docs/results/real-runs/README.md (which
tests/test_results.py checks against the file).

    .venv/bin/python scripts/real_runs.py [--logs ../shared/real-logs] [--out docs/results/real-runs]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "benchmarks"))
from _record import write_record  # noqa: E402

ENTROPY_RL = Path(sys.executable).parent / "entropy-rl"


def fit(log: Path) -> dict:
    """What ``entropy-rl fit LOG --json`` prints, or the one-line error it gives."""
    res = subprocess.run([str(ENTROPY_RL), "fit", str(log), "--json"], capture_output=True, text=True, timeout=600)
    if res.returncode != 0:
        return {"error": res.stdout.strip().splitlines()[-1] if res.stdout.strip() else res.stderr.strip()[-200:]}
    return json.loads(res.stdout)


def _f(v, fmt: str = ".3f") -> str:
    return "n/a" if v is None else format(v, fmt)


def table(results: dict) -> str:
    head = (
        "| log | format | points | R² | ceiling b − a | forecast from 25 % [90 % interval] | actual final | "
        "forecast error | at the observed final entropy (error) | entropy start → end |\n"
        + "|---" * 10 + "|\n"
    )
    rows = []
    for name, r in results.items():
        if "error" in r:
            rows.append(f"| {name} | not read: {r['error']} |" + " |" * 8)
            continue
        law, fc, at, col = r["law"], r["forecast"], r["at_final_entropy"], r["collapse"]
        if fc["law_does_not_apply"]:
            forecast = f"none: {fc['law_does_not_apply']}"
            err = "n/a"
        else:
            lo, hi = fc["interval"] or (None, None)
            forecast = f"{_f(fc['predicted_final'])} [{_f(lo)}, {_f(hi)}]"
            err = _f(fc["abs_error"])
        at_text = f"{_f(at['predicted_final'])} ({_f(at['abs_error'])})" if at["predicted_final"] is not None else "n/a"
        rows.append(
            f"| {name} | {r['source']} | {r['points']} ({r['metric']}) | {_f(law['r2'], '.2f')} | "
            f"{_f(law['ceiling'])} | {forecast} | {_f(fc['actual_final'])} | {err} | {at_text} | "
            f"{_f(col['start'], '.3g')} → {_f(col['end'], '.3g')} |"
        )
    return head + "\n".join(rows) + "\n"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--logs", type=Path, default=ROOT.parent / "shared" / "real-logs")
    ap.add_argument("--out", type=Path, default=ROOT / "docs" / "results" / "real-runs")
    args = ap.parse_args()
    logs = sorted(p for p in args.logs.iterdir() if p.suffix in (".log", ".json", ".jsonl", ".csv") or p.is_dir())
    results = {}
    for i, log in enumerate(logs, 1):
        print(f"[{i}/{len(logs)}] entropy-rl fit {log.name} --json", flush=True)
        results[log.name] = fit(log)
    write_record(args.out / "summary.json", results)
    print(table(results))


if __name__ == "__main__":
    main()
