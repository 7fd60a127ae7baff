"""Readers of user files: good rows load, bad rows are named (file, row, input, reason)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from ase import Atoms
from ase.build import molecule
from ase.calculators.singlepoint import SinglePointCalculator
from ase.io import write

from molfit.data import read, read_structures, read_table
from molfit.errors import InputError

CSV = """smiles,logS,name
CCO,-0.5,ethanol
C1CC,1.0,broken ring
c1ccccc1,abc,benzene
CC(=O)O,,acetic acid
CCN,0.3,ethylamine
"""


@pytest.fixture
def csv_file(tmp_path):
    path = tmp_path / "data.csv"
    path.write_text(CSV)
    return path


def test_broken_smiles_is_named_and_others_load(csv_file):
    ds = read_table(csv_file)
    assert ds.target_columns == ["logS"]
    assert ds.smiles == ["CCO", "CC(=O)O", "CCN"]
    assert np.isnan(ds.y[1, 0])  # empty cell: missing label, not an error
    assert ds.y[[0, 2], 0].tolist() == [-0.5, 0.3]
    report = ds.report
    assert (report.n_rows, report.n_ok) == (5, 3)
    smiles_issue = next(i for i in report.issues if i.row == 2)
    assert smiles_issue.source == str(csv_file)
    assert smiles_issue.input == "C1CC"
    assert "unclosed ring" in smiles_issue.reason
    summary = report.summary()
    assert "data.csv row 2" in summary and "'C1CC'" in summary and "unclosed ring" in summary


def test_non_numeric_target_names_field_and_value(csv_file):
    issue = next(i for i in read_table(csv_file).report.issues if i.row == 3)
    assert issue.field == "logS" and issue.input == "abc"
    assert "not a number" in issue.reason


def test_strict_raises_on_first_bad_row(csv_file):
    with pytest.raises(InputError) as err:
        read_table(csv_file, strict=True)
    message = str(err.value)
    assert "data.csv row 2" in message and "C1CC" in message and "unclosed ring" in message
    assert err.value.issue.row == 2


def test_row_with_wrong_field_count_is_named_and_the_rest_keep_their_rows(tmp_path):
    path = tmp_path / "ragged.csv"
    path.write_text("smiles,logS\nCCO,-0.5\nCCC,1.0,extra\nC1CC,2.0\nCCN,0.3\n")
    ds = read_table(path)
    assert ds.smiles == ["CCO", "CCN"]
    assert ds.y[:, 0].tolist() == [-0.5, 0.3]
    issues = {i.row: i for i in ds.report.issues}
    assert sorted(issues) == [2, 3]  # rows after the ragged one keep their own numbers
    assert issues[2].reason == "expected 2 fields, found 3" and issues[2].input == "CCC,1.0,extra"
    assert "unclosed ring" in issues[3].reason
    with pytest.raises(InputError, match=r"ragged.csv row 2: expected 2 fields, found 3"):
        read_table(path, strict=True)


def test_valence_error_reason_comes_from_rdkit(tmp_path):
    path = tmp_path / "v.csv"
    path.write_text("SMILES,y\nC(C)(C)(C)(C)C,1\nCC,0\n")
    ds = read_table(path)
    assert ds.smiles == ["CC"]
    assert "valence" in ds.report.issues[0].reason.lower()


def test_missing_column_lists_available(csv_file):
    with pytest.raises(InputError, match=r"'pIC50' not found; available columns: smiles, logS"):
        read_table(csv_file, target_columns=["pIC50"])
    with pytest.raises(InputError, match=r"SMILES column 'mol' not found"):
        read_table(csv_file, smiles_column="mol")


def test_no_smiles_column(tmp_path):
    path = tmp_path / "x.csv"
    path.write_text("a,b\n1,2\n")
    with pytest.raises(InputError, match=r"no SMILES column.*available columns: a, b"):
        read_table(path)


def test_empty_file_and_header_only(tmp_path):
    empty = tmp_path / "empty.csv"
    empty.write_text("")
    with pytest.raises(InputError, match=r"empty\.csv: the file is empty"):
        read_table(empty)
    header = tmp_path / "header.csv"
    header.write_text("smiles,y\n")
    with pytest.raises(InputError, match=r"header\.csv: no data rows"):
        read_table(header)
    with pytest.raises(InputError, match="file not found"):
        read(tmp_path / "missing.csv")


def test_classification_task_inferred_and_tsv(tmp_path):
    path = tmp_path / "d.tsv"
    path.write_text("Canonical_SMILES\tactive\tid\nCCO\t1\tm1\nCCC\t0\tm2\nc1ccccc1\t\tm3\n")
    ds = read(path)
    assert ds.task == "classification"
    assert ds.target_columns == ["active"]
    assert ds.frame["id"].tolist() == ["m1", "m2", "m3"]


def test_parquet_smi_and_sdf(tmp_path):
    from rdkit import Chem

    pq = tmp_path / "d.parquet"
    pd.DataFrame({"smiles": ["CCO", "C1CC"], "y": [1.5, 2.0]}).to_parquet(pq)
    ds = read(pq)
    assert ds.smiles == ["CCO"] and ds.report.bad_rows == [2]

    smi = tmp_path / "d.smi"
    smi.write_text("CCO ethanol\nC1CC bad\nc1ccccc1 benzene ring\n")
    ds = read(smi)
    assert ds.smiles == ["CCO", "c1ccccc1"]
    assert ds.frame["name"].tolist() == ["ethanol", "benzene ring"]

    sdf = tmp_path / "d.sdf"
    with Chem.SDWriter(str(sdf)) as w:
        for smiles, value in [("CCO", "1.2"), ("c1ccccc1O", "x")]:
            m = Chem.MolFromSmiles(smiles)
            m.SetProp("_Name", smiles)
            m.SetProp("pka", value)
            w.write(m)
    ds = read(sdf, target_columns=["pka"])
    assert ds.smiles == ["CCO"] and ds.y[0, 0] == pytest.approx(1.2)
    assert ds.report.issues[0].row == 2 and ds.report.issues[0].field == "pka"


def _water(energy: float) -> Atoms:
    atoms = molecule("H2O")
    forces = np.arange(9, dtype=float).reshape(3, 3)
    atoms.calc = SinglePointCalculator(atoms, energy=energy, forces=forces)
    return atoms


def test_extxyz_energy_and_forces(tmp_path):
    path = tmp_path / "w.extxyz"
    write(path, [_water(-14.2), _water(-14.1)], format="extxyz")
    ds = read(path)
    assert len(ds) == 2 and ds.target_columns == ["energy"]
    assert ds.y[:, 0].tolist() == [-14.2, -14.1]
    assert ds.structures.forces.shape == (6, 3)
    assert np.allclose(ds.structures.forces[3:], np.arange(9).reshape(3, 3))
    assert np.allclose(ds.structures[0][1], molecule("H2O").positions)


def test_xyz_atom_count_mismatch_is_named(tmp_path):
    path = tmp_path / "m.xyz"
    write(path, [molecule("CH4"), molecule("H2O"), molecule("NH3")], format="xyz")
    lines = path.read_text().splitlines()
    assert lines[7] == "3"  # second frame declares 3 atoms (water)
    lines[7] = "4"
    path.write_text("\n".join(lines) + "\n")
    ds = read_structures(path)
    assert ds.frame["formula"].tolist() == ["CH4", "H3N"]
    assert ds.frame["frame"].tolist() == [1, 3]
    issue = ds.report.issues[0]
    assert issue.row == 2 and issue.source == str(path)
    assert "declares 4 atoms but 3 atom lines follow" in issue.reason
    with pytest.raises(InputError, match=r"m\.xyz row 2.*declares 4 atoms"):
        read_structures(path, strict=True)


def test_labelled_and_missing_rows_are_counted_per_target(tmp_path):
    path = tmp_path / "two.csv"
    path.write_text(
        "smiles,dG,logP\nCCO,-5.0,\nCCN,,0.1\nCCCl,-0.3,1.2\nC1CC,1.0,2.0\nc1ccccc1,,\nCC(=O)O,na,\n"
    )
    report = read_table(path).report
    assert report.n_rows == 6 and report.n_ok == 5  # the broken ring is skipped
    assert report.labelled == {"dG": 2, "logP": 2}
    assert report.missing_labels == {"dG": 3, "logP": 3}
    text = report.summary()
    assert "2 of 5 rows labelled for dG (3 missing)" in text
    assert "2 of 5 rows labelled for logP (3 missing)" in text


def test_fully_labelled_target_says_so(csv_file):
    text = read_table(csv_file).report.summary()
    # 3 rows kept (ethanol, acetic acid, ethylamine); acetic acid's label is empty
    assert "2 of 3 rows labelled for logS (1 missing)" in text
