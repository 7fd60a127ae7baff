"""``molfit models list`` and ``molfit models show``: the registered model classes (for
``molfit train --model``) and the pretrained models shipped with molfit (usable as ``RUN``)."""

from __future__ import annotations

import json
from typing import Annotated

import typer

from molfit.cli._app import app
from molfit.cli._examples import epilog

models_app = typer.Typer(
    name="models",
    help="The models `molfit train --model` accepts, and the shipped pretrained models.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
app.add_typer(models_app, name="models")


def model_names() -> list[str]:
    from molfit.models import available_models

    return available_models()


def _size(n: int) -> str:
    return f"{n / 1e6:.1f} MB" if n >= 1e5 else f"{n / 1e3:.0f} kB"


@models_app.command("list", epilog=epilog("models list"))
def list_command(
    classes: Annotated[
        bool, typer.Option("--classes", help="Only the model classes, one name per line.")
    ] = False,
    pretrained: Annotated[
        bool, typer.Option("--pretrained", help="Only the shipped pretrained models.")
    ] = False,
) -> None:
    """Two sections: the model classes for `molfit train --model`, then the pretrained models
    shipped with molfit (name, task, test figure, size), whose names work wherever a run
    directory does (`molfit predict qm9-u0 CCO`)."""
    from molfit.zoo import list_models

    if classes and pretrained:
        from molfit.errors import InputError

        raise InputError("give --classes or --pretrained, not both")
    if classes:
        typer.echo("\n".join(model_names()))
        return
    if not pretrained:
        typer.echo("model classes (molfit train --model NAME):")
        for name in model_names():
            typer.echo(f"  {name}")
        typer.echo("")
    cards = list_models()
    typer.echo("pretrained models (use the name as RUN: molfit predict NAME INPUT):")
    if not cards:
        typer.echo("  none shipped with this installation")
        return
    width = max(len(c.name) for c in cards) + 2
    task_width = max(len(c.task) for c in cards) + 2
    model_width = max(len(c.model) for c in cards) + 2
    head_width = max(len(c.headline) for c in cards) + 2
    typer.echo(
        f"  {'name':<{width}}{'task':<{task_width}}{'model':<{model_width}}"
        f"{'test figure':<{head_width}}size"
    )
    for c in cards:
        typer.echo(
            f"  {c.name:<{width}}{c.task:<{task_width}}{c.model:<{model_width}}"
            f"{c.headline:<{head_width}}{_size(c.size_bytes)}"
        )
    typer.echo("details: molfit models show NAME")


@models_app.command("show", epilog=epilog("models show"))
def show_command(
    name: Annotated[str, typer.Argument(help="A shipped pretrained model (molfit models list).")],
    as_json: Annotated[bool, typer.Option("--json", help="The whole card as JSON.")] = False,
) -> None:
    """The card of a shipped pretrained model: data, split, seed, test figures, how to
    reproduce it, its limits."""
    from molfit.zoo import model_card

    card = model_card(name)
    if as_json:
        typer.echo(json.dumps(card.to_dict(), indent=2, default=str))
        return
    units = ", ".join(f"{t} [{u}]" if u else t for t, u in card.targets.items())
    lines = [
        f"{card.name}: {card.title}",
        f"task: {card.task} ({card.input_kind})",
        f"targets: {units}",
        f"model: {card.model} {json.dumps(card.params)}",
        f"data: {card.data}",
        f"split: {card.split}",
        f"test: {card.headline}",
    ]
    for target, metrics in card.test.items():
        keys = [k for k in _SHOWN if k in metrics]
        lines.append(f"  {target}: " + ", ".join(f"{k} {metrics[k]:.4g}" for k in keys))
    trained = card.trained
    lines += [
        f"trained: {trained.get('date', '?')} on {trained.get('machine', '?')}, "
        f"{trained.get('cpu_seconds', float('nan')):.0f} CPU s",
        f"reproduce: {card.script}",
        f"limits: {card.limits}",
        f"size: {_size(card.size_bytes)}",
        f"run directory: {card.path}",
    ]
    typer.echo("\n".join(lines))


_SHOWN = (
    "n",
    "mae",
    "rmse",
    "r2",
    "coverage",
    "roc_auc",
    "pr_auc",
    "accuracy",
    "mcc",
    "brier",
    "mae_meV",
    "forces_mae_meV_per_A",
    "forces_rmse_meV_per_A",
)
