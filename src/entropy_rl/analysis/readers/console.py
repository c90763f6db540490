"""verl's and TRL's consoles (also inside W&B's ``files/output.log``)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

from entropy_rl.analysis.readers.base import (
    MAX_STEP,
    LogFormatError,
    _merge,
    parse_number,
)

# Every pattern below is linear in what it reads: character classes that cannot run past the
# next delimiter, possessive runs, and bounded repeats (a hostile line costs its length, no more).
# An OSC sequence (`ESC ] ... BEL` or `ESC ] ... ESC \`) ends at its terminator, else at the
# next escape or the line's end.
_ANSI = re.compile(r"\x1b\[[0-9;?]{0,64}+[A-Za-z]?|\x1b\][^\x07\x1b\n]*+(?:\x07|\x1b\\)?")
_RAY_PREFIX = re.compile(r"^\s*+\([\w.\-]{1,200}+ pid=\d{1,12}+(?:, ip=[\d.:a-fA-F]{1,64}+)?\)\s?")
# at the line's start or after a space (a logger's timestamp, `[rank0]:`), never inside a key
# such as `training/global_step:N`
_VERL_STEP = re.compile(r"(?:^|(?<=\s))step:(\d+) - (\S+:.*)")
_VERL_HINT = re.compile(r"step:\d")
_INITIAL_VAL = "Initial validation metrics:"
_STRING_TOKENS = re.compile(r'\\.|"|[^"\\]++|\\$')
_PAIR = re.compile(r"'([^'\n]{1,300})':\s{0,8}+((?:np\.\w{1,20}+\()?'?[-+\w.]{1,100}+'?\)?)")
_TQDM_STEP = re.compile(r"\|\s{0,100}+(\d{1,16})/(\d{1,16})\s{0,100}+\[")
_DICT = re.compile(r"\{'[^{}\n]{1,200000}+\}")


def _clean_line(line: str) -> str:
    """A line without ANSI codes and Ray's ``(name pid=..)`` prefix (tqdm's ``\\r`` kept)."""
    return _RAY_PREFIX.sub("", _ANSI.sub("", line))


def _step_lines(text: str) -> Iterator[tuple[int, re.Match]]:
    """(line number, match) of each verl ``step:N - key:value`` line, wherever it is in the file:
    only lines holding ``step:<digit>`` are cleaned and matched, each once."""
    line_end, line_no, counted_to = -1, 0, 0
    for hint in _VERL_HINT.finditer(text):
        if hint.start() <= line_end:
            continue  # a line is read once, whatever number of `step:` it holds
        start = text.rfind("\n", 0, hint.start()) + 1
        line_end = text.find("\n", hint.end())
        line_end = len(text) if line_end < 0 else line_end
        line_no += text.count("\n", counted_to, start)
        counted_to = start
        m = _VERL_STEP.search(_clean_line(text[start:line_end]).rstrip("\r"))
        if m:
            yield line_no + 1, m


def looks_like_verl_console(text: str) -> bool:
    return next(_step_lines(text), None) is not None


def looks_like_trl_console(text: str) -> bool:
    return any(_is_trl_metrics(d.group(0)) for d in _DICT.finditer(text))


def _is_trl_metrics(snippet: str) -> bool:
    return any(f"'{k}'" in snippet for k in ("entropy", "reward", "loss", "eval_reward", "eval_loss"))


def _string_literals(line: str) -> list[str]:
    """The contents of a line's ``"..."`` literals (escapes kept as written), found in one pass: a
    quote that is never closed cannot make a scan restart at every later quote."""
    out, current = [], None
    for tok in _STRING_TOKENS.findall(line):
        if tok == '"':
            if current is None:
                current = []
            else:
                out.append("".join(current))
                current = None
        elif current is not None:
            current.append(tok)
    return out


def _fields(body: str) -> dict:
    """``key:value - key:value`` as numbers; fields that are not numbers are left out."""
    out = {}
    for part in body.split(" - "):
        key, sep, value = part.rpartition(":")
        if not sep or not key:
            continue
        v = parse_number(value)
        if v is not None:
            out[key.strip()] = v
    return out


def _initial_validation(lines: list[str], start: int) -> dict:
    """verl's ``Initial validation metrics: {...}``, printed on one line or, through pprint, as a
    parenthesised run of string literals over several lines; keys get verl's ``val/`` prefix
    where the print left it out (old verl)."""
    parts: list[str] = []
    for line in lines[start : start + 4000]:
        pieces = _string_literals(line)
        parts.append("".join(pieces) if pieces else line)
        if "}" in parts[-1]:
            break
    text = "".join(parts)
    out = {}
    for key, value in _PAIR.findall(text):
        v = parse_number(value)
        if v is not None:
            out[key if key.startswith("val") else f"val/{key}"] = v
    return out


def read_verl_console(path: Path, text: str, complete_only: bool = False) -> tuple[list[dict], list[str]]:
    """verl's console: one ``step:N - key:value - ...`` line per step (model output that happens to
    contain ``step:`` does not match), and the initial validation counted once (from the
    ``step:0`` line when there is one, else from the ``Initial validation metrics`` print). Only
    the lines that hold ``step:N`` are cleaned and parsed, one at a time."""
    if complete_only:
        text = text[: text.rfind("\n") + 1]
    notes: list[str] = []
    rows = _merge(path, "verl-console", _verl_step_lines(path, text), notes)
    if rows[0]["step"] != 0 or not any(k.startswith("val") for k in rows[0]):
        initial = _initial_validation_of(text)
        if initial:
            if rows[0]["step"] != 0:
                rows.insert(0, {"step": 0})
            rows[0].update(initial)
    return rows, notes


def _verl_step_lines(path: Path, text: str) -> Iterator[tuple[int, dict]]:
    for line_no, m in _step_lines(text):
        digits = m.group(1)
        if len(digits) > 16 or int(digits) >= MAX_STEP:
            raise LogFormatError(f"{path}:{line_no}: step `{digits[:20]}` is not a step number (over 2**53)")
        yield int(digits), _fields(m.group(2))


def _initial_validation_of(text: str, tries: int = 5) -> dict:
    """The first non-empty ``Initial validation metrics`` print that is not inside a step line."""
    at = -1
    for _ in range(tries):
        at = text.find(_INITIAL_VAL, at + 1)
        if at < 0:
            return {}
        start = text.rfind("\n", 0, at) + 1
        chunk = text[start : start + 4 * 2**20].split("\n", 4000)[:4000]
        lines = [_clean_line(line).rstrip("\r") for line in chunk]
        if _VERL_STEP.search(lines[0]):
            continue
        found = _initial_validation(lines, 0)
        if found:
            return found
    return {}


def read_trl_console(path: Path, text: str, complete_only: bool = False) -> tuple[list[dict], list[str]]:
    """TRL's console: ``{'loss': '0.1', 'entropy': '0.3', ...}`` dictionaries printed inside tqdm
    output (values often strings). A row's step is the progress bar's count just before it;
    without a progress bar, rows are numbered 1, 2, ... (noted)."""
    if complete_only:
        text = text[: text.rfind("\n") + 1]
    found: list[tuple[int, dict]] = []
    notes: list[str] = []
    numbered = False
    last_end, step = 0, None
    for m in _DICT.finditer(text):
        snippet = m.group(0)
        if not _is_trl_metrics(snippet) or "'train_runtime'" in snippet:
            continue
        bars = _TQDM_STEP.findall(text, last_end, m.start())
        last_end = m.end()
        metrics = {k: v for k, v in ((k, parse_number(v)) for k, v in _PAIR.findall(snippet)) if v is not None}
        if "step" in metrics:
            value = metrics.pop("step")
            if not (value.is_integer() and 0 <= value < MAX_STEP):
                raise LogFormatError(f"{path}: a row's `step` {value:g} is not a step number ({snippet[:60]} ...)")
            step = int(value)
        elif bars:
            step = int(bars[-1][0])
        else:
            step, numbered = len(found) + 1, True
        found.append((step, metrics))
    if numbered:
        notes.append("no progress bar before some rows: those steps are the rows' order")
    return _merge(path, "trl-console", found, notes), notes
