"""Benchmark: the cost of the TRL plug-in's loss step against TRL's own.

One training micro-step (``_compute_loss`` then ``backward``) on the same fixed batch and model,
through TRL's ``GRPOTrainer`` (loss_type "grpo", the baseline) and through
``EntropyGRPOTrainer`` with ``ppo``, ``clip_cov`` and ``kl_cov`` (which also compute the
covariance, its top shares and per-sign entropies, and log them). Trainers are timed in
alternation, in an order rotated each round (a fixed order biased the ratios by up to 20 %),
``--repeats`` rounds; prints the median time of each and its ratio to TRL's.

TRL's GRPOConfig turns gradient checkpointing on by default, and its chunked log-prob kernel
runs on CPU too, so a step costs far more here than a plain forward/backward; the defaults keep
the run near two minutes on 2 CPU cores.

Usage: python benchmarks/bench_trl_plugin.py [--batch 16] [--completion 64] [--hidden 128] [--repeats 9]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time

import torch
from _record import write_record  # benchmarks/_record.py (scripts run from their folder)
from datasets import Dataset
from tokenizers import Tokenizer, models
from transformers import LlamaConfig, LlamaForCausalLM, PreTrainedTokenizerFast
from trl import GRPOConfig, GRPOTrainer

from entropy_rl.core.losses import LossConfig
from entropy_rl.integrations.trl import EntropyGRPOTrainer


def _tokenizer(vocab_size: int) -> PreTrainedTokenizerFast:
    vocab = {"<pad>": 0, "<eos>": 1} | {f"t{i}": i for i in range(2, vocab_size)}
    tk = Tokenizer(models.WordLevel(vocab, unk_token="<pad>"))
    return PreTrainedTokenizerFast(tokenizer_object=tk, pad_token="<pad>", eos_token="<eos>")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--batch", type=int, default=16)
    ap.add_argument("--prompt", type=int, default=32)
    ap.add_argument("--completion", type=int, default=64)
    ap.add_argument("--hidden", type=int, default=128)
    ap.add_argument("--layers", type=int, default=2)
    ap.add_argument("--vocab", type=int, default=1024)
    ap.add_argument("--repeats", type=int, default=9)
    ap.add_argument("--json", default="", help="Also write the results and their provenance here.")
    args = ap.parse_args()
    torch.manual_seed(0)
    cfg = LlamaConfig(
        vocab_size=args.vocab, hidden_size=args.hidden, intermediate_size=4 * args.hidden,
        num_hidden_layers=args.layers, num_attention_heads=4, num_key_value_heads=4,
        max_position_embeddings=args.prompt + args.completion, pad_token_id=0, eos_token_id=1,
    )  # fmt: skip
    model = LlamaForCausalLM(cfg)
    tok = _tokenizer(args.vocab)
    out = tempfile.mkdtemp()
    grpo = GRPOConfig(
        output_dir=out, per_device_train_batch_size=args.batch, num_generations=4, use_cpu=True,
        report_to=[], loss_type="grpo", beta=0.0, num_iterations=2, disable_tqdm=True,
    )  # fmt: skip
    common = dict(model=model, reward_funcs=lambda completions, **kw: [0.0] * len(completions), args=grpo)
    common |= dict(train_dataset=Dataset.from_dict({"prompt": ["t2"] * 8}), processing_class=tok)
    lc = LossConfig(clip_cov_ratio=2e-3, kl_cov_ratio=2e-3)
    trainers = {"TRL grpo": GRPOTrainer(**common)}
    for name in ("ppo", "clip_cov", "kl_cov"):
        trainers[f"entropy-rl {name}"] = EntropyGRPOTrainer(**common, policy_loss=name, loss_config=lc)

    g = torch.Generator().manual_seed(0)
    b, p, c = args.batch, args.prompt, args.completion
    completion_mask = (torch.arange(c) < torch.randint(c // 2, c + 1, (b, 1), generator=g)).long()
    inputs = {
        "prompt_ids": torch.randint(2, args.vocab, (b, p), generator=g),
        "prompt_mask": torch.ones(b, p, dtype=torch.long),
        "completion_ids": torch.randint(2, args.vocab, (b, c), generator=g),
        "completion_mask": completion_mask,
        "advantages": torch.randn(b, generator=g),
        "old_per_token_logps": -torch.rand(b, c, generator=g) * 8,
        "num_items_in_batch": completion_mask.sum(),
    }
    times: dict[str, list[float]] = {k: [] for k in trainers}
    names = list(trainers)
    for rnd in range(args.repeats + 1):  # round 0 warms up
        # rotate the order each round so that no trainer always runs first or last
        for name in names[rnd % len(names) :] + names[: rnd % len(names)]:
            tr = trainers[name]
            tr.current_gradient_accumulation_steps = 1
            model.zero_grad()
            t0 = time.perf_counter()
            tr._compute_loss(model, inputs).backward()
            if rnd:
                times[name].append(time.perf_counter() - t0)
            for m in tr._metrics.values():
                m.clear()
    tokens = int(completion_mask.sum())
    params = sum(q.numel() for q in model.parameters()) / 1e6
    print(
        f"model {params:.1f}M params; batch {b} x ({p} prompt + {c} completion), {tokens} completion tokens"
    )
    print(f"torch threads {torch.get_num_threads()}; median of {args.repeats} rounds")
    base = statistics.median(times["TRL grpo"])
    record = {"step_ms": {}, "step_vs_trl_grpo": {}, "own_work_ms": {}, "own_work_share_of_trl_step": {}}
    for name, ts in times.items():
        med = statistics.median(ts)
        print(f"{name:22s} {med * 1e3:8.1f} ms   ratio to TRL grpo {med / base:.3f}")
        record["step_ms"][name], record["step_vs_trl_grpo"][name] = med * 1e3, med / base

    # Whole steps differ by less than their noise, so time the plug-in's own extra work directly:
    # the core loss plus its diagnostics (covariance, top shares, per-sign entropy, the per-token
    # sums of token_drivers.json, the gather),
    # on the step's log-probs and entropies.
    tr = trainers["entropy-rl kl_cov"]
    ids = torch.cat([inputs["prompt_ids"], inputs["completion_ids"]], 1)
    attn = torch.cat([inputs["prompt_mask"], completion_mask], 1)
    with torch.no_grad():
        log_prob, entropy, _ = tr._get_per_token_logps_and_entropies(
            model, ids, attn, c, compute_entropy=True
        )
    adv = inputs["advantages"].unsqueeze(1).expand_as(log_prob).contiguous()
    for name in ("ppo", "clip_cov", "kl_cov"):
        tr = trainers[f"entropy-rl {name}"]
        extra = []
        for _ in range(50):
            t0 = time.perf_counter()
            _, metrics = tr.policy_loss_fn(log_prob, inputs["old_per_token_logps"], adv, completion_mask, lc)
            tr._log_diagnostics(
                "train", metrics, log_prob, adv, entropy, completion_mask, inputs["completion_ids"]
            )
            extra.append(time.perf_counter() - t0)
        med = statistics.median(extra)
        print(
            f"entropy-rl {name:12s} loss + diagnostics {med * 1e3:6.2f} ms = {med / base:.4f} of a TRL step"
        )
        record["own_work_ms"][name], record["own_work_share_of_trl_step"][name] = med * 1e3, med / base
    write_record(args.json, record)


if __name__ == "__main__":
    main()
