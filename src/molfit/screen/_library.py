"""Streaming readers of screening libraries: SMILES/.smi, CSV/TSV, Parquet and SDF, each plain
or gzipped (``.gz``), read a chunk at a time so memory does not grow with the library.

Every input row becomes one record, good or bad: a row that cannot be used (an empty line, a
row with the wrong number of fields, a missing SMILES, an SDF record RDKit cannot read) keeps its
row number and says why, so it is reported and never dropped silently. Row numbers are 1-based
data rows (header excluded; SDF: the record number).
"""

from __future__ import annotations

import csv
import gzip
import io
import os
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

from molfit.errors import InputError

#: suffixes (before an optional ``.gz``) by format
FORMATS: dict[str, str] = {
    ".smi": "smi",
    ".smiles": "smi",
    ".txt": "smi",
    ".csv": "csv",
    ".tsv": "tsv",
    ".tab": "tsv",
    ".parquet": "parquet",
    ".sdf": "sdf",
    ".sd": "sdf",
}
_NAME_COLUMNS = ("name", "id", "title", "zinc_id", "compound_name", "mol_id", "identifier")
_SMILES_COLUMNS = ("smiles", "canonical_smiles", "smi")


@dataclass
class LibraryChunk:
    """Consecutive rows of a library.

    Attributes:
        index: 0-based chunk number (the part it is written to).
        rows: 1-based row numbers in the library.
        smiles: the SMILES of each row (``""`` for a row that could not be read).
        names: the row's name or id (``""`` when the library has none).
        errors: reason by position in this chunk, for rows that could not be read.
    """

    index: int
    rows: list[int] = field(default_factory=list)
    smiles: list[str] = field(default_factory=list)
    names: list[str] = field(default_factory=list)
    errors: dict[int, str] = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.rows)

    def add(self, row: int, smiles: str, name: str = "", error: str | None = None) -> None:
        if error is not None:
            self.errors[len(self.rows)] = error
        self.rows.append(row)
        self.smiles.append(smiles)
        self.names.append(name)


def library_format(path: str | os.PathLike[str]) -> tuple[str, bool]:
    """``(format, gzipped)`` of a library file from its name, e.g. ``("csv", True)`` for
    ``lib.csv.gz``.

    Raises:
        InputError: an extension molfit cannot read.
    """
    name = Path(path).name.lower()
    gz = name.endswith(".gz")
    stem = name[:-3] if gz else name
    suffix = Path(stem).suffix
    if suffix not in FORMATS:
        raise InputError(
            f"{path}: cannot screen a {suffix or 'file without extension'!s} file; use .smi, "
            ".csv, .tsv, .parquet or .sdf (each optionally .gz) or a built-in dataset name"
        )
    if gz and FORMATS[suffix] == "parquet":
        raise InputError(f"{path}: Parquet is compressed inside; do not gzip it")
    return FORMATS[suffix], gz


def _text(path: Path, gz: bool) -> IO[str]:
    # undecodable bytes become U+FFFD: that row's SMILES then fails to parse and is reported
    if gz:
        return gzip.open(path, "rt", encoding="utf-8", errors="replace", newline="")
    return path.open("r", encoding="utf-8", errors="replace", newline="")


def _records_smi(path: Path, gz: bool) -> Iterator[tuple[str, str, str | None]]:
    with _text(path, gz) as fh:
        first = True
        for line in fh:
            text = line.strip()
            tokens = text.split(None, 1)
            if first:
                first = False
                if tokens and tokens[0].lower() in _SMILES_COLUMNS:
                    continue  # a header line
            if not tokens:
                yield "", "", "empty line"
                continue
            yield tokens[0], tokens[1].strip() if len(tokens) > 1 else "", None


def _column(header: list[str], wanted: str | None, source: str) -> int:
    if wanted is not None:
        if wanted not in header:
            raise InputError(f"{source}: no column {wanted!r}; columns: {header}")
        return header.index(wanted)
    for i, c in enumerate(header):
        if c.strip().lower() in _SMILES_COLUMNS:
            return i
    raise InputError(
        f"{source}: no SMILES column found; name it with --smiles-column (columns: {header})"
    )


def _name_column(header: list[str], skip: int) -> int | None:
    for wanted in _NAME_COLUMNS:
        for i, c in enumerate(header):
            if i != skip and c.strip().lower() == wanted:
                return i
    return None


def _records_delimited(
    path: Path, gz: bool, sep: str, smiles_column: str | None
) -> Iterator[tuple[str, str, str | None]]:
    with _text(path, gz) as fh:
        reader = csv.reader(fh, delimiter=sep)
        try:
            header = next(reader)
        except StopIteration:
            raise InputError(f"{path}: the file is empty") from None
        col = _column(header, smiles_column, str(path))
        name_col = _name_column(header, col)
        n = len(header)
        for fields in reader:
            if not fields or (len(fields) == 1 and not fields[0].strip() and n > 1):
                yield "", "", "empty line"
            elif len(fields) != n:
                yield "", "", f"has {len(fields)} field(s), the header has {n}"
            else:
                smiles = fields[col].strip()
                name = fields[name_col].strip() if name_col is not None else ""
                yield smiles, name, None if smiles else "missing SMILES"


def _records_parquet(
    path: Path, smiles_column: str | None
) -> Iterator[tuple[str, str, str | None]]:
    import pyarrow.parquet as pq

    try:
        pf = pq.ParquetFile(path)
    except Exception as exc:  # pyarrow raises several types for a broken file
        raise InputError(f"{path}: not a readable Parquet file ({exc})") from None
    header = list(pf.schema_arrow.names)
    col = _column(header, smiles_column, str(path))
    name_col = _name_column(header, col)
    columns = [header[col]] + ([header[name_col]] if name_col is not None else [])
    for batch in pf.iter_batches(batch_size=65_536, columns=columns):
        smiles = batch.column(0).to_pylist()
        names = batch.column(1).to_pylist() if name_col is not None else [None] * len(smiles)
        for s, nm in zip(smiles, names, strict=True):
            name = "" if nm is None else str(nm)
            if s is None or not str(s).strip():
                yield "", name, "missing SMILES"
            else:
                yield str(s).strip(), name, None


def _records_sdf(path: Path, gz: bool) -> Iterator[tuple[str, str, str | None]]:
    from rdkit import Chem, RDLogger

    RDLogger.DisableLog("rdApp.*")
    with gzip.open(path, "rb") if gz else path.open("rb") as raw:
        for mol in Chem.ForwardSDMolSupplier(raw):
            if mol is None:
                yield "", "", "RDKit cannot read this SDF record (molblock)"
                continue
            name = mol.GetProp("_Name").strip() if mol.HasProp("_Name") else ""
            if mol.GetNumAtoms() == 0:
                yield "", name, "SDF record has no atoms"
                continue
            yield Chem.MolToSmiles(mol), name, None


def iter_library(
    library: str | os.PathLike[str],
    chunk_size: int,
    *,
    smiles_column: str | None = None,
) -> Iterator[LibraryChunk]:
    """The rows of a library file (or built-in dataset name), ``chunk_size`` at a time.

    Args:
        library: a ``.smi``/``.csv``/``.tsv``/``.parquet``/``.sdf`` file (``.gz`` allowed
            except for Parquet) or a built-in dataset name (``moses`` is streamed from its file).
        chunk_size: rows per chunk, >= 1.
        smiles_column: the SMILES column of a CSV/TSV/Parquet file (default: ``smiles``,
            ``canonical_smiles`` or ``smi``, any case).

    Raises:
        InputError: no such file or dataset, an unknown extension, no SMILES column, an empty
            file, or a gzip stream that is truncated or corrupt (the message names the last row
            read; the chunks before it have been yielded).
    """
    if chunk_size < 1:
        raise InputError(f"--chunk-size must be >= 1, got {chunk_size}")
    records, source = _records(library, smiles_column)
    chunk = LibraryChunk(0)
    row = 0
    try:
        for smiles, name, error in records:
            row += 1
            chunk.add(row, smiles, name, error)
            if len(chunk) == chunk_size:
                yield chunk
                chunk = LibraryChunk(chunk.index + 1)
    except (EOFError, zlib.error, gzip.BadGzipFile) as exc:
        if len(chunk):
            yield chunk
        raise InputError(
            f"{source}: the gzip stream is truncated or corrupt after row {row} ({exc})"
        ) from None
    except (csv.Error, io.UnsupportedOperation, OSError) as exc:
        if len(chunk):
            yield chunk
        raise InputError(f"{source}: cannot read past row {row} ({exc})") from None
    if len(chunk):
        yield chunk
    if row == 0:
        raise InputError(f"{source}: no data rows")


def resolve_library(library: str | os.PathLike[str]) -> Path | str:
    """The file of ``library``: the path itself, the MOSES file for ``"moses"``, or the name of
    another built-in dataset (returned as a string).

    Raises:
        InputError: neither a file nor a built-in dataset.
    """
    path = Path(library)
    if path.is_file():
        return path
    text = str(library)
    if text.strip().lower() == "moses":
        from molfit.data import moses_file

        return moses_file()
    if not any(c in text for c in "/\\.") and text:
        from molfit.data import list_datasets

        names = [info.name for info in list_datasets()]
        if text.strip().lower() in names:
            return text.strip().lower()
    if path.exists():
        raise InputError(f"{path}: not a file")
    raise InputError(f"{library}: no such file (nor a built-in dataset; see `molfit data list`)")


def _records(
    library: str | os.PathLike[str], smiles_column: str | None
) -> tuple[Iterator[tuple[str, str, str | None]], str]:
    resolved = resolve_library(library)
    if isinstance(resolved, str):
        from molfit.data import load

        ds = load(resolved)
        frame = ds.frame
        names = frame["name"].astype(str).tolist() if "name" in frame else [""] * len(frame)

        def builtin() -> Iterator[tuple[str, str, str | None]]:
            for s, nm in zip(frame[ds.smiles_column].astype(str).tolist(), names, strict=True):
                yield s, nm, None if s.strip() else "missing SMILES"

        return builtin(), resolved
    fmt, gz = library_format(resolved)
    if resolved.stat().st_size == 0:
        raise InputError(f"{resolved}: the file is empty")
    if fmt == "smi":
        return _records_smi(resolved, gz), str(resolved)
    if fmt in ("csv", "tsv"):
        sep = "," if fmt == "csv" else "\t"
        return _records_delimited(resolved, gz, sep, smiles_column), str(resolved)
    if fmt == "parquet":
        return _records_parquet(resolved, smiles_column), str(resolved)
    return _records_sdf(resolved, gz), str(resolved)
