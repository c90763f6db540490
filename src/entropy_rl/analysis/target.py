"""Target-entropy control judged paired by seed: for each method of a ``compare`` directory, how
well a controller held its band (raw and 10-step smoothed, over every step), how often its knob sat
at a bound, how many tokens the remedy acted on, and held-out pass@1 / pass@k against GRPO of the
same seed, with the controllers' comparisons adjusted as one family (Holm) and the fixed-strength
baselines as another. ``write_target`` writes ``target.json``, ``target.md`` and ``target.png``;
the JSON is recomputed from the committed per-step series in the tests.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from entropy_rl.analysis.inference import MARGINS, holm, judged, paired_p_value, t_half_width
from entropy_rl.analysis.runs import Run, load_run
from entropy_rl.analysis.stats import PASS_KEY, pass_k, run_metrics, trailing_mean
from entropy_rl.files import atomic_write_text, strict_json

# Per run, what the table reports (the keys of ``analysis.stats.run_metrics``).
CONTROL = (
    "entropy_in_band_share_all",
    "entropy_in_band_share_smoothed_all",
    "knob_at_bound_share",
    "knob_mean",
    "remedy_token_share",
    "entropy_final_vs_grpo",
)


def _stat(values: list[float]) -> dict:
    v = np.array([x for x in values if x is not None and np.isfinite(x)], dtype=float)
    return {
        "values": [float(x) for x in v],
        "n": int(v.size),
        "mean": float(v.mean()) if v.size else None,
        "ci95": t_half_width(v) if v.size > 1 else None,
    }


def _largest_k(per_run: list[dict]) -> int | None:
    ks = {pass_k(k) for d in per_run for k in d if k.startswith("eval_pass@") and k.endswith("_minus_grpo")
          and PASS_KEY.fullmatch(k)}  # fmt: skip
    ks.discard(1)
    return max(ks) if ks else None


def target_study(runs: list[Run]) -> dict:
    """The study's numbers from its runs (``grpo`` among them, seeds paired by directory name)."""
    per_run = run_metrics(runs)
    k = _largest_k(per_run)
    comparisons = ["eval_accuracy_final_minus_grpo"] + ([f"eval_pass@{k}_minus_grpo"] if k else [])
    methods: dict[str, dict] = {}
    for run, vals in sorted(zip(runs, per_run, strict=True), key=lambda rv: (rv[0].method, rv[0].path.name)):
        m = methods.setdefault(run.method, {"seeds": [], "controller": False, "target": None, "band": None})
        m["seeds"].append(run.path.name)
        m.setdefault("runs", []).append(vals)
        if run.series("entropy_target")[0].size:
            m["controller"] = True
            m["target"] = float(run.series("entropy_target")[1][-1])
            m["band"] = float(run.series("entropy_band")[1][-1])
    out: dict = {"pass_k": k, "margin": MARGINS["pass"], "methods": {}, "families": {}}
    for name, m in methods.items():
        runs_vals = m.pop("runs")
        entry = {**m, "eval_accuracy_final": _stat([v.get("eval_accuracy_final") for v in runs_vals])}
        for key in (*CONTROL, *comparisons):
            entry[key] = _stat([v.get(key) for v in runs_vals])
        if k:
            entry[f"eval_pass@{k}_final"] = _stat([v.get(f"eval_pass@{k}_final") for v in runs_vals])
        out["methods"][name] = entry
    for family, chosen in (
        ("controllers", [n for n, m in out["methods"].items() if m["controller"]]),
        ("fixed", [n for n, m in out["methods"].items() if not m["controller"] and n != "grpo"]),
    ):
        rows = [(n, key) for n in chosen for key in comparisons]
        p = [paired_p_value(out["methods"][n][key]["values"]) for n, key in rows]
        adjusted = holm(p) if rows else []
        out["families"][family] = [
            {"method": n, "metric": key, "p": float(pv), "p_holm": float(pa)}
            for (n, key), pv, pa in zip(rows, p, adjusted, strict=True)
        ]
    return out


def _half(stat: dict) -> float:
    return float("nan") if stat["ci95"] is None else stat["ci95"]


def _fmt(stat: dict, fmt: str, pct: bool = False) -> str:
    if stat is None or stat["mean"] is None:
        return ""
    if not pct:
        return judged(stat["mean"], _half(stat), fmt)[0]
    mean, half = 100 * stat["mean"], 100 * _half(stat)
    if not np.isfinite(half):
        return f"{mean:{fmt}}%"
    return f"{mean:{fmt}}% [{mean - half:{fmt}}, {mean + half:{fmt}}]"


def target_table(study: dict) -> str:
    """Markdown: one row per method; intervals are 95 % Student-t over seeds, paired differences
    against GRPO of the same seed."""
    k = study["pass_k"]
    head = ["method", "seeds", "target ± band", "steps in band", "10-step mean in band", "knob at a bound",
            "knob, mean", "tokens acted on", "training entropy × GRPO's", "pass@1 − GRPO's"]  # fmt: skip
    if k:
        head.append(f"pass@{k} − GRPO's")
    lines = ["| " + " | ".join(head) + " |", "|" + " --- |" * len(head)]
    for name, m in study["methods"].items():
        target = f"{m['target']:.3g} ± {m['band']:.2g}" if m["controller"] else ""
        cells = [
            name, str(len(m["seeds"])), target,
            _fmt(m["entropy_in_band_share_all"], ".0f", pct=True),
            _fmt(m["entropy_in_band_share_smoothed_all"], ".0f", pct=True),
            _fmt(m["knob_at_bound_share"], ".0f", pct=True),
            _fmt(m["knob_mean"], ".3g"),
            "" if name == "grpo" else _fmt(m["remedy_token_share"], ".1f", pct=True) or "n/a",
            _fmt(m["entropy_final_vs_grpo"], ".2f") if name != "grpo" else "1.00",
            _fmt(m["eval_accuracy_final_minus_grpo"], "+.3f") if name != "grpo" else "",
        ]  # fmt: skip
        if k:
            cells.append(_fmt(m[f"eval_pass@{k}_minus_grpo"], "+.3f") if name != "grpo" else "")
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def target_findings(study: dict) -> list[str]:
    """One sentence per comparison of a family, worded by ``analysis.inference`` from its interval
    and its Holm-adjusted p-value, so the words cannot say more than the numbers."""
    out = []
    label = {"eval_accuracy_final_minus_grpo": "pass@1"}
    for family, rows in study["families"].items():
        if not rows:  # a study without fixed-strength baselines
            continue
        kept = [r for r in rows if np.isfinite(r["p_holm"]) and r["p_holm"] < 0.05]
        out.append(
            f"{family}: {len(rows)} paired comparisons with GRPO (pass@1 and pass@{study['pass_k']}); "
            f"Holm at 0.05 keeps {len(kept)}"
            + (": " + ", ".join(f"{r['method']} {label.get(r['metric'], 'pass@' + str(study['pass_k']))}" for r in kept) if kept else "")
            + "."
        )  # fmt: skip
        for r in rows:
            stat = study["methods"][r["method"]][r["metric"]]
            if stat["mean"] is None:
                continue
            text, word = judged(stat["mean"], _half(stat), "+.3f", study["margin"])
            name = label.get(r["metric"], f"pass@{study['pass_k']}")
            out.append(f"{r['method']} {name} − GRPO's: {text}, {word} (Holm p = {r['p_holm']:.2g}).")
    return out


def plot_target(runs: list[Run], study: dict, path: Path) -> Path | None:
    """Training entropy (10-step trailing mean, mean over seeds) and each controller's knob."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from entropy_rl.analysis.plots import _savefig

    controllers = [n for n, m in study["methods"].items() if m["controller"]]
    if not controllers:
        return None
    fig, axes = plt.subplots(1, 2, figsize=(12, 4.5))
    colors = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    for i, name in enumerate(["grpo", *controllers]):
        mine = [r for r in runs if r.method == name]
        if not mine:
            continue
        steps, _ = mine[0].series("entropy")
        curves = [trailing_mean(r.series("entropy")[1], 10) for r in mine if r.series("entropy")[1].size == steps.size]
        color = colors[i % len(colors)]
        axes[0].plot(steps, np.mean(curves, axis=0), color=color, label=name)
        m = study["methods"][name]
        if m["controller"]:
            axes[0].axhspan(m["target"] - m["band"], m["target"] + m["band"], color=color, alpha=0.08)
            knobs = [r.series("controller_value") for r in mine]
            for j, (s, v) in enumerate(knobs):
                axes[1].plot(s, v, color=color, alpha=0.6, label=name if j == 0 else None)
    axes[0].set(xlabel="step", ylabel="training entropy (10-step mean, mean over seeds)", title="entropy and each target's band")
    axes[1].set(xlabel="step", ylabel="knob (each seed)", title="the strength each controller found")
    axes[1].set_yscale("symlog", linthresh=1e-3)  # the bonus starts at 0
    axes[0].legend(fontsize=7)
    axes[1].legend(fontsize=7)
    return path if _savefig(fig, path, 120) else None


def write_target(run_dirs: list[Path], dest: str | Path) -> dict:
    """target.json, target.md and target.png in ``dest`` from the runs in ``run_dirs``."""
    dest = Path(dest)
    dest.mkdir(parents=True, exist_ok=True)
    runs = [load_run(d) for d in run_dirs]
    study = target_study(runs)
    atomic_write_text(dest / "target.json", strict_json(study, indent=1) + "\n")
    text = target_table(study) + "\n\n" + "\n".join(f"- {f}" for f in target_findings(study)) + "\n"
    atomic_write_text(dest / "target.md", text)
    plot_target(runs, study, dest / "target.png")
    return study
