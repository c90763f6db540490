"""Entropy controllers: small stateful objects that turn a measured entropy into loss coefficients.

``update(measured_entropy) -> dict[str, float]`` returns the ``LossConfig`` fields to use for the
next step (the trainer assigns them); ``state_dict()`` / ``load_state_dict()`` let checkpoints
restore them exactly. The entropy they see is whatever the trainer measures; entropy-rl's
trainer passes the full-vocabulary mean token entropy at the sampling temperature (Skywork-OR1
uses the mean −log π of sampled tokens instead, which is lower for the same policy).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, fields

from entropy_rl.core.losses import check_knob
from entropy_rl.core.registry import Registry

CONTROLLERS: Registry[type[Controller]] = Registry("controller")
register_controller = CONTROLLERS.register


class Controller:
    """Base: dataclass fields are the configuration plus state; all of them are checkpointed."""

    def update(self, measured_entropy: float) -> dict[str, float]:
        raise NotImplementedError

    def initial(self) -> dict[str, float]:
        """The coefficients to use before the first measurement (step 0)."""
        raise NotImplementedError

    def logged(self) -> dict[str, float]:
        """Values to log beside the coefficients each step (e.g. a band's target), for the report."""
        return {}

    def warning(self) -> str | None:
        """A one-line message for the run's log when the controller cannot do its job (else None)."""
        return None

    def state_dict(self) -> dict[str, float]:
        return asdict(self)  # type: ignore[call-overload]

    def load_state_dict(self, state: dict[str, float]) -> None:
        names = {f.name for f in fields(self)}  # type: ignore[arg-type]
        unknown = set(state) - names
        if unknown:
            raise ValueError(f"{type(self).__name__}: unknown state keys {sorted(unknown)}")
        for k, v in state.items():
            setattr(self, k, v)
        post_init = getattr(self, "__post_init__", None)
        if post_init is not None:  # re-check the restored configuration, re-derive what follows from it
            post_init()


@register_controller("fixed")
@dataclass
class FixedCoefficient(Controller):
    """Always the same value for one ``LossConfig`` field (e.g. ``entropy_coef`` or ``lambda_pos``)."""

    field: str = "entropy_coef"
    value: float = 0.0

    def update(self, measured_entropy: float) -> dict[str, float]:
        return {self.field: self.value}

    def initial(self) -> dict[str, float]:
        return {self.field: self.value}


@register_controller("adaptive_entropy_bonus")
@dataclass
class AdaptiveEntropyBonus(Controller):
    """Skywork-OR1 adaptive entropy bonus (He et al. 2025).

    c ← clip(c ± Δ, 0, c_max): up while H < target, down otherwise; the bonus applied is
    c·1[H < target], so it acts only while entropy is below the target. Defaults from the
    released scripts: target 0.2, Δ = 1e-4, c_max = 5e-3, c₀ = 0.
    """

    target: float = 0.2
    delta: float = 1e-4
    max_coef: float = 5e-3
    coef: float = 0.0

    def update(self, measured_entropy: float) -> dict[str, float]:
        below = measured_entropy < self.target
        self.coef = min(max(self.coef + (self.delta if below else -self.delta), 0.0), self.max_coef)
        return {"entropy_coef": self.coef if below else 0.0}

    def initial(self) -> dict[str, float]:
        return {"entropy_coef": 0.0}  # no bonus until entropy is seen below the target


@register_controller("lambda_pos_schedule")
@dataclass
class LambdaPosSchedule(Controller):
    """Jin et al. (2025) entropy-guided λ_pos for ``pos_neg``: λ ← clip(λ ∓ step, 0, 1),
    down while H < δ (fewer positive-advantage updates let entropy recover), up otherwise.
    Defaults δ = 0.2, step 0.05, λ₀ = 0.
    """

    threshold: float = 0.2
    step: float = 0.05
    lambda_pos: float = 0.0

    def update(self, measured_entropy: float) -> dict[str, float]:
        delta = -self.step if measured_entropy < self.threshold else self.step
        self.lambda_pos = min(max(self.lambda_pos + delta, 0.0), 1.0)
        return {"lambda_pos": self.lambda_pos}

    def initial(self) -> dict[str, float]:
        return {"lambda_pos": self.lambda_pos}


@register_controller("linear_lambda_pos")
@dataclass
class LinearLambdaPos(Controller):
    """Jin et al.'s epoch-wise linear schedule: λ_pos from ``start`` to ``end`` over ``total``
    updates (one ``update`` per epoch or per step, as the caller decides), then held.
    """

    start: float = 0.0
    end: float = 1.0
    total: int = 10
    count: int = 0

    def update(self, measured_entropy: float) -> dict[str, float]:
        frac = min(self.count / max(self.total - 1, 1), 1.0)
        self.count += 1
        return {"lambda_pos": self.start + (self.end - self.start) * frac}

    def initial(self) -> dict[str, float]:
        return {"lambda_pos": self.start}


@register_controller("entropic")
@dataclass
class EntroPIC(Controller):
    """EntroPIC PI controller (2025): α = clip(K_p·(H − H*) + K_i·Σ(H − H*), −1, 1).

    The integral is not clipped, as in the paper. α goes to the ``entropic`` loss, which
    weights confident A > 0 tokens by 1 + α and confident A < 0 tokens by 1 − α: entropy
    above target → α > 0 → more sharpening. Defaults K_p = 1, K_i = 0.01.
    """

    target: float = 0.1
    kp: float = 1.0
    ki: float = 0.01
    integral: float = 0.0

    def update(self, measured_entropy: float) -> dict[str, float]:
        error = measured_entropy - self.target
        self.integral += error
        alpha = min(max(self.kp * error + self.ki * self.integral, -1.0), 1.0)
        return {"entropic_alpha": alpha}

    def initial(self) -> dict[str, float]:
        return {"entropic_alpha": min(max(self.ki * self.integral, -1.0), 1.0)}


SCALES = ("linear", "log")


@register_controller("entropy_pi")
@dataclass
class EntropyPI(Controller):
    """Holds entropy in a band around a target by driving one remedy knob: a PI controller on the
    entropy error e = H − H*.

    The knob is any field of ``core.losses.KNOBS`` (KL-Cov's β or k, Clip-Cov's ratio, λ_pos,
    the entropy bonus, CE-GPPO's β₁ or β₂, EntroPIC's α); its declared direction gives the sign,
    so the knob moves the way that raises entropy while H is below the target:

    - ``scale: linear``: u = clip(base − d·(K_p·e + K_i·Σe), low, high);
    - ``scale: log``:    u = clip(base·exp(−d·(K_p·e + K_i·Σe)), low, high), for knobs that span
      decades (a ratio of tokens, a coefficient); needs 0 < low ≤ base;

    with d = +1 for a knob that raises entropy and −1 for one that lowers it. The target is a level
    (``target``) or, when ``target_fraction`` > 0, that fraction of the first entropy measured
    (the run's start), fixed from then on. The integral does not move while u would be clipped
    (anti-windup), so a long stretch at a bound does not delay the response once the target is
    crossed: where it would carry the knob past a bound, it stops where the knob meets the bound.
    Entropy responds to u through its *rate* of change, so the plant integrates and a
    small K_i removes the offset K_p alone leaves.

    ``band`` (half-width, nats) is what the user wants entropy within: it is logged and reported
    (share of steps inside), and a knob that has sat at a bound for ``saturation_steps`` updates
    with entropy outside the band on the side it cannot fix makes ``warning()`` say so once.
    """

    field: str = "lambda_pos"
    target: float = 0.3
    target_fraction: float = 0.0
    """> 0: the target is this fraction of the first entropy measured (``target`` is then set from it)."""
    kp: float = 4.0
    ki: float = 0.2
    base: float = 1.0
    low: float = 0.0
    high: float = 1.0
    band: float = 0.05
    band_fraction: float = 0.0
    """> 0: the band's half-width is this fraction of the target (with ``target_fraction``)."""
    scale: str = "linear"
    saturation_steps: int = 10
    """Consecutive updates at a bound, entropy outside the band, before ``warning()`` speaks."""
    integral: float = 0.0
    measured: float = math.nan
    """The entropy the last update saw (logged: in verl it is the controller's own estimate)."""
    value: float = math.nan
    """The knob's value after the last update (logged; NaN before the first)."""
    at_bound: int = 0
    """−1 at ``low``, +1 at ``high``, 0 inside, after the last update."""
    stuck: int = 0
    """Consecutive updates at a bound with entropy outside the band on the side the knob cannot fix."""
    warned: bool = False

    def __post_init__(self) -> None:
        knob = check_knob(self.field)
        if self.scale not in SCALES:
            raise ValueError(f"entropy_pi: scale must be one of {SCALES}, got {self.scale!r}")
        if not self.low <= self.base <= self.high:
            raise ValueError(f"entropy_pi: need low <= base <= high, got {self.low}, {self.base}, {self.high}")
        if not (knob.low <= self.low and self.high <= knob.high):
            raise ValueError(
                f"entropy_pi: [low, high] = [{self.low:g}, {self.high:g}] leaves {self.field}'s range "
                f"[{knob.low:g}, {knob.high:g}]"
            )
        if self.scale == "log" and self.low <= 0:
            raise ValueError(f"entropy_pi: scale 'log' needs low > 0, got {self.low}")
        for name in ("kp", "ki", "band", "target_fraction", "band_fraction"):
            v = getattr(self, name)
            if not (math.isfinite(v) and v >= 0):
                raise ValueError(f"entropy_pi: {name} must be a finite number >= 0, got {v}")
        if self.saturation_steps < 1:
            raise ValueError(f"entropy_pi: saturation_steps must be >= 1, got {self.saturation_steps}")
        self._sign = 1.0 if knob.raises_entropy else -1.0

    def _output(self, error: float, integral: float) -> float:
        push = -self._sign * (self.kp * error + self.ki * integral)
        if self.scale == "log":
            return self.base * math.exp(min(push, 700.0))
        return self.base + push

    def _clip(self, u: float) -> float:
        return min(max(u, self.low), self.high)

    def _integrate(self, error: float) -> float:
        """The integral after this error, with anti-windup: where adding the error would carry the
        output past a bound, the integral stops where the output meets that bound (so the knob
        reaches it, and leaves it as soon as the error turns), and never moves further."""
        moved = self.integral + error
        u = self._output(error, moved)
        if self.low <= u <= self.high:
            return moved
        if self.ki == 0:
            return self.integral
        bound = self.high if u > self.high else self.low
        s = -self._sign
        level = math.log(bound / self.base) if self.scale == "log" else bound - self.base
        at_bound = (level / s - self.kp * error) / self.ki
        lo, hi = sorted((self.integral, moved))
        return at_bound if lo <= at_bound <= hi else self.integral

    def update(self, measured_entropy: float) -> dict[str, float]:
        if not math.isfinite(measured_entropy):
            raise ValueError(f"entropy_pi: the measured entropy is {measured_entropy}")
        if math.isnan(self.measured):  # the first measurement: the run's start
            if self.target_fraction > 0:
                self.target = self.target_fraction * measured_entropy
                if self.band_fraction > 0:
                    self.band = self.band_fraction * self.target
        self.measured = measured_entropy
        error = measured_entropy - self.target
        self.integral = self._integrate(error)
        u = self._output(error, self.integral)
        self.value = self._clip(u)
        tol = 1e-9 * max(1.0, abs(self.low), abs(self.high))
        self.at_bound = -1 if u <= self.low + tol else 1 if u >= self.high - tol else 0
        # the side the knob cannot fix: entropy below the band with the knob at its entropy-raising
        # bound, or above it at the entropy-lowering one
        raising_bound = 1 if self._sign > 0 else -1
        outside = (error < -self.band and self.at_bound == raising_bound) or (
            error > self.band and self.at_bound == -raising_bound
        )
        self.stuck = self.stuck + 1 if outside else 0
        return {self.field: self.value}

    def initial(self) -> dict[str, float]:
        return {self.field: self._clip(self._output(0.0, self.integral))}

    def logged(self) -> dict[str, float]:
        return {
            "entropy_target": self.target,
            "entropy_band": self.band,
            "controller_entropy": self.measured,
            "controller_value": self.value,
            "controller_at_bound": float(self.at_bound),
        }

    def warning(self) -> str | None:
        """One line, once, when the knob has sat at a bound for ``saturation_steps`` updates with
        entropy outside the band: the remedy cannot reach its target at these bounds."""
        if self.warned or self.stuck < self.saturation_steps:
            return None
        self.warned = True
        side = "upper" if self.at_bound > 0 else "lower"
        return (
            f"entropy_pi: {self.field} has sat at its {side} bound {self.value:g} for {self.stuck} steps "
            f"with entropy outside {self.target:.3g} ± {self.band:.3g}: the remedy cannot reach its target "
            "at these bounds (widen low/high, or choose a remedy that moves entropy further)"
        )


def make_controller(name: str, **kwargs) -> Controller:
    """Build a controller by registry name; unknown names or arguments give a clear error."""
    cls = CONTROLLERS.lookup(name)
    allowed = {f.name for f in fields(cls)}  # type: ignore[arg-type]
    bad = set(kwargs) - allowed
    if bad:
        raise ValueError(f"controller {name!r}: unknown arguments {sorted(bad)}; allowed {sorted(allowed)}")
    return cls(**kwargs)


def controller_from_spec(spec) -> Controller:
    """A controller from its spec: a mapping (or a JSON object) with ``name`` and its arguments,
    ``{"name": "entropy_pi", "field": "kl_cov_coef", "target": 0.3}``; an existing controller is
    returned as is. How TRL and verl take a controller as configuration, not code."""
    if isinstance(spec, Controller):
        return spec
    if isinstance(spec, str):
        import json

        try:
            spec = json.loads(spec)
        except json.JSONDecodeError as e:
            raise ValueError(f"controller spec is not valid JSON ({e})") from None
    if not isinstance(spec, dict):
        raise ValueError(f"controller spec must be a JSON object with a name, got {type(spec).__name__}")
    args = dict(spec)
    name = args.pop("name", None)
    if not isinstance(name, str):
        raise ValueError('controller spec needs "name", the controller (e.g. "entropy_pi")')
    try:
        return make_controller(name, **args)
    except TypeError as e:
        raise ValueError(f"controller {name!r}: {e}") from None
