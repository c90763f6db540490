"""Benchmark: the machine's fp32 matmul rate, the peak an update's ``update_gflop_per_s`` is a
share of (the brief's reference: about 100 GFLOP/s on 2 threads of this machine kind).

Times square fp32 matmuls of ``--size`` on ``--threads`` threads, median of ``--repeats`` after
one warm-up, and prints GFLOP/s; also a (``--tokens`` × 576) @ (576 × 1536) product,
the shape of SmolLM2-135M's MLP, whose rate is what its update can hope for, and the square
product in bf16 (a CPU without bf16 matmul units runs it slower than fp32).

Usage: python benchmarks/bench_matmul_peak.py [--size 2048] [--threads 2] [--repeats 7] [--json PATH]
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch
from _record import write_record  # benchmarks/_record.py (scripts run from their folder)


def rate(a: torch.Tensor, b: torch.Tensor, repeats: int) -> float:
    """GFLOP/s of ``a @ b``, median over ``repeats`` after a warm-up."""
    a @ b
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        a @ b
        times.append(time.perf_counter() - t0)
    return 2 * a.shape[0] * a.shape[1] * b.shape[1] / statistics.median(times) / 1e9


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--size", type=int, default=2048)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--repeats", type=int, default=7)
    ap.add_argument("--tokens", type=int, default=4096, help="rows of the SmolLM2-shaped product")
    ap.add_argument("--json", default="", help="Also write the results and their provenance here.")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    g = torch.Generator().manual_seed(0)
    n = args.size
    square = rate(torch.randn(n, n, generator=g), torch.randn(n, n, generator=g), args.repeats)
    mlp = rate(torch.randn(args.tokens, 576, generator=g), torch.randn(576, 1536, generator=g), args.repeats)
    m = min(n, 512)  # without bf16 units the product is two orders of magnitude slower
    a, b = torch.randn(m, m, generator=g), torch.randn(m, m, generator=g)
    bf16, fp32_small = rate(a.bfloat16(), b.bfloat16(), 3), rate(a, b, args.repeats)
    print(f"fp32 matmul on {args.threads} threads: {n}×{n} square {square:.1f} GFLOP/s")
    print(f"bf16 matmul {m}×{m}: {bf16:.1f} GFLOP/s, ratio to fp32 at that size {bf16 / fp32_small:.2f}")
    print(
        f"({args.tokens}×576) @ (576×1536), SmolLM2's MLP shape: {mlp:.1f} GFLOP/s, ratio to square {mlp / square:.2f}"
    )
    write_record(
        args.json,
        {
            "square_gflop_per_s": square,
            "bf16_gflop_per_s": bf16,
            "fp32_gflop_per_s_same_size": fp32_small,
            "bf16_size": m,
            "smollm2_mlp_gflop_per_s": mlp,
            "size": n,
            "tokens": args.tokens,
        },
    )


if __name__ == "__main__":
    main()
