"""Statistics of runs: the law fitted on a run, the entropy budget and correlations, each run's
final metrics, their aggregation over seeds and the paired comparison with GRPO, the
temperature-matched baseline, and the pooled token drivers."""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field

import numpy as np

from entropy_rl.analysis.inference import t_half_width
from entropy_rl.analysis.runs import Run
from entropy_rl.core.law import Forecast, bootstrap_ceiling, fit_entropy_law, forecast, predict_from_prefix
from entropy_rl.core.law import law_points as points_from_rows


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
    forecast: Forecast | None = None
    """``run_forecast`` from the same first part of the run (entropy extrapolated)."""
    extra: dict = field(default_factory=dict)


# The law is checked as the paper does: fitted on the first quarter of a run's points, it should
# predict the final performance. Below 8 points the quarter holds 2 or fewer: no check is made.
LAW_PREFIX = 0.25
MIN_PREFIX_POINTS = 8


def fit_run_law(run: Run, metric: str | None = None, prefix: float = LAW_PREFIX) -> LawSummary:
    h, p = law_points(run, metric)
    law = fit_entropy_law(h, p)
    lo, hi = bootstrap_ceiling(h, p, n_boot=500)
    out = LawSummary(law.a, law.b, law.r2, law.ceiling, (lo, hi), law.n)
    out.forecast = run_forecast(run, metric, prefix)
    if law.n < MIN_PREFIX_POINTS:
        out.extra["prefix"] = f"{law.n} evaluation points: too few for a first-quarter fit (at least {MIN_PREFIX_POINTS})"
        return out
    try:
        pre = predict_from_prefix(h, p, prefix)
        out.prefix_predicted_final = pre.predicted_final
        out.prefix_ceiling = pre.law.ceiling
        out.actual_final = pre.actual_final
        out.prefix_rmse = pre.rmse_rest
    except ValueError:
        pass
    return out


def run_forecast(
    run: Run, metric: str | None = None, fraction: float = LAW_PREFIX, horizon: float | None = None
) -> Forecast:
    """``core.law.forecast`` on a run: fitted on the first ``fraction`` of its steps (by step
    number, from its first to its last step with entropy), forecast at ``horizon`` (default: its
    last step with both entropy and ``metric``, whose value is then the actual to compare with)."""
    metric = metric or run.performance_key
    hs, h = run.series("entropy")
    pts = [(r["step"], r["entropy"], r[metric]) for r in run.rows
           if r.get("entropy") is not None and r.get(metric) is not None]
    if hs.size == 0 or not pts:
        raise ValueError(f"{run.path}: no step has both entropy and {metric}")
    ps, ph, pr = (np.array(x, dtype=float) for x in zip(*pts, strict=True))
    cutoff = hs[0] + fraction * (hs[-1] - hs[0])
    actual = None
    if horizon is None:
        horizon, actual = float(ps[-1]), float(pr[-1])
    elif horizon <= ps[-1]:
        k = int(np.argmin(np.abs(ps - horizon)))
        horizon, actual = float(ps[k]), float(pr[k])
    return forecast(hs, h, ps, ph, pr, cutoff=cutoff, horizon=horizon, actual_final=actual)


def collapse(run: Run) -> dict:
    """The entropy's first and last logged values and their ratio (last / first)."""
    _, h = run.series("entropy")
    if h.size == 0:
        return {"start": None, "end": None, "ratio": None}
    start, end = float(h[0]), float(h[-1])
    return {"start": start, "end": end, "ratio": end / start if start > 0 else None}


def fit_json(run: Run, metric: str | None = None, fraction: float = LAW_PREFIX) -> dict:
    """What ``entropy-rl fit LOG --json`` prints: the format, the law on all points, the forecast
    from the first ``fraction``, the prefix law at the observed final entropy, the collapse."""
    metric = metric or run.performance_key
    try:
        law = fit_run_law(run, metric=metric, prefix=fraction)
        fc = law.forecast
    except ValueError as e:  # fewer than 2 points: the object still says what was read
        law, law_error = None, str(e)
        fc = Forecast(cutoff=float("nan"), horizon=float("nan"), n_entropy=0, n_law=0, reason=str(e))
    # the same prefix law at the entropy the run did reach: its error is the law's alone
    at_final = {"entropy": None, "predicted_final": None, "actual_final": fc.actual_final, "abs_error": None}
    h_at = [r["entropy"] for r in run.rows if r["step"] == fc.horizon and r.get("entropy") is not None]
    if fc.law is not None and h_at:
        pred = float(fc.law.predict(h_at[0]))
        at_final.update(entropy=h_at[0], predicted_final=pred, abs_error=abs(pred - fc.actual_final)
                        if fc.actual_final is not None else None)
    return {
        "source": run.source,
        "keys": {**run.keys, "performance": run.keys.get(metric, metric)},
        "metric": metric,
        "points": law.n if law else len(law_points(run, metric)[0]),
        "steps": len(run.series("entropy")[0]),
        "law": {"a": law.a, "b": law.b, "r2": law.r2, "ceiling": law.ceiling,
                "ceiling_interval": list(law.ceiling_interval)} if law else None,
        "law_error": None if law else law_error,
        "forecast": {
            "fraction": fraction,
            "cutoff_step": fc.cutoff,
            "horizon_step": fc.horizon,
            "entropy_points": fc.n_entropy,
            "law_points": fc.n_law,
            "entropy_at_horizon": fc.entropy_final,
            "predicted_final": fc.predicted_final,
            "interval": list(fc.interval) if fc.interval else None,
            "actual_final": fc.actual_final,
            "abs_error": fc.abs_error,
            "ceiling": fc.law.ceiling if fc.law else None,
            "law_does_not_apply": fc.reason,
            "warning": fc.warning,
        },
        "at_final_entropy": at_final,
        "collapse": collapse(run),
        "notes": list(run.notes),
    }


def entropy_changes(run: Run) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(steps, predicted ΔH, measured ΔH) on the probe batch, cut to a common length."""
    steps, pred = run.series("predicted_entropy_change")
    _, meas = run.series("entropy_change")
    n = min(len(pred), len(meas))
    return steps[:n], pred[:n], meas[:n]


def entropy_change_correlation(run: Run) -> float:
    """Pearson correlation of predicted and measured per-step entropy change on the probe."""
    _, pred, meas = entropy_changes(run)
    if len(pred) < 3 or np.std(pred) == 0 or np.std(meas) == 0:
        return float("nan")
    return float(np.corrcoef(pred, meas)[0, 1])


def covariance_and_entropy_change(run: Run) -> tuple[np.ndarray, np.ndarray]:
    """(batch covariance Cov(log π, A), measured probe ΔH) at the steps (or, for a TRL run, the
    logging windows) that have both."""
    cov = dict(zip(*run.series("covariance"), strict=True))
    steps, dh = run.series("entropy_change")
    pairs = [(cov[s], d) for s, d in zip(steps, dh, strict=True) if s in cov]
    if not pairs:
        return np.array([]), np.array([])
    c, d = zip(*pairs, strict=True)
    return np.array(c), np.array(d)


def covariance_entropy_change_correlation(run: Run) -> float:
    """Pearson correlation over steps of the batch covariance of the sampled tokens and the
    measured entropy change: Cui et al.'s claim is that the former drives the latter (expected
    negative). Unlike ``corr_predicted_measured_dH``, which evaluates the theorem on the realised
    logit change, this uses only what a batch shows before its update. NaN below 3 steps."""
    c, d = covariance_and_entropy_change(run)
    if len(c) < 3 or np.std(c) == 0 or np.std(d) == 0:
        return float("nan")
    return float(np.corrcoef(c, d)[0, 1])


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
    _, pred, meas = entropy_changes(run)
    if len(pred) == 0:
        return {}
    total, first = float(np.sum(meas)), float(np.sum(pred))
    return {
        "entropy_change_total": total,
        "entropy_change_first_order": first,
        "entropy_change_higher_order": total - first,
    }


def last_value(run: Run, key: str) -> float:
    _, v = run.series(key)
    return float(v[-1]) if len(v) else float("nan")


def first_value(run: Run, key: str) -> float:
    _, v = run.series(key)
    return float(v[0]) if len(v) else float("nan")


def tail_mean(run: Run, key: str, n: int = 5) -> float:
    _, v = run.series(key)
    return float(np.mean(v[-n:])) if len(v) else float("nan")


def summarize_runs(
    runs: list[Run], baseline: list[dict[str, float]] | None = None
) -> dict[str, dict[str, dict[str, float]]]:
    """Per method: mean, std (the sample std, ddof = 1; NaN for one seed), min, max, n and ``ci95``
    (half-width of the 95 % t-interval for the mean) over seeds of each run's final metrics
    (``run_metrics``)."""
    return aggregate_by_method(runs, run_metrics(runs, baseline))


def aggregate_by_method(
    runs: list[Run], per_run: list[dict[str, float]]
) -> dict[str, dict[str, dict[str, float]]]:
    """``summarize_runs`` from already computed ``run_metrics``."""
    return aggregate([run.method for run in runs], per_run)


# How summary.json's per-method statistics are computed (written into it).
STATISTICS = (
    "over seeds: mean; std, the sample standard deviation (ddof = 1); min; max; n; ci95, the "
    "half-width of the 95 % Student-t interval for the mean"
)


def aggregate(methods: list[str], per_run: list[dict[str, float]]) -> dict[str, dict[str, dict[str, float]]]:
    """Per method (``methods[i]`` is ``per_run[i]``'s): each value's mean, sample std, min, max, n
    and ``ci95`` over the runs where it is finite."""
    per_method: dict[str, list[dict[str, float]]] = {}
    for method, vals in zip(methods, per_run, strict=True):
        per_method.setdefault(method, []).append(vals)
    out = {}
    for method, lst in per_method.items():
        keys = sorted({k for d in lst for k in d})
        out[method] = {}
        for k in keys:
            arr = np.array([d.get(k, np.nan) for d in lst], dtype=float)
            ok = arr[np.isfinite(arr)]
            out[method][k] = {
                "mean": float(ok.mean()) if ok.size else float("nan"),
                "std": float(ok.std(ddof=1)) if ok.size > 1 else float("nan"),
                "min": float(ok.min()) if ok.size else float("nan"),
                "max": float(ok.max()) if ok.size else float("nan"),
                "n": int(ok.size),
                "ci95": t_half_width(ok),
            }
    return out


STAT_FIELDS = ("mean", "std", "min", "max", "ci95")


def read_aggregate(methods: dict) -> dict:
    """``aggregate``'s output as read back from a JSON file: a null statistic (strict JSON's
    missing number) is NaN again, as ``aggregate`` computed it."""
    return {
        m: {k: {f: (math.nan if f in STAT_FIELDS and x is None else x) for f, x in v.items()}
            if isinstance(v, dict) else v for k, v in vals.items()}
        for m, vals in methods.items()
    }  # fmt: skip


def run_metrics(runs: list[Run], baseline: list[dict[str, float]] | None = None) -> list[dict[str, float]]:
    """Each run's final metrics, in the order of ``runs``, with its paired comparison with the
    GRPO run of the same seed (``_add_entropy_vs_grpo``). With ``baseline`` (a temperature sweep
    of the initial policy) also the initial policy's accuracy at the run's final held-out
    entropy, and the run's gain over it."""
    per_run: list[dict[str, float]] = []
    for run in runs:
        vals = {
            "entropy_start": first_value(run, "entropy"),
            "entropy_final": tail_mean(run, "entropy"),
            "entropy_ratio": tail_mean(run, "entropy") / first_value(run, "entropy"),
            "train_accuracy_final": tail_mean(run, "accuracy"),
            # before any update when the run saved it; older runs: the first evaluation (after step 0)
            "eval_accuracy_start": (run.initial_eval or {}).get(
                "accuracy", first_value(run, "eval_accuracy")
            ),
            "eval_accuracy_final": last_value(run, "eval_accuracy"),
            "eval_entropy_final": last_value(run, "eval_entropy"),
            "corr_predicted_measured_dH": entropy_change_correlation(run),
            "corr_covariance_entropy_change": covariance_entropy_change_correlation(run),
            **entropy_budget(run),
            **entropy_links(run),
            **entropy_tracking(run),
        }
        _, share = run.series("remedy_token_share")
        if share.size:  # over the whole run: how much of what was updated the remedy touched
            _, tokens = run.series("remedy_tokens")
            vals.update(remedy_token_share=float(np.mean(share)), remedy_tokens_per_step=float(np.mean(tokens)))
        for key in sorted(k for k in run.rows[-1] if PASS_KEY.fullmatch(k) and k.startswith("eval_")):
            vals[key + "_final"] = last_value(run, key)
        for key, v in (run.initial_eval or {}).items():  # the initial policy's pass@k, before any update
            if PASS_KEY.fullmatch(key) and key.startswith("pass@") and pass_k(key) != 1:
                vals[f"eval_{key}_start"] = v
                if f"eval_{key}_final" in vals:  # paired by seed: what RL did to this run's pass@k
                    vals[f"eval_{key}_change"] = vals[f"eval_{key}_final"] - v
        if baseline and np.isfinite(last_value(run, "eval_entropy")):
            matched = matched_baseline(baseline, last_value(run, "eval_entropy"))
            vals["temperature_matched_accuracy"] = matched["matched_accuracy"]
            vals["temperature_matched_T"] = matched["matched_temperature"]
            vals["temperature_matched_extrapolated"] = matched["matched_extrapolated"]
            vals["gain_over_temperature"] = vals["eval_accuracy_final"] - matched["matched_accuracy"]
        try:
            law = fit_run_law(run)
            vals.update(law_a=law.a, law_b=law.b, law_r2=law.r2, law_ceiling=law.ceiling)
            if law.prefix_predicted_final is not None:
                vals["law_prefix_predicted_final"] = law.prefix_predicted_final
            fc = law.forecast
            if fc.predicted_final is not None and fc.actual_final is not None:
                # averaged over seeds, the absolute error is the forecast's mean absolute error
                vals.update(law_forecast_final=fc.predicted_final, law_forecast_abs_error=fc.abs_error)
        except ValueError:
            pass
        per_run.append(vals)
    _add_entropy_vs_grpo(runs, per_run)
    return per_run


# The pass@k keys the report reads; any other key that starts like one is not a pass@k (and,
# coming from a run file, is never trusted to be anything else).
PASS_KEY = re.compile(r"(?:eval_)?pass@(\d{1,4})(?:_final|_start|_change|_minus_grpo)?")


def pass_keys(keys, suffix: str = "") -> list[str]:
    """The held-out ``eval_pass@k{suffix}`` keys among ``keys`` whose form ``PASS_KEY`` accepts
    (a run file's ``eval_pass@x`` is not one)."""
    return [k for k in keys if k.startswith("eval_pass@") and k.endswith(suffix) and PASS_KEY.fullmatch(k)]


def pass_k(key: str) -> int:
    """k of a pass@k key: ``pass@8``, ``eval_pass@8_final``, ``eval_pass@8_change``, ``eval_pass@8_minus_grpo``."""
    return int(PASS_KEY.fullmatch(key).group(1))


def entropy_tracking(run: Run) -> dict[str, float]:
    """For a run whose controller logs its target (``entropy_target``, ``entropy_band``): the mean
    absolute tracking error |H − H*| and the share of steps within the band, both from the step
    where entropy first reaches the band (the approach from the initial entropy is not tracking),
    and the mean error over the whole run too."""
    if not len(run.series("entropy_target")[0]):
        return {}
    rows = [r for r in run.rows if r.get("entropy_target") is not None and r.get("entropy") is not None]
    err = np.array([r["entropy"] - r["entropy_target"] for r in rows])
    band = np.array([r.get("entropy_band") or 0.0 for r in rows])
    inside = np.abs(err) <= band
    start = int(np.argmax(inside)) if inside.any() else len(err)
    smooth_all = trailing_mean(err, TRACKING_WINDOW)
    out = {
        "entropy_tracking_error_all": float(np.abs(err).mean()),
        # over every step, approach included: defined also for a run that never reaches the band
        "entropy_in_band_share_all": float(inside.mean()),
        "entropy_in_band_share_smoothed_all": float((np.abs(smooth_all) <= band).mean()),
    }
    at_bound = [r.get("controller_at_bound") for r in rows]
    if any(b is not None for b in at_bound):  # a knob-driving controller: how often it saturated
        at = np.array([abs(b or 0.0) > 0 for b in at_bound])
        knob = np.array([r.get("controller_value", np.nan) for r in rows], dtype=float)
        out.update(
            knob_at_bound_share=float(at.mean()),
            knob_at_upper_share=float(np.mean([(b or 0.0) > 0 for b in at_bound])),
            knob_mean=float(np.nanmean(knob)),
            knob_final=float(knob[-1]),
        )
    if start < len(err):
        # one batch's entropy is a noisy measurement (std ~0.04 on 128 short answers), so also
        # the same over its trailing mean of TRACKING_WINDOW steps
        smooth = trailing_mean(err, TRACKING_WINDOW)[start:]
        out["entropy_tracking_error"] = float(np.abs(err[start:]).mean())
        out["entropy_in_band_share"] = float(inside[start:].mean())
        out["entropy_tracking_error_smoothed"] = float(np.abs(smooth).mean())
        out["entropy_in_band_share_smoothed"] = float((np.abs(smooth) <= band[start:]).mean())
        out["entropy_band_reached_step"] = float(rows[start]["step"])
    return out


TRACKING_WINDOW = 10


def trailing_mean(x: np.ndarray, window: int) -> np.ndarray:
    """Mean over the last ``window`` points (fewer at the start), same length as ``x``."""
    if window <= 1 or len(x) == 0:
        return x
    c = np.cumsum(np.insert(x.astype(float), 0, 0.0))
    i = np.arange(1, len(x) + 1)
    lo = np.maximum(i - window, 0)
    return (c[i] - c[lo]) / (i - lo)


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
        for key in [k for k in vals if PASS_KEY.fullmatch(k) and k.endswith("_final") and k in ref]:
            vals[key.removesuffix("_final") + "_minus_grpo"] = vals[key] - ref[key]


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


def matched_baseline(sweep: list[dict[str, float]], entropy: float) -> dict[str, float]:
    """The sweep's metrics interpolated (linearly in entropy) at ``entropy``: what the initial
    policy scores when its temperature brings it to the same entropy. ``matched_extrapolated``
    is 1.0 when ``entropy`` lies outside the swept range (the nearest end is used).
    """
    if not sweep:
        raise ValueError("empty temperature sweep")
    hs = np.array([s["entropy"] for s in sweep])
    keys = [k for k in sweep[0] if k == "accuracy" or k.startswith("pass@") or k == "temperature"]
    out = {f"matched_{k}": float(np.interp(entropy, hs, [s[k] for s in sweep])) for k in keys}
    out["matched_extrapolated"] = float(not hs.min() <= entropy <= hs.max())
    return out
