"""The shipped tiny model (`make tiny-model`, models/): copied instead of warm-started when its
checksums hold, refused (and rebuilt) when they do not, and rebuilt byte for byte from scratch."""

import hashlib
from pathlib import Path

import pytest
import torch

from entropy_rl.config import load_config
from entropy_rl.files import read_json
from entropy_rl.models.tiny import (
    MODEL_FILES,
    build_tiny_policy,
    check_shipped,
    machine,
    tiny_key,
    write_shipped,
)
from entropy_rl.tasks.factory import make_task

ROOT = Path(__file__).resolve().parents[1]


def _weights(policy):
    return {k: v.clone() for k, v in policy.model.state_dict().items()}


def test_a_shipped_model_is_copied_with_its_checksums_verified(tiny_config, tmp_path):
    cfg = tiny_config(f"model.tiny.shipped={tmp_path / 'models'}", f"model.cache_dir={tmp_path / 'cache'}")
    task = make_task(cfg.task)
    shipped = write_shipped(task, cfg.model, tmp_path / "models", "test", log=lambda *_: None)
    assert shipped.name == tiny_key(task, cfg.model)
    manifest = read_json(shipped / "MANIFEST.json")
    assert sorted(manifest["sha256"]) == sorted(MODEL_FILES) and manifest["machine"] == machine()

    lines = []
    policy = build_tiny_policy(task, cfg.model, log=lines.append)
    assert any("checksums verified" in line for line in lines)
    assert not any("warm-up" in line or "building" in line for line in lines)
    fresh_cfg = tiny_config("model.tiny.shipped=", f"model.cache_dir={tmp_path / 'fresh'}")
    fresh = build_tiny_policy(task, fresh_cfg.model, log=lambda *_: None)
    for k, v in _weights(policy).items():
        assert torch.equal(v, fresh.model.state_dict()[k]), k


def test_a_tampered_shipped_model_is_not_used(tiny_config, tmp_path):
    cfg = tiny_config(f"model.tiny.shipped={tmp_path / 'models'}", f"model.cache_dir={tmp_path / 'cache'}")
    task = make_task(cfg.task)
    shipped = write_shipped(task, cfg.model, tmp_path / "models", "test", log=lambda *_: None)
    data = bytearray((shipped / "model.safetensors").read_bytes())
    data[-1] ^= 1
    (shipped / "model.safetensors").write_bytes(bytes(data))
    lines = []
    build_tiny_policy(task, cfg.model, log=lines.append)
    assert any("not used (model.safetensors do not match their checksum)" in line for line in lines)
    assert any(line.startswith("building tiny model") for line in lines)


def test_the_demo_and_the_showcase_use_the_shipped_model():
    """A fresh clone never warms up for `make demo`: its model is the committed one."""
    for name in ("demo", "showcase"):
        cfg = load_config(ROOT / "configs" / f"{name}.yaml")
        key = tiny_key(make_task(cfg.task), cfg.model)
        manifest = read_json(ROOT / cfg.model.tiny.shipped / key / "MANIFEST.json")
        assert manifest["name"] == key and manifest["build_threads"] == 2
        for f, digest in manifest["sha256"].items():
            assert hashlib.sha256((ROOT / "models" / key / f).read_bytes()).hexdigest() == digest, f


def test_the_shipped_model_rebuilds_byte_for_byte():
    """`make tiny-model` from scratch (about 3 min on 2 cores) gives the committed files. Bits are
    only reproducible on the CPU model and libraries that built them: elsewhere this says so."""
    cfg = load_config(ROOT / "configs" / "showcase.yaml")
    task = make_task(cfg.task)
    manifest = read_json(ROOT / "models" / tiny_key(task, cfg.model) / "MANIFEST.json")
    here = machine()
    built = manifest["machine"]
    keys = [k for k in ("cpu", "cpu_capability", "torch") if k in built]  # older builds lack the capability
    if {k: built[k] for k in keys} != {k: here[k] for k in keys}:
        pytest.skip(f"built on {built}, this is {here}: a rebuild gives other bits")
    measured = [m for m in manifest.get("rebuilds_differ_on", [])
                if all(m.get(k) == here[k] for k in ("cpu", "cpu_capability", "torch"))]  # fmt: skip
    if measured:
        pytest.skip(f"a rebuild on this machine kind was measured to differ: {measured[0]['note']}")
    assert check_shipped(task, cfg.model, ROOT / "models", log=lambda *_: None) == []
