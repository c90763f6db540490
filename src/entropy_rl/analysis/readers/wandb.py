"""W&B: a run's ``.wandb`` history (its records checked against their CRC-32), a run folder, and
CSV exports."""

from __future__ import annotations

import csv
import io
import json
import zlib
from pathlib import Path

from entropy_rl.analysis.readers.base import (
    MAX_STEP,
    MAX_VALUE_CHARS,
    LogFormatError,
    _merge,
    _num,
    parse_number,
    step_number,
)
from entropy_rl.files import (
    read_bytes,
)

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


def wandb_run_folder(path: Path) -> tuple[Path | None, Path | None]:
    """(``run-*.wandb``, ``files/output.log``) of a W&B run folder, either may be None."""
    history = next(iter(sorted(path.glob("run-*.wandb"))), None)
    console = next((p for p in (path / "files" / "output.log", path / "output.log") if p.is_file()), None)
    return history, console
