"""The forecast backtest published in docs/results/forecast-backtest/: `entropy-rl backtest` on every
real log of ../shared/real-logs (other people's runs) and every committed per-step series of ours
(docs/results/trl-*-cpu/<method>/trainer_state.json), at cutoffs 10 %, 25 % and 50 %. Writes
backtest.json (records, summaries, the default forecaster by the rule written before the table,
leave-one-run-out calibration; with command, machine and date), backtest.md, error_vs_cutoff.png,
and the calibration `fit` and `watch` apply: src/entropy_rl/analysis/forecast_calibration.json.

    .venv/bin/python scripts/forecast_backtest.py [--logs ../shared/real-logs] [--out docs/results/forecast-backtest]
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "benchmarks"))
from _record import write_record  # noqa: E402

from entropy_rl.analysis.backtest import DEFAULT_FRACTION, run_series, write_backtest  # noqa: E402
from entropy_rl.analysis.runs import load_run  # noqa: E402
from entropy_rl.files import strict_json  # noqa: E402

CALIBRATION = ROOT / "src" / "entropy_rl" / "analysis" / "forecast_calibration.json"


def corpus(logs: Path) -> list[Path]:
    """Other people's logs (when that folder is here), then our committed series: the TRL runs'
    logs and every run's compact series (docs/results/*/series/<method>/seed<N>/metrics.jsonl)."""
    theirs = sorted(p for p in logs.iterdir() if p.suffix in (".log", ".json")) if logs.is_dir() else []
    results = ROOT / "docs" / "results"
    ours = sorted(p.parent for p in results.glob("trl-*-cpu/*/trainer_state.json"))
    return theirs + ours + sorted(p.parent for p in results.glob("*/series/*/seed*/metrics.jsonl"))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--logs", type=Path, default=ROOT.parent / "shared" / "real-logs")
    ap.add_argument("--out", type=Path, default=ROOT / "docs" / "results" / "forecast-backtest")
    args = ap.parse_args()
    paths = corpus(args.logs)
    series = []
    for i, p in enumerate(paths, 1):
        print(f"[{i}/{len(paths)}] {p.name}", flush=True)
        s = run_series(load_run(p))
        ours = p.resolve().is_relative_to(ROOT / "docs" / "results")
        s.name, s.ours = (str(p.relative_to(ROOT)), True) if ours else (p.name, False)
        folder = p.relative_to(ROOT / "docs" / "results").parts[0] if ours else ""
        s.study = "trl plug-in" if folder.startswith("trl-") else folder or "real logs"
        series.append(s)
    result = write_backtest(series, args.out)
    write_record(args.out / "backtest.json", result)  # the same object, with command, machine and date
    record = json.loads((args.out / "backtest.json").read_text())
    figures = result["summary"]["all"][str(DEFAULT_FRACTION)]
    default = result["default"]["forecaster"]
    calibration = {
        "source": "docs/results/forecast-backtest/backtest.json",
        "date": record["date"],
        "machine": record["machine"]["cpu"],
        "runs": len(series),
        "default": result["default"],
        "scales": result["calibration"],
        "figures": {name: figures[name] for name in (default, "law", "naive") if name in figures},
    }
    CALIBRATION.write_text(strict_json(calibration, indent=1) + "\n")
    print((args.out / "backtest.md").read_text())


if __name__ == "__main__":
    main()
