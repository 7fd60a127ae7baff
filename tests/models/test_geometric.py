"""SchNet / PaiNN estimators on real QM9 molecules: training, inputs, forces, symmetry, saving."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from ase import Atoms
from ase.io import write
from scipy.spatial.transform import Rotation

from molfit.data._qm9 import load_qm9
from molfit.models import load_model, save_model
from molfit.models._geometric import DimeNetPPModel, PaiNNModel, SchNetModel
from molfit.structures._batch import collate_structures, structure_items
from molfit.structures._neighbors import neighbor_list

TINY = dict(n_features=16, n_interactions=2, n_rbf=8, batch_size=10, progress_bar=False)


@pytest.fixture(scope="module")
def qm9():
    """The first 20 molecules of each qm9pack file (60 real QM9 molecules)."""
    return load_qm9(nrows=20)


@pytest.fixture(scope="module")
def fitted(qm9):
    model = SchNetModel(**TINY, epochs=4, lr=5e-3, seed=0)
    return model.fit(qm9.structures.subset(range(50)), qm9.frame["U0"].to_numpy()[:50])


def _atoms(qm9, k: int) -> Atoms:
    numbers, positions = qm9.structures[k]
    return Atoms(numbers=numbers, positions=positions)


def test_training_reduces_the_error(qm9):
    X = qm9.structures.subset(range(50))
    y = qm9.frame["U0"].to_numpy()[:50]
    short = SchNetModel(**TINY, epochs=1, lr=2e-2, val_fraction=0.0).fit(X, y)
    long = SchNetModel(**TINY, epochs=40, lr=2e-2, val_fraction=0.0).fit(X, y)
    err_short = np.abs(short.predict(X) - y).mean()
    err_long = np.abs(long.predict(X) - y).mean()
    # what the per-element references (least squares on compositions) explain on their own
    err_references = np.abs(y - long.reference_sums(long.featurize(X))[:, 0]).mean()
    assert err_long < err_short
    assert err_long < 0.85 * err_references
    assert err_references < 1.5  # eV, on energies of about -10^4 eV: the references work


def test_batching_finds_the_same_pairs_as_one_neighbour_list(qm9):
    structures = [qm9.structures[k] for k in range(5)]
    batch = collate_structures(structure_items(structures, 3.0))
    positions = torch.from_numpy(np.concatenate([s[1] for s in structures]))
    direct = neighbor_list(positions, 3.0, batch=batch.batch)
    ours = batch.neighbors(3.0)
    assert sorted(zip(ours.i.tolist(), ours.j.tolist(), strict=True)) == sorted(
        zip(direct.i.tolist(), direct.j.tolist(), strict=True)
    )
    shorter = batch.neighbors(2.0)  # filtered from the 3 Å pairs
    assert len(shorter) == len(neighbor_list(positions, 2.0, batch=batch.batch))
    assert batch.ptr.tolist() == [0, *np.cumsum([len(s[0]) for s in structures]).tolist()]


def test_inputs_atoms_pairs_and_xyz_agree(qm9, fitted, tmp_path):
    atoms = [_atoms(qm9, k) for k in (50, 51, 52)]
    path = tmp_path / "three.xyz"
    write(str(path), atoms)
    from_structures = fitted.predict(qm9.structures.subset([50, 51, 52]))
    from_atoms = fitted.predict(atoms)
    from_pairs = fitted.predict([qm9.structures[k] for k in (50, 51, 52)])
    record = fitted.predict_record(str(path))
    np.testing.assert_allclose(from_atoms, from_structures, rtol=0, atol=1e-6)
    np.testing.assert_allclose(from_pairs, from_structures, rtol=0, atol=1e-6)
    np.testing.assert_allclose(record.mean, from_structures, rtol=0, atol=1e-4)
    frame = record.to_frame()
    assert frame["geometry"].tolist() == [f"{path}#1", f"{path}#2", f"{path}#3"]


def test_predicts_from_smiles_and_says_which_geometry(fitted):
    record = fitted.predict_record(["CCO", "not a smiles", "c1ccccc1O"])
    frame = record.to_frame(["CCO", "not a smiles", "c1ccccc1O"])
    assert np.isfinite(frame["prediction"][[0, 2]]).all()
    assert np.isnan(frame["prediction"][1])
    assert "not a smiles" in frame["error"][1]
    assert frame["geometry"][0] == "ETKDGv3+MMFF94 (seed 0)"
    assert frame["geometry"][1] == ""
    # ethanol C2H6O: the prediction is near the composition reference (eV), not garbage
    assert -5000 < frame["prediction"][0] < -4000


def test_forces_are_minus_the_gradient_by_finite_differences(qm9, fitted):
    numbers, positions = qm9.structures[55]
    _, forces = fitted.predict_energy_forces([(numbers, positions)], dtype=torch.float64)
    h = 1e-4
    rng = np.random.default_rng(0)
    for atom, axis in zip(rng.integers(0, len(numbers), 4), rng.integers(0, 3, 4), strict=True):
        plus, minus = positions.copy(), positions.copy()
        plus[atom, axis] += h
        minus[atom, axis] -= h
        e_plus, _ = fitted.predict_energy_forces([(numbers, plus)], dtype=torch.float64)
        e_minus, _ = fitted.predict_energy_forces([(numbers, minus)], dtype=torch.float64)
        numeric = -(e_plus[0] - e_minus[0]) / (2 * h)
        assert forces[0][atom, axis] == pytest.approx(numeric, abs=1e-5, rel=1e-4)
    assert forces[0].shape == (len(numbers), 3)
    # no net force on an isolated molecule (translation invariance)
    np.testing.assert_allclose(forces[0].sum(axis=0), 0.0, atol=1e-8)


@pytest.mark.parametrize("k", [41, 57])
def test_energy_invariant_and_forces_equivariant(qm9, fitted, k):
    numbers, positions = qm9.structures[k]
    rotation = Rotation.random(random_state=k).as_matrix()
    perm = np.random.default_rng(k).permutation(len(numbers))
    moved = positions @ rotation.T + np.array([3.0, -7.0, 11.0])
    variants = [(numbers, positions), (numbers, moved), (numbers[perm], positions[perm])]
    energies, forces = fitted.predict_energy_forces(variants, dtype=torch.float64)
    assert energies[1] == pytest.approx(energies[0], abs=1e-8)
    assert energies[2] == pytest.approx(energies[0], abs=1e-8)
    np.testing.assert_allclose(forces[1], forces[0] @ rotation.T, atol=1e-8)
    np.testing.assert_allclose(forces[2], forces[0][perm], atol=1e-8)
    # float32 predictions agree too, to float32 precision
    p = fitted.predict(variants)
    assert np.ptp(p) < 1e-3


def test_save_load_round_trip(qm9, fitted, tmp_path):
    X = qm9.structures.subset(range(50, 60))
    save_model(fitted, tmp_path / "run")
    loaded = load_model(tmp_path / "run")
    assert type(loaded) is SchNetModel
    np.testing.assert_array_equal(loaded.predict(X), fitted.predict(X))


def test_mean_readout_and_dipole_readout(qm9):
    X = qm9.structures.subset(range(30))
    homo = qm9.frame["homo"].to_numpy()[:30]
    model = SchNetModel(**TINY, readout="mean", epochs=2, val_fraction=0.0).fit(X, homo)
    pred = model.predict(X)
    assert np.all(np.abs(pred - homo.mean()) < 3 * homo.std() + 1.0)  # intensive scale, eV

    mu = qm9.frame["mu"].to_numpy()[:30]
    dip = SchNetModel(**TINY, readout="dipole", epochs=2, val_fraction=0.0).fit(X, mu)
    numbers, positions = qm9.structures[9]  # acetonitrile CC#N, 3.8 D
    rotation = Rotation.random(random_state=3).as_matrix()
    moved = positions @ rotation.T + 5.0
    out = dip.predict([(numbers, positions), (numbers, moved)])
    assert out[0] > 0.01 and out[0] == pytest.approx(out[1], rel=1e-3)


@pytest.mark.parametrize("model_class", [PaiNNModel, DimeNetPPModel])
def test_painn_and_dimenet_fit_and_are_invariant(qm9, model_class):
    X = qm9.structures.subset(range(40))
    y = qm9.frame["U0"].to_numpy()[:40]
    model = model_class(**TINY, epochs=15, lr=5e-3, val_fraction=0.0).fit(X, y)
    # the fit beats the per-element reference energies alone on its training molecules
    assert (
        np.abs(model.predict(X) - y).mean()
        < np.abs(model.reference_sums(model.featurize(X))[:, 0] - y).mean()
    )
    numbers, positions = qm9.structures[45]
    rotation = Rotation.random(random_state=1).as_matrix()
    energies, forces = model.predict_energy_forces(
        [(numbers, positions), (numbers, positions @ rotation.T - 2.0)], dtype=torch.float64
    )
    assert energies[1] == pytest.approx(energies[0], abs=1e-8)
    np.testing.assert_allclose(forces[1], forces[0] @ rotation.T, atol=1e-8)


def test_bad_input_is_named(fitted):
    from molfit.errors import InputError

    with pytest.raises(InputError, match="row 1"):
        SchNetModel(**TINY).fit([(np.array([6, 1]), np.zeros((3, 3)))], [1.0])
    with pytest.raises(InputError, match="single"):
        fitted.predict("CCO")


def test_elements_unseen_in_training_are_refused_not_guessed(qm9, fitted, tmp_path):
    from molfit.errors import InputError

    # QM9 holds H, C, N, O, F only: chlorine has neither a trained embedding nor a reference
    assert 17 not in fitted.elements_ and {1, 6, 8} <= set(fitted.elements_.tolist())
    record = fitted.predict_record(["CCO", "CCCl"])
    assert np.isfinite(record.mean[0])
    assert np.isnan(record.mean[1])
    assert record.error[1] == "element(s) Cl not in the training structures"
    assert record.geometry[1].startswith("ETKDG")  # the geometry was built, then refused
    with pytest.raises(InputError, match="row 2: element\\(s\\) Cl"):
        fitted.predict(["CCO", "CCCl"])
    with pytest.raises(InputError, match="Cl"):
        fitted.predict_energy_forces(["CCCl"])
    save_model(fitted, tmp_path / "run")
    loaded = load_model(tmp_path / "run")
    np.testing.assert_array_equal(loaded.elements_, fitted.elements_)
    assert np.isnan(loaded.predict_record(["CCCl"]).mean[0])


def test_predictions_do_not_depend_on_the_predict_batch_size(qm9, fitted, monkeypatch):
    """Small predict batches (the default, for the cache) give what one batch of everything
    gives: energies, forces and the property path."""
    import molfit.models._geometric as geometric

    structures = qm9.structures.subset(range(60))
    assert len(structures) > geometric.PREDICT_BATCH_SIZE
    small = fitted.predict_energy_forces(structures)
    monkeypatch.setattr(geometric, "PREDICT_MAX_PAIRS", 10**9)
    whole = fitted.predict_energy_forces(structures, batch_size=len(structures))
    np.testing.assert_allclose(small[0], whole[0], rtol=0, atol=1e-4)
    for a, b in zip(small[1], whole[1], strict=True):
        np.testing.assert_allclose(a, b, rtol=0, atol=1e-5)
    mean, _ = fitted.predict_features(structures)
    np.testing.assert_allclose(mean[:, 0], whole[0], rtol=0, atol=1e-4)


def test_pair_budget_batches_keep_order_and_both_limits():
    from molfit.train._task import make_structure_loader, pair_budget_batches

    assert pair_budget_batches([100, 100, 100, 5000, 10, 10], 2, 300) == [[0, 1], [2], [3], [4, 5]]
    assert pair_budget_batches([], 16, 4096) == []
    batches = pair_budget_batches([256] * 40, 16, 4096)
    assert [len(b) for b in batches] == [16, 16, 8]
    assert [i for b in batches for i in b] == list(range(40))
    with pytest.raises(ValueError, match="shuffle"):
        make_structure_loader([], shuffle=True, max_pairs=10)
