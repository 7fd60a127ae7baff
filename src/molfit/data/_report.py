"""The row-level report a reader hands back: how many rows were read, which were bad and why."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from molfit.errors import RowIssue


@dataclass
class InputReport:
    """What happened while reading one source.

    Attributes:
        source: the file (or dataset) that was read.
        n_rows: data rows (or records, frames) seen, header excluded.
        n_ok: rows kept in the result.
        issues: one :class:`~molfit.errors.RowIssue` per problem, in source order; a row can
            have several (a bad SMILES and a non-numeric target).
    """

    source: str
    n_rows: int = 0
    n_ok: int = 0
    issues: list[RowIssue] = field(default_factory=list)

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
              data.csv row 3: cannot parse SMILES 'C1CC' (unclosed ring)
        """
        lines = [f"{self.source}: {self.n_ok} of {self.n_rows} rows ok, {self.n_skipped} skipped"]
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
