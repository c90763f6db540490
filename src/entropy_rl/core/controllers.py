"""Entropy controllers: small stateful objects that turn a measured entropy into loss coefficients.

``update(measured_entropy) -> dict[str, float]`` returns the ``LossConfig`` fields to use for the
next step (the trainer assigns them); ``state_dict()`` / ``load_state_dict()`` let checkpoints
restore them exactly. The entropy they see is whatever the trainer measures; entropy-rl's
trainer passes the full-vocabulary mean token entropy at the sampling temperature (Skywork-OR1
uses the mean −log π of sampled tokens instead, which is lower for the same policy).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields

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

    def state_dict(self) -> dict[str, float]:
        return asdict(self)  # type: ignore[call-overload]

    def load_state_dict(self, state: dict[str, float]) -> None:
        names = {f.name for f in fields(self)}  # type: ignore[arg-type]
        unknown = set(state) - names
        if unknown:
            raise ValueError(f"{type(self).__name__}: unknown state keys {sorted(unknown)}")
        for k, v in state.items():
            setattr(self, k, v)


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


# Whether raising each field a PI controller may drive lowers entropy (more weight on the
# positive-advantage, sharpening updates) or raises it.
_LOWERS_ENTROPY = {"lambda_pos": True, "entropic_alpha": True, "lambda_neg": False, "entropy_coef": False}


@register_controller("entropy_pi")
@dataclass
class EntropyPI(Controller):
    """Holds entropy in a band around ``target`` with one loss coefficient: a PI controller on the
    entropy error e = H − H*.

    u = clip(base ± (K_p·e + K_i·Σe), low, high), with + for a field whose increase lowers
    entropy (``lambda_pos`` of ``pos_neg``: the positive-advantage updates that drive collapse)
    and − for one whose increase raises it (``entropy_coef``, ``lambda_neg``). The integral
    does not move while u would be clipped at a bound (anti-windup), so a long stretch above the
    target at u = high does not delay the response once the target is crossed.
    Entropy responds to u through its *rate* of change, so the plant integrates and a small
    K_i is enough to remove the offset that K_p alone leaves.
    """

    field: str = "lambda_pos"
    target: float = 0.3
    kp: float = 4.0
    ki: float = 0.2
    base: float = 1.0
    low: float = 0.0
    high: float = 1.0
    band: float = 0.05
    """Half-width of the band the user wants entropy in: reported (tracking error, share of steps
    inside), not used by the control law."""
    integral: float = 0.0

    def __post_init__(self) -> None:
        if self.field not in _LOWERS_ENTROPY:
            raise ValueError(
                f"entropy_pi: field must be one of {sorted(_LOWERS_ENTROPY)}, got {self.field!r}"
            )
        if not self.low <= self.base <= self.high:
            raise ValueError(
                f"entropy_pi: need low <= base <= high, got {self.low}, {self.base}, {self.high}"
            )

    def _output(self, error: float, integral: float) -> float:
        sign = 1.0 if _LOWERS_ENTROPY[self.field] else -1.0
        return self.base + sign * (self.kp * error + self.ki * integral)

    def update(self, measured_entropy: float) -> dict[str, float]:
        error = measured_entropy - self.target
        if self.low <= self._output(error, self.integral + error) <= self.high:
            self.integral += error  # conditional integration: never while the output is clipped
        u = self._output(error, self.integral)
        return {self.field: min(max(u, self.low), self.high)}

    def initial(self) -> dict[str, float]:
        return {self.field: min(max(self._output(0.0, self.integral), self.low), self.high)}

    def logged(self) -> dict[str, float]:
        return {"entropy_target": self.target, "entropy_band": self.band}


def make_controller(name: str, **kwargs) -> Controller:
    """Build a controller by registry name; unknown names or arguments give a clear error."""
    cls = CONTROLLERS.lookup(name)
    allowed = {f.name for f in fields(cls)}  # type: ignore[arg-type]
    bad = set(kwargs) - allowed
    if bad:
        raise ValueError(f"controller {name!r}: unknown arguments {sorted(bad)}; allowed {sorted(allowed)}")
    return cls(**kwargs)
