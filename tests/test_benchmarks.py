"""The benchmarks still run (tiny sizes: this checks they work, not how fast anything is)."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).parent.parent / "benchmarks"

CASES = [
    ("bench_entropy.py", ["--tokens", "64", "--dim", "32", "--vocab", "512", "--chunk", "16"]),
    ("bench_scoring.py", ["--steps", "2", "--prompts", "4", "--group", "2"]),
    ("bench_math_nesting.py", ["--depths", "2", "--limit", "30"]),
    (
        "bench_trl_plugin.py",
        ["--batch", "4", "--prompt", "4", "--completion", "8", "--hidden", "32", "--vocab", "64", "--repeats", "1"],
    ),
]


@pytest.mark.parametrize("script, args", CASES, ids=[c[0] for c in CASES])
def test_benchmark_runs(script, args, tmp_path):
    if script == "bench_trl_plugin.py":
        pytest.importorskip("trl")
    if script == "bench_math_nesting.py":
        pytest.importorskip("math_verify")
    out = tmp_path / "record.json"
    proc = subprocess.run(
        [sys.executable, str(BENCH / script), *args, "--json", str(out)], capture_output=True, text=True, timeout=300
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "ratio" in proc.stdout or "×" in proc.stdout, proc.stdout[-2000:]
    record = json.loads(out.read_text())  # what a figure in the docs traces to
    assert record["command"].startswith("python") and script in record["command"]
    assert record["machine"]["cpu"] and record["date"] and record["results"]
