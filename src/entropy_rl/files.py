"""File helpers every layer may use. Run directories, report directories and the files in them
may have been written by someone else, so:

- every write is atomic (a fresh temporary file opened with ``O_EXCL``, then ``os.replace``) or an
  append opened with ``O_NOFOLLOW``: a planted symbolic link is replaced or refused, never written
  through;
- every read is bounded in size and refuses what is not a regular file (``/dev/zero``, a FIFO);
- ``.pt`` files are loaded without ever running code from them;
- one process at a time writes a run directory (``run_lock``).
"""

from __future__ import annotations

import contextlib
import errno
import io
import json
import math
import os
import stat
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any


class CheckpointError(ValueError):
    """A checkpoint or run-directory file cannot be used; the message names it."""


class RunLocked(FileExistsError):
    """Another process is writing the run directory."""


# Bounds on what is read from a run directory: text logs and JSON files (a 720-step run's
# metrics.jsonl is about 4 MB), and checkpoint files (SmolLM2's optimizer state is about 1 GB).
MAX_TEXT_BYTES = 256 * 2**20
MAX_JSON_BYTES = 64 * 2**20
MAX_CHECKPOINT_BYTES = 64 * 2**30


def _open_regular(path: Path, flags: int) -> int:
    """A file descriptor of ``path`` if it is a regular file, else ``CheckpointError``. Opened
    non-blocking, so that a FIFO cannot hang the open."""
    try:
        fd = os.open(path, flags | os.O_NONBLOCK | os.O_CLOEXEC)
    except FileNotFoundError:
        raise
    except OSError as e:
        if e.errno == errno.ELOOP:
            raise CheckpointError(f"{path} is a symbolic link: refused") from None
        raise CheckpointError(f"{path} cannot be opened: {e.strerror}") from None
    if not stat.S_ISREG(os.fstat(fd).st_mode):
        os.close(fd)
        raise CheckpointError(f"{path} is not a regular file: refused")
    return fd


def check_regular(path: Path, limit: int = MAX_CHECKPOINT_BYTES) -> None:
    """``path`` exists, is a regular file and holds at most ``limit`` bytes; else an error naming it."""
    fd = _open_regular(Path(path), os.O_RDONLY)
    try:
        size = os.fstat(fd).st_size
    finally:
        os.close(fd)
    if size > limit:
        raise CheckpointError(f"{path} holds {size} bytes, over the {limit}-byte limit: refused")


def read_bytes(path: str | Path, limit: int = MAX_TEXT_BYTES) -> bytes:
    """The bytes of a regular file of at most ``limit`` bytes; anything else is a ``CheckpointError``
    naming it (a missing file stays ``FileNotFoundError``)."""
    path = Path(path)
    fd = _open_regular(path, os.O_RDONLY)
    try:
        with os.fdopen(fd, "rb") as f:
            data = f.read(limit + 1)
    except OSError as e:  # EIO and the like carry no file name: say which file
        raise CheckpointError(f"{path} cannot be read: {e.strerror or e}") from None
    if len(data) > limit:
        raise CheckpointError(f"{path} is larger than the {limit}-byte limit: refused")
    return data


def read_text(path: str | Path, limit: int = MAX_TEXT_BYTES) -> str:
    """``read_bytes`` decoded as UTF-8 (a leading byte-order mark dropped; bad bytes replaced)."""
    return read_bytes(path, limit).decode("utf-8-sig", errors="replace")


def read_json(path: str | Path, limit: int = MAX_JSON_BYTES) -> Any:
    """A JSON file of at most ``limit`` bytes; malformed JSON is a ``CheckpointError`` naming it."""
    text = read_text(path, limit)
    try:
        return json.loads(text)
    except (ValueError, RecursionError) as e:
        raise CheckpointError(f"{path} is not valid JSON ({str(e)[:100]})") from None


def plain(obj: Any) -> Any:
    """``obj`` with NaN and ±inf as None, numpy scalars and arrays as Python numbers and lists,
    tuples as lists: what strict JSON can hold (a missing number is null)."""
    if isinstance(obj, dict):
        return {k: plain(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [plain(v) for v in obj]
    if hasattr(obj, "tolist") and type(obj).__module__ == "numpy":
        return plain(obj.tolist())
    if isinstance(obj, float):
        return obj if math.isfinite(obj) else None
    return obj


def strict_json(obj: Any, **kwargs: Any) -> str:
    """``json.dumps`` of ``plain(obj)`` with ``allow_nan=False``: every JSON entropy-rl writes or
    prints parses in any language's strict parser (no bare ``NaN``)."""
    return json.dumps(plain(obj), allow_nan=False, **kwargs)


def write_bytes(path: str | Path, data: bytes) -> None:
    """Replace ``path`` atomically: readers see the old or the new content, never a partial one.
    The temporary file is new (``O_EXCL``, a random name), and ``os.replace`` replaces a symbolic
    link at ``path`` itself, so no planted link is ever written through."""
    path = Path(path)
    if path.is_dir() and not path.is_symlink():
        raise IsADirectoryError(errno.EISDIR, "is a directory, not a file", str(path))
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name[:100]}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def atomic_write_text(path: str | Path, text: str) -> None:
    """``write_bytes`` of UTF-8 text."""
    write_bytes(path, text.encode("utf-8"))


def save_torch(obj: Any, path: str | Path) -> None:
    """``torch.save`` through ``write_bytes`` (never through a planted link)."""
    import torch

    buf = io.BytesIO()
    torch.save(obj, buf)
    write_bytes(path, buf.getvalue())


def open_append(path: str | Path):
    """``path`` opened for appending text; a symbolic link or a non-regular file is refused."""
    fd = _open_regular(Path(path), os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_NOFOLLOW)
    os.set_blocking(fd, True)
    return os.fdopen(fd, "a", encoding="utf-8")


@contextlib.contextmanager
def run_lock(run_dir: str | Path) -> Iterator[None]:
    """Hold ``RUN_DIR/.lock`` while writing the run: a second writer gets ``RunLocked``."""
    import fcntl

    path = Path(run_dir) / ".lock"
    try:
        fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC, 0o644)
    except OSError as e:
        raise CheckpointError(f"{path} cannot be opened: {e.strerror}") from None
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(fd, 32, 0).decode(errors="replace").strip() or "?"
            raise RunLocked(
                f"{run_dir} is being written by another process (pid {holder[:16]}): wait for it "
                "to end, or use another --out"
            ) from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, str(os.getpid()).encode(), 0)
        yield
    finally:
        os.close(fd)


def safe_load(path: Path, hint: str = "") -> Any:
    """``torch.load`` that never runs code from the file; an unreadable file is a one-line
    ``CheckpointError`` naming it (and ``hint``, e.g. what else can be used)."""
    import torch  # here, so that the readers above stay light for `fit` and `report`

    try:
        check_regular(path)
        return torch.load(path, weights_only=True, map_location="cpu")
    except FileNotFoundError:
        raise CheckpointError(f"{path} is missing{hint}") from None
    except CheckpointError as e:
        raise CheckpointError(f"{e}{hint}") from None
    except Exception as e:  # the unpickler refuses globals; corrupt files fail in many ways
        reason = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        if "weights_only" in str(e) or "Unsupported global" in str(e):
            reason = "it holds Python objects other than tensors and plain values, which are never loaded"
        raise CheckpointError(f"{path} cannot be read safely: {reason[:200]}{hint}") from None


def check_row(path: Path, n: int | str, row: dict) -> None:
    """Every value of a log row is one ``_check_value`` accepts; else an error naming the field."""
    for k, v in row.items():
        _check_value(path, n, k, v)


def _check_value(path: Path, n: int | str, key: str, v: Any) -> None:
    """A metrics value is null, a boolean, a finite-or-NaN number within float range, or a short
    string; anything else (a dict, 10**400) names the line and the field."""
    if v is None or isinstance(v, bool) or (isinstance(v, str) and len(v) <= 1000):
        return
    if isinstance(v, int | float):
        try:
            float(v)
            return
        except OverflowError:
            pass
    raise CheckpointError(f"{path}:{n}: field `{str(key)[:80]}` is not a number ({repr(v)[:60]})")


def read_metrics(run_dir: str | Path, log: Callable[..., None] | None = None) -> list[dict]:
    """The rows of ``RUN_DIR/metrics.jsonl``. A torn last line (a crash while writing it) is
    dropped, and said so through ``log``; a bad line elsewhere, a value that is not a number and a
    step that does not follow the one before are each a ``CheckpointError`` naming the line."""
    path = Path(run_dir) / "metrics.jsonl"
    lines = read_text(path).splitlines()
    rows: list[dict] = []
    for n, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
            if not isinstance(row, dict) or type(row.get("step")) is not int:
                raise ValueError("not a metrics row with an integer `step`")
        except (ValueError, RecursionError) as e:
            if n == len(lines):
                if log is not None:
                    log(f"{path}:{n}: dropped an incomplete last line (the run stopped while writing it)")
                break
            raise CheckpointError(f"{path}:{n}: not a metrics row ({str(e)[:100]})") from None
        check_row(path, n, row)
        if rows and row["step"] <= rows[-1]["step"]:
            raise CheckpointError(
                f"{path}:{n}: step {row['step']} does not follow step {rows[-1]['step']} (two writers, "
                "or an edited log)"
            )
        if not 0 <= row["step"] < 2**53:
            raise CheckpointError(f"{path}:{n}: step {row['step']} is out of range")
        rows.append(row)
    return rows


def real(v: Any) -> bool:
    """``v`` is a number (not a bool) that a float holds: NaN and ±inf included, 10**400 not."""
    if isinstance(v, bool) or not isinstance(v, int | float):
        return False
    try:
        float(v)
        return True
    except OverflowError:
        return False


def finite(v: Any) -> bool:
    """``v`` is a real number (not a bool) with a finite float value."""
    if isinstance(v, bool) or not isinstance(v, int | float):
        return False
    try:
        return math.isfinite(float(v))
    except OverflowError:
        return False
