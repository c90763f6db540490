"""The documentation: the site builds with warnings as errors, and the README stays a landing page
whose first lines are the two commands."""

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def test_mkdocs_builds_strict(tmp_path):
    mkdocs = shutil.which("mkdocs", path=str(Path(sys.executable).parent)) or shutil.which("mkdocs")
    if mkdocs is None:
        pytest.skip('mkdocs is not installed: pip install "entropy-rl[docs]" (make setup-all does)')
    env = {**os.environ, "NO_MKDOCS_2_WARNING": "1"}
    out = subprocess.run(
        [mkdocs, "build", "--strict", "--site-dir", str(tmp_path / "site")],
        cwd=ROOT, capture_output=True, text=True, env=env, timeout=300,
    )
    assert out.returncode == 0, out.stdout + out.stderr
    assert (tmp_path / "site" / "index.html").exists()
    assert (tmp_path / "site" / "results" / "quickstart-cpu" / "index.html").exists()


def test_readme_is_a_landing_page_that_opens_on_the_two_commands():
    lines = (ROOT / "README.md").read_text().splitlines()
    assert len(lines) <= 150
    first_block = lines[lines.index("```bash") + 1 : lines.index("```")]
    assert [ln.split()[:2] for ln in first_block] == [["make", "demo"], ["make", "test"]]
    assert lines.index("```bash") < 5


def test_every_docs_page_is_in_the_site_navigation():
    nav = (ROOT / "mkdocs.yml").read_text()
    pages = [p.relative_to(ROOT / "docs").as_posix() for p in (ROOT / "docs").glob("*.md")]
    assert pages and all(p in nav for p in pages), [p for p in pages if p not in nav]


def test_docs_hold_no_dated_history():
    # history goes to CHANGELOG.md; results READMEs keep the dates of their measurements
    pages = [ROOT / "README.md", *(ROOT / "docs").glob("*.md")]
    dated = [
        f"{p.name}: {m.group(0)}"
        for p in pages
        for m in re.finditer(r"(?i)\b(until|since|before|as of)\s+20\d\d-\d\d-\d\d", p.read_text())
    ]
    assert not dated, dated
