"""Answer extraction and cheap matching: text only, nothing is executed."""

from __future__ import annotations

import re
from fractions import Fraction

_BOXED = "\\boxed"
# ``\boxed 2``: LaTeX's brace-less argument, as some MATH solutions write it
_BARE_ARGUMENT = re.compile(r"\s+([^\s${}]+)")


def last_boxed(text: str, max_len: int = 10_000) -> str | None:
    """Content of the last ``\\boxed{...}`` (balanced braces) or ``\\boxed x`` (one bare
    argument), or None. A ``\\boxed`` without an argument is passed over (the last 8 are
    tried, so that a crafted answer full of them stays cheap)."""
    end = len(text)
    for _ in range(8):
        start = text.rfind(_BOXED, 0, end)
        if start < 0:
            break
        found = _boxed_argument(text, start + len(_BOXED), max_len)
        if found is not None:
            return found
        end = start
    return None


def _boxed_argument(text: str, i: int, max_len: int) -> str | None:
    if not text.startswith("{", i):
        m = _BARE_ARGUMENT.match(text, i)
        return m.group(1).rstrip(".,;") if m else None
    depth = 1
    for j in range(i + 1, min(len(text), i + 1 + max_len)):
        c = text[j]
        if c == "{":
            depth += 1
        elif c == "}":
            depth -= 1
            if depth == 0:
                return text[i + 1 : j]
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


_LAST_NUMBER = re.compile(r"-?\d+(?:\.\d+)?")


def last_number(text: str) -> str | None:
    """The last number in ``text`` (an integer or a decimal, with its sign), or None: the answer
    of an instruct model that states a result in prose ("12 + 25 = 37.")."""
    found = _LAST_NUMBER.findall(text[-2000:])
    return found[-1] if found else None


# a comma is read only as a thousands separator: "1,000" and "12,345.5", never "1,2" or "-2,1"
THOUSANDS = re.compile(r"[-+]?\d{1,3}(,\d{3})+(\.\d*)?")


def _number(s: str) -> Fraction | None:
    """An exact rational for a plain number (integer, decimal, a/b), else None."""
    s = s.strip().rstrip(".")
    for fence in ("$$", "$"):  # one pair of math delimiters around the number, nothing inside
        if len(s) > 2 * len(fence) and s.startswith(fence) and s.endswith(fence):
            s = s[len(fence) : -len(fence)].strip()
            break
    if len(s) > 64 or "$" in s:
        return None
    if "," in s:
        if not THOUSANDS.fullmatch(s):
            return None
        s = s.replace(",", "")
    try:
        if re.fullmatch(r"[-+]?\d+/\d+", s):
            return Fraction(s)
        if re.fullmatch(r"[-+]?(\d+\.?\d*|\.\d+)", s):
            return Fraction(s)
    except (ValueError, ZeroDivisionError):
        return None
    return None


def _squash(s: str) -> str:
    """Whitespace removed except between two letters or digits: ``x + 1`` is ``x+1``, ``1 2`` is
    not ``12``."""
    s = re.sub(r"\s+", " ", s.strip())
    return re.sub(r"(?<![0-9A-Za-z]) | (?![0-9A-Za-z])", "", s)


def exact_or_numeric_match(gold: str, pred: str) -> bool:
    """Cheap match: equal once whitespace that separates nothing is removed, or equal as exact
    rational numbers."""
    if _squash(gold) == _squash(pred):
        return True
    g, p = _number(gold), _number(pred)
    return g is not None and p is not None and g == p


def numeric_wrong_answer(answer: str, rng) -> str | None:
    """A plausible wrong answer near a numeric one, in its own format: an integer ± 1..9, a
    decimal with its last digit moved, a fraction with its numerator moved; None otherwise."""
    s = answer.strip()
    offset = rng.choice([d for d in range(-9, 10) if d != 0])
    if re.fullmatch(r"[-+]?\d+", s):
        return str(int(s) + offset)
    m = re.fullmatch(r"([-+]?\d*)\.(\d+)", s)
    if m:
        scale = 10 ** len(m.group(2))
        value = round(float(s) * scale) + offset
        sign = "-" if value < 0 else ""
        whole, frac = divmod(abs(value), scale)
        return f"{sign}{whole}.{frac:0{len(m.group(2))}d}"
    m = re.fullmatch(r"([-+]?\d+)/(\d+)", s)
    if m:
        return f"{int(m.group(1)) + offset}/{m.group(2)}"
    return None



# Thousands separators LaTeX and typography use between digit groups: "1\,000", "1{,}000",
# "1 000" with a thin space; removed before any comparison.
_THIN_THOUSANDS = re.compile(r"(?<=\d)(?:\\,|\\!|\\ |\\thinspace|~|\{,\}|\u2009|\u202f)(?=\d{3}(?!\d))")
# relations that make an answer a statement rather than a value
_APPROX = re.compile(
    r"\\(?:approx|approxeq|simeq|sim|thicksim|thickapprox|backsim|backsimeq|eqsim|fallingdotseq|"
    r"risingdotseq|doteq|doteqdot|cong|asymp)(?![A-Za-z])|[≈≃≊≅≒≓≐∼]"
)
_RELATION = re.compile(r"\\(?:neq|ne|leq|geq|le|ge|lt|gt|equiv)(?![A-Za-z])|[<>≠≤≥≡]")
# what may stand left of "=" in a final answer: a variable, maybe subscripted or applied ("x",
# "x_1", "\theta", "f(2)"); an expression left of "=" ("1 = 3", "2+2=5") is no final answer
_LHS = re.compile(r"\\?[A-Za-z]+(?:_\{?[A-Za-z0-9]+\}?)?(?:\([^=()]*\))?")
_PERCENT = re.compile(r"\\%|%|\\text\{\s*\\?%\s*\}|\\percent(?![A-Za-z])")


def without_thousands(s: str) -> str:
    """``1\\,000``, ``1{,}000`` and thin-space groups as ``1000``."""
    return _THIN_THOUSANDS.sub("", s)


def prepare_answer(gold: str, pred: str, percent_as_fraction: bool = False) -> tuple[str, str, str | None]:
    """(gold, answer, why the answer is wrong without verifying it, or None), text only.

    - thousands separators between digit groups are removed (``1\\,000`` is 1000);
    - unless the reference is itself a relation, an approximation (``3 \\approx 5``), an
      inequality, or an equation whose left side is not a variable (``1 = 3``, ``2+2=5``) is no
      final answer; ``x = 3`` and ``f(2) = 3`` give their right side;
    - a percent sign is dropped (``50\\%`` is 50), unless ``percent_as_fraction`` (the task says
      percentages are fractions: ``50\\%`` is 0.5)."""
    gold, pred = without_thousands(gold), without_thousands(pred)
    if not percent_as_fraction:
        gold, pred = _PERCENT.sub("", gold).strip(), _PERCENT.sub("", pred).strip()
    sides = [_number(side) for side in _APPROX.sub("=", pred).split("=")]
    if len(sides) > 1 and None not in sides and len(set(sides)) > 1:
        return gold, pred, "an equation or approximation between numbers that differ is not an answer"
    if "=" in gold or _APPROX.search(gold) or _RELATION.search(gold):
        return gold, pred, None  # an equation or relation asked for: math-verify compares them
    if _APPROX.search(pred):
        return gold, pred, "an approximation is not a final answer"
    if _RELATION.search(pred):
        return gold, pred, "an inequality is not a final answer"
    if "=" in pred:
        parts = pred.split("=")
        if not _LHS.fullmatch(parts[0].strip()) or not parts[-1].strip():
            return gold, pred, "an equation whose left side is not a variable is not a final answer"
        pred = parts[-1].strip()
    return gold, pred, None
