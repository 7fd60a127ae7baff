"""Ragged storage of many 3D structures (molecules or periodic cells) in a few flat arrays.

Atoms of all structures are concatenated; ``offsets[i]:offsets[i + 1]`` selects the atoms of
structure ``i``. This is what 3D models batch from, and it round-trips through ``.npz`` files
without pickle. Labels travel with the geometry as typed fields: per-structure ``energy`` (eV) and
``stress`` (eV/Å^3), per-atom ``forces`` (eV/Å); ``NaN`` marks a missing label, ``None`` a label
no structure has. The names are :mod:`molfit.keys`' (``ENERGY``, ``FORCES``, ``STRESS``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from molfit.errors import InputError
from molfit.keys import ENERGY, FORCES, STRESS


@dataclass(eq=False)
class Structures:
    """Many 3D structures in flat arrays.

    Attributes:
        numbers: atomic numbers of all atoms, shape ``(n_atoms_total,)``, ``int64``.
        positions: Cartesian positions, shape ``(n_atoms_total, 3)``, ``float64``, Å.
        offsets: start of each structure in the atom arrays plus the total, shape
            ``(n_structures + 1,)``, ``int64``; ``offsets[0] == 0``.
        cells: cell vectors as rows, shape ``(n_structures, 3, 3)``, Å, or ``None`` for molecules.
        pbc: periodic directions, shape ``(n_structures, 3)``, ``bool``, or ``None``.
        forces: per-atom forces, shape ``(n_atoms_total, 3)``, eV/Å, or ``None`` when unknown
            (``NaN`` rows: unknown for those structures).
        energy: per-structure total energy, shape ``(n_structures,)``, eV, or ``None``
            (``NaN``: unknown for that structure).
        stress: per-structure stress ``(1/V) dE/dε``, shape ``(n_structures, 3, 3)``, eV/Å^3
            (ASE's sign convention), or ``None`` (``NaN``: unknown).
    """

    numbers: np.ndarray
    positions: np.ndarray
    offsets: np.ndarray
    cells: np.ndarray | None = None
    pbc: np.ndarray | None = None
    forces: np.ndarray | None = None
    energy: np.ndarray | None = None
    stress: np.ndarray | None = None

    def __post_init__(self) -> None:
        self.numbers = np.ascontiguousarray(self.numbers, dtype=np.int64)
        self.positions = np.ascontiguousarray(self.positions, dtype=np.float64)
        self.offsets = np.ascontiguousarray(self.offsets, dtype=np.int64)
        n_atoms = self.numbers.shape[0]
        if self.numbers.ndim != 1:
            raise InputError(f"numbers must be 1-D, got shape {self.numbers.shape}")
        if self.positions.shape != (n_atoms, 3):
            raise InputError(
                f"positions must have shape ({n_atoms}, 3) to match numbers, "
                f"got {self.positions.shape}"
            )
        if (
            self.offsets.ndim != 1
            or self.offsets.size == 0
            or self.offsets[0] != 0
            or self.offsets[-1] != n_atoms
            or np.any(np.diff(self.offsets) < 0)
        ):
            raise InputError(
                f"offsets must rise from 0 to the number of atoms ({n_atoms}); "
                f"got {self.offsets[:3]}...{self.offsets[-3:]}"
            )
        n = len(self)
        if self.cells is not None:
            self.cells = np.ascontiguousarray(self.cells, dtype=np.float64)
            if self.cells.shape != (n, 3, 3):
                raise InputError(f"cells must have shape ({n}, 3, 3), got {self.cells.shape}")
        if self.pbc is not None:
            self.pbc = np.ascontiguousarray(self.pbc, dtype=bool)
            if self.pbc.shape != (n, 3):
                raise InputError(f"pbc must have shape ({n}, 3), got {self.pbc.shape}")
        if self.forces is not None:
            self.forces = np.ascontiguousarray(self.forces, dtype=np.float64)
            if self.forces.shape != (n_atoms, 3):
                raise InputError(f"forces must have shape ({n_atoms}, 3), got {self.forces.shape}")
        if self.energy is not None:
            self.energy = np.ascontiguousarray(self.energy, dtype=np.float64).reshape(-1)
            if self.energy.shape != (n,):
                raise InputError(f"energy must have shape ({n},), got {self.energy.shape}")
        if self.stress is not None:
            self.stress = np.ascontiguousarray(self.stress, dtype=np.float64)
            if self.stress.shape == (n, 6):  # Voigt order xx yy zz yz xz xy, as ASE
                self.stress = _voigt_to_matrix(self.stress)
            if self.stress.shape != (n, 3, 3):
                raise InputError(f"stress must have shape ({n}, 3, 3), got {self.stress.shape}")

    @property
    def properties(self) -> dict[str, np.ndarray]:
        """The labels this object holds, keyed by :mod:`molfit.keys` names."""
        out = {}
        for key in (ENERGY, FORCES, STRESS):
            value = getattr(self, key)
            if value is not None:
                out[key] = value
        return out

    @property
    def has_forces(self) -> bool:
        """Whether any structure has (finite) force labels."""
        return self.forces is not None and bool(np.isfinite(self.forces).all(axis=1).any())

    def __len__(self) -> int:
        return int(self.offsets.shape[0] - 1)

    def __getitem__(self, i: int) -> tuple[np.ndarray, np.ndarray]:
        """Atomic numbers ``(n_atoms,)`` and positions ``(n_atoms, 3)`` Å of structure ``i``."""
        start, stop = self._bounds(i)
        return self.numbers[start:stop], self.positions[start:stop]

    def _bounds(self, i: int) -> tuple[int, int]:
        n = len(self)
        if not -n <= i < n:
            raise IndexError(f"structure {i} out of range for {n} structures")
        i %= n
        return int(self.offsets[i]), int(self.offsets[i + 1])

    @property
    def n_atoms(self) -> np.ndarray:
        """Number of atoms of each structure, shape ``(n_structures,)``."""
        return np.diff(self.offsets)

    @property
    def structure_index(self) -> np.ndarray:
        """Index of the structure each atom belongs to, shape ``(n_atoms_total,)``."""
        return np.repeat(np.arange(len(self), dtype=np.int64), self.n_atoms)

    def to_atoms(self, i: int):  # -> ase.Atoms (ase imported lazily)
        """Structure ``i`` as an :class:`ase.Atoms` (positions Å; cell and pbc when known)."""
        from ase import Atoms
        from ase.calculators.singlepoint import SinglePointCalculator

        start, stop = self._bounds(i)
        j = i % len(self)
        atoms = Atoms(
            numbers=self.numbers[start:stop],
            positions=self.positions[start:stop],
            cell=None if self.cells is None else self.cells[j],
            pbc=False if self.pbc is None else self.pbc[j],
        )
        results: dict[str, Any] = {}
        if self.energy is not None and np.isfinite(self.energy[j]):
            results["energy"] = float(self.energy[j])
        if self.forces is not None and np.isfinite(self.forces[start:stop]).all():
            results["forces"] = self.forces[start:stop].copy()
        if self.stress is not None and np.isfinite(self.stress[j]).all():
            results["stress"] = _matrix_to_voigt(self.stress[j])
        if results:
            atoms.calc = SinglePointCalculator(atoms, **results)
        return atoms

    @classmethod
    def from_atoms(cls, atoms_list: Sequence) -> Structures:
        """Pack a list of :class:`ase.Atoms`; cells/pbc are kept when any structure is periodic.

        Labels (energy eV, forces eV/Å, stress eV/Å^3) come from each structure's calculator
        results or ``info``/``arrays``; a label some structures lack is ``NaN`` for those, and
        ``None`` when no structure has it.
        """
        counts = np.array([len(a) for a in atoms_list], dtype=np.int64)
        offsets = np.concatenate([[0], np.cumsum(counts)]).astype(np.int64)
        if len(atoms_list):
            numbers = np.concatenate([a.numbers for a in atoms_list])
            positions = np.concatenate([a.positions for a in atoms_list]).reshape(-1, 3)
        else:
            numbers = np.zeros(0, dtype=np.int64)
            positions = np.zeros((0, 3))
        cells = pbc = None
        if any(a.pbc.any() or a.cell.rank > 0 for a in atoms_list):
            cells = np.stack([np.asarray(a.cell[:], dtype=np.float64) for a in atoms_list])
            pbc = np.stack([np.asarray(a.pbc, dtype=bool) for a in atoms_list])
        forces = energy = stress = None
        per_structure = [_forces_of(a) for a in atoms_list]
        if any(f is not None for f in per_structure):
            forces = np.concatenate(
                [
                    np.full((len(a), 3), np.nan) if f is None or f.shape != (len(a), 3) else f
                    for a, f in zip(atoms_list, per_structure, strict=True)
                ]
            ).reshape(-1, 3)
        energies = [_energy_of(a) for a in atoms_list]
        if any(e is not None for e in energies):
            energy = np.array([np.nan if e is None else e for e in energies])
        stresses = [_stress_of(a) for a in atoms_list]
        if any(s is not None for s in stresses):
            stress = np.stack([np.full((3, 3), np.nan) if s is None else s for s in stresses])
        return cls(
            numbers,
            positions,
            offsets,
            cells=cells,
            pbc=pbc,
            forces=forces,
            energy=energy,
            stress=stress,
        )

    @classmethod
    def concatenate(cls, parts: Sequence[Structures]) -> Structures:
        """One :class:`Structures` of all ``parts`` in order; a label missing from some parts
        becomes ``NaN`` there. Cells/pbc are kept when any part has them (molecules get a zero
        cell, no periodic direction)."""
        if not parts:
            return cls(np.zeros(0, np.int64), np.zeros((0, 3)), np.zeros(1, np.int64))
        numbers = np.concatenate([p.numbers for p in parts])
        positions = np.concatenate([p.positions for p in parts]).reshape(-1, 3)
        counts = np.concatenate([p.n_atoms for p in parts])
        offsets = np.concatenate([[0], np.cumsum(counts)]).astype(np.int64)
        cells = pbc = None
        if any(p.cells is not None for p in parts):
            cells = np.concatenate(
                [np.zeros((len(p), 3, 3)) if p.cells is None else p.cells for p in parts]
            )
            pbc = np.concatenate(
                [np.zeros((len(p), 3), bool) if p.pbc is None else p.pbc for p in parts]
            )

        def join(name: str, shape: Any) -> np.ndarray | None:
            if all(getattr(p, name) is None for p in parts):
                return None
            return np.concatenate(
                [
                    np.full(shape(p), np.nan) if getattr(p, name) is None else getattr(p, name)
                    for p in parts
                ]
            )

        return cls(
            numbers,
            positions,
            offsets,
            cells=cells,
            pbc=pbc,
            forces=join(FORCES, lambda p: (int(p.offsets[-1]), 3)),
            energy=join(ENERGY, lambda p: (len(p),)),
            stress=join(STRESS, lambda p: (len(p), 3, 3)),
        )

    def subset(self, indices: Sequence[int] | np.ndarray) -> Structures:
        """The structures at ``indices`` (in that order), as a new :class:`Structures`."""
        idx = np.asarray(indices, dtype=np.int64).reshape(-1)
        n = len(self)
        if idx.size and (idx.min() < -n or idx.max() >= n):
            raise IndexError(f"subset indices out of range for {n} structures")
        idx %= max(n, 1)
        counts = self.n_atoms[idx]
        offsets = np.concatenate([[0], np.cumsum(counts)]).astype(np.int64)
        # atom index of every selected atom, vectorized: start of its structure + rank within it
        starts = np.repeat(self.offsets[idx], counts)
        within = np.arange(offsets[-1], dtype=np.int64) - np.repeat(offsets[:-1], counts)
        atoms = starts + within
        return Structures(
            numbers=self.numbers[atoms],
            positions=self.positions[atoms],
            offsets=offsets,
            cells=None if self.cells is None else self.cells[idx],
            pbc=None if self.pbc is None else self.pbc[idx],
            forces=None if self.forces is None else self.forces[atoms],
            energy=None if self.energy is None else self.energy[idx],
            stress=None if self.stress is None else self.stress[idx],
        )

    def __repr__(self) -> str:
        periodic = "" if self.cells is None else ", periodic"
        labels = "".join(f", {k}" for k in self.properties)
        return (
            f"Structures({len(self)} structures, {self.numbers.shape[0]} atoms{periodic}{labels})"
        )


def _voigt_to_matrix(v: np.ndarray) -> np.ndarray:
    """``(n, 6)`` Voigt (xx, yy, zz, yz, xz, xy) -> ``(n, 3, 3)`` symmetric."""
    xx, yy, zz, yz, xz, xy = (v[:, k] for k in range(6))
    return np.stack(
        [np.stack([xx, xy, xz], -1), np.stack([xy, yy, yz], -1), np.stack([xz, yz, zz], -1)],
        axis=1,
    )


def _matrix_to_voigt(m: np.ndarray) -> np.ndarray:
    """``(3, 3)`` -> Voigt ``(6,)`` (xx, yy, zz, yz, xz, xy), ASE's stress layout."""
    return np.array([m[0, 0], m[1, 1], m[2, 2], m[1, 2], m[0, 2], m[0, 1]])


def _results(atoms) -> dict[str, Any]:
    calc = getattr(atoms, "calc", None)
    return getattr(calc, "results", None) or {}


def _energy_of(atoms) -> float | None:
    results = _results(atoms)
    for value in (results.get("energy"), atoms.info.get("energy")):
        if value is not None:
            try:
                return float(value)
            except (TypeError, ValueError):
                return float("nan")
    return None


def _stress_of(atoms) -> np.ndarray | None:
    results = _results(atoms)
    value = results.get("stress", atoms.info.get("stress"))
    if value is None:
        return None
    arr = np.asarray(value, dtype=np.float64).reshape(-1)
    if arr.size == 6:
        return _voigt_to_matrix(arr[None])[0]
    if arr.size == 9:
        return arr.reshape(3, 3)
    return np.full((3, 3), np.nan)


def _forces_of(atoms) -> np.ndarray | None:
    calc = getattr(atoms, "calc", None)
    results = getattr(calc, "results", None) or {}
    if "forces" in results:
        return np.asarray(results["forces"], dtype=np.float64)
    if "forces" in atoms.arrays:
        return np.asarray(atoms.arrays["forces"], dtype=np.float64)
    return None
