"""Countdown expressions: enumerate them from our own numbers, and score a model's answer exactly
with ``ast`` (integer literals and + - * / only), so sympy need not see it. Nothing is executed."""

from __future__ import annotations

import ast
import itertools
import operator
import re
import warnings
from fractions import Fraction

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
_TOKEN = re.compile(r" *(\d+|[-+*/()])")


def countdown_tokens(ans: str) -> list[str] | None:
    """The answer as integer and operator tokens (spaces between them allowed); None when it
    holds anything else."""
    tokens, pos, end = [], 0, len(ans.rstrip(" "))
    while pos < end:
        m = _TOKEN.match(ans, pos)
        if m is None:
            return None
        tokens.append(m.group(1))
        pos = m.end()
    return tokens


def forbidden_operator(tokens: list[str]) -> str | None:
    """An operator countdown does not have, as the token stream reads it: ``*`` or ``/`` right after
    another operator or an opening bracket, which sympy would join into a power (``* *``) or a
    floor division (``/ /``), whatever the spaces. Returns the offending pair, or None."""
    prev = "("  # the start of the expression: a binary operator cannot open it
    for tok in tokens:
        if tok in "*/" and prev in "+-*/(":
            return f"{prev}{tok}"
        prev = tok
    return None


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
