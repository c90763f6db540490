"""`pip install entropy-rl` (no extra) in a fresh venv without torch: what a researcher installs on
a laptop beside a GPU cluster. The CLI starts, `fit`, `backtest`, `watch` and `report` work on a
run and on other engines' logs, and a command that needs an extra (torch included) names it
instead of a traceback."""

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
FIXTURE = ROOT / "tests" / "fixtures" / "run-grpo"


def _run(cmd, **kw):
    return subprocess.run(cmd, capture_output=True, text=True, timeout=900, **kw)


@pytest.fixture(scope="module")
def base_venv(tmp_path_factory):
    """A fresh venv with the package and its base dependencies, nothing else: no torch (the
    `train` extra brings it), no transformers, pyyaml, reasoning-gym..."""
    tmp = tmp_path_factory.mktemp("base-install")
    pkg = tmp / "pkg"  # a clean copy: what a source distribution holds
    shutil.copytree(ROOT / "src", pkg / "src", ignore=shutil.ignore_patterns("*.egg-info", "__pycache__"))
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, pkg / name)
    venv = tmp / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    pip = [str(venv / "bin" / "python"), "-m", "pip", "install", "-q", "--disable-pip-version-check"]
    done = _run([*pip, str(pkg)])
    assert done.returncode == 0, done.stderr[-2000:]
    return venv


@pytest.mark.slow
def test_base_install_has_no_training_extra(base_venv):
    code = "import importlib.util as u; print([m for m in ('torch', 'transformers', 'yaml', 'reasoning_gym', 'safetensors') if u.find_spec(m)])"
    out = _run([str(base_venv / "bin" / "python"), "-c", code])
    assert out.stdout.strip() == "[]", out.stdout


@pytest.mark.slow
def test_base_install_fits_a_committed_run(base_venv):
    out = _run([str(base_venv / "bin" / "entropy-rl"), "fit", str(FIXTURE)])
    assert out.returncode == 0, out.stderr
    assert "points: 4 (entropy, eval_accuracy)" in out.stdout
    assert "ceiling (H = 0): b − a =" in out.stdout
    assert "entropy budget on the probe batch" in out.stdout


@pytest.mark.slow
def test_base_install_reports_backtests_and_watches_without_torch(base_venv, tmp_path):
    exe = str(base_venv / "bin" / "entropy-rl")
    rep = _run([exe, "report", str(FIXTURE), "--out", str(tmp_path / "r")])
    assert rep.returncode == 0, rep.stderr
    assert (tmp_path / "r" / "index.html").exists() and (tmp_path / "r" / "law.png").exists()
    ours = sorted(str(p.parent) for p in (ROOT / "docs" / "results").glob("trl-*-cpu/*/trainer_state.json"))
    bt = _run([exe, "backtest", *ours, "--fractions", "0.5", "--json"])
    assert bt.returncode == 0, bt.stderr
    assert len(__import__("json").loads(bt.stdout)["runs"]) == 6
    logs = ROOT / "tests" / "fixtures" / "logs"
    fit = _run([exe, "fit", str(logs / "trl_log_history.json"), "--json"])
    assert fit.returncode == 0 and '"trl-log-history"' in fit.stdout, fit.stderr
    watch = _run([exe, "watch", str(logs / "verl_2024_console.log"), "--interval", "0.05", "--exit-when-idle", "0.2"])
    assert watch.returncode == 0 and "step 18" in watch.stdout, watch.stdout + watch.stderr


@pytest.mark.slow
@pytest.mark.parametrize("command", [["train", "configs/quickstart.yaml", "--out", "x"], ["compare", "c.yaml", "--out", "x"],
                                     ["eval", "tiny"], ["bandit", "--trials", "5"]])
def test_base_install_names_the_extra_a_command_needs(base_venv, command, tmp_path):
    out = _run([str(base_venv / "bin" / "entropy-rl"), *command], cwd=tmp_path)
    assert out.returncode == 2
    assert 'pip install "entropy-rl[train]"' in out.stderr
    assert "Traceback" not in out.stderr
    assert len(out.stderr.strip().splitlines()) == 1, out.stderr
