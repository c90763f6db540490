"""Benchmark: token entropy + log-probs with gradient, naive vs chunked vs fused-from-hidden.

Each variant runs in its own subprocess so its peak resident memory is its own. Prints time and
peak-memory ratios against the naive baseline measured in the same run (SmolLM2-like shapes:
hidden 576, vocab 49152). Usage: python benchmarks/bench_entropy.py [--tokens 2048]
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time

from _record import write_record  # benchmarks/_record.py (scripts run from their folder)


def _variant(name: str, tokens: int, dim: int, vocab: int, chunk: int, device: str = "cpu") -> dict:
    import torch

    from entropy_rl.core.entropy import entropy_and_log_prob, entropy_and_log_prob_from_hidden

    torch.manual_seed(0)
    cuda = device == "cuda"
    dtype = torch.bfloat16 if cuda else torch.float32  # the trainer's precision on each device
    hidden = torch.randn(1, tokens, dim, device=device, dtype=dtype, requires_grad=True)
    weight = (torch.randn(vocab, dim, device=device) / dim**0.5).to(dtype).requires_grad_()
    targets = torch.randint(0, vocab, (1, tokens), device=device)
    if cuda:
        (hidden.detach()[0, :8] @ weight.detach()[:8].t()).sum().item()  # cuBLAS set-up outside the timing
        torch.cuda.synchronize()
        torch.cuda.reset_peak_memory_stats()
        base = torch.cuda.memory_allocated() / 1024  # KiB, as ru_maxrss
    else:
        base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    t0 = time.perf_counter()
    if name == "naive":
        logits = hidden @ weight.t()
        logp_all = torch.log_softmax(logits.float(), -1)
        ent = -(logp_all.exp() * logp_all).sum(-1)
        logp = logp_all.gather(-1, targets[..., None]).squeeze(-1)
    elif name == "chunked":
        ent, logp = entropy_and_log_prob(hidden @ weight.t(), targets, 1.0, chunk_size=chunk)
    else:
        ent, logp = entropy_and_log_prob_from_hidden(hidden, weight, targets, 1.0, chunk_size=chunk)
    (ent.float().sum() + logp.float().sum()).backward()
    if cuda:
        torch.cuda.synchronize()
    elapsed = time.perf_counter() - t0
    peak = (
        torch.cuda.max_memory_allocated() / 1024
        if cuda
        else resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    )
    return {
        "variant": name,
        "seconds": elapsed,
        "peak_extra_mib": (peak - base) / 1024,
        "check": float(ent.float().sum()),
    }


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--tokens", type=int, default=2048)
    ap.add_argument("--dim", type=int, default=576)
    ap.add_argument("--vocab", type=int, default=49152)
    ap.add_argument("--chunk", type=int, default=256)
    ap.add_argument(
        "--device", default="cpu", choices=["cpu", "cuda"], help="cuda: bf16, peak from torch.cuda."
    )
    ap.add_argument("--_child", default=None)
    ap.add_argument("--json", default="", help="Also write the results and their provenance here.")
    args = ap.parse_args()
    if args._child:
        print(json.dumps(_variant(args._child, args.tokens, args.dim, args.vocab, args.chunk, args.device)))
        return
    results = {}
    for name in ("naive", "chunked", "fused"):
        out = subprocess.run(
            [
                sys.executable,
                __file__,
                "--_child",
                name,
                "--tokens",
                str(args.tokens),
                "--dim",
                str(args.dim),
                "--vocab",
                str(args.vocab),
                "--chunk",
                str(args.chunk),
                "--device",
                args.device,
            ],
            check=True,
            capture_output=True,
            text=True,
        )
        results[name] = json.loads(out.stdout.strip().splitlines()[-1])
    base = results["naive"]
    print(
        f"tokens={args.tokens} dim={args.dim} vocab={args.vocab} chunk={args.chunk} device={args.device} (forward + backward)"
    )
    for name, r in results.items():
        print(
            f"{name:>8}: {r['seconds']:.2f} s ({r['seconds'] / base['seconds']:.2f}× naive), "
            f"peak extra memory {r['peak_extra_mib']:.0f} MiB ({r['peak_extra_mib'] / base['peak_extra_mib']:.2f}× naive)"
        )

    write_record(
        args.json,
        {
            "sizes": {
                "tokens": args.tokens,
                "dim": args.dim,
                "vocab": args.vocab,
                "chunk": args.chunk,
                "device": args.device,
            },
            "variants": results,
            "time_vs_naive": {k: r["seconds"] / base["seconds"] for k, r in results.items()},
            "memory_vs_naive": {k: r["peak_extra_mib"] / base["peak_extra_mib"] for k, r in results.items()},
        },
    )


if __name__ == "__main__":
    main()
