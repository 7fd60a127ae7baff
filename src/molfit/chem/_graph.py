"""Molecular graphs for message passing: atom and bond feature matrices with directed edges.

A molecule becomes a :class:`MolGraph` of numpy arrays. Every bond ``k`` (RDKit bond index) gives
two directed edges: edge ``2k`` runs begin -> end and edge ``2k + 1`` end -> begin, so the reverse
of edge ``e`` is ``e ^ 1``. Because every graph has an even number of edges, this stays true after
:func:`collate_graphs` concatenates graphs, which is what directed message passing (ChemProp's
D-MPNN) needs.

Atom features (one column each, one-hot with an ``other`` slot where categorical; the order of
groups is the order of ``GraphFeaturizer.atom_features``):

``atomic_num``      element, one-hot over ``elements`` (default H..Kr and I) + ``other``
``total_degree``    number of neighbours including hydrogens (``Atom.GetTotalDegree``), 0..5 + other
``total_num_hs``    hydrogens, implicit and explicit (``Atom.GetTotalNumHs``), 0..4 + other
``formal_charge``   -2, -1, 0, +1, +2 + other
``delta_mass``      isotope mass minus the element's standard atomic weight, in daltons (float; 0
                    for atoms without an isotope label, 0.992 for ``[13C]``, 1.006 for ``[2H]``)
``is_in_ring``      1 if the atom is in any ring
``hybridization``   S, SP, SP2, SP2D, SP3, SP3D, SP3D2 + other (UNSPECIFIED and OTHER go to other)
``is_aromatic``     1 if RDKit perceives the atom as aromatic
``chiral_tag``      CHI_UNSPECIFIED, CHI_TETRAHEDRAL_CW, CHI_TETRAHEDRAL_CCW + other

Bond features, shared by both directions of a bond:

``bond_type``       SINGLE, DOUBLE, TRIPLE, AROMATIC + other
``stereo``          STEREONONE, STEREOANY, STEREOZ, STEREOE, STEREOCIS, STEREOTRANS + other
``is_conjugated``   1 if the bond is conjugated
``is_in_ring``      1 if the bond is in any ring

Speed: molecules are featurized a chunk at a time. Each unbound RDKit getter is mapped over a
molecule's atoms (``map(Atom.GetAtomicNum, atoms)``) into one flat list per feature for the chunk,
each feature group becomes one integer code per atom, and the chunk's one-hot matrix is written
with a single numpy fancy-indexing assignment through precomputed lookup tables: no Python-level
function runs per feature per atom. See ``GraphFeaturizer._pack`` for the exact shortcuts.
"""

from __future__ import annotations

import gc
import re
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from functools import cached_property
from typing import TYPE_CHECKING, Any

import numpy as np
from rdkit import Chem
from rdkit.Chem import rdchem

from molfit.chem._smiles import MolLike, parse_smiles
from molfit.errors import InputError, InvalidMoleculeError, RowIssue
from molfit.parallel import parallel_map

if TYPE_CHECKING:  # torch is imported on first use: SMILES and fingerprint users do not pay for it
    import torch

__all__ = [
    "ATOM_FEATURES",
    "BOND_FEATURES",
    "DEFAULT_ELEMENTS",
    "GraphBatch",
    "GraphFeaturizer",
    "MolGraph",
    "collate_graphs",
    "mol_to_graph",
]

ATOM_FEATURES: tuple[str, ...] = (
    "atomic_num",
    "total_degree",
    "total_num_hs",
    "formal_charge",
    "delta_mass",
    "is_in_ring",
    "hybridization",
    "is_aromatic",
    "chiral_tag",
)
BOND_FEATURES: tuple[str, ...] = ("bond_type", "stereo", "is_conjugated", "is_in_ring")
DEFAULT_ELEMENTS: tuple[int, ...] = (*range(1, 37), 53)

_HYB = rdchem.HybridizationType
_CHI = rdchem.ChiralType
_BT = rdchem.BondType
_ST = rdchem.BondStereo

# Categorical groups: (raw RDKit integer values kept as their own column, their names).
_ATOM_CATEGORIES: dict[str, tuple[tuple[int, ...], tuple[str, ...]]] = {
    "total_degree": ((0, 1, 2, 3, 4, 5), ("0", "1", "2", "3", "4", "5")),
    "total_num_hs": ((0, 1, 2, 3, 4), ("0", "1", "2", "3", "4")),
    "formal_charge": ((-2, -1, 0, 1, 2), ("-2", "-1", "0", "1", "2")),
    "hybridization": (
        tuple(
            int(h) for h in (_HYB.S, _HYB.SP, _HYB.SP2, _HYB.SP2D, _HYB.SP3, _HYB.SP3D, _HYB.SP3D2)
        ),
        ("S", "SP", "SP2", "SP2D", "SP3", "SP3D", "SP3D2"),
    ),
    "chiral_tag": (
        (int(_CHI.CHI_UNSPECIFIED), int(_CHI.CHI_TETRAHEDRAL_CW), int(_CHI.CHI_TETRAHEDRAL_CCW)),
        ("CHI_UNSPECIFIED", "CHI_TETRAHEDRAL_CW", "CHI_TETRAHEDRAL_CCW"),
    ),
}
_BOND_CATEGORIES: dict[str, tuple[tuple[int, ...], tuple[str, ...]]] = {
    # bond types are read as GetBondTypeAsDouble() * 2: 2 single, 4 double, 6 triple, 3 aromatic
    "bond_type": ((2, 4, 6, 3), ("SINGLE", "DOUBLE", "TRIPLE", "AROMATIC")),
    "stereo": (
        tuple(int(s) for s in (_ST.STEREONONE, _ST.STEREOANY, _ST.STEREOZ, _ST.STEREOE,
                               _ST.STEREOCIS, _ST.STEREOTRANS)),
        ("STEREONONE", "STEREOANY", "STEREOZ", "STEREOE", "STEREOCIS", "STEREOTRANS"),
    ),
}  # fmt: skip
_LUT_SHIFT = 8  # codes are shifted by this before lookup so that negative charges index safely
_LUT_SIZE = 512

_HYB_CODE = {h: int(h) for h in _HYB.values.values()}
# bond orders as GetBondTypeAsDouble() gives them for the four common types; every other type
# (dative, quadruple, zero...) gets an order that no column claims, hence bond_type=other
_BOND_ORDER = {t: 200.0 for t in _BT.values.values()}
_BOND_ORDER.update({_BT.SINGLE: 1.0, _BT.DOUBLE: 2.0, _BT.TRIPLE: 3.0, _BT.AROMATIC: 1.5})
_ISOTOPE = re.compile(r"\[\d")
# a featurized chunk: x, edge_index, edge_attr (all molecules concatenated), atoms and bonds per mol
_Packed = tuple[np.ndarray, np.ndarray, np.ndarray, list[int], list[int]]
_ATOMIC_WEIGHT = np.array(
    [0.0] + [Chem.GetPeriodicTable().GetAtomicWeight(z) for z in range(1, 119)], dtype=np.float64
)


@dataclass(eq=False, slots=True)
class MolGraph:
    """One molecule as a directed graph.

    Attributes:
        x: atom features ``(n_atoms, atom_dim)`` float32, columns named by
            ``GraphFeaturizer.feature_names()["atom"]``.
        edge_index: ``(2, n_edges)`` int64, source row 0 and target row 1; edge ``2k`` is RDKit bond
            ``k`` from its begin to its end atom and edge ``2k + 1`` the reverse.
        edge_attr: bond features ``(n_edges, bond_dim)`` float32, identical for both directions.
        n_atoms: number of atoms (heavy atoms unless the molecule has explicit H atoms).
        n_edges: number of directed edges, twice the number of bonds.
    """

    x: np.ndarray
    edge_index: np.ndarray
    edge_attr: np.ndarray
    n_atoms: int
    n_edges: int

    @property
    def rev_index(self) -> np.ndarray:
        """Index of each edge's reverse edge ``(n_edges,)`` int64: ``arange(n_edges) ^ 1``."""
        return np.arange(self.n_edges, dtype=np.int64) ^ 1

    def __repr__(self) -> str:
        return (
            f"MolGraph(n_atoms={self.n_atoms}, n_edges={self.n_edges}, "
            f"atom_dim={self.x.shape[1]}, bond_dim={self.edge_attr.shape[1]})"
        )


@dataclass(frozen=True)
class _Layout:
    """Precomputed column layout of one feature set (atoms or bonds)."""

    names: tuple[str, ...]
    onehot: tuple[tuple[str, np.ndarray], ...]  # (group, lookup table code + shift -> column)
    binary: tuple[tuple[str, int], ...]  # (group, column)
    mass_col: int  # -1 if absent
    dim: int


def _layout(groups: Sequence[str], categories: dict[str, tuple[tuple[int, ...], tuple[str, ...]]],
            elements: tuple[int, ...] = ()) -> _Layout:  # fmt: skip
    names: list[str] = []
    onehot: list[tuple[str, np.ndarray]] = []
    binary: list[tuple[str, int]] = []
    mass_col = -1
    for group in groups:
        if group == "atomic_num":
            values: tuple[int, ...] = elements
            labels: tuple[str, ...] = tuple(str(z) for z in elements)
        elif group in categories:
            values, labels = categories[group]
        elif group == "delta_mass":
            mass_col = len(names)
            names.append("delta_mass")
            continue
        else:
            binary.append((group, len(names)))
            names.append(group)
            continue
        start = len(names)
        lut = np.full(_LUT_SIZE, start + len(values), dtype=np.int64)  # "other" by default
        for j, v in enumerate(values):
            lut[v + _LUT_SHIFT] = start + j
        onehot.append((group, lut))
        names.extend(f"{group}={label}" for label in labels)
        names.append(f"{group}=other")
    return _Layout(tuple(names), tuple(onehot), tuple(binary), mass_col, len(names))


@dataclass(frozen=True)
class GraphFeaturizer:
    """Turn molecules into :class:`MolGraph` objects.

    Attributes:
        atom_features: atom feature groups, in column order (any subset of ``ATOM_FEATURES``).
        bond_features: bond feature groups, in column order (any subset of ``BOND_FEATURES``).
        elements: atomic numbers with their own ``atomic_num`` column; others go to
            ``atomic_num=other``.
        chunk_size: molecules featurized together by :meth:`many` (speed only; results are the
            same for any value).

    Example:
        >>> g = GraphFeaturizer()("CC(=O)Oc1ccccc1C(=O)O")
        >>> g.n_atoms, g.n_edges, g.x.shape[1] == GraphFeaturizer().atom_dim
        (13, 26, True)
    """

    atom_features: tuple[str, ...] = ATOM_FEATURES
    bond_features: tuple[str, ...] = BOND_FEATURES
    elements: tuple[int, ...] = DEFAULT_ELEMENTS
    chunk_size: int = 256

    def __post_init__(self) -> None:
        for name, allowed, got in (
            ("atom", ATOM_FEATURES, self.atom_features),
            ("bond", BOND_FEATURES, self.bond_features),
        ):
            unknown = [g for g in got if g not in allowed]
            if unknown:
                raise InputError(f"unknown {name} features {unknown}; choose from {list(allowed)}")
            if len(set(got)) != len(got):
                raise InputError(f"duplicate {name} features in {list(got)}")
        in_range = all(0 < z < _LUT_SIZE - _LUT_SHIFT for z in self.elements)
        if not in_range or len(set(self.elements)) != len(self.elements):
            raise InputError(f"elements must be distinct atomic numbers, got {self.elements}")
        if self.chunk_size < 1:
            raise InputError(f"chunk_size must be >= 1, got {self.chunk_size}")

    @cached_property
    def _atom_layout(self) -> _Layout:
        return _layout(self.atom_features, _ATOM_CATEGORIES, tuple(self.elements))

    @cached_property
    def _bond_layout(self) -> _Layout:
        return _layout(self.bond_features, _BOND_CATEGORIES)

    @property
    def atom_dim(self) -> int:
        """Number of atom feature columns."""
        return self._atom_layout.dim

    @property
    def bond_dim(self) -> int:
        """Number of bond feature columns."""
        return self._bond_layout.dim

    def feature_names(self) -> dict[str, list[str]]:
        """Column names: ``{"atom": [...atom_dim names], "bond": [...bond_dim names]}``.

        One-hot columns read ``group=value`` (``atomic_num=6``, ``total_degree=3``,
        ``hybridization=SP2``, ``bond_type=AROMATIC``, ``formal_charge=other``); binary and
        numeric columns are the group name (``is_in_ring``, ``delta_mass``).
        """
        return {"atom": list(self._atom_layout.names), "bond": list(self._bond_layout.names)}

    def __call__(self, x: MolLike) -> MolGraph:
        """Graph of one molecule (SMILES string or RDKit molecule).

        Raises:
            InvalidMoleculeError: the SMILES cannot be parsed.
        """
        if isinstance(x, str):
            return _unpack(self._pack([parse_smiles(x)], [x]))[0]
        if not isinstance(x, Chem.Mol):
            raise InvalidMoleculeError(_not_a_molecule(x))
        return _unpack(self._pack([x], [None]))[0]

    def many(self, xs: Sequence[MolLike], n_jobs: int = 1) -> list[MolGraph]:
        """Graphs of many molecules, in order.

        Args:
            xs: SMILES strings and/or RDKit molecules.
            n_jobs: worker processes (``-1``: all cores); results equal ``n_jobs=1`` exactly.

        Raises:
            InvalidMoleculeError: a SMILES cannot be parsed; the message names its 1-based row.
        """
        return parallel_map(
            self._chunk, xs, n_jobs=n_jobs, chunk_size=self.chunk_size, combine=_unpack_all
        )

    def _chunk(self, xs: Sequence[MolLike]) -> _Packed:
        """Featurize a chunk into packed arrays (row numbers in errors are within the chunk)."""
        with _gc_paused():
            return self._parse_and_pack(xs)

    def _parse_and_pack(self, xs: Sequence[MolLike]) -> _Packed:
        mols: list[Chem.Mol] = []
        smiles: list[str | None] = []
        for row, x in enumerate(xs, start=1):
            if isinstance(x, str):
                try:
                    mols.append(parse_smiles(x))
                except InvalidMoleculeError as exc:
                    issue = RowIssue(reason=str(exc), row=row)
                    raise InvalidMoleculeError(str(issue), issue) from None
                smiles.append(x)
            elif isinstance(x, Chem.Mol):
                mols.append(x)
                smiles.append(None)
            else:
                issue = RowIssue(_not_a_molecule(x), row)
                raise InvalidMoleculeError(str(issue), issue)
        return self._pack(mols, smiles)

    def _pack(self, mols: Sequence[Chem.Mol], smiles: Sequence[str | None]) -> _Packed:
        """Features of a chunk of molecules as concatenated arrays plus per-molecule counts.

        Shortcuts, each exact: total degree is the graph degree plus the hydrogen count, an atom is
        in a ring iff one of its bonds is, and for a SMILES string without the characters that can
        introduce them, chirality tags, double-bond stereo, isotopes and bond types other than
        single/double/triple/aromatic are known to be absent and their getters are skipped; a
        molecule without an isotope label has no mass deltas to compute.
        The cyclic garbage collector is paused while the chunk's (acyclic) RDKit wrappers are made.
        """
        af, bf = set(self.atom_features), set(self.bond_features)
        need_hs = "total_num_hs" in af or "total_degree" in af
        need_ring = "is_in_ring" in af or "is_in_ring" in bf
        A, B = rdchem.Atom, rdchem.Bond
        z: list[int] = []
        hs: list[int] = []
        charge: list[int] = []
        hyb: list[int] = []
        arom: list[bool] = []
        chiral: list[int] = []
        delta: list[float] = []
        begin: list[int] = []
        end: list[int] = []
        order: list[float] = []
        stereo: list[int] = []
        conj: list[bool] = []
        ring: list[bool] = []
        n_atoms: list[int] = []
        n_bonds: list[int] = []
        with _gc_paused():
            for mol, smi in zip(mols, smiles, strict=True):
                na, nb = mol.GetNumAtoms(), mol.GetNumBonds()
                n_atoms.append(na)
                n_bonds.append(nb)
                atoms = list(map(mol.GetAtomWithIdx, range(na)))
                bonds = list(map(mol.GetBondWithIdx, range(nb)))
                if smi is None or "|" in smi:  # a molecule, or CXSMILES extensions: no shortcut
                    has_chiral = has_stereo = has_special = True
                    # one C++ getter per atom instead of a Python mass lookup per atom
                    has_isotope = "delta_mass" in af and any(map(A.GetIsotope, atoms))
                else:
                    has_chiral = "@" in smi
                    has_stereo = "/" in smi or "\\" in smi
                    has_isotope = _ISOTOPE.search(smi) is not None
                    has_special = "$" in smi or "->" in smi or "<-" in smi
                if "atomic_num" in af:
                    z.extend(map(A.GetAtomicNum, atoms))
                if need_hs:
                    hs.extend(map(A.GetTotalNumHs, atoms))
                if "formal_charge" in af:
                    charge.extend(map(A.GetFormalCharge, atoms))
                if "hybridization" in af:
                    hyb.extend(map(_HYB_CODE.__getitem__, map(A.GetHybridization, atoms)))
                if "is_aromatic" in af:
                    arom.extend(map(A.GetIsAromatic, atoms))
                if "chiral_tag" in af:
                    chiral.extend(map(int, map(A.GetChiralTag, atoms)) if has_chiral else [0] * na)
                if "delta_mass" in af:
                    delta.extend(map(_delta_mass, atoms) if has_isotope else [0.0] * na)
                begin.extend(map(B.GetBeginAtomIdx, bonds))
                end.extend(map(B.GetEndAtomIdx, bonds))
                if "bond_type" in bf:
                    if has_special:
                        order.extend(map(_BOND_ORDER.__getitem__, map(B.GetBondType, bonds)))
                    else:  # single, double, triple, aromatic: 1, 2, 3, 1.5
                        order.extend(map(B.GetBondTypeAsDouble, bonds))
                if "stereo" in bf:
                    stereo.extend(map(int, map(B.GetStereo, bonds)) if has_stereo else [0] * nb)
                if "is_conjugated" in bf:
                    conj.extend(map(B.GetIsConjugated, bonds))
                if need_ring:
                    ring.extend(map(B.IsInRing, bonds))

        n, m = sum(n_atoms), len(begin)
        b_local = np.array(begin, dtype=np.int64)
        e_local = np.array(end, dtype=np.int64)
        offsets = np.repeat(np.cumsum([0, *n_atoms[:-1]], dtype=np.int64), n_bonds)
        b_row, e_row = b_local + offsets, e_local + offsets  # atom rows within the chunk
        atom_raw: dict[str, np.ndarray] = {}
        bond_raw: dict[str, np.ndarray] = {}
        if need_ring:
            bond_raw["is_in_ring"] = ring_bonds = np.array(ring, dtype=np.bool_)
            in_ring = np.bincount(b_row[ring_bonds], minlength=n)
            atom_raw["is_in_ring"] = (in_ring + np.bincount(e_row[ring_bonds], minlength=n)) > 0
        if "bond_type" in bf:
            bond_raw["bond_type"] = (np.array(order, dtype=np.float64) * 2.0).astype(np.int64)
        if "stereo" in bf:
            bond_raw["stereo"] = np.array(stereo, dtype=np.int64)
        if "is_conjugated" in bf:
            bond_raw["is_conjugated"] = np.array(conj, dtype=np.bool_)
        if "atomic_num" in af:
            atom_raw["atomic_num"] = np.array(z, dtype=np.int64)
        if need_hs:
            atom_raw["total_num_hs"] = np.array(hs, dtype=np.int64)
        if "total_degree" in af:
            degree = np.bincount(b_row, minlength=n) + np.bincount(e_row, minlength=n)
            atom_raw["total_degree"] = degree + atom_raw["total_num_hs"]
        if "formal_charge" in af:
            atom_raw["formal_charge"] = np.array(charge, dtype=np.int64)
        if "hybridization" in af:
            atom_raw["hybridization"] = np.array(hyb, dtype=np.int64)
        if "is_aromatic" in af:
            atom_raw["is_aromatic"] = np.array(arom, dtype=np.bool_)
        if "chiral_tag" in af:
            atom_raw["chiral_tag"] = np.array(chiral, dtype=np.int64)
        if "delta_mass" in af:
            atom_raw["delta_mass"] = np.array(delta, dtype=np.float64)

        x = _fill(self._atom_layout, atom_raw, n)
        edge_attr = np.repeat(_fill(self._bond_layout, bond_raw, m), 2, axis=0)
        edge_index = np.empty((2, 2 * m), dtype=np.int64)
        edge_index[0, 0::2] = b_local
        edge_index[1, 0::2] = e_local
        edge_index[0, 1::2] = e_local
        edge_index[1, 1::2] = b_local
        return x, edge_index, edge_attr, n_atoms, n_bonds


@contextmanager
def _gc_paused() -> Iterator[None]:
    """Pause the cyclic garbage collector: featurizing makes many short-lived, acyclic objects
    (RDKit wrappers, small lists) and a collection pass over a large heap costs more than the work.
    Reference counting still frees everything at once; the previous state is restored."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def _delta_mass(atom: rdchem.Atom) -> float:
    """Isotope mass minus the element's standard atomic weight, in daltons."""
    return float(atom.GetMass() - _ATOMIC_WEIGHT[min(atom.GetAtomicNum(), 118)])


def _not_a_molecule(x: object) -> str:
    return f"expected a SMILES string or RDKit molecule, got {type(x).__name__}"


def _fill(layout: _Layout, raw: dict[str, np.ndarray], n: int) -> np.ndarray:
    """Write the ``(n, layout.dim)`` float32 feature matrix from raw integer/float codes."""
    out = np.zeros((n, layout.dim), dtype=np.float32)
    if n == 0:
        return out
    if layout.onehot:
        cols = [lut[np.clip(raw[g] + _LUT_SHIFT, 0, _LUT_SIZE - 1)] for g, lut in layout.onehot]
        out[np.tile(np.arange(n), len(cols)), np.concatenate(cols)] = 1.0
    for group, col in layout.binary:
        out[:, col] = raw[group]
    if layout.mass_col >= 0:
        out[:, layout.mass_col] = raw["delta_mass"]
    return out


def _unpack(packed: _Packed) -> list[MolGraph]:
    """Split a chunk's concatenated arrays into one :class:`MolGraph` per molecule (views)."""
    x, edge_index, edge_attr, n_atoms, n_bonds = packed
    out: list[MolGraph] = []
    a0 = e0 = 0
    for na, nb in zip(n_atoms, n_bonds, strict=True):
        a1, e1 = a0 + na, e0 + 2 * nb
        out.append(MolGraph(x[a0:a1], edge_index[:, e0:e1], edge_attr[e0:e1], na, 2 * nb))
        a0, e0 = a1, e1
    return out


def _unpack_all(chunks: list[_Packed]) -> list[MolGraph]:
    return [g for packed in chunks for g in _unpack(packed)]


_DEFAULT = GraphFeaturizer()


def mol_to_graph(x: MolLike) -> MolGraph:
    """Graph of one molecule with the default :class:`GraphFeaturizer`."""
    return _DEFAULT(x)


@dataclass(eq=False)
class GraphBatch:
    """Many graphs as one disconnected graph (PyG-style), as torch tensors.

    Attributes:
        x: atom features ``(total_atoms, atom_dim)`` float32.
        edge_index: ``(2, total_edges)`` int64, offset so indices address rows of ``x``.
        edge_attr: ``(total_edges, bond_dim)`` float32.
        rev_index: ``(total_edges,)`` int64, the reverse of each directed edge (``e ^ 1``).
        batch: ``(total_atoms,)`` int64, graph id of each atom.
        ptr: ``(num_graphs + 1,)`` int64, atoms of graph ``i`` are ``x[ptr[i]:ptr[i + 1]]``.
        num_graphs: number of molecules.
    """

    x: torch.Tensor
    edge_index: torch.Tensor
    edge_attr: torch.Tensor
    rev_index: torch.Tensor
    batch: torch.Tensor
    ptr: torch.Tensor
    num_graphs: int

    @property
    def num_nodes(self) -> int:
        """Total number of atoms in the batch."""
        return int(self.x.shape[0])

    @property
    def num_edges(self) -> int:
        """Total number of directed edges in the batch."""
        return int(self.edge_index.shape[1])

    def to(self, device: torch.device | str, non_blocking: bool = False) -> GraphBatch:
        """A copy with every tensor on ``device``."""

        def move(t: torch.Tensor) -> torch.Tensor:
            return t.to(device, non_blocking=non_blocking)

        return GraphBatch(
            move(self.x),
            move(self.edge_index),
            move(self.edge_attr),
            move(self.rev_index),
            move(self.batch),
            move(self.ptr),
            self.num_graphs,
        )

    def to_pyg(self) -> Any:
        """This batch as a ``torch_geometric.data.Batch`` (``x``, ``edge_index``, ``edge_attr``,
        ``batch``, ``ptr``); ``to_data_list()`` recovers the single graphs.

        ``rev_index`` is left out because PyG would offset any ``*_index`` attribute by the
        number of atoms when re-batching; recompute it as ``arange(num_edges) ^ 1``.
        """
        import torch
        from torch_geometric.data import Batch

        out = Batch(
            x=self.x, edge_index=self.edge_index, edge_attr=self.edge_attr, batch=self.batch,
            ptr=self.ptr,
        )  # fmt: skip
        edge_counts = torch.bincount(self.batch[self.edge_index[0]], minlength=self.num_graphs)
        eptr = torch.zeros(self.num_graphs + 1, dtype=torch.long, device=self.ptr.device)
        eptr[1:] = torch.cumsum(edge_counts, 0)
        zeros = torch.zeros(self.num_graphs, dtype=torch.long, device=self.ptr.device)
        out._num_graphs = self.num_graphs
        out._slice_dict = {"x": self.ptr, "edge_index": eptr, "edge_attr": eptr}
        out._inc_dict = {"x": zeros, "edge_index": self.ptr[:-1], "edge_attr": zeros}
        return out


def collate_graphs(graphs: Sequence[MolGraph]) -> GraphBatch:
    """Batch graphs into one :class:`GraphBatch`: atom indices are offset by the atoms of the
    graphs before, edges keep their order so ``rev_index = arange(total_edges) ^ 1``.

    Raises:
        InputError: ``graphs`` is empty or the graphs have different feature widths.
    """
    import torch

    if len(graphs) == 0:
        raise InputError("cannot collate an empty list of graphs")
    dims = {(g.x.shape[1], g.edge_attr.shape[1]) for g in graphs}
    if len(dims) != 1:
        raise InputError(f"graphs have different (atom_dim, bond_dim): {sorted(dims)}")
    atom_dim, bond_dim = dims.pop()
    n_atoms = np.fromiter((g.n_atoms for g in graphs), np.int64, len(graphs))
    n_edges = np.fromiter((g.n_edges for g in graphs), np.int64, len(graphs))
    ptr = np.zeros(len(graphs) + 1, dtype=np.int64)
    np.cumsum(n_atoms, out=ptr[1:])
    x = np.concatenate([g.x for g in graphs]) if ptr[-1] else np.zeros((0, atom_dim), np.float32)
    if n_edges.sum():
        edge_index = np.concatenate([g.edge_index for g in graphs], axis=1)
        edge_index += np.repeat(ptr[:-1], n_edges)
        edge_attr = np.concatenate([g.edge_attr for g in graphs])
    else:
        edge_index = np.zeros((2, 0), dtype=np.int64)
        edge_attr = np.zeros((0, bond_dim), dtype=np.float32)
    batch = np.repeat(np.arange(len(graphs), dtype=np.int64), n_atoms)
    rev = np.arange(edge_index.shape[1], dtype=np.int64) ^ 1
    return GraphBatch(
        x=torch.from_numpy(np.ascontiguousarray(x, dtype=np.float32)),
        edge_index=torch.from_numpy(edge_index),
        edge_attr=torch.from_numpy(np.ascontiguousarray(edge_attr, dtype=np.float32)),
        rev_index=torch.from_numpy(rev),
        batch=torch.from_numpy(batch),
        ptr=torch.from_numpy(ptr),
        num_graphs=len(graphs),
    )
