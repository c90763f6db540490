"""Any JSONL or parquet file with prompt / answer columns, scored by exact or numeric match."""

from __future__ import annotations

import json
import random
import warnings
from pathlib import Path
from typing import Any

from entropy_rl.config import TaskConfig
from entropy_rl.files import check_regular
from entropy_rl.scoring.answers import exact_or_numeric_match, extract_final_answer, numeric_wrong_answer
from entropy_rl.scoring.types import Problem, Verdict
from entropy_rl.tasks.base import Task


def read_rows(path: Path) -> list[dict[str, Any]]:
    """Rows of a .jsonl or .parquet file; a line that is not UTF-8, not JSON, nested too deep or
    not an object is an error naming its line."""
    if path.suffix == ".parquet":
        import pyarrow.parquet as pq  # optional: only for parquet input

        return pq.read_table(path).to_pylist()
    rows = []
    with path.open("rb") as f:
        for i, raw in enumerate(f, 1):
            try:
                line = raw.decode("utf-8-sig" if i == 1 else "utf-8")  # a byte-order mark is no data
            except UnicodeDecodeError as e:
                raise ValueError(f"{path}:{i}: not UTF-8 text (byte {e.start} of the line)") from None
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except json.JSONDecodeError as e:
                raise ValueError(f"{path}:{i}: malformed JSON ({e.msg})") from None
            except RecursionError:
                raise ValueError(f"{path}:{i}: JSON nested too deeply") from None
            if not isinstance(row, dict):
                raise ValueError(f"{path}:{i}: each line must be a JSON object")
            rows.append(row)
    return rows


def problems_from_rows(
    rows: list[dict[str, Any]],
    prompt_field: str,
    answer_field: str,
    source: str,
    max_prompt_chars: int = 8192,
    max_answer_chars: int = 1024,
) -> list[Problem]:
    """Validate rows: each needs a non-empty string prompt and a scalar answer, within the length
    bounds (``task.max_prompt_chars``, ``task.max_answer_chars``); errors name the row."""
    out = []
    for i, row in enumerate(rows, 1):
        prompt, answer = row.get(prompt_field), row.get(answer_field)
        if not isinstance(prompt, str) or not prompt.strip():
            raise ValueError(f"{source} row {i}: field `{prompt_field}` missing or not a non-empty string")
        if answer is None or isinstance(answer, dict | list):
            raise ValueError(f"{source} row {i}: field `{answer_field}` missing or not a scalar")
        answer = str(answer)
        if len(prompt) > max_prompt_chars:
            raise ValueError(
                f"{source} row {i}: `{prompt_field}` has {len(prompt)} characters, over task.max_prompt_chars={max_prompt_chars}"
            )
        if len(answer) > max_answer_chars:
            raise ValueError(
                f"{source} row {i}: `{answer_field}` has {len(answer)} characters, over task.max_answer_chars={max_answer_chars}"
            )
        out.append(Problem(prompt=prompt, answer=answer, entry=row))
    return out


def unique_prompts(problems: list[Problem], source: str) -> list[Problem]:
    """One problem per prompt, so that the held-out split is disjoint from the training pool: a
    repeated row is dropped with a warning; one prompt with two different answers is an error
    naming both rows."""
    first: dict[str, tuple[int, Problem]] = {}
    dropped = 0
    for i, p in enumerate(problems, 1):
        if p.prompt in first:
            j, q = first[p.prompt]
            if q.answer != p.answer:
                raise ValueError(
                    f"{source} rows {j} and {i}: the same prompt with two answers ({q.answer[:40]!r}, {p.answer[:40]!r})"
                )
            dropped += 1
            continue
        first[p.prompt] = (i, p)
    if dropped:
        warnings.warn(f"{source}: dropped {dropped} repeated rows (same prompt and answer)", stacklevel=2)
    return [p for _, p in first.values()]


MAX_DATA_BYTES = 4 * 2**30  # a dataset file larger than this is refused before reading


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
        if not path.is_file():
            raise ValueError(f"config field `task.path`: {path} is not a file")
        check_regular(path, MAX_DATA_BYTES)  # not a device or a FIFO (a run's config may name one)
        rows = read_rows(path)
        bounds = {"max_prompt_chars": cfg.max_prompt_chars, "max_answer_chars": cfg.max_answer_chars}
        problems = unique_prompts(
            problems_from_rows(rows, cfg.prompt_field, cfg.answer_field, str(path), **bounds), str(path)
        )
        random.Random(cfg.seed).shuffle(problems)
        if len(problems) < 2:
            raise ValueError(f"{path}: need at least 2 rows for a train / held-out split")
        n_held = min(cfg.n_heldout, len(problems) // 2)
        self.heldout, self.train_pool = problems[:n_held], problems[n_held:][: cfg.n_train]
        # the noisy teacher's wrong answers use digits, signs and the other rows' answers
        chars = set("".join(p.prompt + p.answer for p in problems)) | set("0123456789-./")
        self.alphabet = "".join(sorted(chars))

    def score(self, problem: Problem, response: str) -> Verdict:
        ans = extract_final_answer(response)
        if ans is None:
            return Verdict(0.0, None, "no_answer")
        ok = exact_or_numeric_match(problem.answer, ans)
        return Verdict(float(ok), ans, "ok" if ok else "wrong")

    def wrong_answer(self, problem: Problem, rng: random.Random) -> str:
        return numeric_wrong_answer(problem.answer, rng) or self.other_answer(problem, rng)
