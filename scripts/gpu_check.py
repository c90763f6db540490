"""The GPU check, in one process: every loss for a few CUDA training steps through the trainer
(bf16, fused entropy), the entropy benchmark on the device, and the SmolLM2 recipe (GRPO and
KL-Cov) for as many steps as its budget allows. Writes OUT/gpu_check.json (device, versions,
date, command, each part's figures and wall time) and the runs' reports.

Run by scripts/gpu_check.sh, which prepares the device first. ``--dry-run`` does the same on
the CPU with tiny sizes (the tests run it)."""

from __future__ import annotations

import argparse
import json
import platform
import subprocess
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

import torch

from entropy_rl.config import load_config
from entropy_rl.core.losses import POLICY_LOSSES
from entropy_rl.files import strict_json
from entropy_rl.train.experiment import run_experiment
from entropy_rl.train.trainer import train

ROOT = Path(__file__).resolve().parent.parent
CACHE = ROOT / ".cache" / "entropy-rl"  # where gpu_check.sh converts the model: absolute, whatever the cwd

# Per part: (full size on the GPU, dry-run size on the CPU).
SIZES = {
    "warmup_steps": (300, 5),
    "loss_steps": (2, 1),
    "prompts": (64, 2),
    "group": (8, 2),
    # the CPU recipe's own sizes on the GPU (configs/smollm2-cpu.yaml), so the two compare
    "smollm2_steps": (30, 1),
    "smollm2_prompts": (8, 2),
    "smollm2_group": (8, 2),
    "smollm2_eval": (32, 2),
    "smollm2_eval_k": (8, 2),
    "smollm2_tokens": (16, 8),
    "smollm2_probe": (8, 2),
    "bench_tokens": (16384, 128),
    "bench_vocab": (49152, 2048),
    "bench_dim": (576, 64),
}


def _log(msg: str) -> None:
    print(f"[gpu-check {time.strftime('%H:%M:%S')}] {msg}", flush=True)


def every_loss(out: Path, size, device: str) -> dict:
    """One or two training steps of each registered loss on the tiny countdown model."""
    results = {}
    names = sorted(POLICY_LOSSES)
    for i, name in enumerate(names):
        cfg = load_config(
            ROOT / "configs" / "quickstart.yaml",
            [
                f"model.tiny.warmup_steps={size('warmup_steps')}",
                f"model.cache_dir={CACHE}",
                "model.fused_logits=true",
                f"algorithm.loss={name}",
                f"trainer.steps={size('loss_steps')}",
                f"trainer.device={device}",
                "trainer.precision=bf16",
                f"rollout.prompts_per_step={size('prompts')}",
                f"rollout.group_size={size('smollm2_group')}",
                "trainer.mini_batches=1",
                "trainer.eval_problems=4",
                "trainer.eval_k=2",
                "trainer.eval_every=100",
                "trainer.checkpoint_every=100",
                "task.n_heldout=8",
            ],
        )
        t0 = time.perf_counter()
        try:
            train(cfg, out / "losses" / name, quiet=True)
            rows = [json.loads(line) for line in (out / "losses" / name / "metrics.jsonl").read_text().splitlines()]
            last = rows[-1]
            results[name] = {
                "ok": True,
                "seconds": time.perf_counter() - t0,
                "steps": len(rows),
                "entropy": last["entropy"],
                "loss": last["loss"],
                "step_time": last["step_time"],
            }
        except Exception as e:  # one broken loss must not hide the others
            results[name] = {"ok": False, "error": f"{type(e).__name__}: {e}"}
        _log(f"loss {i + 1}/{len(names)} {name}: {'ok' if results[name]['ok'] else results[name]['error']}")
    return results


def entropy_benchmark(out: Path, size, device: str) -> dict:
    cmd = [
        sys.executable,
        str(ROOT / "benchmarks" / "bench_entropy.py"),
        "--device",
        device,
        "--tokens",
        str(size("bench_tokens")),
        "--vocab",
        str(size("bench_vocab")),
        "--dim",
        str(size("bench_dim")),
        "--json",
        str(out / "bench_entropy.json"),
    ]
    res = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT / "benchmarks")
    _log("entropy benchmark: " + (res.stdout.strip().replace("\n", " | ") or res.stderr[-300:]))
    if res.returncode != 0:
        return {"ok": False, "error": res.stderr[-2000:]}
    return {"ok": True, **json.loads((out / "bench_entropy.json").read_text())}


def smollm2_recipe(out: Path, size, device: str) -> dict:
    """GRPO and KL-Cov on SmolLM2-135M-Instruct on one-digit sums and differences
    (configs/smollm2-cpu.yaml, the CPU recipe), one seed each."""
    overrides = [
        f"model.cache_dir={CACHE}",
        f"trainer.steps={size('smollm2_steps')}",
        f"trainer.device={device}",
        f"rollout.prompts_per_step={size('smollm2_prompts')}",
        f"rollout.group_size={size('smollm2_group')}",
        f"trainer.eval_problems={size('smollm2_eval')}",
        f"trainer.eval_k={size('smollm2_eval_k')}",
        f"trainer.probe_size={size('smollm2_probe')}",
        f"rollout.max_new_tokens={size('smollm2_tokens')}",
        "trainer.eval_every=10",
        "trainer.checkpoint_every=100",
    ]
    base = load_config(ROOT / "configs" / "smollm2-cpu.yaml", overrides)
    t0 = time.perf_counter()
    result = run_experiment(base, ["grpo", "kl_cov"], 1, out / "smollm2", jobs=1, temperatures=[], log=_log, overrides=overrides)
    return {
        "ok": not result.failed,
        "failed": result.failed,
        "seconds": time.perf_counter() - t0,
        "methods": result.summary.get("methods", {}),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--out", required=True, help="Folder for gpu_check.json and the runs.")
    ap.add_argument("--dry-run", action="store_true", help="CPU, tiny sizes: the same code paths.")
    ap.add_argument("--skip-smollm2", action="store_true", help="Leave out the SmolLM2 part.")
    args = ap.parse_args()
    out = Path(args.out).resolve()  # every path written or read below is absolute from here on
    out.mkdir(parents=True, exist_ok=True)
    device = "cpu" if args.dry_run else "cuda"
    if device == "cuda" and not torch.cuda.is_available():
        sys.exit("gpu_check: no CUDA device here (use --dry-run on a CPU)")

    def size(key: str) -> int:
        return SIZES[key][1 if args.dry_run else 0]

    record = {
        "command": " ".join(sys.argv),
        "date": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "device": torch.cuda.get_device_name(0) if device == "cuda" else platform.processor() or "cpu",
        "torch": torch.__version__,
        "python": platform.python_version(),
        "dry_run": args.dry_run,
        "parts": {},
    }
    parts = [("every_loss", every_loss), ("entropy_benchmark", entropy_benchmark)]
    if not args.skip_smollm2:
        parts.append(("smollm2", smollm2_recipe))
    for i, (name, part) in enumerate(parts):
        _log(f"part {i + 1}/{len(parts)}: {name}")
        t0 = time.perf_counter()
        record["parts"][name] = part(out, size, device)
        record["parts"][name]["wall_s"] = time.perf_counter() - t0
        (out / "gpu_check.json").write_text(strict_json(record, indent=1, default=str))
    failed = [n for n, p in record["parts"].items() if not p.get("ok", all(v.get("ok") for v in p.values() if isinstance(v, dict)))]
    _log(f"done: {out / 'gpu_check.json'}" + (f"; failed: {failed}" if failed else ""))
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
