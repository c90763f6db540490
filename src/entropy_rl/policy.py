"""The policy: a transformers causal LM with its tokenizer and prompt format.

- ``tiny``: a small Llama from a transformers config with a character tokenizer over the task's
  alphabet, warm-started by a short supervised pass on a *noisy teacher* (a share of plausible
  wrong answers), so RL starts from partial accuracy and high entropy. Built once per
  (config, task, seed) and cached; deterministic for a seed.
- any local transformers model directory (chat template when the tokenizer has one);
- ``smollm2-135m-instruct``: see ``entropy_rl.smollm2``.
"""

from __future__ import annotations

import hashlib
import json
import math
import random
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from entropy_rl.config import ModelConfig, TinyModelConfig
from entropy_rl.tasks import Task

PAD, BOS, EOS = 0, 1, 2


def readable_token(text: str, token_id: int) -> str:
    """A decoded token for tables: escapes shown (``\\n``), ``<id N>`` when it decodes to nothing."""
    return repr(text)[1:-1] if text else f"<id {token_id}>"


class CharTokenizer:
    """Character-level tokenizer: ids 0/1/2 are pad/bos/eos, then one id per alphabet character."""

    def __init__(self, alphabet: str):
        self.alphabet = alphabet
        self.pad_id, self.bos_id, self.eos_id = PAD, BOS, EOS
        self._ids = {c: i + 3 for i, c in enumerate(alphabet)}
        self.vocab_size = len(alphabet) + 3

    def encode(self, text: str) -> list[int]:
        try:
            return [self._ids[c] for c in text]
        except KeyError as e:
            raise ValueError(f"character {e.args[0]!r} is not in the tiny model's alphabet") from None

    def decode(self, ids) -> str:
        out = []
        for i in ids:
            i = int(i)
            if i == EOS:
                break
            if i >= 3:
                out.append(self.alphabet[i - 3])
        return "".join(out)

    def to_transformers(self):
        """The same ids as a ``PreTrainedTokenizerFast`` (for engines such as TRL): one token per
        character, ``<bos>`` prepended as ``Policy.prompt_ids`` does, decoding without spaces."""
        if type(self) is not CharTokenizer:
            raise ValueError(f"to_transformers supports the character tokenizer, not {type(self).__name__}")
        from tokenizers import Tokenizer, decoders, models, pre_tokenizers, processors
        from transformers import PreTrainedTokenizerFast

        vocab = {"<pad>": PAD, "<bos>": BOS, "<eos>": EOS} | self._ids
        tk = Tokenizer(models.WordLevel(vocab, unk_token="<pad>"))
        tk.pre_tokenizer = pre_tokenizers.Split("", "isolated")
        tk.post_processor = processors.TemplateProcessing(single="<bos> $A", special_tokens=[("<bos>", BOS)])
        tk.decoder = decoders.Fuse()
        return PreTrainedTokenizerFast(
            tokenizer_object=tk, pad_token="<pad>", bos_token="<bos>", eos_token="<eos>", unk_token="<pad>"
        )


class NumberTokenizer(CharTokenizer):
    """Like ``CharTokenizer``, but every run of up to three digits is one token ("47" → one id),
    as Llama-3-style tokenizers chunk numbers. Ids: specials, the alphabet's non-digit
    characters, then "0".."999" (with leading zeros: "007" ≠ "7").
    """

    _digit_run = re.compile(r"\d{1,3}")

    def __init__(self, alphabet: str):
        chars = "".join(c for c in alphabet if not c.isdigit())
        super().__init__(chars)
        self._numbers = (
            [str(i) for i in range(10)] + [f"{i:02d}" for i in range(100)] + [f"{i:03d}" for i in range(1000)]
        )
        self._num_ids = {t: len(chars) + 3 + i for i, t in enumerate(self._numbers)}
        self.vocab_size = len(chars) + 3 + len(self._numbers)

    def encode(self, text: str) -> list[int]:
        out: list[int] = []
        i = 0
        while i < len(text):
            m = self._digit_run.match(text, i)
            if m:
                out.append(self._num_ids[m.group()])
                i = m.end()
            else:
                out.extend(super().encode(text[i]))
                i += 1
        return out

    def decode(self, ids) -> str:
        out = []
        base = len(self.alphabet) + 3
        for i in ids:
            i = int(i)
            if i == EOS:
                break
            if i >= base:
                out.append(self._numbers[i - base])
            elif i >= 3:
                out.append(self.alphabet[i - 3])
        return "".join(out)


class HFTokenizer:
    """Adapter giving a transformers tokenizer the same small interface."""

    def __init__(self, tok):
        self.tok = tok
        self.eos_id = tok.eos_token_id
        self.pad_id = tok.pad_token_id if tok.pad_token_id is not None else tok.eos_token_id
        self.vocab_size = len(tok)

    def encode(self, text: str) -> list[int]:
        return self.tok.encode(text, add_special_tokens=False)

    def decode(self, ids) -> str:
        ids = [int(i) for i in ids]
        if self.eos_id in ids:
            ids = ids[: ids.index(self.eos_id)]
        return self.tok.decode(ids, skip_special_tokens=True)


@dataclass
class Policy:
    model: Any  # transformers PreTrainedModel
    tokenizer: CharTokenizer | HFTokenizer
    chat: bool  # wrap prompts in the chat template
    name: str

    def token_label(self, token_id: int) -> str:
        """A token as readable text (``readable_token``); ``<eos>`` for the end of a response."""
        if token_id == self.tokenizer.eos_id:
            return "<eos>"
        return readable_token(self.tokenizer.decode([token_id]), token_id)

    def prompt_ids(self, prompt: str) -> list[int]:
        if self.chat:
            tok = self.tokenizer.tok
            text = tok.apply_chat_template(
                [{"role": "user", "content": prompt}], add_generation_prompt=True, tokenize=False
            )
            return tok.encode(text, add_special_tokens=False)
        if isinstance(self.tokenizer, CharTokenizer):
            return [BOS, *self.tokenizer.encode(prompt)]
        return self.tokenizer.encode(prompt)


# ----------------------------------------------------------------------------- tiny model


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


def _noisy_answer(task: Task, problem, rng: random.Random, noise: float, unit: str) -> str:
    """The warm-up target: a correct answer from ``task.teacher_answer``, then noise. With
    ``unit='answer'`` it is replaced by a plausible wrong answer with probability ``noise``; with
    ``unit='digit'`` each digit is replaced independently with that probability."""
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


def _warmup(model, tok: CharTokenizer, task: Task, cfg: ModelConfig, seed: int) -> dict[str, float]:
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
            ans = _noisy_answer(task, p, rng, t.teacher_noise, t.teacher_noise_unit)
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
    model.eval()
    return {"warmup_final_loss": loss_val}


def _tiny_tokenizer(kind: str, alphabet: str) -> CharTokenizer:
    return NumberTokenizer(alphabet) if kind == "number" else CharTokenizer(alphabet)


def build_tiny_policy(task: Task, cfg: ModelConfig, log=print) -> Policy:
    """The tiny model for ``task``, built (and warm-started) once, then loaded from the cache."""
    from transformers import LlamaForCausalLM

    if task.alphabet is None:
        raise ValueError(f"task {task.name} has no character alphabet: the tiny model needs a compact task")
    seed = cfg.tiny.seed
    key_src = json.dumps(
        {
            "tiny": cfg.tiny.model_dump(),
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
    tok = _tiny_tokenizer(cfg.tiny.tokenizer, task.alphabet)
    if (path / "config.json").exists():
        model = LlamaForCausalLM.from_pretrained(path)
        model.eval()
        return Policy(model, tok, chat=False, name=f"tiny:{path.name}")
    # Build under a forked RNG: the caller's random state must not depend on whether the model
    # was cached (loading from the cache consumes none), or a run's first rollout would.
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        max_len = max(len(p.prompt) + len(p.answer) for p in task.train_pool + task.heldout) + 32
        model = _tiny_llama(tok.vocab_size, cfg, max_len=max(64, max_len))
        log(
            f"building tiny model ({sum(p.numel() for p in model.parameters()):,} parameters) "
            f"with {cfg.tiny.warmup_steps} warm-up steps → {path}"
        )
        info = _warmup(model, tok, task, cfg, seed)
    tmp = path.with_name(path.name + ".tmp")
    model.save_pretrained(tmp)
    (tmp / "tiny_tokenizer.json").write_text(
        json.dumps({"alphabet": task.alphabet, "kind": cfg.tiny.tokenizer, **info})
    )
    if not path.exists():  # another process may have built it meanwhile: keep theirs
        tmp.replace(path)
    return Policy(model, tok, chat=False, name=f"tiny:{path.name}")


def load_policy(cfg: ModelConfig, task: Task, seed: int, log=print) -> Policy:
    """Resolve ``model.name`` to a policy."""
    if cfg.name == "tiny":
        return build_tiny_policy(task, cfg, log)
    if cfg.name == "smollm2-135m-instruct":
        from entropy_rl.smollm2 import smollm2_directory

        return load_hf_directory(smollm2_directory(cfg.cache_dir, log=log), name=cfg.name)
    path = Path(cfg.name)
    if path.is_dir() and (path / "config.json").exists():
        if (path / "tiny_tokenizer.json").exists():
            from transformers import LlamaForCausalLM

            meta = json.loads((path / "tiny_tokenizer.json").read_text())
            model = LlamaForCausalLM.from_pretrained(path)
            model.eval()
            tok = _tiny_tokenizer(meta.get("kind", "char"), meta["alphabet"])
            return Policy(model, tok, chat=False, name=str(path))
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
