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
    ("bench_matmul_peak.py", ["--size", "64", "--tokens", "32", "--repeats", "2", "--threads", "1"]),
    ("bench_math_nesting.py", ["--depths", "2", "--limit", "30"]),
    ("bench_log_scaling.py", ["--steps", "50,200", "--formats", "verl,jsonl,tensorboard"]),
    (
        "bench_trl_plugin.py",
        [
            "--batch",
            "4",
            "--prompt",
            "4",
            "--completion",
            "8",
            "--hidden",
            "32",
            "--vocab",
            "64",
            "--repeats",
            "1",
        ],
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
        [sys.executable, str(BENCH / script), *args, "--json", str(out)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "ratio" in proc.stdout or "×" in proc.stdout, proc.stdout[-2000:]
    record = json.loads(out.read_text())  # what a figure in the docs traces to
    assert record["command"].startswith("python") and script in record["command"]
    assert record["machine"]["cpu"] and record["date"] and record["results"]


def test_bench_step_times_every_phase_of_both_engines(tmp_path):
    """bench_step's record: both engines, every phase measured and no phase longer than its step."""
    pytest.importorskip("trl")
    out = tmp_path / "record.json"
    args = [
        "--models", "tiny", "--steps", "2", "--threads", "1", "--json", str(out),
        "--set", "model.tiny.warmup_steps=0", "--set", "model.tiny.hidden_size=32",
        "--set", f"model.cache_dir={tmp_path / 'cache'}", "--set", "rollout.prompts_per_step=4",
        "--set", "trainer.mini_batches=2", "--set", "trainer.ppo_epochs=1",
    ]  # fmt: skip
    proc = subprocess.run(
        [sys.executable, str(BENCH / "bench_step.py"), *args], capture_output=True, text=True, timeout=300
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "ratio TRL/ours" in proc.stdout, proc.stdout[-2000:]
    record = json.loads(out.read_text())
    assert "bench_step.py" in record["command"] and record["machine"]["cpu"]
    tiny = record["results"]["tiny"]
    for engine in ("entropy_rl", "trl"):
        r = tiny[engine]
        assert r["steps_timed"] == 2 and r["tokens"] > 0
        phases = r["phase_s"]
        assert set(phases) == {"generation", "scoring", "log-probs", "diagnostics", "update", "other"}
        for name in ("generation", "scoring", "log-probs", "diagnostics", "update"):
            assert 0 < phases[name] < r["step_s"], (engine, name, phases)
    assert tiny["step_ratio_trl_over_ours"] == tiny["trl"]["step_s"] / tiny["entropy_rl"]["step_s"]
