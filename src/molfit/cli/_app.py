"""The one typer application every verb module registers its command on, and its global options
(``--version``, ``--debug``)."""

from __future__ import annotations

from typing import Annotated

import typer

app = typer.Typer(
    name="molfit",
    help="Machine learning on molecules and materials.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    # plain help text: rich's help renderer costs ~0.2 s of imports on every `--help`
    rich_markup_mode=None,
)

#: set by ``molfit --debug``: unexpected errors then show their traceback
state = {"debug": False}


def _version(value: bool) -> None:
    if value:
        from molfit import __version__

        typer.echo(f"molfit {__version__}")
        raise typer.Exit()


@app.callback()
def main_options(
    version: Annotated[
        bool,
        typer.Option(
            "--version", help="Print the version and exit.", callback=_version, is_eager=True
        ),
    ] = False,
    debug: Annotated[
        bool, typer.Option("--debug", help="Show the full traceback of an unexpected error.")
    ] = False,
) -> None:
    """Machine learning on molecules and materials."""
    state["debug"] = debug
