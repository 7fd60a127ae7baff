"""The in-memory dataset every molfit model trains on, and the record that describes it."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Literal

import numpy as np
import pandas as pd

from molfit.errors import InputError, InputReport
from molfit.structures import Structures

Task = Literal["classification", "regression", "unlabelled"]


@dataclass(frozen=True)
class TargetInfo:
    """One label column: its name, unit (``""`` for dimensionless or class labels), meaning and
    kind.

    ``kind`` says how the value depends on the size of the system, which decides how a 3D model
    reads it out and how errors are reported: ``"extensive"`` (grows with the number of atoms:
    total energies, heat capacity; summed over atoms, errors also per atom), ``"intensive"``
    (HOMO, gap, logS, class labels; averaged over atoms) or ``"dipole"`` (the magnitude of a
    dipole moment, from atomic charges and positions).
    """

    name: str
    unit: str
    description: str
    kind: str = "intensive"


@dataclass(frozen=True)
class DatasetInfo:
    """Where a built-in dataset comes from and what it holds.

    Attributes:
        name: registry name, e.g. ``"b3db"``.
        title: one-line human title.
        source: the installed package and the file inside it, e.g.
            ``"qc-b3db: B3DB/B3DB_classification.tsv"``.
        package: the pip distribution that ships the data (what to ``pip install``).
        license: licence of the data.
        citation: reference to cite (paper and/or URL).
        n_molecules: number of molecules (rows) in the loaded dataset.
        task: ``"classification"``, ``"regression"`` or ``"unlabelled"`` (a library to screen,
            e.g. MOSES: no targets, nothing to train on).
        targets: label columns by name, each with unit and description.
        description: a short paragraph: what was measured or computed, caveats.
        install: the command that makes the dataset available.
    """

    name: str
    title: str
    source: str
    package: str
    license: str
    citation: str
    n_molecules: int
    task: Task
    targets: dict[str, TargetInfo]
    description: str
    install: str = ""

    def targets_text(self, limit: int | None = None) -> str:
        """``"mu [D], alpha [Bohr^3]"``: target names with units, the first ``limit`` of them."""
        items = [f"{t.name} [{t.unit}]" if t.unit else t.name for t in self.targets.values()]
        if limit is not None and len(items) > limit:
            return ", ".join(items[:limit]) + f", ... ({len(items)} targets)"
        return ", ".join(items)


@dataclass
class Dataset:
    """Molecules (as SMILES and/or 3D structures) with their labels.

    Attributes:
        info: description of a built-in dataset, ``None`` for user files.
        frame: one row per molecule. The SMILES column (``smiles_column``) holds the molecules
            given as SMILES; target columns are ``float64`` with ``NaN`` for missing labels;
            other columns (names, a predefined ``split``, unit copies) ride along.
        target_columns: the label columns, in order; ``y`` follows this order.
        task: ``"classification"`` (labels 0/1), ``"regression"`` or ``"unlabelled"`` (no
            target columns).
        smiles_column: name of the SMILES column.
        structures: 3D structures aligned with the rows of ``frame``, or ``None``.
        report: what the reader found wrong (skipped rows), or ``None`` if not validated.
    """

    info: DatasetInfo | None
    frame: pd.DataFrame
    target_columns: list[str]
    task: Task = "regression"
    smiles_column: str = "smiles"
    structures: Structures | None = None
    report: InputReport | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        missing = [c for c in self.target_columns if c not in self.frame.columns]
        if missing:
            raise InputError(
                f"target column(s) {missing} not in the table; "
                f"available: {list(self.frame.columns)}"
            )
        if self.task == "unlabelled" and self.target_columns:
            raise InputError(f"an unlabelled dataset has no targets, got {self.target_columns}")
        if self.structures is not None and len(self.structures) != len(self.frame):
            raise InputError(
                f"{len(self.structures)} structures for {len(self.frame)} rows: they must align"
            )

    def __len__(self) -> int:
        return len(self.frame)

    @property
    def name(self) -> str:
        """Registry name, or the report's source for user files, or ``"dataset"``."""
        if self.info is not None:
            return self.info.name
        return self.report.source if self.report is not None else "dataset"

    @property
    def smiles(self) -> list[str]:
        """The SMILES strings, one per row."""
        if self.smiles_column not in self.frame.columns:
            raise InputError(
                f"{self.name} has no SMILES column {self.smiles_column!r} "
                f"(columns: {list(self.frame.columns)}); use .structures for 3D data"
            )
        return self.frame[self.smiles_column].astype(str).tolist()

    @property
    def y(self) -> np.ndarray:
        """Labels as ``float64``, shape ``(n, n_targets)``; ``NaN`` marks a missing label."""
        if not self.target_columns:
            return np.zeros((len(self.frame), 0), dtype=np.float64)
        return self.frame[self.target_columns].to_numpy(dtype=np.float64, na_value=np.nan)

    def subset(self, indices: Sequence[int] | np.ndarray) -> Dataset:
        """Rows ``indices`` (in that order) as a new dataset with a fresh 0..n-1 index.

        ``info`` and ``report`` are kept as they describe the source, not the selection.
        """
        idx = np.asarray(indices, dtype=np.int64).reshape(-1)
        return replace(
            self,
            frame=self.frame.iloc[idx].reset_index(drop=True),
            structures=None if self.structures is None else self.structures.subset(idx),
        )

    def label_stats(self) -> pd.DataFrame:
        """Per target: count, missing, mean, std, min, max (and positive fraction for classes)."""
        rows = []
        for col in self.target_columns:
            values = self.frame[col].to_numpy(dtype=np.float64, na_value=np.nan)
            present = values[~np.isnan(values)]
            row = {
                "target": col,
                "count": int(present.size),
                "missing": int(values.size - present.size),
                "mean": float(present.mean()) if present.size else np.nan,
                "std": float(present.std(ddof=1)) if present.size > 1 else np.nan,
                "min": float(present.min()) if present.size else np.nan,
                "max": float(present.max()) if present.size else np.nan,
            }
            if self.task == "classification":
                row["positive_fraction"] = float((present == 1).mean()) if present.size else np.nan
            rows.append(row)
        return pd.DataFrame(rows)

    def __repr__(self) -> str:
        kind = f"{len(self.structures)} structures, " if self.structures is not None else ""
        return (
            f"Dataset({self.name!r}, {len(self)} rows, {kind}task={self.task}, "
            f"targets={self.target_columns})"
        )
