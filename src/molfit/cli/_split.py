"""``molfit data split``: split a built-in dataset or a data file and print its leakage figures."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from molfit.cli._data import data_app
from molfit.cli._examples import epilog
from molfit.errors import InputError

if TYPE_CHECKING:
    import numpy as np

    from molfit.data import Dataset
    from molfit.data.split import Split


def _looks_like_file(source: str) -> bool:
    path = Path(source)
    return path.exists() or bool(path.suffix) or "/" in source or "\\" in source


def _load(
    source: str, smiles_column: str | None, strict: bool
) -> tuple[Dataset, np.ndarray, int, str | None]:
    """The dataset's usable rows, their positions in the source, the source's row count and a
    report of the rows left out (``None`` when every row parsed)."""
    import numpy as np

    from molfit.data import load, read, validate_smiles

    if _looks_like_file(source):
        # no target columns: a label that is not a number must not cost a row here
        ds = read(source, smiles_column=smiles_column, target_columns=[], strict=strict)
        report = ds.report
        if report is None or report.ok:
            return ds, np.arange(len(ds)), len(ds), None
        bad = np.asarray(report.bad_rows, dtype=np.int64) - 1
        rows = np.setdiff1d(np.arange(report.n_rows), bad)
        if len(rows) != len(ds):  # the reader counted rows another way: index what it kept
            rows, total = np.arange(len(ds)), len(ds)
        else:
            total = report.n_rows
        return ds, rows, total, report.summary(max_issues=10)
    if smiles_column is not None:
        raise InputError("--smiles-column applies to files; built-in datasets have 'smiles'")
    ds = load(source)
    rows, report = validate_smiles(ds.smiles, source=source, strict=strict)
    if report.ok:
        return ds, np.arange(len(ds)), len(ds), None
    return ds.subset(rows), rows, len(ds), report.summary(max_issues=10)


def _column(ds: Dataset, name: str, option: str) -> list[Any]:
    if name not in ds.frame.columns:
        raise InputError(
            f"{option} {name!r}: no such column; available: {', '.join(map(str, ds.frame.columns))}"
        )
    return ds.frame[name].tolist()


def _labels(ds: Dataset, targets: list[str] | None) -> list[Any]:
    if targets:
        if len(targets) > 1:
            raise InputError(
                f"stratified split: give one class column with --target, not {len(targets)}"
            )
        return _column(ds, targets[0], "--target")
    if len(ds.target_columns) != 1:
        raise InputError(
            "stratified split: name the class column with --target "
            f"(columns: {', '.join(map(str, ds.frame.columns))})"
        )
    return _column(ds, ds.target_columns[0], "--target")


def _check(ds: Dataset, name: str) -> str:
    _column(ds, name, "--target")
    return name


def _fmt(value: Any) -> str:
    return f"{value:.3f}" if isinstance(value, float) else str(value)


def format_split(split: Split) -> str:
    """Sizes and leakage figures of a split as a small text table."""
    total = sum(split.sizes.values())
    lines = [f"{split.method} split, seed {split.seed}"]
    for part, size in split.sizes.items():
        share = f"{100 * size / total:.1f}%" if total else "-"
        lines.append(f"  {part:<6}{size:>8,}  {share:>6}")
    if len(split.excluded):
        lines.append(f"  left out {len(split.excluded):,} rows (see 'excluded')")
    leak = split.leakage
    rows = [p for p in ("valid", "test") if p in leak and leak[p].get("n")]
    if not rows:
        return "\n".join(lines)
    lines.append("")
    lines.append(f"leakage: max Tanimoto similarity to train ({leak['fingerprint']})")
    header = ["part", "median", "mean", "p10", "p90", f">={leak['near_duplicate_threshold']}"]
    if "shared_scaffolds" in leak[rows[0]]:
        header.append("scaffolds in train")
    table = [header]
    for p in rows:
        e = leak[p]
        row = [p, *(_fmt(e[k]) for k in ("median", "mean", "p10", "p90"))]
        row.append(f"{100 * e['near_duplicate_fraction']:.1f}%")
        if "shared_scaffolds" in e:
            row.append(f"{e['shared_scaffolds']} of {e['scaffolds']}")
        table.append(row)
    widths = [max(len(r[i]) for r in table) for i in range(len(header))]
    lines.extend(
        "  "
        + "  ".join(
            c.rjust(w) if i else c.ljust(w) for i, (c, w) in enumerate(zip(r, widths, strict=True))
        )
        for r in table
    )
    return "\n".join(lines)


@data_app.command("split", epilog=epilog("data split"))
def split_command(
    source: Annotated[
        str, typer.Argument(help="built-in dataset name (molfit data list) or a data file")
    ],
    method: Annotated[
        str,
        typer.Option("--method", "-m", help="random, scaffold, temporal, cluster or stratified"),
    ] = "scaffold",
    fractions: Annotated[
        tuple[float, float, float],
        typer.Option("--fractions", help="train valid test; 0 for valid gives a two-part split"),
    ] = (0.8, 0.1, 0.1),
    seed: Annotated[int, typer.Option("--seed", help="random seed")] = 0,
    out: Annotated[
        Path | None, typer.Option("--out", "-o", help="write the split as JSON here")
    ] = None,
    smiles_column: Annotated[
        str | None, typer.Option("--smiles-column", "-s", help="SMILES column of a file")
    ] = None,
    time_column: Annotated[
        str | None, typer.Option("--time-column", help="date or number column (temporal)")
    ] = None,
    target: Annotated[
        list[str] | None,
        typer.Option(
            "--target",
            "-t",
            help="label column (repeatable): rows without any label are left out, as in "
            "`molfit train`; stratified uses the (one) class column",
        ),
    ] = None,
    threshold: Annotated[
        float, typer.Option("--threshold", help="Butina Tanimoto distance cutoff (cluster)")
    ] = 0.35,
    balanced: Annotated[
        bool,
        typer.Option(
            "--balanced/--largest-first", help="scaffold: chemprop's balanced order, or classic"
        ),
    ] = True,
    strict: Annotated[
        bool, typer.Option("--strict", help="fail on the first bad row instead of leaving it out")
    ] = False,
) -> None:
    """Split molecules into train/valid/test and show how close test is to train.

    Indices in the JSON are 0-based rows of the source (a file's data rows, header excluded);
    rows that cannot be used (bad SMILES, missing time or label) are listed as 'excluded'.
    """
    import numpy as np

    from molfit.data.split import METHODS, make_split

    name = method.strip().lower()
    if name not in METHODS:
        raise InputError(f"unknown split method {method!r}; choose one of {', '.join(METHODS)}")
    if name == "temporal" and time_column is None:
        raise InputError("temporal split: name the date or number column with --time-column")
    ds, rows, total, skipped = _load(source, smiles_column, strict)
    if skipped:
        typer.echo(skipped)
    if target:
        present = np.column_stack(
            [
                ds.frame[_check(ds, t)].notna().to_numpy()
                & (ds.frame[t].astype(str).str.strip() != "").to_numpy()
                for t in target
            ]
        )
        labelled = np.flatnonzero(present.any(axis=1))
        if len(labelled) < len(ds):
            typer.echo(
                f"{len(ds) - len(labelled)} rows without a label in {', '.join(target)}: left out"
            )
            ds, rows = ds.subset(labelled), rows[labelled]
    options: dict[str, Any] = {}
    if name == "temporal":
        options = {"times": _column(ds, time_column, "--time-column"), "strict": strict}
    elif name == "stratified":
        options = {"y": _labels(ds, target), "strict": strict}
    elif name == "scaffold":
        options = {"balanced": balanced}
    elif name == "cluster":
        options = {"threshold": threshold}
    split = make_split(name, smiles=ds.smiles, fractions=fractions, seed=seed, **options)
    if len(rows) != total or not np.array_equal(rows, np.arange(total)):
        split = split.reindex(rows, total)
    split.params = {**split.params, "source": source}
    typer.echo(f"{source}: {total:,} rows")
    typer.echo(format_split(split))
    if out is not None:
        split.save(out)
        typer.echo(f"wrote {out}")
