"""Recompute committed summary.json files' per-method statistics with today's definitions
(``entropy_rl.analysis.stats.aggregate``: the sample std, ddof = 1, and each run's pass@k change
from the initial policy, paired by seed).

A summary that holds its per-run values (``runs``) is re-aggregated from them, after checking that
the means, extremes and intervals it held are what they give; one that holds none had its std
computed over the population, and is rescaled by sqrt(n / (n - 1)), which is exact.

    python scripts/resummarize.py docs/results/*/summary.json docs/results/*/*/summary.json
"""

from __future__ import annotations

import json
import math
import sys
from pathlib import Path

from entropy_rl.analysis.stats import PASS_KEY, STATISTICS, aggregate, pass_k
from entropy_rl.files import strict_json


def _close(a: float, b: float) -> bool:
    return (math.isnan(a) and math.isnan(b)) or math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-12)


def resummarize(summary: dict) -> dict:
    if summary.get("statistics") == STATISTICS:
        return summary  # already today's
    old = summary["methods"]
    if summary.get("runs"):
        runs = summary["runs"]
        for vals in runs.values():
            for key in [k for k in vals if PASS_KEY.fullmatch(k) and k.endswith("_start") and pass_k(k) != 1]:
                final = key.removesuffix("_start") + "_final"
                if final in vals:
                    vals[key.removesuffix("_start") + "_change"] = vals[final] - vals[key]
        new = aggregate([Path(p).parent.name for p in runs], list(runs.values()))
        for method, stats in old.items():
            for key, v in stats.items():
                for field in ("mean", "min", "max", "n", "ci95"):
                    if not _close(float(v[field]), float(new[method][key][field])):
                        raise ValueError(f"{method}.{key}.{field}: {v[field]} held, {new[method][key][field]} from the runs")
    else:
        new = {
            method: {
                key: dict(v, std=v["std"] * math.sqrt(v["n"] / (v["n"] - 1)) if v["n"] > 1 else math.nan)
                for key, v in stats.items()
            }
            for method, stats in old.items()
        }
    return {"statistics": STATISTICS, **{k: v for k, v in summary.items() if k != "methods"}, "methods": new}


def main(paths: list[str]) -> None:
    for p in paths:
        path = Path(p)
        data = json.loads(path.read_text())
        if "methods" not in data:
            continue
        path.write_text(strict_json(resummarize(data), indent=1, default=str))
        print(f"{path}: {'from its runs' if data.get('runs') else 'std rescaled'}")


if __name__ == "__main__":
    main(sys.argv[1:])
