"""The target-entropy study's numbers (analysis.target) on runs with known answers."""

from pathlib import Path

import numpy as np
import pytest

from entropy_rl.analysis.runs import Run
from entropy_rl.analysis.target import target_findings, target_study, target_table


def _run(method, seed, entropy, acc, p8, target=None, at_bound=None, share=None):
    rows = []
    for s, h in enumerate(entropy):
        r = {"step": s, "entropy": h, "accuracy": 0.3}
        if s == len(entropy) - 1:
            r.update(eval_accuracy=acc, **{"eval_pass@8": p8})
        if target is not None:
            r.update(entropy_target=target, entropy_band=0.05, controller_at_bound=at_bound[s], controller_value=0.1)
        if share is not None:
            r.update(remedy_token_share=share, remedy_tokens=10)
        rows.append(r)
    return Run(Path(f"x/{method}/seed{seed}"), method, rows)


def _study():
    runs = []
    for seed in range(4):
        runs.append(_run("grpo", seed, [0.5] * 5 + [0.1] * 15, 0.40 + 0.01 * seed, 0.60))
        # inside the band 0.3 ± 0.05 on the last 15 of 20 steps; knob at its bound on 5
        runs.append(_run("pi", seed, [0.5] * 5 + [0.3] * 15, 0.42 + 0.01 * seed + 0.001 * seed**2, 0.70 + 0.01 * seed,
                         target=0.3, at_bound=[1.0] * 5 + [0.0] * 15, share=0.02))  # fmt: skip
        runs.append(_run("fixed", seed, [0.2] * 20, 0.40 + 0.01 * seed + 0.02 * (-1) ** seed, 0.60, share=0.5))
    return target_study(runs)


def test_controllers_band_share_saturation_and_paired_differences():
    study = _study()
    pi, fixed = study["methods"]["pi"], study["methods"]["fixed"]
    assert pi["controller"] and not fixed["controller"] and pi["target"] == 0.3 and pi["band"] == 0.05
    assert pi["entropy_in_band_share_all"]["values"] == [0.75] * 4
    assert pi["knob_at_bound_share"]["mean"] == pytest.approx(0.25)
    assert pi["remedy_token_share"]["mean"] == pytest.approx(0.02)
    d = np.array([0.02 + 0.001 * s**2 for s in range(4)])  # pass@1 paired with GRPO's same seed
    assert pi["eval_accuracy_final_minus_grpo"]["values"] == pytest.approx(list(d))
    from scipy import stats

    assert pi["eval_accuracy_final_minus_grpo"]["ci95"] == pytest.approx(stats.t.ppf(0.975, 3) * d.std(ddof=1) / 2)
    assert pi["eval_pass@8_minus_grpo"]["mean"] == pytest.approx(0.115)
    # the families: the controller's 2 comparisons, the fixed setting's 2, each Holm-adjusted
    fam = study["families"]
    assert [r["method"] for r in fam["controllers"]] == ["pi", "pi"] and len(fam["fixed"]) == 2
    p = [r["p"] for r in fam["controllers"]]
    low, high = min(1, 2 * min(p)), max(min(1, 2 * min(p)), max(p))
    expected = [low if x == min(p) else high for x in p]
    assert [r["p_holm"] for r in fam["controllers"]] == pytest.approx(expected)


def test_findings_follow_the_intervals():
    study = _study()
    text = "\n".join(target_findings(study))
    assert "pi pass@1 − GRPO's: +0.023 [" in text and "higher" in text
    # the fixed setting's pass@1 difference alternates ±0.02 around 0: not resolved within ±0.02
    assert "fixed pass@1 − GRPO's: +0.000 [" in text and "not resolved: the interval reaches past ±0.02" in text
    # identical on every seed: an interval of width 0, not "one seed"
    assert "fixed pass@8 − GRPO's: +0.000 [+0.000, +0.000]" in text
    table = target_table(study)
    row = next(line for line in table.splitlines() if line.startswith("| pi |"))
    assert row.startswith("| pi | 4 | 0.3 ± 0.05 | 75% [75, 75] |") and "| 25% [25, 25] |" in row
