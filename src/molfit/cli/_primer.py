"""``molfit primer``: serve the primer lecture and its live demos on 127.0.0.1."""

from __future__ import annotations

from typing import Annotated

import typer

from molfit.cli._app import app
from molfit.cli._examples import epilog


@app.command("primer", epilog=epilog("primer"))
def primer(
    port: Annotated[
        int, typer.Option("--port", help="TCP port on 127.0.0.1; 0 picks a free one.", min=0)
    ] = 0,
    no_browser: Annotated[
        bool, typer.Option("--no-browser", help="Print the URL without opening a browser.")
    ] = False,
) -> None:
    """Serve the primer (slides + 8 live demos) locally; works offline. Ctrl-C stops it."""
    from molfit.primer import serve

    try:
        serve(port, open_browser=not no_browser)
    except OSError as exc:
        raise typer.BadParameter(f"cannot listen on 127.0.0.1:{port} ({exc.strerror})") from None
