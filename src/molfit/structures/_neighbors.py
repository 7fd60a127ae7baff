"""Neighbour lists within a cutoff, for molecules and periodic cells, in pure torch.

``neighbor_list`` finds every ordered pair (i, j, shift) with
``|pos[j] - pos[i] + shift @ cell| < cutoff``: both directions of each pair, periodic images beyond
the minimum image (a cutoff longer than the cell gives several images of the same atom, and an
atom's own images), several structures at once (``batch``), each with its own cell if wanted.

How: the indices are found without autograd, structure by structure but vectorised over the whole
batch: the candidates are all (i, j) pairs *inside* one structure times the lattice shifts that can
reach the cutoff, so a batch of many small molecules costs sum(n_k^2), never (sum n_k)^2, and the
candidates are processed in chunks of bounded size. Vectors and distances are then recomputed from
``positions`` (and ``cell``) with autograd on, so forces (and stress) follow by differentiation.
For large periodic systems the compiled ``vesin`` package (a cell list, O(n)) can find the indices
instead (``backend="vesin"``); the result is the same :class:`NeighborList`. Tensors on a GPU go
to ``vesin.torch`` (the same cell list, on the tensors' device) when it is installed, so the
positions never leave the device.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

import torch
from torch import Tensor

from molfit.errors import InputError

Backend = Literal["auto", "torch", "vesin"]

_CHUNK = 1 << 22  # candidate pairs per chunk: bounds memory at ~0.5 GB of temporaries
_DENSE_MIN = 1 << 16  # a structure with more candidates gets its own dense blocks
_VESIN_MIN_ATOMS = 500  # "auto" hands a structure this large to vesin when installed


@dataclass(frozen=True)
class NeighborList:
    """Ordered pairs within the cutoff; pair p goes from atom ``i[p]`` to atom ``j[p]``.

    Attributes:
        i: ``(n_pairs,)`` int64, central atom (sorted ascending).
        j: ``(n_pairs,)`` int64, neighbour atom.
        shifts: ``(n_pairs, 3)`` int64 lattice shifts, so
            ``vectors = pos[j] - pos[i] + shifts.to(pos.dtype) @ cell`` (all zero without a cell).
        vectors: ``(n_pairs, 3)`` Å, from i to j's image; differentiable w.r.t. positions/cell.
        distances: ``(n_pairs,)`` Å, norms of ``vectors``; differentiable.
    """

    i: Tensor
    j: Tensor
    shifts: Tensor
    vectors: Tensor
    distances: Tensor

    def __len__(self) -> int:
        return int(self.i.shape[0])


def neighbor_list(
    positions: Tensor,
    cutoff: float,
    *,
    cell: Tensor | None = None,
    pbc: Tensor | tuple[bool, bool, bool] | None = None,
    batch: Tensor | None = None,
    self_interaction: bool = False,
    backend: Backend = "auto",
) -> NeighborList:
    """All ordered atom pairs closer than ``cutoff``, periodic images included.

    Args:
        positions: ``(n_atoms, 3)`` Å, float; need not be wrapped into the cell.
        cutoff: Å, > 0; pairs with distance strictly below it are kept.
        cell: lattice vectors as rows: ``(3, 3)`` Å for all structures, or
            ``(n_structures, 3, 3)`` one per structure of ``batch``. ``None``: no periodicity.
        pbc: periodic directions, ``(3,)`` or ``(n_structures, 3)`` bool. Default: all True when a
            cell is given, all False otherwise.
        batch: ``(n_atoms,)`` int64 structure index of each atom (0..n_structures-1, any order);
            pairs never join atoms of different structures. ``None``: one structure.
        self_interaction: also return the zero-length pair (i, i, shift 0) of every atom.
            An atom's *periodic* images within the cutoff are always returned.
        backend: ``"torch"`` (pure torch), ``"vesin"`` (compiled cell list, CPU, one structure
            at a time) or ``"auto"`` (vesin for structures of >= 500 atoms when installed). Both
            give the same pairs sorted by i; the order of j within one i may differ.

    Returns:
        A :class:`NeighborList`, pairs sorted by ``i``.

    Raises:
        InputError: shapes or values that cannot describe a structure (the message says which).
    """
    positions, cell, pbc, batch, n_structures = _check(positions, cutoff, cell, pbc, batch)
    with torch.no_grad():
        if _use_vesin(backend, positions, batch, n_structures):
            i, j, shifts = _pairs_vesin(positions, cutoff, cell, pbc, batch, n_structures)
        else:
            i, j, shifts = _pairs_torch(positions, cutoff, cell, pbc, batch, n_structures)
        if self_interaction:
            atoms = torch.arange(positions.shape[0], device=positions.device)
            i = torch.cat([i, atoms])
            j = torch.cat([j, atoms])
            shifts = torch.cat([shifts, shifts.new_zeros(atoms.shape[0], 3)])
        order = torch.argsort(i, stable=True)
        i, j, shifts = i[order], j[order], shifts[order]
    vectors = positions[j] - positions[i]
    if cell is not None:
        vectors = vectors + torch.einsum("pk,pkx->px", shifts.to(positions.dtype), cell[batch[i]])
    distances = _safe_norm(vectors)
    return NeighborList(i=i, j=j, shifts=shifts, vectors=vectors, distances=distances)


def _safe_norm(vectors: Tensor) -> Tensor:
    """Euclidean norm whose gradient is 0 (not NaN) for zero vectors (self-interaction pairs)."""
    squared = (vectors * vectors).sum(-1)
    zero = squared == 0
    return torch.where(zero, 0.0, torch.sqrt(torch.where(zero, 1.0, squared)))


def _check(
    positions: Tensor,
    cutoff: float,
    cell: Tensor | None,
    pbc: Tensor | tuple[bool, bool, bool] | None,
    batch: Tensor | None,
) -> tuple[Tensor, Tensor | None, Tensor, Tensor, int]:
    """Validate inputs; return positions, per-structure cells, per-structure pbc, batch, count."""
    if not isinstance(positions, Tensor) or positions.ndim != 2 or positions.shape[1] != 3:
        shape = tuple(positions.shape) if isinstance(positions, Tensor) else type(positions)
        raise InputError(f"positions must be a (n_atoms, 3) tensor in Å, got {shape}")
    if not positions.is_floating_point():
        raise InputError(f"positions must be floating point, got {positions.dtype}")
    if not math.isfinite(float(cutoff)) or cutoff <= 0:
        raise InputError(f"cutoff must be a positive number of Å, got {cutoff}")
    if not torch.isfinite(positions).all():
        raise InputError("positions contain NaN or infinite values")
    n_atoms = positions.shape[0]
    device = positions.device
    if batch is None:
        batch = torch.zeros(n_atoms, dtype=torch.long, device=device)
        n_structures = 1
    else:
        batch = torch.as_tensor(batch, device=device)
        if batch.shape != (n_atoms,) or batch.dtype.is_floating_point:
            raise InputError(f"batch must be (n_atoms,)=({n_atoms},) integers, got {batch.shape}")
        batch = batch.long()
        if n_atoms and int(batch.min()) < 0:
            raise InputError("batch indices must be >= 0")
        n_structures = int(batch.max()) + 1 if n_atoms else 0
    if cell is not None:
        cell = torch.as_tensor(cell, device=device)
        if cell.shape == (3, 3):
            cell = cell.expand(n_structures, 3, 3)
        if cell.shape != (n_structures, 3, 3):
            raise InputError(
                f"cell must be (3, 3) or (n_structures, 3, 3) = ({n_structures}, 3, 3), "
                f"got {tuple(cell.shape)}"
            )
        cell = cell.to(positions.dtype)
    if pbc is None:
        pbc_t = torch.full((n_structures, 3), cell is not None, dtype=torch.bool, device=device)
    else:
        pbc_t = torch.as_tensor(pbc, dtype=torch.bool, device=device)
        if pbc_t.shape == (3,):
            pbc_t = pbc_t.expand(n_structures, 3)
        if pbc_t.shape != (n_structures, 3):
            raise InputError(f"pbc must be (3,) or (n_structures, 3), got {tuple(pbc_t.shape)}")
        if cell is None and bool(pbc_t.any()):
            raise InputError("pbc is True in some direction but no cell was given")
    if cell is not None and bool(pbc_t.any()):
        # periodic lattice vectors must be independent; non-periodic rows may be anything (zero)
        rows = torch.where(pbc_t.unsqueeze(-1), cell.detach().double(), 0.0)
        gram = rows @ rows.transpose(1, 2) + torch.diag_embed((~pbc_t).double())
        det = torch.linalg.det(gram)
        if bool((det < 1e-12).any()):
            s = int((det < 1e-12).nonzero()[0])
            raise InputError(
                f"cell of structure {s} is singular: its periodic lattice vectors "
                f"{cell[s][pbc_t[s]].tolist()} are not linearly independent"
            )
    return positions, cell, pbc_t, batch, n_structures


def _image_ranges(
    positions: Tensor, cutoff: float, cell: Tensor | None, pbc: Tensor, batch: Tensor, n: int
) -> Tensor:
    """``(n_structures, 3)`` int64 R such that shifts in [-R, R] reach every pair within cutoff.

    For lattice direction k with reciprocal vector b_k (rows of inv(cell).T), a pair vector v has
    fractional component ``v . b_k = f_j - f_i + s_k``, and ``|v . b_k| <= |v| |b_k|``. So
    ``|s_k| <= floor(cutoff |b_k| + span_k)`` where span_k is the spread of the atoms' fractional
    coordinates (atoms need not be wrapped into the cell).
    """
    ranges = torch.zeros(n, 3, dtype=torch.long, device=positions.device)
    if cell is None or not bool(pbc.any()):
        return ranges
    # Rows of non-periodic directions are zeroed: the pseudo-inverse's columns b_k then satisfy
    # a_m . b_k = delta_mk for the periodic rows, which is all the bound needs.
    rows = torch.where(pbc.unsqueeze(-1), cell.double(), 0.0)
    inverse = torch.linalg.pinv(rows)  # columns are the reciprocal vectors b_k
    fractional = torch.einsum("ax,axk->ak", positions.double(), inverse[batch])
    big = torch.finfo(torch.float64).max
    low = torch.full((n, 3), big, dtype=torch.float64, device=positions.device)
    high = torch.full((n, 3), -big, dtype=torch.float64, device=positions.device)
    index = batch.unsqueeze(1).expand(-1, 3)
    low = low.scatter_reduce(0, index, fractional, "amin")
    high = high.scatter_reduce(0, index, fractional, "amax")
    span = (high - low).clamp(min=0)
    reach = cutoff * torch.linalg.norm(inverse, dim=1)  # |b_k|, one per column k
    ranges = torch.floor(reach + span + 1e-9).long()
    return torch.where(pbc, ranges, 0)


def _pairs_torch(
    positions: Tensor, cutoff: float, cell: Tensor | None, pbc: Tensor, batch: Tensor, n: int
) -> tuple[Tensor, Tensor, Tensor]:
    """Blocked brute force over candidates (i, j in one structure) x (shifts within range).

    Small structures (molecules) are processed together, vectorised over the batch; a structure
    with more than ``_DENSE_MIN`` candidates gets its own dense distance blocks, which avoid the
    per-candidate index arithmetic.
    """
    device = positions.device
    order = torch.argsort(batch, stable=True)  # atoms of a structure made contiguous
    counts = torch.bincount(batch, minlength=n)
    offsets = torch.cumsum(counts, 0) - counts
    ranges = _image_ranges(positions, cutoff, cell, pbc, batch, n)
    n_shifts = (2 * ranges + 1).prod(dim=1)
    per_structure = counts * counts * n_shifts
    large = per_structure > _DENSE_MIN
    found: list[tuple[Tensor, Tensor, Tensor]] = []
    for s in large.nonzero().flatten().tolist():
        atoms = order[int(offsets[s]) : int(offsets[s] + counts[s])]
        found += _dense_pairs(positions, cutoff, cell, s, atoms, ranges[s])
    small = per_structure.masked_fill(large, 0)
    found += _gathered_pairs(positions, cutoff, cell, order, counts, offsets, ranges, small)
    if not found:
        empty = torch.zeros(0, dtype=torch.long, device=device)
        return empty, empty, torch.zeros(0, 3, dtype=torch.long, device=device)
    i, j, shifts = zip(*found, strict=True)
    return torch.cat(i), torch.cat(j), torch.cat(shifts)


def _shift_grid(r: Tensor) -> Tensor:
    """``(n_shifts, 3)`` int64 lattice shifts with ``|s_k| <= r_k``."""
    axes = [torch.arange(-int(rk), int(rk) + 1, device=r.device) for rk in r]
    return torch.cartesian_prod(*axes).reshape(-1, 3)


def _dense_pairs(
    positions: Tensor, cutoff: float, cell: Tensor | None, s: int, atoms: Tensor, r: Tensor
) -> list[tuple[Tensor, Tensor, Tensor]]:
    """Pairs of one large structure: rows of centres against all images, in bounded blocks."""
    shifts = _shift_grid(r)
    pos = positions[atoms]
    n_atoms = pos.shape[0]
    images = pos.unsqueeze(0).expand(shifts.shape[0], -1, -1)
    if cell is not None:
        images = images + (shifts.to(pos.dtype) @ cell[s]).unsqueeze(1)
    images = images.reshape(-1, 3)  # image index = shift_index * n_atoms + atom
    rows_per_block = max(1, _CHUNK // images.shape[0])
    zero_shift = int((shifts == 0).all(dim=1).nonzero()[0])
    out = []
    for start in range(0, n_atoms, rows_per_block):
        centres = pos[start : start + rows_per_block]
        d = torch.cdist(centres, images, compute_mode="donot_use_mm_for_euclid_dist")
        row, col = (d < cutoff).nonzero(as_tuple=True)
        shift_index, b = col // n_atoms, col % n_atoms
        a = row + start
        keep = (a != b) | (shift_index != zero_shift)
        out.append((atoms[a[keep]], atoms[b[keep]], shifts[shift_index[keep]]))
    return out


def _gathered_pairs(
    positions: Tensor,
    cutoff: float,
    cell: Tensor | None,
    order: Tensor,
    counts: Tensor,
    offsets: Tensor,
    ranges: Tensor,
    per_structure: Tensor,
) -> list[tuple[Tensor, Tensor, Tensor]]:
    """Pairs of many small structures at once: one flat candidate index over the whole batch."""
    widths = 2 * ranges + 1
    ends = torch.cumsum(per_structure, 0)
    total = int(ends[-1]) if ends.numel() else 0
    cutoff_sq = cutoff * cutoff
    out = []
    for start in range(0, total, _CHUNK):
        t = torch.arange(start, min(start + _CHUNK, total), device=positions.device)
        s = torch.searchsorted(ends, t, right=True)
        local = t - (ends[s] - per_structure[s])
        n_s = counts[s]
        pair = local % (n_s * n_s)
        shift_index = local // (n_s * n_s)
        a = order[offsets[s] + pair // n_s]
        b = order[offsets[s] + pair % n_s]
        vector = positions[b] - positions[a]
        if cell is None:
            shift = torch.zeros(t.shape[0], 3, dtype=torch.long, device=t.device)
        else:
            w = widths[s]
            shift = (
                torch.stack(
                    [
                        shift_index // (w[:, 1] * w[:, 2]),
                        (shift_index // w[:, 2]) % w[:, 1],
                        shift_index % w[:, 2],
                    ],
                    dim=1,
                )
                - ranges[s]
            )
            vector = vector + torch.einsum("pk,pkx->px", shift.to(positions.dtype), cell[s])
        keep = (vector * vector).sum(-1) < cutoff_sq
        keep &= (a != b) | (shift != 0).any(dim=1)
        out.append((a[keep], b[keep], shift[keep]))
    return out


def _use_vesin(backend: Backend, positions: Tensor, batch: Tensor, n: int) -> bool:
    if backend == "torch":
        return False
    available = _vesin_available()
    if backend == "vesin":
        if not available:
            raise InputError("backend='vesin' needs the vesin package (pip install vesin)")
        return True
    if backend != "auto":
        raise InputError(f"backend must be 'auto', 'torch' or 'vesin', got {backend!r}")
    if not available or n == 0:
        return False
    if positions.device.type != "cpu" and not _vesin_torch_available():
        return False
    return int(torch.bincount(batch).max()) >= _VESIN_MIN_ATOMS


def _vesin_available() -> bool:
    try:
        import vesin  # noqa: F401
    except ImportError:
        return False
    return True


def _vesin_torch_available() -> bool:
    try:
        import vesin.torch  # noqa: F401
    except ImportError:
        return False
    return True


def _pairs_vesin_torch(
    positions: Tensor, cutoff: float, cell: Tensor | None, pbc: Tensor, batch: Tensor, n: int
) -> tuple[Tensor, Tensor, Tensor]:
    """Indices from ``vesin.torch`` on the tensors' own device, one structure at a time."""
    from vesin.torch import NeighborList as TorchNeighborList

    calculator = TorchNeighborList(cutoff=float(cutoff), full_list=True)
    device = positions.device
    pos = positions.detach().double()
    found_i, found_j, found_s = [], [], []
    for s in range(n):
        atoms = (batch == s).nonzero().flatten()
        if atoms.numel() == 0:
            continue
        periodic = pbc[s]
        box = cell[s].detach().double() if cell is not None else pos.new_zeros(3, 3)
        if not bool(periodic.any()):
            box = pos.new_zeros(3, 3)
        ii, jj, ss = calculator.compute(pos[atoms], box, periodic, quantities="ijS", copy=True)
        found_i.append(atoms[ii.long()])
        found_j.append(atoms[jj.long()])
        found_s.append(ss.long().reshape(-1, 3))
    if not found_i:
        empty = torch.zeros(0, dtype=torch.long, device=device)
        return empty, empty, torch.zeros(0, 3, dtype=torch.long, device=device)
    return torch.cat(found_i), torch.cat(found_j), torch.cat(found_s)


def _pairs_vesin(
    positions: Tensor, cutoff: float, cell: Tensor | None, pbc: Tensor, batch: Tensor, n: int
) -> tuple[Tensor, Tensor, Tensor]:
    """Indices from vesin's cell list, one structure at a time (CPU, float64; tensors on another
    device go to ``vesin.torch`` there when it is installed)."""
    import numpy as np
    import vesin

    if positions.device.type != "cpu" and _vesin_torch_available():
        return _pairs_vesin_torch(positions, cutoff, cell, pbc, batch, n)

    calculator = vesin.NeighborList(cutoff=float(cutoff), full_list=True)
    found_i, found_j, found_s = [], [], []
    pos = positions.detach().cpu().double().numpy()
    b = batch.cpu().numpy()
    for s in range(n):
        atoms = np.flatnonzero(b == s)
        if atoms.size == 0:
            continue
        periodic = pbc[s].cpu().numpy()
        box = cell[s].detach().cpu().double().numpy() if cell is not None else np.zeros((3, 3))
        if not periodic.any():
            box = np.zeros((3, 3))
        ii, jj, ss = calculator.compute(
            pos[atoms], box, periodic.tolist(), quantities="ijS", copy=True
        )
        found_i.append(torch.from_numpy(atoms[ii.astype(np.int64)]))
        found_j.append(torch.from_numpy(atoms[jj.astype(np.int64)]))
        found_s.append(torch.from_numpy(ss.astype(np.int64)))
    device = positions.device
    if not found_i:
        empty = torch.zeros(0, dtype=torch.long, device=device)
        return empty, empty, torch.zeros(0, 3, dtype=torch.long, device=device)
    return (
        torch.cat(found_i).to(device),
        torch.cat(found_j).to(device),
        torch.cat(found_s).to(device).reshape(-1, 3),
    )
