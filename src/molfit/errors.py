"""Errors a chemist can act on.

Every error molfit raises for bad input is a :class:`MolfitError`. Input problems tied to one
record carry *where* (file, row), *what* (the offending input) and *why* (the reason), so the
message reads like ``data.csv row 17: cannot parse SMILES 'C1CC' (unclosed ring)``.
"""

from __future__ import annotations

from dataclasses import dataclass


class MolfitError(Exception):
    """Base class of every error molfit raises on purpose."""


@dataclass(frozen=True)
class RowIssue:
    """One bad input record.

    Attributes:
        reason: what is wrong, in words a chemist can act on.
        row: 1-based data row number in the source (header excluded), or ``None``.
        source: file name or dataset name the record came from, or ``None``.
        input: the offending value (SMILES, field content...), or ``None``.
        field: the column or field name, or ``None``.
    """

    reason: str
    row: int | None = None
    source: str | None = None
    input: str | None = None
    field: str | None = None

    def __str__(self) -> str:
        where = " ".join(
            part
            for part in (
                self.source or "",
                f"row {self.row}" if self.row is not None else "",
                f"field '{self.field}'" if self.field else "",
            )
            if part
        )
        what = f" {self.input!r}" if self.input is not None else ""
        prefix = f"{where}: " if where else ""
        return f"{prefix}{self.reason}{':' + what if what else ''}"


class InputError(MolfitError, ValueError):
    """Bad input: a file, a column, a row or a value that molfit cannot use."""

    def __init__(self, message: str | RowIssue, issue: RowIssue | None = None) -> None:
        if isinstance(message, RowIssue):
            issue, message = message, str(message)
        super().__init__(message)
        self.issue = issue


class InvalidMoleculeError(InputError):
    """A SMILES string or structure that RDKit cannot turn into a valid molecule."""


class EmbeddingError(InputError):
    """A molecule for which no 3D conformer could be generated."""


class DatasetNotAvailableError(MolfitError):
    """A built-in dataset whose registry package is not installed."""
