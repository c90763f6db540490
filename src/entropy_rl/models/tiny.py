"""The tiny model: a small Llama from a transformers config with a character tokenizer over the
task's alphabet, warm-started by a short supervised pass on a *noisy teacher* (a share of
plausible wrong answers), so RL starts from partial accuracy and high entropy. Built once per
(config, task, seed) and cached; deterministic for a seed.
"""

from __future__ import annotations

import hashlib
import json
import math
import random
from pathlib import Path

import torch

from entropy_rl.config import ModelConfig, TinyModelConfig
from entropy_rl.models.policy import Policy
from entropy_rl.models.tokenizers import BOS, EOS, PAD, CharTokenizer, tiny_tokenizer
from entropy_rl.tasks.base import Task

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


def build_tiny_policy(task: Task, cfg: ModelConfig, log=print) -> Policy:
    """The tiny model for ``task``, built (and warm-started) once, then loaded from the cache."""
    from transformers import LlamaForCausalLM

    if task.alphabet is None:
        raise ValueError(f"task {task.name} has no character alphabet: the tiny model needs a compact task")
    seed = cfg.tiny.seed
    key_src = json.dumps(
        {
            # teacher_bias came later: leaving it out at its default keeps the models already cached
            "tiny": {k: v for k, v in cfg.tiny.model_dump().items() if k != "teacher_bias" or v},
            "task": task.name,
            "alphabet": task.alphabet,
            "seed": seed,
            "n": len(task.train_pool),
            "first": task.train_pool[0].prompt,
        },
        sort_keys=True,
    )
    key = hashlib.sha256(key_src.encode()).hexdigest()[:16]
    path = Path(cfg.cache_dir) / f"tiny-{task.name}-{key}"
    tok = tiny_tokenizer(cfg.tiny.tokenizer, task.alphabet)
    if (path / "config.json").exists():
        model = LlamaForCausalLM.from_pretrained(path)
        model.eval()
        return Policy(model, tok, chat=False, name=f"tiny:{path.name}")
    # Build under a forked RNG: the caller's random state must not depend on whether the model
    # was cached (loading from the cache consumes none), or a run's first rollout would.
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
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
        info = _warmup(model, tok, task, cfg, seed, log)
    tmp = path.with_name(path.name + ".tmp")
    model.save_pretrained(tmp)
    (tmp / "tiny_tokenizer.json").write_text(
        json.dumps({"alphabet": task.alphabet, "kind": cfg.tiny.tokenizer, **info})
    )
    if not path.exists():  # another process may have built it meanwhile: keep theirs
        tmp.replace(path)
    return Policy(model, tok, chat=False, name=f"tiny:{path.name}")


def load_tiny_directory(path: Path) -> Policy:
    """A tiny model saved by ``build_tiny_policy`` (its directory holds ``tiny_tokenizer.json``)."""
    from transformers import LlamaForCausalLM

    meta = json.loads((path / "tiny_tokenizer.json").read_text())
    model = LlamaForCausalLM.from_pretrained(path)
    model.eval()
    tok = tiny_tokenizer(meta.get("kind", "char"), meta["alphabet"])
    return Policy(model, tok, chat=False, name=str(path))
