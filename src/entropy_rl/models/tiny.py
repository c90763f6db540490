"""The tiny model: a small Llama from a transformers config with a character tokenizer over the
task's alphabet, warm-started by a short supervised pass on a *noisy teacher* (a share of
plausible wrong answers), so RL starts from partial accuracy and high entropy. Built once per
(config, task, seed) and cached; deterministic for a seed on a given CPU model and kernel library.

A model that ``make tiny-model`` built and committed under ``models/`` (``write_shipped``: its
files and a MANIFEST.json of their SHA-256) is copied into the cache instead of being built, when
its name (the hash of the config that built it) matches and every checksum holds.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import platform
import random
import shutil
import time
from pathlib import Path

import torch

from entropy_rl.config import ModelConfig, TinyModelConfig
from entropy_rl.files import atomic_write_text, read_bytes, read_json, write_bytes
from entropy_rl.models.policy import Policy
from entropy_rl.models.tokenizers import BOS, EOS, PAD, CharTokenizer, tiny_tokenizer
from entropy_rl.tasks.base import Task

# The warm-up runs on this many threads whatever the caller set: a float reduction split another way
# gives other bits, and the shipped model must be rebuilt byte for byte on the same CPU model.
BUILD_THREADS = 2
# What a tiny model directory holds (and all that is copied from a shipped one).
MODEL_FILES = ("config.json", "generation_config.json", "model.safetensors", "tiny_tokenizer.json")
MAX_MODEL_BYTES = 512 * 2**20

# longest prompt + answer (characters) the tiny model is built for: its warm-up batch holds
# warmup_batch sequences of this length with full attention
MAX_TINY_LENGTH = 1024


def _tiny_llama(vocab_size: int, cfg: ModelConfig, max_len: int):
    from transformers import LlamaConfig, LlamaForCausalLM

    t = cfg.tiny
    conf = LlamaConfig(
        vocab_size=vocab_size,
        hidden_size=t.hidden_size,
        intermediate_size=3 * t.hidden_size,
        num_hidden_layers=t.num_layers,
        num_attention_heads=t.num_heads,
        num_key_value_heads=t.num_heads,
        max_position_embeddings=max_len,
        bos_token_id=BOS,
        eos_token_id=EOS,
        pad_token_id=PAD,
        tie_word_embeddings=True,
    )
    return LlamaForCausalLM(conf)


def _noisy_answer(task: Task, problem, rng: random.Random, noise: float, unit: str, bias: float = 0.0) -> str:
    """The warm-up target: a correct answer from ``task.teacher_answer``, then noise. With
    ``unit='answer'`` it is replaced by a plausible wrong answer with probability ``noise``; with
    ``unit='digit'`` each digit is replaced independently with that probability. With ``bias`` > 0,
    on the problems where the task has a systematic error, the target is that error with
    probability ``bias`` and a correct answer otherwise (no other noise there)."""
    if bias > 0:  # only then: the default teacher's random stream stays as it was
        error = task.systematic_error(problem, rng)
        if error is not None:
            return error if rng.random() < bias else task.teacher_answer(problem, rng)
    if unit == "digit":
        answer = task.teacher_answer(problem, rng)
        return "".join(
            rng.choice([d for d in "0123456789" if d != c]) if c.isdigit() and rng.random() < noise else c
            for c in answer
        )
    return task.teacher_answer(problem, rng) if rng.random() >= noise else task.wrong_answer(problem, rng)


def warmup_lr_at(step: int, t: TinyModelConfig) -> float:
    """The warm-up's learning rate at ``step`` (0-based): a 50-step linear ramp to ``warmup_lr``,
    then constant or, with ``warmup_schedule='cosine'``, decayed to 0 at the last step."""
    lr = t.warmup_lr * min(1.0, (step + 1) / 50)
    if t.warmup_schedule == "cosine":
        lr *= 0.5 * (1.0 + math.cos(math.pi * step / t.warmup_steps))
    return lr


def _warmup(
    model, tok: CharTokenizer, task: Task, cfg: ModelConfig, seed: int, log=print
) -> dict[str, float]:
    """Supervised pass on prompt → (noisy) answer + EOS; loss on answer tokens only."""
    t = cfg.tiny
    rng = random.Random(seed)
    gen = torch.Generator().manual_seed(seed)
    opt = torch.optim.AdamW(model.parameters(), lr=t.warmup_lr, weight_decay=0.0)
    model.train()
    loss_val = float("nan")
    for step in range(t.warmup_steps):
        idx = torch.randint(len(task.train_pool), (t.warmup_batch,), generator=gen).tolist()
        seqs, starts = [], []
        for i in idx:
            p = task.train_pool[i]
            ans = _noisy_answer(task, p, rng, t.teacher_noise, t.teacher_noise_unit, t.teacher_bias)
            prompt = [BOS, *tok.encode(p.prompt)]
            seqs.append(prompt + tok.encode(ans) + [EOS])
            starts.append(len(prompt))
        width = max(map(len, seqs))
        ids = torch.full((len(seqs), width), PAD)
        labels = torch.full((len(seqs), width), -100)
        for r, (s, st) in enumerate(zip(seqs, starts, strict=True)):
            ids[r, : len(s)] = torch.tensor(s)
            labels[r, st : len(s)] = torch.tensor(s[st:])
        for g in opt.param_groups:
            g["lr"] = warmup_lr_at(step, t)
        out = model(input_ids=ids, attention_mask=(ids != PAD).long(), labels=labels)
        out.loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        opt.zero_grad(set_to_none=True)
        loss_val = float(out.loss.detach())
        if (step + 1) % max(1, t.warmup_steps // 10) == 0:
            log(f"  warm-up step {step + 1}/{t.warmup_steps}: loss {loss_val:.3f}")
    model.eval()
    return {"warmup_final_loss": loss_val}


def tiny_key(task: Task, cfg: ModelConfig) -> str:
    """The directory name of the tiny model for ``task`` and ``cfg``: the hash of what builds it."""
    key_src = json.dumps(
        {
            # teacher_bias came later: leaving it out at its default keeps the models already cached
            "tiny": {
                k: v for k, v in cfg.tiny.model_dump(exclude={"shipped"}).items() if k != "teacher_bias" or v
            },
            "task": task.name,
            "alphabet": task.alphabet,
            "seed": cfg.tiny.seed,
            "n": len(task.train_pool),
            "first": task.train_pool[0].prompt,
        },
        sort_keys=True,
    )
    return f"tiny-{task.name}-{hashlib.sha256(key_src.encode()).hexdigest()[:16]}"


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def copy_shipped(shipped: Path, name: str, target: Path, log=print) -> bool:
    """Copy the shipped model ``shipped/name`` into ``target`` if it is there and every file
    matches its MANIFEST.json checksum; False (with a line saying why, if it was there) otherwise."""
    src = Path(shipped) / name
    if not (src / "MANIFEST.json").is_file():
        return False
    try:
        manifest = read_json(src / "MANIFEST.json", limit=2**20)
        sums = manifest["sha256"]
        if sorted(sums) != sorted(MODEL_FILES):
            raise ValueError(f"it lists {sorted(sums)[:8]}, not {list(MODEL_FILES)}")
        data = {f: read_bytes(src / f, limit=MAX_MODEL_BYTES) for f in MODEL_FILES}
        bad = [f for f in MODEL_FILES if _sha256(data[f]) != sums[f]]
        if bad:
            raise ValueError(f"{', '.join(bad)} do not match their checksum")
    except (OSError, ValueError, KeyError, TypeError) as e:
        log(f"shipped model {src} not used ({str(e)[:200]}): building it instead")
        return False
    tmp = target.with_name(f"{target.name}.tmp{os.getpid()}")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    for f, b in data.items():
        write_bytes(tmp / f, b)
    if not target.exists():  # another process may have copied it meanwhile: keep theirs
        tmp.replace(target)
    else:
        shutil.rmtree(tmp, ignore_errors=True)
    log(f"tiny model {name} from {src} (checksums verified)")
    return True


def _build(task: Task, cfg: ModelConfig, tok: CharTokenizer, path: Path, log=print):
    """Warm-start a new tiny model and save it to ``path``; returns the model."""
    # Under a forked RNG: the caller's random state must not depend on whether the model was
    # cached (loading from the cache consumes none), or a run's first rollout would.
    threads = torch.get_num_threads()
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(cfg.tiny.seed)
        torch.set_num_threads(BUILD_THREADS)
        try:
            longest = max(task.train_pool + task.heldout, key=lambda p: len(p.prompt) + len(p.answer))
            max_len = len(longest.prompt) + len(longest.answer) + 32
            if max_len > MAX_TINY_LENGTH:
                raise ValueError(
                    f"the tiny model is for short prompts: problem {longest.prompt[:40]!r}... has "
                    f"{max_len - 32} characters with its answer (at most {MAX_TINY_LENGTH - 32}); lower "
                    "task.max_prompt_chars / task.max_answer_chars, or use another model.name"
                )
            model = _tiny_llama(tok.vocab_size, cfg, max_len=max(64, max_len))
            log(
                f"building tiny model ({sum(p.numel() for p in model.parameters()):,} parameters) "
                f"with {cfg.tiny.warmup_steps} warm-up steps → {path}"
            )
            info = _warmup(model, tok, task, cfg, cfg.tiny.seed, log)
        finally:
            torch.set_num_threads(threads)
    tmp = path.with_name(f"{path.name}.tmp{os.getpid()}")
    model.save_pretrained(tmp)
    (tmp / "tiny_tokenizer.json").write_text(
        json.dumps({"alphabet": task.alphabet, "kind": cfg.tiny.tokenizer, **info})
    )
    if not path.exists():  # another process may have built it meanwhile: keep theirs
        tmp.replace(path)
    else:
        shutil.rmtree(tmp, ignore_errors=True)
    return model


def build_tiny_policy(task: Task, cfg: ModelConfig, log=print) -> Policy:
    """The tiny model for ``task``: from the cache, else copied from ``model.tiny.shipped``, else
    built (and warm-started) and cached."""
    from transformers import LlamaForCausalLM

    if task.alphabet is None:
        raise ValueError(f"task {task.name} has no character alphabet: the tiny model needs a compact task")
    name = tiny_key(task, cfg)
    path = Path(cfg.cache_dir) / name
    tok = tiny_tokenizer(cfg.tiny.tokenizer, task.alphabet)
    if not (path / "config.json").exists() and cfg.tiny.shipped:
        path.parent.mkdir(parents=True, exist_ok=True)
        copy_shipped(Path(cfg.tiny.shipped), name, path, log)
    if (path / "config.json").exists():
        model = LlamaForCausalLM.from_pretrained(path)
        model.eval()
        return Policy(model, tok, chat=False, name=f"tiny:{path.name}")
    path.parent.mkdir(parents=True, exist_ok=True)
    model = _build(task, cfg, tok, path, log)
    return Policy(model, tok, chat=False, name=f"tiny:{path.name}")


def write_shipped(task: Task, cfg: ModelConfig, out: Path, command: str, log=print) -> Path:
    """Build the tiny model for ``task`` from scratch (no cache, nothing shipped) into
    ``out/<name>/`` with a MANIFEST.json: each file's SHA-256, the command, machine and date. This is
    ``make tiny-model``; a rebuild on the same CPU model and kernel libraries is byte-identical."""
    name = tiny_key(task, cfg)
    target = Path(out) / name
    build = Path(out) / f".{name}.build{os.getpid()}"
    shutil.rmtree(build, ignore_errors=True)
    build.parent.mkdir(parents=True, exist_ok=True)
    start = time.time()
    _build(task, cfg, tiny_tokenizer(cfg.tiny.tokenizer, task.alphabet), build, log)
    seconds = time.time() - start
    manifest = {
        "name": name,
        "command": command,
        "config": {"tiny": cfg.tiny.model_dump(exclude={"shipped"}), "task": task.name, "n_train": len(task.train_pool)},
        "sha256": {f: _sha256(read_bytes(build / f, limit=MAX_MODEL_BYTES)) for f in MODEL_FILES},
        "machine": machine(),
        "build_threads": BUILD_THREADS,
        "build_seconds": round(seconds, 1),
        "date": time.strftime("%Y-%m-%d"),
    }
    atomic_write_text(build / "MANIFEST.json", json.dumps(manifest, indent=1) + "\n")
    shutil.rmtree(target, ignore_errors=True)
    build.replace(target)
    log(f"wrote {target} ({seconds:.0f} s)")
    return target


def check_shipped(task: Task, cfg: ModelConfig, shipped: Path, log=print) -> list[str]:
    """Rebuild the shipped model of ``task``/``cfg`` from scratch and compare it with
    ``shipped/<name>``: the differences, [] when the rebuild is identical (the weights and tokenizer
    byte for byte; config.json as JSON, less the transformers version that wrote it)."""
    import tempfile

    name = tiny_key(task, cfg)
    src = Path(shipped) / name
    if not (src / "MANIFEST.json").is_file():
        return [f"no shipped model {src}: run `make tiny-model`"]
    manifest = read_json(src / "MANIFEST.json", limit=2**20)
    with tempfile.TemporaryDirectory() as tmp:
        new = write_shipped(task, cfg, Path(tmp), manifest.get("command", ""), log)
        fresh = read_json(new / "MANIFEST.json", limit=2**20)
        out = [
            f"{f}: sha256 {fresh['sha256'][f][:12]}… rebuilt, {manifest['sha256'].get(f, '')[:12]}… shipped"
            for f in ("model.safetensors", "tiny_tokenizer.json", "generation_config.json")
            if fresh["sha256"][f] != manifest["sha256"].get(f)
        ]
        a, b = (
            {k: v for k, v in read_json(d / "config.json").items() if k != "transformers_version"}
            for d in (new, src)
        )
        if a != b:
            out.append("config.json: the rebuilt model's config differs from the shipped one")
        if out and fresh["machine"] != manifest.get("machine"):
            out.append(f"built on {manifest.get('machine')}, rebuilt on {fresh['machine']}: another CPU or library gives other bits")
    return out


def machine() -> dict[str, str]:
    """What a rebuild must share to be byte-identical: CPU model, the instruction set torch's
    kernels dispatch on (``AVX2``, ``AVX512``: two CPUs of one name may differ), torch and
    transformers."""
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    import transformers

    return {
        "cpu": cpu,
        "cpu_capability": torch.backends.cpu.get_cpu_capability(),
        "torch": torch.__version__,
        "transformers": transformers.__version__,
    }


def load_tiny_directory(path: Path) -> Policy:
    """A tiny model saved by ``build_tiny_policy`` (its directory holds ``tiny_tokenizer.json``)."""
    from transformers import LlamaForCausalLM

    meta = json.loads((path / "tiny_tokenizer.json").read_text())
    model = LlamaForCausalLM.from_pretrained(path)
    model.eval()
    tok = tiny_tokenizer(meta.get("kind", "char"), meta["alphabet"])
    return Policy(model, tok, chat=False, name=str(path))
