"""Commit the long horizon: pass@1 and pass@8 by thirds (``analysis.horizon``), the compare
report's summary and plots, and the wall times, into docs/results/frontier-cpu/horizon/.

    python scripts/horizon_results.py runs/horizon runs/horizon.log runs/horizon2.log runs/rerun.log
"""

from __future__ import annotations

import json
import re
import shutil
import sys
import time
from pathlib import Path

from entropy_rl.analysis.frontier import sweep_run_dirs
from entropy_rl.analysis.horizon import horizon_table, write_horizon
from entropy_rl.files import strict_json
from entropy_rl.models.tiny import machine

DEST = Path("docs/results/frontier-cpu/horizon")
NOTES = "Read with the table:"
COMMAND = ("entropy-rl compare configs/horizon.yaml --methods grpo,kl_cov@0.5,entropy_pi --seeds 3 --jobs 2 "
           "--out runs/horizon")  # fmt: skip


def wall_times(*logs: str) -> list[dict]:
    """Each ``=== horizon... start T`` / ``=== horizon... rc=R wall_s=S end T`` pair of the logs."""
    out = []
    for log in logs:
        text = Path(log).read_text()
        starts = dict(re.findall(r"=== (\S+) start (\S+)", text))
        for name, rc, wall, end in re.findall(r"=== (horizon\S*) rc=(\d+) wall_s=(\d+) end (\S+)", text):
            out.append({"log": log, "stage": name, "start": starts.get(name), "end": end, "rc": int(rc),
                        "wall_s": int(wall)})  # fmt: skip
    return out


def main(out: str, *logs: str) -> None:
    src = Path(out)
    DEST.mkdir(parents=True, exist_ok=True)
    write_horizon(sweep_run_dirs(src), DEST)
    for name in ("summary.json", "accuracy.png", "entropy.png", "pass_at_k.png"):
        shutil.copy(src / "report" / name, DEST / name)
    shutil.copy(src / "baseline_temperature.json", DEST / "baseline_temperature.json")
    timing = {
        "command": COMMAND,
        "stages": wall_times(*logs),
        "machine": f"{machine()['cpu']}, 2 cores, no GPU",
        "date": time.strftime("%Y-%m-%d"),
    }
    (DEST / "timing.json").write_text(strict_json(timing, indent=1) + "\n")
    data = json.loads((DEST / "horizon.json").read_text())
    stages = "\n".join(f"  - `{t['stage']}` ({t['log']}): {t['wall_s'] / 60:.0f} min, ended {t['end']}"
                        for t in timing["stages"])  # fmt: skip
    readme = f"""# The long horizon: does holding entropy overtake GRPO late?

- Config: `configs/horizon.yaml` (the frontier's settings, 720 steps, held-out evaluation every 60
  steps): GRPO, KL-Cov at k = 0.5 (the frontier's most entropy-holding KL-Cov) and the showcase's
  PI controller on the entropy bonus (target 0.3 ± 0.05), 3 seeds each. Chosen before the runs.
- Command: `{COMMAND}`, then `python scripts/horizon_results.py runs/horizon {' '.join(logs)}`
  (this folder). Wall times (`timing.json`):
{stages}
  The first stage ran all 9 runs and then failed in the report's frontier plot, which could not
  yet draw a method without a strength (fixed); the second resumed the finished runs and wrote
  the report; the third reran the controller's runs after the trainer began counting the tokens
  an entropy bonus acts on (every token).
- Machine: {timing['machine']}; torch 2.13.0 CPU; one thread per run, 2 runs at a time.
  Date: {timing['date']}.
- Statistics: {data['statistics']}. Runs are bit-identical only on the same CPU model and kernel
  libraries: read the intervals.

## By thirds

{horizon_table(data)}
## Findings

""" + "".join(f"- {f}.\n" for f in data["findings"]) + """
The compare report's `summary.json` and plots (`accuracy.png`, `entropy.png`, `pass_at_k.png`) are
here too, with `horizon.json` (each run's thirds).
"""
    previous = (DEST / "README.md").read_text() if (DEST / "README.md").exists() else ""
    if NOTES in previous:  # the hand-written reading stays
        readme += "\n" + previous[previous.index(NOTES):]
    (DEST / "README.md").write_text(readme)
    print(readme)


if __name__ == "__main__":
    main(*sys.argv[1:])
