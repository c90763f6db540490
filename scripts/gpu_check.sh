#!/usr/bin/env bash
# The GPU check, prepared to run in two sends of the device tool (see docs/gpu.md):
#   send 1:  scripts/gpu_check.sh --stage
#            carry: .gpu-bundle/wheels .gpu-bundle/model/part-0 .gpu-bundle/model/sha256 .gpu-bundle/model/name
#            installs the wheels into /tmp/entropy-rl/site and keeps the first model part there
#   send 2:  scripts/gpu_check.sh --out "$OUT"          carry: .gpu-bundle/model/part-1
#            joins the model, converts it once, and runs scripts/gpu_check.py (about 8 minutes)
# On a CPU: scripts/gpu_check.sh --dry-run --out DIR runs the same checks with tiny sizes in
# this checkout's .venv (the tests do).
set -euo pipefail
caller=$PWD  # a relative --out is the caller's, made absolute before anything moves
cd "$(dirname "$0")/.."
STAGE=/tmp/entropy-rl
mode=check; out=""; extra=()
while (( $# )); do
  case "$1" in
    --stage) mode=stage ;;
    --dry-run) mode=dry; extra+=(--dry-run) ;;
    --out) out="$2"; shift ;;
    --skip-smollm2) extra+=(--skip-smollm2) ;;
    *) echo "gpu_check.sh: unknown argument $1" >&2; exit 2 ;;
  esac
  shift
done

install_wheels() {
  [ -d "$STAGE/site" ] && return 0
  [ -d .gpu-bundle/wheels ] || { echo "no .gpu-bundle/wheels here: run make gpu-bundle and carry it (send 1)" >&2; exit 1; }
  mkdir -p "$STAGE"
  echo "[stage] installing $(ls .gpu-bundle/wheels | wc -l) packages into $STAGE/site"
  python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --no-build-isolation \
    --target "$STAGE/site" .gpu-bundle/wheels/*
}

if [ "$mode" = stage ]; then
  install_wheels
  cp .gpu-bundle/model/part-0 .gpu-bundle/model/sha256 .gpu-bundle/model/name "$STAGE/"
  echo "[stage] done: first model part kept in $STAGE; now send 2 with .gpu-bundle/model/part-1"
  exit 0
fi
[ -n "$out" ] || { echo "gpu_check.sh: --out DIR is required" >&2; exit 2; }
case "$out" in /*) ;; *) out="$caller/$out" ;; esac

if [ "$mode" = dry ]; then
  PY=${PY:-.venv/bin/python}
else
  install_wheels
  export PYTHONPATH="$PWD/src:$STAGE/site${PYTHONPATH:+:$PYTHONPATH}"
  PY=python3
  cache="$PWD/.cache/entropy-rl"
  if [ ! -f "$cache/smollm2-135m-instruct/config.json" ]; then
    [ -f "$STAGE/part-0" ] && [ -f .gpu-bundle/model/part-1 ] || { echo "model parts missing: send 1 (--stage), then send 2 carrying .gpu-bundle/model/part-1" >&2; exit 1; }
    gguf="$STAGE/$(cat "$STAGE/name")"
    cat "$STAGE/part-0" .gpu-bundle/model/part-1 | xz -d > "$gguf"
    echo "$(cat "$STAGE/sha256")  $gguf" | sha256sum -c --quiet || { echo "the joined model does not match its checksum" >&2; exit 1; }
    "$PY" -c "import sys; from entropy_rl.models.smollm2 import smollm2_directory; smollm2_directory(sys.argv[1], src=sys.argv[2])" "$cache" "$gguf"
  fi
fi
export PYTHONUNBUFFERED=1
"$PY" scripts/gpu_check.py --out "$out" "${extra[@]}"
