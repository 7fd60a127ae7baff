"""Building crystals: bulk cells, supercells, strained and rattled cells, vacancies, random
substitutional alloys, and the perturbed training sets made of them.

All functions return new ASE ``Atoms`` (the input is never modified), lengths in Å. Strains are
dimensionless (0.01 = 1 %), applied as ``cell' = cell (1 + ε)`` with the atoms moving with the
cell (fractional coordinates kept). Every function that draws takes ``seed`` and is
deterministic.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from molfit.errors import InputError

#: crystal structures :func:`bulk` builds (ASE's names)
STRUCTURES = ("fcc", "bcc", "hcp", "sc", "diamond", "zincblende", "rocksalt", "cesiumchloride")


def bulk(
    element: str,
    structure: str | None = None,
    *,
    a: float | None = None,
    c: float | None = None,
    cubic: bool = False,
) -> Any:
    """A bulk crystal cell (ASE's ``ase.build.bulk``).

    Args:
        element: chemical symbol (``"Cu"``) or, for two-atom structures, a formula (``"NaCl"``
            with ``structure="rocksalt"``).
        structure: one of :data:`STRUCTURES`; ``None`` takes the element's ground-state
            structure from ASE's reference data.
        a, c: lattice constants, Å (``None``: ASE's experimental value where it has one).
        cubic: the conventional cubic cell (4 atoms for fcc) instead of the primitive one.

    Raises:
        InputError: unknown element or structure, or no lattice constant known for it.
    """
    from ase.build import bulk as ase_bulk

    if structure is not None and structure not in STRUCTURES:
        raise InputError(f"unknown crystal structure {structure!r}; choose from {STRUCTURES}")
    if a is not None and not a > 0:
        raise InputError(f"lattice constant a must be positive, got {a} Å")
    try:
        return ase_bulk(element, structure, a=a, c=c, cubic=cubic)
    except (ValueError, KeyError, RuntimeError) as exc:
        kind = structure or "default"
        raise InputError(f"cannot build bulk {element!r} ({kind}): {exc}") from None


def _repeats(repeat: int | tuple[int, int, int] | np.ndarray) -> np.ndarray:
    arr = np.asarray(repeat)
    if arr.ndim == 0:
        arr = np.diag([int(arr)] * 3)
    elif arr.shape == (3,):
        arr = np.diag(arr.astype(int))
    if arr.shape != (3, 3) or not np.allclose(arr, np.round(arr)):
        raise InputError(f"supercell needs an integer, 3 integers or a 3x3 matrix, got {repeat}")
    arr = np.round(arr).astype(int)
    if round(abs(np.linalg.det(arr))) < 1:
        raise InputError(f"supercell matrix {arr.tolist()} has zero determinant")
    return arr


def supercell(atoms: Any, repeat: int | tuple[int, int, int] | np.ndarray) -> Any:
    """The supercell ``P @ cell`` of ``atoms``: ``repeat`` is n (n×n×n), ``(n1, n2, n3)`` or a
    3×3 integer matrix ``P`` (det(P) copies of the cell)."""
    from ase.build import make_supercell

    _require_cell(atoms, "supercell")
    p = _repeats(repeat)
    if np.count_nonzero(p - np.diag(np.diag(p))) == 0:
        return atoms.repeat(tuple(int(x) for x in np.diag(p)))
    return make_supercell(atoms, p)


def _require_cell(atoms: Any, what: str) -> None:
    if not atoms.pbc.all() or atoms.cell.rank != 3:
        raise InputError(f"{what} needs a periodic structure with a full 3D cell")


def strain_matrix(strain: float | np.ndarray) -> np.ndarray:
    """A symmetric 3×3 strain from a scalar (isotropic), Voigt 6 (xx yy zz yz xz xy, tensor
    shear components, not engineering) or 3×3 (symmetrised)."""
    arr = np.asarray(strain, dtype=np.float64)
    if arr.ndim == 0:
        return np.eye(3) * float(arr)
    if arr.shape == (6,):
        xx, yy, zz, yz, xz, xy = arr
        return np.array([[xx, xy, xz], [xy, yy, yz], [xz, yz, zz]])
    if arr.shape == (3, 3):
        return 0.5 * (arr + arr.T)
    raise InputError(f"strain must be a number, 6 Voigt components or 3x3, got shape {arr.shape}")


def strain(atoms: Any, eps: float | np.ndarray) -> Any:
    """``atoms`` with its cell deformed to ``cell (1 + ε)`` and the atoms moved with it."""
    _require_cell(atoms, "strain")
    e = strain_matrix(eps)
    if np.abs(e).max() >= 0.5:
        raise InputError(f"strain of {np.abs(e).max():.0%} is not a small deformation")
    out = atoms.copy()
    out.set_cell(np.asarray(atoms.cell[:]) @ (np.eye(3) + e), scale_atoms=True)
    return out


def scale_volume(atoms: Any, volume: float) -> Any:
    """``atoms`` scaled isotropically to ``volume`` Å³ (shape and fractional coordinates kept)."""
    _require_cell(atoms, "scale_volume")
    factor = (float(volume) / atoms.get_volume()) ** (1.0 / 3.0)
    return strain(atoms, factor - 1.0)


def rattle(atoms: Any, stdev: float = 0.05, *, seed: int = 0) -> Any:
    """``atoms`` with every position displaced by Gaussian noise of ``stdev`` Å per component."""
    out = atoms.copy()
    rng = np.random.default_rng(seed)
    out.positions = out.positions + rng.normal(0.0, stdev, size=out.positions.shape)
    return out


def vacancy(atoms: Any, index: int | None = 0, *, seed: int = 0) -> Any:
    """``atoms`` without atom ``index`` (0-based; ``None``: one drawn with ``seed``)."""
    n = len(atoms)
    if n < 2:
        raise InputError("a vacancy needs a structure of at least 2 atoms")
    k = int(np.random.default_rng(seed).integers(n)) if index is None else int(index)
    if not -n <= k < n:
        raise InputError(f"vacancy index {k} is outside 0..{n - 1}")
    out = atoms.copy()
    del out[k]
    return out


def substitute(atoms: Any, element: str, fraction: float, *, seed: int = 0) -> Any:
    """A random substitutional alloy: ``round(fraction * n)`` atoms replaced by ``element``."""
    from ase.data import atomic_numbers

    if element not in atomic_numbers:
        raise InputError(f"unknown element {element!r}")
    if not 0 <= fraction <= 1:
        raise InputError(f"fraction must lie in [0, 1], got {fraction}")
    out = atoms.copy()
    k = round(fraction * len(out))
    chosen = np.random.default_rng(seed).choice(len(out), size=k, replace=False)
    numbers = out.numbers.copy()
    numbers[chosen] = atomic_numbers[element]
    out.numbers = numbers
    return out


def perturbed_cells(
    atoms: Any,
    *,
    n_strained: int = 20,
    n_rattled: int = 20,
    n_vacancy: int = 5,
    max_strain: float = 0.03,
    rattle_stdev: float = 0.05,
    seed: int = 0,
) -> list[Any]:
    """Unlabelled training cells around a crystal, for ``molfit label``.

    - ``n_strained`` cells with a random symmetric strain (each component uniform in
      ``±max_strain``), lightly rattled (``rattle_stdev / 5`` Å);
    - ``n_rattled`` cells with Gaussian displacements of ``rattle_stdev`` Å at a random isotropic
      strain within ``±max_strain``;
    - ``n_vacancy`` cells with one random atom removed, rattled by ``rattle_stdev`` Å.

    Each cell records how it was made in ``info["kind"]`` (``strained``, ``rattled``,
    ``vacancy``) and ``info["strain"]`` (the largest strain component).
    """
    _require_cell(atoms, "perturbed_cells")
    rng = np.random.default_rng(seed)
    out = []
    for k in range(n_strained):
        e = strain_matrix(rng.uniform(-max_strain, max_strain, size=6))
        cell = rattle(strain(atoms, e), rattle_stdev / 5, seed=int(rng.integers(2**31)))
        cell.info.update(kind="strained", strain=float(np.abs(e).max()), frame=k)
        out.append(cell)
    for k in range(n_rattled):
        e = float(rng.uniform(-max_strain, max_strain))
        cell = rattle(strain(atoms, e), rattle_stdev, seed=int(rng.integers(2**31)))
        cell.info.update(kind="rattled", strain=abs(e), frame=k)
        out.append(cell)
    for k in range(n_vacancy):
        cell = vacancy(atoms, None, seed=int(rng.integers(2**31)))
        cell = rattle(cell, rattle_stdev, seed=int(rng.integers(2**31)))
        cell.info.update(kind="vacancy", strain=0.0, frame=k)
        out.append(cell)
    return out
