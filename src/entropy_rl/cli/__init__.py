"""The ``entropy-rl`` command line (typer). It starts on the base install: ``fit``, ``report`` and
``bandit`` need nothing more; ``train``, ``compare`` and ``eval`` name the extra they need.

One module per group of commands, each registering on ``app``: ``analyze`` (fit, report, bandit)
and ``run`` (train, compare, eval).
"""

from entropy_rl.cli import analyze, run  # noqa: F401  (they register their commands on `app`)
from entropy_rl.cli.app import app

__all__ = ["app", "main"]


def main() -> None:  # pragma: no cover
    app()
