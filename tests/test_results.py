"""`make results-check`: the README's headline figures, re-derived from the committed summary files
under docs/results/, must appear in the README exactly as printed."""

import json
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
FIVE_SEEDS = ROOT / "docs" / "results" / "countdown-cpu" / "summary.json"
QUICKSTART = ROOT / "docs" / "results" / "quickstart-cpu" / "summary.json"
NAMES = {"grpo": "GRPO", "clip_cov": "Clip-Cov", "kl_cov": "KL-Cov", "pos_neg": "pos/neg λ_pos schedule"}


def _signed(x: float, digits: int = 3) -> str:
    return f"{x:+.{digits}f}".replace("-", "−")


def _ci(v: dict, digits: int = 2, signed: bool = False) -> str:
    f = (lambda x: _signed(x, digits)) if signed else (lambda x: f"{x:.{digits}f}")
    return f"{f(v['mean'])} [{f(v['mean'] - v['ci95'])}, {f(v['mean'] + v['ci95'])}]"


def five_seed_rows(summary: dict) -> list[str]:
    """The README's table rows, from the 5-seed summary.json (mean ± std; paired t-intervals)."""
    rows = []
    for method, label in NAMES.items():
        m = summary["methods"][method]
        assert m["entropy_final"]["n"] == 5
        ratio = "1.00" if method == "grpo" else _ci(m["entropy_final_vs_grpo"])
        if method in ("clip_cov", "kl_cov"):
            ratio = f"**{ratio}**"
        e, a = m["entropy_final"], m["eval_accuracy_final"]
        rows.append(
            f"| {label} | {e['mean']:.3f} ± {e['std']:.3f} | {ratio} | {a['mean']:.3f} ± {a['std']:.3f} | "
            f"{m['eval_pass@4_final']['mean']:.3f} | {_ci(m['gain_over_temperature'], 3, signed=True)} |"
        )
    sweep = {row["temperature"]: row for row in summary["temperature_baseline"]}
    rows.append(
        f"| initial policy, lower temperature | T = 0.1: {sweep[0.1]['entropy']:.3f} | | "
        f"T = 0.1: {sweep[0.1]['accuracy']:.3f} | T = 0.35: {sweep[0.35]['pass@4']:.3f} | |"
    )
    return rows


def test_readme_table_is_the_committed_five_seed_summary():
    readme = (ROOT / "README.md").read_text()
    for row in five_seed_rows(json.loads(FIVE_SEEDS.read_text())):
        assert row in readme, f"README lacks (or misquotes) the row:\n{row}"


def test_readme_claims_about_the_frontier_hold():
    # "the initial policy at T = 0.1 scores a higher pass@1 than every method's mean, and at
    # T = 0.35 a higher pass@4"; "gain over temperature is within the seed spread for every method"
    s = json.loads(FIVE_SEEDS.read_text())
    sweep = {row["temperature"]: row for row in s["temperature_baseline"]}
    for m in NAMES:
        v = s["methods"][m]
        assert sweep[0.1]["accuracy"] > v["eval_accuracy_final"]["mean"]
        assert sweep[0.35]["pass@4"] > v["eval_pass@4_final"]["mean"]
        g = v["gain_over_temperature"]
        assert g["mean"] - g["ci95"] < 0 < g["mean"] + g["ci95"], m


def test_readme_collapse_figures_are_the_committed_summary():
    s = json.loads(FIVE_SEEDS.read_text())["methods"]["grpo"]
    readme = " ".join((ROOT / "README.md").read_text().split())
    start, final = s["entropy_start"]["mean"], s["entropy_final"]["mean"]
    assert f"start entropy {start:.3f}" in readme
    assert f"collapses to {final / start:.2f} of its start" in readme


def quickstart_rows(summary: dict) -> list[str]:
    """docs/results.md's quickstart table rows (2 seeds: mean ± std, each seed's paired ratio)."""
    rows = []
    for method, label in NAMES.items():
        m = summary["methods"][method]
        per_seed = [v["entropy_final_vs_grpo"] for p, v in sorted(summary["runs"].items()) if f"/{method}/" in p]
        ratio = "1.00" if method == "grpo" else f"{m['entropy_final_vs_grpo']['mean']:.2f} ({', '.join(f'{r:.2f}' for r in per_seed)})"
        e, a, g = m["entropy_final"], m["eval_accuracy_final"], m["gain_over_temperature"]
        rows.append(
            f"| {label} | {m['entropy_start']['mean']:.3f} → {e['mean']:.3f} ± {e['std']:.3f} | {ratio} | "
            f"{m['eval_accuracy_start']['mean']:.3f} → {a['mean']:.3f} ± {a['std']:.3f} | "
            f"{m['eval_pass@4_final']['mean']:.3f} | {m['law_ceiling']['mean']:.3f} ± {m['law_ceiling']['std']:.3f} | "
            f"{m['corr_covariance_entropy_change']['mean']:+.2f} | {_signed(g['mean'])} ± {g['std']:.3f} |"
        )
    return rows


def test_results_page_quickstart_table_is_the_committed_summary():
    page = (ROOT / "docs" / "results.md").read_text()
    for row in quickstart_rows(json.loads(QUICKSTART.read_text())):
        assert row in page, f"docs/results.md lacks (or misquotes) the row:\n{row}"


def test_results_page_paper2_claims_are_the_committed_ablations():
    claims = json.loads((ROOT / "docs" / "results" / "paper2-ablations" / "ablations.json").read_text())["claims"]
    page = (ROOT / "docs" / "results.md").read_text()
    for key, c in claims.items():
        mean, lo, hi = c["difference"]
        figure = f"{_signed(mean)} [{_signed(lo)}, {_signed(hi)}] | {c['verdict']} |"
        assert figure in page, (key, figure)
