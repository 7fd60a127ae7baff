"""Structures carry energy, forces, stress; extxyz round-trips them; the reader names bad labels."""

from __future__ import annotations

import numpy as np
import pytest
from ase.build import bulk, molecule
from ase.calculators.emt import EMT
from ase.calculators.singlepoint import SinglePointCalculator

from molfit.errors import InputError
from molfit.keys import ENERGY, FORCES, STRESS
from molfit.structures import Structures, as_structures, read_frames, write_extxyz


def _copper_frames(n: int = 3):
    frames = []
    for k in range(n):
        atoms = bulk("Cu", "fcc", a=3.6, cubic=True)
        atoms.rattle(0.05, seed=k)
        atoms.calc = EMT()
        atoms.get_potential_energy(), atoms.get_forces(), atoms.get_stress()
        frames.append(atoms)
    return frames


def test_from_atoms_keeps_energy_forces_and_stress():
    frames = _copper_frames()
    s = Structures.from_atoms(frames)
    assert set(s.properties) == {ENERGY, FORCES, STRESS}
    np.testing.assert_allclose(s.energy, [a.get_potential_energy() for a in frames])
    np.testing.assert_allclose(s.forces[4:8], frames[1].get_forces())
    full = frames[2].get_stress(voigt=False)
    np.testing.assert_allclose(s.stress[2], full)
    sub = s.subset([2, 0])
    np.testing.assert_allclose(sub.energy, s.energy[[2, 0]])
    np.testing.assert_allclose(sub.stress[0], full)
    back = s.to_atoms(1)
    np.testing.assert_allclose(back.get_forces(), frames[1].get_forces())
    np.testing.assert_allclose(back.get_stress(voigt=False), frames[1].get_stress(voigt=False))


def test_missing_labels_are_nan_for_those_structures_only():
    water = molecule("H2O")
    labelled = molecule("NH3")
    labelled.calc = SinglePointCalculator(labelled, energy=-1.5, forces=np.ones((4, 3)))
    s = Structures.from_atoms([water, labelled])
    assert np.isnan(s.energy[0]) and s.energy[1] == -1.5
    assert np.isnan(s.forces[:3]).all() and (s.forces[3:] == 1).all()
    assert s.has_forces
    joined = Structures.concatenate([s, Structures.from_atoms([molecule("CH4")])])
    assert len(joined) == 3 and np.isnan(joined.energy[2]) and joined.forces.shape == (12, 3)


def test_extxyz_round_trip_keeps_labels(tmp_path):
    s = Structures.from_atoms(_copper_frames())
    path = write_extxyz(tmp_path / "cu.extxyz", s)
    back, table, report = read_frames(path)
    assert report.n_ok == 3 and not report.issues
    np.testing.assert_allclose(back.positions, s.positions, atol=1e-8)
    np.testing.assert_allclose(back.cells, s.cells, atol=1e-8)
    np.testing.assert_allclose(back.energy, s.energy, rtol=1e-10)
    np.testing.assert_allclose(back.forces, s.forces, atol=1e-8)
    np.testing.assert_allclose(back.stress, s.stress, atol=1e-10)
    np.testing.assert_allclose(table["energy"], s.energy, rtol=1e-10)
    # as_structures keeps them too (the path a model's fit takes)
    inputs = as_structures(str(path))
    np.testing.assert_allclose(inputs.structures.forces, s.forces, atol=1e-8)
    assert inputs.sources == [f"{path}#1", f"{path}#2", f"{path}#3"]


def test_reader_names_frames_with_nan_labels_or_bad_forces(tmp_path):
    good = (
        '2\nProperties=species:S:1:pos:R:3:forces:R:3 energy=-1.0 pbc="F F F"\n'
        "H 0 0 0 0 0 0.5\nH 0 0 0.74 0 0 -0.5\n"
    )
    nan_energy = good.replace("energy=-1.0", "energy=nan")
    nan_force = good.replace("0 0 0.5\n", "0 0 nan\n", 1)
    bad_shape = (
        '2\nProperties=species:S:1:pos:R:3:forces:R:2 energy=-1.0 pbc="F F F"\n'
        "H 0 0 0 0 0.5\nH 0 0 0.74 0 -0.5\n"
    )
    path = tmp_path / "mixed.extxyz"
    path.write_text(good + nan_energy + nan_force + bad_shape + good)
    structures, table, report = read_frames(path)
    assert len(structures) == 2 and table["frame"].tolist() == [1, 5]
    reasons = {issue.row: issue.reason for issue in report.issues}
    assert set(reasons) == {2, 3, 4}
    assert "energy" in reasons[2] and "not a number" in reasons[2]
    assert "forces" in reasons[3] and "NaN" in reasons[3]
    assert "shape (2, 2)" in reasons[4]
    with pytest.raises(InputError, match="frame 2"):
        read_frames(path, strict=True)


def test_stress_in_voigt_order_and_bad_shapes_are_refused():
    voigt = np.array([[1.0, 2.0, 3.0, 4.0, 5.0, 6.0]])
    s = Structures(np.array([29]), np.zeros((1, 3)), np.array([0, 1]), stress=voigt)
    np.testing.assert_array_equal(s.stress[0], [[1, 6, 5], [6, 2, 4], [5, 4, 3]])
    with pytest.raises(InputError, match="energy must have shape"):
        Structures(np.array([1]), np.zeros((1, 3)), np.array([0, 1]), energy=[1.0, 2.0])
