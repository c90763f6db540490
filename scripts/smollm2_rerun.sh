#!/bin/bash
# SmolLM2 seed N (default 0) again, with the temperature sweep down to T = 0.02, so its entropy
# matching is measured: the committed T = 0.1-0.5 sweep plus low_temperatures.json's T < 0.1 rows
# become the run's baseline, which `compare` then reuses instead of sweeping again.
#   bash scripts/smollm2_rerun.sh 1   # -> runs/smollm2-rerun-seed1
set -e
seed=${1:-0}
cd "$(dirname "$0")/.."
if [ "$seed" = 0 ]; then out=runs/smollm2-rerun; committed=docs/results/smollm2-cpu; else
  out=runs/smollm2-rerun-seed$seed; committed=docs/results/smollm2-cpu/seed$seed; fi
mkdir -p "$out"
.venv/bin/python - "$seed" "$committed" "$out" <<'PY'
import json, sys
seed, committed, out = sys.argv[1:]
old = json.load(open(f"{committed}/baseline_temperature.json"))
low = json.load(open("docs/results/smollm2-cpu/low_temperatures.json"))["sweeps"][seed]["sweep"]
rows = sorted([r for r in low if r["temperature"] < 0.1] + old, key=lambda r: r["entropy"])
json.dump(rows, open(f"{out}/baseline_temperature.json", "w"), indent=1)
PY
echo "=== smollm2-seed$seed start $(date -u +%FT%TZ)"
start=$(date +%s)
set +e
.venv/bin/entropy-rl compare configs/smollm2-cpu.yaml --methods grpo,kl_cov,clip_cov --seeds 1 --jobs 1 \
  --set trainer.seed="$seed" --baseline-temperatures 0.02,0.05,0.1,0.3,0.5 --out "$out"
echo "=== smollm2-seed$seed rc=$? wall_s=$(( $(date +%s) - start )) end $(date -u +%FT%TZ)"
