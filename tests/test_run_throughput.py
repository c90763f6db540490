"""examples/run_throughput.py: wall time and rates of a run from its metrics.jsonl."""

import importlib.util
import json
from pathlib import Path

import pytest

SCRIPT = Path(__file__).parent.parent / "examples" / "run_throughput.py"


def _module():
    spec = importlib.util.spec_from_file_location("run_throughput", SCRIPT)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_medians_leave_out_evaluation_steps(tmp_path):
    rows = [
        dict(step=0, reward=0.5, entropy=0.5, eval_accuracy=0.4, step_time=100.0, wall_time=100.0,
             rollout_tokens_per_s=1.0, update_tokens_per_s=1.0, update_gflop_per_s=1.0),
        dict(step=1, reward=0.5, entropy=0.4, step_time=10.0, wall_time=110.0,
             rollout_tokens_per_s=50.0, update_tokens_per_s=20.0, update_gflop_per_s=60.0),
        dict(step=2, reward=0.5, entropy=0.3, step_time=12.0, wall_time=122.0,
             rollout_tokens_per_s=70.0, update_tokens_per_s=None, update_gflop_per_s=None),
        dict(step=3, reward=0.5, entropy=0.3, step_time=14.0, wall_time=136.0,
             rollout_tokens_per_s=60.0, update_tokens_per_s=30.0, update_gflop_per_s=80.0),
    ]  # fmt: skip
    (tmp_path / "metrics.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    out = _module().throughput(tmp_path, peak=100.0)
    assert out["steps"] == 4 and out["wall_time_s"] == 136.0
    assert out["median_step_s_without_eval"] == 12.0 and out["median_rollout_tokens_per_s"] == 60.0
    assert out["median_update_tokens_per_s"] == 25.0  # a step without update has no rate
    assert out["median_update_gflop_per_s"] == 70.0 and out["update_share_of_peak"] == pytest.approx(0.7)
