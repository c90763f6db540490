"""Redraw a committed frontier plot from its committed frontier.json (rows and temperature
baseline), e.g. after a change to the plot's labels; the data is unchanged.

    python scripts/replot_frontier.py docs/results/frontier-cpu
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from entropy_rl.analysis.frontier import plot_frontier


def main(folder: str) -> None:
    d = json.loads((Path(folder) / "frontier.json").read_text())
    print(plot_frontier(d["rows"], d.get("temperature_baseline"), Path(folder) / "frontier.png"))


if __name__ == "__main__":
    main(sys.argv[1])
