"""``molfit train qm9 --model schnet`` then ``molfit predict`` on XYZ and SMILES, end to end."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from ase import Atoms
from ase.calculators.singlepoint import SinglePointCalculator
from ase.io import write as ase_write
from typer.testing import CliRunner

from molfit.cli import app, main
from molfit.data import load

TINY = ["--param", "n_features=16", "--param", "n_interactions=2", "--param", "n_rbf=8"]


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    out = tmp_path_factory.mktemp("qm9") / "run"
    args = ["train", "qm9", "--model", "schnet", "--target", "U0", "--limit", "240"]
    args += ["--epochs", "3", "--batch-size", "32", "--ensemble", "2", "--seed", "1"]
    args += [*TINY, "--no-progress", "--out", str(out)]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output + repr(result.exception)
    assert "meV" in result.output
    return out


@pytest.fixture(scope="module")
def qm9_frame():
    return load("qm9").frame.set_index("index")


def _atoms(qm9, gdb: int) -> Atoms:
    """The QM9 molecule with gdb number ``gdb`` as ASE Atoms (DFT geometry, Å)."""
    k = int(np.flatnonzero(qm9.frame["index"].to_numpy() == gdb)[0])
    numbers, positions = qm9.structures[k]
    return Atoms(numbers=numbers, positions=positions)


def test_train_writes_a_complete_run_directory(run_dir, qm9_frame):
    for name in ("model/config.json", "split.json", "metrics.json", "report.html"):
        assert (run_dir / name).is_file(), name
    assert not list(run_dir.parent.glob(".run.*")), "the temporary directory was left behind"
    split = json.loads((run_dir / "split.json").read_text())
    sizes = [len(split[p]) for p in ("train", "valid", "test")]
    assert sum(sizes) == 240 and min(sizes) > 0
    config = json.loads((run_dir / "model/config.json").read_text())
    assert config["run"]["input_kind"] == "structures"
    assert config["run"]["target_names"] == ["U0"]
    assert config["params"]["n_features"] == 16 and config["params"]["readout"] == "sum"
    metrics = json.loads((run_dir / "metrics.json").read_text())["test"]["U0"]
    assert metrics["n"] == sizes[2]
    assert metrics["mae_meV"] == pytest.approx(1000 * metrics["mae"])
    # per-element references alone explain U0 almost entirely: the pipeline must keep that
    assert metrics["r2"] > 0.99 and metrics["mae"] < 2.0
    assert np.isfinite(metrics["nll"])  # ensemble of 2 gives a std

    table = pd.read_csv(run_dir / "test_predictions.csv", keep_default_na=False)
    assert list(table.columns[:4]) == ["index", "smiles", "measured [eV]", "prediction [eV]"]
    assert len(table) == sizes[2]
    truth = qm9_frame.loc[table["index"].to_numpy()]
    np.testing.assert_allclose(table["measured [eV]"].to_numpy(float), truth["U0"].to_numpy())
    assert (table["smiles"] == truth["smiles"].to_numpy()).all()
    mae = np.abs(
        table["prediction [eV]"].astype(float) - table["measured [eV]"].astype(float)
    ).mean()
    assert mae == pytest.approx(metrics["mae"], rel=1e-6)
    assert (table["std [eV]"].astype(float) > 0).all()
    assert (table["geometry"] == "qm9 (given coordinates)").all()
    html = (run_dir / "report.html").read_text()
    assert "Parity plot" in html and "<figure><svg" in html


def test_predict_xyz_matches_the_test_predictions(run_dir, tmp_path, monkeypatch, capsys):
    qm9 = load("qm9")
    table = pd.read_csv(run_dir / "test_predictions.csv", keep_default_na=False).head(3)
    frames = [_atoms(qm9, int(r["index"])) for _, r in table.iterrows()]
    xyz = tmp_path / "three.xyz"
    ase_write(xyz, frames, format="xyz")
    with xyz.open("a") as fh:  # a fourth frame that declares more atoms than it has
        fh.write("5\nbroken frame\nC 0 0 0\nH 0 0 1.09\n")
    out = tmp_path / "p.csv"
    code, stdout, _ = _cli(["predict", run_dir, xyz, "--out", out], monkeypatch, capsys)
    assert code == 0 and "predicted 3 of 4" in stdout
    got = pd.read_csv(out, keep_default_na=False)
    assert list(got.columns) == ["structure", "prediction [eV]", "std [eV]", "geometry", "error"]
    assert got["geometry"].iloc[:3].tolist() == [f"{xyz}#{k}" for k in (1, 2, 3)]
    np.testing.assert_allclose(
        got["prediction [eV]"].iloc[:3].astype(float),
        table["prediction [eV]"].astype(float),
        atol=1e-3,
    )
    assert got["error"].iloc[:3].eq("").all()
    assert "#4" in got["error"].iloc[3] and "atom count" in got["error"].iloc[3]
    assert got["prediction [eV]"].iloc[3] == ""


def test_predict_smiles_uses_conformers_and_names_bad_rows(run_dir, tmp_path):
    query = tmp_path / "q.csv"
    pd.DataFrame({"SMILES": ["CCO", "C1CC", "CC(=O)O"]}).to_csv(query, index=False)
    out = tmp_path / "p.csv"
    result = CliRunner().invoke(app, ["predict", str(run_dir), str(query), "--out", str(out)])
    assert result.exit_code == 0, result.output
    got = pd.read_csv(out, keep_default_na=False)
    assert got["SMILES"].tolist() == ["CCO", "C1CC", "CC(=O)O"]
    assert "C1CC" in got["error"][1] and got["prediction [eV]"][1] == ""
    good = got.iloc[[0, 2]]
    assert good["error"].eq("").all()
    assert good["geometry"].str.startswith("ETKDG").all()
    # ethanol C2H6O sits near -4.2 keV, acetic acid C2H4O2 near -6.2 keV (QM9 U0, eV)
    ethanol, acetic = good["prediction [eV]"].astype(float)
    assert -4300 < ethanol < -4100 and -6300 < acetic < -6100


def test_evaluate_on_an_extxyz_file_with_energies(run_dir, tmp_path):
    qm9 = load("qm9")
    table = pd.read_csv(run_dir / "test_predictions.csv", keep_default_na=False).head(5)
    frames = []
    for _, r in table.iterrows():
        atoms = _atoms(qm9, int(r["index"]))
        atoms.calc = SinglePointCalculator(atoms, energy=float(r["measured [eV]"]))
        frames.append(atoms)
    path = tmp_path / "five.extxyz"
    ase_write(path, frames, format="extxyz")
    out = tmp_path / "m.json"
    args = ["evaluate", str(run_dir), str(path), "--target", "energy", "--out", str(out)]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output + repr(result.exception)
    metrics = json.loads(out.read_text())["U0"]
    expected = np.abs(
        table["prediction [eV]"].astype(float) - table["measured [eV]"].astype(float)
    ).mean()
    assert metrics["n"] == 5 and metrics["mae"] == pytest.approx(expected, abs=1e-3)


def test_train_3d_without_a_target_names_the_choices(tmp_path, monkeypatch, capsys):
    args = ["train", "qm9", "--model", "painn", "--limit", "30", "--out", tmp_path / "r"]
    code, _, err = _cli(args, monkeypatch, capsys)
    assert code == 2 and "--target" in err and "U0" in err
    assert not (tmp_path / "r").exists()


def _cli(args, monkeypatch, capsys) -> tuple[int, str, str]:
    """The real console entry point (which maps MolfitError to exit code 2)."""
    monkeypatch.setattr("sys.argv", ["molfit", *map(str, args)])
    code = 0
    try:
        main()
    except SystemExit as exc:
        code = exc.code or 0
    out = capsys.readouterr()
    return code, out.out, out.err


def test_train_from_an_extxyz_file_names_frames(tmp_path):
    qm9 = load("qm9", nrows=40)
    frames = []
    for k in range(len(qm9)):
        numbers, positions = qm9.structures[k]
        atoms = Atoms(numbers=numbers, positions=positions)
        atoms.calc = SinglePointCalculator(atoms, energy=float(qm9.frame["U0"][k]))
        frames.append(atoms)
    path = tmp_path / "frames.extxyz"
    ase_write(path, frames, format="extxyz")
    out = tmp_path / "run"
    args = ["train", str(path), "--model", "schnet", "--epochs", "1", *TINY, "--out", str(out)]
    result = CliRunner().invoke(app, [*args, "--no-progress"])
    assert result.exit_code == 0, result.output + repr(result.exception)
    assert "energy: MAE" in result.output  # eV target: also reported in meV
    table = pd.read_csv(out / "test_predictions.csv", keep_default_na=False)
    assert list(table.columns[:3]) == ["index", "structure", "measured [eV]"]
    frame_no = table["index"].to_numpy() + 1
    assert table["structure"].tolist() == [f"{path}#{k}" for k in frame_no]
    assert (table["geometry"] == table["structure"]).all()
    np.testing.assert_allclose(table["measured [eV]"], qm9.frame["U0"].to_numpy()[frame_no - 1])


def test_default_readout_follows_the_target():
    from molfit.workflows import default_readout

    assert default_readout(["dipole"]) == "dipole"
    assert default_readout(["intensive"]) == "mean"
    assert default_readout(["intensive", "intensive"]) == "mean"
    assert default_readout(["extensive"]) == "sum"
    assert default_readout(["dipole", "extensive"]) == "sum"
