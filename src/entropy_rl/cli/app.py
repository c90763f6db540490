"""The typer application and what every command shares: failing with one line, and naming the
extra a command needs when it is missing."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path

import typer

app = typer.Typer(
    add_completion=False, no_args_is_help=True, help="Measure, predict and control policy entropy in RLVR."
)

# packages of the `train` extra: a command that needs one says how to install it
TRAIN_PACKAGES = {
    "torch",
    "pydantic",
    "yaml",
    "transformers",
    "reasoning_gym",
    "safetensors",
    "tokenizers",
    "sacrebleu",
}


def one_line(e: BaseException) -> str:
    """An exception as one line for ``fail``: OS errors name their file, a long message is cut."""
    if isinstance(e, OSError) and e.strerror and e.filename is not None:
        msg = f"{str(e.filename)[:200]}: {e.strerror}"
    else:
        msg = str(e) or type(e).__name__
    msg = " ".join(msg.split())
    return msg if len(msg) <= 2000 else msg[:2000] + " …"


def fail(msg: str) -> None:
    """Print ``error: msg`` on stderr and exit with status 2."""
    typer.secho(f"error: {msg}", fg=typer.colors.RED, err=True)
    raise typer.Exit(2)


def log_path(text: str) -> Path:
    """A path argument of a command that reads logs: an empty one fails (``Path("")`` would be
    the current directory, read without being named)."""
    if not text.strip():
        fail("an empty path: name a log file or folder")
    return Path(text)


@contextlib.contextmanager
def needs_extra(command: str, extra: str = "train", packages: set[str] = TRAIN_PACKAGES) -> Iterator[None]:
    """Turn a missing optional package into one line that names the extra to install."""
    try:
        yield
    except ModuleNotFoundError as e:
        if e.name is None or e.name.split(".")[0] not in packages:
            raise
        fail(
            f'`entropy-rl {command}` needs the `{extra}` extra ({e.name} is missing): pip install "entropy-rl[{extra}]"'
        )


def parse_temperatures(text: str, option: str = "--baseline-temperatures") -> list[float]:
    """``"0.1,0.5"`` → [0.1, 0.5]; a bad list fails naming the option."""
    try:
        temps = [float(t) for t in text.split(",") if t.strip()]
    except ValueError:
        fail(f"{option}: expected comma-separated numbers, got {text!r}")
    if any(not t > 0 for t in temps):
        fail(f"{option}: temperatures must be > 0, got {text!r}")
    return temps
