"""Benchmark: how math-verify's time grows with an answer's bracket nesting, against a flat answer.

Sets ``scoring.math_verify.MAX_NESTING``: answers nested deeper score 0 (``too_nested``) without
reaching math-verify. Each answer is verified in a fresh process (as the verifier's workers do
after a kill), timed inside it, and stopped after ``--limit`` seconds. Prints, per form and depth,
the seconds and the ratio to a depth-1 answer of the same form, and writes them as JSON.

Usage: python benchmarks/bench_math_nesting.py [--depths 4,8,12,14,16] [--limit 20] [--out FILE]
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import time

from _record import write_record  # benchmarks/_record.py (scripts run from their folder)

FORMS = {
    "braces": lambda d: "{" * d + "1" + "}" * d,
    "fractions": lambda d: "\\frac{1}{" * d + "2" + "}" * d,
    "parentheses": lambda d: "(" * d + "1" + ")" * d,
    "brackets": lambda d: "[" * d + "1" + "]" * d,
}


def _verify(pred: str, queue) -> None:
    import warnings

    warnings.filterwarnings("ignore")
    from math_verify import parse, verify

    t = time.perf_counter()
    try:
        verify(
            parse("$1$", parsing_timeout=None),
            parse(f"\\boxed{{{pred}}}", parsing_timeout=None),
            timeout_seconds=None,
        )
    except Exception:
        pass
    queue.put(time.perf_counter() - t)


def timed(pred: str, limit: float) -> float | None:
    queue = mp.Queue()
    proc = mp.Process(target=_verify, args=(pred, queue))
    proc.start()
    proc.join(limit)
    if proc.is_alive():
        proc.kill()
        proc.join()
        return None
    return queue.get()


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--depths", default="4,8,12,14,16")
    ap.add_argument("--limit", type=float, default=20.0)
    ap.add_argument(
        "--out", "--json", dest="out", default="", help="Also write the results and their provenance here."
    )
    args = ap.parse_args()
    depths = [int(d) for d in args.depths.split(",")]
    rows = []
    for form, make in FORMS.items():
        base = timed(make(1), args.limit)
        for d in depths:
            s = timed(make(d), args.limit)
            ratio = "over the limit" if s is None else f"{s / base:.1f}×"
            print(
                f"{form:>12} depth {d:>2}: {'>' + str(args.limit) if s is None else f'{s:.2f}'} s, ratio to depth 1: {ratio}"
            )
            rows.append({"form": form, "depth": d, "seconds": s, "depth1_seconds": base})
            if s is None:
                break
    write_record(args.out, {"rows": rows})


if __name__ == "__main__":
    main()
