"""Readers of other engines' training logs: verl (console, W&B ``output.log``, its ``file`` logger
JSONL), TRL (console, ``trainer_state.json``), OpenRLHF's metric names, TensorBoard event files
and W&B (offline run folders, CSV exports). Each gives the same thing: a :class:`Log` of rows like
``metrics.jsonl``'s (``step`` and every metric under its own name), with three columns added
where the log has them:

- ``entropy``: the policy's token entropy on the training batch;
- ``reward``: the training score (verl's ``critic/score/mean``, TRL's ``reward``);
- ``eval_accuracy``: the held-out score, mean over data sources (verl's ``val-core``, else
  ``val-aux/*/score|reward/mean@N``, else ``val/test_score``; an accuracy or a score in [-1, 1]).

``Log.keys`` says which logged key each came from. Everything read is data: values are parsed by
regular expressions and ``json``/``csv``, never evaluated.
"""

from __future__ import annotations

import csv
import io
import json
import math
import re
import zlib
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from entropy_rl.files import (
    MAX_TEXT_BYTES,
    CheckpointError,
    check_row,
    finite,
    read_bytes,
    read_json,
    read_text,
)


class LogFormatError(CheckpointError):
    """A file no reader recognises, or one a reader cannot use (one line, naming the file)."""


@dataclass
class Log:
    source: str
    """The detected format, e.g. ``verl-console``, ``trl-trainer-state``, ``wandb-csv``."""
    rows: list[dict]
    keys: dict[str, str] = field(default_factory=dict)
    """Added column -> the logged key(s) it was taken from (``eval_accuracy`` may be a mean)."""
    notes: list[str] = field(default_factory=list)
    """What the reader did that a user should know (repeated steps replaced, steps numbered by row)."""

    @property
    def performance_key(self) -> str:
        """The held-out score where some step has it with an entropy, else the training score."""
        paired = any(r.get("eval_accuracy") is not None and r.get("entropy") is not None for r in self.rows)
        return "eval_accuracy" if paired else "reward"


# ---------------------------------------------------------------------------------------------
# key names

# Entropy of the policy on the training batch, most specific first. verl logged it as
# `actor/entropy_loss` until mid-2025; OpenRLHF's `entropy_loss` holds the entropy too.
ENTROPY_KEYS = (
    "actor/entropy",
    "actor/entropy_loss",
    "entropy",
    "train/entropy",
    "policy_entropy",
    "train/policy_entropy",
    "entropy_loss",
    "train/entropy_loss",
)
# Training score: verl, TRL (console and trainer_state), TRL through W&B/TensorBoard, OpenRLHF.
REWARD_KEYS = ("critic/score/mean", "reward", "train/reward", "train/reward_mean")

# Held-out score families, preferred first; each pattern's group 1 is the data source.
_VAL_FAMILIES = (
    ("val-core", re.compile(r"val-core/(.+)/(?:acc|reward|score)/mean@(\d{1,9})")),
    ("val-aux score", re.compile(r"val-aux/(.+)/score/mean@(\d{1,9})")),
    ("val-aux reward", re.compile(r"val-aux/(.+)/reward/mean@(\d{1,9})")),
    ("val/test_score", re.compile(r"val/test_score/(.+)()")),
    ("TRL eval", re.compile(r"(?:eval_|eval/)(reward)()")),
    ("OpenRLHF eval", re.compile(r"eval/(?:(.+)_)?pass1()")),
)
# Keys of supervised fine-tuning logs: a log with these and entropy but no reward is not RL.
_SFT_KEYS = ("mean_token_accuracy", "train/mean_token_accuracy")


def normalise(
    source: str,
    rows: list[dict],
    path: Path,
    entropy_key: str | None = None,
    perf_key: str | None = None,
    notes: list[str] | None = None,
) -> Log:
    """Add ``entropy``, ``reward`` and ``eval_accuracy`` to raw rows (sorted by step) and say where
    each came from. ``entropy_key``/``perf_key`` override the detection; a log with entropy but no
    reward nor held-out score (an SFT log) is a one-line error, as is one without entropy."""
    keys: dict[str, str] = {}
    notes = list(notes or [])
    dropped = drop_non_finite(rows)
    if dropped:
        notes.append(dropped)
    seen = set().union(*(r.keys() for r in rows)) if rows else set()
    if entropy_key is not None and entropy_key not in seen:
        raise LogFormatError(f"{path}: no `{entropy_key[:80]}` in any row ({_some(seen)})")
    ekey = entropy_key or next((k for k in ENTROPY_KEYS if k in seen), None)
    if ekey is None:
        raise LogFormatError(f"{path} ({source}): no entropy key ({', '.join(ENTROPY_KEYS[:3])}, ...); "
                             f"name one with --entropy-key ({_some(seen)})")
    rkey = next((k for k in REWARD_KEYS if k in seen), None)
    for row in rows:
        if row.get(ekey) is not None:
            row["entropy"] = row[ekey]
        if rkey and row.get(rkey) is not None:
            row["reward"] = row[rkey]
    keys["entropy"] = ekey
    if rkey:
        keys["reward"] = rkey
    family = _validation_family(rows, seen)
    if family:
        name, fam_keys = family
        used: set[str] = set()
        for row in rows:
            vals = _family_values(row, fam_keys, used)
            if vals:
                row["eval_accuracy"] = float(np.mean(vals))
        keys["eval_accuracy"] = ", ".join(sorted(used)) if len(used) <= 3 else f"{name} ({len(used)} keys)"
    if perf_key is not None:
        if perf_key not in seen and perf_key not in keys:
            raise LogFormatError(f"{path}: no `{perf_key[:80]}` in any row ({_some(seen)})")
    elif "reward" not in keys and "eval_accuracy" not in keys:
        sft = " (an SFT log: it has " + next(k for k in _SFT_KEYS if k in seen) + ")" if seen & set(_SFT_KEYS) else ""
        raise LogFormatError(
            f"{path} ({source}) has entropy (`{ekey}`) but no reward nor validation score{sft}: "
            "the law needs RL's performance; name a key with --perf-key"
        )
    return Log(source, rows, keys, notes)


def drop_non_finite(rows: list[dict]) -> str | None:
    """Remove every value that is not a finite number from ``rows`` (verl and TRL both log NaN, e.g.
    at a step whose batch had no valid token; a run file may hold a string or a boolean where a
    number belongs), so that no fit, forecast or plot sees one; a note saying how many were
    dropped, by key, or None. ``step`` and nulls are left as they are."""
    dropped: dict[str, list[int]] = {}
    for row in rows:
        bad = [k for k, v in row.items() if v is not None and k != "step" and not finite(v)]
        for k in bad:
            del row[k]
            dropped.setdefault(k, []).append(row.get("step"))
    if not dropped:
        return None
    ranked = sorted(dropped.items(), key=lambda x: -len(x[1]))
    parts = [f"`{k[:60]}` ×{len(at)} (first at step {at[0]})" for k, at in ranked[:4]]
    more = f" and {len(dropped) - 4} more keys" if len(dropped) > 4 else ""
    total = sum(map(len, dropped.values()))
    return f"{total} values that are not finite numbers (NaN, inf, text) dropped before any fit: {', '.join(parts)}{more}"


def _validation_family(rows: list[dict], seen: set[str]) -> tuple[str, dict[str, tuple[str, int]]] | None:
    """The preferred held-out family among those logged at no fewer than half the steps of the most
    frequent one (late-2025 verl logs `val-core` at step 0 only and `val-aux` thereafter), with
    its keys: key -> (data source, N of ``mean@N``). Each key is matched once, not once a row."""
    counts = []
    for name, pattern in _VAL_FAMILIES:
        keys = {k: (m.group(1) or "", int(m.group(2) or 0)) for k in seen if (m := pattern.fullmatch(k))}
        n = sum(any(k in keys and _num(v) for k, v in r.items()) for r in rows) if keys else 0
        counts.append((name, keys, n))
    most = max(n for *_, n in counts)
    if most == 0:
        return None
    return next((name, keys) for name, keys, n in counts if n > 0 and 2 * n >= most)


def _family_values(row: dict, keys: dict[str, tuple[str, int]], used: set[str]) -> list[float]:
    """The row's values of a family: one per data source, the largest N of ``mean@N``."""
    best: dict[str, tuple[int, float, str]] = {}
    for k, v in row.items():
        if k in keys and _num(v):
            src, n = keys[k]
            if src not in best or n > best[src][0]:
                best[src] = (n, float(v), k)
    used.update(k for *_, k in best.values())
    return [v for _, v, _ in best.values()]


def _num(v) -> bool:
    return finite(v)


def _some(keys: set[str], n: int = 6) -> str:
    shown = ", ".join(sorted(k[:60] for k in keys)[:n])
    return f"keys: {shown}{', ...' if len(keys) > n else ''}" if keys else "no metric keys"


# ---------------------------------------------------------------------------------------------
# values and rows

# A logged number is never longer than this; a longer field is not a number (and no pattern ever
# sees more than this of one, so reading a value costs at most its length).
MAX_VALUE_CHARS = 100
_NUMBER = re.compile(
    r"(?:np\.(?:float|int|uint)\d*\(|numpy\.(?:float|int)\d*\(|tensor\()?\s*'?"
    r"([-+]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][-+]?\d+)?|[-+]?(?:nan|inf|infinity))'?\s*(?:,[^)]*)?\)?",
    re.IGNORECASE,
)


def parse_number(text: str) -> float | None:
    """A logged value as a float: ``0.5``, ``-1e-06``, ``np.float64(0.5)``, ``'0.375'`` (TRL
    console), ``tensor(0.5, device='cuda:0')``; None for anything else, a non-finite value or a
    field longer than ``MAX_VALUE_CHARS``."""
    text = text.strip()
    if len(text) > MAX_VALUE_CHARS:
        return None
    if text.isascii() and "_" not in text:  # a plain number: what the pattern would read, faster
        try:
            v = float(text)
            return v if math.isfinite(v) else None
        except ValueError:
            pass
    m = _NUMBER.fullmatch(text)
    if not m:
        return None
    try:
        v = float(m.group(1))
    except (ValueError, OverflowError):
        return None
    return v if math.isfinite(v) else None


MAX_STEP = 2**53  # steps are integers a float holds exactly


def step_number(value, where: str) -> int:
    """A row's step: a JSON/protobuf integer (not a boolean) in [0, 2**53); else a one-line
    ``LogFormatError`` naming ``where`` (``7.9``, ``"7"``, ``true`` and ``1e400`` are not steps)."""
    if type(value) is not int or not 0 <= value < MAX_STEP:
        raise LogFormatError(f"{where}: step `{repr(value)[:40]}` is not a step number (an integer in [0, 2**53))")
    return value


def _merge(path: Path, source: str, found: Iterable[tuple[int, dict]], notes: list[str]) -> list[dict]:
    """Rows by step, sorted. A step seen twice in a row of its own (a resumed run redoing steps)
    keeps the later value of each key; the count is noted. A ``step`` among a row's metrics
    (verl's ``data``, a CSV column beside ``_step``) never replaces the row's step: one that
    disagrees is dropped and noted."""
    by_step: dict[int, dict] = {}
    redone = disagree = 0
    for step, metrics in found:
        if "step" in metrics:
            if metrics.pop("step") != step:
                disagree += 1
        check_row(path, f"step {step}", metrics)
        row = by_step.get(step)
        if row is None:  # the reader's own dict becomes the row: no copy of a long log
            metrics["step"] = step
            by_step[step] = metrics
            continue
        if set(metrics) & set(row) - {"step"}:
            redone += 1
        row.update(metrics)
    if redone:
        notes.append(f"{redone} steps logged twice (a resumed run): the later values kept")
    if disagree:
        notes.append(f"{disagree} rows carry a `step` metric that is not their step: the row's own step kept")
    if not by_step:
        raise LogFormatError(f"{path} ({source}): no metric rows")
    return [by_step[s] for s in sorted(by_step)]


# ---------------------------------------------------------------------------------------------
# console logs (verl, TRL; also inside W&B's files/output.log)

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


# ---------------------------------------------------------------------------------------------
# structured files

def read_jsonl(path: Path, text: str, complete_only: bool = False) -> tuple[str, list[dict], list[str]]:
    """A JSONL log: verl's ``file`` logger (``{"step": s, "data": {metric: value}}`` per line,
    ``verl.utils.tracking.FileLogger``; the verl plug-in's ``entropy_rl/`` prefix removed), or,
    when its first line has no ``data``, flat rows with a ``step`` (``_step``, ``global_step``),
    e.g. an entropy-rl ``metrics.jsonl`` given as a file. The first line decides; every line must
    then be of that kind. Lines are read one at a time."""
    if complete_only or not text.endswith("\n"):
        cut = text.rfind("\n") + 1  # after the last newline: empty, or a line still being written
        if complete_only or not text[cut:].strip():
            text = text[:cut]
    kind: list[bool] = []  # [verl?], set by the first line
    notes: list[str] = []
    rows = _merge(path, "jsonl", _jsonl_rows(path, text, kind), notes)
    return ("verl-jsonl" if not kind or kind[0] else "jsonl"), rows, notes


def _jsonl_rows(path: Path, text: str, kind: list[bool]) -> Iterator[tuple[int, dict]]:
    pos, n = 0, 0
    while pos < len(text):
        end = text.find("\n", pos)
        end = len(text) if end < 0 else end
        line, pos, n = text[pos:end], end + 1, n + 1
        if not line.strip():
            continue
        verl = kind[0] if kind else None
        try:
            record = json.loads(line)
            if not isinstance(record, dict):
                raise TypeError(f"a JSON {type(record).__name__}, not an object")
            if verl is None:
                verl = "data" in record
                kind.append(verl)
            if verl:
                step, data = record["step"], record["data"]
                if not isinstance(data, dict):
                    raise TypeError(f"`data` is a JSON {type(data).__name__}, not an object")
            else:
                key = next(k for k in ("step", "_step", "global_step") if k in record)
                step, data = record[key], {k: v for k, v in record.items() if _num(v) and k != key}
            step = step_number(step, f"{path}:{n}")
        except (ValueError, KeyError, TypeError, StopIteration, RecursionError) as e:
            if isinstance(e, LogFormatError):
                raise
            shape = '{"step": ..., "data": {...}}' if verl else '{"step": ..., "metric": value, ...}'
            what = "verl file-logger" if verl else "JSONL metrics"
            why = "nested too deeply" if isinstance(e, RecursionError) else str(e)[:80]
            raise LogFormatError(f"{path}:{n}: not a {what} line ({shape}): {why}") from None
        row = {k.removeprefix("entropy_rl/"): v for k, v in data.items()}
        check_row(path, n, row)
        yield step, row


def trainer_state_file(path: Path) -> Path | None:
    """``path/trainer_state.json``, else the one in the highest-numbered ``checkpoint-N``."""
    if (path / "trainer_state.json").exists():
        return path / "trainer_state.json"
    steps = {p: p.parent.name.removeprefix("checkpoint-") for p in path.glob("checkpoint-*/trainer_state.json")}
    numbered = [p for p, n in steps.items() if n.isdigit()]
    return max(numbered, key=lambda p: int(steps[p]), default=None)


def read_trainer_state(path: Path) -> tuple[str, list[dict], list[str]]:
    """A transformers ``trainer_state.json``'s ``log_history``, or that list dumped alone (a JSON
    list of TRL rows, source ``trl-log-history``): training and evaluation rows merged by step,
    the TRL plug-in's ``entropy_rl/`` prefix removed."""
    state = read_json(path)
    bare = isinstance(state, list)
    history = state if bare else state.get("log_history") if isinstance(state, dict) else None
    what = "the JSON list" if bare else "`log_history`"
    if not isinstance(history, list) or not all(isinstance(r, dict) for r in history):
        raise LogFormatError(
            f"{path}: {what} is not a list of rows (a trainer_state.json, or its log_history alone)"
        )
    found = []
    name = "" if bare else "log_history"
    for i, row in enumerate(history):
        if "step" not in row or "train_runtime" in row:
            continue
        step = step_number(row["step"], f"{path}: {name}[{i}]")
        row = {k.removeprefix("entropy_rl/"): v for k, v in row.items() if k != "step"}
        check_row(path, f"{name}[{i}]", row)
        found.append((step, row))
    source = "trl-log-history" if bare else "trl-trainer-state"
    notes: list[str] = []
    return source, _merge(path, source, found, notes), notes


_CSV_STEP = ("_step", "Step", "step", "global_step", "train/global_step", "trainer/global_step")


def read_wandb_csv(path: Path, text: str) -> tuple[list[dict], list[str]]:
    """A W&B CSV export: the run history (``_step`` and metric columns) or a panel's download
    (``Step``, ``<run> - <metric>`` and its ``__MIN``/``__MAX`` columns, for one run)."""
    # any line end (CR-only included); a long text cell is read, then is no number
    csv.field_size_limit(max(csv.field_size_limit(), MAX_CSV_CELL))
    reader = csv.reader(io.StringIO(text, newline=None))
    try:
        return _csv_rows(path, reader)
    except csv.Error as e:
        raise LogFormatError(f"{path}:{reader.line_num}: not a CSV row ({str(e)[:80]})") from None


MAX_CSV_CELL = 64 * 2**20


def _csv_rows(path: Path, reader) -> tuple[list[dict], list[str]]:
    header = next(reader, None)
    if not header:
        raise LogFormatError(f"{path}: an empty CSV file")
    step_col = next((header.index(c) for c in _CSV_STEP if c in header), None)
    if step_col is None:
        raise LogFormatError(f"{path}: a CSV without a step column ({', '.join(_CSV_STEP[:3])}, ...)")
    names = {}
    runs = set()
    for j, col in enumerate(header):
        if j == step_col or col.endswith(("__MIN", "__MAX")) or col.startswith("_"):
            continue
        run, sep, metric = col.partition(" - ")
        if sep:
            runs.add(run)
        names[j] = metric if sep else col
    if len(runs) > 1:
        raise LogFormatError(f"{path}: a CSV of {len(runs)} runs ({', '.join(sorted(runs)[:3])}); export one run")
    found = []
    for n, cells in enumerate(reader, 2):
        if not cells or not "".join(cells).strip():
            continue
        if len(cells) != len(header):
            raise LogFormatError(f"{path}:{n}: {len(cells)} cells, the header has {len(header)}")
        step = parse_number(cells[step_col])
        if step is None or not step.is_integer() or not 0 <= step < MAX_STEP:
            raise LogFormatError(f"{path}:{n}: step `{cells[step_col][:40]}` is not a step number")
        metrics = {names[j]: v for j in names if (v := parse_number(cells[j])) is not None}
        found.append((int(step), metrics))
    notes: list[str] = []
    return _merge(path, "wandb-csv", found, notes), notes


def read_tensorboard(path: Path) -> tuple[list[dict], list[str]]:
    """TensorBoard event files (a file, or every ``events.out.tfevents.*`` under a folder, at most
    ``MAX_TEXT_BYTES`` in all): TFRecord files whose every length and record is checked against
    its CRC-32C, each record an ``Event`` parsed by TensorBoard's own protobuf class; scalars
    (``simple_value``, and TF2's one-element tensors) by tag and step. Read in one pass that keeps
    one row per step, so memory grows with the steps, not the events."""
    try:
        import crc32c
        from tensorboard.compat.proto import event_pb2
    except ImportError:
        raise LogFormatError(
            f"{path}: reading TensorBoard logs needs the `track` extra (pip install 'entropy-rl[track]')"
        ) from None
    files = [path] if path.is_file() else sorted(path.rglob("events.out.tfevents.*"))
    budget = MAX_TEXT_BYTES
    by_step: dict[int, dict] = {}
    redone: set[int] = set()
    for f in files:
        data = read_bytes(f, budget)
        budget -= len(data)
        for event in _tfrecords(f, data, crc32c.crc32c, event_pb2.Event):
            for v in event.summary.value:
                kind = v.WhichOneof("value")
                x = v.simple_value if kind == "simple_value" else _tensor_scalar(v.tensor) if kind == "tensor" else None
                if x is None or not math.isfinite(x):
                    continue
                step = step_number(event.step, f"{f}: an event")
                row = by_step.setdefault(step, {})
                if v.tag in row:
                    redone.add(step)
                row[v.tag] = float(x)
    notes = [f"{len(redone)} steps logged twice (a resumed run): the later values kept"] if redone else []
    return _merge(path, "tensorboard", list(by_step.items()), notes), notes


def _masked(crc: int) -> int:
    return (((crc >> 15) | (crc << 17)) + 0xA282EAD8) & 0xFFFFFFFF


def _tfrecords(path: Path, data: bytes, crc: Callable[[bytes], int], message) -> Iterator:
    """The messages of a TFRecord file: each record is a little-endian uint64 length, its masked
    CRC-32C, the bytes, their masked CRC-32C. A bad checksum or a cut record is an error naming
    the byte."""
    pos, view = 0, memoryview(data)
    while pos < len(data):
        if pos + 12 > len(data):
            raise LogFormatError(f"{path}: a TensorBoard record cut at byte {pos}")
        head = data[pos : pos + 8]
        if _masked(crc(head)) != int.from_bytes(data[pos + 8 : pos + 12], "little"):
            raise LogFormatError(f"{path}: a TensorBoard record's length fails its checksum at byte {pos}")
        n = int.from_bytes(head, "little")
        body = view[pos + 12 : pos + 12 + n]
        if len(body) < n or pos + 16 + n > len(data):
            raise LogFormatError(f"{path}: a TensorBoard record cut at byte {pos}")
        if _masked(crc(body)) != int.from_bytes(data[pos + 12 + n : pos + 16 + n], "little"):
            raise LogFormatError(f"{path}: a TensorBoard record fails its checksum at byte {pos}")
        try:
            yield message.FromString(body)
        except Exception:  # protobuf's DecodeError, or a message nested too deeply
            raise LogFormatError(f"{path}: a TensorBoard record at byte {pos} is not an event") from None
        pos += 16 + n


def _tensor_scalar(proto) -> float | None:
    from tensorboard.util import tensor_util

    if any(d.size != 1 for d in proto.tensor_shape.dim) or len(proto.tensor_content) > 16:
        return None  # not one number: never decoded
    try:
        value = tensor_util.make_ndarray(proto)
    except Exception:
        return None
    if value.size != 1 or value.dtype.kind not in "fiu":
        return None
    v = float(value.reshape(()))
    return v if math.isfinite(v) else None


_WANDB_HEADER = b":W&B\xe1\xbe\x00"  # magic, then LevelDB-log records in 32 KiB blocks
_BLOCK, _RECORD_HEADER = 32768, 7
_WANDB_TYPE_CRC = {t: zlib.crc32(bytes([t])) for t in (1, 2, 3, 4)}


def wandb_records(path: Path, data: bytes) -> list[bytes]:
    """The records of a ``.wandb`` file: LevelDB's log format (each block of 32 KiB holds records
    of a 7-byte header: checksum, length, type FULL/FIRST/MIDDLE/LAST) after a 7-byte W&B header.
    W&B's checksum is zlib's CRC-32 of the type byte and the record's bytes (LevelDB's own uses
    CRC-32C); a record that fails it is an error naming the byte. The wandb SDK writes the file
    from Go and no longer ships a Python reader, so it is read here; the records are then parsed
    by the SDK's own protobuf classes."""
    if not data.startswith(_WANDB_HEADER):
        raise LogFormatError(f"{path}: not a W&B run file (no :W&B header)")
    out, pending, pos = [], b"", len(_WANDB_HEADER)
    while pos + _RECORD_HEADER <= len(data):
        left = _BLOCK - pos % _BLOCK
        if left < _RECORD_HEADER:  # the block's tail is padding
            pos += left
            continue
        length = int.from_bytes(data[pos + 4 : pos + 6], "little")
        kind = data[pos + 6]
        body = data[pos + _RECORD_HEADER : pos + _RECORD_HEADER + length]
        if kind == 0 and length == 0:  # zero padding to the end of a block
            pos += left
            continue
        if kind not in (1, 2, 3, 4) or len(body) < length or _RECORD_HEADER + length > left:
            raise LogFormatError(f"{path}: a damaged W&B record at byte {pos}")
        if zlib.crc32(body, _WANDB_TYPE_CRC[kind]) != int.from_bytes(data[pos : pos + 4], "little"):
            raise LogFormatError(f"{path}: a W&B record fails its checksum at byte {pos} (a damaged file)")
        pos += _RECORD_HEADER + length
        if kind == 1:
            out.append(body)
        elif kind == 2:
            pending = body
        else:
            pending += body
            if kind == 4:
                out.append(pending)
                pending = b""
    return out


def read_wandb_history(path: Path) -> tuple[list[dict], list[str]]:
    """The history of a W&B run file (``run-*.wandb``): its ``history`` records, parsed by the wandb
    SDK's protobuf classes (values are JSON)."""
    try:
        from google.protobuf.message import DecodeError
        from wandb.proto import wandb_internal_pb2
    except ImportError:
        raise LogFormatError(f"{path}: reading a .wandb file needs the wandb SDK (the `track` extra)") from None
    found = []
    for data in wandb_records(path, read_bytes(path)):
        record = wandb_internal_pb2.Record()
        try:
            record.ParseFromString(data)
        except DecodeError:
            raise LogFormatError(f"{path}: a W&B record that is not a protobuf record") from None
        if record.WhichOneof("record_type") != "history":
            continue
        item = {}
        for it in record.history.item:
            key = it.key or "/".join(it.nested_key)
            if len(it.value_json) > MAX_VALUE_CHARS:
                continue  # not a number: never parsed
            try:
                item[key] = json.loads(it.value_json)
            except (ValueError, RecursionError):
                continue
        step = item.pop("_step", None)
        if record.history.HasField("step"):
            step = record.history.step.num
        if step is not None:
            step = step_number(step, f"{path}: a history record")
            found.append((step, {k: v for k, v in item.items() if _num(v) and not k.startswith("_")}))
    notes: list[str] = []
    return _merge(path, "wandb-history", found, notes), notes


# ---------------------------------------------------------------------------------------------
# detection

def wandb_run_folder(path: Path) -> tuple[Path | None, Path | None]:
    """(``run-*.wandb``, ``files/output.log``) of a W&B run folder, either may be None."""
    history = next(iter(sorted(path.glob("run-*.wandb"))), None)
    console = next((p for p in (path / "files" / "output.log", path / "output.log") if p.is_file()), None)
    return history, console


def read_log(
    path: str | Path,
    entropy_key: str | None = None,
    perf_key: str | None = None,
    complete_only: bool = False,
) -> Log:
    """Read any supported log, detecting its format (see the module docstring). ``complete_only``
    leaves out a last line still being written (``watch``)."""
    if not str(path).strip():
        raise LogFormatError("an empty path: name a log file or folder")
    path = Path(path)
    try:
        source, rows, notes = _detect_and_read(path, complete_only)
        return normalise(source, rows, path, entropy_key, perf_key, notes)
    except (OSError, LogFormatError, CheckpointError):
        raise
    except Exception as e:  # a case no reader foresaw is still one line naming the file, never a traceback
        raise LogFormatError(f"{path}: cannot be read as a log ({type(e).__name__}: {str(e)[:100]})") from None


def _detect_and_read(path: Path, complete_only: bool) -> tuple[str, list[dict], list[str]]:
    if path.is_dir():
        state = trainer_state_file(path)
        if state is not None:
            return read_trainer_state(state)
        history, console = wandb_run_folder(path)
        if history is not None:
            try:
                return ("wandb-history", *read_wandb_history(history))
            except LogFormatError:
                if console is None:
                    raise
        if console is not None:
            source, rows, notes = _read_text_log(console, complete_only)
            return (f"wandb-output-log ({source})", rows, notes)
        if next(path.rglob("events.out.tfevents.*"), None) is not None:
            return ("tensorboard", *read_tensorboard(path))
        raise LogFormatError(
            f"{path} has no metrics.jsonl (an entropy-rl run), trainer_state.json (TRL), files/output.log "
            "or run-*.wandb (a W&B run folder), nor TensorBoard event files"
        )
    if not path.exists():
        raise FileNotFoundError(f"{path}: no such file or directory")
    if path.name.startswith("events.out.tfevents."):
        return ("tensorboard", *read_tensorboard(path))
    if path.suffix == ".wandb":
        return ("wandb-history", *read_wandb_history(path))
    if path.suffix == ".json":
        return read_trainer_state(path)
    if path.suffix == ".csv":
        return ("wandb-csv", *read_wandb_csv(path, read_text(path)))
    return _read_text_log(path, complete_only)


_TEXT_READERS: tuple[tuple[str, Callable[[str], bool], Callable], ...] = (
    ("verl-console", looks_like_verl_console, read_verl_console),
    ("trl-console", looks_like_trl_console, read_trl_console),
)


def _read_text_log(path: Path, complete_only: bool) -> tuple[str, list[dict], list[str]]:
    text = read_text(path)  # bad bytes replaced: a binary file matches no reader below
    if path.suffix == ".jsonl" or text.lstrip().startswith('{"step"'):
        return read_jsonl(path, text, complete_only)
    for source, sniff, reader in _TEXT_READERS:
        if sniff(text):
            return (source, *reader(path, text, complete_only))
    raise LogFormatError(
        f"{path}: not a log entropy-rl reads (verl or TRL console, verl file-logger .jsonl, "
        "trainer_state.json, W&B run folder or CSV, TensorBoard events)"
    )
