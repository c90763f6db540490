"""Rewrite the committed TRL logs (docs/results/trl-*/<method>/trainer_state.json) as today's TRL
plug-in logs them: each logging window's probe entropy change summed over its optimizer steps,
where the plug-in that made these runs logged the window's mean (TRL averages each window).

sum = mean × logging_steps holds exactly here: every window of these runs spans `logging_steps`
optimizer steps (one generation batch). `entropy-rl fit` on the rewritten logs then gives the
entropy budget that each folder's budget.json derived the same way. The probe's entropy per
window stays the window's mean (today's plug-in logs its last value; that value was not kept).
A file is rewritten once: it is marked with `entropy_rl_window_sums`.

    python scripts/trl_window_sums.py docs/results/trl-*-cpu/*/trainer_state.json
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

KEYS = ("entropy_rl/entropy_change", "entropy_rl/predicted_entropy_change")


def main(paths: list[str]) -> None:
    for p in paths:
        path = Path(p)
        state = json.loads(path.read_text())
        if state.get("entropy_rl_window_sums"):
            print(f"{path}: already window sums")
            continue
        steps = int(state["logging_steps"])
        for row in state["log_history"]:
            for key in KEYS:
                if key in row:
                    row[key] *= steps
        state["entropy_rl_window_sums"] = f"window means × logging_steps ({steps}), scripts/trl_window_sums.py"
        path.write_text(json.dumps(state, indent=2))
        print(f"{path}: × {steps}")


if __name__ == "__main__":
    main(sys.argv[1:])
