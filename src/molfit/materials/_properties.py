"""Crystal properties from any ASE calculator (a molfit potential or an oracle), so a trained
potential can be compared with its oracle on the same cells.

- :func:`equation_of_state`: energies of isotropically scaled cells fitted with a
  Birch–Murnaghan equation of state (ASE's fit): equilibrium volume, energy, bulk modulus B and
  the conventional lattice constant a0 (from spglib's standardised cell).
- :func:`elastic_constants`: the 6×6 stiffness matrix by central differences of stress against
  strain (±δ per Voigt component, positions relaxed at each fixed cell when asked), and the cubic
  C11, C12, C44 as averages over the symmetry-equivalent entries.
- :func:`vacancy_formation_energy`: ``E_f = E(N-1, relaxed) - (N-1)/N E(N)``.
- :func:`radial_distribution`: g(r) of a set of frames (an MD trajectory).
- :func:`crystal_properties`: all of them in the usual order (the EOS first, then everything at
  the fitted equilibrium volume).

Units: Å, Å³, eV, GPa (bulk modulus, elastic constants). Stress is taken from the calculator in
ASE's convention (eV/Å³, positive when a stretched cell pulls back) and converted to GPa once.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from molfit.errors import InputError
from molfit.materials._build import scale_volume, strain, supercell
from molfit.units import EV_PER_ANGSTROM3_GPA

PROPERTIES = ("eos", "elastic", "vacancy", "rdf")


def _energy(atoms: Any, calculator: Any) -> float:
    a = atoms.copy()
    a.calc = calculator
    return float(a.get_potential_energy())


def _relaxed(atoms: Any, calculator: Any, fmax: float, steps: int = 500) -> tuple[Any, float]:
    """Positions relaxed at fixed cell; the relaxed atoms and their energy (eV)."""
    from molfit.atomistic import relax

    result = relax(atoms, calculator, fmax=fmax, steps=steps, optimizer="bfgs")
    return result.atoms, result.energy


def conventional_lattice_constant(atoms: Any, symprec: float = 1e-3) -> float:
    """Length (Å) of the first lattice vector of spglib's standardised conventional cell
    (the cubic a for cubic crystals); ``NaN`` when spglib finds no symmetry."""
    import spglib

    cell = (np.asarray(atoms.cell[:]), atoms.get_scaled_positions(), atoms.numbers)
    try:
        out = spglib.standardize_cell(cell, to_primitive=False, symprec=symprec)
    except Exception:  # spglib raises its own error types on failure
        return float("nan")
    if out is None:
        return float("nan")
    return float(np.linalg.norm(out[0][0]))


@dataclass
class EOSResult:
    """An equation-of-state fit.

    Attributes:
        volume: equilibrium volume of the cell as given, Å³ (``volume_per_atom`` per atom).
        energy: energy at that volume, eV (``energy_per_atom`` per atom).
        bulk_modulus: B, GPa.
        a0: conventional lattice constant at the equilibrium volume, Å (``NaN`` without symmetry).
        volumes, energies: the fitted points (Å³, eV).
        n_atoms: atoms in the cell.
    """

    volume: float
    energy: float
    bulk_modulus: float
    a0: float
    n_atoms: int
    volumes: list[float] = field(default_factory=list)
    energies: list[float] = field(default_factory=list)

    @property
    def volume_per_atom(self) -> float:
        return self.volume / self.n_atoms

    @property
    def energy_per_atom(self) -> float:
        return self.energy / self.n_atoms


def equation_of_state(
    atoms: Any,
    calculator: Any,
    *,
    max_strain: float = 0.02,
    n_points: int = 9,
    eos: str = "birchmurnaghan",
) -> EOSResult:
    """Fit E(V) of ``atoms`` scaled isotropically by linear strains in ``±max_strain``.

    Args:
        atoms: a periodic cell (not modified), ideally near its equilibrium.
        calculator: any ASE calculator.
        max_strain: largest linear strain (0.02: lattice ±2 %, volume about ±6 %).
        n_points: energies in the fit (>= 5).
        eos: an ASE equation-of-state name (``birchmurnaghan``, ``murnaghan``, ``sj``...).

    Raises:
        InputError: bad settings, or a minimum outside the sampled volumes (the cell is far
            from equilibrium: relax it first, or widen ``max_strain``).
    """
    from ase.eos import EquationOfState
    from ase.units import GPa

    if n_points < 5 or not 0 < max_strain < 0.2:
        raise InputError(
            f"EOS needs n_points >= 5 and 0 < max_strain < 0.2, got {n_points}, {max_strain}"
        )
    scales = np.linspace(-max_strain, max_strain, n_points)
    cells = [strain(atoms, float(s)) for s in scales]
    volumes = np.array([c.get_volume() for c in cells])
    energies = np.array([_energy(c, calculator) for c in cells])
    if not np.isfinite(energies).all():
        raise InputError("the calculator returned non-finite energies along the EOS")
    if int(np.argmin(energies)) in (0, n_points - 1):
        raise InputError(
            f"the energy minimum lies at the edge of the sampled volumes ({volumes.min():.2f}-"
            f"{volumes.max():.2f} Å³); relax the cell first or widen max_strain"
        )
    fit = EquationOfState(volumes, energies, eos=eos)
    v0, e0, b = fit.fit(warn=False)
    a0 = conventional_lattice_constant(scale_volume(atoms, float(v0)))
    return EOSResult(
        volume=float(v0),
        energy=float(e0),
        bulk_modulus=float(b / GPa),
        a0=a0,
        n_atoms=len(atoms),
        volumes=volumes.tolist(),
        energies=energies.tolist(),
    )


@dataclass
class ElasticResult:
    """Elastic constants from strain–stress.

    Attributes:
        matrix: 6×6 stiffness in Voigt order (xx yy zz yz xz xy, engineering shear), GPa.
        c11, c12, c44: cubic averages (of C11/C22/C33, the six C12-type entries, C44/C55/C66), GPa.
        bulk_modulus: (C11 + 2 C12) / 3, GPa.
        delta: the strain step used.
    """

    matrix: list[list[float]]
    c11: float
    c12: float
    c44: float
    bulk_modulus: float
    delta: float


def _stress_gpa(atoms: Any, calculator: Any) -> np.ndarray:
    a = atoms.copy()
    a.calc = calculator
    stress = np.asarray(a.get_stress(voigt=True), dtype=np.float64)
    if stress.shape != (6,) or not np.isfinite(stress).all():
        raise InputError("the calculator gave no finite stress for this periodic cell")
    return stress * EV_PER_ANGSTROM3_GPA


def elastic_constants(
    atoms: Any,
    calculator: Any,
    *,
    delta: float = 0.005,
    relax_atoms: bool = True,
    fmax: float = 1e-3,
) -> ElasticResult:
    """The stiffness matrix C_ij = dσ_i/dε_j by central differences (±``delta``).

    Args:
        atoms: the cell at (or near) zero stress, e.g. scaled to the EOS volume; crystal axes
            along x, y, z for the cubic constants to mean C11, C12, C44.
        calculator: any ASE calculator with stress.
        delta: strain step (tensor strain for normal components; engineering shear ``delta``
            for yz, xz, xy).
        relax_atoms: relax the positions at each strained cell (needed for crystals with
            internal degrees of freedom, e.g. diamond's C44; no effect on a Bravais lattice).
        fmax: eV/Å, force criterion of those relaxations.
    """
    if not 0 < delta < 0.05:
        raise InputError(f"delta must lie in (0, 0.05), got {delta}")
    matrix = np.zeros((6, 6))
    for k in range(6):
        stresses = []
        for sign in (1.0, -1.0):
            voigt = np.zeros(6)
            voigt[k] = sign * (delta if k < 3 else delta / 2)  # tensor shear = engineering / 2
            cell = strain(atoms, voigt)
            if relax_atoms:
                cell, _ = _relaxed(cell, calculator, fmax)
            stresses.append(_stress_gpa(cell, calculator))
        matrix[:, k] = (stresses[0] - stresses[1]) / (2 * delta)
    matrix = 0.5 * (matrix + matrix.T)
    c11 = float(np.mean(np.diag(matrix)[:3]))
    c12 = float(np.mean([matrix[0, 1], matrix[0, 2], matrix[1, 2]]))
    c44 = float(np.mean(np.diag(matrix)[3:]))
    return ElasticResult(
        matrix=matrix.tolist(),
        c11=c11,
        c12=c12,
        c44=c44,
        bulk_modulus=(c11 + 2 * c12) / 3,
        delta=delta,
    )


@dataclass
class VacancyResult:
    """A vacancy formation energy.

    Attributes:
        energy: E_f = E(N-1) - (N-1)/N E(N), eV.
        bulk_energy: E(N), eV; defect_energy: E(N-1), eV (relaxed when ``relaxed``).
        n_atoms: N, atoms of the perfect cell.
    """

    energy: float
    bulk_energy: float
    defect_energy: float
    n_atoms: int
    relaxed: bool


def vacancy_formation_energy(
    atoms: Any, calculator: Any, *, index: int = 0, relax_atoms: bool = True, fmax: float = 0.005
) -> VacancyResult:
    """Formation energy of a vacancy at atom ``index`` of the (super)cell ``atoms`` at fixed
    cell; the defect cell's positions relaxed when ``relax_atoms``.

    Raises:
        InputError: a cell of fewer than 8 atoms (the vacancy would interact with its images).
    """
    from molfit.materials._build import vacancy

    n = len(atoms)
    if n < 8:
        raise InputError(f"a vacancy needs a supercell of at least 8 atoms, got {n}")
    e_bulk = _energy(atoms, calculator)
    defect = vacancy(atoms, index)
    if relax_atoms:
        _, e_defect = _relaxed(defect, calculator, fmax)
    else:
        e_defect = _energy(defect, calculator)
    return VacancyResult(
        energy=float(e_defect - (n - 1) / n * e_bulk),
        bulk_energy=e_bulk,
        defect_energy=float(e_defect),
        n_atoms=n,
        relaxed=relax_atoms,
    )


def radial_distribution(
    frames: Any, *, r_max: float = 6.0, n_bins: int = 120
) -> tuple[np.ndarray, np.ndarray]:
    """The radial distribution function g(r) averaged over ``frames`` (ASE ``Atoms``, periodic).

    Returns:
        ``(r, g)``: bin centres (Å) and g(r) (dimensionless, 1 for an ideal gas), ``(n_bins,)``.
    """
    from ase.neighborlist import neighbor_list

    frames = [frames] if not isinstance(frames, list | tuple) else list(frames)
    if not frames:
        raise InputError("radial_distribution needs at least one frame")
    edges = np.linspace(0.0, r_max, n_bins + 1)
    shell = 4.0 / 3.0 * math.pi * (edges[1:] ** 3 - edges[:-1] ** 3)
    g = np.zeros(n_bins)
    for atoms in frames:
        if not atoms.pbc.all():
            raise InputError("radial_distribution needs periodic frames")
        d = neighbor_list("d", atoms, r_max)
        counts, _ = np.histogram(d, bins=edges)
        density = len(atoms) / atoms.get_volume()
        g += counts / (len(atoms) * density * shell)
    return 0.5 * (edges[1:] + edges[:-1]), g / len(frames)


def _rdf_from_md(
    atoms: Any,
    calculator: Any,
    trajectory: Path,
    *,
    temperature: float,
    steps: int,
    dt: float,
    seed: int,
) -> dict[str, Any]:
    from molfit.atomistic import read_frames, run_md

    every = max(1, steps // 50)
    result = run_md(
        atoms,
        calculator,
        trajectory,
        ensemble="langevin",
        temperature=temperature,
        dt=dt,
        steps=steps,
        every=every,
        friction=0.02,
        seed=seed,
        progress=False,
    )
    if result.stopped:
        raise InputError(f"MD for the RDF stopped early: {result.stopped}")
    frames = read_frames(trajectory)
    kept = frames[len(frames) // 2 :]  # the second half: after equilibration
    r, g = radial_distribution(kept, r_max=6.0, n_bins=120)
    peak = int(np.argmax(g))
    return {
        "rdf_r": r.tolist(),
        "rdf_g": g.tolist(),
        "rdf_peak_position": float(r[peak]),
        "rdf_peak_height": float(g[peak]),
        "md_temperature": float(result.mean_temperature),
        "md_frames": len(kept),
    }


def crystal_properties(
    atoms: Any,
    calculator: Any,
    *,
    which: tuple[str, ...] = PROPERTIES,
    relax_cell: bool = True,
    vacancy_atoms: int = 32,
    md_temperature: float = 300.0,
    md_steps: int = 1000,
    md_dt: float = 2.0,
    workdir: str | Path | None = None,
    seed: int = 0,
) -> dict[str, Any]:
    """EOS, elastic constants, vacancy formation energy and RDF of one crystal.

    With ``relax_cell`` the positions and the cell are first relaxed with the calculator (ASE's
    ``FrechetCellFilter``, forces below 10⁻³ eV/Å), so the EOS is sampled around the calculator's
    own minimum. The EOS is fitted around that cell; elastic constants, the vacancy and the MD
    then use the cell scaled to the fitted equilibrium volume (when ``"eos"`` is asked), so each
    calculator is measured at its own equilibrium. The vacancy and the MD run in the smallest
    n×n×n supercell of at least ``vacancy_atoms`` atoms.

    Args:
        which: a subset of :data:`PROPERTIES`.
        md_temperature, md_steps, md_dt: Langevin MD for the RDF (K, steps, fs); its
            trajectory is ``workdir/md.extxyz`` (resumed when it exists; a temporary folder when
            ``workdir`` is None).

    Returns:
        A flat dict: ``a0`` (Å), ``volume_per_atom`` (Å³), ``energy_per_atom`` (eV), ``B`` (GPa),
        ``C11``, ``C12``, ``C44``, ``B_elastic`` (GPa), ``E_vacancy`` (eV), ``rdf_*`` and the
        settings used.

    Raises:
        InputError: an unknown property, a structure that is not a crystal, or a calculation that
            failed (non-finite energies, EOS minimum off the sampled range, MD blowing up).
    """
    import tempfile

    from molfit.materials._io import check_crystal

    unknown = sorted(set(which) - set(PROPERTIES))
    if unknown:
        raise InputError(f"unknown properties {unknown}; choose from {', '.join(PROPERTIES)}")
    check_crystal(atoms)
    out: dict[str, Any] = {"n_atoms": len(atoms)}
    cell = atoms.copy()
    cell.calc = None
    if relax_cell:
        from molfit.atomistic import relax

        relaxed = relax(cell, calculator, cell=True, fmax=1e-3, steps=300)
        cell = relaxed.atoms.copy()
        cell.calc = None
        out["relaxed_cell_converged"] = relaxed.converged
    if "eos" in which:
        eos = equation_of_state(cell, calculator)
        out.update(
            a0=eos.a0,
            volume_per_atom=eos.volume_per_atom,
            energy_per_atom=eos.energy_per_atom,
            B=eos.bulk_modulus,
            eos_volumes=eos.volumes,
            eos_energies=eos.energies,
        )
        cell = scale_volume(cell, eos.volume)
    if "elastic" in which:
        el = elastic_constants(cell, calculator)
        out.update(
            C11=el.c11, C12=el.c12, C44=el.c44, B_elastic=el.bulk_modulus, elastic_matrix=el.matrix
        )
    big = cell
    if ("vacancy" in which or "rdf" in which) and len(cell) < vacancy_atoms:
        n = math.ceil((vacancy_atoms / len(cell)) ** (1 / 3))
        big = supercell(cell, n)
    if "vacancy" in which:
        vac = vacancy_formation_energy(big, calculator)
        out.update(E_vacancy=vac.energy, vacancy_cell_atoms=vac.n_atoms)
    if "rdf" in which:
        with tempfile.TemporaryDirectory() as tmp:
            folder = Path(workdir) if workdir is not None else Path(tmp)
            folder.mkdir(parents=True, exist_ok=True)
            out.update(
                _rdf_from_md(
                    big,
                    calculator,
                    folder / "md.extxyz",
                    temperature=md_temperature,
                    steps=md_steps,
                    dt=md_dt,
                    seed=seed,
                )
            )
    return out


#: scalar properties :func:`compare_properties` tabulates, with their units
SCALARS = {
    "a0": "Å",
    "volume_per_atom": "Å³/atom",
    "B": "GPa",
    "C11": "GPa",
    "C12": "GPa",
    "C44": "GPa",
    "E_vacancy": "eV",
    "rdf_peak_position": "Å",
    "rdf_peak_height": "",
}


def compare_properties(model: dict[str, Any], reference: dict[str, Any]) -> list[dict[str, Any]]:
    """Rows ``{property, unit, model, reference, difference, relative}`` for the scalar
    properties both dicts hold (``relative`` = difference / |reference|); plus ``rdf_l1``, the
    mean |g_model - g_reference| over the common bins, when both have an RDF."""
    rows = []
    for key, unit in SCALARS.items():
        if key in model and key in reference:
            m, r = float(model[key]), float(reference[key])
            rel = (m - r) / abs(r) if r else float("nan")
            rows.append(
                dict(property=key, unit=unit, model=m, reference=r, difference=m - r, relative=rel)
            )
    if "rdf_g" in model and "rdf_g" in reference:
        n = min(len(model["rdf_g"]), len(reference["rdf_g"]))
        diff = np.abs(np.asarray(model["rdf_g"][:n]) - np.asarray(reference["rdf_g"][:n]))
        rows.append(
            dict(
                property="rdf_l1",
                unit="",
                model=float(diff.mean()),
                reference=0.0,
                difference=float(diff.mean()),
                relative=float("nan"),
            )
        )
    return rows
