"""The report: plots, ``summary.json`` and ``index.html`` from one or more runs."""

from __future__ import annotations

import html
import json
from pathlib import Path

from entropy_rl.analysis.plots import (
    plot_covariance_entropy_change,
    plot_entropy_budget,
    plot_entropy_change,
    plot_entropy_links,
    plot_law,
    plot_pass_at_k,
    plot_series,
    plot_temperature_baseline,
)
from entropy_rl.analysis.runs import load_run
from entropy_rl.analysis.stats import (
    aggregate_by_method,
    fit_run_law,
    paired_with_grpo,
    pooled_token_drivers,
    run_metrics,
)
from entropy_rl.analysis.verdicts import verdicts


def write_report(
    run_dirs: list[str | Path], out: str | Path, baseline: list[dict[str, float]] | None = None
) -> Path:
    """Plots, ``summary.json`` and ``index.html`` for the given runs; returns the html path.
    ``baseline``: a ``temperature_sweep`` of the initial policy on the runs' held-out problems."""
    runs = [load_run(p) for p in run_dirs]
    if not runs:
        raise ValueError("report needs at least one run directory")
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    figs = [
        plot_series(runs, ["entropy"], "entropy (nats/token)", out / "entropy.png", "Policy entropy"),
        plot_series(
            runs,
            ["accuracy", "eval_accuracy"],
            "accuracy",
            out / "accuracy.png",
            "Accuracy (solid: training batch, dashed: held-out)",
        ),
        plot_law(runs, out / "law.png"),
        plot_series(runs, ["covariance"], "Cov(log π, A)", out / "covariance.png", "Covariance per step"),
        plot_entropy_change(runs, out / "entropy_change.png"),
        plot_covariance_entropy_change(runs, out / "covariance_entropy_change.png"),
        plot_entropy_budget(runs, out / "entropy_budget.png"),
        plot_series(
            runs,
            ["entropy_pos", "entropy_neg"],
            "entropy",
            out / "entropy_by_sign.png",
            "Entropy of A > 0 (solid) and A < 0 (dashed) tokens",
        ),
        plot_pass_at_k(runs, out / "pass_at_k.png"),
        plot_entropy_links(runs, out / "entropy_diversity_calibration.png"),
    ]
    if baseline:
        figs.append(plot_temperature_baseline(runs, baseline, out / "temperature_baseline.png"))
    per_run = run_metrics(runs, baseline)
    summary = aggregate_by_method(runs, per_run)
    laws = {}
    for run in runs:
        try:
            laws[str(run.path)] = fit_run_law(run).__dict__
        except ValueError as e:
            laws[str(run.path)] = {"error": str(e)}
    evals = {str(r.path): r.eval for r in runs if r.eval}
    drivers = pooled_token_drivers(runs)
    (out / "summary.json").write_text(
        json.dumps(
            {
                "methods": summary,
                "runs": {str(r.path): v for r, v in zip(runs, per_run, strict=True)},
                "laws": laws,
                "evals": evals,
                "temperature_baseline": baseline,
                "token_drivers": drivers,
            },
            indent=1,
            default=str,
        )
    )
    per_run_rows = [(str(r.path), v) for r, v in zip(runs, per_run, strict=True)]
    (out / "index.html").write_text(_html(summary, laws, evals, figs, baseline, drivers, per_run_rows))
    return out / "index.html"


def _drivers_html(drivers: dict[str, list[dict]]) -> str:
    if not drivers:
        return ""
    tables = ""
    for method, rows in drivers.items():
        body = "".join(
            f"<tr><td><code>{html.escape(r['token'])}</code></td><td>{_opt(r['covariance_share'])}</td>"
            f"<td>{r['count']}</td><td>{r['mean_entropy']:.3f}</td></tr>"
            for r in rows
        )
        tables += (
            f"<table style='display:inline-table;margin:8px'><tr><th colspan=4>{html.escape(method)}</th></tr>"
            f"<tr><th>token</th><th>share of Σ Cov</th><th>occurrences</th><th>mean entropy</th></tr>"
            f"{body}</table>"
        )
    return (
        "<h2>Tokens that carry the covariance (the first-order entropy loss), over the whole run</h2>"
        "<p>Σ Cov_i by token, pooled over seeds (<code>token_drivers.json</code> in each run).</p>" + tables
    )


def _fmt(d: dict) -> str:
    if d["n"] == 0:
        return "–"
    if d["n"] == 1:
        return f"{d['mean']:.3f}"
    return f"{d['mean']:.3f} ± {d['std']:.3f}"


def _opt(v) -> str:
    return "–" if v is None else f"{v:.3f}"


def _baseline_table(baseline: list[dict[str, float]] | None) -> str:
    if not baseline:
        return ""
    keys = ["temperature", "entropy", "accuracy"] + sorted(
        (k for k in baseline[0] if k.startswith("pass@")), key=lambda k: int(k.split("@")[1])
    )
    head = "".join(f"<th>{html.escape(k)}</th>" for k in keys)
    rows = "".join("<tr>" + "".join(f"<td>{r[k]:.3f}</td>" for k in keys) + "</tr>" for r in baseline)
    return (
        "<h2>Temperature baseline: the initial policy sampled at lower temperatures (held-out)</h2>"
        f"<table><tr>{head}</tr>{rows}</table>"
    )


# the per-run table's columns: what differs between seeds and decides a comparison
PER_RUN_COLUMNS = (
    "entropy_final",
    "entropy_final_vs_grpo",
    "eval_accuracy_final",
    "eval_accuracy_final_minus_grpo",
    "gain_over_temperature",
    "law_ceiling",
    "corr_predicted_measured_dH",
    "corr_covariance_entropy_change",
)


def _per_run_table(rows: list[tuple[str, dict[str, float]]]) -> str:
    """One row per run (seed): the spread that the mean ± std of the methods' table summarises."""
    if not rows:
        return ""
    cols = list(PER_RUN_COLUMNS)
    passes = {k for _, v in rows for k in v if k.startswith("eval_pass@")}
    cols += sorted(passes, key=lambda k: int(k.split("@")[1].split("_")[0]))
    head = "".join(f"<th>{html.escape(c)}</th>" for c in ["run", *cols])
    body = "".join(
        f"<tr><td>{html.escape(path)}</td>"
        + "".join(f"<td>{_opt(v.get(c))}</td>" for c in cols)
        + "</tr>"
        for path, v in rows
    )
    return f"<h2>Per run (each seed)</h2><table><tr>{head}</tr>{body}</table>"


def _html(summary, laws, evals, figs, baseline=None, drivers=None, per_run_rows=None) -> str:
    cols = [
        "entropy_start",
        "entropy_final",
        "entropy_ratio",
        "entropy_final_vs_grpo",
        "train_accuracy_final",
        "eval_accuracy_start",
        "eval_accuracy_final",
        "law_ceiling",
        "law_r2",
        "corr_predicted_measured_dH",
        "corr_covariance_entropy_change",
        "entropy_change_first_order",
        "entropy_change_higher_order",
        "temperature_matched_accuracy",
        "gain_over_temperature",
        "corr_entropy_unique_answers",
        "corr_entropy_ece",
    ]
    extra = sorted(
        {k for m in summary.values() for k in m if k.startswith("eval_pass@")},
        key=lambda k: int(k.split("@")[1].split("_")[0]),
    )
    cols += extra
    head = "".join(f"<th>{html.escape(c)}</th>" for c in ["method", "seeds", *cols])
    body = ""
    for method, vals in summary.items():
        n = max(v["n"] for v in vals.values())
        cells = "".join(f"<td>{_fmt(vals[c]) if c in vals else '–'}</td>" for c in cols)
        body += f"<tr><td>{html.escape(method)}</td><td>{n}</td>{cells}</tr>"
    law_rows = ""
    for path, law in laws.items():
        if "error" in law:
            law_rows += f"<tr><td>{html.escape(path)}</td><td colspan=6>{html.escape(law['error'])}</td></tr>"
            continue
        lo, hi = law["ceiling_interval"]
        pre = law.get("prefix_predicted_final")
        law_rows += (
            f"<tr><td>{html.escape(path)}</td><td>{law['a']:.4f}</td><td>{law['b']:.4f}</td><td>{law['r2']:.3f}</td>"
            f"<td>{law['ceiling']:.3f} [{lo:.3f}, {hi:.3f}]</td>"
            f"<td>{_opt(pre)}</td><td>{_opt(law.get('actual_final'))}</td></tr>"
        )
    imgs = "".join(
        f'<figure><img src="{f.name}" width="560"><figcaption>{f.stem}</figcaption></figure>' for f in figs
    )
    ev = ""
    if evals:
        ev = "<h2>Evaluations</h2><pre>" + html.escape(json.dumps(evals, indent=1)) + "</pre>"
    paired = paired_with_grpo(summary)
    paired_html = (
        "<p>Against GRPO, paired by seed (mean [95 % t-interval]):</p><ul>"
        + "".join(f"<li>{html.escape(line)}</li>" for line in paired)
        + "</ul>"
        if paired
        else ""
    )
    return f"""<!doctype html><html><head><meta charset="utf-8"><title>entropy-rl report</title>
<style>body{{font-family:sans-serif;margin:2em}}table{{border-collapse:collapse}}td,th{{border:1px solid #ccc;padding:4px 8px;font-size:13px}}
figure{{display:inline-block;margin:8px}}</style></head><body>
<h1>entropy-rl report</h1>
<h2>Verdicts</h2><ul id="verdicts">{"".join(f"<li>{html.escape(v)}</li>" for v in verdicts({"methods": summary}))}</ul>
<h2>Final metrics (mean ± std over seeds; "final" entropy and training accuracy are means of the last 5 steps)</h2>
<table><tr>{head}</tr>{body}</table>
{paired_html}
{_per_run_table(per_run_rows or [])}
<p>entropy_change_first_order + entropy_change_higher_order = the run's total entropy change on
the probe batch. The first-order part is what the covariance of each step explains (what Clip-Cov
and KL-Cov act on); the higher-order part grows with the size of the steps (learning rate,
updates per rollout), which no covariance remedy changes (<code>entropy_budget.png</code>).</p>
<h2>Entropy–performance law per run: R = −a·exp(H) + b on (training entropy, held-out accuracy)</h2>
<table><tr><th>run</th><th>a</th><th>b</th><th>R²</th><th>ceiling b − a [90% bootstrap]</th>
<th>final R predicted from the first quarter</th><th>actual final R</th></tr>{law_rows}</table>
{_baseline_table(baseline)}
{_drivers_html(drivers or {})}
{imgs}{ev}</body></html>"""
