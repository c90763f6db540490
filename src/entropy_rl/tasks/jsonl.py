"""Any JSONL or parquet file with prompt / answer columns, scored by exact or numeric match."""

from __future__ import annotations

import json
import random
from pathlib import Path
from typing import Any

from entropy_rl.config import TaskConfig
from entropy_rl.scoring.answers import _number, exact_or_numeric_match, extract_final_answer
from entropy_rl.scoring.types import Problem, Verdict
from entropy_rl.tasks.base import Task


def read_rows(path: Path) -> list[dict[str, Any]]:
    """Rows of a .jsonl or .parquet file; a malformed JSON line names its line number."""
    if path.suffix == ".parquet":
        import pyarrow.parquet as pq  # optional: only for parquet input

        return pq.read_table(path).to_pylist()
    rows = []
    with path.open() as f:
        for i, line in enumerate(f, 1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except json.JSONDecodeError as e:
                raise ValueError(f"{path}:{i}: malformed JSON ({e.msg})") from None
            if not isinstance(row, dict):
                raise ValueError(f"{path}:{i}: each line must be a JSON object")
            rows.append(row)
    return rows


def problems_from_rows(
    rows: list[dict[str, Any]], prompt_field: str, answer_field: str, source: str
) -> list[Problem]:
    """Validate rows: each needs a non-empty string prompt and an answer; errors name the row."""
    out = []
    for i, row in enumerate(rows, 1):
        prompt, answer = row.get(prompt_field), row.get(answer_field)
        if not isinstance(prompt, str) or not prompt.strip():
            raise ValueError(f"{source} row {i}: field `{prompt_field}` missing or not a non-empty string")
        if answer is None or isinstance(answer, dict | list):
            raise ValueError(f"{source} row {i}: field `{answer_field}` missing or not a scalar")
        out.append(Problem(prompt=prompt, answer=str(answer), entry=row))
    return out


class JsonlTask(Task):
    """Any JSONL/parquet with prompt/answer columns; the last ``n_heldout`` rows (after a seeded
    shuffle) are held out. Scored by exact or numeric match of the extracted final answer."""

    def __init__(self, cfg: TaskConfig):
        if not cfg.path:
            raise ValueError("config field `task.path` is required for task.name=jsonl")
        path = Path(cfg.path)
        if not path.exists():
            raise ValueError(f"config field `task.path`: {path} does not exist")
        self.name = path.stem
        self.score_timeout_s = cfg.score_timeout_s
        problems = problems_from_rows(read_rows(path), cfg.prompt_field, cfg.answer_field, str(path))
        random.Random(cfg.seed).shuffle(problems)
        if len(problems) < 2:
            raise ValueError(f"{path}: need at least 2 rows for a train / held-out split")
        n_held = min(cfg.n_heldout, len(problems) // 2)
        self.heldout, self.train_pool = problems[:n_held], problems[n_held:][: cfg.n_train]
        self.alphabet = "".join(sorted(set("".join(p.prompt + p.answer for p in problems))))

    def score(self, problem: Problem, response: str) -> Verdict:
        ans = extract_final_answer(response)
        if ans is None:
            return Verdict(0.0, None, "no_answer")
        ok = exact_or_numeric_match(problem.answer, ans)
        return Verdict(float(ok), ans, "ok" if ok else "wrong")

    def wrong_answer(self, problem: Problem, rng: random.Random) -> str:
        num = _number(problem.answer)
        if num is None or num.denominator != 1:
            raise NotImplementedError("noisy teacher needs integer answers")
        return str(int(num) + rng.choice([d for d in range(-9, 10) if d != 0]))
