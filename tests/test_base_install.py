"""`pip install entropy-rl` (no extra) in a fresh venv: the CLI starts, `fit`, `report` and
`bandit` work, and a command that needs an extra names it instead of a traceback."""

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
    """A fresh venv with torch (pinned first, as the README says) and the package, nothing else
    (typer brings pydantic along; the training extra is transformers, pyyaml, reasoning-gym...)."""
    tmp = tmp_path_factory.mktemp("base-install")
    pkg = tmp / "pkg"  # a clean copy: what a source distribution holds
    shutil.copytree(ROOT / "src", pkg / "src", ignore=shutil.ignore_patterns("*.egg-info", "__pycache__"))
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, pkg / name)
    venv = tmp / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    pip = [str(venv / "bin" / "python"), "-m", "pip", "install", "-q", "--disable-pip-version-check"]
    for args in (["torch==2.13.0"], [str(pkg)]):
        done = _run([*pip, *args])
        assert done.returncode == 0, done.stderr[-2000:]
    return venv


@pytest.mark.slow
def test_base_install_has_no_training_extra(base_venv):
    code = "import importlib.util as u; print([m for m in ('transformers', 'yaml', 'reasoning_gym', 'safetensors') if u.find_spec(m)])"
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
def test_base_install_reports_and_runs_the_bandit(base_venv, tmp_path):
    rep = _run([str(base_venv / "bin" / "entropy-rl"), "report", str(FIXTURE), "--out", str(tmp_path / "r")])
    assert rep.returncode == 0, rep.stderr
    assert (tmp_path / "r" / "index.html").exists() and (tmp_path / "r" / "law.png").exists()
    ban = _run([str(base_venv / "bin" / "entropy-rl"), "bandit", "--trials", "20", "--out", str(tmp_path / "b")])
    assert ban.returncode == 0, ban.stderr
    assert (tmp_path / "b" / "bandit.png").exists()
    figures = __import__("json").loads((tmp_path / "b" / "bandit.json").read_text())["figures"]
    assert figures["vanilla"]["trials"] == 20 and figures["natural"]["sign_agreement"] == 1.0


@pytest.mark.slow
@pytest.mark.parametrize("command", [["train", "configs/quickstart.yaml", "--out", "x"], ["compare", "c.yaml", "--out", "x"], ["eval", "tiny"]])
def test_base_install_names_the_extra_a_command_needs(base_venv, command, tmp_path):
    out = _run([str(base_venv / "bin" / "entropy-rl"), *command], cwd=tmp_path)
    assert out.returncode == 2
    assert 'pip install "entropy-rl[train]"' in out.stderr
    assert "Traceback" not in out.stderr
    assert len(out.stderr.strip().splitlines()) == 1, out.stderr
