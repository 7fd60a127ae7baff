"""Streaming input and output for ``molfit predict``: tables read and written in chunks.

Output files are written to a temporary sibling file that is renamed into place at the end, with
ordinary permissions (0644 less the umask), so a reader never sees half a file and a failed run
leaves none. The format follows the extension of ``--out``: ``.csv``, ``.tsv``, ``.parquet``
(``.extxyz`` for 3D runs on XYZ input is written by the structure adapter).
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pandas as pd

from molfit.errors import InputError

TABLE_SUFFIXES = (".csv", ".tsv", ".parquet")
CHUNK_ROWS = 10_000


def _umask_mode() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return 0o666 & ~mask


def count_rows(path: Path) -> int | None:
    """Data rows of a delimited file (lines less the header), or ``None`` when unknown."""
    suffix = path.suffix.lower()
    if suffix == ".parquet":
        import pyarrow.parquet as pq

        return int(pq.ParquetFile(path).metadata.num_rows)
    if suffix not in (".csv", ".tsv", ".tab", ".smi", ".txt"):
        return None
    n = 0
    last = b"\n"
    with path.open("rb") as fh:
        while block := fh.read(1 << 20):
            n += block.count(b"\n")
            last = block[-1:]
    n += last != b"\n"
    return max(n - (suffix not in (".smi", ".txt")), 0)


def iter_table(path: str | os.PathLike[str], chunk: int = CHUNK_ROWS) -> Iterator[pd.DataFrame]:
    """The rows of a CSV/TSV/Parquet/.smi file, ``chunk`` at a time, every value as text.

    Each chunk keeps the file's row numbers in its index (0-based data rows). A file with a
    ragged row (wrong number of fields) is read whole by :func:`molfit.data.read_input_table`,
    which keeps that row and says why in ``attrs["row_errors"]``.

    Raises:
        InputError: missing or empty file, no data rows.
    """
    from molfit.data import read_input_table

    path = Path(path)
    if not path.is_file():
        raise InputError(f"{path}: no such file")
    if path.stat().st_size == 0:
        raise InputError(f"{path}: the file is empty")
    suffix = path.suffix.lower()
    if suffix == ".parquet":
        import pyarrow.parquet as pq

        start = 0
        for batch in pq.ParquetFile(path).iter_batches(batch_size=chunk):
            frame = batch.to_pandas()
            frame.index = range(start, start + len(frame))
            start += len(frame)
            yield frame
        if start == 0:
            raise InputError(f"{path}: no data rows")
        return
    if suffix not in (".csv", ".tsv", ".tab", ".smi", ".txt"):
        frame = read_input_table(path)
        yield from _chunks(frame, chunk)
        return
    sep, header = ("\t" if suffix in (".tsv", ".tab") else ","), "infer"
    if suffix in (".smi", ".txt"):
        sep, header = r"\s+", None
    chunks: list[pd.DataFrame] = []
    try:
        reader = pd.read_csv(
            path, sep=sep, header=header, dtype=str, keep_default_na=False, chunksize=chunk
        )
        seen = 0
        for frame in reader:
            if header is None:
                frame = frame.rename(columns={0: "smiles"})
            seen += len(frame)
            # hold back nothing: a ragged row later in the file raises before we yield past it
            chunks.append(frame)
            if len(chunks) > 1:
                yield chunks.pop(0)
        if seen == 0:
            raise InputError(f"{path}: no data rows")
        yield from chunks
    except pd.errors.EmptyDataError:
        raise InputError(f"{path}: the file is empty") from None
    except pd.errors.ParserError:
        if chunks and chunks[0].index[0] != 0:
            raise InputError(
                f"{path}: a row after row {chunks[0].index[0]} has the wrong number of fields; "
                "fix it with `molfit data check` and run again"
            ) from None
        frame = read_input_table(path)
        yield from _chunks(frame, chunk)


def _chunks(frame: pd.DataFrame, chunk: int) -> Iterator[pd.DataFrame]:
    errors = frame.attrs.get("row_errors", {})
    for start in range(0, len(frame), chunk):
        part = frame.iloc[start : start + chunk].copy()
        part.attrs["row_errors"] = {
            r: e for r, e in errors.items() if start < r <= start + len(part)
        }
        yield part


class TableWriter:
    """Append chunks of one table to ``out`` (CSV, TSV or Parquet by extension), atomically.

    Use as a context manager: the file appears at ``out`` only when the block ends without an
    error.
    """

    def __init__(self, out: str | os.PathLike[str], suffixes: tuple[str, ...] = TABLE_SUFFIXES):
        self.out = Path(out)
        self.suffix = self.out.suffix.lower()
        if self.suffix not in suffixes:
            raise InputError(
                f"--out {self.out}: cannot write {self.suffix or 'a file without extension'}; "
                f"use one of {', '.join(suffixes)}"
            )
        self._writer: Any = None
        self._schema: Any = None
        self._tmp: Path | None = None
        self.rows = 0

    def __enter__(self) -> TableWriter:
        self.out.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{self.out.name}.", dir=self.out.parent)
        os.close(fd)
        self._tmp = Path(tmp)
        return self

    def write(self, frame: pd.DataFrame) -> None:
        """Append ``frame`` (its columns must match the first chunk's)."""
        assert self._tmp is not None, "use TableWriter as a context manager"
        if self.suffix == ".parquet":
            import pyarrow as pa
            import pyarrow.parquet as pq

            if self._writer is None:
                table = pa.Table.from_pandas(frame, preserve_index=False)
                self._schema = table.schema
                self._writer = pq.ParquetWriter(self._tmp, self._schema)
            else:
                table = pa.Table.from_pandas(frame, schema=self._schema, preserve_index=False)
            self._writer.write_table(table)
        else:
            sep = "\t" if self.suffix == ".tsv" else ","
            frame.to_csv(self._tmp, sep=sep, index=False, mode="a", header=self.rows == 0)
        self.rows += len(frame)

    def __exit__(self, exc_type: Any, exc: Any, tb: Any) -> None:
        assert self._tmp is not None
        if self._writer is not None:
            self._writer.close()
        if exc_type is not None:
            self._tmp.unlink(missing_ok=True)
            return
        os.chmod(self._tmp, _umask_mode())
        os.replace(self._tmp, self.out)


def write_table_atomic(table: pd.DataFrame, out: str | os.PathLike[str]) -> Path:
    """Write a whole table to ``out`` (format by extension) via a temporary file."""
    with TableWriter(out) as writer:
        writer.write(table)
    return Path(out)
