"""Rollouts: batched sampling with a KV cache, and the per-token log-prob / entropy pass.

Layout of a ``RolloutBatch``: ``input_ids`` (batch, P + L) holds left-padded prompts (P columns)
followed by responses (L columns, right-padded after the first EOS). Row order is prompt-major:
the G responses of prompt 0, then of prompt 1, ...
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import torch

from entropy_rl.config import RolloutConfig
from entropy_rl.core.entropy import entropy_and_log_prob, entropy_and_log_prob_from_hidden
from entropy_rl.models.policy import Policy
from entropy_rl.scoring.types import Problem


@dataclass(frozen=True)
class SamplingParams:
    """How responses are sampled: temperature (entropy is measured at it), nucleus top-p, length cap."""

    temperature: float
    top_p: float
    max_new_tokens: int

    @classmethod
    def from_config(cls, r: RolloutConfig) -> SamplingParams:
        return cls(r.temperature, r.top_p, r.max_new_tokens)

    def at_temperature(self, temperature: float) -> SamplingParams:
        return replace(self, temperature=temperature)


@dataclass
class RolloutBatch:
    input_ids: torch.Tensor  # (batch, P + L)
    attention_mask: torch.Tensor  # (batch, P + L), 0 on prompt padding and after EOS
    response_mask: torch.Tensor  # (batch, L), 1 on response tokens up to and including EOS
    prompt_len: int  # P
    texts: list[str]  # decoded responses
    problems: list[Problem]  # one per row

    @property
    def responses(self) -> torch.Tensor:
        return self.input_ids[:, self.prompt_len :]

    def select(self, rows: torch.Tensor) -> RolloutBatch:
        idx = rows.tolist()
        return RolloutBatch(
            self.input_ids[rows],
            self.attention_mask[rows],
            self.response_mask[rows],
            self.prompt_len,
            [self.texts[i] for i in idx],
            [self.problems[i] for i in idx],
        )

    def to(self, device) -> RolloutBatch:
        return RolloutBatch(
            self.input_ids.to(device),
            self.attention_mask.to(device),
            self.response_mask.to(device),
            self.prompt_len,
            self.texts,
            self.problems,
        )


def _left_pad(seqs: list[list[int]], pad: int) -> tuple[torch.Tensor, torch.Tensor]:
    width = max(map(len, seqs))
    ids = torch.full((len(seqs), width), pad, dtype=torch.long)
    mask = torch.zeros((len(seqs), width), dtype=torch.long)
    for r, s in enumerate(seqs):
        ids[r, width - len(s) :] = torch.tensor(s, dtype=torch.long)
        mask[r, width - len(s) :] = 1
    return ids, mask


def response_mask_from(responses: torch.Tensor, eos_id: int) -> torch.Tensor:
    """1 up to and including the first EOS of each row (all ones when no EOS: truncated)."""
    is_eos = responses == eos_id
    after = torch.cumsum(is_eos.long(), dim=1) - is_eos.long()  # EOS seen strictly before
    return (after == 0).long()


@torch.no_grad()
def generate(
    policy: Policy,
    problems: list[Problem],
    group_size: int,
    sampling: SamplingParams,
    device: torch.device,
) -> RolloutBatch:
    """Sample ``group_size`` responses per problem in one batched ``generate`` call."""
    tok = policy.tokenizer
    rows = [p for p in problems for _ in range(group_size)]
    prompt_ids, prompt_mask = _left_pad([policy.prompt_ids(p.prompt) for p in rows], tok.pad_id)
    prompt_ids, prompt_mask = prompt_ids.to(device), prompt_mask.to(device)
    model = policy.model
    was_training = model.training
    model.eval()
    out = model.generate(
        input_ids=prompt_ids,
        attention_mask=prompt_mask,
        do_sample=True,
        temperature=sampling.temperature,
        top_p=sampling.top_p,
        top_k=0,
        max_new_tokens=sampling.max_new_tokens,
        pad_token_id=tok.pad_id,
        eos_token_id=tok.eos_id,
        use_cache=True,
    )
    model.train(was_training)
    p_len = prompt_ids.shape[1]
    responses = out[:, p_len:]
    if responses.shape[1] == 0:  # pragma: no cover - generate always emits a token
        raise RuntimeError("generation produced no tokens")
    rmask = response_mask_from(responses, tok.eos_id)
    responses = responses.masked_fill(rmask == 0, tok.pad_id)
    texts = [tok.decode(r[m.bool()].tolist()) for r, m in zip(responses, rmask, strict=True)]
    return RolloutBatch(
        input_ids=torch.cat([prompt_ids, responses], dim=1),
        attention_mask=torch.cat([prompt_mask, rmask], dim=1),
        response_mask=rmask,
        prompt_len=p_len,
        texts=texts,
        problems=rows,
    )


def response_log_probs(
    model, batch: RolloutBatch, temperature: float, fused: bool = False, chunk_size: int = 1024
) -> tuple[torch.Tensor, torch.Tensor]:
    """log π(token) and full-vocabulary entropy at ``temperature`` for each response token.

    Returns two (batch, L) fp32 tensors (0 where masked). Differentiable when grad is enabled.
    ``fused`` computes them from the last hidden states and the LM-head weight in chunks
    (``entropy_and_log_prob_from_hidden``), never holding (batch, L, vocab) logits.
    """
    attn = batch.attention_mask
    pos = (attn.cumsum(-1) - 1).clamp(min=0)
    p, length = batch.prompt_len, batch.response_mask.shape[1]
    targets = batch.responses
    if fused:
        hidden = model.get_decoder()(
            input_ids=batch.input_ids, attention_mask=attn, position_ids=pos
        ).last_hidden_state
        h = hidden[:, p - 1 : p + length - 1]
        ent, logp = entropy_and_log_prob_from_hidden(
            h, model.get_output_embeddings().weight, targets, temperature, chunk_size=chunk_size
        )
    else:
        logits = model(input_ids=batch.input_ids, attention_mask=attn, position_ids=pos).logits
        ent, logp = entropy_and_log_prob(logits[:, p - 1 : p + length - 1], targets, temperature, chunk_size)
    m = batch.response_mask.to(ent.dtype)
    return logp * m, ent * m


def response_log_softmax(model, batch: RolloutBatch, temperature: float) -> torch.Tensor:
    """Full log-softmax at ``temperature`` on the valid response tokens: (n_valid, vocab).

    Used on the small probe batch to measure entropy change and predict it to first order.
    """
    attn = batch.attention_mask
    pos = (attn.cumsum(-1) - 1).clamp(min=0)
    p, length = batch.prompt_len, batch.response_mask.shape[1]
    logits = model(input_ids=batch.input_ids, attention_mask=attn, position_ids=pos).logits
    logits = logits[:, p - 1 : p + length - 1].float() / temperature
    return torch.log_softmax(logits[batch.response_mask.bool()], dim=-1)
