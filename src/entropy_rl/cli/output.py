"""What ``compare`` and ``fit`` print: the summary table, the paired comparison, the token drivers."""

from __future__ import annotations

from rich.console import Console
from rich.table import Table

from entropy_rl.analysis.stats import paired_with_grpo
from entropy_rl.analysis.verdicts import verdicts

SUMMARY_COLUMNS = {  # summary key → column header
    "entropy_start": "entropy start",
    "entropy_final": "entropy final",
    "entropy_final_vs_grpo": "× GRPO's (training)",
    "eval_accuracy_final": "held-out acc.",
    "law_ceiling": "law ceiling",
    "corr_predicted_measured_dH": "corr(pred., meas. ΔH)",
    "corr_covariance_entropy_change": "corr(Cov, ΔH)",
    "gain_over_temperature": "gain over temp.",
}


def drivers_line(rows: list[dict], top: int = 5) -> str:
    """``+ 11.1 %, - 10.4 %, …``: the tokens carrying the most covariance and their shares."""
    return ", ".join(
        f"{r['token']} {100 * r['covariance_share']:.1f} %"
        for r in rows[:top]
        if r["covariance_share"] is not None
    )


def print_summary(
    summary: dict, drivers: dict[str, list[dict]] | None = None, baseline: list[dict] | None = None
) -> None:
    """The ``methods`` part of a report's summary.json as a table, then the paired lines and drivers."""
    table = Table(title="final metrics, mean ± sample std over seeds")
    table.add_column("method")
    for header in SUMMARY_COLUMNS.values():
        table.add_column(header)
    for method, vals in summary.items():
        cells = []
        for c in SUMMARY_COLUMNS:
            v = vals.get(c)
            cells.append(
                "–" if v is None or v["n"] == 0
                else f"{v['mean']:.3f}" if v["n"] == 1
                else f"{v['mean']:.3f} ± {v['std']:.3f}"
            )
        table.add_row(method, *cells)
    console = Console(width=140)
    console.print(table)
    paired = paired_with_grpo(summary)
    if paired:
        console.print("against GRPO, paired by seed (mean [95 % t-interval]):")
        for line in paired:
            console.print(f"  {line}")
    lines = verdicts({"methods": summary, "temperature_baseline": baseline, "token_drivers": drivers})
    if lines:
        console.print("verdicts:")
        for line in lines:
            console.print(f"  {line}", markup=False)
    if drivers:
        console.print("tokens carrying the most covariance (share of Σ Cov over the run, pooled over seeds):")
        for method, rows in drivers.items():
            console.print(f"  {method}: {drivers_line(rows)}", markup=False)
