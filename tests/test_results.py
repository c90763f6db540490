"""`make results-check`: the README's headline figures, re-derived from the committed summary files
under docs/results/, must appear in the README exactly as printed."""

import json
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
QUICKSTART = ROOT / "docs" / "results" / "quickstart-cpu" / "summary.json"
FIVE_SEEDS = ROOT / "docs" / "results" / "countdown-cpu" / "summary.json"
NAMES = {"grpo": "GRPO", "clip_cov": "Clip-Cov", "kl_cov": "KL-Cov", "pos_neg": "pos/neg λ_pos schedule"}


def _signed(x: float, digits: int = 3) -> str:
    return f"{x:+.{digits}f}".replace("-", "−")


def quickstart_rows(summary: dict) -> list[str]:
    """The README's quickstart table rows, from summary.json (mean ± std over seeds, paired ratios)."""
    rows = []
    for method, label in NAMES.items():
        m = summary["methods"][method]
        per_seed = [v["entropy_final_vs_grpo"] for p, v in sorted(summary["runs"].items()) if f"/{method}/" in p]
        ratio = "1.00" if method == "grpo" else f"{m['entropy_final_vs_grpo']['mean']:.2f} ({', '.join(f'{r:.2f}' for r in per_seed)})"
        if method in ("clip_cov", "kl_cov"):
            ratio = "**" + ratio.replace(" (", "** (", 1)
        e, a, g = m["entropy_final"], m["eval_accuracy_final"], m["gain_over_temperature"]
        rows.append(
            f"| {label} | {m['entropy_start']['mean']:.3f} → {e['mean']:.3f} ± {e['std']:.3f} | {ratio} | "
            f"{m['eval_accuracy_start']['mean']:.3f} → {a['mean']:.3f} ± {a['std']:.3f} | "
            f"{m['eval_pass@4_final']['mean']:.3f} | {_signed(g['mean'])} ± {g['std']:.3f} |"
        )
    return rows


def five_seed_intervals(summary: dict) -> list[str]:
    out = []
    for method in ("clip_cov", "kl_cov"):
        r = summary["methods"][method]["entropy_final_vs_grpo"]
        assert r["n"] == 5
        out.append(f"{r['mean']:.2f}×, 95 % t-interval [{r['mean'] - r['ci95']:.2f}, {r['mean'] + r['ci95']:.2f}]")
    return out


def test_readme_quickstart_table_is_the_committed_summary():
    readme = (ROOT / "README.md").read_text()
    for row in quickstart_rows(json.loads(QUICKSTART.read_text())):
        assert row in readme, f"README lacks (or misquotes) the row:\n{row}"


def test_readme_five_seed_intervals_are_the_committed_summary():
    readme = " ".join((ROOT / "README.md").read_text().split())
    clip, kl = five_seed_intervals(json.loads(FIVE_SEEDS.read_text()))
    assert clip in readme, clip
    assert kl.replace("×, 95 % t-interval", "×") in readme, kl
