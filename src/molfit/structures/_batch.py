"""Batching 3D structures for the geometric networks: many molecules (or cells) as one graph.

A geometric model sees a batch as one big disconnected graph: the atoms of all structures are
concatenated, ``batch[a]`` says which structure atom ``a`` belongs to and ``ptr[k]:ptr[k + 1]``
selects the atoms of structure ``k``.

Neighbour *indices* depend only on the geometry, which does not change during training, so
:func:`structure_items` finds them once per structure (with :func:`molfit.chem.neighbor_list`)
and :func:`collate_structures` only concatenates them with atom offsets. The pair *vectors* are
recomputed from the positions in every forward pass (:meth:`Batch3D.neighbors`), so energies stay
differentiable and forces follow by autograd. This is the main reason training costs less per epoch
than pipelines that rebuild neighbour lists in the data loader for every sample and epoch.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

import numpy as np
import torch
from torch import Tensor

from molfit.errors import InputError
from molfit.structures._neighbors import NeighborList, _safe_norm, neighbor_list
from molfit.structures._structures import Structures

#: structures per call of ``neighbor_list`` when precomputing pairs
_PAIR_CHUNK = 512


@dataclass(frozen=True)
class StructureItem:
    """One structure with its neighbour pairs, ready to be collated.

    Attributes:
        numbers: ``(n_atoms,)`` int64 atomic numbers.
        positions: ``(n_atoms, 3)`` float64, Å.
        cell: ``(3, 3)`` Å lattice vectors as rows, or ``None`` for a molecule.
        pbc: ``(3,)`` bool periodic directions, or ``None``.
        pair_i, pair_j: ``(n_pairs,)`` int64 atom indices (local to this structure) of the ordered
            pairs within ``cutoff``.
        shifts: ``(n_pairs, 3)`` int64 lattice shifts of the pairs (zeros for molecules).
        cutoff: Å, the cutoff the pairs were found with.
    """

    numbers: np.ndarray
    positions: np.ndarray
    cell: np.ndarray | None
    pbc: np.ndarray | None
    pair_i: np.ndarray
    pair_j: np.ndarray
    shifts: np.ndarray
    cutoff: float

    def __len__(self) -> int:
        return int(self.numbers.shape[0])


@dataclass
class Batch3D:
    """Several structures as one graph (tensors on one device).

    Attributes:
        numbers: ``(n_atoms,)`` int64 atomic numbers.
        positions: ``(n_atoms, 3)`` float, Å.
        batch: ``(n_atoms,)`` int64 structure index of each atom.
        ptr: ``(n_structures + 1,)`` int64 start of each structure's atoms, then the total.
        cell: ``(n_structures, 3, 3)`` Å, or ``None`` when no structure is periodic.
        pbc: ``(n_structures, 3)`` bool, or ``None``.
        pair_i, pair_j, shifts: precomputed ordered pairs within :attr:`cutoff` (global atom
            indices; shifts ``(n_pairs, 3)`` int64), or ``None`` (found on demand).
        cutoff: Å, the cutoff of the precomputed pairs, or ``None``.
    """

    numbers: Tensor
    positions: Tensor
    batch: Tensor
    ptr: Tensor
    cell: Tensor | None = None
    pbc: Tensor | None = None
    pair_i: Tensor | None = None
    pair_j: Tensor | None = None
    shifts: Tensor | None = None
    cutoff: float | None = None

    @property
    def n_structures(self) -> int:
        """Number of structures in the batch."""
        return int(self.ptr.shape[0] - 1)

    def __len__(self) -> int:
        return self.n_structures

    @property
    def n_atoms(self) -> Tensor:
        """``(n_structures,)`` int64 atoms per structure."""
        return self.ptr[1:] - self.ptr[:-1]

    def to(self, device: torch.device | str | None = None, dtype: torch.dtype | None = None):
        """A copy on ``device``; ``dtype`` converts the floating tensors (positions, cell)."""

        def move(t: Tensor | None, floating: bool = False) -> Tensor | None:
            if t is None:
                return None
            if floating and dtype is not None:
                return t.to(device=device, dtype=dtype)
            return t.to(device=device)

        return replace(
            self,
            numbers=move(self.numbers),
            positions=move(self.positions, True),
            batch=move(self.batch),
            ptr=move(self.ptr),
            cell=move(self.cell, True),
            pbc=move(self.pbc),
            pair_i=move(self.pair_i),
            pair_j=move(self.pair_j),
            shifts=move(self.shifts),
        )

    def neighbors(self, cutoff: float) -> NeighborList:
        """Ordered pairs closer than ``cutoff`` Å, vectors differentiable w.r.t. positions.

        Uses the precomputed pair indices when they were found with this cutoff (or a longer
        one, then filtered); otherwise calls :func:`molfit.chem.neighbor_list`.
        """
        if self.pair_i is None or self.cutoff is None or self.cutoff < cutoff - 1e-9:
            return neighbor_list(
                self.positions, cutoff, cell=self.cell, pbc=self.pbc, batch=self.batch
            )
        i, j, shifts = self.pair_i, self.pair_j, self.shifts
        vectors = self.positions[j] - self.positions[i]
        periodic = self.cell is not None and bool(shifts.any())
        if periodic:
            cell = self.cell[self.batch[i]]
            vectors = vectors + torch.einsum("pk,pkx->px", shifts.to(vectors.dtype), cell)
        distances = _safe_norm(vectors)
        if self.cutoff > cutoff + 1e-9:
            keep = distances < cutoff
            i, j, shifts, vectors, distances = (
                i[keep],
                j[keep],
                shifts[keep],
                vectors[keep],
                distances[keep],
            )
        return NeighborList(i=i, j=j, shifts=shifts, vectors=vectors, distances=distances)


def _check_structure(numbers: np.ndarray, positions: np.ndarray, where: str) -> None:
    if numbers.ndim != 1 or numbers.size == 0:
        raise InputError(f"{where}: atomic numbers must be a non-empty 1-D array")
    if positions.shape != (numbers.shape[0], 3):
        raise InputError(
            f"{where}: positions must be ({numbers.shape[0]}, 3) Å to match the atomic numbers, "
            f"got {positions.shape}"
        )
    if not np.isfinite(positions).all():
        raise InputError(f"{where}: positions contain NaN or infinite values")
    if numbers.min() < 1 or numbers.max() > 118:
        raise InputError(f"{where}: atomic numbers must lie in 1..118, got {numbers.tolist()}")


def structure_items(
    structures: Structures
    | Sequence[tuple[np.ndarray, np.ndarray]]
    | Sequence[tuple[np.ndarray, np.ndarray, np.ndarray | None, np.ndarray | None]],
    cutoff: float,
) -> list[StructureItem]:
    """Structures with their neighbour pairs within ``cutoff`` Å, found once.

    Args:
        structures: a :class:`~molfit.structures.Structures`, or ``(numbers, positions)`` /
            ``(numbers, positions, cell, pbc)`` per structure; numbers ``(n_atoms,)`` int,
            positions ``(n_atoms, 3)`` Å, cell ``(3, 3)`` Å or ``None``, pbc ``(3,)`` bool or
            ``None``.
        cutoff: Å.

    Raises:
        InputError: a structure has inconsistent shapes, non-finite positions or bad numbers.
    """
    if isinstance(structures, Structures):
        packed = structures
        structures = [
            (
                *packed[k],
                None if packed.cells is None else packed.cells[k],
                None if packed.pbc is None else packed.pbc[k],
            )
            for k in range(len(packed))
        ]
    parsed = []
    for k, s in enumerate(structures):
        numbers = np.asarray(s[0], dtype=np.int64)
        positions = np.asarray(s[1], dtype=np.float64)
        cell = None if len(s) < 3 or s[2] is None else np.asarray(s[2], dtype=np.float64)
        pbc = None if len(s) < 4 or s[3] is None else np.asarray(s[3], dtype=bool)
        if cell is not None and (pbc is None or not pbc.any()):
            cell, pbc = None, None  # a cell without periodic directions changes nothing
        _check_structure(numbers, positions, f"structure {k}")
        parsed.append((numbers, positions, cell, pbc))
    items: list[StructureItem] = []
    for start in range(0, len(parsed), _PAIR_CHUNK):
        chunk = parsed[start : start + _PAIR_CHUNK]
        molecules = [s for s in chunk if s[2] is None]
        if len(molecules) == len(chunk):
            items.extend(_pairs_molecules(chunk, cutoff))
        else:  # periodic structures: one at a time (each has its own cell)
            for s in chunk:
                items.extend(_pairs_molecules([s], cutoff))
    return items


def _pairs_molecules(chunk: list, cutoff: float) -> list[StructureItem]:
    """Neighbour pairs for a chunk of structures with one ``neighbor_list`` call."""
    counts = np.array([s[0].shape[0] for s in chunk], dtype=np.int64)
    offsets = np.concatenate([[0], np.cumsum(counts)])
    positions = torch.from_numpy(np.concatenate([s[1] for s in chunk]))
    batch = torch.from_numpy(np.repeat(np.arange(len(chunk)), counts))
    cell = pbc = None
    if len(chunk) == 1 and chunk[0][2] is not None:
        cell = torch.from_numpy(chunk[0][2])
        pbc = torch.from_numpy(chunk[0][3])
    with torch.no_grad():
        nl = neighbor_list(positions, cutoff, cell=cell, pbc=pbc, batch=batch)
    i, j, shifts = nl.i.numpy(), nl.j.numpy(), nl.shifts.numpy()
    owner = batch.numpy()[i] if len(i) else np.zeros(0, dtype=np.int64)
    bounds = np.searchsorted(owner, np.arange(len(chunk) + 1))  # pairs are sorted by i
    items = []
    for k, (numbers, pos, c, p) in enumerate(chunk):
        sl = slice(bounds[k], bounds[k + 1])
        items.append(
            StructureItem(
                numbers=numbers,
                positions=pos,
                cell=c,
                pbc=p,
                pair_i=i[sl] - offsets[k],
                pair_j=j[sl] - offsets[k],
                shifts=shifts[sl],
                cutoff=float(cutoff),
            )
        )
    return items


def collate_structures(
    items: Sequence[StructureItem], dtype: torch.dtype = torch.float32
) -> Batch3D:
    """Concatenate structures into one :class:`Batch3D` (CPU tensors).

    The pair indices of each structure are offset by the number of atoms before it; positions
    and cells are converted from float64 to ``dtype`` once, here.
    """
    if not items:
        raise InputError("cannot collate an empty list of structures")
    counts = np.fromiter((len(s) for s in items), dtype=np.int64, count=len(items))
    ptr = np.zeros(len(items) + 1, dtype=np.int64)
    np.cumsum(counts, out=ptr[1:])
    n_pairs = np.fromiter((s.pair_i.shape[0] for s in items), dtype=np.int64, count=len(items))
    pair_offset = np.repeat(ptr[:-1], n_pairs)
    periodic = any(s.cell is not None for s in items)
    cell = pbc = None
    if periodic:
        cell = torch.from_numpy(
            np.stack([s.cell if s.cell is not None else np.zeros((3, 3)) for s in items])
        ).to(dtype)
        pbc = torch.from_numpy(
            np.stack([s.pbc if s.pbc is not None else np.zeros(3, dtype=bool) for s in items])
        )
    cutoffs = {s.cutoff for s in items}
    if len(cutoffs) != 1:
        raise InputError(f"structures were prepared with different cutoffs: {sorted(cutoffs)}")
    return Batch3D(
        numbers=torch.from_numpy(np.concatenate([s.numbers for s in items])),
        positions=torch.from_numpy(np.concatenate([s.positions for s in items])).to(dtype),
        batch=torch.from_numpy(np.repeat(np.arange(len(items), dtype=np.int64), counts)),
        ptr=torch.from_numpy(ptr),
        cell=cell,
        pbc=pbc,
        pair_i=torch.from_numpy(np.concatenate([s.pair_i for s in items]) + pair_offset),
        pair_j=torch.from_numpy(np.concatenate([s.pair_j for s in items]) + pair_offset),
        shifts=torch.from_numpy(np.concatenate([s.shifts for s in items]).reshape(-1, 3)),
        cutoff=cutoffs.pop(),
    )
