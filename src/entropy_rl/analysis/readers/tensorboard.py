"""TensorBoard event files, read as TFRecords whose every record is checked against its CRC-32C."""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from pathlib import Path

from entropy_rl.analysis.readers.base import (
    LogFormatError,
    _merge,
    step_number,
)
from entropy_rl.files import (
    MAX_TEXT_BYTES,
    read_bytes,
)


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
