"""reasoning-gym tasks: a generator with a seeded, disjoint train / held-out split.

Model output is untrusted input. Answers are extracted as text and filtered to the characters
their format needs. Countdown answers are parsed with ``ast`` and evaluated as exact fractions
(``scoring.countdown.countdown_reward``); reasoning-gym's scorer (which uses sympy's
``parse_expr`` and so could run Python) only sees the odd rest, and only strings made of digits,
``+ - * /``, parentheses and spaces, no ``**``.
"""

from __future__ import annotations

import functools
import json
import random
import warnings
from typing import Any

from entropy_rl.config import TaskConfig
from entropy_rl.scoring.answers import THOUSANDS, extract_final_answer, last_number, numeric_wrong_answer
from entropy_rl.scoring.countdown import (
    countdown_expressions,
    countdown_reward,
    countdown_tokens,
    forbidden_operator,
)
from entropy_rl.scoring.types import Problem, Verdict
from entropy_rl.tasks.base import Task


class ReasoningGymTask(Task):
    """A reasoning-gym generator with a seeded, disjoint train / held-out split."""

    def __init__(self, cfg: TaskConfig):
        import reasoning_gym

        if cfg.name == "countdown" and not isinstance(self, CountdownTask):
            raise ValueError("countdown needs CountdownTask (use make_task): it filters answers before sympy")
        self.name = cfg.name
        self.compact = cfg.compact
        self.answer_format = cfg.answer_format
        self.prompt_template = cfg.prompt_template
        self.score_timeout_s = cfg.score_timeout_s
        opts = dict(cfg.options)
        try:
            self._dataset = reasoning_gym.create_dataset(cfg.name, size=cfg.n_train, seed=cfg.seed, **opts)
        except (TypeError, ValueError, AssertionError) as e:  # reasoning-gym checks options with assert
            why = str(e).strip() or f"{type(e).__name__} in reasoning-gym's checks"
            raise ValueError(f"config field `task.options` for {cfg.name}: {why}") from None
        opts_key = json.dumps(opts, sort_keys=True)
        train = _generated_entries(cfg.name, cfg.n_train, cfg.seed, opts_key)
        held = _generated_entries(cfg.name, cfg.n_heldout * 3, cfg.seed + 10_007, opts_key)
        # (prompt, answer) → scorer result. reasoning-gym's scorers are pure functions of the
        # entry and the answer, and a sharpening policy repeats its answers, so most verdicts of
        # a run are repeats (countdown's sympy scorer costs ~1 ms each).
        self._verdicts: dict[tuple[str, str], float] = {}
        self.train_pool = [self._problem(e) for e in train]
        seen = {p.prompt for p in self.train_pool}
        self.heldout = [p for p in (self._problem(e) for e in held) if p.prompt not in seen][: cfg.n_heldout]
        if not self.heldout:
            raise ValueError(f"task {cfg.name}: no held-out problem differs from the training pool")
        if self.compact:
            chars = set("".join(p.prompt + p.answer for p in self.train_pool + self.heldout))
            self.alphabet = "".join(sorted(chars | set("0123456789+-*/() =,:")))

    def _problem(self, entry: dict[str, Any]) -> Problem:
        meta = entry["metadata"]
        if not self.compact:
            suffix = "" if self.answer_format == "last_number" else "\nPut the final answer in \\boxed{}."
            prompt = (self._templated(meta) if self.prompt_template else entry["question"]) + suffix
        else:
            prompt = self._compact_prompt(meta)
        return Problem(prompt=prompt, answer=str(entry["answer"]), entry=entry)

    def _compact_prompt(self, meta: dict[str, Any]) -> str:
        return meta["expression"].replace(" ", "") + "="

    def _templated(self, meta: dict[str, Any]) -> str:
        try:
            return self.prompt_template.format(**meta)
        except (KeyError, IndexError, ValueError) as e:
            raise ValueError(
                f"config field `task.prompt_template`: {e!r} is not a field of {self.name}'s entries "
                f"(they have {sorted(meta)})"
            ) from None

    def _check_answer(self, ans: str) -> Verdict | None:
        """A verdict that rejects ``ans`` before the scorer sees it, or None. A comma is read only
        as a thousands separator (``1,000``, never ``-2,8``) and an underscore never: Python's
        ``int`` reads ``-2_8`` as −28, and reasoning-gym drops commas."""
        if len(ans) > 200:
            return Verdict(0.0, ans[:50], "too_long")
        if "_" in ans or ("," in ans and not THOUSANDS.fullmatch(ans.strip())):
            return Verdict(0.0, ans[:50], "wrong", detail="a malformed number")
        return None

    def score(self, problem: Problem, response: str) -> Verdict:
        ans = last_number(response) if self.answer_format == "last_number" else extract_final_answer(response)
        if ans is None:
            return Verdict(0.0, None, "no_answer")
        rejected = self._check_answer(ans)
        if rejected is not None:
            return rejected
        if THOUSANDS.fullmatch(ans.strip()):
            ans = ans.replace(",", "")
        key = (problem.prompt, ans)
        reward = self._verdicts.get(key)
        if reward is None:
            try:
                reward = self._scorer_reward(ans, problem.entry)
            except Exception as e:  # a verifier bug must not stop training (and is not memoised)
                return Verdict(0.0, ans, "verifier_error", detail=repr(e))
            if len(self._verdicts) >= 1_000_000:  # bound the memory of a long run
                self._verdicts.clear()
            self._verdicts[key] = reward
        return Verdict(reward, ans, "ok" if reward >= 1.0 else "wrong")

    def _scorer_reward(self, ans: str, entry: dict[str, Any]) -> float:
        with warnings.catch_warnings():  # sympy compiles "()(3)" and warns 'tuple is not callable'
            warnings.simplefilter("ignore", SyntaxWarning)
            return float(self._dataset.score_answer(ans, entry))

    def wrong_answer(self, problem: Problem, rng: random.Random) -> str:
        try:
            value = int(problem.answer)
        except ValueError:  # a non-integer answer: one near it in its format, else another problem's
            return numeric_wrong_answer(problem.answer, rng) or self.other_answer(problem, rng)
        offset = rng.choice([d for d in range(-9, 10) if d != 0])
        return str(value + offset)


@functools.lru_cache(maxsize=8)
def _generated_entries(name: str, size: int, seed: int, options_json: str) -> tuple[dict[str, Any], ...]:
    """A reasoning-gym dataset's entries, generated once per process: ``compare`` trains several
    runs in each worker, and generating countdown's 2,600 entries takes seconds (sympy)."""
    import reasoning_gym

    return tuple(reasoning_gym.create_dataset(name, size=size, seed=seed, **json.loads(options_json)))


class CountdownTask(ReasoningGymTask):
    """reasoning-gym's countdown: reach the target with every number once. Many expressions are
    correct (order, bracketing, commutativity), so the task has freedom that RL can collapse:
    the warm-up teacher draws uniformly among the correct expressions.

    Compact format: prompt ``"23:4,5,3="``, answer ``"4*5+3"``. reasoning-gym scores 1.0 for a
    correct expression, 0.05 for a wrong one with the right numbers, 0.01 otherwise.
    """

    def _compact_prompt(self, meta: dict[str, Any]) -> str:
        return f"{meta['target']}:{','.join(map(str, meta['numbers']))}="

    def _problem(self, entry: dict[str, Any]) -> Problem:
        problem = super()._problem(entry)
        problem.answer = problem.answer.replace(" ", "")
        return problem

    def _scorer_reward(self, ans: str, entry: dict[str, Any]) -> float:
        fast = countdown_reward(ans, entry["metadata"]["numbers"], entry["metadata"]["target"])
        return fast if fast is not None else super()._scorer_reward(ans, entry)

    def _check_answer(self, ans: str) -> Verdict | None:
        # Decided on the token stream: sympy's parse_expr (inside reasoning-gym's scorer) would run
        # anything but integer arithmetic as Python, and rejoins "* *" into a power.
        tokens = countdown_tokens(ans)
        if tokens is None or "**" in ans:
            return Verdict(0.0, ans[:50], "rejected_chars")
        if forbidden_operator(tokens) is not None:
            # malformed arithmetic ("* *", "//", "*3"): what reasoning-gym gives an answer that does
            # not parse (0.01), without letting sympy rejoin it into a power or a floor division
            return Verdict(0.01, ans[:50], "rejected_operator")
        return super()._check_answer(ans)

    def _expressions(self, problem: Problem) -> tuple[tuple[str, ...], tuple[str, ...]]:
        """(correct, wrong) expressions over the problem's numbers, each sorted."""
        meta = problem.entry["metadata"]
        if len(meta["numbers"]) > 4:
            raise ValueError(
                "task.options.max_numbers: the tiny model's countdown teacher enumerates expressions "
                f"of at most 4 numbers (problem {problem.prompt!r} has {len(meta['numbers'])})"
            )
        ops = "".join(o for o in "+-*/" if o in self._dataset.config.operators)
        return _split_by_value(tuple(meta["numbers"]), ops, meta["target"])

    def teacher_answer(self, problem: Problem, rng: random.Random) -> str:
        correct, _ = self._expressions(problem)
        return rng.choice(correct) if correct else problem.answer

    def wrong_answer(self, problem: Problem, rng: random.Random) -> str:
        return rng.choice(self._expressions(problem)[1])

    def systematic_error(self, problem: Problem, rng: random.Random) -> str | None:
        """On problems that need a subtraction (every correct expression has a ``-``): a correct
        expression with each ``-`` written as ``+``, which uses the right numbers and misses the
        target."""
        correct, _ = self._expressions(problem)
        if not correct or not all("-" in e for e in correct):
            return None
        return rng.choice(correct).replace("-", "+")


@functools.lru_cache(maxsize=65536)
def _split_by_value(numbers: tuple[int, ...], operators: str, target: int) -> tuple[tuple[str, ...], ...]:
    exprs = countdown_expressions(numbers, operators)
    return (
        tuple(sorted(s for s, v in exprs.items() if v == target)),
        tuple(sorted(s for s, v in exprs.items() if v != target)),
    )
