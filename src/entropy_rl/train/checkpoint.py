"""Atomic checkpoints: everything a resumed run needs to take exactly the steps an
uninterrupted run would have taken.

``RUN_DIR/checkpoint-<step>/`` holds ``model.safetensors``, ``optimizer.pt`` and ``state.pt``
(controller state, loss-config values set by the controller, every RNG state, the step). It is
written under a temporary name and renamed; ``RUN_DIR/latest`` (also replaced atomically) names
the newest complete one, so a crash mid-write leaves the previous checkpoint intact.
"""

from __future__ import annotations

import os
import random
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from safetensors.torch import load_file, save_file

from entropy_rl.files import atomic_write_text


@dataclass
class RNGState:
    torch_cpu: torch.Tensor
    torch_cuda: list[torch.Tensor] | None
    python: Any
    numpy: Any
    clip_cov: torch.Tensor

    @classmethod
    def capture(cls, clip_cov_gen: torch.Generator) -> RNGState:
        return cls(
            torch_cpu=torch.get_rng_state(),
            torch_cuda=torch.cuda.get_rng_state_all() if torch.cuda.is_available() else None,
            python=random.getstate(),
            numpy=np.random.get_state(),
            clip_cov=clip_cov_gen.get_state(),
        )

    def restore(self, clip_cov_gen: torch.Generator) -> None:
        torch.set_rng_state(self.torch_cpu)
        if self.torch_cuda is not None and torch.cuda.is_available():
            torch.cuda.set_rng_state_all(self.torch_cuda)
        random.setstate(self.python)
        np.random.set_state(self.numpy)
        clip_cov_gen.set_state(self.clip_cov)


def save_checkpoint(
    run_dir: Path,
    step: int,
    model: torch.nn.Module,
    optimizer: torch.optim.Optimizer,
    state: dict[str, Any],
    keep: int = 1,
) -> Path:
    """Write ``checkpoint-<step>`` atomically, point ``latest`` at it, prune older ones."""
    final = run_dir / f"checkpoint-{step}"
    tmp = run_dir / f".checkpoint-{step}.tmp"
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    # safetensors refuses shared storage (tied embeddings): save each tensor once, contiguous
    tensors, seen = {}, {}
    for k, v in model.state_dict().items():
        ptr = v.data_ptr()
        if ptr in seen:
            continue
        seen[ptr] = k
        tensors[k] = v.detach().contiguous().cpu()
    save_file(tensors, tmp / "model.safetensors")
    torch.save(optimizer.state_dict(), tmp / "optimizer.pt")
    torch.save({**state, "step": step}, tmp / "state.pt")
    if final.exists():
        shutil.rmtree(final)
    os.replace(tmp, final)
    atomic_write_text(run_dir / "latest", final.name)
    existing = sorted(
        (p for p in run_dir.glob("checkpoint-*") if p.is_dir()), key=lambda p: int(p.name.split("-")[1])
    )
    for old in existing[:-keep]:
        shutil.rmtree(old, ignore_errors=True)
    return final


def latest_checkpoint(run_dir: Path) -> Path | None:
    pointer = run_dir / "latest"
    if not pointer.exists():
        return None
    path = run_dir / pointer.read_text().strip()
    return path if (path / "state.pt").exists() else None


def load_weights(path: Path, model: torch.nn.Module) -> None:
    """Load ``path/model.safetensors`` into ``model``; only tied weights may be missing."""
    weights = load_file(path / "model.safetensors")
    missing, unexpected = model.load_state_dict(weights, strict=False)
    # tied weights were saved once; anything else missing is an error
    tied = set(getattr(model, "_tied_weights_keys", None) or []) | {"lm_head.weight"}
    really_missing = [k for k in missing if k not in tied]
    if really_missing or unexpected:
        raise ValueError(
            f"checkpoint {path} does not fit the model: missing {really_missing}, unexpected {unexpected}"
        )
    if hasattr(model, "tie_weights"):
        model.tie_weights()


def load_checkpoint(path: Path, model: torch.nn.Module, optimizer: torch.optim.Optimizer) -> dict[str, Any]:
    """Load weights and optimizer in place; return the saved state dict."""
    load_weights(path, model)
    optimizer.load_state_dict(torch.load(path / "optimizer.pt", weights_only=False))
    return torch.load(path / "state.pt", weights_only=False)
