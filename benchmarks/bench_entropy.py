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


def _variant(name: str, tokens: int, dim: int, vocab: int, chunk: int) -> dict:
    import torch

    from entropy_rl.core.entropy import entropy_and_log_prob, entropy_and_log_prob_from_hidden

    torch.manual_seed(0)
    hidden = torch.randn(1, tokens, dim, requires_grad=True)
    weight = (torch.randn(vocab, dim) / dim**0.5).requires_grad_()
    targets = torch.randint(0, vocab, (1, tokens))
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
    (ent.sum() + logp.sum()).backward()
    elapsed = time.perf_counter() - t0
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return {
        "variant": name,
        "seconds": elapsed,
        "peak_extra_mib": (peak - base) / 1024,
        "check": float(ent.sum()),
    }


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--tokens", type=int, default=2048)
    ap.add_argument("--dim", type=int, default=576)
    ap.add_argument("--vocab", type=int, default=49152)
    ap.add_argument("--chunk", type=int, default=256)
    ap.add_argument("--_child", default=None)
    ap.add_argument("--json", default="", help="Also write the results and their provenance here.")
    args = ap.parse_args()
    if args._child:
        print(json.dumps(_variant(args._child, args.tokens, args.dim, args.vocab, args.chunk)))
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
            ],
            check=True,
            capture_output=True,
            text=True,
        )
        results[name] = json.loads(out.stdout.strip().splitlines()[-1])
    base = results["naive"]
    print(f"tokens={args.tokens} dim={args.dim} vocab={args.vocab} chunk={args.chunk} (forward + backward)")
    for name, r in results.items():
        print(
            f"{name:>8}: {r['seconds']:.2f} s ({r['seconds'] / base['seconds']:.2f}× naive), "
            f"peak extra memory {r['peak_extra_mib']:.0f} MiB ({r['peak_extra_mib'] / base['peak_extra_mib']:.2f}× naive)"
        )

    write_record(
        args.json,
        {
            "sizes": {"tokens": args.tokens, "dim": args.dim, "vocab": args.vocab, "chunk": args.chunk},
            "variants": results,
            "time_vs_naive": {k: r["seconds"] / base["seconds"] for k, r in results.items()},
            "memory_vs_naive": {k: r["peak_extra_mib"] / base["peak_extra_mib"] for k, r in results.items()},
        },
    )

if __name__ == "__main__":
    main()
