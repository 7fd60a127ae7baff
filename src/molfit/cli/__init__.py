"""Command line: one thin module per verb, each calling the Python API.

Verb modules register themselves on :data:`molfit.cli._app.app` when imported below; none of them
imports numpy, pandas, RDKit or torch at module level, so ``molfit --help`` and argument errors
are fast. :func:`main` is the guard every command runs under: a
:class:`~molfit.errors.MolfitError` (bad input) ends with ``error: ...`` and exit code 2; any
other exception with one ``error: ...`` line, a hint, and exit code 1 (the traceback only with
``molfit --debug``).
"""

from __future__ import annotations

import os
import sys
import warnings

# Importing a verb module registers its command(s) on the shared app.
from molfit.cli import (  # noqa: F401
    _active,
    _atomistic,
    _compare,
    _crystal,
    _data,
    _evaluate,
    _explain,
    _models,
    _predict,
    _primer,
    _properties,
    _screen,
    _split,
    _train,
)
from molfit.cli._app import app, state
from molfit.cli._examples import EXAMPLES
from molfit.errors import MolfitError
from molfit.parallel import tune_allocator

HINT = (
    "hint: this looks like a bug or an unexpected input; run again with `molfit --debug ...` "
    "for the traceback and report it with the command you ran"
)


def _quiet() -> None:
    """Deprecation chatter of Lightning/torch (DDP...) is not the user's business."""
    warnings.filterwarnings("ignore", category=DeprecationWarning)
    warnings.filterwarnings("ignore", category=FutureWarning, module=r"(lightning|torch).*")
    warnings.filterwarnings("ignore", message=r".*(does not have many workers|LeafSpec).*")
    os.environ.setdefault("PYTHONWARNINGS", "ignore::DeprecationWarning")


def _error(message: str) -> None:
    sys.stdout.flush()
    # start on a fresh line: a progress bar may have left the cursor mid-line
    print(
        f"\r\033[Kerror: {message}" if sys.stderr.isatty() else f"error: {message}", file=sys.stderr
    )


def main() -> None:
    """Entry point of the ``molfit`` console script."""
    _quiet()
    tune_allocator()  # freed tensors stay in the heap: no page faults on every step
    state["debug"] = "--debug" in sys.argv[1:2] or os.environ.get("MOLFIT_DEBUG") == "1"
    try:
        app()
    except MolfitError as exc:
        _error(str(exc))
        sys.exit(2)
    except KeyboardInterrupt:
        _error("interrupted")
        sys.exit(130)
    except Exception as exc:
        if state["debug"]:
            raise
        text = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
        _error(f"{type(exc).__name__}: {text}" if text else type(exc).__name__)
        print(HINT, file=sys.stderr)
        sys.exit(1)


__all__ = ["EXAMPLES", "app", "main"]
