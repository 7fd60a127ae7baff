"""RDKit 2D descriptors (the whole ``rdkit.Chem.Descriptors.descList``) as a NaN-safe matrix.

Each descriptor is computed on its own: one that raises (some fail on exotic valences or
elements, e.g. ``BCUT2D_*`` on atoms without Gasteiger parameters) or returns a non-finite value
(``inf``, or ``nan``) gives ``NaN`` in its cell, and the other descriptors of that molecule are
unaffected. Nothing here ever crashes on a valid molecule; an unparseable SMILES raises
:class:`~molfit.errors.InvalidMoleculeError` naming its row.

Values are RDKit's, in RDKit's units (``MolWt`` in g/mol, ``TPSA`` in Å², ``MolLogP``
dimensionless). ``Ipc`` is RDKit's raw information content, which grows very quickly with size
(values above 1e30 occur); take its logarithm before using it as a model input.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import cache

import numpy as np
from rdkit import Chem
from rdkit.Chem import Descriptors

from molfit.chem._smiles import MolLike, parse_smiles
from molfit.errors import InputError, InvalidMoleculeError, RowIssue
from molfit.parallel import parallel_map

__all__ = ["RDKitDescriptors", "descriptor_names", "rdkit_descriptors"]

_CHUNK = 64  # descriptors take milliseconds per molecule: small chunks balance the workers


@cache
def _table() -> dict[str, Callable[[Chem.Mol], float]]:
    return dict(Descriptors.descList)


def descriptor_names() -> list[str]:
    """Names of every RDKit 2D descriptor, in ``Descriptors.descList`` order (217 in RDKit
    2026.09)."""
    return list(_table())


def _check_names(names: Sequence[str] | None) -> tuple[str, ...]:
    table = _table()
    if names is None:
        return tuple(table)
    if isinstance(names, str):
        names = [names]
    unknown = [n for n in names if n not in table]
    if unknown:
        lowered = {k.lower(): k for k in table}
        hints = [
            f"{n!r} (did you mean {lowered[n.lower()]!r}?)" for n in unknown if n.lower() in lowered
        ]
        detail = ", ".join(hints) if hints else ", ".join(repr(n) for n in unknown)
        raise InputError(f"unknown RDKit descriptor(s): {detail}; see descriptor_names()")
    if len(set(names)) != len(names):
        raise InputError(f"duplicate descriptor names in {list(names)}")
    return tuple(names)


def _one(mol: Chem.Mol, funcs: Sequence[Callable[[Chem.Mol], float]], out: np.ndarray) -> None:
    for j, fn in enumerate(funcs):
        try:
            value = float(fn(mol))
        except Exception:  # a descriptor bug must not stop the other 216 columns
            value = math.nan
        out[j] = value if math.isfinite(value) else math.nan


@dataclass(frozen=True)
class RDKitDescriptors:
    """RDKit 2D descriptors featurizer; call it on molecules to get a float64 matrix.

    Attributes:
        names: descriptor names (``None``: all of :func:`descriptor_names`), in column order.

    Example:
        >>> RDKitDescriptors(("MolWt", "TPSA"))(["CCO"]).round(2).tolist()
        [[46.07, 20.23]]
    """

    names: tuple[str, ...] | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "names", _check_names(self.names))

    @property
    def n_features(self) -> int:
        """Number of columns."""
        return len(self.names or ())

    def feature_names(self) -> list[str]:
        """Column names."""
        return list(self.names or ())

    def __call__(self, xs: MolLike | Sequence[MolLike], n_jobs: int = 1) -> np.ndarray:
        """Descriptors ``(n_molecules, n_features)`` float64 (``(n_features,)`` for one molecule);
        a descriptor that fails or is not finite is ``NaN``.

        Args:
            xs: a SMILES string or RDKit molecule, or a sequence of them.
            n_jobs: worker processes (``-1``: all cores); results equal ``n_jobs=1`` exactly.

        Raises:
            InvalidMoleculeError: a SMILES cannot be parsed; the message names its 1-based row.
        """
        if isinstance(xs, str | Chem.Mol):
            return self._chunk([xs])[0]
        if len(xs) == 0:
            return np.zeros((0, self.n_features), dtype=np.float64)
        return parallel_map(
            self._chunk, xs, n_jobs=n_jobs, chunk_size=_CHUNK, combine=np.concatenate
        )

    def _chunk(self, xs: Sequence[MolLike]) -> np.ndarray:
        table = _table()
        funcs = [table[n] for n in self.names or ()]
        out = np.empty((len(xs), len(funcs)), dtype=np.float64)
        for row, x in enumerate(xs):
            try:
                mol = x if isinstance(x, Chem.Mol) else parse_smiles(x)
            except InvalidMoleculeError as exc:
                issue = RowIssue(reason=str(exc), row=row + 1)
                raise InvalidMoleculeError(str(issue), issue) from None
            _one(mol, funcs, out[row])
        return out


def rdkit_descriptors(
    xs: MolLike | Sequence[MolLike], names: Sequence[str] | None = None, n_jobs: int = 1
) -> np.ndarray:
    """RDKit 2D descriptors of one molecule ``(n_desc,)`` or many ``(n_molecules, n_desc)``,
    float64, NaN where a descriptor fails or is not finite.

    Args:
        xs: a SMILES string or RDKit molecule, or a sequence of them.
        names: descriptor names (``None``: all, see :func:`descriptor_names`).
        n_jobs: worker processes (``-1``: all cores).

    Raises:
        InputError: an unknown descriptor name.
        InvalidMoleculeError: an unparseable SMILES, named by its 1-based row.
    """
    return RDKitDescriptors(tuple(names) if names is not None else None)(xs, n_jobs=n_jobs)
