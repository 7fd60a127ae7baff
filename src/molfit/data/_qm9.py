"""QM9 from the ``qm9pack`` files: parsed once (vectorized) into an ``.npz`` cache, then reused.

``qm9pack`` ships the 130,831 QM9 molecules as three CSV files whose geometry column holds a
nested list per molecule (``[[x,y,z],...]`` in Å). The package itself is never imported (its
``__init__`` needs ``pkg_resources``, gone from recent setuptools); the files are found by path.

Units are converted once, here: Hartree to eV with ``ase.units.Hartree``; everything else keeps
QM9's units (Debye, Bohr³, Bohr², cal/mol/K, GHz). Atomization energies subtract the free-atom
energies of QM9's own reference table (``atomref.txt`` of the QM9 release, B3LYP/6-31G(2df,p),
Ramakrishnan et al. 2014), which qm9pack does not ship.
"""

from __future__ import annotations

import io
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd

from molfit.data._cache import cache_dir, read_npz, source_key, write_npz_atomic
from molfit.data._dataset import Dataset, DatasetInfo, TargetInfo
from molfit.errors import InputError
from molfit.structures import Structures

FORMAT_VERSION = 1
PACKAGE = "qm9pack"
FILES = ("data/qm9_part1.csv", "data/qm9_part2.csv", "data/qm9_part3.csv")

# Free-atom energies in Hartree from QM9's atomref table (B3LYP/6-31G(2df,p)), per element:
# (U0, U at 298.15 K, H at 298.15 K, G at 298.15 K).
ATOMREF_HARTREE: dict[int, tuple[float, float, float, float]] = {
    1: (-0.500273, -0.498857, -0.497912, -0.510927),
    6: (-37.846772, -37.845355, -37.844411, -37.861317),
    7: (-54.583861, -54.582445, -54.581501, -54.598897),
    8: (-75.064579, -75.063162, -75.062219, -75.079532),
    9: (-99.718730, -99.717314, -99.716370, -99.733544),
}
_SYMBOLS = {"H": 1, "C": 6, "N": 7, "O": 8, "F": 9}

# source column -> (molfit column, unit, description, converted from Hartree)
_SCALARS: dict[str, tuple[str, str, str, bool]] = {
    "Dipole_debye": ("mu", "D", "dipole moment magnitude", False),
    "Polarizability_bohr3": ("alpha", "Bohr^3", "isotropic polarizability", False),
    "HOMO_au": ("homo", "eV", "HOMO energy", True),
    "LUMO_au": ("lumo", "eV", "LUMO energy", True),
    "HOMO_LUMO_gap_au": ("gap", "eV", "HOMO-LUMO gap", True),
    "R2_bohr2": ("r2", "Bohr^2", "electronic spatial extent", False),
    "ZPVE_au": ("zpve", "eV", "zero-point vibrational energy", True),
    "InternalEnergy_0K_au": ("U0", "eV", "internal energy at 0 K", True),
    "InternalEnergy_298K_au": ("U", "eV", "internal energy at 298.15 K", True),
    "Enthalphy_298K_au": ("H", "eV", "enthalpy at 298.15 K", True),
    "GibbsFreeEnergy_298K_au": ("G", "eV", "free energy at 298.15 K", True),
    "Heatcapacity_Cv_cal_mol_K": ("Cv", "cal/(mol K)", "heat capacity at 298.15 K", False),
}
_EXTRAS = {"RotA_GHz": "rot_A", "RotB_GHz": "rot_B", "RotC_GHz": "rot_C"}
_ATOMIZATION = ("U0", "U", "H", "G")

_INTENSIVE = frozenset({"homo", "lumo", "gap"})
_DIPOLE = frozenset({"mu"})


def _kind(name: str) -> str:
    if name in _DIPOLE:
        return "dipole"
    return "intensive" if name in _INTENSIVE else "extensive"


TARGETS: dict[str, TargetInfo] = {
    new: TargetInfo(new, unit, desc, _kind(new)) for new, unit, desc, _ in _SCALARS.values()
} | {
    f"{e}_atom": TargetInfo(
        f"{e}_atom",
        "eV",
        f"atomization energy from {e} minus QM9's free-atom references",
        "extensive",
    )
    for e in _ATOMIZATION
}

INFO = DatasetInfo(
    name="qm9",
    title="QM9: 130,831 small organic molecules (C, H, O, N, F; <= 9 heavy atoms), DFT labels",
    source="qm9pack: qm9pack/data/qm9_part{1,2,3}.csv",
    package="qm9pack",
    license="CC0 1.0 (QM9 data, figshare); qm9pack package MIT",
    citation=(
        "Ramakrishnan, Dral, Rupp, von Lilienfeld, Sci. Data 1, 140022 (2014), "
        "doi:10.1038/sdata.2014.22"
    ),
    n_molecules=130831,
    task="regression",
    targets=TARGETS,
    description=(
        "B3LYP/6-31G(2df,p) geometries (Å) and properties of the GDB-9 molecules that converged "
        "(130,831 of 133,885). Energies converted from Hartree to eV with ase.units.Hartree; "
        "*_atom columns subtract the QM9 atomref free-atom energies. Extra columns: gdb index "
        "`index`, `n_atoms`, rotational constants rot_A/B/C (GHz). 3D structures in `structures`."
    ),
    install="pip install qm9pack",
)


def qm9_source_files() -> list[Path]:
    """Paths of the three qm9pack CSV files, found without importing qm9pack."""
    from molfit.data._datasets import package_file

    return [package_file(PACKAGE, "qm9pack/" + f, dataset="qm9") for f in FILES]


def parse_qm9_csv(paths: list[Path], nrows: int | None = None) -> tuple[pd.DataFrame, Structures]:
    """Parse qm9pack CSV files into a labels frame (units converted) and :class:`Structures`.

    Args:
        paths: the CSV files, concatenated in order.
        nrows: read at most this many rows from each file (for tests).

    Raises:
        InputError: a required column is missing, or a molecule's element list, geometry and
            declared atom count disagree (names the file and 1-based row).
    """
    from ase.units import Hartree

    needed = ["Index", "SMILES", "N_atoms", "Elements", "XYZ_Ang", *_SCALARS, *_EXTRAS]
    frames, numbers, positions = [], [], []
    for path in paths:
        header = pd.read_csv(path, nrows=0).columns
        missing = [c for c in needed if c not in header]
        if missing:
            raise InputError(f"{path}: missing QM9 column(s) {missing}; found {list(header)}")
        df = pd.read_csv(path, usecols=needed, nrows=nrows)
        z, xyz = _parse_atoms(df, path)
        frames.append(df.drop(columns=["Elements", "XYZ_Ang"]))
        numbers.append(z)
        positions.append(xyz)
    raw = pd.concat(frames, ignore_index=True)
    counts = raw["N_atoms"].to_numpy(dtype=np.int64)
    offsets = np.concatenate([[0], np.cumsum(counts)]).astype(np.int64)
    structures = Structures(np.concatenate(numbers), np.concatenate(positions), offsets)

    frame = pd.DataFrame(
        {
            "index": raw["Index"].to_numpy(dtype=np.int64),
            "smiles": raw["SMILES"].astype(str).to_numpy(),
            "n_atoms": counts,
        }
    )
    for src, (new, _unit, _desc, hartree) in _SCALARS.items():
        values = raw[src].to_numpy(dtype=np.float64)
        frame[new] = values * Hartree if hartree else values
    refs = _atomref_sums(structures) * Hartree  # (n, 4) eV
    for k, e in enumerate(_ATOMIZATION):
        frame[f"{e}_atom"] = frame[e].to_numpy() - refs[:, k]
    for src, new in _EXTRAS.items():
        frame[new] = raw[src].to_numpy(dtype=np.float64)
    return frame, structures


def _parse_atoms(df: pd.DataFrame, path: Path) -> tuple[np.ndarray, np.ndarray]:
    """Atomic numbers and positions (Å) of all molecules in ``df``, parsed without a row loop."""
    import pyarrow as pa
    import pyarrow.csv as pacsv

    declared = df["N_atoms"].to_numpy(dtype=np.int64)
    n_elements = df["Elements"].str.count(",").to_numpy(dtype=np.int64) + 1
    n_coords = df["XYZ_Ang"].str.count(r"\],\[").to_numpy(dtype=np.int64) + 1
    bad = np.flatnonzero((n_elements != declared) | (n_coords != declared))
    if bad.size:
        i = int(bad[0])
        raise InputError(
            f"{path} row {i + 1}: molecule declares {declared[i]} atoms but lists "
            f"{n_elements[i]} elements and {n_coords[i]} positions"
        )
    symbols = ",".join(df["Elements"].tolist()).translate(str.maketrans("", "", "[]' ")).split(",")
    table = np.array(symbols)
    uniq, inverse = np.unique(table, return_inverse=True)
    unknown = [s for s in uniq if s not in _SYMBOLS]
    if unknown:
        raise InputError(f"{path}: unexpected element symbol(s) {unknown} (QM9 has H C N O F)")
    numbers = np.array([_SYMBOLS[s] for s in uniq], dtype=np.int64)[inverse.reshape(-1)]

    text = "\n".join(df["XYZ_Ang"].tolist()).replace("[[", "").replace("]]", "")
    text = text.replace("],[", "\n")
    table = pacsv.read_csv(
        io.BytesIO(text.encode()),
        read_options=pacsv.ReadOptions(column_names=["x", "y", "z"]),
        convert_options=pacsv.ConvertOptions(column_types=dict.fromkeys("xyz", pa.float64())),
    )
    positions = np.column_stack([table.column(c).to_numpy() for c in "xyz"])
    if positions.shape[0] != numbers.shape[0]:
        raise InputError(
            f"{path}: {numbers.shape[0]} element symbols but {positions.shape[0]} positions"
        )
    return numbers, positions


def _atomref_sums(structures: Structures) -> np.ndarray:
    """Sum of free-atom reference energies (Hartree) per molecule, shape ``(n, 4)``."""
    table = np.zeros((10, 4))
    for z, refs in ATOMREF_HARTREE.items():
        table[z] = refs
    per_atom = table[structures.numbers]
    return (
        np.add.reduceat(per_atom, structures.offsets[:-1], axis=0) if len(structures) else table[:0]
    )


def _cache_path(paths: list[Path], nrows: int | None) -> Path:
    key = source_key(paths, FORMAT_VERSION)
    suffix = "" if nrows is None else f"-first{nrows}"
    return cache_dir() / f"qm9-{key}{suffix}.npz"


def _to_arrays(frame: pd.DataFrame, structures: Structures) -> dict[str, np.ndarray]:
    arrays: dict[str, np.ndarray] = {
        "numbers": structures.numbers.astype(np.int8),
        "positions": structures.positions,
        "offsets": structures.offsets,
        "smiles": frame["smiles"].to_numpy(dtype=str),
    }
    for col in frame.columns:
        if col != "smiles":
            arrays[f"col:{col}"] = frame[col].to_numpy()
    return arrays


def _from_arrays(arrays: dict[str, np.ndarray]) -> tuple[pd.DataFrame, Structures]:
    structures = Structures(arrays["numbers"], arrays["positions"], arrays["offsets"])
    columns: dict[str, np.ndarray] = {}
    for key, values in arrays.items():
        if key.startswith("col:"):
            columns[key[4:]] = values
    frame = pd.DataFrame(columns)
    frame.insert(1, "smiles", arrays["smiles"].tolist())
    return frame, structures


def load_qm9(
    *,
    targets: list[str] | None = None,
    sources: list[Path] | None = None,
    nrows: int | None = None,
    cache: bool = True,
) -> Dataset:
    """QM9 as a :class:`Dataset` with 3D structures; parsed once, then read from the cache.

    Args:
        targets: target columns to expose as ``y`` (default: all 16 in ``INFO.targets``).
        sources: CSV files to read instead of the installed qm9pack files (tests).
        nrows: read only the first ``nrows`` rows of each file (quick looks, tests).
        cache: read/write the ``.npz`` cache under :func:`cache_dir`; ``False`` always parses.
    """
    paths = [Path(p) for p in sources] if sources is not None else qm9_source_files()
    target_columns = list(TARGETS) if targets is None else list(targets)
    unknown = [t for t in target_columns if t not in TARGETS]
    if unknown:
        raise InputError(f"unknown QM9 target(s) {unknown}; available: {list(TARGETS)}")
    path = _cache_path(paths, nrows) if cache else None
    if path is not None and path.exists():
        try:
            frame, structures = _from_arrays(read_npz(path))
        except (OSError, ValueError, KeyError):  # damaged entry: rebuild it below
            path.unlink(missing_ok=True)
            frame, structures = _build(paths, nrows, path)
    else:
        frame, structures = _build(paths, nrows, path)
    info = INFO
    if sources is not None or nrows is not None:
        info = replace(INFO, n_molecules=len(frame), title=f"{INFO.title} (partial read)")
    return Dataset(
        info=info,
        frame=frame,
        target_columns=target_columns,
        task="regression",
        structures=structures,
    )


def _build(
    paths: list[Path], nrows: int | None, path: Path | None
) -> tuple[pd.DataFrame, Structures]:
    frame, structures = parse_qm9_csv(paths, nrows=nrows)
    if path is not None:
        write_npz_atomic(path, _to_arrays(frame, structures))
    return frame, structures
