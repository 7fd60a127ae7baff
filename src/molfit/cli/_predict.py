"""``molfit predict``: predictions with uncertainty and applicability domain for a file."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from molfit.cli._app import app


@app.command("predict")
def predict(
    run_dir: Annotated[Path, typer.Argument(help="Run directory written by `molfit train`.")],
    input: Annotated[
        Path,
        typer.Argument(help="CSV/TSV/Parquet/.smi file with SMILES; XYZ/extxyz for 3D models."),
    ],
    out: Annotated[Path, typer.Option(help="Output CSV (written atomically).")] = Path(
        "predictions.csv"
    ),
    smiles_column: Annotated[
        str | None, typer.Option("--smiles-column", help="SMILES column of the input.")
    ] = None,
) -> None:
    """Predict every input row; unparseable rows get an error message, the rest a prediction."""
    from molfit.workflows import predict_file

    table = predict_file(run_dir, input, out, smiles_column=smiles_column)
    failed = table[table["error"] != ""]
    outside = 0
    if "in_domain" in table:  # QSAR runs; 3D runs report the geometry used instead
        outside = int((~table["in_domain"].astype(bool)).sum()) - len(failed)
    typer.echo(f"predicted {len(table) - len(failed)} of {len(table)} rows -> {out}")
    if outside:
        typer.echo(f"{outside} row(s) outside the applicability domain (see domain_note)")
    for i, row in failed.head(10).iterrows():
        message = str(row["error"])  # 3D runs' messages already name the row
        typer.echo(message if message.startswith("row ") else f"row {i + 1}: {message}", err=True)
    if len(failed) > 10:
        typer.echo(f"... and {len(failed) - 10} more rows with errors", err=True)
