"""Verdicts: what a comparison's runs show, in plain sentences with their numbers and intervals,
computed from the report's summary (never hand-written). A sentence says when it is weak: fewer
than 3 seeds, a law fit with R² < 0.8, an interval that spans no difference."""

from __future__ import annotations

import math

from entropy_rl.analysis.inference import MARGINS, judged
from entropy_rl.analysis.stats import pass_k, pass_keys

COLLAPSE = 0.5  # entropy ending at or below this share of its start counts as a collapse
GOOD_FIT = 0.8  # R² of the law below this is called a poor fit


def _ok(v: dict | None) -> bool:
    return v is not None and v.get("n", 0) > 0 and math.isfinite(v["mean"])


def _seeds(n: int) -> str:
    return f"{n} seed{'s' if n != 1 else ''}" + (", too few to be sure" if n < 3 else "")


# The side of a value without an interval (one seed): a verdict then says so, never "within the interval".
NO_INTERVAL = "no interval"


def _interval(v: dict, fmt: str) -> tuple[str, bool | None | str]:
    """``mean [lo, hi]`` and whether the interval excludes 0 above (True), below (False) or not
    (None); ``NO_INTERVAL`` below 2 seeds, where there is no interval to judge by."""
    if not math.isfinite(v.get("ci95", math.nan)):
        return f"{v['mean']:{fmt}}", NO_INTERVAL
    lo, hi = v["mean"] - v["ci95"], v["mean"] + v["ci95"]
    side = True if lo > 0 else (False if hi < 0 else None)
    return f"{v['mean']:{fmt}} [{lo:{fmt}}, {hi:{fmt}}]", side


def _unresolved(v: dict, margin: float | None = MARGINS["pass"]) -> str:
    """The wording of an interval that includes 0 (``inference.judged``): equivalent within the
    declared margin when it lies inside it, else not resolved; never "no difference"."""
    return judged(v["mean"], v["ci95"], "+.3f", margin)[1]


def _largest_pass(v: dict, suffix: str) -> str | None:
    keys = [k for k in pass_keys(v, suffix) if pass_k(k) > 1 and _ok(v[k])]
    return max(keys, key=pass_k, default=None)


def collapse(methods: dict) -> str | None:
    """Whether GRPO's entropy collapsed on every seed (not on average), and what RL did to its
    largest pass@k against the initial policy's, paired by seed."""
    g = methods.get("grpo") or next(iter(methods.values()), None)
    if g is None or not _ok(g.get("entropy_ratio")):
        return None
    name = "GRPO" if "grpo" in methods else "The run"
    r = g["entropy_ratio"]
    n, lo, hi = r["n"], r["min"], r["max"]
    if hi <= COLLAPSE:
        word = "collapsed" + (" on every seed" if n > 1 else "")
    elif lo > COLLAPSE:
        word = "did not collapse" + (" on any seed" if n > 1 else "")
    else:
        word = f"collapsed on some seeds, not all (at or below {COLLAPSE:g} of its start)"
    spread = f"{r['mean']:.2f} of its start" + (f" ({lo:.2f} to {hi:.2f} over seeds)" if n > 1 else "")
    text = f"{name}'s entropy {word}: it ended at {spread}"
    key = _largest_pass(g, "_change")
    if key is not None:
        change, side = _interval(g[key], "+.3f")
        word = {True: "above it", False: "below it", None: None, NO_INTERVAL: "1 seed, no interval"}[side]
        text += (
            f"; its held-out pass@{pass_k(key)} ended {change} against the initial policy's, paired by "
            f"seed ({word or _unresolved(g[key])})"
        )
    return f"{text} ({_seeds(n)})."


def law(methods: dict) -> str | None:
    g = methods.get("grpo") or next(iter(methods.values()), None)
    if g is None or not _ok(g.get("law_r2")) or not _ok(g.get("law_ceiling")):
        return None
    r2, ceiling = g["law_r2"]["mean"], g["law_ceiling"]["mean"]
    fit = "fits well" if r2 >= GOOD_FIT else f"fits poorly (R² below {GOOD_FIT})"
    text = f"The entropy–performance law {fit}: R² {r2:.2f}, ceiling b − a = {ceiling:.3f}"
    pred, final = g.get("law_prefix_predicted_final"), g.get("eval_accuracy_final")
    errors = [
        f"{name} {v['law_forecast_abs_error']['mean']:.3f}"
        + (f" (worst seed {v['law_forecast_abs_error']['max']:.3f})" if v["law_forecast_abs_error"]["n"] > 1 else "")
        for name, v in methods.items()
        if _ok(v.get("law_forecast_abs_error"))
    ]
    if errors:
        n = max(v["law_forecast_abs_error"]["n"] for v in methods.values() if _ok(v.get("law_forecast_abs_error")))
        text += (
            "; forecast from the first quarter (entropy extrapolated), mean absolute error of the final "
            f"score: {', '.join(errors)} ({_seeds(n)})"
        )
    if _ok(pred) and _ok(final):
        text += f"; fitted on the first quarter and given the final entropy the run reached, it predicted {pred['mean']:.3f}, the run reached {final['mean']:.3f}"
    return text + "."


def _beyond(v: dict) -> str:
    """Where the run's entropy lay below the sweep's lowest: the match is extrapolated, not measured."""
    ext = v.get("temperature_matched_extrapolated")
    if not _ok(ext) or ext["mean"] == 0:
        return ""
    k = round(ext["mean"] * ext["n"])
    return f"; extrapolated beyond the lowest temperature swept for {k} of {ext['n']} seeds"


def frontier(methods: dict) -> list[str]:
    out = []
    for method, v in methods.items():
        g = v.get("gain_over_temperature")
        if not _ok(g):
            continue
        text, side = _interval(g, "+.3f")
        verdict = {True: "beat", False: "fell below", None: "did not separate from",
                   NO_INTERVAL: "against"}[side]  # fmt: skip
        if side == NO_INTERVAL:
            out.append(
                f"{method} against the initial policy sampled at a lower temperature (same entropy{_beyond(v)}): held-out "
                f"accuracy {text} (1 seed: no interval, so no verdict)."
            )
            continue
        out.append(
            f"{method} {verdict} the initial policy sampled at a lower temperature (same entropy{_beyond(v)}): "
            f"held-out accuracy {text} ({_seeds(g['n'])})."
        )
    return out


def best_temperature(methods: dict, baseline: list[dict] | None) -> str | None:
    """RL's gain: each method's final held-out pass@1 minus the initial policy's at its best
    temperature (the most a reader gets without any RL), per seed, then its interval."""
    if not baseline:
        return None
    best = max(baseline, key=lambda r: r["accuracy"])
    parts = []
    for method, v in methods.items():
        acc = v.get("eval_accuracy_final")
        if not _ok(acc):
            continue
        gap = dict(acc, mean=acc["mean"] - best["accuracy"])  # the same constant off every seed
        text, side = _interval(gap, "+.3f")
        word = {True: "above it", False: "below it", None: None, NO_INTERVAL: "1 seed: no interval"}[side]
        parts.append(f"{method} {text} ({word or _unresolved(gap)}; final {acc['mean']:.3f})")
    if not parts:
        return None
    n = max(v["eval_accuracy_final"]["n"] for v in methods.values() if _ok(v.get("eval_accuracy_final")))
    return (
        f"RL against no RL at all (the initial policy at its best temperature, T = {best['temperature']:g}, "
        f"scores {best['accuracy']:.3f} held-out pass@1): final pass@1 minus that, by method: "
        f"{'; '.join(parts)} ({_seeds(n)})."
    )


def budget(methods: dict) -> str | None:
    """Where GRPO's entropy went: the share the covariance explains (first order)."""
    g = methods.get("grpo") or next(iter(methods.values()), None)
    if (
        g is None
        or not _ok(g.get("entropy_change_first_order"))
        or not _ok(g.get("entropy_change_higher_order"))
    ):
        return None
    first, higher = g["entropy_change_first_order"]["mean"], g["entropy_change_higher_order"]["mean"]
    total = first + higher
    name = "GRPO's" if "grpo" in methods else "the run's"
    if not total < 0:
        return f"{name[0].upper() + name[1:]} entropy did not fall on the probe batch (change {total:+.3f}, first order {first:+.3f})."
    parts = (
        f"{first:+.3f} first order (what the covariance explains and Clip-Cov / KL-Cov act on) and "
        f"{higher:+.3f} the rest (higher order, which grows with the step size, and an entropy bonus if any)"
    )
    if first < 0 and higher <= 0:
        parts = f"{first:+.3f} of it first order ({first / total:.0%}, what the covariance explains and Clip-Cov / KL-Cov act on) and {higher:+.3f} from the rest (higher order, which grows with the step size, and an entropy bonus if any)"
    return f"Where {name} entropy went: {total:+.3f} nats/token on the probe batch, {parts}."


def tokens(drivers: dict | None) -> str | None:
    """The tokens that carried GRPO's covariance."""
    rows = (drivers or {}).get("grpo") or next(iter((drivers or {}).values()), None)
    rows = [r for r in rows or [] if r.get("covariance_share") is not None][:3]
    if not rows:
        return None
    name = "GRPO's" if "grpo" in (drivers or {}) else "The run's"
    listed = ", ".join(f"{r['token']!r} {r['covariance_share']:.0%}" for r in rows)
    top = sum(r["covariance_share"] for r in rows)
    spread = "concentrated on a few tokens" if top >= 0.5 else "spread over many tokens"
    return f"{name} covariance was {spread}: {listed} of Σ Cov over the run."


def remedies(methods: dict) -> list[str]:
    out = []
    for method, v in methods.items():
        ratio, diff = v.get("entropy_final_vs_grpo"), v.get("eval_accuracy_final_minus_grpo")
        if method == "grpo" or not _ok(ratio) or not _ok(diff):
            continue
        r = dict(ratio, mean=ratio["mean"] - 1.0)  # test the ratio against 1
        _, side = _interval(r, ".2f")
        lo, hi = ratio["mean"] - ratio.get("ci95", math.nan), ratio["mean"] + ratio.get("ci95", math.nan)
        ent = f"{ratio['mean']:.2f}× GRPO's final entropy" + (
            "" if math.isnan(lo) else f" [{lo:.2f}, {hi:.2f}]"
        )
        ent += {
            True: " (more, the interval excludes 1)",
            False: " (less, the interval excludes 1)",
            None: " (the interval includes 1)",
            NO_INTERVAL: "",
        }[side]
        acc, aside = _interval(diff, "+.3f")
        acc_word = {True: "higher", False: "lower", None: None, NO_INTERVAL: "1 seed: no interval"}[aside]
        acc_word = acc_word or _unresolved(diff)
        text = f"{method} against GRPO, paired by seed: {ent}; held-out pass@1 {acc} ({acc_word})"
        key = _largest_pass(v, "_minus_grpo")
        if key is not None:
            pk, pside = _interval(v[key], "+.3f")
            pword = {True: "higher", False: "lower", None: None, NO_INTERVAL: "1 seed: no interval"}[pside]
            pword = pword or _unresolved(v[key])
            text += f", pass@{pass_k(key)} {pk} ({pword})"
        out.append(f"{text} ({_seeds(ratio['n'])}).")
    return out


# A remedy that acts on fewer of the updated tokens than this is close to no remedy at all.
FEW_REMEDY_TOKENS = 0.01


def remedy_reach(methods: dict) -> list[str]:
    """A warning for each method whose remedy acted on under 1 % of the tokens it updated."""
    out = []
    for method, v in methods.items():
        share, tokens = v.get("remedy_token_share"), v.get("remedy_tokens_per_step")
        if method == "grpo" or not _ok(share) or share["mean"] >= FEW_REMEDY_TOKENS:
            continue
        per_step = f", {tokens['mean']:.1f} tokens a step" if _ok(tokens) else ""
        out.append(
            f"Warning: {method}'s remedy acted on {share['mean']:.2%} of the tokens it updated{per_step}: "
            "below 1 %, it is close to no remedy, and its difference from GRPO says little about the method."
        )
    return out


def tracking(methods: dict) -> list[str]:
    """For runs whose controller holds a band: how well it held it."""
    out = []
    for method, v in methods.items():
        err, share = v.get("entropy_tracking_error"), v.get("entropy_in_band_share")
        if not _ok(err) or not _ok(share):
            continue
        held = "held" if share["mean"] >= 0.9 else "did not hold"
        text = (
            f"{method}'s controller {held} entropy in its band: {share['mean']:.0%} of the steps inside "
            f"once reached (lowest seed {share['min']:.0%}), mean absolute tracking error {err['mean']:.3f}"
        )
        smooth, serr = v.get("entropy_in_band_share_smoothed"), v.get("entropy_tracking_error_smoothed")
        if _ok(smooth) and _ok(serr):
            text += f"; its 10-step mean {smooth['mean']:.0%} inside, error {serr['mean']:.3f}"
        out.append(f"{text} ({_seeds(err['n'])}).")
    return out


def verdicts(summary: dict) -> list[str]:
    """Every verdict the summary supports, in the order a reader needs them."""
    methods = summary.get("methods", {})
    # The story first: RL's gain over sharpening, the collapse, each remedy against GRPO.
    lines = [
        best_temperature(methods, summary.get("temperature_baseline")),
        collapse(methods),
        *remedies(methods),
        *remedy_reach(methods),
        law(methods),
        *frontier(methods),
        *tracking(methods),
        budget(methods),
        tokens(summary.get("token_drivers")),
    ]
    return [line for line in lines if line]
