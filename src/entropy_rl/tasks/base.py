"""The task interface: prompts with a seeded train / held-out split, and a verifier giving a
reward in [0, 1]."""

from __future__ import annotations

import random

from entropy_rl.scoring.types import Problem, Verdict


class Task:
    """Base class: subclasses fill ``train_pool`` and ``heldout`` and implement ``score``."""

    name = "task"
    alphabet: str | None = None  # characters of prompts and answers (for char-level tokenizers)
    score_timeout_s: float | None = None  # in-process scoring limit applied by evaluation.safe_score
    train_pool: list[Problem]
    rl_subset: int | None = None  # RL draws from the first this many training problems (None = all)
    heldout: list[Problem]

    def train_batch(self, step: int, n: int, seed: int) -> list[Problem]:
        """The ``n`` problems of RL step ``step``: a pure function of (seed, step), so resuming a
        run needs no sampler state."""
        pool = self.train_pool[: self.rl_subset] if self.rl_subset else self.train_pool
        rng = random.Random(seed * 1_000_003 + step)
        return [pool[rng.randrange(len(pool))] for _ in range(n)]

    def score(self, problem: Problem, response: str) -> Verdict:
        raise NotImplementedError

    def teacher_answer(self, problem: Problem, rng: random.Random) -> str:
        """A correct answer for the tiny model's warm-up teacher; tasks with several correct
        answers draw one at random, so the warmed-up policy spreads over them."""
        return problem.answer

    def wrong_answer(self, problem: Problem, rng: random.Random) -> str:
        """A plausible wrong answer, for the tiny model's noisy warm-up teacher: by default another
        training problem's answer."""
        return self.other_answer(problem, rng)

    def systematic_error(self, problem: Problem, rng: random.Random) -> str | None:
        """The tiny model's warm-up teacher's *consistent* mistake on ``problem``, or None where the
        task has no such rule or it does not apply. A teacher that makes it often leaves the
        initial policy's most likely answer wrong on a whole class of problems, while the right
        one keeps some probability: something RL can learn that no temperature gives."""
        return None

    def other_answer(self, problem: Problem, rng: random.Random) -> str:
        """The answer of a random other training problem that differs from ``problem``'s (its own
        when every answer is the same)."""
        for _ in range(20):
            other = self.train_pool[rng.randrange(len(self.train_pool))].answer
            if other != problem.answer:
                return other
        return problem.answer
