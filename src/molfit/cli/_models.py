"""``molfit models list``: the registered model names."""

from __future__ import annotations

import typer

from molfit.cli._app import app

models_app = typer.Typer(
    name="models",
    help="The models `molfit train --model` accepts.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
app.add_typer(models_app, name="models")


def model_names() -> list[str]:
    from molfit.models import available_models

    return available_models()


@models_app.command("list")
def list_command() -> None:
    """List the model names for `molfit train --model`, one per line."""
    for name in model_names():
        typer.echo(name)
