"""Crystal files: CIF, POSCAR/CONTCAR and extxyz in and out, with the cell and periodic flags.

Reading goes through ASE (``ase.io.read``), then :func:`check_crystal` refuses what no calculation
can use: a cell of zero volume, atoms on top of
each other (closer than ``min_distance`` Å, periodic images included), non-finite positions.
Every error is an :class:`~molfit.errors.InputError` that names the file and what is wrong.
Writing is atomic: a temporary file in the same folder, renamed when complete, so an
interrupted write never leaves half a structure behind.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Any

import numpy as np

from molfit.errors import InputError

#: file suffixes (lower case) and the ASE format each is read and written with
FORMATS = {
    ".cif": "cif",
    ".vasp": "vasp",
    ".poscar": "vasp",
    ".extxyz": "extxyz",
    ".xyz": "extxyz",
}
#: atoms closer than this (Å) are called overlapping
MIN_DISTANCE = 0.5


def _format_of(path: Path, fmt: str | None) -> str | None:
    if fmt is not None:
        return fmt
    name = path.name.upper()
    if name.startswith(("POSCAR", "CONTCAR")):
        return "vasp"
    return FORMATS.get(path.suffix.lower())


def check_crystal(
    atoms: Any,
    where: str = "structure",
    *,
    min_distance: float = MIN_DISTANCE,
    periodic: bool = True,
) -> None:
    """Raise :class:`InputError` (naming ``where``) when ``atoms`` cannot be a crystal.

    Checks: at least one atom, finite positions, with ``periodic=True`` a cell that is periodic
    in all three directions with a volume above 10⁻⁶ Å³, and no two atoms (or an atom and a
    periodic image) closer than ``min_distance`` Å.
    """
    if len(atoms) == 0:
        raise InputError(f"{where}: no atoms")
    if not np.isfinite(atoms.positions).all():
        raise InputError(f"{where}: positions contain NaN or infinite values")
    if periodic:
        if not atoms.pbc.all():
            raise InputError(
                f"{where}: not periodic in all three directions (pbc={atoms.pbc.tolist()}); a "
                "crystal needs a full 3D cell"
            )
        volume = abs(float(np.linalg.det(np.asarray(atoms.cell[:]))))
        if not np.isfinite(volume) or volume < 1e-6:
            vectors = np.round(np.asarray(atoms.cell[:]), 4).tolist()
            raise InputError(
                f"{where}: the cell has zero volume (lattice vectors {vectors} are not independent)"
            )
    if len(atoms) > 1 or (periodic and len(atoms) == 1):
        from ase.neighborlist import neighbor_list

        i, j, d = neighbor_list("ijd", atoms, min_distance)
        if len(d):
            k = int(np.argmin(d))
            raise InputError(
                f"{where}: atoms {int(i[k]) + 1} ({atoms.get_chemical_symbols()[i[k]]}) and "
                f"{int(j[k]) + 1} ({atoms.get_chemical_symbols()[j[k]]}) overlap: "
                f"{float(d[k]):.3f} Å apart (closer than {min_distance} Å)"
            )


def read_crystals(path: str | Path, *, fmt: str | None = None, check: bool = True) -> list[Any]:
    """Every structure in a CIF, POSCAR/CONTCAR or extxyz file, as ASE ``Atoms``.

    Args:
        path: the file. The format follows the suffix (``.cif``, ``.vasp``/``.poscar``, names
            starting with ``POSCAR``/``CONTCAR``, ``.extxyz``/``.xyz``) unless ``fmt`` (an ASE
            format name) is given.
        check: run :func:`check_crystal` on each structure.

    Raises:
        InputError: missing file, a file ASE cannot parse, no structures, or a structure that
            fails the checks (the message names the file and the structure number).
    """
    from ase.io import read

    path = Path(path)
    if not path.is_file():
        raise InputError(f"{path}: no such file")
    form = _format_of(path, fmt)
    try:
        frames = read(path, index=":", format=form)
    except Exception as exc:  # ASE raises assorted errors for malformed files
        text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise InputError(f"{path}: cannot read a crystal structure ({text})") from None
    frames = frames if isinstance(frames, list) else [frames]
    if not frames:
        raise InputError(f"{path}: no structures in the file")
    if check:
        for k, atoms in enumerate(frames):
            where = str(path) if len(frames) == 1 else f"{path} structure {k + 1}"
            check_crystal(atoms, where, periodic=bool(atoms.pbc.any()) or form != "extxyz")
    return frames


def read_crystal(
    path: str | Path, *, index: int = 0, fmt: str | None = None, check: bool = True
) -> Any:
    """One structure (the first by default) of a crystal file; see :func:`read_crystals`."""
    frames = read_crystals(path, fmt=fmt, check=check)
    try:
        return frames[index]
    except IndexError:
        raise InputError(f"{path}: has {len(frames)} structure(s), no number {index + 1}") from None


def write_crystal(atoms: Any | list[Any], path: str | Path, *, fmt: str | None = None) -> Path:
    """Write one structure (or, for extxyz, several) atomically; returns the path.

    The format follows the suffix as in :func:`read_crystals`; CIF and POSCAR hold one
    structure. Stored calculator results (energy, forces, stress) go into extxyz files.

    Raises:
        InputError: an unknown suffix without ``fmt``, or several structures for a
            single-structure format.
    """
    from ase.io import write

    path = Path(path)
    form = _format_of(path, fmt)
    if form is None:
        raise InputError(
            f"{path}: unknown crystal format; use .cif, .vasp/POSCAR or .extxyz (or give fmt)"
        )
    frames = atoms if isinstance(atoms, list) else [atoms]
    if len(frames) != 1 and form in ("cif", "vasp"):
        raise InputError(f"{path}: {form} holds one structure, got {len(frames)}")
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(fd)
    try:
        kwargs = {"direct": True} if form == "vasp" else {}
        write(tmp, frames if form == "extxyz" else frames[0], format=form, **kwargs)
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path
