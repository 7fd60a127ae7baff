"""Errors a chemist can act on.

Every error molfit raises for bad input is a :class:`MolfitError`. Input problems tied to one
record carry *where* (file, row), *what* (the offending input) and *why* (the reason), so the
message reads like ``data.csv row 17: cannot parse SMILES 'C1CC' (unclosed ring)``.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path


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


class DatasetNotAvailableError(InputError):
    """A built-in dataset whose data package is not installed (the message names the command)."""


@dataclass
class InputReport:
    """What happened while reading one source.

    Attributes:
        source: the file (or dataset) that was read.
        n_rows: data rows (or records, frames) seen, header excluded.
        n_ok: rows kept in the result.
        issues: one :class:`~molfit.errors.RowIssue` per problem, in source order; a row can
            have several (a bad SMILES and a non-numeric target).
        labelled: per target column, how many of the ``n_ok`` kept rows have a label (the
            others have an empty cell, ``NaN``, and are left out when that target is trained);
            empty when the source has no targets.
        warnings: rows that were kept but deserve a look (e.g. a standardization that changed
            the heavy-atom composition), one :class:`~molfit.errors.RowIssue` each.
    """

    source: str
    n_rows: int = 0
    n_ok: int = 0
    issues: list[RowIssue] = field(default_factory=list)
    labelled: dict[str, int] = field(default_factory=dict)
    warnings: list[RowIssue] = field(default_factory=list)

    @property
    def missing_labels(self) -> dict[str, int]:
        """Per target column, kept rows without a label."""
        return {name: self.n_ok - n for name, n in self.labelled.items()}

    @property
    def ok(self) -> bool:
        """True when every row was read without a problem."""
        return not self.issues

    @property
    def n_skipped(self) -> int:
        """Rows left out of the result."""
        return self.n_rows - self.n_ok

    @property
    def bad_rows(self) -> list[int]:
        """Sorted 1-based numbers of the rows with at least one issue."""
        return sorted({i.row for i in self.issues if i.row is not None})

    def summary(self, max_issues: int = 20) -> str:
        """A few lines for a person: counts, then each issue (at most ``max_issues``).

        Example::

            data.csv: 4 of 5 rows ok, 1 skipped
              3 of 4 rows labelled for dG (1 missing)
              issues: 1 bad SMILES
              data.csv row 3: cannot parse SMILES 'C1CC' (unclosed ring)
        """
        lines = [f"{self.source}: {self.n_ok} of {self.n_rows} rows ok, {self.n_skipped} skipped"]
        for name, n in self.labelled.items():
            missing = self.n_ok - n
            lines.append(
                f"  {n} of {self.n_ok} rows labelled for {name}"
                + (f" ({missing} missing)" if missing else "")
            )
        if self.warnings:
            lines.append(f"  warnings: {len(self.warnings)} rows kept but worth a look")
            lines.extend(f"  {w}" for w in self.warnings[:max_issues])
            if len(self.warnings) > max_issues:
                lines.append(f"  ... and {len(self.warnings) - max_issues} more warnings")
        if self.issues:
            kinds = Counter(_kind(i) for i in self.issues)
            lines.append("  issues: " + ", ".join(f"{n} {kind}" for kind, n in kinds.most_common()))
            lines.extend(f"  {issue}" for issue in self.issues[:max_issues])
            if len(self.issues) > max_issues:
                lines.append(f"  ... and {len(self.issues) - max_issues} more issues")
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.summary()


def _kind(issue: RowIssue) -> str:
    reason = issue.reason.lower()
    if "smiles" in reason:
        return "bad SMILES"
    if "not a number" in reason:
        return "non-numeric value"
    if "atom" in reason and ("count" in reason or "declares" in reason):
        return "atom count mismatch"
    return "other"


def check_file(path: Path) -> None:
    """Raise :class:`InputError` unless ``path`` is an existing, non-empty file."""
    if not path.exists():
        raise InputError(f"{path}: file not found")
    if path.is_dir():
        raise InputError(f"{path}: is a folder, not a file")
    if path.stat().st_size == 0:
        raise InputError(f"{path}: the file is empty")


def file_sha256(path: Path) -> str:
    """Hex SHA-256 of a file's bytes, read in 1 MiB blocks: the digest that seals saved model
    directories and the shipped pretrained models, so an edited or truncated file is caught."""
    import hashlib

    h = hashlib.sha256()
    with Path(path).open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()
