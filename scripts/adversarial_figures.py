"""The adversarial suite's figures for docs/safety.md: cases tried (by file), cases that failed
(an answer accepted wrongly, code executed, a limit overrun: each is a failing case), and the
verifier table's misjudgements by kind. Writes docs/results/adversarial/summary.json with the
command, machine and date.

    .venv/bin/python scripts/adversarial_figures.py [--out docs/results/adversarial/summary.json]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import xml.etree.ElementTree as ET
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "benchmarks"))
from _record import write_record  # noqa: E402

# what a failing case of each file would mean
MEANING = {
    "test_hostile_logs.py": "a hang or a memory overrun, a traceback, an error not naming the file, or a wrong number read silently",
    "test_untrusted_runs.py": "code executed, a write through a planted link, raw HTML, a hang or a traceback",
    "test_run_dirs.py": "code executed from a checkpoint, or a traceback",
    "test_inputs.py": "a config or row not refused in one line, or a bomb not refused at once",
    "test_time_limits.py": "a limit overrun, a stray timer, an orphaned worker, a silent exit",
    "test_scorers.py": "an answer executed or over its limit, a broken reward function taken as a reward",
    "test_math_verify_limits.py": "an answer over its limit or its memory",
    "test_verifier_table.py": "an answer accepted or rejected wrongly",
    "test_tiny_teacher.py": "a prompt the tiny model cannot hold, accepted",
}


def suite_counts() -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        xml = Path(tmp) / "junit.xml"
        subprocess.run(
            [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "tests/adversarial", f"--junitxml={xml}"],
            cwd=ROOT,
            check=False,
        )
        cases = ET.parse(xml).getroot().iter("testcase")
        tried, failed = Counter(), Counter()
        for case in cases:
            name = case.get("classname", "").rsplit(".", 1)[-1] + ".py"
            tried[name] += 1
            if case.find("failure") is not None or case.find("error") is not None:
                failed[name] += 1
    return {
        "cases_tried": sum(tried.values()),
        "cases_failed": sum(failed.values()),
        "by_file": {f: {"tried": n, "failed": failed[f], "a failure would be": MEANING.get(f, "")} for f, n in sorted(tried.items())},
    }


def table_counts() -> dict:
    from entropy_rl.scoring.math_verify import MathVerifier

    table = json.loads((ROOT / "tests/adversarial/fixtures/verifier_table.json").read_text())
    verifier = MathVerifier(workers=2, timeout_s=10)
    try:
        verdicts = verifier.verify_many([r["gold"] for r in table], [r["answer"] for r in table])
    finally:
        verifier.close()
    accepted = Counter(r["kind"] for r, v in zip(table, verdicts, strict=True) if v.reward == 1.0 and not r["correct"])
    rejected = Counter(r["kind"] for r, v in zip(table, verdicts, strict=True) if v.reward < 1.0 and r["correct"])
    return {
        "math_verify_alone": _math_verify_alone(table),
        "pairs": len(table),
        "by_kind": dict(Counter(r["kind"] for r in table)),
        "accepted_wrongly": sum(accepted.values()),
        "rejected_wrongly": sum(rejected.values()),
        "misjudged_by_kind": {"accepted": dict(accepted), "rejected": dict(rejected)},
    }


def _math_verify_alone(table: list[dict]) -> dict:
    """The same pairs through math-verify's own ``parse``/``verify`` with its defaults: what the
    rules in front of it change."""
    from math_verify import parse, verify

    accepted = rejected = 0
    for r in table:
        ok = bool(verify(parse(f"${r['gold']}$"), parse(f"\\boxed{{{r['answer']}}}")))
        accepted += ok and not r["correct"]
        rejected += r["correct"] and not ok
    return {"accepted_wrongly": accepted, "rejected_wrongly": rejected}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=str(ROOT / "docs/results/adversarial/summary.json"))
    args = parser.parse_args()
    results = {"suite": suite_counts(), "verifier_table": table_counts()}
    write_record(args.out, results)
    print(json.dumps(results, indent=1))


if __name__ == "__main__":
    main()
