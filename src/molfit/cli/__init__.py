"""Command line: one thin module per verb, each calling the Python API.

Verb modules register themselves on :data:`molfit.cli._app.app` when imported below.
"""

from __future__ import annotations

import sys

# Importing a verb module registers its command(s) on the shared app.
from molfit.cli import (  # noqa: F401
    _atomistic,
    _data,
    _evaluate,
    _explain,
    _predict,
    _primer,
    _split,
    _train,
)
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
