#!/bin/bash
# SmolLM2 seed 0 again, with the temperature sweep down to T = 0.02, so its entropy matching is measured.
cd "$(dirname "$0")/.."
mkdir -p runs/smollm2-rerun
.venv/bin/python - <<'PY'
import json
old = json.load(open("docs/results/smollm2-cpu/baseline_temperature.json"))
low = json.load(open("docs/results/smollm2-cpu/low_temperatures.json"))["sweeps"]["0"]["sweep"]
rows = sorted([r for r in low if r["temperature"] < 0.1] + old, key=lambda r: r["entropy"])
json.dump(rows, open("runs/smollm2-rerun/baseline_temperature.json", "w"), indent=1)
PY
echo "=== smollm2-seed0 start $(date -u +%FT%TZ)"
start=$(date +%s)
.venv/bin/entropy-rl compare configs/smollm2-cpu.yaml --methods grpo,kl_cov,clip_cov --seeds 1 --jobs 1 --baseline-temperatures 0.02,0.05,0.1,0.3,0.5 --out runs/smollm2-rerun
echo "=== smollm2-seed0 rc=$? wall_s=$(( $(date +%s) - start )) end $(date -u +%FT%TZ)"
