"""The policy: a transformers causal LM with its tokenizer and prompt format."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from entropy_rl.core.diagnostics import readable_token
from entropy_rl.models.tokenizers import BOS, CharTokenizer, HFTokenizer


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
