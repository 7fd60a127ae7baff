"""``molfit predict``: predictions with uncertainty and applicability domain for a file, a
built-in dataset or one SMILES."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from molfit.cli._app import app
from molfit.cli._common import RunDirArg, run_path, warn
from molfit.cli._examples import epilog

#: inputs of at most this many rows (one SMILES...) also get their predictions printed
SHOW_ROWS = 5


def _fmt(value: object) -> str:
    """A cell as text: numbers to 6 significant digits, ``""`` for an empty cell."""
    text = str(value)
    if text in ("", "nan", "None"):
        return ""
    if text in ("True", "False") or text.lstrip("-").isdigit():
        return text
    try:
        return f"{float(text):.6g}"
    except ValueError:
        return text


def _show(out: Path) -> None:
    """Print each row's prediction columns (``prediction [eV]: -4.2``...) from ``out``."""
    from molfit.workflows import iter_table

    skip = {"smiles", "error", "domain_note", "standardized_smiles", "standardize_note"}
    for frame in iter_table(out, SHOW_ROWS):
        for _, row in frame.iterrows():
            name = row.get("smiles", row.get("structure", ""))
            cells = [f"{c}: {_fmt(v)}" for c, v in row.items() if c not in skip and _fmt(v)]
            typer.echo(f"{name}: " + "; ".join(cells))
            if str(row.get("error", "")) not in ("", "nan"):
                typer.echo(f"{name}: error: {row['error']}")


@app.command("predict", epilog=epilog("predict"))
def predict(
    run_dir: RunDirArg,
    input: Annotated[
        str,
        typer.Argument(
            help="CSV/TSV/Parquet/.smi file with SMILES (XYZ/extxyz for 3D models) or a "
            "built-in dataset name."
        ),
    ],
    out: Annotated[
        Path,
        typer.Option("--out", "-o", help="Output .csv, .tsv or .parquet (.extxyz for 3D runs)."),
    ] = Path("predictions.csv"),
    smiles_column: Annotated[
        str | None, typer.Option("--smiles-column", "-s", help="SMILES column of the input.")
    ] = None,
    keep_columns: Annotated[
        str | None,
        typer.Option("--keep-columns", help="Comma-separated input columns to keep (default all)."),
    ] = None,
    chunk: Annotated[
        int, typer.Option("--chunk", help="Rows predicted at a time.", min=1)
    ] = 10_000,
    standardize: Annotated[
        bool, typer.Option("--standardize", help="Standardize every SMILES first (molfit.chem).")
    ] = False,
    progress: Annotated[
        bool, typer.Option("--progress/--no-progress", help="Progress bar on stderr.")
    ] = True,
) -> None:
    """Predict every input row; unparseable rows get an error message, the rest a prediction."""
    from molfit.workflows import predict_file

    keep = [c.strip() for c in keep_columns.split(",")] if keep_columns else None
    summary = predict_file(
        run_path(run_dir),
        input,
        out,
        smiles_column=smiles_column,
        progress=progress,
        chunk=chunk,
        keep_columns=keep,
        standardize=standardize,
    )
    typer.echo(f"predicted {summary.n_rows - summary.n_failed} of {summary.n_rows} rows -> {out}")
    if 0 < summary.n_rows <= SHOW_ROWS and out.suffix.lower() in (".csv", ".tsv", ".parquet"):
        _show(out)
    if summary.n_outside_domain:
        typer.echo(
            f"{summary.n_outside_domain} row(s) outside the applicability domain (see domain_note)"
        )
    if standardize:
        typer.echo(f"standardized {summary.n_standardized} molecule(s) (see standardize_note)")
    for message in summary.errors:
        warn(message)
    if summary.n_failed > len(summary.errors):
        warn(f"... and {summary.n_failed - len(summary.errors)} more rows with errors")
