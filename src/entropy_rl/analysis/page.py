"""The report's ``index.html``: verdicts first, then tables a reader understands (plain column
names with units, the exact ``summary.json`` key in each header's tooltip and in a footnote),
each table in its own scroll box so that the page fits the window, then captioned plots."""

from __future__ import annotations

import html
import json
import math
import re
from pathlib import Path

from entropy_rl.analysis.stats import PASS_KEY, pass_k

# summary.json key → (column name, what it means). The tables show the name; the tooltip and the
# footnote give the key, for people who script against summary.json.
COLUMNS: dict[str, tuple[str, str]] = {
    "entropy_start": ("entropy at start", "nats/token, training batch, first step"),
    "entropy_final": ("final training entropy", "nats/token on the training batch, mean of the last 5 steps"),
    "entropy_ratio": ("final ÷ start entropy", "below 0.5 counts as a collapse"),
    "entropy_final_vs_grpo": ("training entropy × GRPO's", "final training entropy ÷ GRPO's, same seed"),
    "entropy_change_first_order": ("ΔH first order", "nats/token: what the covariance explains"),
    "entropy_change_higher_order": ("ΔH higher order", "nats/token: grows with the step size"),
    "corr_predicted_measured_dH": ("corr(predicted, measured ΔH)", "per step, on the probe batch"),
    "corr_covariance_entropy_change": ("corr(Cov, ΔH)", "per step; negative as the theory says"),
    "entropy_tracking_error": ("|H − target|", "nats/token, mean once the band is reached"),
    "entropy_in_band_share": ("steps in band", "share of steps once the band is reached"),
    "entropy_tracking_error_smoothed": ("|10-step mean H − target|", "nats/token, once the band is reached"),
    "entropy_in_band_share_smoothed": (
        "10-step mean in band",
        "share of steps whose trailing 10-step mean entropy is in the band",
    ),
    "entropy_in_band_share_all": ("steps in band (all)", "share of every step, the approach included"),
    "entropy_in_band_share_smoothed_all": ("10-step mean in band (all)", "share of every step, the approach included"),
    "knob_at_bound_share": ("knob at a bound", "share of steps the controller's knob sat at low or high"),
    "knob_at_upper_share": ("knob at its upper bound", "share of steps"),
    "knob_mean": ("knob, mean", "the controller's value over the run"),
    "knob_final": ("knob, final", "the controller's value at the last step"),
    "train_accuracy_final": ("training accuracy", "last 5 steps, sampled at the run's temperature"),
    "eval_accuracy_start": ("held-out pass@1 at start", "the initial policy, before any update"),
    "eval_accuracy_final": ("held-out pass@1", "last evaluation"),
    "eval_accuracy_final_minus_grpo": ("pass@1 − GRPO's", "held-out, same seed"),
    "temperature_matched_accuracy": (
        "initial policy at same entropy",
        "held-out pass@1 of the initial policy at the temperature giving the run's final entropy",
    ),
    "gain_over_temperature": (
        "gain over temperature",
        "held-out pass@1 minus the initial policy's at the same entropy",
    ),
    "law_ceiling": ("law ceiling b − a", "pass@1 the law predicts at zero entropy"),
    "law_r2": ("law R²", "fit of R = −a·exp(H) + b"),
    "law_prefix_predicted_final": ("law: final predicted from first quarter at the observed final entropy", "held-out pass@1"),
    "temperature_matched_extrapolated": (
        "matched beyond the sweep",
        "share of seeds whose entropy lay beyond the lowest temperature swept: the match is extrapolated",
    ),
    "remedy_token_share": ("remedy's share of tokens", "tokens the remedy detached, penalised or reweighted / tokens updated"),
    "remedy_tokens_per_step": ("remedy tokens a step", "summed over the step's updates"),
    "law_forecast_final": ("law: forecast from the first quarter", "held-out pass@1, entropy extrapolated"),
    "law_forecast_abs_error": ("law: forecast's absolute error", "mean over seeds = mean absolute error"),
    "corr_entropy_unique_answers": ("corr(H, distinct answers)", "over evaluations"),
    "corr_entropy_ece": ("corr(H, calibration error)", "over evaluations"),
}

ENTROPY_TABLE = (
    "entropy_start",
    "entropy_final",
    "entropy_ratio",
    "entropy_final_vs_grpo",
    "entropy_change_first_order",
    "entropy_change_higher_order",
    "corr_covariance_entropy_change",
    "corr_predicted_measured_dH",
    "entropy_tracking_error",
    "entropy_in_band_share",
    "entropy_tracking_error_smoothed",
    "entropy_in_band_share_smoothed",
    "entropy_in_band_share_all",
    "entropy_in_band_share_smoothed_all",
    "knob_at_bound_share",
    "knob_mean",
    "remedy_token_share",
    "remedy_tokens_per_step",
)
ACCURACY_TABLE = (
    "eval_accuracy_start",
    "eval_accuracy_final",
    "eval_accuracy_final_minus_grpo",
    "temperature_matched_accuracy",
    "temperature_matched_extrapolated",
    "gain_over_temperature",
    "law_ceiling",
    "law_r2",
    "law_prefix_predicted_final",
    "law_forecast_final",
    "law_forecast_abs_error",
    "train_accuracy_final",
    "corr_entropy_unique_answers",
    "corr_entropy_ece",
)
PER_RUN_TABLE = (
    "entropy_final",
    "entropy_final_vs_grpo",
    "eval_accuracy_final",
    "eval_accuracy_final_minus_grpo",
    "gain_over_temperature",
    "law_ceiling",
    "corr_covariance_entropy_change",
)

# What to read from each plot, by its file name.
CAPTIONS: dict[str, str] = {
    "entropy": "Policy entropy of the sampled batches per step (nats/token). A collapse is a fast early fall that "
    "flattens near zero; a remedy that works keeps its curve above GRPO's.",
    "accuracy": "Accuracy per step: training batch (solid, smoothed) and held-out evaluations (dashed). "
    "Compare where each method's held-out curve flattens: that is its ceiling.",
    "law": "Held-out accuracy against entropy, with the fit R = −a·exp(H) + b per method. Points running "
    "along the curve towards H = 0 mean the law holds; the curve's value at H = 0 is the ceiling.",
    "covariance": "Covariance of log π and advantage per step (smoothed): the first-order drain on entropy. "
    "Positive means entropy is being spent; Clip-Cov and KL-Cov act on its largest terms.",
    "entropy_change": "Measured entropy change per step on a fixed probe batch against the first-order "
    "prediction: points on the diagonal mean the covariance explains the change.",
    "covariance_entropy_change": "Covariance against the measured entropy change, per step: the theory "
    "says the cloud slopes down (more covariance, more entropy lost).",
    "entropy_budget": "Where each run's entropy went: the first-order part the covariance explains, and the "
    "higher-order part that grows with the step size and that no covariance remedy touches.",
    "entropy_by_sign": "Entropy of the tokens with positive (solid) and negative (dashed) advantage: "
    "positive-advantage updates sharpen the policy, negative ones spread it.",
    "pass_at_k": "Held-out pass@k against k at the end of each run: a method that keeps exploring gains "
    "more from extra samples (a steeper curve), even where its pass@1 is no higher.",
    "entropy_diversity_calibration": "Entropy against distinct answers, diversity and calibration error "
    "over the evaluations: what falling entropy costs besides exploration.",
    "temperature_baseline": "The frontier: the initial policy sampled at lower temperatures (line), and each "
    "run's final (entropy, accuracy). A run on or below the line only sharpened the policy; above it, RL "
    "taught something a temperature cannot.",
}
WIDE = {"entropy_diversity_calibration"}

STYLE = """
body{font-family:system-ui,sans-serif;margin:1.5em auto;max-width:1240px;padding:0 12px;line-height:1.4}
.scroll{overflow-x:auto;max-width:100%;margin:0.5em 0}
table{border-collapse:collapse}
td,th{border:1px solid #ccc;padding:3px 7px;font-size:13px;text-align:right;white-space:nowrap}
td:first-child,th:first-child{text-align:left}
th{background:#f3f3f3;font-weight:600}
th[title]{cursor:help;text-decoration:underline dotted}
#verdicts li{margin:0.35em 0}
.plots{display:flex;flex-wrap:wrap;gap:12px}
figure{margin:0;width:600px;max-width:100%}
figure.wide{width:100%}
figure img{width:100%;height:auto;border:1px solid #eee}
figcaption{font-size:13px;color:#333}
.tokens{display:flex;flex-wrap:wrap;gap:12px;align-items:flex-start}
.keys{font-size:12px;color:#555}
"""


def esc(value) -> str:
    """The one way any text reaches the page: run files, keys and directory names are untrusted."""
    return html.escape(str(value), quote=True)


_MD_SPECIAL = re.compile(r"([\\`*\[\]|~])")  # `_` inside a name is no emphasis in mkdocs or GitHub


def md_text(value) -> str:
    """The one way a run's text (a directory name, a key) reaches a Markdown file: on one line,
    HTML's characters as entities and Markdown's punctuation backslash-escaped, so that mkdocs or
    GitHub renders it as the text it is, never as markup or a link."""
    return _MD_SPECIAL.sub(r"\\\1", esc(" ".join(str(value).split())))


def _number(v) -> bool:
    return isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v)


def fmt(d: dict) -> str:
    """Mean ± sample std (ddof = 1) over seeds, rounded to the std's first significant digit (3
    decimals for one seed, which has no std): more digits than the seeds support would only be noise."""
    if not isinstance(d, dict) or not d.get("n") or not _number(d.get("mean")):
        return "–"
    if d["n"] == 1 or not _number(d.get("std")) or not d["std"] > 0:
        return f"{d['mean']:.3f}"
    places = min(3, max(1, -math.floor(math.log10(d["std"]))))
    return f"{d['mean']:.{places}f} ± {d['std']:.{places}f}"


def _opt(v) -> str:
    return f"{v:.3f}" if _number(v) else "–"


def _column(key: str) -> tuple[str, str]:
    if key in COLUMNS:
        return COLUMNS[key]
    if PASS_KEY.fullmatch(key):
        k = pass_k(key)
        if key.endswith("_minus_grpo"):
            return f"pass@{k} − GRPO's", f"held-out pass@{k} minus GRPO's, same seed"
        if key.endswith("_start"):
            return f"pass@{k} at start", f"held-out pass@{k} of the initial policy, before any update"
        if key.endswith("_change"):
            return f"pass@{k} − start's", f"final held-out pass@{k} minus the initial policy's, same seed"
        return (
            f"held-out pass@{k}",
            f"share of problems solved by at least one of {k} samples, last evaluation",
        )
    return key, ""


def _head(key: str) -> str:
    name, meaning = _column(key)
    tip = f"{key}: {meaning}" if meaning else key
    return f'<th title="{esc(tip)}">{esc(name)}</th>'


def _pass_keys(keys, suffix: str) -> list[str]:
    """The pass@k keys with k > 1 (pass@1 is the accuracy columns), ordered by k."""
    keys = [k for k in keys if PASS_KEY.fullmatch(k) and k.endswith(suffix)]
    keys = [k for k in keys if pass_k(k) != 1]
    return sorted(keys, key=pass_k)


def _table(title: str, head: str, body: str) -> str:
    return f"<h3>{esc(title)}</h3><div class='scroll'><table><tr>{head}</tr>{body}</table></div>"


def methods_tables(summary: dict) -> str:
    present = {k for v in summary.values() for k in v}
    out = ""
    for title, keys in (
        ("Entropy", ENTROPY_TABLE),
        (
            "Accuracy and the law",
            (
                *ACCURACY_TABLE[:3],
                *_pass_keys(present, "_start"),
                *_pass_keys(present, "_final"),
                *_pass_keys(present, "_change"),
                *_pass_keys(present, "_minus_grpo"),
                *ACCURACY_TABLE[3:],
            ),
        ),
    ):
        cols = [k for k in keys if k in present]
        head = "<th>method</th><th>seeds</th>" + "".join(_head(c) for c in cols)
        body = ""
        for method, vals in summary.items():
            n = max((v["n"] for v in vals.values()), default=0)
            body += (
                f"<tr><td>{esc(method)}</td><td>{esc(n)}</td>"
                + "".join(f"<td>{fmt(vals[c]) if c in vals else '–'}</td>" for c in cols)
                + "</tr>"
            )
        out += _table(title, head, body)
    return out


def _run_name(path: str) -> str:
    p = Path(path)
    return f"{p.parent.name} / {p.name}" if p.parent.name else p.name


def per_run_table(rows: list[tuple[str, dict[str, float]]]) -> str:
    """One row per run (seed): the spread behind each mean ± std."""
    if not rows:
        return ""
    present = {k for _, v in rows for k in v}
    cols = [c for c in PER_RUN_TABLE if c in present] + _pass_keys(present, "_final")
    head = "<th>run</th>" + "".join(_head(c) for c in cols)
    body = "".join(
        f'<tr><td title="{esc(path)}">{esc(_run_name(path))}</td>'
        + "".join(f"<td>{_opt(v.get(c))}</td>" for c in cols)
        + "</tr>"
        for path, v in rows
    )
    return _table("Per run (each seed)", head, body)


def _forecast_cell(fc: dict | None) -> str:
    if not fc:
        return "<td></td>"
    if fc.get("no_forecast"):
        return f"<td style='text-align:left'>none: {esc(fc['no_forecast'])}</td>"
    lo, hi = fc.get("interval") or (None, None)
    warn = f" <span title='{esc(fc['warning'])}'>(a &lt; 0)</span>" if fc.get("warning") else ""
    return f"<td>{_opt(fc.get('predicted_final'))} [{_opt(lo)}, {_opt(hi)}]{warn}</td>"


def law_table(laws: dict) -> str:
    rows = ""
    for path, law in laws.items():
        name = esc(_run_name(path))
        if "error" in law:
            rows += f"<tr><td>{name}</td><td colspan=7 style='text-align:left'>{esc(law['error'])}</td></tr>"
            continue
        lo, hi = law["ceiling_interval"]
        rows += (
            f"<tr><td>{name}</td><td>{law['a']:.3f}</td><td>{law['b']:.3f}</td><td>{law['r2']:.2f}</td>"
            f"<td>{law['ceiling']:.3f} [{lo:.3f}, {hi:.3f}]</td>{_forecast_cell(law.get('forecast'))}"
            f"<td>{_opt(law.get('prefix_predicted_final'))}</td><td>{_opt(law.get('actual_final'))}</td></tr>"
        )
    head = (
        "<th>run</th><th>a</th><th>b</th><th>R²</th><th>ceiling b − a [90 % bootstrap]</th>"
        "<th>forecast from the first quarter [90 % bootstrap]</th>"
        "<th>first quarter's law at the final entropy reached</th><th>final reached</th>"
    )
    return _table(
        "The law R = −a·exp(H) + b per run (training entropy; held-out score, else training reward)", head, rows
    )


def baseline_table(baseline: list[dict[str, float]] | None) -> str:
    if not baseline:
        return ""
    keys = ["temperature", "entropy", "accuracy"] + _pass_keys([f"eval_{k}" for k in baseline[0]], "")
    keys = [k.removeprefix("eval_") for k in keys]
    names = {"temperature": "temperature", "entropy": "entropy (nats/token)", "accuracy": "pass@1"}
    head = "".join(f"<th>{esc(names.get(k, k))}</th>" for k in keys)
    rows = "".join("<tr>" + "".join(f"<td>{_opt(r.get(k))}</td>" for k in keys) + "</tr>" for r in baseline)
    return (
        "<h2>The frontier: the initial policy at lower temperatures (held-out)</h2>"
        "<p>What sharpening alone gives. A method has learned something only where it beats the row with "
        "its own final entropy (the accuracy table's <i>gain over temperature</i>).</p>"
        + _table("Initial policy by sampling temperature", head, rows)
    )


def drivers_html(drivers: dict[str, list[dict]]) -> str:
    if not drivers:
        return ""
    tables = ""
    for method, rows in drivers.items():
        body = "".join(
            f"<tr><td><code>{esc(r['token'])}</code></td><td>{_opt(r['covariance_share'])}</td>"
            f"<td>{esc(r['count'])}</td><td>{_opt(r['mean_entropy'])}</td></tr>"
            for r in rows
        )
        tables += (
            f"<div class='scroll'><table><tr><th colspan=4>{esc(method)}</th></tr>"
            "<tr><th>token</th><th>share of Σ Cov</th><th>occurrences</th><th>mean entropy</th></tr>"
            f"{body}</table></div>"
        )
    return (
        "<h2>Tokens that carry the covariance (the first-order entropy loss)</h2>"
        "<p>Σ Cov<sub>i</sub> by token over the whole run, pooled over seeds (<code>token_drivers.json</code> in "
        f"each run). A few tokens with a large share are what Clip-Cov and KL-Cov can act on.</p><div class='tokens'>{tables}</div>"
    )


def figures_html(figs: list[Path], missing: list[str] | None = None) -> str:
    note = (
        f"<p class='keys'>Not drawn: these runs do not log {esc(', '.join(missing))}. entropy-rl's trainer logs "
        "them, and so do its TRL and verl plug-ins (docs/trl.md, docs/verl.md).</p>"
        if missing
        else ""
    )
    items = "".join(
        f"<figure class='{'wide' if f.stem in WIDE else ''}'><img src='{esc(f.name)}' "
        f"alt='{esc(f.stem)}'><figcaption><b>{esc(f.stem.replace('_', ' '))}.</b> "
        f"{esc(CAPTIONS.get(f.stem, ''))}</figcaption></figure>"
        for f in figs
    )
    return f"<h2>Plots</h2>{note}<div class='plots'>{items}</div>"


def verdicts_html(verdict_lines: list[str] | dict[str, list[str]]) -> str:
    """One list of verdicts, or, for runs that are not methods × seeds of one experiment, one list
    per run under its name."""
    if isinstance(verdict_lines, dict):
        return "<div id='verdicts'>" + "".join(
            f"<h3>{esc(name)}</h3><ul class='run-verdicts'>{''.join(f'<li>{esc(v)}</li>' for v in lines)}</ul>"
            for name, lines in verdict_lines.items()
        ) + "</div>"
    return f'<ul id="verdicts">{"".join(f"<li>{esc(v)}</li>" for v in verdict_lines)}</ul>'


def render(
    verdict_lines: list[str] | dict[str, list[str]],
    summary: dict,
    paired: list[str],
    per_run_rows: list[tuple[str, dict[str, float]]],
    laws: dict,
    baseline: list[dict[str, float]] | None,
    drivers: dict[str, list[dict]],
    figs: list[Path],
    evals: dict,
    missing: list[str] | None = None,
) -> str:
    """The whole page."""
    keys = sorted({k for v in summary.values() for k in v if k in COLUMNS or PASS_KEY.fullmatch(k)})
    footnote = "; ".join(f"<code>{esc(k)}</code> = {esc(_column(k)[0])}" for k in keys)
    paired_html = (
        "<p>Against GRPO, paired by seed (mean [95 % t-interval]):</p><ul>"
        + "".join(f"<li>{esc(line)}</li>" for line in paired)
        + "</ul>"
        if paired
        else ""
    )
    ev = (
        "<details><summary>Evaluations saved in the run directories (JSON)</summary><div class='scroll'><pre>"
        + esc(json.dumps(evals, indent=1, default=str))
        + "</pre></div></details>"
        if evals
        else ""
    )
    return f"""<!doctype html><html><head><meta charset="utf-8"><meta name="viewport" content="width=device-width">
<title>entropy-rl report</title><style>{STYLE}</style></head><body>
<h1>entropy-rl report</h1>
<h2>What the runs show</h2>{verdicts_html(verdict_lines)}
<h2>By method (mean ± sample std over seeds, ddof = 1)</h2>
<p>Hover a column name for its unit and its key in <code>summary.json</code>. Final entropy and training
accuracy are means of the last 5 steps; held-out figures are the last evaluation. ΔH first order + ΔH
higher order = the run's whole entropy change on the probe batch.</p>
{methods_tables(summary)}
{paired_html}
{per_run_table(per_run_rows)}
{law_table(laws)}
{baseline_table(baseline)}
{drivers_html(drivers)}
{figures_html(figs, missing)}
{ev}
<p class="keys">Keys in <code>summary.json</code>: {footnote}.</p>
</body></html>"""
