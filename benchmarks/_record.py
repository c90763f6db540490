"""What every benchmark writes with ``--json PATH``: the command, the machine, the date and its
results, so that a figure quoted in the docs traces to a committed file."""

from __future__ import annotations

import datetime
import os
import platform
import sys
from pathlib import Path

from entropy_rl.files import strict_json


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def write_record(path: str | Path | None, results: dict) -> None:
    """Write ``results`` with their provenance to ``path`` (nothing when ``path`` is empty)."""
    if not path:
        return
    import torch

    record = {
        "command": " ".join(["python", *sys.argv]),
        "machine": {
            "cpu": cpu_model(),
            "cores": os.cpu_count(),
            "cpu_capability": torch.backends.cpu.get_cpu_capability(),
            "torch": torch.__version__,
            "threads": torch.get_num_threads(),
            "gpu": torch.cuda.get_device_name(0) if torch.cuda.is_available() else None,
        },
        "date": datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "results": results,
    }
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    Path(path).write_text(strict_json(record, indent=1))
