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

from collections.abc import Callable
from pathlib import Path

from entropy_rl.analysis.readers.base import (
    ENTROPY_KEYS,
    MAX_STEP,
    MAX_VALUE_CHARS,
    REWARD_KEYS,
    Log,
    LogFormatError,
    drop_non_finite,
    normalise,
    parse_number,
    step_number,
)
from entropy_rl.analysis.readers.console import (
    looks_like_trl_console,
    looks_like_verl_console,
    read_trl_console,
    read_verl_console,
)
from entropy_rl.analysis.readers.structured import read_jsonl, read_trainer_state, trainer_state_file
from entropy_rl.analysis.readers.tensorboard import read_tensorboard
from entropy_rl.analysis.readers.wandb import (
    read_wandb_csv,
    read_wandb_history,
    wandb_records,
    wandb_run_folder,
)
from entropy_rl.files import CheckpointError, read_text

__all__ = [
    "ENTROPY_KEYS",
    "Log",
    "LogFormatError",
    "MAX_STEP",
    "MAX_VALUE_CHARS",
    "REWARD_KEYS",
    "drop_non_finite",
    "looks_like_trl_console",
    "looks_like_verl_console",
    "normalise",
    "parse_number",
    "read_jsonl",
    "read_log",
    "read_tensorboard",
    "read_trainer_state",
    "read_trl_console",
    "read_verl_console",
    "read_wandb_csv",
    "read_wandb_history",
    "step_number",
    "trainer_state_file",
    "wandb_records",
    "wandb_run_folder",
]

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
