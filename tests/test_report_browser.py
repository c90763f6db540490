"""The report as a reader sees it: rendered by headless Chromium in a 1280 px window, it must fit
the window (wide tables scroll inside their own box), load every image, and open on verdicts.
`make test` installs Debian's chromium where it can; elsewhere the test is skipped with a note."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from entropy_rl.analysis.report import write_report

FIXTURE = Path(__file__).parent / "fixtures" / "run-grpo"
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")

# Runs in the page after it has loaded; writes what the test checks into the DOM it dumps.
PROBE = """<script>
window.addEventListener('load', () => {
  const imgs = [...document.images];
  const out = {
    innerWidth: window.innerWidth,
    scrollWidth: document.documentElement.scrollWidth,
    images: imgs.length,
    broken: imgs.filter(i => !(i.complete && i.naturalWidth > 0)).map(i => i.getAttribute('src')),
    verdicts: document.querySelectorAll('#verdicts li').length,
    firstHeading: document.querySelector('h2') ? document.querySelector('h2').textContent : null,
    captions: [...document.querySelectorAll('figure figcaption')].filter(c => c.textContent.length > 40).length,
    blank: imgs.filter(i => {  // an image whose pixels are all one colour shows nothing
      const c = document.createElement('canvas');
      c.width = i.naturalWidth; c.height = i.naturalHeight;
      const g = c.getContext('2d');
      g.drawImage(i, 0, 0);
      const d = g.getImageData(0, 0, c.width, c.height).data;
      const colours = new Set();
      for (let k = 0; k < d.length && colours.size < 3; k += 4 * 97) colours.add(d[k] * 65536 + d[k + 1] * 256 + d[k + 2]);
      return colours.size < 3;
    }).map(i => i.getAttribute('src')),
    runVerdictLists: document.querySelectorAll('#verdicts ul.run-verdicts').length,
  };
  const pre = document.createElement('pre');
  pre.id = 'probe-result';
  pre.textContent = JSON.stringify(out);
  document.body.appendChild(pre);
});
</script></body>"""


def _render(page: Path, width: int, tmp: Path) -> dict:
    probed = page.with_name("probed.html")
    probed.write_text(page.read_text().replace("</body>", PROBE))
    cmd = [
        CHROMIUM,
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--allow-file-access-from-files",  # the page reads its own images' pixels
        f"--user-data-dir={tmp / 'profile'}",
        f"--window-size={width},900",
        "--virtual-time-budget=5000",
        "--dump-dom",
        probed.as_uri(),
    ]
    dom = subprocess.run(cmd, capture_output=True, text=True, timeout=120).stdout
    m = re.search(r'<pre id="probe-result">(.*?)</pre>', dom, re.S)
    assert m, f"the page did not run its probe; chromium printed: {dom[:300]!r}"
    return json.loads(m.group(1).replace("&quot;", '"').replace("&amp;", "&"))


@pytest.mark.skipif(CHROMIUM is None, reason="Debian's chromium is not installed (make test installs it when run as root)")
def test_report_fits_1280px_loads_every_image_and_opens_on_verdicts(tmp_path):
    runs = []
    for method in ("grpo", "clip_cov"):  # two methods, so the tables are as wide as a comparison's
        d = tmp_path / "runs" / method / "seed0"
        shutil.copytree(FIXTURE, d)
        runs.append(d)
    page = write_report(runs, tmp_path / "report")
    seen = _render(page, 1280, tmp_path)
    assert seen["innerWidth"] == 1280
    assert seen["scrollWidth"] <= seen["innerWidth"], f"the page is {seen['scrollWidth']} px wide at 1280 px"
    assert seen["images"] >= 8 and seen["broken"] == [] and seen["blank"] == []
    assert seen["verdicts"] >= 1 and seen["firstHeading"] == "What the runs show"
    assert seen["captions"] == seen["images"]  # every plot says what to read from it


@pytest.mark.skipif(CHROMIUM is None, reason="Debian's chromium is not installed (make test installs it when run as root)")
def test_the_browser_check_catches_a_page_wider_than_the_window(tmp_path):
    page = tmp_path / "wide.html"
    page.write_text("<html><body><table><tr><td style='min-width:3000px'>x</td></tr></table></body></html>")
    seen = _render(page, 1280, tmp_path)
    assert seen["scrollWidth"] > seen["innerWidth"]


@pytest.mark.skipif(CHROMIUM is None, reason="Debian's chromium is not installed (make test installs it when run as root)")
def test_a_report_of_two_other_engines_logs_draws_only_what_they_log(tmp_path):
    logs = Path(__file__).parent / "fixtures" / "logs"
    page = write_report([logs / "verl_2025_wandb_output.log", logs / "trl_console.log"], tmp_path / "report")
    seen = _render(page, 1280, tmp_path)
    assert seen["broken"] == [] and seen["blank"] == [] and seen["images"] >= 2
    assert seen["runVerdictLists"] == 2  # one verdict list per run, not one for "the run"
    assert seen["captions"] == seen["images"] and "Not drawn: these runs do not log" in page.read_text()


@pytest.mark.skipif(CHROMIUM is None, reason="Debian's chromium is not installed (make test installs it when run as root)")
def test_the_browser_check_catches_a_blank_image(tmp_path):
    import numpy as np

    from entropy_rl.files import write_bytes

    buf = __import__("io").BytesIO()
    __import__("matplotlib.pyplot", fromlist=["imsave"]).imsave(buf, np.ones((20, 30, 3)), format="png")
    write_bytes(tmp_path / "white.png", buf.getvalue())
    page = tmp_path / "blank.html"
    page.write_text("<html><body><img src='white.png'></body></html>")
    assert _render(page, 1280, tmp_path)["blank"] == ["white.png"]
