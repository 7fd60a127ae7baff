"""Crystal properties with EMT as the calculator, each against a number ASE computes its own way
(its EOS helper, its cell filter, energy curvatures instead of stress slopes); relaxation finds
EMT's lattice constant; RDF and NPT on copper."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from ase.calculators.emt import EMT

from molfit.atomistic import read_frames, relax, run_md
from molfit.errors import InputError
from molfit.materials import (
    bulk,
    compare_properties,
    crystal_properties,
    elastic_constants,
    equation_of_state,
    radial_distribution,
    scale_volume,
    strain,
    supercell,
    vacancy_formation_energy,
)


@pytest.fixture(scope="module")
def emt_eos():
    return equation_of_state(bulk("Cu", "fcc", a=3.6, cubic=True), EMT())


def test_eos_matches_ases_own_fit(emt_eos):
    from ase.eos import calculate_eos
    from ase.units import GPa

    atoms = bulk("Cu", "fcc", a=3.6, cubic=True)
    atoms.calc = EMT()
    v0, _, b = calculate_eos(atoms, npoints=9, eps=0.06).fit(warn=False)
    assert emt_eos.volume == pytest.approx(v0, rel=2e-4)
    assert emt_eos.bulk_modulus == pytest.approx(b / GPa, rel=0.01)
    assert emt_eos.a0 == pytest.approx(v0 ** (1 / 3), rel=2e-4)  # cubic cell: a0 = V^(1/3)
    assert emt_eos.a0 == pytest.approx(3.59, abs=0.005)  # EMT's copper


def test_cell_relaxation_finds_emts_lattice_constant(emt_eos):
    start = bulk("Cu", "fcc", a=3.75, cubic=True)
    start.rattle(0.01, seed=0)
    result = relax(start, EMT(), cell=True, fmax=1e-4, steps=300)
    assert result.converged
    lengths = result.atoms.cell.lengths()
    np.testing.assert_allclose(lengths, emt_eos.a0, rtol=5e-4)
    np.testing.assert_allclose(result.atoms.cell.angles(), 90.0, atol=0.05)


def _energy(atoms) -> float:
    atoms = atoms.copy()
    atoms.calc = EMT()
    return atoms.get_potential_energy()


def test_elastic_constants_match_energy_curvatures(emt_eos):
    cell = scale_volume(bulk("Cu", "fcc", a=3.6, cubic=True), emt_eos.volume)
    el = elastic_constants(cell, EMT())
    from ase.units import GPa

    v, h, e0 = cell.get_volume(), 0.004, _energy(cell)

    def curvature(voigt: np.ndarray) -> float:
        plus, minus = _energy(strain(cell, voigt * h)), _energy(strain(cell, -voigt * h))
        return (plus + minus - 2 * e0) / (v * h * h) / GPa

    c11 = curvature(np.array([1.0, 0, 0, 0, 0, 0]))
    c44 = curvature(np.array([0, 0, 0, 0.5, 0, 0]))  # engineering shear h: U = C44 h² / 2
    # biaxial (h, h, 0): U = (C11 + C12) h², so the curvature is 2 (C11 + C12)
    c12 = curvature(np.array([1.0, 1.0, 0, 0, 0, 0])) / 2 - c11
    assert el.c11 == pytest.approx(c11, rel=0.01)
    assert el.c44 == pytest.approx(c44, rel=0.01)
    assert el.c12 == pytest.approx(c12, rel=0.02)
    assert el.bulk_modulus == pytest.approx(emt_eos.bulk_modulus, rel=0.01)
    m = np.array(el.matrix)
    assert (
        np.abs(m[:3, 3:]).max() < 1.0 and np.abs(m[3:, 3:] - np.diag(np.diag(m[3:, 3:]))).max() < 1
    )
    assert el.c11 > el.c12 > 0 and el.c44 > 0  # a stable cubic crystal


def test_vacancy_formation_energy_against_a_direct_ase_calculation(emt_eos):
    from ase.optimize import BFGS

    cell = supercell(scale_volume(bulk("Cu", "fcc", a=3.6, cubic=True), emt_eos.volume), 2)
    result = vacancy_formation_energy(cell, EMT(), index=5, fmax=0.001)
    defect = cell.copy()
    del defect[5]
    defect.calc = EMT()
    BFGS(defect, logfile=None).run(fmax=0.001)
    direct = defect.get_potential_energy() - 31 / 32 * _energy(cell)
    assert result.energy == pytest.approx(direct, abs=2e-3)
    unrelaxed = vacancy_formation_energy(cell, EMT(), index=5, relax_atoms=False)
    assert 0 < result.energy < unrelaxed.energy  # relaxation lowers it
    with pytest.raises(InputError, match="at least 8 atoms"):
        vacancy_formation_energy(bulk("Cu", cubic=True), EMT())


def test_rdf_of_the_perfect_lattice_counts_twelve_neighbours():
    a = 3.6
    atoms = supercell(bulk("Cu", "fcc", a=a, cubic=True), 2)
    r, g = radial_distribution([atoms], r_max=5.0, n_bins=250)
    dr = r[1] - r[0]
    density = len(atoms) / atoms.get_volume()
    shell = np.cumsum(4 * np.pi * r**2 * density * g * dr)
    assert r[np.argmax(g)] == pytest.approx(a / np.sqrt(2), abs=dr)
    assert shell[np.searchsorted(r, 3.0)] == pytest.approx(12.0, rel=0.01)
    assert shell[np.searchsorted(r, 4.0)] == pytest.approx(18.0, rel=0.01)  # + 6 at a


def test_crystal_properties_and_comparison(tmp_path: Path, emt_eos):
    props = crystal_properties(
        bulk("Cu", "fcc", a=3.62, cubic=True), EMT(), md_steps=100, workdir=tmp_path
    )
    assert props["a0"] == pytest.approx(emt_eos.a0, rel=1e-3)
    assert props["vacancy_cell_atoms"] == 32
    assert len(read_frames(tmp_path / "md.extxyz")) == 50
    shifted = {**props, "a0": props["a0"] * 1.01}
    rows = {r["property"]: r for r in compare_properties(shifted, props)}
    assert rows["a0"]["relative"] == pytest.approx(0.01)
    assert rows["rdf_l1"]["model"] == 0.0
    with pytest.raises(InputError, match="unknown properties"):
        crystal_properties(bulk("Cu", cubic=True), EMT(), which=("phonons",))


def test_eos_far_from_equilibrium_says_so():
    with pytest.raises(InputError, match="relax the cell first"):
        equation_of_state(bulk("Cu", "fcc", a=4.2, cubic=True), EMT())


def test_npt_relaxes_a_compressed_cell_and_resumes(tmp_path: Path):
    atoms = supercell(bulk("Cu", "fcc", a=3.50, cubic=True), 2)
    out = tmp_path / "npt.extxyz"
    first = run_md(
        atoms,
        EMT(),
        out,
        ensemble="npt",
        temperature=300,
        dt=2.0,
        steps=400,
        every=100,
        progress=False,
    )
    assert first.n_frames == 4 and not first.stopped
    frames = read_frames(out)
    assert frames[-1].get_volume() != pytest.approx(atoms.get_volume(), rel=1e-3)
    assert max(f.info["volume_A3"] for f in frames) > 1.03 * atoms.get_volume()  # it expanded
    assert frames[0].get_stress().shape == (6,) and frames[0].info["pressure_GPa"] == 0.0
    more = run_md(
        atoms,
        EMT(),
        out,
        ensemble="npt",
        temperature=300,
        dt=2.0,
        steps=600,
        every=100,
        progress=False,
    )
    assert more.n_resumed == 4 and more.n_frames == 6
    with pytest.raises(InputError, match="npt needs a periodic"):
        from ase.build import molecule

        run_md(molecule("H2O"), EMT(), tmp_path / "w.extxyz", ensemble="npt", progress=False)
