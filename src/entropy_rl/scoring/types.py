"""The basic types of scoring: a problem, a verifier's verdict, and the errors scoring raises."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol


@dataclass
class Problem:
    """One prompt and its reference answer; ``entry`` keeps what the scorer needs."""

    prompt: str
    answer: str
    entry: dict[str, Any] = field(default_factory=dict)


@dataclass
class Verdict:
    """A verifier's result: the reward, the parsed answer (None if none) and why it failed."""

    reward: float
    parsed: str | None
    reason: str = "ok"  # ok | wrong | no_answer | rejected_chars | too_long | verifier_error | timeout
    detail: str | None = None  # verifier_error: the exception, for the error a failing run stops with


class InvalidReward(ValueError):
    """A scorer returned something that is not a reward in [0, 1]: a bug to stop on, never a 0."""


class ScoringFailed(RuntimeError):
    """Every answer of a training batch failed to score: the verifier or reward function is broken."""


class Scorer(Protocol):
    """Anything that scores a response to a problem (a task): what ``limits.safe_score`` runs."""

    score_timeout_s: float | None

    def score(self, problem: Problem, response: str) -> Verdict: ...
