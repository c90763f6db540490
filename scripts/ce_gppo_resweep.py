"""Commit the CE-GPPO re-sweep (configs/ce-gppo-resweep.yaml): the sweep's frontier rows and its
family of comparisons (each setting's pass@1 and pass@8 against GRPO, paired by seed, Holm and
Benjamini–Hochberg), each setting's low/high clip fractions (which side of PPO's clip its
restored gradient acts on), and GRPO's rerun against the frontier's committed GRPO runs (the same
settings and seeds). Writes docs/results/frontier-cpu/ce-gppo-resweep/summary.json with the
command, machine and date, and prints the page's figures.

    .venv/bin/python scripts/ce_gppo_resweep.py runs/ce-gppo-resweep /tmp/resweep.log
"""

from __future__ import annotations

import json
import re
import shutil
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "benchmarks"))
from _record import write_record  # noqa: E402

from entropy_rl.analysis.frontier import comparison_family, family_finding  # noqa: E402
from entropy_rl.files import read_metrics  # noqa: E402

DEST = ROOT / "docs" / "results" / "frontier-cpu" / "ce-gppo-resweep"
FRONTIER = ROOT / "docs" / "results" / "frontier-cpu" / "frontier.json"


def clip_sides(sweep: Path) -> dict:
    """Per setting: the mean over its runs of each run's mean low / high clip fraction."""
    out: dict[str, dict] = {}
    for run in sorted(sweep.glob("*/seed*/metrics.jsonl")):
        rows = read_metrics(run.parent)
        low = np.mean([r["clip_frac_low"] for r in rows if r.get("clip_frac_low") is not None] or [np.nan])
        high = np.mean([r["clip_frac_high"] for r in rows if r.get("clip_frac_high") is not None] or [np.nan])
        out.setdefault(run.parent.parent.name, {"low": [], "high": []})
        out[run.parent.parent.name]["low"].append(float(low))
        out[run.parent.parent.name]["high"].append(float(high))
    return {m: {side: float(np.mean(v)) for side, v in sides.items()} for m, sides in out.items()}


def grpo_reproduction(runs: dict) -> dict:
    """This sweep's GRPO seeds against the frontier's committed ones: the same settings, seeds and
    shipped model; equal only on the CPU kind (and kernels) that made the committed runs."""
    committed = json.loads(FRONTIER.read_text())["runs"]
    out = {}
    for seed in range(3):
        mine = next(v for k, v in runs.items() if k.endswith(f"grpo/seed{seed}"))
        theirs = next(v for k, v in committed.items() if k.endswith(f"grpo/seed{seed}"))
        out[f"seed{seed}"] = {k: {"here": mine.get(k), "committed": theirs.get(k)}
                              for k in ("entropy_final", "eval_accuracy_final", "eval_pass@8_final")}  # fmt: skip
    out["identical"] = all(v[k]["here"] == v[k]["committed"] for v in out.values() for k in v)
    return out


def main(sweep: str, log: str) -> None:
    sweep_dir = Path(sweep)
    data = json.loads((sweep_dir / "frontier" / "frontier.json").read_text())
    family = comparison_family(data["runs"])
    result = {
        "rows": data["rows"],
        "family": family,
        "family_finding": family_finding(family),
        "clip_sides": clip_sides(sweep_dir),
        "grpo_reproduction": grpo_reproduction(data["runs"]),
        "runs": data["runs"],
        "log_tail": [ln for ln in Path(log).read_text().splitlines() if re.search(r"runs done|rc |UTC", ln)][-3:],
    }
    DEST.mkdir(parents=True, exist_ok=True)
    write_record(DEST / "summary.json", result)
    for name in ("frontier.md", "frontier.png"):
        shutil.copy(sweep_dir / "frontier" / name, DEST / name)
    print(json.dumps({k: result[k] for k in ("family_finding", "clip_sides", "grpo_reproduction")}, indent=1))
    print((DEST / "frontier.md").read_text())


if __name__ == "__main__":
    main(*sys.argv[1:3])
