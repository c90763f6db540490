"""Redraw a committed report's pass@k plot from its summary.json (each run's final held-out pass@k),
with the report's own plot function: for a committed plot drawn before the plots' tick labels were
fixed, whose runs are not committed.

    .venv/bin/python scripts/replot_pass_at_k.py docs/results/frontier-cpu/horizon
"""

from __future__ import annotations

import argparse
import json
import re
from pathlib import Path

from entropy_rl.analysis.plots import plot_pass_at_k
from entropy_rl.analysis.runs import Run, method_of


def runs_of(summary: dict) -> list[Run]:
    """One pseudo-run per run of the summary: a last row holding its final pass@k values."""
    out = []
    for path, metrics in summary["runs"].items():
        row = {"step": 0, **{k.removesuffix("_final"): v for k, v in metrics.items()
                              if re.fullmatch(r"eval_pass@\d+_final", k)}}  # fmt: skip
        out.append(Run(Path(path), method_of(path), [row]))
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("folder", type=Path, help="A committed results folder with summary.json.")
    args = ap.parse_args()
    summary = json.loads((args.folder / "summary.json").read_text())
    print(plot_pass_at_k(runs_of(summary), args.folder / "pass_at_k.png"))


if __name__ == "__main__":
    main()
