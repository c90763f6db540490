"""Commit a sweep's frontier: copy DIR/frontier/ and the temperature sweep into
docs/results/frontier-cpu/ and write its README (commands, machine, date, wall times from the
sweep's log, the table and the findings, all from frontier.json).

    python scripts/frontier_results.py runs/frontier runs/frontier.log [runs/rerun.log]

A third argument is the log of a rerun of some families (their stages are listed apart, under
``reruns``, and not added to the sweep's wall time).
"""

from __future__ import annotations

import json
import re
import shutil
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

from entropy_rl.analysis.frontier import frontier_table
from entropy_rl.files import strict_json
from entropy_rl.models.tiny import machine

DEST = Path("docs/results/frontier-cpu")
NOTES = "Read with the table:"


def _stages(text: str) -> list[dict]:
    starts = dict(re.findall(r"=== (\S+) start (\S+)", text))
    ends = dict(re.findall(r"=== (\S+) (?:rc=\d+ wall_s=\d+ )?end (\S+)", text))
    stamp = lambda t: datetime.strptime(t, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=timezone.utc)  # noqa: E731
    return [
        {"command": f"entropy-rl sweep configs/frontier.yaml --families {fams} --seeds 3 --jobs 2 --out runs/frontier",
         "start": starts[fams], "end": ends[fams],
         "wall_s": round((stamp(ends[fams]) - stamp(starts[fams])).total_seconds())}
        for fams in starts if fams in ends and re.fullmatch(r"[a-z_,]+", fams)
    ]  # fmt: skip


def main(sweep: str, log: str, rerun_log: str | None = None) -> None:
    src = Path(sweep)
    DEST.mkdir(parents=True, exist_ok=True)
    for name in ("frontier.json", "frontier.md", "frontier.png"):
        shutil.copy(src / "frontier" / name, DEST / name)
    shutil.copy(src / "baseline_temperature.json", DEST / "baseline_temperature.json")
    data = json.loads((DEST / "frontier.json").read_text())
    timing = {
        "commands": _stages(Path(log).read_text()),
        "machine": f"{machine()['cpu']}, 2 cores, no GPU",
    }  # fmt: skip
    timing["date"] = timing["commands"][0]["start"][:10] if timing["commands"] else time.strftime("%Y-%m-%d")
    if rerun_log:
        timing["reruns"] = _stages(Path(rerun_log).read_text())
    (DEST / "timing.json").write_text(strict_json(timing, indent=1) + "\n")
    total = sum(c["wall_s"] for c in timing["commands"])
    runs = len(data["runs"])
    cmds = "\n".join(f"  - `{c['command']}`: {c['wall_s'] / 60:.0f} min" for c in timing["commands"])
    for c in timing.get("reruns", []):
        cmds += (f"\n  - rerun, after the trainer began counting the tokens an entropy bonus acts on (all of them): "
                 f"`{c['command']}`: {c['wall_s'] / 60:.0f} min")  # fmt: skip
    readme = f"""# The exploration frontier on CPU: each remedy's dose-response

- Config: `configs/frontier.yaml` (the showcase's task, model and settings; held-out evaluation
  every 60 steps; strengths chosen before any run and listed there). Commands, run one after the
  other:
{cmds}
  and `python scripts/frontier_results.py runs/frontier runs/frontier.log runs/rerun.log` (this folder).
- Machine: {timing['machine']}; torch 2.13.0 CPU; one thread per run, 2 runs at a time.
  Date: {timing['date']}. {runs} runs, {total / 60:.0f} min of wall time in all (`timing.json`).
- Statistics: means over 3 seeds; "× GRPO's" and "− GRPO's" are paired by seed (each run against
  the GRPO run of its seed), mean [95 % t-interval]; "tokens acted on" is the share of the tokens
  a step updated that the remedy detached, penalised, reweighted or restored (`remedy_token_share`).
  Runs are bit-identical only on the same CPU model and kernel libraries: read the intervals.

## The frontier

![frontier](frontier.png)

{frontier_table(data['rows'])}
## Findings

""" + "".join(f"- {f}.\n" for f in data["findings"])
    old = (DEST / "README.md").read_text() if (DEST / "README.md").exists() else ""
    if NOTES in old:  # the hand-written reading of the table stays
        readme += "\n" + old[old.index(NOTES):]
    (DEST / "README.md").write_text(readme)
    print(f"wrote {DEST}")


if __name__ == "__main__":
    main(*sys.argv[1:4])
