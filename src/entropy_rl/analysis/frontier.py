"""The exploration frontier of a sweep: how much entropy each remedy's setting holds and what it
costs or buys in held-out pass@1 and pass@k, against GRPO paired by seed, beside the initial
policy's temperature curve.

A sweep directory holds ``<method>/seed<N>/`` runs whose method is ``FAMILY@STRENGTH`` (and
``grpo``); ``entropy-rl sweep`` writes them, ``write_frontier`` draws any such directory.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from pathlib import Path

from entropy_rl.analysis.page import md_text
from entropy_rl.analysis.plots import _plt, _savefig
from entropy_rl.analysis.runs import load_run, method_of, read_baseline
from entropy_rl.analysis.stats import STATISTICS, aggregate_by_method, pass_k, pass_keys, run_metrics
from entropy_rl.files import atomic_write_text, strict_json

SEP = "@"
HOLDS = 3.0  # "holds ≥ 3× GRPO's entropy", judged on every seed


def split_method(method: str) -> tuple[str, float | None]:
    """``kl_cov@0.2`` → ("kl_cov", 0.2); a method without a strength → (method, None)."""
    fam, _, value = method.partition(SEP)
    try:
        return fam, float(value) if value else None
    except ValueError:
        return method, None


def sweep_run_dirs(out: str | Path) -> list[Path]:
    """Every run directory of a sweep (one with a metrics.jsonl), in a stable order."""
    return sorted(p.parent for p in Path(out).glob("*/seed*/metrics.jsonl"))


def _largest_k(summary: dict) -> int | None:
    ks = {pass_k(k) for v in summary.values() for k in pass_keys(v, "_final")}
    ks.discard(1)
    return max(ks, default=None)


def _ci(v: dict | None) -> list[float] | None:
    if not v or not v.get("n") or not math.isfinite(v.get("ci95", math.nan)):
        return None
    return [v["mean"] - v["ci95"], v["mean"] + v["ci95"]]


# Families whose remedy chooses no tokens (a clip range, an advantage estimator): "tokens acted on"
# is not defined for them.
NO_TOKEN_CHOICE = {"clip_higher", "qae"}


def frontier_rows(summary: dict) -> list[dict]:
    """One row per method: its family and strength, the final held-out entropy, pass@1 and pass@k
    (means over seeds), and against GRPO paired by seed: the entropy ratio, pass@1 and pass@k
    differences (each with its 95 % t-interval and the range over seeds), the remedy's token share."""
    k = _largest_k(summary)
    rows = []
    for method, v in summary.items():
        fam, strength = split_method(method)
        g = lambda key, v=v: v.get(key) or {}  # noqa: E731
        row = {
            "method": method,
            "family": fam,
            "strength": strength,
            "seeds": g("entropy_final").get("n", 0),
            "eval_entropy": g("eval_entropy_final").get("mean"),
            "pass@1": g("eval_accuracy_final").get("mean"),
            "pass@1_ci": _ci(v.get("eval_accuracy_final")),
            "k": k,
            "pass@k": g(f"eval_pass@{k}_final").get("mean") if k else None,
            "pass@k_ci": _ci(v.get(f"eval_pass@{k}_final")) if k else None,
            "entropy_x_grpo": g("entropy_final_vs_grpo").get("mean"),
            "entropy_x_grpo_ci": _ci(v.get("entropy_final_vs_grpo")),
            "entropy_x_grpo_min": g("entropy_final_vs_grpo").get("min"),
            "pass@1_minus_grpo": g("eval_accuracy_final_minus_grpo").get("mean"),
            "pass@1_minus_grpo_ci": _ci(v.get("eval_accuracy_final_minus_grpo")),
            "pass@k_minus_grpo": g(f"eval_pass@{k}_minus_grpo").get("mean") if k else None,
            "pass@k_minus_grpo_ci": _ci(v.get(f"eval_pass@{k}_minus_grpo")) if k else None,
            # a remedy that changes the clip range or the advantages acts on no chosen tokens: n/a
            "remedy_token_share": None if fam in NO_TOKEN_CHOICE else g("remedy_token_share").get("mean"),
        }
        rows.append(row)
    return sorted(rows, key=lambda r: (r["family"] != "grpo", r["family"], r["strength"] or 0.0))


def _num(x: float | None, fmt: str) -> str:
    return "–" if x is None or not math.isfinite(x) else format(x, fmt)


def _with_ci(x: float | None, ci: list[float] | None, fmt: str) -> str:
    if ci is None:
        return _num(x, fmt)
    return f"{_num(x, fmt)} [{_num(ci[0], fmt)}, {_num(ci[1], fmt)}]"


def frontier_table(rows: list[dict]) -> str:
    """The rows as a Markdown table (means over seeds; [95 % t-interval] of values paired by seed)."""
    k = next((r["k"] for r in rows if r["k"]), None)
    head = (
        f"| method | seeds | held-out entropy | × GRPO's training entropy | pass@1 | pass@1 − GRPO's | pass@{k} | "
        f"pass@{k} − GRPO's | tokens acted on |\n| --- | --- | --- | --- | --- | --- | --- | --- | --- |\n"
    )
    body = ""
    for r in rows:
        grpo = r["family"] == "grpo"
        body += (
            f"| {md_text(r['method'])} | {r['seeds']} | {_num(r['eval_entropy'], '.3f')} | "
            f"{'1.00' if grpo else _with_ci(r['entropy_x_grpo'], r['entropy_x_grpo_ci'], '.2f')} | "
            f"{_num(r['pass@1'], '.3f')} | {'' if grpo else _with_ci(r['pass@1_minus_grpo'], r['pass@1_minus_grpo_ci'], '+.3f')} | "
            f"{_num(r['pass@k'], '.3f')} | {'' if grpo else _with_ci(r['pass@k_minus_grpo'], r['pass@k_minus_grpo_ci'], '+.3f')} | "
            f"{'' if grpo else 'n/a' if r['remedy_token_share'] is None else format(r['remedy_token_share'], '.1%')} |\n"
        )
    return head + body


def frontier_findings(rows: list[dict], name: Callable[[str], str] = str) -> list[str]:
    """Which settings hold at least 3× GRPO's final entropy on every seed, and what they cost or
    buy in pass@1 and pass@k, paired by seed; ``name`` writes a method's name (``md_text`` for
    Markdown)."""
    out = []
    for r in rows:
        if r["family"] == "grpo" or r["entropy_x_grpo_min"] is None or r["seeds"] < 2:
            continue
        if r["entropy_x_grpo_min"] >= HOLDS:
            out.append(
                f"{name(r['method'])} holds {_with_ci(r['entropy_x_grpo'], r['entropy_x_grpo_ci'], '.2f')}× GRPO's training entropy "
                f"(at least {HOLDS:g}× on every seed); pass@1 {_with_ci(r['pass@1_minus_grpo'], r['pass@1_minus_grpo_ci'], '+.3f')}, "
                f"pass@{r['k']} {_with_ci(r['pass@k_minus_grpo'], r['pass@k_minus_grpo_ci'], '+.3f')} against GRPO, paired by seed"
            )
    if not out:
        best = max((r for r in rows if r["family"] != "grpo" and r["entropy_x_grpo_min"] is not None),
                   key=lambda r: r["entropy_x_grpo"], default=None)  # fmt: skip
        out.append(
            f"No setting holds {HOLDS:g}× GRPO's training entropy on every seed"
            + (f"; the most: {name(best['method'])}, {_with_ci(best['entropy_x_grpo'], best['entropy_x_grpo_ci'], '.2f')}×" if best else "")
        )
    return out


# Which knob a family's strength sets, for the plot's legend to say which way raises entropy (the
# direction is the one declared with the remedy in ``core.losses.KNOBS``; DAPO's clip-higher raises
# entropy with ε_high, Yu et al. 2025).
FAMILY_KNOB = {"kl_cov": "kl_cov_ratio", "clip_cov": "clip_cov_ratio", "entropy_bonus": "entropy_coef",
               "pos_neg": "lambda_pos", "ce_gppo": "gppo_beta_low"}  # fmt: skip


def family_label(family: str) -> str:
    """``kl_cov (larger raises entropy)``: the family and the direction of its strength."""
    from entropy_rl.core.losses import KNOBS

    knob = FAMILY_KNOB.get(family)
    if knob is not None:
        return f"{family} (larger {'raises' if KNOBS[knob].raises_entropy else 'lowers'} entropy)"
    return f"{family} (larger raises entropy)" if family == "clip_higher" else family


def plot_frontier(rows: list[dict], baseline: list[dict] | None, path: Path) -> Path | None:
    """Final held-out entropy against pass@1 (left) and pass@k (right): one line per family
    through its strengths (95 % intervals over seeds), GRPO, the initial policy's temperature curve."""
    plt = _plt()
    k = next((r["k"] for r in rows if r["k"]), None)
    fig, axes = plt.subplots(1, 2 if k else 1, figsize=(11 if k else 6, 4.4), squeeze=False)
    colours = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    families = sorted({r["family"] for r in rows if r["family"] != "grpo"})
    for ax, key, name in zip(axes[0], ("pass@1", "pass@k"), ("pass@1", f"pass@{k}"), strict=False):
        if baseline:
            bkey = "accuracy" if key == "pass@1" else f"pass@{k}"
            pts = [(b["entropy"], b[bkey]) for b in baseline if bkey in b]
            ax.plot(*zip(*pts, strict=True), "k--", marker="s", ms=3, lw=1, label="initial policy, temperature")
        for i, fam in enumerate(families):
            fr = [r for r in rows if r["family"] == fam and r["eval_entropy"] is not None and r[key] is not None]
            if not fr:
                continue
            xs, ys = [r["eval_entropy"] for r in fr], [r[key] for r in fr]
            err = [[y - (r[key + "_ci"] or [y, y])[0] for r, y in zip(fr, ys, strict=True)],
                   [(r[key + "_ci"] or [y, y])[1] - y for r, y in zip(fr, ys, strict=True)]]  # fmt: skip
            c = colours[i % len(colours)]
            ax.errorbar(xs, ys, yerr=err, color=c, marker="o", ms=4, lw=1, capsize=2, label=family_label(fam))
            for r, x, y in zip(fr, xs, ys, strict=True):
                if r["strength"] is not None:  # a method without a strength (a controller) is its own point
                    ax.annotate(f"{r['strength']:g}", (x, y), fontsize=6, xytext=(3, 3), textcoords="offset points")
        for r in rows:
            if r["family"] == "grpo" and r["eval_entropy"] is not None and r[key] is not None:
                lo, hi = r[key + "_ci"] or [r[key], r[key]]
                ax.errorbar([r["eval_entropy"]], [r[key]], yerr=[[r[key] - lo], [hi - r[key]]], color="k",
                            marker="*", ms=11, capsize=2, zorder=4, lw=0, elinewidth=1, label="GRPO")  # fmt: skip
        ax.set_xlabel("final held-out entropy (nats/token)")
        ax.set_ylabel(f"held-out {name}")
        ax.set_title(f"{name} against entropy (mean over seeds, 95 % interval)", fontsize=9)
        ax.grid(alpha=0.3)
    handles, labels = axes[0][-1].get_legend_handles_labels()
    unique = dict(zip(labels, handles, strict=True))
    axes[0][-1].legend(unique.values(), unique.keys(), fontsize=7, loc="best")
    fig.tight_layout()
    drawn = _savefig(fig, path, 110)
    plt.close(fig)
    return path if drawn else None


FAMILY_ALPHA = 0.05


def comparison_family(runs: dict[str, dict], k: int | None = None) -> dict:
    """Every setting's held-out pass@1 and pass@k against GRPO, paired by seed, as one family of
    comparisons: each with its mean, 95 % t-interval and two-sided paired-t p-value, then Holm's
    and Benjamini–Hochberg's adjusted p-values over the family, and which survive at 0.05.
    ``runs``: run path → its per-run values (``frontier.json``'s ``runs``)."""
    import numpy as np

    from entropy_rl.analysis.inference import benjamini_hochberg, holm, paired_p_value, t_half_width

    by_method: dict[str, list[dict]] = {}
    for path, v in runs.items():
        by_method.setdefault(method_of(path), []).append(v)
    k = k or max((pass_k(x) for v in runs.values() for x in pass_keys(v, "_minus_grpo")), default=None)
    keys = {"pass@1": "eval_accuracy_final_minus_grpo", **({f"pass@{k}": f"eval_pass@{k}_minus_grpo"} if k else {})}
    rows = []
    for method in sorted(by_method):
        if method == "grpo":
            continue
        for name, key in keys.items():
            d = np.array([v[key] for v in by_method[method] if isinstance(v.get(key), int | float)], float)
            if d.size < 2:
                continue
            half = t_half_width(d)
            rows.append({"method": method, "metric": name, "n": int(d.size), "mean": float(d.mean()),
                         "ci95": half, "p": paired_p_value(d)})  # fmt: skip
    for r, h, b in zip(rows, holm([r["p"] for r in rows]), benjamini_hochberg([r["p"] for r in rows]), strict=True):
        r.update(p_holm=float(h), p_bh=float(b), excludes_zero=abs(r["mean"]) > r["ci95"],
                 holm=bool(h < FAMILY_ALPHA), bh=bool(b < FAMILY_ALPHA))  # fmt: skip
    return {"alpha": FAMILY_ALPHA, "comparisons": rows}


def family_finding(family: dict) -> str:
    """The family in one sentence: how many comparisons, how many intervals exclude 0 unadjusted,
    and which survive Holm and Benjamini–Hochberg."""
    rows = family["comparisons"]
    raw = [r for r in rows if r["excludes_zero"]]
    holm_kept = [f"{r['method']} {r['metric']}" for r in rows if r["holm"]]
    bh_kept = [f"{r['method']} {r['metric']}" for r in rows if r["bh"]]
    return (
        f"{len(rows)} paired comparisons (each setting's pass@1 and largest pass@k against GRPO); "
        f"{len(raw)} interval{'s exclude' if len(raw) != 1 else ' excludes'} 0 before adjustment; at {family['alpha']:g}, Holm keeps "
        f"{len(holm_kept)} ({', '.join(holm_kept) or 'none'}) and Benjamini–Hochberg keeps "
        f"{len(bh_kept)} ({', '.join(bh_kept) or 'none'})"
    )


def write_frontier(out: str | Path) -> Path:
    """The frontier of the sweep in ``out``: ``out/frontier/`` with frontier.json (the rows, the
    per-run values, the statistics' definition), frontier.md (table and findings) and frontier.png."""
    out = Path(out)
    dirs = sweep_run_dirs(out)
    if not dirs:
        raise ValueError(f"{out} holds no runs (DIR/<method>/seed<N>/metrics.jsonl)")
    runs = [load_run(p) for p in dirs]
    bpath = out / "baseline_temperature.json"
    baseline = read_baseline(bpath) if bpath.exists() else None
    per_run = run_metrics(runs, baseline)
    summary = aggregate_by_method(runs, per_run)
    rows = frontier_rows(summary)
    family = comparison_family({str(r.path): v for r, v in zip(runs, per_run, strict=True)})
    findings = [*frontier_findings(rows), family_finding(family)]
    dest = out / "frontier"
    dest.mkdir(parents=True, exist_ok=True)
    plot_frontier(rows, baseline, dest / "frontier.png")
    atomic_write_text(
        dest / "frontier.json",
        strict_json(
            {"statistics": STATISTICS, "rows": rows, "findings": findings, "family": family,
             "runs": {str(r.path): v for r, v in zip(runs, per_run, strict=True)}, "temperature_baseline": baseline},
            indent=1, default=str,
        ),  # fmt: skip
    )
    md_findings = [*frontier_findings(rows, md_text), md_text(family_finding(family))]
    atomic_write_text(dest / "frontier.md", frontier_table(rows) + "\n" + "".join(f"- {f}.\n" for f in md_findings))
    return dest / "frontier.md"
