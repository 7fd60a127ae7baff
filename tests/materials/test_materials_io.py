"""Crystal files in and out (CIF, POSCAR, extxyz) and builders; bad files answered with the file
name and what is wrong."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from molfit.errors import InputError
from molfit.materials import (
    bulk,
    check_crystal,
    perturbed_cells,
    read_crystal,
    read_crystals,
    strain,
    substitute,
    supercell,
    vacancy,
    write_crystal,
)


def _same_crystal(a, b, atol=1e-5) -> None:
    assert a.get_chemical_symbols() == b.get_chemical_symbols()
    # CIF stores lengths and angles, not the orientation: compare what defines the crystal
    np.testing.assert_allclose(a.cell.cellpar(), b.cell.cellpar(), atol=atol)
    np.testing.assert_allclose(a.get_scaled_positions(), b.get_scaled_positions(), atol=atol)
    assert a.pbc.all() and b.pbc.all()


@pytest.mark.parametrize("name", ["cu3au.cif", "POSCAR", "cu3au.vasp", "cu3au.extxyz"])
def test_round_trip_keeps_cell_positions_and_species(tmp_path: Path, name: str) -> None:
    atoms = substitute(bulk("Cu", "fcc", a=3.7, cubic=True), "Au", 0.25, seed=0)
    atoms = strain(atoms, [0.01, -0.02, 0.0, 0.01, 0.0, 0.0])  # triclinic after the shear
    atoms.rattle(0.02, seed=1)
    atoms.wrap()
    path = write_crystal(atoms, tmp_path / name)
    back = read_crystal(path)
    _same_crystal(back, atoms)
    if not name.endswith(".cif"):
        np.testing.assert_allclose(back.cell[:], atoms.cell[:], atol=1e-6)
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # no temporary left


def test_extxyz_keeps_several_frames_and_their_labels(tmp_path: Path) -> None:
    from ase.calculators.emt import EMT

    frames = perturbed_cells(bulk("Cu", cubic=True), n_strained=2, n_rattled=1, n_vacancy=1)
    for f in frames:
        f.calc = EMT()
        f.get_stress()
    write_crystal(frames, tmp_path / "set.extxyz")
    back = read_crystals(tmp_path / "set.extxyz")
    assert [len(f) for f in back] == [4, 4, 4, 3]
    for a, b in zip(frames, back, strict=True):
        assert b.get_potential_energy() == pytest.approx(a.get_potential_energy(), abs=1e-6)
        np.testing.assert_allclose(b.get_stress(), a.get_stress(), atol=1e-8)


def test_unparseable_cif_names_the_file(tmp_path: Path) -> None:
    bad = tmp_path / "broken.cif"
    bad.write_text("data_x\n_cell_length_a 3.6\nloop_\n_atom_site_label\nthis is not a cif\n")
    with pytest.raises(InputError, match=r"broken\.cif"):
        read_crystal(bad)
    with pytest.raises(InputError, match="no such file"):
        read_crystal(tmp_path / "missing.cif")


def test_zero_volume_cell_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "POSCAR"
    path.write_text(
        "flat\n1.0\n3.6 0 0\n0 3.6 0\n3.6 3.6 0\nCu\n1\nDirect\n0 0 0\n"  # third vector in plane
    )
    with pytest.raises(InputError, match=r"POSCAR: the cell has zero volume"):
        read_crystal(path)


def test_overlapping_atoms_are_refused_with_their_numbers(tmp_path: Path) -> None:
    atoms = bulk("Cu", cubic=True)
    atoms.positions[2] = atoms.positions[1] + [0.1, 0.0, 0.0]
    write_crystal(atoms, tmp_path / "overlap.cif")
    with pytest.raises(InputError, match=r"overlap.cif: atoms 2 \(Cu\) and 3 \(Cu\) overlap"):
        read_crystal(tmp_path / "overlap.cif")
    # an atom overlapping with its own periodic image in a tiny cell
    tiny = bulk("Cu", "sc", a=0.3)
    with pytest.raises(InputError, match="overlap"):
        check_crystal(tiny, "tiny")


def test_molecule_is_not_a_crystal() -> None:
    from ase.build import molecule

    with pytest.raises(InputError, match="not periodic"):
        check_crystal(molecule("H2O"), "water")


def test_builders() -> None:
    cu = bulk("Cu", "fcc", a=3.6, cubic=True)
    assert len(supercell(cu, 3)) == 108
    assert len(supercell(cu, (2, 1, 3))) == 24
    sheared = supercell(bulk("Cu", "fcc", a=3.6), [[1, 1, 0], [0, 1, 0], [0, 0, 2]])
    assert len(sheared) == 2
    assert sheared.get_volume() == pytest.approx(2 * bulk("Cu", "fcc", a=3.6).get_volume())
    stretched = strain(cu, 0.01)
    assert stretched.get_volume() == pytest.approx(cu.get_volume() * 1.01**3)
    np.testing.assert_allclose(stretched.get_scaled_positions(), cu.get_scaled_positions())
    assert len(vacancy(cu, 0)) == 3 and cu.get_chemical_formula() == "Cu4"  # input untouched
    alloy = substitute(supercell(cu, 2), "Au", 0.25, seed=4)
    assert alloy.get_chemical_formula() == "Au8Cu24"
    with pytest.raises(InputError, match="unknown crystal structure"):
        bulk("Cu", "fcx")
    with pytest.raises(InputError, match="zero determinant"):
        supercell(cu, [[1, 0, 0], [1, 0, 0], [0, 0, 1]])
    with pytest.raises(InputError, match="vacancy index 9"):
        vacancy(cu, 9)


def test_perturbed_cells_are_seeded_and_labelled_by_kind() -> None:
    base = supercell(bulk("Cu", cubic=True), 2)
    cells = perturbed_cells(base, n_strained=3, n_rattled=2, n_vacancy=2, max_strain=0.03, seed=5)
    again = perturbed_cells(base, n_strained=3, n_rattled=2, n_vacancy=2, max_strain=0.03, seed=5)
    assert [c.info["kind"] for c in cells] == ["strained"] * 3 + ["rattled"] * 2 + ["vacancy"] * 2
    for a, b in zip(cells, again, strict=True):
        np.testing.assert_array_equal(a.positions, b.positions)
    assert all(c.info["strain"] <= 0.03 for c in cells)
    ratios = [c.get_volume() / base.get_volume() for c in cells[:5]]
    assert max(abs(r - 1) for r in ratios) < 3.2 * 0.03 and len(set(ratios)) == 5
    assert [len(c) for c in cells[5:]] == [31, 31]
