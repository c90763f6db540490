"""Tokenizers with one small interface: ``encode``, ``decode``, ``pad_id``, ``eos_id``, ``vocab_size``."""

from __future__ import annotations

import re

PAD, BOS, EOS = 0, 1, 2


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


def tiny_tokenizer(kind: str, alphabet: str) -> CharTokenizer:
    """The tiny model's tokenizer: ``char`` or ``number`` (digit runs of up to three as one token)."""
    return NumberTokenizer(alphabet) if kind == "number" else CharTokenizer(alphabet)
