"""Command line: one thin module per verb, each calling the Python API.

Verb modules register themselves on :data:`molfit.cli._app.app` when imported below.
"""

from __future__ import annotations

import sys

from molfit.cli import _data  # noqa: F401  (registers `molfit data ...`)
from molfit.cli import _primer  # noqa: F401  (registers `molfit primer`)
from molfit.cli import _split  # noqa: F401  (registers `molfit data split`)
from molfit.cli import _explain  # noqa: F401  (registers `molfit explain`)
from molfit.cli import _train, _predict, _evaluate  # noqa: F401  (train/predict/evaluate)
from molfit.cli._app import app
from molfit.errors import MolfitError


def main() -> None:
    """Entry point of the ``molfit`` console script.

    A :class:`~molfit.errors.MolfitError` ends the run with its message and exit code 2, never a
    stack trace: such errors describe bad input the user can fix.
    """
    try:
        app()
    except MolfitError as exc:
        print(f"error: {exc}", file=sys.stderr)
        sys.exit(2)


__all__ = ["app", "main"]
