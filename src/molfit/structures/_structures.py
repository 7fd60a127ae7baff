"""Ragged storage of many 3D structures (molecules or periodic cells) in a few flat arrays.

Atoms of all structures are concatenated; ``offsets[i]:offsets[i + 1]`` selects the atoms of
structure ``i``. This is what 3D models batch from, and it round-trips through ``.npz`` files
without pickle.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from molfit.errors import InputError


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
        forces: per-atom forces, shape ``(n_atoms_total, 3)``, eV/Å, or ``None`` when unknown.
    """

    numbers: np.ndarray
    positions: np.ndarray
    offsets: np.ndarray
    cells: np.ndarray | None = None
    pbc: np.ndarray | None = None
    forces: np.ndarray | None = None

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
        if self.forces is not None:
            atoms.calc = SinglePointCalculator(atoms, forces=self.forces[start:stop].copy())
        return atoms

    @classmethod
    def from_atoms(cls, atoms_list: Sequence) -> Structures:
        """Pack a list of :class:`ase.Atoms`; cells/pbc are kept when any structure is periodic.

        Forces are kept when every structure carries them (from its calculator results).
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
        forces = None
        per_structure = [_forces_of(a) for a in atoms_list]
        if atoms_list and all(f is not None for f in per_structure):
            forces = np.concatenate(per_structure).reshape(-1, 3)
        return cls(numbers, positions, offsets, cells=cells, pbc=pbc, forces=forces)

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
        )

    def __repr__(self) -> str:
        periodic = "" if self.cells is None else ", periodic"
        return f"Structures({len(self)} structures, {self.numbers.shape[0]} atoms{periodic})"


def _forces_of(atoms) -> np.ndarray | None:
    calc = getattr(atoms, "calc", None)
    results = getattr(calc, "results", None) or {}
    if "forces" in results:
        return np.asarray(results["forces"], dtype=np.float64)
    if "forces" in atoms.arrays:
        return np.asarray(atoms.arrays["forces"], dtype=np.float64)
    return None
