"""Where a step's metrics go: ``RUN_DIR/metrics.jsonl`` always (the file every reader uses), and
TensorBoard or Weights & Biases when ``trainer.report_to`` asks for them."""

from __future__ import annotations

import importlib
import math
import uuid
from pathlib import Path
from typing import Any

from entropy_rl.config import Config
from entropy_rl.files import atomic_write_text, open_append, read_text, strict_json

TRACK_EXTRA = 'pip install "entropy-rl[track]"'


def _scalars(row: dict[str, Any]) -> dict[str, float]:
    return {
        k: float(v)
        for k, v in row.items()
        if k != "step" and isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v)
    }


class MetricsLogger:
    """One row per completed step to every destination; a context manager that closes them all.

    ``start_step`` is the first step this process logs (after a resume, TensorBoard drops any
    events it holds from that step on, as ``metrics.jsonl`` is truncated to the checkpoint).
    """

    def __init__(self, run_dir: Path, cfg: Config, start_step: int = 0):
        self.path = run_dir / "metrics.jsonl"
        self._file = open_append(self.path)  # a planted link is refused
        self._tb = self._wandb = None
        try:
            if "tensorboard" in cfg.trainer.report_to:
                self._tb = _tensorboard_writer(run_dir, start_step)
            if "wandb" in cfg.trainer.report_to:
                self._wandb = _wandb_run(run_dir, cfg)
        except BaseException:
            self.close()
            raise

    def log(self, row: dict[str, Any]) -> None:
        self._file.write(strict_json(row) + "\n")  # NaN and ±inf as null: JSON has no such numbers
        self._file.flush()
        step, scalars = int(row["step"]), _scalars(row)
        if self._tb is not None:
            for k, v in scalars.items():
                self._tb.add_scalar(k, v, step)
            self._tb.flush()
        if self._wandb is not None:
            self._wandb.log(scalars, step=step)

    def close(self) -> None:
        self._file.close()
        if self._tb is not None:
            self._tb.close()
        if self._wandb is not None:
            self._wandb.finish()
            # finish() can return before W&B's service has flushed the run file's last block (seen
            # under load: no history at all); tearing the service down waits for it, unless the
            # caller has a run of its own open in this process
            wandb = importlib.import_module("wandb")  # imported already, by _wandb_run
            if wandb.run is None:
                wandb.teardown()

    def __enter__(self) -> MetricsLogger:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def _import_tracker(tracker: str, module: str):
    """The tracker's module; a missing package names the config field and the extra."""
    try:
        return importlib.import_module(module)
    except ImportError:
        raise ModuleNotFoundError(
            f"config field `trainer.report_to`: {tracker!r} needs the {tracker} package: {TRACK_EXTRA}"
        ) from None


def _tensorboard_writer(run_dir: Path, start_step: int):
    SummaryWriter = _import_tracker("tensorboard", "torch.utils.tensorboard").SummaryWriter  # noqa: N806
    return SummaryWriter(log_dir=str(run_dir / "tensorboard"), purge_step=start_step or None)


def _wandb_run(run_dir: Path, cfg: Config):
    wandb = _import_tracker("wandb", "wandb")
    id_file = run_dir / "wandb_id"  # a resumed run continues the same W&B run
    run_id = read_text(id_file, limit=64).strip() if id_file.exists() else uuid.uuid4().hex[:12]
    if not run_id.isalnum():
        raise ValueError(f"{id_file} holds {run_id[:40]!r}, not a W&B run id")
    atomic_write_text(id_file, run_id)
    return wandb.init(
        project=cfg.trainer.wandb_project,
        name=run_dir.name if run_dir.name else None,
        id=run_id,
        resume="allow",
        dir=str(run_dir),
        mode=cfg.trainer.wandb_mode,
        config=cfg.model_dump(),
    )
