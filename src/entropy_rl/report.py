"""Reports: plots and a table from one or more runs' ``metrics.jsonl``.

Runs are grouped by method: a run directory named ``seed<N>`` belongs to the method named by its
parent (the layout ``entropy-rl compare`` writes); any other run is its own group.
"""

from __future__ import annotations

import html
import json
import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from entropy_rl.law import bootstrap_ceiling, fit_entropy_law, predict_from_prefix
from entropy_rl.law import law_points as points_from_rows


@dataclass
class Run:
    path: Path
    method: str
    rows: list[dict]
    eval: dict | None = None  # an `entropy-rl eval` summary, when one was saved in the run dir
    performance_key: str = "eval_accuracy"
    """The performance the entropy law is fitted on by default (TRL runs log only ``reward``)."""
    token_drivers: dict | None = None  # the trainer's token_drivers.json, when the run has one

    def series(self, key: str) -> tuple[np.ndarray, np.ndarray]:
        """(steps, values) where the key is present and not null."""
        pts = [(r["step"], r[key]) for r in self.rows if r.get(key) is not None]
        if not pts:
            return np.array([]), np.array([])
        s, v = zip(*pts, strict=True)
        return np.array(s, dtype=float), np.array(v, dtype=float)


def load_run(path: str | Path) -> Run:
    """An entropy-rl run (``metrics.jsonl``), a TRL/transformers output directory
    (``trainer_state.json``, else that of its latest ``checkpoint-N``), or the JSONL file of
    verl's ``file`` logger (``trainer.logger=[console,file]``)."""
    path = Path(path)
    if path.is_file() and path.suffix == ".jsonl":
        rows = rows_from_verl_log(path)
        perf = "eval_accuracy" if any("eval_accuracy" in r for r in rows) else "reward"
        return Run(path, path.stem, rows, performance_key=perf)
    mfile = path / "metrics.jsonl"
    method = path.parent.name if re.fullmatch(r"seed\d+", path.name) else path.name
    if mfile.exists():
        rows = [json.loads(line) for line in mfile.read_text().splitlines() if line.strip()]
        ev = path / "eval" / "summary.json"
        drivers = path / "token_drivers.json"
        return Run(
            path,
            method,
            rows,
            json.loads(ev.read_text()) if ev.exists() else None,
            token_drivers=json.loads(drivers.read_text()) if drivers.exists() else None,
        )
    state = trainer_state_file(path)
    if state is None:
        raise FileNotFoundError(
            f"{path} has no metrics.jsonl (an entropy-rl run) nor trainer_state.json (a TRL run), "
            "and is not a verl file-logger .jsonl"
        )
    drivers = state.parent / "token_drivers.json"  # the TRL plug-in writes it in each checkpoint
    return Run(
        path,
        method,
        rows_from_trainer_state(state),
        performance_key="reward",
        token_drivers=json.loads(drivers.read_text()) if drivers.exists() else None,
    )


def trainer_state_file(path: Path) -> Path | None:
    """``path/trainer_state.json``, else the one in the highest-numbered ``checkpoint-N``."""
    if (path / "trainer_state.json").exists():
        return path / "trainer_state.json"
    steps = {
        p: p.parent.name.removeprefix("checkpoint-") for p in path.glob("checkpoint-*/trainer_state.json")
    }
    numbered = [p for p, n in steps.items() if n.isdigit()]
    return max(numbered, key=lambda p: int(steps[p]), default=None)


def rows_from_trainer_state(state_file: Path) -> list[dict]:
    """The training log rows of a transformers ``trainer_state.json`` that carry ``entropy``, with
    the TRL plug-in's ``entropy_rl/`` prefix removed so they read like ``metrics.jsonl`` rows."""
    history = json.loads(state_file.read_text()).get("log_history", [])
    return [
        {k.removeprefix("entropy_rl/"): v for k, v in row.items()}
        for row in history
        if "entropy" in row and "step" in row
    ]


# verl's validation accuracy: val-core/<data source>/acc/mean@<n> (one key per data source).
_VERL_VAL_ACC = re.compile(r"val-core/.+/acc/mean@\d+")


def rows_from_verl_log(log_file: Path) -> list[dict]:
    """The rows of verl's ``file`` logger (``{"step": s, "data": {metric: value}}`` per line,
    ``verl.utils.tracking.FileLogger``), read like ``metrics.jsonl`` rows: every metric under its
    own name, the verl plug-in's ``entropy_rl/`` prefix removed, and ``entropy`` =
    ``actor/entropy``, ``reward`` = ``critic/score/mean`` (the training score),
    ``eval_accuracy`` = the mean over data sources of ``val-core/<source>/acc/mean@<n>``."""
    rows = []
    for n, line in enumerate(log_file.read_text().splitlines(), 1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
            step, data = int(record["step"]), dict(record["data"])
        except (ValueError, KeyError, TypeError) as e:
            raise ValueError(
                f'{log_file}:{n}: not a verl file-logger line ({{"step": ..., "data": {{...}}}}): {e}'
            ) from None
        row = {k.removeprefix("entropy_rl/"): v for k, v in data.items()}
        row["step"] = step
        if "actor/entropy" in data:
            row["entropy"] = data["actor/entropy"]
        if "critic/score/mean" in data:
            row["reward"] = data["critic/score/mean"]
        accs = [v for k, v in data.items() if _VERL_VAL_ACC.fullmatch(k) and v is not None]  # NaN → null
        if accs:
            row["eval_accuracy"] = float(np.mean(accs))
        rows.append(row)
    return rows


def law_points(run: Run, metric: str | None = None) -> tuple[np.ndarray, np.ndarray]:
    """(entropy, performance) arrays of ``law.law_points`` for a run; performance is ``metric``,
    by default the run's ``performance_key``."""
    pts = points_from_rows(run.rows, metric or run.performance_key)
    if not pts:
        return np.array([]), np.array([])
    h, p = zip(*pts, strict=True)
    return np.array(h), np.array(p)


@dataclass
class LawSummary:
    a: float
    b: float
    r2: float
    ceiling: float
    ceiling_interval: tuple[float, float]
    n: int
    prefix_predicted_final: float | None = None
    prefix_ceiling: float | None = None
    actual_final: float | None = None
    prefix_rmse: float | None = None
    extra: dict = field(default_factory=dict)


def fit_run_law(run: Run, metric: str | None = None, prefix: float = 1 / 3) -> LawSummary:
    h, p = law_points(run, metric)
    law = fit_entropy_law(h, p)
    lo, hi = bootstrap_ceiling(h, p, n_boot=500)
    out = LawSummary(law.a, law.b, law.r2, law.ceiling, (lo, hi), law.n)
    try:
        pre = predict_from_prefix(h, p, prefix)
        out.prefix_predicted_final = pre.predicted_final
        out.prefix_ceiling = pre.law.ceiling
        out.actual_final = pre.actual_final
        out.prefix_rmse = pre.rmse_rest
    except ValueError:
        pass
    return out


def _entropy_changes(run: Run) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(steps, predicted ΔH, measured ΔH) on the probe batch, cut to a common length."""
    steps, pred = run.series("predicted_entropy_change")
    _, meas = run.series("entropy_change")
    n = min(len(pred), len(meas))
    return steps[:n], pred[:n], meas[:n]


def entropy_change_correlation(run: Run) -> float:
    """Pearson correlation of predicted and measured per-step entropy change on the probe."""
    _, pred, meas = _entropy_changes(run)
    if len(pred) < 3 or np.std(pred) == 0 or np.std(meas) == 0:
        return float("nan")
    return float(np.corrcoef(pred, meas)[0, 1])


# Held-out metrics whose link to entropy the report measures (same samples as eval_entropy).
ENTROPY_LINKED = {
    "unique_answers": "distinct answers of k",
    "distinct_2": "distinct-2",
    "ece": "ECE (calibration error)",
}


def entropy_links(run: Run) -> dict[str, float]:
    """Pearson correlation, over a run's held-out evaluations, of the samples' entropy
    (``eval_entropy``) with their diversity and calibration (``ENTROPY_LINKED``):
    ``corr_entropy_<metric>``; NaN below 3 evaluations or without spread."""
    out = {}
    for key in ENTROPY_LINKED:
        pts = [
            (r["eval_entropy"], r[f"eval_{key}"])
            for r in run.rows
            if r.get("eval_entropy") is not None and r.get(f"eval_{key}") is not None
        ]
        corr = float("nan")
        if len(pts) >= 3:
            h, v = np.array(pts, dtype=float).T
            if np.std(h) > 0 and np.std(v) > 0:
                corr = float(np.corrcoef(h, v)[0, 1])
        out[f"corr_entropy_{key}"] = corr
    return out


def entropy_budget(run: Run) -> dict[str, float]:
    """Where the probe entropy went: the measured total change Σ ΔH, its first-order part
    Σ −Cov(log π, Δz) (what the covariance of each realised step explains, and what Clip-Cov and
    KL-Cov act on), and the rest, the higher-order part of finite steps (a random logit
    perturbation of size σ changes entropy by O(σ²) on average, down where the distribution is
    spread, up where it is nearly deterministic; it grows with the step size, and no
    covariance remedy touches it)."""
    _, pred, meas = _entropy_changes(run)
    if len(pred) == 0:
        return {}
    total, first = float(np.sum(meas)), float(np.sum(pred))
    return {
        "entropy_change_total": total,
        "entropy_change_first_order": first,
        "entropy_change_higher_order": total - first,
    }


def _last(run: Run, key: str) -> float:
    _, v = run.series(key)
    return float(v[-1]) if len(v) else float("nan")


def _first(run: Run, key: str) -> float:
    _, v = run.series(key)
    return float(v[0]) if len(v) else float("nan")


def _tail_mean(run: Run, key: str, n: int = 5) -> float:
    _, v = run.series(key)
    return float(np.mean(v[-n:])) if len(v) else float("nan")


def summarize_runs(
    runs: list[Run], baseline: list[dict[str, float]] | None = None
) -> dict[str, dict[str, dict[str, float]]]:
    """Per method: mean, std (population), min, max, n and ``ci95`` (half-width of the 95 %
    t-interval for the mean) over seeds of each run's final metrics (``run_metrics``)."""
    return aggregate_by_method(runs, run_metrics(runs, baseline))


def aggregate_by_method(
    runs: list[Run], per_run: list[dict[str, float]]
) -> dict[str, dict[str, dict[str, float]]]:
    """``summarize_runs`` from already computed ``run_metrics``."""
    per_method: dict[str, list[dict[str, float]]] = {}
    for run, vals in zip(runs, per_run, strict=True):
        per_method.setdefault(run.method, []).append(vals)
    out = {}
    for method, lst in per_method.items():
        keys = sorted({k for d in lst for k in d})
        out[method] = {}
        for k in keys:
            arr = np.array([d.get(k, np.nan) for d in lst], dtype=float)
            ok = arr[np.isfinite(arr)]
            out[method][k] = {
                "mean": float(ok.mean()) if ok.size else float("nan"),
                "std": float(ok.std()) if ok.size else float("nan"),
                "min": float(ok.min()) if ok.size else float("nan"),
                "max": float(ok.max()) if ok.size else float("nan"),
                "n": int(ok.size),
                "ci95": _t_half_width(ok),
            }
    return out


def run_metrics(runs: list[Run], baseline: list[dict[str, float]] | None = None) -> list[dict[str, float]]:
    """Each run's final metrics, in the order of ``runs``, with its paired comparison with the
    GRPO run of the same seed (``_add_entropy_vs_grpo``). With ``baseline`` (a temperature sweep
    of the initial policy) also the initial policy's accuracy at the run's final held-out
    entropy, and the run's gain over it."""
    from entropy_rl.evaluation import matched_baseline

    per_run: list[dict[str, float]] = []
    for run in runs:
        vals = {
            "entropy_start": _first(run, "entropy"),
            "entropy_final": _tail_mean(run, "entropy"),
            "entropy_ratio": _tail_mean(run, "entropy") / _first(run, "entropy"),
            "train_accuracy_final": _tail_mean(run, "accuracy"),
            "eval_accuracy_start": _first(run, "eval_accuracy"),
            "eval_accuracy_final": _last(run, "eval_accuracy"),
            "corr_predicted_measured_dH": entropy_change_correlation(run),
            **entropy_budget(run),
            **entropy_links(run),
        }
        for key in sorted(k for k in run.rows[-1] if k.startswith("eval_pass@")):
            vals[key + "_final"] = _last(run, key)
        if baseline and np.isfinite(_last(run, "eval_entropy")):
            matched = matched_baseline(baseline, _last(run, "eval_entropy"))
            vals["temperature_matched_accuracy"] = matched["matched_accuracy"]
            vals["temperature_matched_T"] = matched["matched_temperature"]
            vals["temperature_matched_extrapolated"] = matched["matched_extrapolated"]
            vals["gain_over_temperature"] = vals["eval_accuracy_final"] - matched["matched_accuracy"]
        try:
            law = fit_run_law(run)
            vals.update(law_a=law.a, law_b=law.b, law_r2=law.r2, law_ceiling=law.ceiling)
            if law.prefix_predicted_final is not None:
                vals["law_prefix_predicted_final"] = law.prefix_predicted_final
        except ValueError:
            pass
        per_run.append(vals)
    _add_entropy_vs_grpo(runs, per_run)
    return per_run


def _t_half_width(values: np.ndarray, level: float = 0.95) -> float:
    """Half-width of the Student-t confidence interval for the mean over seeds (sample std);
    NaN below 2 seeds. With 2 seeds t = 12.7: two seeds bound a mean only loosely."""
    from scipy import stats

    n = values.size
    if n < 2:
        return float("nan")
    return float(stats.t.ppf(0.5 + level / 2, n - 1) * values.std(ddof=1) / np.sqrt(n))


def paired_with_grpo(summary: dict) -> list[str]:
    """One line per method with at least 2 seeds paired with GRPO's: its final entropy as a
    multiple of GRPO's and its held-out accuracy minus GRPO's, each with a 95 % t-interval, then
    the range of the entropy ratio over seeds (a mean can clear a threshold that a seed misses)."""

    def interval(v: dict, fmt: str) -> str:
        lo, hi = v["mean"] - v["ci95"], v["mean"] + v["ci95"]
        return f"{v['mean']:{fmt}} [{lo:{fmt}}, {hi:{fmt}}]"

    lines = []
    for method, vals in summary.items():
        ratio, diff = vals.get("entropy_final_vs_grpo"), vals.get("eval_accuracy_final_minus_grpo")
        if method == "grpo" or ratio is None or diff is None or ratio["n"] < 2 or diff["n"] < 2:
            continue
        lines.append(
            f"{method}: entropy × {interval(ratio, '.2f')}, held-out accuracy {interval(diff, '+.3f')}; "
            f"entropy × {ratio['min']:.2f} to {ratio['max']:.2f} over the {ratio['n']} seeds"
        )
    return lines


def _add_entropy_vs_grpo(runs: list[Run], per_run: list[dict[str, float]]) -> None:
    """Comparisons with the GRPO run of the same seed directory (``.../grpo/seedN``), so that the
    spread over seeds is that of paired values: ``entropy_final_vs_grpo`` (ratio of final
    entropies) and ``eval_accuracy_final_minus_grpo`` (difference of final held-out accuracies)."""
    grpo = {r.path.name: v for r, v in zip(runs, per_run, strict=True) if r.method == "grpo"}
    for run, vals in zip(runs, per_run, strict=True):
        ref = grpo.get(run.path.name)
        if ref is None:
            continue
        if ref["entropy_final"] > 0:
            vals["entropy_final_vs_grpo"] = vals["entropy_final"] / ref["entropy_final"]
        vals["eval_accuracy_final_minus_grpo"] = vals["eval_accuracy_final"] - ref["eval_accuracy_final"]


# ----------------------------------------------------------------------------- plots


def _plt():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def save_figure(fig, ax, path: Path, xlabel: str, ylabel: str, title: str, legend_size: int = 8) -> Path:
    """Label, lay out, save and close a figure."""
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    if ax.get_legend_handles_labels()[0]:
        ax.legend(fontsize=legend_size)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    _plt().close(fig)
    return path


def _group(runs: list[Run]) -> dict[str, list[Run]]:
    g: dict[str, list[Run]] = {}
    for r in runs:
        g.setdefault(r.method, []).append(r)
    return g


def _plot_series(runs: list[Run], keys: list[str], ylabel: str, path: Path, title: str) -> Path:
    plt = _plt()
    fig, ax = plt.subplots(figsize=(6.4, 4.2))
    colours = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    for i, (method, group) in enumerate(_group(runs).items()):
        for j, key in enumerate(keys):
            curves = [r.series(key) for r in group]
            curves = [c for c in curves if len(c[0])]
            if not curves:
                continue
            n = min(len(c[0]) for c in curves)
            steps = curves[0][0][:n]
            vals = np.stack([c[1][:n] for c in curves])
            style = ["-", "--", ":"][j % 3]
            label = method if len(keys) == 1 else f"{method} {key}"
            ax.plot(steps, vals.mean(0), style, color=colours[i % len(colours)], label=label)
            if len(curves) > 1:
                ax.fill_between(steps, vals.min(0), vals.max(0), color=colours[i % len(colours)], alpha=0.15)
    return save_figure(fig, ax, path, "step", ylabel, title)


_PERFORMANCE_LABELS = {"eval_accuracy": "held-out accuracy", "reward": "training reward (TRL runs)"}


def _plot_law(runs: list[Run], path: Path) -> Path:
    plt = _plt()
    fig, ax = plt.subplots(figsize=(6.4, 4.2))
    colours = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    for i, (method, group) in enumerate(_group(runs).items()):
        c = colours[i % len(colours)]
        hs, ps = [], []
        for r in group:
            h, p = law_points(r)
            hs.append(h)
            ps.append(p)
        h, p = np.concatenate(hs), np.concatenate(ps)
        if h.size == 0:
            continue
        ax.scatter(h, p, s=14, color=c, label=method)
        try:
            law = fit_entropy_law(h, p)
        except ValueError:
            continue
        grid = np.linspace(0, max(h.max(), 0.1) * 1.05, 100)
        ax.plot(
            grid,
            law.predict(grid),
            color=c,
            lw=1,
            label=f"{method}: R = −{law.a:.3f}·e^H + {law.b:.3f} (R² {law.r2:.2f}, ceiling {law.ceiling:.3f})",
        )
        ax.scatter([0], [law.ceiling], marker="*", s=80, color=c)
    return save_figure(
        fig,
        ax,
        path,
        "policy entropy H (training batch)",
        " / ".join(sorted({_PERFORMANCE_LABELS.get(r.performance_key, r.performance_key) for r in runs})),
        "Accuracy vs entropy, fitted law R = −a·exp(H) + b; ★ = ceiling b − a",
        legend_size=7,
    )


def _plot_entropy_change(runs: list[Run], path: Path) -> Path:
    plt = _plt()
    fig, ax = plt.subplots(figsize=(5.2, 5.0))
    colours = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    allv = []
    for i, (method, group) in enumerate(_group(runs).items()):
        changes = [_entropy_changes(r) for r in group]
        pred = np.concatenate([c[1] for c in changes])
        meas = np.concatenate([c[2] for c in changes])
        n = len(pred)
        if n == 0:
            continue
        corr = np.corrcoef(pred, meas)[0, 1] if n > 2 else float("nan")
        ax.scatter(pred, meas, s=10, color=colours[i % len(colours)], label=f"{method} (r = {corr:.2f})")
        allv.append(np.abs(np.concatenate([pred, meas])))
    if allv:
        lim = float(np.concatenate(allv).max()) * 1.05
        ax.plot([-lim, lim], [-lim, lim], "k--", lw=0.7)
    return save_figure(
        fig,
        ax,
        path,
        "predicted ΔH (first order, −Cov(log π, Δz))",
        "measured ΔH on the probe batch",
        "Entropy change per step",
    )


def _plot_entropy_budget(runs: list[Run], path: Path) -> Path:
    """Cumulative measured ΔH (solid) against its first-order part (dashed), mean over seeds."""
    plt = _plt()
    fig, ax = plt.subplots(figsize=(6.5, 4.0))
    colours = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    for i, (method, group) in enumerate(_group(runs).items()):
        changes = [_entropy_changes(r) for r in group]
        n = min(len(steps) for steps, _, _ in changes)
        if n == 0:
            continue
        steps = changes[0][0][:n]
        c = colours[i % len(colours)]
        meas = np.mean([np.cumsum(m[:n]) for _, _, m in changes], axis=0)
        pred = np.mean([np.cumsum(p[:n]) for _, p, _ in changes], axis=0)
        ax.plot(steps, meas, color=c, label=f"{method}: measured")
        ax.plot(steps, pred, color=c, ls="--", label=f"{method}: first order")
    ax.axhline(0.0, color="k", lw=0.5)
    return save_figure(
        fig,
        ax,
        path,
        "step",
        "cumulative ΔH on the probe batch",
        "Entropy budget: measured vs covariance-driven (first order)",
        legend_size=7,
    )


def _plot_pass_at_k(runs: list[Run], path: Path) -> Path:
    plt = _plt()
    fig, ax = plt.subplots(figsize=(5.5, 4.0))
    for method, group in _group(runs).items():
        keys = sorted(
            (k for k in group[0].rows[-1] if k.startswith("eval_pass@")), key=lambda k: int(k.split("@")[1])
        )
        if not keys:
            continue
        ks = [int(k.split("@")[1]) for k in keys]
        vals = np.array([[_last(r, k) for k in keys] for r in group])
        ax.errorbar(ks, vals.mean(0), yerr=vals.std(0), marker="o", capsize=3, label=method)
    ax.set_xscale("log", base=2)
    return save_figure(
        fig, ax, path, "k", "held-out pass@k (final)", "Held-out pass@k at the end of training"
    )


def _plot_entropy_links(runs: list[Run], path: Path) -> Path:
    """Held-out diversity and calibration against held-out entropy, one line per run."""
    plt = _plt()
    fig, axes = plt.subplots(1, len(ENTROPY_LINKED), figsize=(4.2 * len(ENTROPY_LINKED), 3.8))
    colours = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    for ax, (key, label) in zip(axes, ENTROPY_LINKED.items(), strict=True):
        for i, (method, group) in enumerate(_group(runs).items()):
            for j, r in enumerate(group):
                pts = [
                    (row["eval_entropy"], row[f"eval_{key}"])
                    for row in r.rows
                    if row.get("eval_entropy") is not None and row.get(f"eval_{key}") is not None
                ]
                if pts:
                    h, v = zip(*pts, strict=True)
                    c = colours[i % len(colours)]
                    ax.plot(h, v, "o-", color=c, ms=3, lw=0.8, label=method if j == 0 else None)
        ax.set_xlabel("held-out entropy (nats/token)")
        ax.set_ylabel(label)
    if axes[0].get_legend_handles_labels()[0]:  # runs without held-out samples draw nothing
        axes[0].legend(fontsize=8)
    fig.suptitle("Entropy, diversity and calibration at each held-out evaluation")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def _plot_temperature_baseline(runs: list[Run], sweep: list[dict[str, float]], path: Path) -> Path:
    plt = _plt()
    fig, ax = plt.subplots(figsize=(6.4, 4.2))
    colours = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    hs = [s["entropy"] for s in sweep]
    ax.plot(hs, [s["accuracy"] for s in sweep], "k--", marker="s", ms=4, label="initial policy, lower T")
    for s in sweep:
        ax.annotate(
            f"T={s['temperature']:g}",
            (s["entropy"], s["accuracy"]),
            fontsize=7,
            xytext=(3, -9),
            textcoords="offset points",
        )
    for i, (method, group) in enumerate(_group(runs).items()):
        for j, r in enumerate(group):
            _, h = r.series("eval_entropy")
            _, a = r.series("eval_accuracy")
            n = min(len(h), len(a))
            c = colours[i % len(colours)]
            ax.plot(h[:n], a[:n], "-", color=c, lw=0.8, alpha=0.6, label=method if j == 0 else None)
            if n:
                ax.scatter([h[n - 1]], [a[n - 1]], color=c, s=30, zorder=3)
    return save_figure(
        fig,
        ax,
        path,
        "held-out entropy (nats/token)",
        "held-out accuracy",
        "RL runs (• = final) vs the initial policy at lower temperature",
        legend_size=7,
    )


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
        _plot_series(runs, ["entropy"], "entropy (nats/token)", out / "entropy.png", "Policy entropy"),
        _plot_series(
            runs,
            ["accuracy", "eval_accuracy"],
            "accuracy",
            out / "accuracy.png",
            "Accuracy (solid: training batch, dashed: held-out)",
        ),
        _plot_law(runs, out / "law.png"),
        _plot_series(runs, ["covariance"], "Cov(log π, A)", out / "covariance.png", "Covariance per step"),
        _plot_entropy_change(runs, out / "entropy_change.png"),
        _plot_entropy_budget(runs, out / "entropy_budget.png"),
        _plot_series(
            runs,
            ["entropy_pos", "entropy_neg"],
            "entropy",
            out / "entropy_by_sign.png",
            "Entropy of A > 0 (solid) and A < 0 (dashed) tokens",
        ),
        _plot_pass_at_k(runs, out / "pass_at_k.png"),
        _plot_entropy_links(runs, out / "entropy_diversity_calibration.png"),
    ]
    if baseline:
        figs.append(_plot_temperature_baseline(runs, baseline, out / "temperature_baseline.png"))
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


def pooled_token_drivers(runs: list[Run], top: int = 10) -> dict[str, list[dict]]:
    """Per method, the tokens that carry the most covariance, pooled over its runs' seeds: Σ Cov_i
    and occurrences summed by token over each run's listed tokens, the share taken of the
    methods' pooled total Σ Cov_i, and the occurrence-weighted mean entropy."""
    pooled: dict[str, dict] = {}
    for run in runs:
        if not run.token_drivers:
            continue
        p = pooled.setdefault(run.method, {"total": 0.0, "tokens": {}})
        p["total"] += run.token_drivers["covariance_total"]
        for t in run.token_drivers["top"]:
            acc = p["tokens"].setdefault(t["token"], [0, 0.0, 0.0])
            acc[0] += t["count"]
            acc[1] += t["covariance_sum"]
            acc[2] += t["mean_entropy"] * t["count"]
    out = {}
    for method, p in pooled.items():
        ranked = sorted(p["tokens"].items(), key=lambda kv: kv[1][1], reverse=True)[:top]
        out[method] = [
            {
                "token": tok,
                "count": n,
                "covariance_share": cov / p["total"] if p["total"] else None,
                "mean_entropy": ent / n,
            }
            for tok, (n, cov, ent) in ranked
        ]
    return out


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
<th>final R predicted from first third</th><th>actual final R</th></tr>{law_rows}</table>
{_baseline_table(baseline)}
{_drivers_html(drivers or {})}
{imgs}{ev}</body></html>"""
