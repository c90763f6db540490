"""The long horizon: held-out pass@1 and pass@k by thirds of training, each method against the
GRPO run of the same seed, to see whether holding entropy overtakes GRPO late.

A third's value is the mean of the held-out evaluations that fall in it; the evaluation after the
first step measures the start, not the first third, and is left out. Thirds split the steps the
runs trained (their last logged step + 1).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from pathlib import Path

import numpy as np

from entropy_rl.analysis.inference import MARGINS, judged
from entropy_rl.analysis.page import md_text
from entropy_rl.analysis.runs import Run, load_run
from entropy_rl.analysis.stats import aggregate, pass_k, pass_keys
from entropy_rl.analysis.verdicts import NO_INTERVAL, _interval, _ok
from entropy_rl.files import atomic_write_text, strict_json

PHASES = 3
STATISTIC = (
    "a third's value: the mean of the run's held-out evaluations in that third of its steps (the "
    "evaluation after the first step left out); against GRPO: each run minus the GRPO run of its "
    "seed, mean over seeds [95 % Student-t interval]; GRPO's late − early: its last third minus its "
    "first, paired within each seed"
)


def phase_means(run: Run, key: str, phases: int = PHASES) -> list[float]:
    """The mean of ``key``'s evaluations in each of ``phases`` equal parts of the run's steps
    (NaN for a part without one). Step s (0-indexed) of T lies in part ⌈(s + 1)·phases / T⌉."""
    steps, vals = run.series(key)
    if not steps.size:
        return [math.nan] * phases
    total = int(max(r["step"] for r in run.rows)) + 1
    part = np.ceil((steps + 1) * phases / total).astype(int)
    keep = steps > 0
    return [float(vals[keep & (part == i)].mean()) if (keep & (part == i)).any() else math.nan
            for i in range(1, phases + 1)]  # fmt: skip


def _largest_k(runs: list[Run]) -> int | None:
    ks = {pass_k(k) for r in runs for k in pass_keys(r.rows[-1])}
    ks.discard(1)
    return max(ks, default=None)


def horizon_summary(runs: list[Run], phases: int = PHASES) -> dict:
    """Per method and metric (pass@1 and the largest pass@k logged): the thirds' mean over seeds
    with the 95 % interval, and the differences from GRPO paired by seed; GRPO's change from its
    first to its last third; and the final held-out entropy."""
    k = _largest_k(runs)
    keys = {"pass@1": "eval_accuracy"} | ({f"pass@{k}": f"eval_pass@{k}"} if k else {})
    per_run = []
    for run in runs:
        vals: dict[str, float] = {}
        for name, key in keys.items():
            for i, v in enumerate(phase_means(run, key, phases), start=1):
                vals[f"{name}_third{i}"] = v
        _, ent = run.series("eval_entropy")
        vals["eval_entropy_final"] = float(ent[-1]) if ent.size else math.nan
        per_run.append(vals)
    grpo = {r.path.name: v for r, v in zip(runs, per_run, strict=True) if r.method == "grpo"}
    for run, vals in zip(runs, per_run, strict=True):
        ref = grpo.get(run.path.name)
        for name in keys:
            vals[f"{name}_late_minus_early"] = vals[f"{name}_third{phases}"] - vals[f"{name}_third1"]
            if ref is not None and run.method != "grpo":
                for i in range(1, phases + 1):
                    vals[f"{name}_third{i}_minus_grpo"] = vals[f"{name}_third{i}"] - ref[f"{name}_third{i}"]
                # how the gap to GRPO moved from the first third to the last, within each seed
                vals[f"{name}_gap_change"] = vals[f"{name}_third{phases}_minus_grpo"] - vals[f"{name}_third1_minus_grpo"]
        if ref is not None and run.method != "grpo" and ref["eval_entropy_final"] > 0:
            vals["eval_entropy_final_vs_grpo"] = vals["eval_entropy_final"] / ref["eval_entropy_final"]
    return {
        "statistics": STATISTIC,
        "phases": phases,
        "metrics": list(keys),
        "runs": {str(r.path): v for r, v in zip(runs, per_run, strict=True)},
        "methods": dict(sorted(aggregate([r.method for r in runs], per_run).items(), key=lambda kv: kv[0] != "grpo")),
    }


def _iv(v: dict | None, fmt: str) -> str:
    return _interval(v, fmt)[0] if _ok(v) else "–"


def horizon_table(summary: dict) -> str:
    """Per method and metric: each third's mean and, for a remedy, its difference from GRPO."""
    p = summary["phases"]
    head = "| method | metric | " + " | ".join(f"third {i}" for i in range(1, p + 1))
    head += " | " + " | ".join(f"third {i} − GRPO's" for i in range(1, p + 1)) + " |\n"
    head += "| --- " * (2 + 2 * p) + "|\n"
    body = ""
    for method, v in summary["methods"].items():
        for name in summary["metrics"]:
            cells = [_iv(v.get(f"{name}_third{i}"), ".3f") for i in range(1, p + 1)]
            cells += ["" if method == "grpo" else _iv(v.get(f"{name}_third{i}_minus_grpo"), "+.3f")
                      for i in range(1, p + 1)]  # fmt: skip
            body += f"| {md_text(method)} | {name} | " + " | ".join(cells) + " |\n"
    return head + body


def _verdict(v: dict | None) -> str:
    """higher / lower / equivalent within the pass@k margin / not resolved (``analysis.inference``)."""
    side = _interval(v, "+.3f")[1] if _ok(v) else NO_INTERVAL
    word = {True: "higher", False: "lower", None: None, NO_INTERVAL: "one seed: no interval"}[side]
    return word or judged(v["mean"], v["ci95"], "+.3f", MARGINS["pass"])[1]


def horizon_findings(summary: dict, label: Callable[[str], str] = str) -> list[str]:
    """GRPO's late − early change, then for each remedy its first and last thirds against GRPO's
    and how far that gap moved between them, all paired by seed; ``label`` writes a method's name
    (``md_text`` for Markdown)."""
    p, ms, first_metric = summary["phases"], summary["methods"], summary["metrics"][0]
    out = []
    g = ms.get("grpo")
    if g:
        out.append(
            "GRPO, last third minus first: "
            + "; ".join(f"{name} {_iv(g.get(f'{name}_late_minus_early'), '+.3f')} "
                        f"({_verdict(g.get(f'{name}_late_minus_early'))})" for name in summary["metrics"])
            + f" ({g[first_metric + '_third1']['n']} seeds)"
        )  # fmt: skip
    for method, v in ms.items():
        if method == "grpo" or f"{first_metric}_third{p}_minus_grpo" not in v:
            continue
        parts = []
        for name in summary["metrics"]:
            first, last = v.get(f"{name}_third1_minus_grpo"), v.get(f"{name}_third{p}_minus_grpo")
            move = v.get(f"{name}_gap_change")
            parts.append(
                f"{name} {_iv(first, '+.3f')} in the first third, {_iv(last, '+.3f')} in the last "
                f"({_verdict(last)}; the gap moved {_iv(move, '+.3f')}, {_verdict(move)})"
            )
        ratio = v.get("eval_entropy_final_vs_grpo")
        out.append(
            f"{label(method)} against GRPO, paired by seed: final held-out entropy × {_iv(ratio, '.2f')}; "
            + "; ".join(parts) + f" ({v[first_metric + '_third1']['n']} seeds)"
        )
    return out


def write_horizon(run_dirs: list[str | Path], out: str | Path) -> Path:
    """``horizon.json`` (the summary and findings) and ``horizon.md`` (the table and findings) in
    ``out`` for runs of one horizon, ``<method>/seed<N>/`` each; returns the Markdown's path."""
    runs = [load_run(d) for d in run_dirs]
    summary = horizon_summary(runs)
    summary["findings"] = horizon_findings(summary)
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    atomic_write_text(out / "horizon.json", strict_json(summary, indent=1))
    md = out / "horizon.md"
    md_findings = horizon_findings(summary, md_text)
    atomic_write_text(md, horizon_table(summary) + "\n" + "".join(f"- {f}.\n" for f in md_findings))
    return md
