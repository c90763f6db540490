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
    # "the gain over temperature (paired per seed) has an interval that includes 0 for every method"
    s = json.loads(FIVE_SEEDS.read_text())
    readme = " ".join((ROOT / "README.md").read_text().split())
    assert "has an interval that includes 0 for every method" in readme
    assert "than every method's mean" not in readme
    for m in NAMES:
        v = s["methods"][m]
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
        per_seed = [
            v["entropy_final_vs_grpo"] for p, v in sorted(summary["runs"].items()) if f"/{method}/" in p
        ]
        ratio = (
            "1.00"
            if method == "grpo"
            else f"{m['entropy_final_vs_grpo']['mean']:.2f} ({', '.join(f'{r:.2f}' for r in per_seed)})"
        )
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
    claims = json.loads((ROOT / "docs" / "results" / "paper2-ablations" / "ablations.json").read_text())[
        "claims"
    ]
    page = (ROOT / "docs" / "results.md").read_text()
    for key, c in claims.items():
        mean, lo, hi = c["difference"]
        figure = f"{_signed(mean)} [{_signed(lo)}, {_signed(hi)}] | {c['verdict']} |"
        assert figure in page, (key, figure)


SHOWCASE = ROOT / "docs" / "results" / "showcase-cpu" / "summary.json"
SHOWCASE_NAMES = {"grpo": "GRPO", "clip_cov": "Clip-Cov", "kl_cov": "KL-Cov"}


def showcase_rows(summary: dict) -> list[str]:
    """The README's first table: the showcase's 5 seeds (mean ± std; paired t-intervals)."""
    rows = []
    for method, label in SHOWCASE_NAMES.items():
        m = summary["methods"][method]
        assert m["entropy_final"]["n"] == 5
        e, a, p8 = m["entropy_final"], m["eval_accuracy_final"], m["eval_pass@8_final"]
        ratio = "1.00" if method == "grpo" else _ci(m["entropy_final_vs_grpo"])
        d8 = "" if method == "grpo" else _ci(m["eval_pass@8_minus_grpo"], 3, signed=True)
        rows.append(
            f"| {label} | {e['mean']:.3f} ± {e['std']:.3f} ({m['entropy_ratio']['mean']:.2f}× start) | {ratio} | "
            f"{a['mean']:.3f} ± {a['std']:.3f} | {_ci(m['gain_over_temperature'], 3, signed=True)} | "
            f"{p8['mean']:.3f} ± {p8['std']:.3f} | {d8} |"
        )
    # the initial policy's row: every cell from one source, the temperature sweep
    sweep = {r["temperature"]: r for r in summary["temperature_baseline"]}
    best = max(sweep.values(), key=lambda r: r["accuracy"])
    best8 = max(sweep.values(), key=lambda r: r["pass@8"])
    rows.append(
        f"| initial policy (temperature sweep) | T = 1: {sweep[1.0]['entropy']:.3f} | | T = 1: {sweep[1.0]['accuracy']:.3f}; best T "
        f"({best['temperature']:g}): {best['accuracy']:.3f} | | T = 1: {sweep[1.0]['pass@8']:.3f}; best T "
        f"({best8['temperature']:g}): {best8['pass@8']:.3f} | |"
    )
    return rows


def test_readme_first_table_is_the_committed_showcase():
    readme = (ROOT / "README.md").read_text()
    for row in showcase_rows(json.loads(SHOWCASE.read_text())):
        assert row in readme, f"README lacks (or misquotes) the row:\n{row}"


def test_readme_showcase_claims_hold():
    s = json.loads(SHOWCASE.read_text())
    readme = " ".join((ROOT / "README.md").read_text().split())
    g, kl, cc = (s["methods"][m] for m in ("grpo", "kl_cov", "clip_cov"))
    best = max(s["temperature_baseline"], key=lambda r: r["accuracy"])
    # (1) RL learns: above the best temperature, and above the frontier with the interval excluding 0
    gap = g["eval_accuracy_final"]["mean"] - best["accuracy"]
    assert f"GRPO ends {gap:.3f} above the initial policy's best temperature" in readme and gap > 0
    gain = g["gain_over_temperature"]
    assert gain["mean"] - gain["ci95"] > 0 and f"and {_ci(gain, 3, signed=True)} above it" in readme
    # (2) collapse, judged per seed: every seed's entropy ratio, and pass@8's change from the
    # initial policy paired by seed, whose interval includes 0 (so no loss is claimed)
    r = g["entropy_ratio"]
    assert r["max"] <= 0.5
    assert f"falls to {r['mean']:.2f} of its start ({r['min']:.2f} to {r['max']:.2f} over seeds)" in readme
    c8 = g["eval_pass@8_change"]
    assert c8["n"] == 5 and c8["mean"] - c8["ci95"] < 0 < c8["mean"] + c8["ci95"]
    assert f"pass@8 ends {_ci(c8, 3, signed=True)} against the initial policy's, paired by seed" in readme
    assert "below* the initial policy" not in readme
    assert (
        f"puts the final pass@1 at {g['law_prefix_predicted_final']['mean']:.3f} on average (reached: {g['eval_accuracy_final']['mean']:.3f}"
        in readme
    )
    within = sum(
        abs(v["law_prefix_predicted_final"] - v["eval_accuracy_final"]) <= 0.03
        for p, v in s["runs"].items()
        if "/grpo/" in p
    )
    assert f"{within} of 5 seeds within 3 points" in readme
    assert f"R² {g['law_r2']['mean']:.2f} ± {g['law_r2']['std']:.2f}" in readme
    thirds = json.loads((SHOWCASE.parent / "entropy_by_thirds.json").read_text())
    acc = [sum(v["eval_accuracy"][i] for k, v in thirds.items() if "/grpo/" in k) / 5 for i in range(3)]
    assert (
        "averages " + ", ".join(f"{a:.3f}" for a in acc[:2]) + f" and {acc[2]:.3f} over the three thirds"
        in readme
    )
    # KL-Cov flattens by thirds too: flattening is not claimed as the collapse's cap
    kl3 = [sum(v["eval_accuracy"][i] for k, v in thirds.items() if "/kl_cov/" in k) / 5 for i in range(3)]
    assert kl3[1] - kl3[0] > kl3[2] - kl3[1] > 0
    assert "KL-Cov's flattens alike (" + ", ".join(f"{a:.3f}" for a in kl3) + ")" in readme
    # (3) exploration: KL-Cov's pass@8 interval excludes 0, its pass@1 interval spans 0
    d8, d1 = kl["eval_pass@8_minus_grpo"], kl["eval_accuracy_final_minus_grpo"]
    assert d8["mean"] - d8["ci95"] > 0 and d1["mean"] - d1["ci95"] < 0 < d1["mean"] + d1["ci95"]
    assert f"KL-Cov holds {kl['entropy_final_vs_grpo']['mean']:.2f}× GRPO's entropy" in readme
    assert (
        f"higher pass@8, {_ci(d8, 3, signed=True)}, with pass@1 no lower ({_ci(d1, 3, signed=True)})"
        in readme
    )
    assert (
        f"Clip-Cov holds {cc['entropy_final_vs_grpo']['mean']:.2f}× and {_ci(cc['eval_pass@8_minus_grpo'], 3, signed=True)}"
        in readme
    )


def test_readme_controller_claims_hold():
    c = json.loads((SHOWCASE.parent / "controller" / "summary.json").read_text())["methods"]["entropy_pi"]
    thirds = json.loads((SHOWCASE.parent / "controller" / "entropy_by_thirds.json").read_text())
    readme = " ".join((ROOT / "README.md").read_text().split())
    assert c["entropy_final"]["n"] == 3 and len(thirds) == 3
    means = [sum(v["entropy"][i] for v in thirds.values()) / 3 for i in range(3)]
    assert "mean entropy " + ", ".join(f"{m:.2f}" for m in means) + " over the three thirds" in readme
    share, smooth = c["entropy_in_band_share"], c["entropy_in_band_share_smoothed"]
    assert (
        f"inside the band {share['mean'] * 100:.0f} % of the time (mean absolute error {c['entropy_tracking_error']['mean']:.3f})"
        in readme
    )
    assert (
        f"inside {smooth['mean'] * 100:.0f} % (error {c['entropy_tracking_error_smoothed']['mean']:.3f})"
        in readme
    )


SMOLLM2 = ROOT / "docs" / "results" / "smollm2-cpu" / "summary.json"
# seed 0, then the later seeds' folders
SMOLLM2_SEEDS = [SMOLLM2, SMOLLM2.parent / "seed1" / "summary.json", SMOLLM2.parent / "seed2" / "summary.json"]


def smollm2_rows(seeds: list[dict]) -> list[str]:
    """The README's SmolLM2 table: each seed's value, "seed 0 / seed 1"."""

    def each(values, fmt=".3f"):
        return " / ".join(f"{v:{fmt}}" for v in values)

    sweeps = [{row["temperature"]: row for row in s["temperature_baseline"]} for s in seeds]
    for sweep in sweeps:
        assert max(sweep.values(), key=lambda r: r["accuracy"]) is sweep[0.1]  # "best T"
    rows = [
        f"| initial policy, T = {t}{' (its best)' if t == 0.1 else ''} | {each(w[t]['entropy'] for w in sweeps)} | "
        f"{each(w[t]['accuracy'] for w in sweeps)} | {each(w[t]['pass@8'] for w in sweeps)} |"
        for t in (0.5, 0.1)
    ]
    for method, label in (("grpo", "GRPO"), ("kl_cov", "KL-Cov"), ("clip_cov", "Clip-Cov")):
        ms = [s["methods"][method] for s in seeds]
        assert all(m["entropy_final"]["n"] == 1 for m in ms)  # one seed per file
        key, unit = ("entropy_ratio", "start") if method == "grpo" else ("entropy_final_vs_grpo", "GRPO's")
        ratios = " / ".join(f"{m[key]['mean']:.2f}×" for m in ms)
        ent = f"{each(m['entropy_final']['mean'] for m in ms)} ({ratios} {unit})"
        rows.append(
            f"| {label} | {ent} | {each(m['eval_pass@1_final']['mean'] for m in ms)} | "
            f"{each(m['eval_pass@8_final']['mean'] for m in ms)} |"
        )
    return rows


def test_readme_smollm2_table_and_claims_are_the_committed_summaries():
    seeds = [json.loads(p.read_text()) for p in SMOLLM2_SEEDS]
    assert all(set(s["methods"]) == {"grpo", "kl_cov", "clip_cov"} for s in seeds)
    readme = (ROOT / "README.md").read_text()
    for row in smollm2_rows(seeds):
        assert row in readme, f"README lacks (or misquotes) the row:\n{row}"
    flat = " ".join(readme.split())
    gs = [s["methods"]["grpo"] for s in seeds]
    for s, g in zip(seeds, gs, strict=True):  # "pass@1 rises past what the initial policy reaches at any temperature"
        assert g["eval_pass@1_final"]["mean"] > max(r["accuracy"] for r in s["temperature_baseline"])
    # GRPO's pass@8 change, in problems of 32, seed by seed
    d8 = [(g["eval_pass@8_final"]["mean"] - g["eval_pass@8_start"]["mean"]) * 32 for g in gs]
    assert all(abs(d - round(d)) < 1e-6 for d in d8)
    changes = " / ".join(f"{round(d):+d}".replace("-", "−") for d in d8)
    assert f"GRPO's pass@8 changed by {changes} problems of 32" in flat
    # "Clip-Cov ends above GRPO's entropy on every seed"
    assert all(s["methods"]["clip_cov"]["entropy_final_vs_grpo"]["mean"] > 1 for s in seeds)

    def each(key, fmt):
        return " / ".join(f"{g[key]['mean']:{fmt}}" for g in gs)

    law = f"(R² {each('law_r2', '.2f')}, ceiling {each('law_ceiling', '.3f')}, reached {each('eval_accuracy_final', '.3f')})"
    assert law in flat
    budget = [f"{-g['entropy_change_first_order']['mean']:.3f} of the {-g['entropy_change_total']['mean']:.3f}" for g in gs]
    assert "accounts for " + ", ".join(budget[:-1]) + " and " + budget[-1] + " nats/token" in flat
    tops = [[t["token"] for t in s["token_drivers"]["grpo"][:5]] for s in seeds]
    assert all(any(t.strip().isdigit() for t in top) for top in tops)
    assert "Let" in tops[0] and all("The" in top for top in tops[1:])  # '("Let", "The")'


def safety_figures(summary: dict) -> list[str]:
    """docs/safety.md's lines on the adversarial suite, from docs/results/adversarial/summary.json."""
    suite, table = summary["results"]["suite"], summary["results"]["verifier_table"]
    alone = table["math_verify_alone"]
    return [
        f"- {suite['cases_tried']} cases tried in `tests/adversarial/`, {suite['cases_failed']} failed: no answer "
        "accepted wrongly, no code executed, no limit overrun.",
        f"- The verifier table: {table['pairs']} pairs, {table['accepted_wrongly']} accepted wrongly, "
        f"{table['rejected_wrongly']} rejected wrongly; math-verify alone, on the same pairs: "
        f"{alone['accepted_wrongly']} accepted wrongly, {alone['rejected_wrongly']} rejected wrongly.",
    ]


def test_safety_page_figures_are_the_committed_adversarial_summary():
    summary = json.loads((ROOT / "docs" / "results" / "adversarial" / "summary.json").read_text())
    assert summary["results"]["suite"]["cases_failed"] == 0
    page = (ROOT / "docs" / "safety.md").read_text()
    for line in safety_figures(summary):
        assert line in page, line


def test_real_runs_table_is_the_committed_fit_json():
    """docs/results/real-runs/README.md's table is scripts/real_runs.py's table of summary.json,
    whose rows are `entropy-rl fit LOG --json` as printed; and the fit of today's code gives the
    same numbers on the fixtures' sources when those logs are here."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("real_runs", ROOT / "scripts" / "real_runs.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    record = json.loads((ROOT / "docs" / "results" / "real-runs" / "summary.json").read_text())
    assert record["command"].startswith("python scripts/real_runs.py") and record["machine"]["cpu"]
    readme = (ROOT / "docs" / "results" / "real-runs" / "README.md").read_text()
    assert mod.table(record["results"]) in readme
    real = ROOT.parent / "shared" / "real-logs"
    if real.is_dir():
        from entropy_rl.analysis.runs import load_run
        from entropy_rl.analysis.stats import fit_json

        for name, saved in record["results"].items():
            if (real / name).exists() and "error" not in saved:
                now = json.loads(json.dumps(fit_json(load_run(real / name))))
                assert now["forecast"]["predicted_final"] == saved["forecast"]["predicted_final"], name
                assert now["law"] == saved["law"], name


def test_fit_on_the_committed_trl_logs_gives_their_budget():
    """The TRL folders' logs hold window sums (scripts/trl_window_sums.py), so `entropy-rl fit`
    on them prints the budget their budget.json states."""
    from entropy_rl.analysis.runs import load_run
    from entropy_rl.analysis.stats import entropy_budget

    for folder in ("trl-countdown-cpu", "trl-chain-sum-cpu"):
        budget = json.loads((ROOT / "docs" / "results" / folder / "budget.json").read_text())
        for method in ("grpo", "clip_cov", "kl_cov"):
            got = entropy_budget(load_run(ROOT / "docs" / "results" / folder / method))
            for key in ("entropy_change_total", "entropy_change_first_order"):
                assert round(got[key], 4) == budget[method][key], (folder, method, key)
