"""MD with any ASE calculator: NVE conserves energy, thermostats hold their temperature, runs
stop with a reason (and keep their frames) when a structure breaks apart or leaves the domain."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from ase.build import bulk
from ase.calculators.emt import EMT

from molfit.atomistic import make_oracle, read_frames, run_md, start_structure
from molfit.errors import InputError


def _copper(n: int = 2):
    return bulk("Cu", "fcc", a=3.61, cubic=True).repeat((n, n, n))


def test_nve_conserves_energy_in_a_copper_crystal(tmp_path: Path) -> None:
    result = run_md(
        _copper(), EMT(), tmp_path / "nve.extxyz", ensemble="nve", temperature=600,
        dt=1.0, steps=400, every=20, progress=False,
    )  # fmt: skip
    assert result.n_frames == 20 and not result.stopped
    frames = read_frames(tmp_path / "nve.extxyz")
    e_kin = np.array([f.info["e_kin"] for f in frames])
    assert e_kin.std() > 0.01  # energy flows between kinetic and potential ...
    assert result.max_energy_change < 1.0  # ... while the total stays within 1 meV/atom
    # each frame's total energy is recomputable from what it stores
    f = frames[-1]
    kinetic = 0.5 * np.sum(np.sum(f.get_momenta() ** 2, axis=1) / f.get_masses())
    assert f.get_potential_energy() + kinetic == pytest.approx(f.info["e_tot"], abs=1e-6)


def test_nve_with_xtb_on_ethanol(tmp_path: Path) -> None:
    pytest.importorskip("tblite")
    atoms, _ = start_structure("CCO")
    result = run_md(
        atoms, make_oracle("xtb"), tmp_path / "x.extxyz", ensemble="nve", temperature=300,
        dt=0.25, steps=200, every=10, progress=False,
    )  # fmt: skip
    assert result.n_frames == 20 and result.max_energy_change < 2.0  # meV/atom over 50 fs


@pytest.mark.parametrize("ensemble", ["langevin", "nose-hoover"])
def test_thermostats_bring_a_cold_crystal_to_temperature(tmp_path: Path, ensemble: str) -> None:
    from ase.md.velocitydistribution import MaxwellBoltzmannDistribution

    atoms = _copper()
    MaxwellBoltzmannDistribution(atoms, temperature_K=100, rng=np.random.default_rng(0))
    run_md(
        atoms, EMT(), tmp_path / "t.extxyz", ensemble=ensemble, temperature=800, dt=2.0,
        steps=800, every=20, friction=0.05, progress=False,
    )  # fmt: skip
    temps = [f.info["T_inst_K"] for f in read_frames(tmp_path / "t.extxyz")]
    assert 500 < np.mean(temps[-15:]) < 1100


def test_md_resumes_where_it_stopped(tmp_path: Path) -> None:
    out = tmp_path / "r.extxyz"
    kw = {"ensemble": "langevin", "temperature": 300, "dt": 2.0, "every": 10, "seed": 4}
    first = run_md(_copper(), EMT(), out, steps=50, progress=False, **kw)
    kept = out.read_bytes()
    again = run_md(_copper(), EMT(), out, steps=100, progress=False, **kw)
    assert (first.n_frames, again.n_resumed, again.n_frames) == (5, 5, 10)
    assert out.read_bytes().startswith(kept)
    steps = [f.info["step"] for f in read_frames(out)]
    assert steps == list(range(10, 110, 10))
    with pytest.raises(InputError, match="another run"):
        run_md(_copper(), EMT(), out, steps=100, progress=False, **{**kw, "ensemble": "nve"})


def test_an_exploding_run_stops_with_a_reason_and_keeps_its_frames(tmp_path: Path) -> None:
    atoms = _copper()
    atoms.positions[0] = atoms.positions[1] + [0.3, 0.0, 0.0]  # two atoms almost on each other
    result = run_md(atoms, EMT(), tmp_path / "boom.extxyz", dt=1.0, steps=100, every=5,
                    max_force=20.0, progress=False)  # fmt: skip
    assert "breaking apart" in result.stopped and result.n_frames < 20


class _CommitteeEMT(EMT):
    """EMT plus a made-up committee σ that grows with the distance of atom 0 from its start."""

    def calculate(self, atoms=None, properties=("energy",), system_changes=None):
        super().calculate(atoms, properties, system_changes or ["positions"])
        moved = np.linalg.norm(self.atoms.positions[0] - self.start)
        self.results["forces_std"] = np.full((len(self.atoms), 3), moved)


def test_committee_sigma_threshold_stops_the_run(tmp_path: Path) -> None:
    atoms = _copper()
    calc = _CommitteeEMT()
    calc.start = atoms.positions[0].copy()
    result = run_md(atoms, calc, tmp_path / "s.extxyz", ensemble="langevin", temperature=1500,
                    dt=2.0, steps=2000, every=10, max_sigma=0.05, progress=False)  # fmt: skip
    assert "committee σ" in result.stopped
    last = read_frames(tmp_path / "s.extxyz")[-1]
    assert last.info["forces_std_max"] <= 0.05


def test_cell_relaxation_finds_emts_lattice_constant(tmp_path: Path) -> None:
    from molfit.atomistic import relax

    start = bulk("Cu", "fcc", a=3.75, cubic=True)  # 4 % too large
    result = relax(start, EMT(), cell=True, fmax=1e-4, trajectory=tmp_path / "relax.extxyz")
    assert result.converged
    a = result.atoms.cell.lengths()[0]
    # EMT's own minimum, from a fine scan of its energy-volume curve
    scan = np.linspace(3.55, 3.65, 201)
    energies = []
    for lat in scan:
        cell = bulk("Cu", "fcc", a=lat, cubic=True)
        cell.calc = EMT()
        energies.append(cell.get_potential_energy())
    assert a == pytest.approx(scan[int(np.argmin(energies))], abs=1e-3)
    assert len(read_frames(tmp_path / "relax.extxyz")) == result.steps + 1


def test_relax_positions_of_a_distorted_molecule() -> None:
    pytest.importorskip("tblite")
    from molfit.atomistic import relax

    atoms, _ = start_structure("O")
    atoms.positions[1] += [0.2, 0.0, 0.0]
    result = relax(atoms, make_oracle("xtb"), fmax=0.005)
    assert result.converged and result.fmax < 0.005
    d = np.linalg.norm(result.atoms.positions[1] - result.atoms.positions[0])
    assert 0.93 < d < 1.0  # an O-H bond, not the stretched start


def test_cell_relax_of_a_molecule_is_refused() -> None:
    from molfit.atomistic import relax

    atoms, _ = start_structure("O")
    with pytest.raises(InputError, match="periodic"):
        relax(atoms, EMT(), cell=True)
