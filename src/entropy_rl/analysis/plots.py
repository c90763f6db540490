"""The report's plots, and those of ``eval`` and ``bandit``: one function per figure, each
returning the saved PNG's path."""

from __future__ import annotations

import io
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from entropy_rl.analysis.runs import Run
from entropy_rl.analysis.stats import (
    ENTROPY_LINKED,
    PASS_KEY,
    covariance_and_entropy_change,
    entropy_changes,
    last_value,
    law_points,
    pass_k,
    trailing_mean,
)
from entropy_rl.core.law import fit_entropy_law
from entropy_rl.files import write_bytes

if TYPE_CHECKING:  # core.bandit needs torch; the analysis does not
    from entropy_rl.core.bandit import BanditResult


def _plt():
    import matplotlib

    matplotlib.use("Agg")
    # Labels come from run files and directory names: "$\\frac{1}{$" is text, never mathtext.
    matplotlib.rcParams["text.parse_math"] = False
    import matplotlib.pyplot as plt

    return plt


def _savefig(fig, path: Path, dpi: int) -> bool:
    """Render to memory, then write atomically (a planted link at ``path`` is replaced, not
    followed). Panels with no data are left out, and a figure with none is not written (False):
    a log of another engine lacks most diagnostics. Log axes get plain tick labels (1, 2, 4, 8):
    with mathtext off for safety, matplotlib's default would print ``$\\mathdefault{2^{0}}$``."""
    from matplotlib.ticker import FuncFormatter, NullFormatter

    for ax in list(fig.axes):
        if not ax.has_data():
            fig.delaxes(ax)
            continue
        for axis, scale in ((ax.xaxis, ax.get_xscale()), (ax.yaxis, ax.get_yscale())):
            if scale == "log":
                axis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))
                axis.set_minor_formatter(NullFormatter())
    if not fig.axes:
        _plt().close(fig)
        return False
    buf = io.BytesIO()
    fig.savefig(buf, dpi=dpi, format="png", bbox_inches="tight")
    write_bytes(path, buf.getvalue())
    return True


def save_figure(fig, ax, path: Path, xlabel: str, ylabel: str, title: str, legend_size: int = 8) -> Path | None:
    """Label, lay out, save and close a figure; None (nothing written) when it has no data."""
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    handles = ax.get_legend_handles_labels()[0]
    if len(handles) > 4:  # below the axes, where it hides no point
        ax.legend(fontsize=legend_size, loc="upper center", bbox_to_anchor=(0.5, -0.2))
    elif handles:
        ax.legend(fontsize=legend_size)
    fig.tight_layout()
    drawn = _savefig(fig, path, 110)
    _plt().close(fig)
    return path if drawn else None


def short(method: str, width: int = 30) -> str:
    """A method's name for a legend: a long log file name keeps its start and end."""
    if len(method) <= width:
        return method
    half = (width - 1) // 2
    return f"{method[:half]}…{method[-half:]}"


def by_method(runs: list[Run]) -> dict[str, list[Run]]:
    g: dict[str, list[Run]] = {}
    for r in runs:
        g.setdefault(r.method, []).append(r)
    return g


# A per-step series longer than this is drawn as a rolling mean over SMOOTH_SHARE of its length,
# with the raw values faint behind: one batch's accuracy or covariance is mostly sampling noise.
SMOOTH_MIN_POINTS = 40
SMOOTH_SHARE = 0.05


def plot_series(runs: list[Run], keys: list[str], ylabel: str, path: Path, title: str) -> Path | None:
    plt = _plt()
    fig, ax = plt.subplots(figsize=(6.4, 4.2))
    colours = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    smoothed_any = False
    for i, (method, group) in enumerate(by_method(runs).items()):
        colour = colours[i % len(colours)]
        for j, key in enumerate(keys):
            curves = [r.series(key) for r in group]
            curves = [c for c in curves if len(c[0])]
            if not curves:
                continue
            n = min(len(c[0]) for c in curves)
            steps = curves[0][0][:n]
            vals = np.stack([c[1][:n] for c in curves])
            style = ["-", "--", ":"][j % 3]
            label = short(method) if len(keys) == 1 else f"{short(method)} {key}"
            window = max(1, round(SMOOTH_SHARE * n)) if n > SMOOTH_MIN_POINTS else 1
            if window > 1:
                smoothed_any = True
                ax.plot(steps, vals.mean(0), style, color=colour, alpha=0.2, linewidth=0.7)
                vals = np.stack([trailing_mean(v, window) for v in vals])
            ax.plot(steps, vals.mean(0), style, color=colour, label=label)
            if len(curves) > 1:
                ax.fill_between(steps, vals.min(0), vals.max(0), color=colour, alpha=0.12)
    if smoothed_any:
        title += f"\n(lines: rolling mean over {SMOOTH_SHARE:.0%} of the run; faint: per step)"
    return save_figure(fig, ax, path, "step", ylabel, title)


_PERFORMANCE_LABELS = {"eval_accuracy": "held-out accuracy or score", "reward": "training reward"}


def plot_law(runs: list[Run], path: Path) -> Path | None:
    plt = _plt()
    fig, ax = plt.subplots(figsize=(6.4, 4.2))
    colours = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    for i, (method, group) in enumerate(by_method(runs).items()):
        c = colours[i % len(colours)]
        hs, ps = [], []
        for r in group:
            h, p = law_points(r)
            hs.append(h)
            ps.append(p)
        h, p = np.concatenate(hs), np.concatenate(ps)
        if h.size == 0:
            continue
        ax.scatter(h, p, s=14, color=c, label=short(method))
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
            label=f"{short(method)}: R = {-law.a:+.3f}·e^H {law.b:+.3f} (R² {law.r2:.2f}, ceiling {law.ceiling:.3f})",
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


def _scatter_by_method(
    ax, runs: list[Run], xy: Callable[[Run], tuple[np.ndarray, np.ndarray]]
) -> list[np.ndarray]:
    """One scatter colour per method of ``xy(run)`` pooled over its seeds, labelled with the
    pooled Pearson r; returns each method's points (x then y) for axis limits."""
    plt = _plt()
    colours = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    points = []
    for i, (method, group) in enumerate(by_method(runs).items()):
        pairs = [xy(r) for r in group]
        x, y = np.concatenate([p[0] for p in pairs]), np.concatenate([p[1] for p in pairs])
        if len(x) == 0:
            continue
        corr = np.corrcoef(x, y)[0, 1] if len(x) > 2 and np.std(x) > 0 and np.std(y) > 0 else float("nan")
        ax.scatter(x, y, s=10, color=colours[i % len(colours)], label=f"{short(method)} (r = {corr:.2f})")
        points.append(np.concatenate([x, y]))
    return points


def plot_entropy_change(runs: list[Run], path: Path) -> Path | None:
    """Each step's measured entropy change against its first-order prediction, with y = x."""
    fig, ax = _plt().subplots(figsize=(5.2, 5.0))
    points = _scatter_by_method(ax, runs, lambda r: entropy_changes(r)[1:])
    if points:
        lim = float(np.abs(np.concatenate(points)).max()) * 1.05
        ax.plot([-lim, lim], [-lim, lim], "k--", lw=0.7)
    return save_figure(
        fig,
        ax,
        path,
        "predicted ΔH (first order, −Cov(log π, Δz))",
        "measured ΔH on the probe batch",
        "Entropy change per step",
    )


def plot_covariance_entropy_change(runs: list[Run], path: Path) -> Path | None:
    """Each step's batch covariance Cov(log π, A) against the measured entropy change."""
    fig, ax = _plt().subplots(figsize=(5.2, 5.0))
    _scatter_by_method(ax, runs, covariance_and_entropy_change)
    if ax.has_data():  # reference lines only beside data: they alone would count as a drawn panel
        ax.axhline(0.0, color="k", lw=0.5)
        ax.axvline(0.0, color="k", lw=0.5)
    return save_figure(
        fig,
        ax,
        path,
        "batch covariance Cov(log π, A) before the update",
        "measured ΔH on the probe batch",
        "Batch covariance vs entropy change (theory: r < 0)",
    )


def plot_entropy_budget(runs: list[Run], path: Path) -> Path | None:
    """Cumulative measured ΔH (solid) against its first-order part (dashed), mean over seeds."""
    plt = _plt()
    fig, ax = plt.subplots(figsize=(6.5, 4.0))
    colours = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    for i, (method, group) in enumerate(by_method(runs).items()):
        changes = [entropy_changes(r) for r in group]
        n = min(len(steps) for steps, _, _ in changes)
        if n == 0:
            continue
        steps = changes[0][0][:n]
        c = colours[i % len(colours)]
        meas = np.mean([np.cumsum(m[:n]) for _, _, m in changes], axis=0)
        pred = np.mean([np.cumsum(p[:n]) for _, p, _ in changes], axis=0)
        ax.plot(steps, meas, color=c, label=f"{short(method)}: measured")
        ax.plot(steps, pred, color=c, ls="--", label=f"{short(method)}: first order")
    if ax.has_data():
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


def plot_pass_at_k(runs: list[Run], path: Path) -> Path | None:
    plt = _plt()
    fig, ax = plt.subplots(figsize=(5.5, 4.0))
    for method, group in by_method(runs).items():
        common = set.intersection(*({k for k in r.rows[-1] if PASS_KEY.fullmatch(k)} for r in group))
        keys = sorted(  # every run's keys checked: those all the method's runs have, of pass@k's form
            (k for k in common if k.startswith("eval_pass@") and k.count("_") == 1), key=pass_k
        )
        if not keys:
            continue
        ks = [pass_k(k) for k in keys]
        vals = np.array([[last_value(r, k) for k in keys] for r in group])
        ax.errorbar(ks, vals.mean(0), yerr=vals.std(0), marker="o", capsize=3, label=short(method))
    ax.set_xscale("log", base=2)
    return save_figure(
        fig, ax, path, "k", "held-out pass@k (final)", "Held-out pass@k at the end of training"
    )


def plot_entropy_links(runs: list[Run], path: Path) -> Path | None:
    """Held-out diversity and calibration against held-out entropy, one line per run."""
    plt = _plt()
    fig, axes = plt.subplots(1, len(ENTROPY_LINKED), figsize=(4.2 * len(ENTROPY_LINKED), 3.8))
    colours = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    for ax, (key, label) in zip(axes, ENTROPY_LINKED.items(), strict=True):
        for i, (method, group) in enumerate(by_method(runs).items()):
            for j, r in enumerate(group):
                pts = [
                    (row["eval_entropy"], row[f"eval_{key}"])
                    for row in r.rows
                    if row.get("eval_entropy") is not None and row.get(f"eval_{key}") is not None
                ]
                if pts:
                    h, v = zip(*pts, strict=True)
                    c = colours[i % len(colours)]
                    ax.plot(h, v, "o-", color=c, ms=3, lw=0.8, label=short(method) if j == 0 else None)
        ax.set_xlabel("held-out entropy (nats/token)")
        ax.set_ylabel(label)
    if axes[0].get_legend_handles_labels()[0]:  # runs without held-out samples draw nothing
        axes[0].legend(fontsize=8)
    fig.suptitle("Entropy, diversity and calibration at each held-out evaluation")
    fig.tight_layout()
    drawn = _savefig(fig, path, 110)
    plt.close(fig)
    return path if drawn else None


def plot_temperature_baseline(runs: list[Run], sweep: list[dict[str, float]], path: Path) -> Path | None:
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
    for i, (method, group) in enumerate(by_method(runs).items()):
        for j, r in enumerate(group):
            _, h = r.series("eval_entropy")
            _, a = r.series("eval_accuracy")
            n = min(len(h), len(a))
            c = colours[i % len(colours)]
            ax.plot(h[:n], a[:n], "-", color=c, lw=0.8, alpha=0.6, label=short(method) if j == 0 else None)
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


def plot_eval(res, summary: dict[str, float], out) -> list:
    """pass@k curve, reliability diagram (mean-token-probability confidence), entropy histogram of
    an evaluation (``train.evaluation.EvalResult``: ``rewards``, ``mean_logp``, ``mean_entropy``)."""
    plt = _plt()
    out = Path(out)
    paths = []
    ks = sorted(int(k.split("@")[1]) for k in summary if k.startswith("pass@"))
    fig, ax = plt.subplots(figsize=(5, 3.6))
    ax.plot(ks, [summary[f"pass@{k}"] for k in ks], marker="o")
    ax.set_xscale("log", base=2)
    paths.append(save_figure(fig, ax, out / "pass_at_k.png", "k", "pass@k", "Unbiased pass@k"))

    conf = np.exp(res.mean_logp).ravel()
    y = (res.rewards >= 1.0).ravel()
    bins = np.minimum((conf * 10).astype(int), 9)
    centers, accs, counts = [], [], []
    for b in range(10):
        sel = bins == b
        if sel.any():
            centers.append(conf[sel].mean())
            accs.append(y[sel].mean())
            counts.append(int(sel.sum()))
    fig, ax = plt.subplots(figsize=(4.6, 4.2))
    ax.plot([0, 1], [0, 1], "k--", lw=0.8)
    ax.scatter(centers, accs, s=[10 + 200 * c / max(counts) for c in counts])
    paths.append(
        save_figure(
            fig,
            ax,
            out / "calibration.png",
            "confidence (mean token probability)",
            "accuracy",
            f"Reliability, ECE {summary['ece']:.3f}",
        )
    )

    fig, ax = plt.subplots(figsize=(5, 3.6))
    ax.hist(res.mean_entropy.ravel(), bins=30)
    paths.append(
        save_figure(
            fig,
            ax,
            out / "entropy_hist.png",
            "mean token entropy of a response",
            "responses",
            "Response entropy",
        )
    )
    return paths


def plot_bandit(result: BanditResult, path: str | Path) -> Path:
    """Scatter of predicted vs measured ΔH, one colour per gradient form, with the y = x line."""
    plt = _plt()
    fig, ax = plt.subplots(figsize=(5, 5))
    forms = np.array(result.form)
    for form, colour in (("vanilla", "tab:blue"), ("natural", "tab:orange")):
        sel = forms == form
        ax.scatter(result.predicted[sel], result.measured[sel], s=10, c=colour, label=f"{form} PG")
    lim = float(np.abs(np.concatenate([result.predicted, result.measured])).max()) * 1.05
    ax.plot([-lim, lim], [-lim, lim], "k--", lw=0.8, label="y = x")
    ax.set_xlabel("predicted ΔH = −η·Cov")
    ax.set_ylabel("measured ΔH")
    ax.set_title("Softmax bandit: entropy change vs covariance")
    ax.legend()
    fig.tight_layout()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    _savefig(fig, path, 120)
    plt.close(fig)
    return path


def plot_backtest(summary: dict, path: str | Path) -> Path:
    """Median absolute error of each forecaster against the cutoff fraction (``summary``: fraction
    → forecaster → figures, as ``analysis.backtest.summarize`` gives for all runs)."""
    plt = _plt()
    fig, ax = plt.subplots(figsize=(6, 4))
    names = sorted({n for per in summary.values() for n in per})
    for name in names:
        pts = sorted((float(f), per[name]["median_abs_error"]) for f, per in summary.items() if name in per)
        if pts:
            x, y = zip(*pts, strict=True)
            ax.plot(x, y, marker="o", label=f"{name}", lw=2.5 if name == "naive" else 1.5)
    ax.set_xticks(sorted({float(f) for f in summary}))
    ax.set_xticklabels([f"{float(f):.0%}" for f in sorted(summary, key=float)])
    return save_figure(fig, ax, Path(path), "part of the run seen (cutoff)", "median |forecast − last score|",
                       "Forecast error against cutoff, per forecaster")  # fmt: skip
