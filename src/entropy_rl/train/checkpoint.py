"""Atomic checkpoints: everything a resumed run needs to take exactly the steps an
uninterrupted run would have taken.

``RUN_DIR/checkpoint-<step>/`` holds ``model.safetensors``, ``optimizer.pt`` and ``state.pt``
(controller state, loss-config values set by the controller, every RNG state, the step). It is
written under a temporary name and renamed; ``RUN_DIR/latest`` (also replaced atomically) names
the newest complete one, so a crash mid-write leaves the previous checkpoint intact.

Run directories get shared and downloaded, so loading one never executes code: the ``.pt`` files
hold only tensors, numbers, strings and containers of them, and are read with
``torch.load(weights_only=True)``; the weights are safetensors. A file that cannot be read that
way (corrupt, truncated, or a pickle from elsewhere) is a ``CheckpointError`` naming it.
"""

from __future__ import annotations

import os
import random
import re
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, save_file

from entropy_rl.core.losses import checked_dynamic_state
from entropy_rl.files import CheckpointError, atomic_write_text, check_regular, finite, read_text, safe_load

_CHECKPOINT_NAME = re.compile(r"checkpoint-(\d+)")


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

    def to_dict(self) -> dict[str, Any]:
        """Plain tensors, numbers and tuples: what ``torch.load(weights_only=True)`` reads."""
        kind, keys, pos, has_gauss, cached = self.numpy
        return {
            "torch_cpu": self.torch_cpu,
            "torch_cuda": self.torch_cuda,
            "python": self.python,
            "numpy": (kind, torch.from_numpy(keys.astype(np.int64)), int(pos), int(has_gauss), float(cached)),
            "clip_cov": self.clip_cov,
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> RNGState:
        kind, keys, pos, has_gauss, cached = d["numpy"]
        return cls(
            torch_cpu=d["torch_cpu"],
            torch_cuda=d["torch_cuda"],
            python=d["python"],
            numpy=(kind, keys.numpy().astype(np.uint32), pos, has_gauss, cached),
            clip_cov=d["clip_cov"],
        )


def save_checkpoint(
    run_dir: Path,
    step: int,
    model: torch.nn.Module,
    optimizer: torch.optim.Optimizer,
    state: dict[str, Any],
    keep: int = 1,
) -> Path:
    """Write ``checkpoint-<step>`` atomically, point ``latest`` at it, prune older ones.
    ``state`` holds plain values and tensors (an ``RNGState`` is stored as its ``to_dict``)."""
    final = run_dir / f"checkpoint-{step}"
    run_dir.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(dir=run_dir, prefix=f".checkpoint-{step}.", suffix=".tmp"))  # new, ours
    os.chmod(tmp, 0o755)
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
    plain = {k: (v.to_dict() if isinstance(v, RNGState) else v) for k, v in state.items()}
    torch.save({**plain, "step": step}, tmp / "state.pt")
    if final.is_symlink() or final.is_file():
        final.unlink()  # a planted link is removed, never followed
    elif final.exists():
        shutil.rmtree(final)
    os.replace(tmp, final)
    atomic_write_text(run_dir / "latest", final.name)
    for old in complete_checkpoints(run_dir)[:-keep]:
        shutil.rmtree(old, ignore_errors=True)
    return final


def complete_checkpoints(run_dir: Path) -> list[Path]:
    """The run's ``checkpoint-<step>`` folders that hold every file, oldest first."""
    found = []
    for p in run_dir.glob("checkpoint-*"):
        m = _CHECKPOINT_NAME.fullmatch(p.name)
        if (
            m
            and p.is_dir()
            and not p.is_symlink()
            and all((p / f).is_file() for f in ("model.safetensors", "optimizer.pt", "state.pt"))
        ):
            found.append((int(m.group(1)), p))
    return [p for _, p in sorted(found)]


def latest_checkpoint(run_dir: Path) -> Path | None:
    """The checkpoint ``RUN_DIR/latest`` names; None when there is none. ``latest`` may only name a
    ``checkpoint-<step>`` folder inside the run directory."""
    pointer = run_dir / "latest"
    if not pointer.exists():
        return None
    try:
        name = read_text(pointer, limit=256).strip()
    except OSError as e:
        raise CheckpointError(f"{pointer} is unreadable ({e})") from None
    if not _CHECKPOINT_NAME.fullmatch(name) or len(name) > 40:
        raise CheckpointError(
            f"{pointer} names {name[:80]!r}, which is not a checkpoint-<step> folder of this run directory"
        )
    path = run_dir / name
    if path.is_symlink():
        raise CheckpointError(f"{path} is a symbolic link: refused")
    return path if (path / "state.pt").exists() else None


def _older_hint(path: Path) -> str:
    older = [p for p in complete_checkpoints(path.parent) if p != path]
    if not older:
        return ""
    return f"; an older complete checkpoint exists: {older[-1]} (write its name into {path.parent / 'latest'} to resume from it)"


def load_weights(path: Path, model: torch.nn.Module) -> None:
    """Load ``path/model.safetensors`` into ``model``; only tied weights may be missing, every
    shape must fit and every value must be finite."""
    file = path / "model.safetensors"
    try:
        check_regular(file)
        weights = load_file(file)
    except CheckpointError as e:
        raise CheckpointError(f"{e}{_older_hint(path)}") from None
    except (SafetensorError, OSError, ValueError) as e:
        raise CheckpointError(f"{file} cannot be read: {str(e)[:200]}{_older_hint(path)}") from None
    expected = model.state_dict()
    for k, v in weights.items():
        if k in expected and tuple(v.shape) != tuple(expected[k].shape):
            raise CheckpointError(
                f"{file}: tensor {k[:80]} has shape {tuple(v.shape)}, the model's is {tuple(expected[k].shape)} "
                "(a checkpoint of another model size?)"
            )
        if v.is_floating_point() and not bool(torch.isfinite(v).all()):
            raise CheckpointError(f"{file}: tensor {k[:80]} holds NaN or infinite values")
    missing, unexpected = model.load_state_dict(weights, strict=False)
    # tied weights were saved once; anything else missing is an error
    tied = set(getattr(model, "_tied_weights_keys", None) or []) | {"lm_head.weight"}
    really_missing = [k for k in missing if k not in tied]
    if really_missing or unexpected:
        raise CheckpointError(
            f"checkpoint {path} does not fit the model: missing {really_missing[:5]}, unexpected {unexpected[:5]}"
        )
    if hasattr(model, "tie_weights"):
        model.tie_weights()


def _check_rng(d: Any, where: Path) -> None:
    """Each saved RNG state is one its generator accepts (tried on scratch generators, so that a
    bad one fails here, naming the file, and not mid-run)."""
    try:
        scratch = torch.Generator()
        scratch.set_state(d["torch_cpu"])
        scratch.set_state(d["clip_cov"])
        random.Random().setstate(d["python"])
        kind, keys, pos, has_gauss, cached = d["numpy"]
        np.random.RandomState().set_state((kind, keys.numpy().astype(np.uint32), pos, has_gauss, cached))
    except (KeyError, IndexError, TypeError, ValueError, RuntimeError, AttributeError, OverflowError) as e:
        raise CheckpointError(f"{where}: the saved RNG state is not usable ({str(e)[:120]})") from None


def _check_optimizer(optim_state: Any, optimizer: torch.optim.Optimizer, where: Path) -> None:
    """The saved optimizer state has one entry per parameter, each of the parameter's shape."""
    params = [p for g in optimizer.param_groups for p in g["params"]]
    try:
        groups, states = optim_state["param_groups"], optim_state["state"]
        ids = [i for g in groups for i in g["params"]]
        if len(ids) != len(params):
            raise ValueError(f"{len(ids)} parameters, the model has {len(params)}")
        for i, p in zip(ids, params, strict=True):
            for name, v in states.get(i, {}).items():
                if isinstance(v, torch.Tensor) and v.dim() > 0 and tuple(v.shape) != tuple(p.shape):
                    raise ValueError(f"{name} of parameter {i} has shape {tuple(v.shape)}, not {tuple(p.shape)}")
                if isinstance(v, torch.Tensor) and v.is_floating_point() and not bool(torch.isfinite(v).all()):
                    raise ValueError(f"{name} of parameter {i} holds NaN or infinite values")
        for g in groups:
            for key in ("lr", "weight_decay", "eps"):
                if key in g and not finite(g[key]):
                    raise ValueError(f"{key} = {g[key]!r:.40}")
    except (KeyError, TypeError, AttributeError) as e:
        raise CheckpointError(f"{where}: not an optimizer state ({type(e).__name__}: {str(e)[:80]})") from None
    except ValueError as e:
        raise CheckpointError(f"{where}: the optimizer state does not fit this run ({e})") from None


def check_loss_dynamic(values: Any, where: Path) -> dict[str, float]:
    """A checkpoint's ``loss_dynamic`` (``core.losses.checked_dynamic_state``), naming the file."""
    try:
        return checked_dynamic_state(values)
    except ValueError as e:
        raise CheckpointError(f"{where}: {e}") from None


def load_checkpoint(path: Path, model: torch.nn.Module, optimizer: torch.optim.Optimizer) -> dict[str, Any]:
    """Load weights and optimizer in place; return the saved state (``rng`` as an ``RNGState``).
    Everything is checked before anything is used: a tampered file is a one-line error naming it."""
    hint = _older_hint(path)
    state = safe_load(path / "state.pt", hint)
    optim_state = safe_load(path / "optimizer.pt", hint)
    where = path / "state.pt"
    if not isinstance(state, dict) or not {"step", "rng", "loss_dynamic"} <= set(state):
        raise CheckpointError(f"{where} is not an entropy-rl training state{hint}")
    step = state["step"]
    if type(step) is not int or f"checkpoint-{step}" != path.name:
        raise CheckpointError(f"{where}: step {step!r:.40} is not that of its folder {path.name}{hint}")
    state["loss_dynamic"] = check_loss_dynamic(state["loss_dynamic"], where)
    _check_rng(state["rng"], where)
    _check_optimizer(optim_state, optimizer, path / "optimizer.pt")
    load_weights(path, model)
    try:
        optimizer.load_state_dict(optim_state)
        state["rng"] = RNGState.from_dict(state["rng"])
    except (ValueError, KeyError, TypeError, RuntimeError) as e:
        raise CheckpointError(
            f"{path}: the saved optimizer or RNG state does not fit this run ({str(e)[:200]}){hint}"
        ) from None
    return state
