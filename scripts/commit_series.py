"""Keep a run's per-step series in docs/results/, compactly, so that the forecast backtest (and any
later check) runs on a clean checkout: for each run directory `<method>/seed<N>/`, the steps of
its metrics.jsonl with the keys a forecast or a law fit reads (training entropy, training
accuracy, held-out accuracy, pass@k and entropy) and, where a run has them, what a controller
logged (target, band, knob, at a bound) and the tokens the remedy acted on, written to DEST/<method>/seed<N>/metrics.jsonl
(a run directory `fit`, `report` and `backtest` read as ours).

    .venv/bin/python scripts/commit_series.py runs/demo docs/results/demo-cpu/series
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

from entropy_rl.files import read_metrics, strict_json

KEYS = re.compile(
    r"step|entropy|accuracy|eval_accuracy|eval_entropy|eval_pass@\d+|covariance"
    r"|entropy_target|entropy_band|controller_value|controller_at_bound|remedy_token_share|remedy_tokens"
)


def main(src: str, dest: str, methods: set[str] | None = None) -> None:
    """Every ``<method>/seed<N>`` run of ``src`` (only ``methods`` when given) into ``dest``."""
    out = Path(dest)
    for run in sorted(Path(src).glob("*/seed*/metrics.jsonl")):
        if methods is not None and run.parent.parent.name not in methods:
            continue
        rows = [{k: v for k, v in r.items() if KEYS.fullmatch(k) and v is not None} for r in read_metrics(run.parent)]
        target = out / run.parent.parent.name / run.parent.name / "metrics.jsonl"
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text("".join(strict_json(r) + "\n" for r in rows))
        print(f"{target}: {len(rows)} steps")


if __name__ == "__main__":
    main(*sys.argv[1:3])
