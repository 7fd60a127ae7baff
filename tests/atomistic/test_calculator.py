"""A trained molfit potential as an ASE calculator: the same numbers as the estimator, forces
that are the energy's gradient, a committee σ, NVE that conserves energy, clear refusals."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from ase import Atoms

from molfit.atomistic import Calculator, load_calculator, read_frames, run_md
from molfit.errors import InputError
from molfit.models import save_model

pytest.importorskip("tblite")


@pytest.mark.parametrize("name", ["equivariant", "painn"])
def test_calculator_gives_the_estimators_numbers(potentials, ethanol, name: str) -> None:
    model = potentials[name]
    atoms = ethanol[7].copy()
    atoms.calc = Calculator(model)
    energies, forces = model.predict_energy_forces([ethanol[7]])
    assert atoms.get_potential_energy() == pytest.approx(energies[0], abs=1e-4)
    np.testing.assert_allclose(atoms.get_forces(), forces[0], atol=1e-4)


def test_calculator_forces_are_minus_the_energy_gradient(potentials, ethanol) -> None:
    calc = Calculator(potentials["equivariant"], dtype="float64")
    atoms = ethanol[3].copy()
    atoms.calc = calc
    forces = atoms.get_forces()
    h = 1e-4
    for atom, axis in [(0, 0), (4, 2), (8, 1)]:
        shifted = []
        for sign in (1, -1):
            a = ethanol[3].copy()
            a.positions[atom, axis] += sign * h
            a.calc = calc
            shifted.append(a.get_potential_energy())
        assert forces[atom, axis] == pytest.approx(-(shifted[0] - shifted[1]) / (2 * h), abs=1e-5)


def test_energy_is_invariant_and_forces_rotate(potentials, ethanol) -> None:
    calc = Calculator(potentials["equivariant"], dtype="float64")
    q, _ = np.linalg.qr(np.random.default_rng(0).normal(size=(3, 3)))
    a, b = ethanol[5].copy(), ethanol[5].copy()
    b.positions = b.positions @ q.T + [3.0, -1.0, 2.0]
    a.calc, b.calc = calc, calc
    assert b.get_potential_energy() == pytest.approx(a.get_potential_energy(), abs=1e-8)
    np.testing.assert_allclose(b.get_forces(), a.get_forces() @ q.T, atol=1e-8)


def test_committee_gives_a_force_sigma(potentials, ethanol) -> None:
    atoms = ethanol[0].copy()
    atoms.calc = Calculator(potentials["painn"])
    atoms.get_potential_energy()
    sigma = atoms.calc.results["forces_std"]
    assert sigma.shape == (9, 3) and sigma.max() > 0
    assert atoms.calc.results["energy_std"] > 0


def test_trained_potential_runs_nve_md_and_conserves_energy(potentials, ethanol, tmp_path) -> None:
    calc = Calculator(potentials["equivariant"], dtype="float64")
    start = ethanol[-1].copy()  # a frame with its own MD momenta
    result = run_md(start, calc, tmp_path / "nve.extxyz", ensemble="nve", dt=0.25, steps=200,
                    every=10, max_force=1e3, progress=False)  # fmt: skip
    assert result.n_frames == 20 and not result.stopped
    e_kin = [f.info["e_kin"] for f in read_frames(tmp_path / "nve.extxyz")]
    assert np.std(e_kin) > 1e-3  # the molecule moves
    assert result.max_energy_change < 1.0  # meV/atom over 50 fs


def test_saved_potential_loads_as_a_calculator(potentials, ethanol, tmp_path: Path) -> None:
    model = potentials["equivariant"]
    save_model(model, tmp_path / "model")
    loaded = load_calculator(tmp_path / "model")
    a, b = ethanol[2].copy(), ethanol[2].copy()
    a.calc, b.calc = Calculator(model), loaded
    assert a.get_potential_energy() == pytest.approx(b.get_potential_energy(), abs=1e-6)
    with pytest.raises(InputError, match="no such"):
        load_calculator(tmp_path / "missing")


def test_unseen_element_is_refused(potentials) -> None:
    atoms = Atoms("CSi", positions=[[0, 0, 0], [0, 0, 1.9]])
    atoms.calc = Calculator(potentials["equivariant"])
    with pytest.raises(InputError, match="Si"):
        atoms.get_potential_energy()


def test_md_and_relax_verbs_with_a_saved_potential(potentials, tmp_path: Path) -> None:
    import os
    import subprocess
    import sys

    save_model(potentials["equivariant"], tmp_path / "run" / "model")
    env = {**os.environ, "OMP_NUM_THREADS": "1"}

    def molfit(*args: str) -> subprocess.CompletedProcess:
        code = "from molfit.cli import main; main()"
        return subprocess.run([sys.executable, "-c", code, *args], cwd=tmp_path, env=env,
                              capture_output=True, text=True)  # fmt: skip

    md = molfit("md", "run", "CCO", "-o", "md.extxyz", "--steps", "40", "--every", "10",
                "--ensemble", "langevin", "-T", "300")  # fmt: skip
    assert md.returncode == 0, md.stderr
    assert "4 frames in md.extxyz" in md.stdout and "steps/s" in md.stdout
    again = molfit("md", "run", "CCO", "-o", "md.extxyz", "--steps", "80", "--every", "10",
                   "--ensemble", "langevin", "-T", "300")  # fmt: skip
    assert "4 were already there" in again.stdout
    assert len(read_frames(tmp_path / "md.extxyz")) == 8
    relax = molfit("relax", "run", "CCO", "-o", "relaxed.xyz", "--fmax", "0.1")
    assert relax.returncode in (0, 1) and (tmp_path / "relaxed.xyz").exists()
    bad = molfit("md", "run", "[Pt]", "-o", "pt.extxyz")
    assert bad.returncode == 2 and "Pt never occur" in bad.stderr
    assert not (tmp_path / "pt.extxyz").exists()


def test_per_atom_energies_sum_to_the_energy(potentials, ethanol) -> None:
    atoms = ethanol[4].copy()
    atoms.calc = Calculator(potentials["painn"], dtype="float64")
    per_atom = atoms.get_potential_energies()
    assert per_atom.shape == (9,)
    assert per_atom.sum() == pytest.approx(atoms.get_potential_energy(), abs=1e-9)
    # the hydrogens and the heavy atoms carry different shares (their reference energies differ)
    assert np.ptp(per_atom) > 1.0


def test_verlet_skin_reuses_pairs_and_changes_nothing(potentials, ethanol) -> None:
    from ase import units
    from ase.md.verlet import VelocityVerlet

    start = ethanol[-1].copy()
    runs = {}
    for skin in (0.0, 1.0):
        atoms = start.copy()
        atoms.calc = Calculator(potentials["equivariant"], dtype="float64", skin=skin)
        positions = []
        dyn = VelocityVerlet(atoms, timestep=0.5 * units.fs)
        for _ in range(40):
            dyn.run(1)
            positions.append(atoms.positions.copy())
        runs[skin] = (np.array(positions), atoms.calc.n_neighbor_builds)
    np.testing.assert_allclose(runs[1.0][0], runs[0.0][0], atol=1e-10)
    assert runs[0.0][1] >= 40  # rebuilt at every call
    assert 1 <= runs[1.0][1] < 10  # reused while no atom moved more than half the skin


def test_calculator_sees_every_change_of_the_structure(potentials, ethanol) -> None:
    atoms = ethanol[1].copy()
    atoms.calc = Calculator(potentials["equivariant"], dtype="float64", skin=2.0)
    e0 = atoms.get_potential_energy()
    atoms.positions[0, 0] += 0.05  # well inside the skin: pairs reused, energy must change
    e1 = atoms.get_potential_energy()
    assert e1 != e0
    atoms.positions[0, 0] -= 0.05
    assert atoms.get_potential_energy() == pytest.approx(e0, abs=1e-10)
    assert atoms.calc.n_neighbor_builds == 1
