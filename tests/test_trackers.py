"""trainer.report_to: TensorBoard's and W&B's own files hold what metrics.jsonl holds."""

import json
import struct

import pytest

from entropy_rl.train.trainer import read_metrics, train


def test_tensorboard_events_match_metrics_jsonl(tiny_config, tmp_path):
    pytest.importorskip("tensorboard")
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    train(tiny_config("trainer.steps=3", "trainer.report_to=[tensorboard]"), tmp_path / "run", quiet=True)
    rows = read_metrics(tmp_path / "run")
    events = EventAccumulator(str(tmp_path / "run" / "tensorboard"))
    events.Reload()
    for key in ("entropy", "reward", "covariance", "eval_accuracy", "loss"):
        logged = [(r["step"], r[key]) for r in rows if r.get(key) is not None]
        scalars = [(e.step, e.value) for e in events.Scalars(key)]
        assert [s for s, _ in scalars] == [s for s, _ in logged], key
        assert [v for _, v in scalars] == pytest.approx([v for _, v in logged], rel=1e-6), key
    assert "step" not in events.Tags()["scalars"]


def test_tensorboard_after_resume_holds_each_step_once(tiny_config, tmp_path):
    pytest.importorskip("tensorboard")
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    cfg = tiny_config("trainer.steps=2", "trainer.report_to=[tensorboard]", "trainer.checkpoint_every=1")
    train(cfg, tmp_path / "run", quiet=True)
    train(tiny_config("trainer.steps=3", "trainer.report_to=[tensorboard]"), tmp_path / "run", resume=True, quiet=True)
    events = EventAccumulator(str(tmp_path / "run" / "tensorboard"))
    events.Reload()
    assert [e.step for e in events.Scalars("entropy")] == [0, 1, 2]


def _wandb_history(path) -> list[dict]:
    """History records of an offline W&B run file: a LevelDB-style log (7-byte file header, 32 KiB
    blocks, 7-byte record headers: crc, length, type) of protobuf ``Record``s."""
    from wandb.proto import wandb_internal_pb2 as pb

    data, pos, block, pending, out = path.read_bytes(), 7, 32768, b"", []
    assert data[:4] == b":W&B"
    while pos + 7 <= len(data):
        left = block - pos % block
        if left < 7:  # a block's tail too short for a header is padding
            pos += left
            continue
        _, length, kind = struct.unpack("<IHB", data[pos : pos + 7])
        chunk, pos = data[pos + 7 : pos + 7 + length], pos + 7 + length
        if kind in (2, 3):  # first / middle fragment
            pending += chunk
            continue
        if kind not in (1, 4):
            continue
        payload, pending = pending + chunk, b""
        record = pb.Record()
        record.ParseFromString(payload)
        if record.WhichOneof("record_type") == "history":
            out.append({i.key or "/".join(i.nested_key): json.loads(i.value_json) for i in record.history.item})
    return out


def test_wandb_offline_run_holds_every_step(tiny_config, tmp_path, monkeypatch):
    pytest.importorskip("wandb")
    monkeypatch.setenv("WANDB_SILENT", "true")
    cfg = tiny_config(
        "trainer.steps=3", "trainer.report_to=[wandb]", "trainer.wandb_mode=offline", "trainer.wandb_project=t"
    )
    train(cfg, tmp_path / "run", quiet=True)
    rows = read_metrics(tmp_path / "run")
    files = list((tmp_path / "run" / "wandb").glob("offline-run-*/run-*.wandb"))
    assert len(files) == 1
    run_id = (tmp_path / "run" / "wandb_id").read_text()
    assert files[0].name == f"run-{run_id}.wandb"
    history = _wandb_history(files[0])
    assert [h["_step"] for h in history] == [r["step"] for r in rows]
    for h, r in zip(history, rows, strict=True):
        assert h["entropy"] == pytest.approx(r["entropy"])
        assert h["reward"] == pytest.approx(r["reward"])
        assert ("eval_accuracy" in h) == (r.get("eval_accuracy") is not None)


def test_an_unknown_tracker_is_a_config_error(tiny_config):
    from entropy_rl.config import ConfigError

    with pytest.raises(ConfigError, match="trainer.report_to"):
        tiny_config("trainer.report_to=[mlflow]")
