"""Jin et al. (2025)'s claims about what moves entropy, checked on the runs of configs/paper2.yaml.

    entropy-rl compare configs/paper2.yaml --seeds 3 --out runs/paper2 --methods ...  # see the config
    python examples/paper2_ablations.py runs/paper2 --out docs/results/paper2-ablations

Writes ``ablations.json`` (every setting's final entropy and held-out accuracy, and each claim's
paired comparison), ``README-table.md`` (claim / what entropy-rl measures / interval / verdict),
``entropy_curves.png`` (one panel per claim) and ``covariance_by_sign.png``.

Statistics: "final entropy" is the mean of a run's last 5 steps' training-batch entropy; each
comparison is paired by seed (the same seed shares the initial policy and the first batch), its
mean over seeds with a 95 % Student-t interval. A claim "reproduces" when the interval excludes 0
in the claimed direction, is "contradicted" when it excludes 0 the other way, and is "not
resolved" otherwise.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
from scipy import stats

from entropy_rl.analysis.plots import _plt
from entropy_rl.analysis.runs import Run, load_run
from entropy_rl.analysis.stats import tail_mean

# claim → (its settings in order, the comparison: (setting, against), the claimed sign of
# final entropy(setting) − final entropy(against), the claim in words)
CLAIMS = {
    "a": (
        ["updates_1", "updates_2", "updates_4", "grpo"],
        ("grpo", "updates_1"),
        -1,
        "more off-policy updates per rollout (8 against 1) lower entropy",
    ),
    "b": (
        ["data_16", "data_64", "data_256", "grpo"],
        ("data_16", "grpo"),
        -1,
        "less diverse data (16 problems against all 2000) lowers entropy",
    ),
    "c_low": (
        ["eps_low_0.1", "grpo", "eps_low_0.28"],
        ("eps_low_0.28", "eps_low_0.1"),
        -1,
        "a looser lower clip (ε_low 0.28 against 0.1) lowers entropy",
    ),
    "c_high": (
        ["eps_high_0.1", "grpo", "eps_high_0.28"],
        ("eps_high_0.28", "eps_high_0.1"),
        1,
        "a looser upper clip (ε_high 0.28 against 0.1) raises entropy (clip-higher)",
    ),
    "d": (
        ["lambda_pos_0.25", "lambda_pos_0.5", "grpo"],
        ("lambda_pos_0.25", "grpo"),
        1,
        "down-weighting positive-advantage tokens (λ_pos 0.25 against 1) holds entropy up",
    ),
}
LABELS = {"grpo": "baseline (8 updates, all data, ε 0.2/0.2, λ_pos 1)"}


def _interval(x: np.ndarray) -> tuple[float, float, float]:
    m = float(np.mean(x))
    if len(x) < 2:
        return m, float("nan"), float("nan")
    h = float(stats.t.ppf(0.975, len(x) - 1) * np.std(x, ddof=1) / np.sqrt(len(x)))
    return m, m - h, m + h


def load(root: Path) -> dict[str, dict[str, Run]]:
    """setting → seed directory name → run."""
    out: dict[str, dict[str, Run]] = {}
    for metrics in sorted(root.glob("*/seed*/metrics.jsonl")):
        run = load_run(metrics.parent)
        out.setdefault(run.method, {})[metrics.parent.name] = run
    return out


def settings_table(runs: dict[str, dict[str, Run]]) -> dict[str, dict]:
    table = {}
    for setting, seeds in runs.items():
        ent = np.array([tail_mean(r, "entropy") for r in seeds.values()])
        acc = np.array([r.series("eval_accuracy")[1][-1] for r in seeds.values()])
        start = np.array([r.series("entropy")[1][0] for r in seeds.values()])
        table[setting] = {
            "seeds": len(seeds),
            "entropy_start": float(start.mean()),
            "entropy_final": _interval(ent),
            "eval_accuracy_final": _interval(acc),
        }
    return table


def claim_results(runs: dict[str, dict[str, Run]]) -> dict[str, dict]:
    out = {}
    for key, (_, (a, b), sign, words) in CLAIMS.items():
        seeds = sorted(set(runs.get(a, {})) & set(runs.get(b, {})))
        diff = np.array([tail_mean(runs[a][s], "entropy") - tail_mean(runs[b][s], "entropy") for s in seeds])
        mean, lo, hi = _interval(diff) if len(diff) else (float("nan"),) * 3
        if len(diff) >= 2 and (lo > 0 or hi < 0):
            verdict = "reproduces" if np.sign(mean) == sign else "contradicted"
        else:
            verdict = "not resolved"
        out[key] = {
            "claim": words,
            "comparison": f"final entropy of {a} minus {b}, paired by seed",
            "seeds": len(diff),
            "difference": [mean, lo, hi],
            "verdict": verdict,
        }
    return out


def plot_curves(runs: dict[str, dict[str, Run]], path: Path) -> None:
    plt = _plt()
    fig, grid = plt.subplots(2, 3, figsize=(14, 8), sharey=True)
    axes = grid.ravel()
    axes[-1].axis("off")
    for ax, (key, (settings, _, _, words)) in zip(axes, CLAIMS.items(), strict=False):
        for setting in settings:
            curves = [r.series("entropy") for r in runs.get(setting, {}).values()]
            if not curves:
                continue
            n = min(len(c[0]) for c in curves)
            vals = np.stack([c[1][:n] for c in curves])
            line = ax.plot(curves[0][0][:n], vals.mean(0), label=LABELS.get(setting, setting), lw=1.2)[0]
            ax.fill_between(curves[0][0][:n], vals.min(0), vals.max(0), color=line.get_color(), alpha=0.12)
        ax.set_title(f"({key}) {words}", fontsize=8)
        ax.set_xlabel("step")
        ax.legend(fontsize=6)
    for ax in grid[:, 0]:
        ax.set_ylabel("entropy (mean of 3 seeds; band: min-max)")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def plot_covariance_by_sign(runs: dict[str, dict[str, Run]], path: Path) -> None:
    """covariance_pos against covariance_neg per step, for the baseline and the λ_pos settings."""
    plt = _plt()
    fig, ax = plt.subplots(figsize=(5.6, 5.0))
    for setting in ("grpo", "lambda_pos_0.5", "lambda_pos_0.25"):
        pos = np.concatenate([r.series("covariance_pos")[1] for r in runs.get(setting, {}).values()] or [[]])
        neg = np.concatenate([r.series("covariance_neg")[1] for r in runs.get(setting, {}).values()] or [[]])
        n = min(len(pos), len(neg))
        if n:
            ax.scatter(neg[:n], pos[:n], s=6, alpha=0.5, label=LABELS.get(setting, setting))
    ax.axhline(0, color="k", lw=0.5)
    ax.axvline(0, color="k", lw=0.5)
    ax.set_xlabel("covariance_neg (A < 0 tokens' part of Cov(log π, A))")
    ax.set_ylabel("covariance_pos (A > 0 tokens' part)")
    ax.set_title("Which tokens carry the covariance, per step (all seeds)", fontsize=9)
    ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def markdown(table: dict, claims: dict) -> str:
    def fmt(t):
        return f"{t[0]:.3f} [{t[1]:.3f}, {t[2]:.3f}]"

    lines = [
        "| claim | what entropy-rl measures (paired by seed, 95 % t-interval) | verdict |",
        "| --- | --- | --- |",
    ]
    for key, c in claims.items():
        settings = CLAIMS[key][0]
        finals = "; ".join(f"{s} {table[s]['entropy_final'][0]:.3f}" for s in settings if s in table)
        lines.append(
            f"| ({key}) {c['claim']} | {c['comparison']}: {fmt(c['difference'])} over {c['seeds']} seeds "
            f"(final entropy: {finals}) | {c['verdict']} |"
        )
    lines += ["", "| setting | seeds | entropy start → final [95 % interval] | held-out accuracy final |", "| --- | --- | --- | --- |"]
    for s, v in sorted(table.items()):
        lines.append(f"| {s} | {v['seeds']} | {v['entropy_start']:.3f} → {fmt(v['entropy_final'])} | {fmt(v['eval_accuracy_final'])} |")
    return "\n".join(lines) + "\n"


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("runs", type=Path)
    ap.add_argument("--out", type=Path, required=True)
    args = ap.parse_args()
    runs = load(args.runs)
    args.out.mkdir(parents=True, exist_ok=True)
    table, claims = settings_table(runs), claim_results(runs)
    (args.out / "ablations.json").write_text(json.dumps({"settings": table, "claims": claims}, indent=1))
    (args.out / "README-table.md").write_text(markdown(table, claims))
    plot_curves(runs, args.out / "entropy_curves.png")
    plot_covariance_by_sign(runs, args.out / "covariance_by_sign.png")
    print(markdown(table, claims))


if __name__ == "__main__":
    main()
