#!/usr/bin/env bash
# The GPU check, prepared to run in three sends of the device tool (see docs/gpu.md):
#   send 1:  scripts/gpu_check.sh --stage
#            carry: .gpu-bundle/wheels .gpu-bundle/model/part-0 .gpu-bundle/model/sha256 .gpu-bundle/model/name
#            installs the wheels into /tmp/entropy-rl/site and keeps the first model part there
#   send 2:  scripts/gpu_check.sh --stage              carry: .gpu-bundle/model/part-1
#            keeps the second model part there
#   send 3:  scripts/gpu_check.sh --out "$OUT"         carry: .gpu-bundle/model/part-2
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

keep_parts() {  # whatever model files this send carried
  mkdir -p "$STAGE"
  for f in .gpu-bundle/model/part-0 .gpu-bundle/model/part-1 .gpu-bundle/model/part-2 .gpu-bundle/model/sha256 .gpu-bundle/model/name; do
    [ -f "$f" ] && cp "$f" "$STAGE/"
  done
  return 0
}

if [ "$mode" = stage ]; then
  [ -d .gpu-bundle/wheels ] && install_wheels
  keep_parts
  echo "[stage] kept in $STAGE: $(cd "$STAGE" && ls part-* 2>/dev/null | tr '\n' ' ')"
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
    keep_parts
    for i in 0 1 2; do
      [ -f "$STAGE/part-$i" ] || { echo "model part $i missing: sends 1 and 2 (--stage), then send 3 carrying .gpu-bundle/model/part-2" >&2; exit 1; }
    done
    gguf="$STAGE/$(cat "$STAGE/name")"
    cat "$STAGE/part-0" "$STAGE/part-1" "$STAGE/part-2" | xz -d > "$gguf"
    echo "$(cat "$STAGE/sha256")  $gguf" | sha256sum -c --quiet || { echo "the joined model does not match its checksum" >&2; exit 1; }
    "$PY" -c "import sys; from entropy_rl.models.smollm2 import smollm2_directory; smollm2_directory(sys.argv[1], src=sys.argv[2])" "$cache" "$gguf"
  fi
fi
export PYTHONUNBUFFERED=1
"$PY" scripts/gpu_check.py --out "$out" "${extra[@]}"
