"""Commit the target-entropy study (configs/target-entropy.yaml) into docs/results/target-entropy/:
the table and findings (``analysis.target``), the probe seed's figures, the per-step series, the
commands, machine, date and wall times, and a README generated from those numbers.

    python scripts/target_entropy_results.py runs/target-entropy runs/target-entropy-probe,runs/target-entropy-probe2,runs/target-entropy-probe3 LOG...
"""

from __future__ import annotations

import json
import re
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from commit_series import main as commit_series  # noqa: E402

from entropy_rl.analysis.frontier import sweep_run_dirs  # noqa: E402
from entropy_rl.analysis.runs import load_run  # noqa: E402
from entropy_rl.analysis.stats import run_metrics  # noqa: E402
from entropy_rl.analysis.target import target_findings, target_table, write_target  # noqa: E402
from entropy_rl.files import strict_json  # noqa: E402
from entropy_rl.models.tiny import machine  # noqa: E402

DEST = Path("docs/results/target-entropy")
CONTROLLERS = "kl_cov_pi@1.5x,kl_cov_pi@3x,clip_cov_pi@1.5x,clip_cov_pi@3x,bonus_pi@1.5x,bonus_pi@3x"
COMMANDS = {
    "probe": f"entropy-rl compare configs/target-entropy.yaml --methods {CONTROLLERS} --seeds 1 "
    "--set trainer.seed=1000 --jobs 2 --baseline-temperatures '' --out runs/target-entropy-probe (round 1; round 2: "
    "the KL-Cov and Clip-Cov controllers again with the gains now in the config, --out runs/target-entropy-probe2; "
    "round 3: bonus_pi@1.5x again, --out runs/target-entropy-probe3)",
    "showcase": "entropy-rl compare configs/showcase.yaml --methods grpo,clip_cov,kl_cov --seeds 5 --out runs/showcase "
    "(copied to runs/target-entropy: the same configs)",
    "final": "entropy-rl compare configs/target-entropy.yaml --methods M --seeds 5 --jobs 2 --baseline-temperatures '' "
    "--out runs/target-entropy, three times as the probe rounds ended: M = entropy_bonus (final-bonus.log); "
    "kl_cov_pi@1.5x,kl_cov_pi@3x,bonus_pi@3x (final-kl-bonus3.log); clip_cov_pi@1.5x,clip_cov_pi@3x,bonus_pi@1.5x "
    "(final-clip-bonus15.log); the three at once with the showcase's rerun and the probes, up to 8 runs on 2 cores",
    "results": "python scripts/target_entropy_results.py runs/target-entropy "
    "runs/target-entropy-probe,runs/target-entropy-probe2,runs/target-entropy-probe3 LOGS",
}
SHOWCASE_METHODS = ("grpo", "clip_cov", "kl_cov")
PROBE_KEYS = ("entropy_in_band_share_all", "entropy_in_band_share_smoothed_all", "knob_at_bound_share", "knob_at_upper_share",
              "knob_final", "entropy_final", "remedy_token_share")  # fmt: skip


def wall_times(*logs: str) -> list[dict]:
    """Each log's first and last ISO time stamp (the runs write them with `date -u`)."""
    out = []
    for log in logs:
        stamps = re.findall(r"^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ)$", Path(log).read_text(), re.M)
        if len(stamps) >= 2:
            t0, t1 = (time.mktime(time.strptime(s, "%Y-%m-%dT%H:%M:%SZ")) for s in (stamps[0], stamps[-1]))
            out.append({"log": Path(log).name, "start": stamps[0], "end": stamps[-1], "wall_s": int(t1 - t0)})
    return out


def probe_figures(probe: Path) -> dict:
    runs = [load_run(d) for d in sweep_run_dirs(probe)]
    return {r.method: {k: v.get(k) for k in PROBE_KEYS} for r, v in zip(runs, run_metrics(runs), strict=True)}


def _pct(stat: dict) -> str:
    return f"{100 * stat['mean']:.0f}%" if stat["mean"] is not None else "n/a"


def summary_lines(study: dict) -> list[str]:
    """Per controller, in words generated from the table's numbers."""
    out = []
    for name, m in study["methods"].items():
        if not m["controller"]:
            continue
        out.append(
            f"`{name}` (target {m['target']:.3g} ± {m['band']:.2g}): entropy in the band on {_pct(m['entropy_in_band_share_all'])} "
            f"of steps ({_pct(m['entropy_in_band_share_smoothed_all'])} by its 10-step mean), the knob at a bound on "
            f"{_pct(m['knob_at_bound_share'])}, the remedy acting on {_pct(m['remedy_token_share'])} of the tokens updated."
        )  # fmt: skip
    return out


def main(out: str, probe: str, *logs: str) -> None:
    DEST.mkdir(parents=True, exist_ok=True)
    study = write_target(sweep_run_dirs(Path(out)), DEST)
    rounds = [{"round": i + 1, "dir": d, "methods": probe_figures(Path(d))} for i, d in enumerate(probe.split(","))]
    (DEST / "probe.json").write_text(strict_json({"seed": 1000, "rounds": rounds}, indent=1) + "\n")
    # GRPO, Clip-Cov and KL-Cov are the showcase's own runs: their series are in showcase-cpu/series
    commit_series(out, str(DEST / "series"), methods={m for m in study["methods"] if m not in SHOWCASE_METHODS})
    timing = {
        "commands": COMMANDS,
        "logs": wall_times(*logs),
        "machine": f"{machine()['cpu']}, 2 cores, no GPU",
        "date": time.strftime("%Y-%m-%d"),
    }
    (DEST / "timing.json").write_text(strict_json(timing, indent=1) + "\n")
    probe_rows = "\n".join(
        f"| {r['round']} | {m} | {100 * v['entropy_in_band_share_all']:.0f}% | {100 * v['entropy_in_band_share_smoothed_all']:.0f}% | "
        f"{100 * v['knob_at_bound_share']:.0f}% | {v['knob_final']:.3g} | {v['entropy_final']:.3f} |"
        for r in rounds for m, v in sorted(r["methods"].items())
    )  # fmt: skip
    stages = "\n".join(f"  - `{t['log']}`: {t['wall_s'] / 60:.0f} min, {t['start']} to {t['end']}" for t in timing["logs"])
    readme = f"""# Target-entropy control on the showcase task

The SmolLM2 part of this study (3 seeds at 3x GRPO's final entropy) is in
[`../target-entropy-smollm2/`](../target-entropy-smollm2/README.md), with its own series.

- Config: `configs/target-entropy.yaml` (the showcase's task, model and trainer; 240 steps,
  held-out pass@1 and pass@8 on 128 problems every 15 steps). Machine: {timing['machine']};
  torch 2.13.0 CPU, one thread per run, two runs at a time. Date: {timing['date']}.
- Commands:
  - probe: `{COMMANDS['probe']}`
  - GRPO, Clip-Cov and KL-Cov (the fixed-strength settings): `{COMMANDS['showcase']}`
  - the rest: `{COMMANDS['final']}`
  - this folder: `{COMMANDS['results']}`
- Wall time (up to 8 runs shared the 2 cores, so these say nothing of speed):
{stages}
- Files: `target.json` (every figure below, with the per-seed values), `target.md`, `target.png`,
  `probe.json`, `series/` (each run's per-step entropy, controller log, remedy tokens and held-out
  metrics; GRPO's, Clip-Cov's and KL-Cov's are in [`../showcase-cpu/series/`](../showcase-cpu/series/README.md);
  `tests/test_results.py` recomputes `target.json` from them), `timing.json`.

## The design, fixed before the 5-seed runs

GRPO's final training entropy on this task is 0.139 (the showcase rerun on this machine, 5 seeds,
mean of the last 20 steps). The targets are 1.5x (0.21) and 3x (0.42) of it. The first sits inside
the range KL-Cov's fixed k reached on the frontier (up to 1.9x GRPO's training entropy). The second
is above it and just below the starting entropy (about 0.48). Each band is ±15 % of its target.
The knobs:

- KL-Cov's k (β = 1) on a log scale in [0.01, 1], from 0.05;
- Clip-Cov's ratio on a log scale in [0.001, 1], from 0.05;
- the entropy bonus, linear in [0, 0.2], from 0.

The gains are on each method in the config. They were chosen on one probe seed (`trainer.seed`
1000, not one of the final seeds) and not changed after the probe. In round 1, KL-Cov's and
Clip-Cov's controllers (kp 10, ki 0.5, floors 0.002 and 0.0002) left their knob near its floor for
about 100 steps after entropy had fallen below the 1.5x target. Round 2 ran them again with
kp 15, ki 2 and floors 0.01 and 0.001, the settings in the config. The bonus at 1.5x used the
showcase controller's gains in round 1 (kp 0.5, ki 0.02), and was still rising at step 220 with
entropy below the band. Round 3 ran it with kp 1, ki 0.1. Clip-Cov at 1.5x still ended below the
band in round 2, with its ratio at 1; it was not changed again. The probe seed, over all 240
steps:

| round | method | steps in band | 10-step mean in band | knob at a bound | knob, final | final training entropy |
| --- | --- | --- | --- | --- | --- | --- |
{probe_rows}

The comparisons the headline rests on were written in the config before the runs:

- the share of steps in the band, raw and smoothed, over every step (the approach included);
- held-out pass@1 and pass@8 against GRPO, paired by seed: 12 comparisons, Holm-adjusted, with
  an equivalence margin of ±0.02;
- the tokens acted on;
- the share of steps with the knob at a bound.

The fixed-strength baselines' 6 comparisons are a second family.

## Results (5 seeds; 95 % Student-t intervals over seeds; differences paired by seed)

{target_table(study)}

"Training entropy × GRPO's" is the final training entropy (mean of the last 5 steps) divided by
GRPO's of the same seed. "Tokens acted on" is the share of updated tokens that the remedy detached
or penalised; the bonus acts on all of them.

{chr(10).join('- ' + line for line in summary_lines(study))}

Against GRPO, worded from each interval and its Holm-adjusted p-value:

{chr(10).join('- ' + f for f in target_findings(study))}

![entropy and knobs](target.png)
"""
    (DEST / "README.md").write_text(readme)
    print(json.dumps({m: v["entropy_in_band_share_all"]["mean"] for m, v in study["methods"].items()}, indent=1))


if __name__ == "__main__":
    main(*sys.argv[1:])
