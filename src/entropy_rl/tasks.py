"""Tasks: prompts with a seeded train / held-out split, and a verifier giving a reward in [0, 1].

Model output is untrusted input. No verifier here executes it: answers are extracted as text,
filtered to the characters their format needs, and compared as strings or numbers. Countdown
answers are parsed with ``ast`` and evaluated as exact fractions (``countdown_reward``);
reasoning-gym's scorer (which uses sympy's ``parse_expr`` and so could run Python) only sees
the odd rest, and only strings made of digits, ``+ - * /``, parentheses and spaces, no ``**``.
"""

from __future__ import annotations

import ast
import functools
import itertools
import json
import operator
import random
import re
import warnings
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import Any

from entropy_rl.config import TaskConfig


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


_BOXED = "\\boxed{"


def last_boxed(text: str, max_len: int = 10_000) -> str | None:
    """Content of the last ``\\boxed{...}`` (balanced braces), or None."""
    start = text.rfind(_BOXED)
    if start < 0:
        return None
    i = start + len(_BOXED)
    depth = 1
    for j in range(i, min(len(text), i + max_len)):
        c = text[j]
        if c == "{":
            depth += 1
        elif c == "}":
            depth -= 1
            if depth == 0:
                return text[i:j]
    return None


def extract_final_answer(text: str) -> str | None:
    """The scored answer: the last ``\\boxed{}``, else GSM8K's ``#### x``, else ``Answer: x``,
    else the whole stripped text when it is a single short line (the compact format).
    """
    boxed = last_boxed(text)
    if boxed is not None:
        return boxed.strip()
    m = re.findall(r"####\s*([^\n]+)", text)
    if m:
        return m[-1].strip()
    m = re.findall(r"[Aa]nswer\s*[:：]\s*([^\n]+)", text)
    if m:
        return m[-1].strip().rstrip(".")
    stripped = text.strip()
    if stripped and "\n" not in stripped and len(stripped) <= 64:
        return stripped
    return None


def _number(s: str) -> Fraction | None:
    s = s.strip().replace(",", "").rstrip(".").replace("$", "")
    if len(s) > 64:
        return None
    try:
        if re.fullmatch(r"[-+]?\d+/\d+", s):
            return Fraction(s)
        if re.fullmatch(r"[-+]?(\d+\.?\d*|\.\d+)", s):
            return Fraction(s)
    except (ValueError, ZeroDivisionError):
        return None
    return None


def exact_or_numeric_match(gold: str, pred: str) -> bool:
    """Cheap match: equal after whitespace removal, or equal as exact rational numbers."""
    if gold.replace(" ", "") == pred.replace(" ", ""):
        return True
    g, p = _number(gold), _number(pred)
    return g is not None and p is not None and g == p


class Task:
    """Base class: subclasses fill ``train_pool`` and ``heldout`` and implement ``score``."""

    name = "task"
    alphabet: str | None = None  # characters of prompts and answers (for char-level tokenizers)
    score_timeout_s: float | None = None  # in-process scoring limit applied by evaluation.safe_score
    train_pool: list[Problem]
    heldout: list[Problem]

    def train_batch(self, step: int, n: int, seed: int) -> list[Problem]:
        """The ``n`` problems of RL step ``step``: a pure function of (seed, step), so resuming a
        run needs no sampler state."""
        rng = random.Random(seed * 1_000_003 + step)
        return [self.train_pool[rng.randrange(len(self.train_pool))] for _ in range(n)]

    def score(self, problem: Problem, response: str) -> Verdict:
        raise NotImplementedError

    def teacher_answer(self, problem: Problem, rng: random.Random) -> str:
        """A correct answer for the tiny model's warm-up teacher; tasks with several correct
        answers draw one at random, so the warmed-up policy spreads over them."""
        return problem.answer

    def wrong_answer(self, problem: Problem, rng: random.Random) -> str:
        """A plausible wrong answer, for the tiny model's noisy warm-up teacher."""
        raise NotImplementedError(f"{self.name} has no noisy-teacher answers")


class ReasoningGymTask(Task):
    """A reasoning-gym generator with a seeded, disjoint train / held-out split."""

    def __init__(self, cfg: TaskConfig):
        import reasoning_gym

        if cfg.name == "countdown" and not isinstance(self, CountdownTask):
            raise ValueError("countdown needs CountdownTask (use make_task): it filters answers before sympy")
        self.name = cfg.name
        self.compact = cfg.compact
        self.score_timeout_s = cfg.score_timeout_s
        opts = dict(cfg.options)
        try:
            self._dataset = reasoning_gym.create_dataset(cfg.name, size=cfg.n_train, seed=cfg.seed, **opts)
        except TypeError as e:
            raise ValueError(f"task.options for {cfg.name}: {e}") from None
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
            prompt = entry["question"] + "\nPut the final answer in \\boxed{}."
        else:
            prompt = self._compact_prompt(meta)
        return Problem(prompt=prompt, answer=str(entry["answer"]), entry=entry)

    def _compact_prompt(self, meta: dict[str, Any]) -> str:
        return meta["expression"].replace(" ", "") + "="

    def _check_answer(self, ans: str) -> Verdict | None:
        """A verdict that rejects ``ans`` before the scorer sees it, or None."""
        return Verdict(0.0, ans[:50], "too_long") if len(ans) > 200 else None

    def score(self, problem: Problem, response: str) -> Verdict:
        ans = extract_final_answer(response)
        if ans is None:
            return Verdict(0.0, None, "no_answer")
        rejected = self._check_answer(ans)
        if rejected is not None:
            return rejected
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
        except ValueError:
            raise NotImplementedError(f"{self.name}: noisy teacher needs integer answers") from None
        offset = rng.choice([d for d in range(-9, 10) if d != 0])
        return str(value + offset)


@functools.lru_cache(maxsize=8)
def _generated_entries(name: str, size: int, seed: int, options_json: str) -> tuple[dict[str, Any], ...]:
    """A reasoning-gym dataset's entries, generated once per process: ``compare`` trains several
    runs in each worker, and generating countdown's 2,600 entries takes seconds (sympy)."""
    import reasoning_gym

    return tuple(reasoning_gym.create_dataset(name, size=size, seed=seed, **json.loads(options_json)))


_PREC = {"+": 1, "-": 1, "*": 2, "/": 2}
_APPLY = {"+": operator.add, "-": operator.sub, "*": operator.mul, "/": operator.truediv}


def countdown_expressions(numbers: tuple[int, ...], operators: str = "+-*") -> dict[str, Fraction]:
    """Every expression that uses each of ``numbers`` exactly once (any order, any bracketing,
    binary ``operators``, minimal parentheses) → its exact value. Division only where it is
    defined. Built from our own numbers, never from model text. Size grows fast: keep n ≤ 4.
    Not cached itself (callers may change the dict); ``_split_by_value`` caches what warm-up needs.
    """
    if len(numbers) > 4:
        raise ValueError("countdown_expressions enumerates at most 4 numbers")

    def build(idx: tuple[int, ...]) -> dict[str, tuple[Fraction, int]]:
        if len(idx) == 1:
            return {str(numbers[idx[0]]): (Fraction(numbers[idx[0]]), 3)}
        out: dict[str, tuple[Fraction, int]] = {}
        for r in range(1, len(idx)):
            for left_idx in itertools.combinations(idx, r):
                right_idx = tuple(i for i in idx if i not in left_idx)
                lefts, rights = build(left_idx), build(right_idx)
                for op in operators:
                    p = _PREC[op]
                    for ls, (lv, lp) in lefts.items():
                        for rs, (rv, rp) in rights.items():
                            if op == "/" and rv == 0:
                                continue
                            v = _APPLY[op](lv, rv)
                            left = ls if lp >= p else f"({ls})"
                            # a-(b+c), a/(b*c): a right operand of equal precedence needs brackets
                            right = rs if rp > p or (rp == p and op in "+*") else f"({rs})"
                            out.setdefault(left + op + right, (v, p))
        return out

    return {s: v for s, (v, _) in build(tuple(range(len(numbers)))).items()}


# the only characters a countdown answer may hold (what sympy's parse_expr may ever see)
_COUNTDOWN_CHARS = re.compile(r"[0-9+\-*/() ]+")
_ARITH_OPS = {ast.Add: operator.add, ast.Sub: operator.sub, ast.Mult: operator.mul, ast.Div: operator.truediv}


def _exact_value(node: ast.AST) -> Fraction | None:
    """Exact value of an AST built only of integer literals, unary ±, and binary + - * /; None
    for anything else (names, calls, tuples, powers, division by zero...). Nothing is executed."""
    if isinstance(node, ast.Constant) and type(node.value) is int:
        return Fraction(node.value)
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub | ast.UAdd):
        v = _exact_value(node.operand)
        return None if v is None else (-v if isinstance(node.op, ast.USub) else v)
    if isinstance(node, ast.BinOp) and type(node.op) in _ARITH_OPS:
        left, right = _exact_value(node.left), _exact_value(node.right)
        if left is None or right is None or (isinstance(node.op, ast.Div) and right == 0):
            return None
        return _ARITH_OPS[type(node.op)](left, right)
    return None


def countdown_reward(ans: str, numbers: list[int], target: int) -> float | None:
    """reasoning-gym's countdown score of ``ans`` without sympy, or None where only its scorer can
    say (input outside plain integer arithmetic: leading zeros, empty brackets, ``2(3)``, x/0...).

    Same rules as ``CountdownDataset.score_answer``: 1.0 when the expression uses exactly the given
    numbers and its value is ``np.isclose`` to the target, else 0.05. Parsed with ``ast`` (Python's
    grammar, which sympy's ``parse_expr`` also tokenises with) and evaluated as exact fractions, as
    sympy does, but without sympy's cost; ``tests/test_tasks.py`` checks that both agree on a large
    random sample of answers.
    """
    if len(ans) > 200 or not _COUNTDOWN_CHARS.fullmatch(ans):
        return None
    try:
        with warnings.catch_warnings():  # "(1)(2)" warns 'int is not callable' while parsing
            warnings.simplefilter("ignore", SyntaxWarning)
            tree = ast.parse(ans, mode="eval")
    except SyntaxError:
        return None
    value = _exact_value(tree.body)
    if value is None:
        return None
    if sorted(int(m) for m in re.findall(r"\d+", ans)) != sorted(numbers):
        return 0.05
    try:
        x = float(value)
    except OverflowError:
        return None
    # np.isclose(x, target, atol=1e-6) with its default rtol=1e-5
    return 1.0 if abs(x - target) <= 1e-6 + 1e-5 * abs(target) else 0.05


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
        if not _COUNTDOWN_CHARS.fullmatch(ans) or "**" in ans:
            # sympy's parse_expr (inside reasoning-gym's scorer) would run anything else as Python
            return Verdict(0.0, ans[:50], "rejected_chars")
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


@functools.lru_cache(maxsize=65536)
def _split_by_value(numbers: tuple[int, ...], operators: str, target: int) -> tuple[tuple[str, ...], ...]:
    exprs = countdown_expressions(numbers, operators)
    return (
        tuple(sorted(s for s, v in exprs.items() if v == target)),
        tuple(sorted(s for s, v in exprs.items() if v != target)),
    )


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


def make_task(cfg: TaskConfig) -> Task:
    """The task ``cfg`` names, scored by ``cfg.reward_fn`` when one is given."""
    task = _builtin_task(cfg)
    if cfg.reward_fn:
        from entropy_rl.custom_reward import with_reward_fn

        return with_reward_fn(task, cfg.reward_fn)
    return task


def _builtin_task(cfg: TaskConfig) -> Task:
    if cfg.name == "jsonl":
        return JsonlTask(cfg)
    if cfg.name in ("gsm8k", "math", "math500"):
        from entropy_rl.math_data import MathTask

        return MathTask(cfg)
    if cfg.name == "countdown":
        return CountdownTask(cfg)
    return ReasoningGymTask(cfg)
