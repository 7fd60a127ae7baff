"""Molecular dynamics with any ASE calculator (a molfit potential or an oracle), written frame by
frame and resumable after a kill.

Each frame stores positions (Å), momenta, the potential energy (eV) and forces (eV/Å), so any
tool can recompute the total energy, plus ``step``, ``time_fs``, ``e_kin``, ``e_tot`` and
``T_inst_K`` in its comment line. A run stops early, keeping every frame so far, when a force
exceeds ``max_force`` (the structure is breaking apart), the energy becomes non-finite, or the
calculator's committee σ of the forces (``forces_std`` in its results) exceeds ``max_sigma``.

Resuming: the last complete frame's positions and momenta restart the integrator; Langevin's
random forces come from a generator seeded by ``(seed, segment)`` per segment of ``every`` steps,
so a resumed run draws what an uninterrupted one would have. A Nose–Hoover chain restarts its
thermostat variables at zero (they are not stored in the frame).

NPT (``ensemble="npt"``, periodic cells): ASE's isotropic MTK integrator (Nose–Hoover chains on
the particles and on the cell volume, ``tdamp`` 100 steps, ``pdamp`` 1000 steps) at
``pressure`` GPa; each frame also stores the cell and ``volume_A3``. Frames of periodic cells
store the stress (eV/Å³) whenever the calculator computes one. Its
barostat variables restart at zero on resume, like the Nose–Hoover thermostat's.
"""

from __future__ import annotations

import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from molfit.atomistic._trajectory import FrameWriter, read_frames, repair
from molfit.errors import InputError

ENSEMBLES = ("nve", "langevin", "nose-hoover", "npt")
#: frame settings a resumed run must share with the run that wrote the file
RUN_KEYS = ("ensemble", "temperature_K", "every", "dt_fs", "seed")


@dataclass
class MDResult:
    """What :func:`run_md` did.

    Attributes:
        path: the trajectory file.
        n_frames: complete frames in it now; ``n_resumed`` of them were there before this run.
        steps_per_second: MD steps per wall-clock second in this run (integrator + calculator).
        seconds: wall time of this run.
        mean_temperature: mean instantaneous temperature over all frames, K.
        energy_drift: slope of the total energy over all frames, meV/atom/ps (meaningful for NVE).
        max_energy_change: largest |E_tot - E_tot(first frame)| over the frames, meV/atom.
        stopped: why the run ended early (``""`` when it ran all its steps).
    """

    path: Path
    n_frames: int
    n_resumed: int
    steps_per_second: float = float("nan")
    seconds: float = 0.0
    mean_temperature: float = float("nan")
    energy_drift: float = float("nan")
    max_energy_change: float = float("nan")
    stopped: str = ""


def _check_same_run(path: Path, last: Any, settings: dict[str, Any], atoms: Any) -> None:
    differ = []
    for key, value in settings.items():
        if key not in last.info:
            continue
        old = last.info[key]
        same = np.isclose(float(old), value) if isinstance(value, float) else old == value
        if not same:
            differ.append(f"{key}={old!r} (now {value!r})")
    if differ:
        raise InputError(
            f"{path} holds frames of another run ({', '.join(differ)}); give the same settings "
            "to resume it, or another --out"
        )
    if len(last) != len(atoms) or (last.numbers != atoms.numbers).any():
        raise InputError(f"{path} holds frames of another structure; choose another --out")


def _integrator(ensemble: str, atoms: Any, dt: float, temperature: float, friction: float,
                rng: np.random.Generator, pressure: float = 0.0) -> Any:  # fmt: skip
    from ase import units

    if ensemble == "npt":
        from ase.md.nose_hoover_chain import IsotropicMTKNPT

        return IsotropicMTKNPT(
            atoms, timestep=dt * units.fs, temperature_K=temperature,
            pressure_au=pressure * units.GPa, tdamp=100 * dt * units.fs,
            pdamp=1000 * dt * units.fs,
        )  # fmt: skip

    if ensemble == "nve":
        from ase.md.verlet import VelocityVerlet

        return VelocityVerlet(atoms, timestep=dt * units.fs)
    if ensemble == "langevin":
        from ase.md.langevin import Langevin

        return Langevin(
            atoms,
            timestep=dt * units.fs,
            temperature_K=temperature,
            friction=friction / units.fs,
            fixcm=False,
            rng=rng,
        )
    from ase.md.nose_hoover_chain import NoseHooverChainNVT

    return NoseHooverChainNVT(
        atoms, timestep=dt * units.fs, temperature_K=temperature, tdamp=100 * dt * units.fs
    )


def summarize(frames: list[Any]) -> tuple[float, float, float]:
    """Mean temperature (K), total-energy drift (meV/atom/ps) and largest total-energy change
    from the first frame (meV/atom) of MD frames that store ``e_tot`` and ``time_fs``."""
    if not frames:
        return float("nan"), float("nan"), float("nan")
    n_atoms = len(frames[0])
    temps = np.array([f.info.get("T_inst_K", np.nan) for f in frames], dtype=float)
    e_tot = np.array([f.info["e_tot"] for f in frames], dtype=float) / n_atoms * 1000.0
    t_ps = np.array([f.info["time_fs"] for f in frames], dtype=float) / 1000.0
    drift = float(np.polyfit(t_ps, e_tot, 1)[0]) if len(frames) > 1 else float("nan")
    return float(np.nanmean(temps)), drift, float(np.abs(e_tot - e_tot[0]).max())


def run_md(
    atoms: Any,
    calculator: Any,
    out: str | Path,
    *,
    ensemble: str = "nve",
    temperature: float = 300.0,
    dt: float = 0.5,
    steps: int = 1000,
    every: int = 10,
    friction: float = 0.01,
    seed: int = 0,
    max_force: float = 50.0,
    max_sigma: float | None = None,
    extra_info: dict[str, Any] | None = None,
    progress: bool = True,
    pressure: float = 0.0,
) -> MDResult:
    """Integrate ``steps`` MD steps of ``atoms`` with ``calculator``; write a frame every
    ``every`` steps to ``out`` (an existing file is resumed).

    Args:
        atoms: ASE ``Atoms`` to start from (not modified). Velocities: its momenta when set,
            else Maxwell–Boltzmann at ``temperature`` (seeded), without drift (nor rotation,
            for a molecule).
        calculator: an ASE calculator (``molfit.atomistic`` oracles, a molfit potential...).
        ensemble: ``nve`` (velocity Verlet), ``langevin``, ``nose-hoover`` (a chain) or ``npt``
            (isotropic MTK barostat at ``pressure`` GPa; periodic cells only).
        temperature: K. dt: fs. friction: Langevin friction, 1/fs.
        max_force: eV/Å, stop when any force exceeds it.
        max_sigma: eV/Å, stop when the calculator's committee σ of any force exceeds it.
        extra_info: scalars stored in every frame (e.g. the oracle's name).

    Raises:
        InputError: bad settings, or ``out`` holds frames of another run or structure.
    """
    from ase.md.velocitydistribution import MaxwellBoltzmannDistribution, Stationary, ZeroRotation

    if ensemble not in ENSEMBLES:
        raise InputError(f"unknown ensemble {ensemble!r}; choose one of {', '.join(ENSEMBLES)}")
    if steps < 1 or every < 1:
        raise InputError(f"--steps and --every must be at least 1, got {steps} and {every}")
    if dt <= 0 or (ensemble != "nve" and temperature <= 0):
        raise InputError(f"--dt and --temperature must be positive, got {dt} and {temperature}")
    if ensemble == "npt" and not (atoms.pbc.all() and atoms.cell.rank == 3):
        raise InputError("--ensemble npt needs a periodic structure with a full 3D cell")
    out = Path(out)
    if ensemble == "npt":
        extra_info = {"pressure_GPa": float(pressure), **(extra_info or {})}
    settings = {"ensemble": ensemble, "temperature_K": float(temperature), "every": every,
                "dt_fs": float(dt), "seed": seed, **(extra_info or {})}  # fmt: skip
    n_done = repair(out)
    atoms = atoms.copy()
    if n_done:
        last = read_frames(out, index=-1)[0]
        _check_same_run(out, last, settings, atoms)
        atoms.positions = last.positions
        atoms.cell = last.cell
        atoms.set_momenta(last.get_momenta())
    elif not np.any(atoms.get_momenta()):
        MaxwellBoltzmannDistribution(
            atoms, temperature_K=temperature, rng=np.random.default_rng([seed, 0])
        )
        Stationary(atoms)
        if not atoms.pbc.any():  # a molecule: no overall rotation either
            ZeroRotation(atoms)
    atoms.calc = calculator
    # periodic cells get their stress (eV/Å³) in every frame when the calculator gives one
    with_stress = (
        bool(atoms.pbc.all())
        and atoms.cell.rank == 3
        and "stress" in getattr(calculator, "implemented_properties", ())
    )
    n_frames = steps // every
    result = MDResult(out, n_done, n_done)
    if n_done < n_frames:
        # the calculator's own refusals (an element it never saw...) come before any output
        atoms.get_potential_energy()
    bar = None
    if progress and n_done < n_frames:
        from tqdm.auto import tqdm

        bar = tqdm(total=n_frames, initial=n_done, unit="frame", file=sys.stderr, leave=False)
    t0 = time.perf_counter()
    steps_run = 0
    dyn = None
    with FrameWriter(out) as writer:
        for k in range(n_done, n_frames):
            rng = np.random.default_rng([seed, k + 1])
            if dyn is None or ensemble == "langevin":
                dyn = _integrator(ensemble, atoms, dt, temperature, friction, rng, pressure)
            try:
                dyn.run(every)
                energy = float(atoms.get_potential_energy())
                forces = np.asarray(atoms.get_forces(apply_constraint=False))
            except InputError:
                raise
            except Exception as exc:  # the calculator failed on this segment
                result.stopped = f"the calculator failed during frame {k + 1}: {exc}"
                break
            steps_run += every
            fmax = float(np.abs(forces).max()) if forces.size else 0.0
            if not np.isfinite(energy) or not np.isfinite(fmax) or fmax > max_force:
                result.stopped = (
                    f"frame {k + 1} (step {(k + 1) * every}): largest force {fmax:.1f} eV/Å "
                    f"exceeds {max_force} eV/Å; the structure is breaking apart (try a lower "
                    "--temperature or --dt)"
                )
                break
            sigma = (getattr(calculator, "results", {}) or {}).get("forces_std")
            if max_sigma is not None and sigma is not None and float(np.max(sigma)) > max_sigma:
                result.stopped = (
                    f"frame {k + 1} (step {(k + 1) * every}): committee σ of the forces "
                    f"{float(np.max(sigma)):.3f} eV/Å exceeds --max-sigma {max_sigma}; the "
                    "structure left the potential's training domain"
                )
                break
            e_kin = float(atoms.get_kinetic_energy())
            info = {**settings, "step": (k + 1) * every, "time_fs": (k + 1) * every * dt,
                    "e_kin": e_kin, "e_tot": energy + e_kin,
                    "T_inst_K": float(atoms.get_temperature())}  # fmt: skip
            results = {"energy": energy, "forces": forces}
            if with_stress:
                results["stress"] = np.asarray(atoms.get_stress(voigt=False))
            if ensemble == "npt":
                info["volume_A3"] = float(atoms.get_volume())
            if sigma is not None:
                info["forces_std_max"] = float(np.max(sigma))
            writer.write(atoms, results, info)
            result.n_frames = k + 1
            if bar is not None:
                bar.update(1)
    if bar is not None:
        bar.close()
    result.seconds = time.perf_counter() - t0
    result.steps_per_second = steps_run / result.seconds if steps_run else float("nan")
    if result.n_frames:
        frames = read_frames(out)
        result.mean_temperature, result.energy_drift, result.max_energy_change = summarize(frames)
    return result
