"""Mean training entropy (and any logged loss coefficient) over each third of each run: whether a
long run's entropy drifts, collapses late or surges. Usage:
    python examples/entropy_by_thirds.py RUN_DIR... [--key entropy_coef] [--json OUT]
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

from entropy_rl.files import read_metrics


def thirds(run_dir: Path, keys: list[str]) -> dict[str, list[float]]:
    rows = read_metrics(run_dir)
    out = {}
    for key in keys:
        values = np.array([r[key] for r in rows if r.get(key) is not None], dtype=float)
        out[key] = [float(part.mean()) for part in np.array_split(values, 3)]
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("runs", nargs="+", type=Path)
    ap.add_argument("--key", action="append", default=[], help="Another logged key (repeatable).")
    ap.add_argument("--json", type=Path, default=None)
    args = ap.parse_args()
    keys = ["entropy", *args.key]
    result = {str(r): thirds(r, keys) for r in args.runs}
    for run, vals in result.items():
        print(run + ": " + "; ".join(f"{k} " + ", ".join(f"{v:.3f}" for v in vs) for k, vs in vals.items()))
    if args.json:
        args.json.write_text(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
