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
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from entropy_rl.files import CheckpointError, check_regular, check_row, read_bytes, read_json, read_text


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
    ("val-core", re.compile(r"val-core/(.+)/(?:acc|reward|score)/mean@(\d+)")),
    ("val-aux score", re.compile(r"val-aux/(.+)/score/mean@(\d+)")),
    ("val-aux reward", re.compile(r"val-aux/(.+)/reward/mean@(\d+)")),
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
    family = _validation_family(rows)
    if family:
        name, pattern = family
        used: set[str] = set()
        for row in rows:
            vals = _family_values(row, pattern, used)
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
    return Log(source, rows, keys, notes or [])


def _validation_family(rows: list[dict]) -> tuple[str, re.Pattern] | None:
    """The preferred held-out family among those logged at no fewer than half the steps of the most
    frequent one (late-2025 verl logs `val-core` at step 0 only and `val-aux` thereafter)."""
    counts = []
    for name, pattern in _VAL_FAMILIES:
        n = sum(any(pattern.fullmatch(k) and _num(v) for k, v in r.items()) for r in rows)
        counts.append((name, pattern, n))
    most = max(n for *_, n in counts)
    if most == 0:
        return None
    return next((name, pattern) for name, pattern, n in counts if n > 0 and 2 * n >= most)


def _family_values(row: dict, pattern: re.Pattern, used: set[str]) -> list[float]:
    """The row's values of a family: one per data source, the largest N of ``mean@N``."""
    best: dict[str, tuple[int, float, str]] = {}
    for k, v in row.items():
        m = pattern.fullmatch(k)
        if m and _num(v):
            src, n = m.group(1) or "", int(m.group(2) or 0)
            if src not in best or n > best[src][0]:
                best[src] = (n, float(v), k)
    used.update(k for *_, k in best.values())
    return [v for _, v, _ in best.values()]


def _num(v) -> bool:
    return isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v)


def _some(keys: set[str], n: int = 6) -> str:
    shown = ", ".join(sorted(k[:60] for k in keys)[:n])
    return f"keys: {shown}{', ...' if len(keys) > n else ''}" if keys else "no metric keys"


# ---------------------------------------------------------------------------------------------
# values and rows

_NUMBER = re.compile(
    r"(?:np\.(?:float|int|uint)\d*\(|numpy\.(?:float|int)\d*\(|tensor\()?\s*'?"
    r"([-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?|[-+]?(?:nan|inf|infinity))'?\s*(?:,[^)]*)?\)?",
    re.IGNORECASE,
)


def parse_number(text: str) -> float | None:
    """A logged value as a float: ``0.5``, ``-1e-06``, ``np.float64(0.5)``, ``'0.375'`` (TRL
    console), ``tensor(0.5, device='cuda:0')``; None for anything else or a non-finite value."""
    m = _NUMBER.fullmatch(text.strip())
    if not m:
        return None
    try:
        v = float(m.group(1))
    except (ValueError, OverflowError):
        return None
    return v if math.isfinite(v) else None


def _merge(path: Path, source: str, found: list[tuple[int, dict]], notes: list[str]) -> list[dict]:
    """Rows by step, sorted. A step seen twice in a row of its own (a resumed run redoing steps)
    keeps the later value of each key; the count is noted."""
    by_step: dict[int, dict] = {}
    redone = 0
    for step, metrics in found:
        check_row(path, f"step {step}", metrics)
        if step in by_step and set(metrics) & set(by_step[step]) - {"step"}:
            redone += 1
        by_step.setdefault(step, {"step": step}).update(metrics)
    if redone:
        notes.append(f"{redone} steps logged twice (a resumed run): the later values kept")
    if not by_step:
        raise LogFormatError(f"{path} ({source}): no metric rows")
    return [by_step[s] for s in sorted(by_step)]


# ---------------------------------------------------------------------------------------------
# console logs (verl, TRL; also inside W&B's files/output.log)

_ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]|\x1b\][^\x07]*\x07")
_RAY_PREFIX = re.compile(r"^\s*\([\w.\-]+ pid=\d+(?:, ip=[\d.:a-fA-F]+)?\)\s?")
# at the line's start or after a space (a logger's timestamp, `[rank0]:`), never inside a key
# such as `training/global_step:N`
_VERL_STEP = re.compile(r"(?:^|(?<=\s))step:(\d+) - (\S+:.*)")
_INITIAL_VAL = "Initial validation metrics:"
_QUOTED = re.compile(r'"((?:[^"\\]|\\.)*)"')
_PAIR = re.compile(r"'([^'\n]{1,300})':\s*((?:np\.\w+\()?'?[-+\w.]+'?\)?)")
_TQDM_STEP = re.compile(r"\|\s*(\d+)/(\d+)\s*\[")
_DICT = re.compile(r"\{'[^{}\n]{1,200000}\}")


def _clean_lines(text: str) -> list[str]:
    """Lines without ANSI codes and Ray's ``(name pid=..)`` prefixes (tqdm's ``\\r`` kept)."""
    return [_RAY_PREFIX.sub("", _ANSI.sub("", line)) for line in text.split("\n")]


def looks_like_verl_console(text: str) -> bool:
    return any(_VERL_STEP.search(line.rstrip("\r")) for line in _clean_lines(text[: 4 * 2**20]))


def looks_like_trl_console(text: str) -> bool:
    return any(_is_trl_metrics(d.group(0)) for d in _DICT.finditer(text[: 8 * 2**20]))


def _is_trl_metrics(snippet: str) -> bool:
    return any(f"'{k}'" in snippet for k in ("entropy", "reward", "loss", "eval_reward", "eval_loss"))


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
    text = ""
    for line in lines[start : start + 4000]:
        pieces = _QUOTED.findall(line)
        text += "".join(pieces) if pieces else line
        if "}" in text:
            break
    out = {}
    for key, value in _PAIR.findall(text):
        v = parse_number(value)
        if v is not None:
            out[key if key.startswith("val") else f"val/{key}"] = v
    return out


def read_verl_console(path: Path, text: str, complete_only: bool = False) -> tuple[list[dict], list[str]]:
    """verl's console: one ``step:N - key:value - ...`` line per step (model output that happens to
    contain ``step:`` does not match), and the initial validation counted once (from the
    ``step:0`` line when there is one, else from the ``Initial validation metrics`` print)."""
    if complete_only:
        text = text[: text.rfind("\n") + 1]
    lines = _clean_lines(text)
    found: list[tuple[int, dict]] = []
    initial: dict = {}
    for i, line in enumerate(lines):
        line = line.rstrip("\r")
        m = _VERL_STEP.search(line)
        if m:
            found.append((int(m.group(1)), _fields(m.group(2))))
        elif _INITIAL_VAL in line and not initial:
            initial = _initial_validation(lines, i)
    notes: list[str] = []
    step0_val = any(s == 0 and any(k.startswith("val") for k in f) for s, f in found)
    if initial and not step0_val:
        found.insert(0, (0, initial))
    return _merge(path, "verl-console", found, notes), notes


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
            step = int(metrics.pop("step"))
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
    then be of that kind."""
    found = []
    lines = text.split("\n")
    if complete_only or not text.endswith("\n"):
        torn = lines.pop()  # after the last newline: empty, or a line still being written
        if torn.strip() and not complete_only:
            lines.append(torn)
    verl = None
    for n, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
            if verl is None:
                verl = isinstance(record, dict) and "data" in record
            if verl:
                step, data = int(record["step"]), dict(record["data"])
            else:
                key = next(k for k in ("step", "_step", "global_step") if k in record)
                step, data = record[key], {k: v for k, v in record.items() if _num(v) and k != key}
                if type(step) is not int:
                    raise TypeError(f"{key} is not an integer")
        except (ValueError, KeyError, TypeError, StopIteration, AttributeError) as e:
            shape = '{"step": ..., "data": {...}}' if verl else '{"step": ..., "metric": value, ...}'
            kind = "verl file-logger" if verl else "JSONL metrics"
            raise LogFormatError(f"{path}:{n}: not a {kind} line ({shape}): {str(e)[:80]}") from None
        row = {k.removeprefix("entropy_rl/"): v for k, v in data.items()}
        check_row(path, n, row)
        found.append((step, row))
    source = "verl-jsonl" if verl or verl is None else "jsonl"
    return source, _merge(path, source, found, []), []


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
        if type(row["step"]) is not int:
            raise LogFormatError(f"{path}: {name}[{i}].step is not an integer")
        row = {k.removeprefix("entropy_rl/"): v for k, v in row.items()}
        check_row(path, f"{name}[{i}]", row)
        found.append((row["step"], row))
    source = "trl-log-history" if bare else "trl-trainer-state"
    return source, _merge(path, source, found, []), []


_CSV_STEP = ("_step", "Step", "step", "global_step", "train/global_step", "trainer/global_step")


def read_wandb_csv(path: Path, text: str) -> tuple[list[dict], list[str]]:
    """A W&B CSV export: the run history (``_step`` and metric columns) or a panel's download
    (``Step``, ``<run> - <metric>`` and its ``__MIN``/``__MAX`` columns, for one run)."""
    reader = csv.reader(io.StringIO(text))
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
        if step is None or step != int(step) or step < 0:
            raise LogFormatError(f"{path}:{n}: step `{cells[step_col][:40]}` is not a step number")
        metrics = {names[j]: v for j in names if (v := parse_number(cells[j])) is not None}
        found.append((int(step), metrics))
    return _merge(path, "wandb-csv", found, []), []


def read_tensorboard(path: Path) -> tuple[list[dict], list[str]]:
    """TensorBoard event files (a file, or every ``events.out.tfevents.*`` under a folder), read
    by TensorBoard's own event accumulator: scalars by tag and step."""
    try:
        from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
    except ImportError:
        raise LogFormatError(
            f"{path}: reading TensorBoard logs needs the `track` extra (pip install 'entropy-rl[track]')"
        ) from None
    files = [path] if path.is_file() else sorted(path.rglob("events.out.tfevents.*"))
    found = []
    for f in files:
        check_regular(f)
        acc = EventAccumulator(str(f), size_guidance={"scalars": 0, "tensors": 0})
        try:
            acc.Reload()
        except Exception as e:  # a truncated or foreign file: TensorBoard raises its own errors
            raise LogFormatError(f"{f}: not a readable TensorBoard event file ({str(e)[:80]})") from None
        tags = acc.Tags()
        for tag in tags.get("scalars", []):
            found += [(int(e.step), {tag: float(e.value)}) for e in acc.Scalars(tag) if math.isfinite(e.value)]
        for tag in tags.get("tensors", []):  # TF2 summaries store scalars as tensors
            for e in acc.Tensors(tag):
                arr = _tensor_scalar(e.tensor_proto)
                if arr is not None:
                    found.append((int(e.step), {tag: arr}))
    return _merge(path, "tensorboard", found, []), []


def _tensor_scalar(proto) -> float | None:
    from tensorboard.util import tensor_util

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


def wandb_records(path: Path, data: bytes) -> list[bytes]:
    """The records of a ``.wandb`` file: LevelDB's log format (each block of 32 KiB holds records
    of a 7-byte header: CRC32C, length, type FULL/FIRST/MIDDLE/LAST) after a 7-byte W&B header.
    The wandb SDK writes it from Go and no longer ships a Python reader, so it is read here; the
    records are then parsed by the SDK's own protobuf classes."""
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
            try:
                item[key] = json.loads(it.value_json)
            except ValueError:
                continue
        step = item.pop("_step", None)
        if record.history.HasField("step"):
            step = record.history.step.num
        if isinstance(step, int):
            found.append((step, {k: v for k, v in item.items() if _num(v) and not k.startswith("_")}))
    return _merge(path, "wandb-history", found, []), []


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
    path = Path(path)
    source, rows, notes = _detect_and_read(path, complete_only)
    return normalise(source, rows, path, entropy_key, perf_key, notes)


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
