"""Answer extraction and cheap matching: text only, nothing is executed."""

from __future__ import annotations

import re
from fractions import Fraction

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
