"""3D estimators trained on energies and forces; committees; stress; saving the whole model."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from ase import Atoms
from ase.build import bulk
from ase.calculators.emt import EMT
from safetensors.torch import load_file, save_file

from molfit.errors import InputError
from molfit.keys import ENERGY, ENERGY_STD, FORCES_STD
from molfit.models import load_model, save_model
from molfit.models._geometric import PaiNNModel, SchNetModel
from molfit.structures import Structures, embed_molecule
from molfit.train import Runtime

QUIET = Runtime(progress_bar=False)
TINY = dict(n_features=16, n_interactions=2, n_rbf=8, batch_size=10, cutoff=4.0)


def _label(frames: list[Atoms]) -> tuple[list[Atoms], str]:
    """Energies (eV) and forces (eV/Å) by GFN2-xTB (tblite) when installed, else by a Morse pair
    potential written here (smooth, with per-pair equilibrium lengths from covalent radii)."""
    try:
        from tblite.ase import TBLite
    except ImportError:
        TBLite = None
    from ase.calculators.singlepoint import SinglePointCalculator

    if TBLite is not None:
        calc = TBLite(method="GFN2-xTB", verbosity=0)
        for atoms in frames:
            atoms.calc = calc
            energy, forces = atoms.get_potential_energy(), atoms.get_forces()
            atoms.calc = SinglePointCalculator(atoms, energy=energy, forces=forces)
        return frames, "GFN2-xTB"
    from ase.data import covalent_radii

    for atoms in frames:
        r = atoms.positions
        radii = covalent_radii[atoms.numbers]
        diff = r[None, :, :] - r[:, None, :]
        dist = np.linalg.norm(diff, axis=-1) + np.eye(len(atoms))
        r0 = radii[:, None] + radii[None, :]
        x = np.exp(-2.0 * (dist - r0))
        pair = 1.0 * (x * x - 2 * x)
        np.fill_diagonal(pair, 0.0)
        de_dr = 1.0 * (-4.0 * x * x + 4.0 * x)
        np.fill_diagonal(de_dr, 0.0)
        forces = (de_dr / dist)[:, :, None] * diff  # -dE/dr_i = sum_j dE/dd * (r_j - r_i)/d
        energy = 0.5 * pair.sum()
        atoms.calc = SinglePointCalculator(atoms, energy=energy, forces=forces.sum(axis=1))
    return frames, "Morse"


@pytest.fixture(scope="module")
def ethanol_frames():
    """40 rattled ethanol conformers (ETKDG + MMFF start), labelled with energies and forces."""
    mol = embed_molecule("CCO", seed=0)
    numbers = np.array([a.GetAtomicNum() for a in mol.GetAtoms()])
    base = mol.GetConformer().GetPositions()
    rng = np.random.default_rng(0)
    frames = [
        Atoms(numbers=numbers, positions=base + rng.normal(scale=0.08, size=base.shape))
        for _ in range(40)
    ]
    frames, _ = _label(frames)
    return Structures.from_atoms(frames)


def _force_mae(model, structures: Structures) -> float:
    pred = np.concatenate(model.predict_energy_forces(structures)[1])
    return float(np.abs(pred - structures.forces).mean())


@pytest.fixture(scope="module")
def trained(ethanol_frames):
    train, test = ethanol_frames.subset(range(30)), ethanol_frames.subset(range(30, 40))
    common = dict(**TINY, epochs=40, lr=5e-3, val_fraction=0.0, seed=0)
    with_forces = SchNetModel(**common, forces_weight=10.0).fit(train, runtime=QUIET)
    energy_only = SchNetModel(**common, forces_weight=0.0).fit(train, runtime=QUIET)
    return with_forces, energy_only, train, test


def test_structures_carry_the_labels(ethanol_frames):
    assert ethanol_frames.has_forces and np.isfinite(ethanol_frames.energy).all()
    assert ethanol_frames.forces.shape == (40 * 9, 3)


def test_forces_in_the_loss_give_better_forces(trained, ethanol_frames):
    with_forces, energy_only, train, test = trained
    assert with_forces.uses_forces_ and not energy_only.uses_forces_
    mae_forces, mae_energy_only = _force_mae(with_forces, test), _force_mae(energy_only, test)
    assert mae_forces < 0.7 * mae_energy_only
    # the force error fell during training (against a one-epoch model of the same seed)
    short = SchNetModel(**TINY, epochs=1, lr=5e-3, val_fraction=0.0, seed=0).fit(
        train, runtime=QUIET
    )
    assert mae_forces < _force_mae(short, test)
    # the energies stay sensible: within the spread of the labels
    energy = with_forces.predict(test)
    assert np.abs(energy - test.energy).mean() < 3 * np.std(ethanol_frames.energy) + 0.1


def test_validation_logs_force_metrics(ethanol_frames):
    model = SchNetModel(**TINY, epochs=2, val_fraction=0.25).fit(
        ethanol_frames.subset(range(20)), runtime=QUIET
    )
    metrics = model.history_[0]["last_metrics"]
    assert {"val_loss", "val_forces_mae", "val_energy_mae"} <= set(metrics)


def test_committee_gives_energy_and_per_atom_force_std(ethanol_frames):
    model = PaiNNModel(**TINY, epochs=2, ensemble=2, val_fraction=0.0).fit(
        ethanol_frames.subset(range(20)), runtime=QUIET
    )
    test = ethanol_frames.subset(range(36, 40))
    out = model.predict_properties(test)
    assert out[ENERGY].shape == (4,) and out[ENERGY_STD].shape == (4,)
    assert (out[ENERGY_STD] > 0).all()
    assert [f.shape for f in out[FORCES_STD]] == [(9,)] * 4
    assert all((f > 0).all() for f in out[FORCES_STD])
    # the std is the members' spread: recompute it from each member alone
    per_member = []
    for member in model.members_:
        single = SchNetModel()  # any estimator shell: only its members are used below
        single.__dict__.update(model.__dict__)
        single.members_ = [member]
        per_member.append(single.predict_properties(test)[ENERGY])
    np.testing.assert_allclose(out[ENERGY_STD], np.std(per_member, axis=0), rtol=1e-6)


def test_save_load_round_trip_keeps_the_whole_model(trained, tmp_path):
    model, _, _, test = trained
    save_model(model, tmp_path / "run")
    config = json.loads((tmp_path / "run" / "config.json").read_text())
    for key in ("devices", "strategy", "accelerator", "progress_bar", "checkpoint_dir", "n_jobs"):
        assert key not in config["params"]
    assert config["params"]["forces_weight"] == 10.0
    assert "references" not in config["fitted"]  # inside the weights now
    tensors = load_file(str(tmp_path / "run" / "weights.safetensors"))
    assert tensors["member0.model.references"].dtype == torch.float64
    loaded = load_model(tmp_path / "run")
    e0, f0 = model.predict_energy_forces(test)
    e1, f1 = loaded.predict_energy_forces(test)
    np.testing.assert_array_equal(e1, e0)
    for a, b in zip(f0, f1, strict=True):
        np.testing.assert_array_equal(a, b)
    # predictions in float64 leave the fitted members as they were (float32)
    model.predict_energy_forces(test, dtype=torch.float64)
    assert all(p.dtype == torch.float32 for p in model.members_[0].model.parameters())
    np.testing.assert_array_equal(model.predict_energy_forces(test)[0], e0)


def test_model_saved_by_the_previous_version_loads(trained, tmp_path):
    """Old layout: references in config.json, PredictorModule buffers, runtime params."""
    model, _, _, test = trained
    path = tmp_path / "old"
    save_model(model, path)
    config = json.loads((path / "config.json").read_text())
    tensors = load_file(str(path / "weights.safetensors"))
    refs = tensors.pop("member0.model.references").numpy()
    tensors["member0.target_mean"] = torch.zeros(1)
    tensors["member0.target_std"] = torch.ones(1)
    save_file(tensors, str(path / "weights.safetensors"))
    nonzero = np.flatnonzero(np.any(refs != 0, axis=1))
    config["fitted"]["references"] = {str(z): refs[z].tolist() for z in nonzero}
    config["params"].update(devices=1, strategy="auto", progress_bar=False, n_jobs=1)
    config.pop("checksums", None)  # saves of that version were not sealed yet
    (path / "config.json").write_text(json.dumps(config))
    loaded = load_model(path)
    np.testing.assert_array_equal(loaded.predict(test), model.predict(test))


def test_corrupt_weights_are_refused(trained, tmp_path):
    model, _, _, _ = trained
    save_model(model, tmp_path / "run")
    weights = tmp_path / "run" / "weights.safetensors"
    data = weights.read_bytes()
    weights.write_bytes(data[: len(data) // 2])
    with pytest.raises(InputError, match="truncated"):
        load_model(tmp_path / "run")
    # without the seal (a save of an older version), the weights themselves are checked
    config_path = tmp_path / "run" / "config.json"
    config = json.loads(config_path.read_text())
    config.pop("checksums", None)
    config_path.write_text(json.dumps(config))
    with pytest.raises(InputError, match="corrupt or truncated"):
        load_model(tmp_path / "run")
    tensors = {"member0.model.nothing": torch.zeros(2)}
    save_file(tensors, str(weights))
    with pytest.raises(InputError, match="do not fit"):
        load_model(tmp_path / "run")


def test_periodic_copper_trains_on_forces_and_predicts_stress():
    frames = []
    for k in range(12):
        atoms = bulk("Cu", "fcc", a=3.6, cubic=True)
        atoms.rattle(0.05, seed=k)
        atoms.calc = EMT()
        atoms.get_potential_energy()
        frames.append(atoms)
    structures = Structures.from_atoms(frames)
    model = SchNetModel(**TINY, epochs=3, val_fraction=0.0).fit(structures, runtime=QUIET)
    assert model.uses_forces_
    stress = model.predict_stress(structures.subset([0, 1]))
    assert stress.shape == (2, 3, 3) and np.isfinite(stress).all()
    out = model.predict_properties(structures.subset([0]), stress=True, dtype=torch.float64)
    # the stress is the strain derivative of the predicted energy (finite differences)
    h, eps = 1e-5, np.zeros((3, 3))
    eps[0, 1] = eps[1, 0] = h / 2
    cell = structures.cells[0]
    energies = []
    for sign in (1, -1):
        deform = np.eye(3) + sign * eps
        atoms = frames[0].copy()
        atoms.set_cell(cell @ deform, scale_atoms=False)
        atoms.positions = frames[0].positions @ deform
        energies.append(model.predict_energy_forces([atoms], dtype=torch.float64)[0][0])
    numeric = (energies[0] - energies[1]) / (2 * h * abs(np.linalg.det(cell)))
    assert out["stress"][0, 0, 1] == pytest.approx(numeric, abs=1e-7, rel=1e-4)
    molecule = model.predict_stress([(np.array([29, 29]), np.array([[0, 0, 0], [0, 0, 2.5]]))])
    assert np.isnan(molecule).all()  # no cell, no stress


def test_runtime_settings_are_not_hyper_parameters():
    model = SchNetModel(**TINY, progress_bar=False, devices=1)  # the old way still works
    assert "progress_bar" not in model.get_params() and "devices" not in model.get_params()
    assert {"energy_weight", "forces_weight", "energy_per_atom"} <= set(model.get_params())
    with pytest.raises(TypeError, match="wrong_name"):
        SchNetModel(wrong_name=1)
