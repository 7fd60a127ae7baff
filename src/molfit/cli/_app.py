"""The one typer application every verb module registers its command on."""

from __future__ import annotations

import typer

app = typer.Typer(
    name="molfit",
    help="Machine learning on molecules and materials.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
