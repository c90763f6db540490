"""``load_policy``: resolve ``model.name`` (tiny, SmolLM2, or a local model directory) to a policy."""

from __future__ import annotations

from pathlib import Path

import torch

from entropy_rl.config import ModelConfig
from entropy_rl.models.policy import Policy
from entropy_rl.models.smollm2 import smollm2_directory
from entropy_rl.models.tiny import build_tiny_policy, load_tiny_directory
from entropy_rl.models.tokenizers import HFTokenizer
from entropy_rl.tasks.base import Task


def load_policy(cfg: ModelConfig, task: Task, seed: int, log=print) -> Policy:
    """Resolve ``model.name`` to a policy."""
    if cfg.name == "tiny":
        return build_tiny_policy(task, cfg, log)
    if cfg.name == "smollm2-135m-instruct":
        return load_hf_directory(smollm2_directory(cfg.cache_dir, log=log), name=cfg.name)
    path = Path(cfg.name)
    if path.is_dir() and (path / "config.json").exists():
        if (path / "tiny_tokenizer.json").exists():
            return load_tiny_directory(path)
        return load_hf_directory(path, name=str(path))
    raise ValueError(
        f"config field `model.name`: {cfg.name!r} is neither 'tiny', 'smollm2-135m-instruct' "
        "nor a local transformers model directory (with config.json)"
    )


def load_hf_directory(path: Path, name: str) -> Policy:
    from transformers import AutoModelForCausalLM, AutoTokenizer

    tok = AutoTokenizer.from_pretrained(path)
    model = AutoModelForCausalLM.from_pretrained(path, dtype=torch.float32)
    model.eval()
    return Policy(model, HFTokenizer(tok), chat=tok.chat_template is not None, name=name)
