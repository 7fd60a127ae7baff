"""Turning what a user gives a 3D model into structures, and saying where each geometry came from.

A geometric model accepts, as ``X``:

- a :class:`molfit.data.Structures` object (e.g. ``load("qm9").structures``);
- a list of ASE ``Atoms``, of ``(numbers, positions)`` pairs (positions ``(n_atoms, 3)`` Å), of
  RDKit molecules (their own 3D conformer is used when it has one with explicit hydrogens), or of
  SMILES (a conformer is generated: ETKDGv3, then MMFF94 relaxation, seeded);
- the path of an XYZ / extended-XYZ file (every frame is one row), or a list of such paths.

Every row gets a *geometry source* string (``"input"``, ``"file.xyz#3"`` for the third frame,
``"ETKDGv3+MMFF94 (seed 0)"``...), which predictions report, so a number predicted on a
force-field conformer is never mistaken for one predicted on a DFT geometry.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from molfit.errors import InputError, MolfitError, RowIssue
from molfit.structures._structures import Structures

XYZ_SUFFIXES = (".xyz", ".extxyz")  #: suffixes read as XYZ / extended-XYZ frames


@dataclass
class StructureInputs:
    """Structures of the rows of ``X`` that could be built, plus what went wrong with the rest.

    Attributes:
        structures: the good rows packed as one :class:`~molfit.structures.Structures`
            (geometry plus any energy / forces / stress labels the input carried).
        rows: 0-based row of ``X`` (after expanding files into frames) of each good structure.
        sources: geometry source of each good structure.
        n_rows: number of rows in total (good and bad).
        issues: one :class:`RowIssue` per row that could not be turned into a structure.
        labels: a short name of every row (SMILES, ``file#frame``, ``structure k``), ``(n_rows,)``.
    """

    structures: Structures = field(default_factory=lambda: Structures.concatenate([]))
    rows: list[int] = field(default_factory=list)
    sources: list[str] = field(default_factory=list)
    n_rows: int = 0
    issues: list[RowIssue] = field(default_factory=list)
    labels: list[str] = field(default_factory=list)


def is_xyz_path(x: Any) -> bool:
    if isinstance(x, Path):
        return x.suffix.lower() in XYZ_SUFFIXES
    return (
        isinstance(x, str)
        and x.lower().endswith(XYZ_SUFFIXES)
        and "\n" not in x
        and (Path(x).exists() or "/" in x or "\\" in x)
    )


def _xyz_frames(path: str | Path, strict: bool) -> tuple[Structures, list[str], list[RowIssue]]:
    """The readable frames of an XYZ / extxyz file (via :func:`read_frames`) with their labels,
    the geometry source ``file#frame`` of each, and the frames that could not be read."""
    from molfit.structures._read_xyz import read_frames

    structures, table, report = read_frames(path, strict=strict)
    frame_numbers = table["frame"].to_numpy() if "frame" in table else None
    sources = [
        f"{path}#{int(frame_numbers[k]) if frame_numbers is not None else k + 1}"
        for k in range(len(structures))
    ]
    return structures, sources, list(report.issues)


def _single(numbers: np.ndarray, positions: np.ndarray, cell=None, pbc=None) -> Structures:
    """One structure (no labels) as a :class:`Structures`; a cell without periodic directions
    is dropped (it changes nothing)."""
    numbers = np.asarray(numbers)
    positions = np.asarray(positions, dtype=np.float64)
    periodic = pbc is not None and np.asarray(pbc, dtype=bool).any() and cell is not None
    return Structures(
        numbers,
        positions.reshape(-1, 3) if positions.size == 3 * numbers.size else positions,
        np.array([0, numbers.shape[0]]),
        cells=np.asarray(cell, dtype=np.float64)[None] if periodic else None,
        pbc=np.asarray(pbc, dtype=bool)[None] if periodic else None,
    )


def _from_atoms(atoms: Any) -> Structures:
    """An ASE ``Atoms`` with its labels (calculator results or info/arrays)."""
    out = Structures.from_atoms([atoms])
    if out.pbc is not None and not out.pbc.any():
        out.cells, out.pbc = None, None
    return out


def _from_mol(mol: Any, seed: int) -> tuple[Structures, str]:
    """A structure from an RDKit molecule: its own 3D conformer if complete, else embedded."""
    from rdkit import Chem

    from molfit.structures._conformers import conformer_geometry

    has_h = all(a.GetTotalNumHs(includeNeighbors=False) == 0 for a in mol.GetAtoms())
    if mol.GetNumConformers() and mol.GetConformer().Is3D() and has_h:
        numbers = np.array([a.GetAtomicNum() for a in mol.GetAtoms()], dtype=np.int64)
        return _single(numbers, mol.GetConformer().GetPositions()), "input"
    numbers, positions = conformer_geometry(Chem.Mol(mol), seed=seed)
    return _single(numbers, positions), f"ETKDGv3+MMFF94 (seed {seed})"


def _from_smiles(smiles: str, seed: int) -> tuple[Structures, str]:
    from molfit.structures._conformers import embed_molecule

    mol = embed_molecule(smiles, seed=seed)
    numbers = np.array([a.GetAtomicNum() for a in mol.GetAtoms()], dtype=np.int64)
    positions = np.asarray(mol.GetConformer().GetPositions(), dtype=np.float64)
    forcefield = mol.GetProp("forcefield") if mol.HasProp("forcefield") else "none"
    method = "ETKDGv3" if forcefield == "none" else f"ETKDGv3+{forcefield}"
    return _single(numbers, positions), f"{method} (seed {seed})"


def _pair(x: Any) -> tuple | None:
    """``(numbers, positions)`` or ``(numbers, positions, cell, pbc)`` as arrays, else ``None``."""
    if not isinstance(x, tuple | list) or len(x) not in (2, 4):
        return None
    numbers = np.asarray(x[0])
    if numbers.ndim != 1 or numbers.dtype.kind not in "iu":
        return None
    positions = np.asarray(x[1], dtype=np.float64)
    cell = None if len(x) == 2 or x[2] is None else np.asarray(x[2], dtype=np.float64)
    pbc = None if len(x) == 2 or x[3] is None else np.asarray(x[3], dtype=bool)
    return numbers.astype(np.int64), positions, cell, pbc


def as_structures(X: Any, *, seed: int = 0, strict: bool = False) -> StructureInputs:
    """Structures for every row of ``X`` (see the module docstring for what ``X`` may be).

    Args:
        X: structures, molecules, SMILES or XYZ paths.
        seed: ETKDG seed for rows given as SMILES (or RDKit molecules without a 3D conformer).
        strict: raise on the first row that cannot be turned into a structure instead of
            recording a :class:`RowIssue` and going on.

    Raises:
        InputError: ``X`` as a whole is unusable (empty, an unreadable file, a bare number), or,
            with ``strict=True``, a single row is (the message names the row and reason).
    """
    from ase import Atoms
    from rdkit import Chem

    out = StructureInputs()
    if isinstance(X, Structures):
        out.structures = X
        out.rows = list(range(len(X)))
        out.sources = ["input"] * len(X)
        out.labels = [f"structure {k}" for k in range(len(X))]
        out.n_rows = len(X)
        return out
    if isinstance(X, str | Path) and is_xyz_path(X):
        X = [X]
    if isinstance(X, str | Path | Atoms) or np.isscalar(X):
        raise InputError(
            f"expected a list of structures, molecules or SMILES, got a single {type(X).__name__}"
        )
    parts: list[Structures] = []
    row = 0
    for item in X:
        if isinstance(item, str | Path) and is_xyz_path(item):
            frames, sources, bad = _xyz_frames(item, strict)
            parts.append(frames)
            for source in sources:
                out.rows.append(row)
                out.sources.append(source)
                out.labels.append(source)
                row += 1
            for issue in bad:  # unreadable frames stay rows, with their reason
                label = f"{item}#{issue.row}" if issue.row is not None else str(item)
                out.issues.append(RowIssue(source="X", row=row + 1, input=label, reason=str(issue)))
                out.labels.append(label)
                row += 1
            continue
        label = item if isinstance(item, str) else f"structure {row}"
        try:
            if isinstance(item, Atoms):
                _validate(np.asarray(item.numbers), np.asarray(item.positions), row, label)
                structure, source = _from_atoms(item), "input"
            elif isinstance(item, Chem.Mol):
                label = Chem.MolToSmiles(Chem.RemoveHs(item))
                structure, source = _from_mol(item, seed)
            elif isinstance(item, str):
                structure, source = _from_smiles(item, seed)
            elif (pair := _pair(item)) is not None:
                _validate(pair[0], pair[1], row, label)
                structure, source = _single(*pair), "input"
            else:
                raise InputError(
                    f"row {row + 1}: cannot use a {type(item).__name__} as a structure; give "
                    "ASE Atoms, (numbers, positions) pairs, SMILES or XYZ file paths"
                )
            _validate(structure.numbers, structure.positions, row, label)
        except MolfitError as exc:
            if strict:
                raise
            reason = str(exc)
            out.issues.append(RowIssue(source="X", row=row + 1, input=label, reason=reason))
        else:
            parts.append(structure)
            out.rows.append(row)
            out.sources.append(source)
        out.labels.append(label)
        row += 1
    out.n_rows = row
    if row == 0:
        raise InputError("no structures given (X is empty)")
    out.structures = Structures.concatenate(parts)
    return out


def _validate(numbers: np.ndarray, positions: np.ndarray, row: int, label: str) -> None:
    where = f"row {row + 1} ({label})"
    if numbers.size == 0:
        raise InputError(f"{where}: a structure needs at least one atom")
    if positions.shape != (numbers.shape[0], 3):
        raise InputError(
            f"{where}: positions must be ({numbers.shape[0]}, 3) Å, got {positions.shape}"
        )
    if not np.isfinite(positions).all():
        raise InputError(f"{where}: positions contain NaN or infinite values")
    if numbers.min() < 1 or numbers.max() > 118:
        raise InputError(f"{where}: atomic numbers must lie in 1..118")


def structures_or_raise(X: Any, *, seed: int = 0) -> StructureInputs:
    """:func:`as_structures` with ``strict=True``: for training, where every row must count."""
    return as_structures(X, seed=seed, strict=True)


def describe_issues(issues: Sequence[RowIssue]) -> list[str]:
    """One line per issue: ``row 3 (C1CC1C): reason``."""
    return [f"row {i.row} ({i.input}): {i.reason}" for i in issues]
