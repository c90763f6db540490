"""How reading a log and forecasting from it grows with the log: `entropy-rl fit LOG --json` end to
end (read, law, bootstrap forecast, strict JSON) on generated logs of a collapsing run, each size
in a fresh process so that its peak memory is its own. The baseline is the smallest log of the
same format, measured in the same run: the ratio "time per step / baseline's" stays near 1 (or
falls) when the cost grows no faster than the log. The targets (docs/safety.md): a 1,000,000-step
log answers in under 30 s and 1 GB on 2 cores.

    .venv/bin/python benchmarks/bench_log_scaling.py [--steps 1000,1000000] [--formats verl,jsonl,tensorboard] [--json PATH]
"""

from __future__ import annotations

import argparse
import json
import math
import random
import subprocess
import sys
import tempfile
from pathlib import Path

from _record import write_record

CHILD = """
import json, resource, sys, time
t0 = time.perf_counter()
from entropy_rl.analysis.runs import load_run
from entropy_rl.analysis.stats import fit_json
from entropy_rl.files import strict_json
out = json.loads(strict_json(fit_json(load_run(sys.argv[1]))))
print(json.dumps({"wall_s": time.perf_counter() - t0, "peak_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
                  "points": out["points"], "steps": out["steps"], "forecast": out["forecast"]["predicted_final"]}))
"""


def _points(steps: int):
    rng = random.Random(0)
    for s in range(1, steps + 1):
        h = 0.1 + 1.2 * math.exp(-s / (0.15 * steps)) + rng.gauss(0, 0.01)
        yield s, h, 0.9 - 0.3 * math.exp(h) + rng.gauss(0, 0.02)


def write_verl(path: Path, steps: int) -> Path:
    with open(path, "w") as f:
        for s, h, r in _points(steps):
            f.write(f"step:{s} - actor/entropy:{h:.6f} - critic/score/mean:{r:.6f}\n")
    return path


def write_jsonl(path: Path, steps: int) -> Path:
    with open(path, "w") as f:
        for s, h, r in _points(steps):
            f.write(json.dumps({"step": s, "data": {"actor/entropy": round(h, 6), "critic/score/mean": round(r, 6)}}) + "\n")
    return path


def write_tensorboard(path: Path, steps: int) -> Path:
    """A TFRecord event file written with TensorBoard's protobuf classes and CRC-32C, as TensorBoard's
    writers do (faster than a SummaryWriter at a million steps)."""
    import crc32c
    from tensorboard.compat.proto import event_pb2, summary_pb2

    def masked(data: bytes) -> bytes:
        c = crc32c.crc32c(data)
        return ((((c >> 15) | (c << 17)) + 0xA282EAD8) & 0xFFFFFFFF).to_bytes(4, "little")

    path.mkdir(parents=True, exist_ok=True)
    with open(path / "events.out.tfevents.0.bench", "wb") as f:
        for s, h, r in _points(steps):
            for tag, v in (("train/entropy", h), ("train/reward", r)):
                ev = event_pb2.Event(step=s, wall_time=float(s))
                ev.summary.value.append(summary_pb2.Summary.Value(tag=tag, simple_value=v))
                data = ev.SerializeToString()
                head = len(data).to_bytes(8, "little")
                f.write(head + masked(head) + data + masked(data))
    return path


WRITERS = {"verl": write_verl, "jsonl": write_jsonl, "tensorboard": write_tensorboard}
SUFFIX = {"verl": ".log", "jsonl": ".jsonl", "tensorboard": ""}


def measure(fmt: str, steps: int, tmp: Path) -> dict:
    log = WRITERS[fmt](tmp / f"{fmt}-{steps}{SUFFIX[fmt]}", steps)
    size = sum(p.stat().st_size for p in ([log] if log.is_file() else log.iterdir()))
    proc = subprocess.run([sys.executable, "-c", CHILD, str(log)], capture_output=True, text=True, timeout=1800)
    if proc.returncode != 0:
        raise SystemExit(f"{fmt} {steps}: {proc.stderr.strip().splitlines()[-1]}")
    return {"format": fmt, "steps": steps, "bytes": size, **json.loads(proc.stdout.strip().splitlines()[-1])}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--steps", default="1000,100000,1000000", help="Log lengths; the first is the baseline.")
    ap.add_argument("--formats", default="verl,jsonl,tensorboard")
    ap.add_argument("--json", default=None)
    args = ap.parse_args()
    sizes = [int(s) for s in args.steps.split(",")]
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for fmt in args.formats.split(","):
            base = None
            for steps in sizes:
                row = measure(fmt, steps, Path(tmp))
                per_step = row["wall_s"] / steps
                base = base or per_step
                row["time_per_step_ratio"] = per_step / base
                rows.append(row)
                print(
                    f"{fmt:12s} {steps:>9,d} steps {row['bytes'] / 2**20:8.1f} MiB  {row['wall_s']:7.2f} s  "
                    f"peak {row['peak_mib']:7.0f} MiB  time per step {row['time_per_step_ratio']:.3f}× the "
                    f"{sizes[0]:,}-step log's",
                    flush=True,
                )
    write_record(args.json, {"runs": rows, "targets": {"steps": 1_000_000, "wall_s": 30, "peak_mib": 1024}})


if __name__ == "__main__":
    main()
