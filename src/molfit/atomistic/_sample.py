"""Labelled structures from real oracles: ``molfit label`` (single points) and ``molfit sample``
(oracle-driven Langevin dynamics), both written frame by frame and resumable after a kill.

Resuming. Both verbs repair the output first (:func:`molfit.atomistic.repair` cuts off a frame
that a kill left half written) and carry on after the last complete frame: ``label`` from the
input frame after the last one labelled (``source_frame`` in each output frame), ``sample`` from
the positions and momenta of the last frame (``step``). The random forces of Langevin dynamics
are drawn from a generator seeded by ``(seed, segment)`` for each segment of ``every`` steps, so a
resumed run draws the same numbers as an uninterrupted one would have from that frame on.
"""

from __future__ import annotations

import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from molfit.atomistic._oracles import OracleError, check_supported, evaluate, make_oracle
from molfit.atomistic._trajectory import FrameWriter, read_frames, repair
from molfit.errors import InputError, RowIssue

#: settings a resumed ``sample`` run must share with the run that wrote the file
_RUN_KEYS = ("oracle", "temperature_K", "every", "dt_fs", "seed")


@dataclass
class SampleResult:
    """What :func:`sample` or :func:`label` did.

    Attributes:
        path: the output extxyz file.
        n_frames: complete frames in it now.
        n_resumed: frames that were already there when this run started.
        issues: frames that could not be labelled (``label``), by 1-based input frame.
        mean_temperature: mean instantaneous temperature of the frames written, K (``sample``).
        seconds: wall time of this run.
        stopped: why a ``sample`` run stopped early (``""`` when it finished).
    """

    path: Path
    n_frames: int
    n_resumed: int
    issues: list[RowIssue] = field(default_factory=list)
    mean_temperature: float = float("nan")
    seconds: float = 0.0
    stopped: str = ""


def start_structure(start: str | Path, *, conformer_seed: int = 0) -> tuple[Any, str]:
    """ASE ``Atoms`` to start from, and where they came from.

    ``start`` is a structure file ASE reads (XYZ, extxyz, CIF, POSCAR...; its first frame) or a
    SMILES (a conformer: ETKDGv3 + MMFF94, seeded).
    """
    from ase import Atoms

    path = Path(str(start))
    if path.is_file():
        from ase.io import read

        try:
            atoms = read(path, index=0)
        except Exception as exc:  # ASE raises many types for unreadable files
            raise InputError(f"{path}: cannot read a structure ({exc})") from None
        return atoms, f"{path}#1"
    if path.suffix.lower() in (".xyz", ".extxyz", ".cif", ".vasp", ".poscar") or "/" in str(start):
        raise InputError(f"{start}: no such file")
    from molfit.chem import parse_smiles
    from molfit.structures import conformer_geometry

    parse_smiles(str(start))  # a clear error for a broken SMILES
    numbers, positions = conformer_geometry(str(start), seed=conformer_seed)
    return Atoms(numbers=numbers, positions=positions), f"ETKDGv3+MMFF94 (seed {conformer_seed})"


def _check_same_run(path: Path, last: Any, settings: dict[str, Any]) -> None:
    differ = [
        f"{k}={last.info.get(k)!r} (now {v!r})"
        for k, v in settings.items()
        if k in last.info
        and last.info.get(k) != v
        and not (isinstance(v, float) and np.isclose(float(last.info.get(k)), v))
    ]
    if differ:
        raise InputError(
            f"{path} holds frames of another run ({', '.join(differ)}); give the same settings "
            "to resume it, or another --out"
        )


def sample(
    start: str | Path,
    out: str | Path,
    *,
    oracle: str = "xtb",
    oracle_options: dict[str, Any] | None = None,
    temperature: float = 300.0,
    steps: int = 1000,
    every: int = 10,
    dt: float = 0.5,
    friction: float = 0.01,
    seed: int = 0,
    conformer_seed: int = 0,
    max_force: float = 50.0,
    progress: bool = True,
) -> SampleResult:
    """Langevin MD driven by an oracle; one labelled frame every ``every`` steps.

    Args:
        start: structure file or SMILES (see :func:`start_structure`).
        out: extxyz file; frames are appended as they come, an existing file is resumed.
        oracle: ``xtb``, ``dft`` or ``emt``; ``oracle_options`` go to :func:`make_oracle`.
        temperature: K, of the thermostat and of the initial Maxwell–Boltzmann velocities.
        steps: MD steps in total (``steps // every`` frames).
        dt: time step, fs. friction: Langevin friction, 1/fs.
        seed: seeds the initial velocities and the random forces.
        max_force: eV/Å; a frame with a larger force stops the run (the structure is breaking
            apart or the oracle failed silently), keeping the frames so far.

    Returns:
        A :class:`SampleResult`; ``stopped`` says why when the run ended early.

    Raises:
        InputError: bad start structure, bad settings, or ``out`` holds another run's frames.
    """
    from ase import units
    from ase.constraints import FixCom
    from ase.md.langevin import Langevin
    from ase.md.velocitydistribution import MaxwellBoltzmannDistribution, Stationary, ZeroRotation

    if steps < 1 or every < 1:
        raise InputError(f"--steps and --every must be at least 1, got {steps} and {every}")
    if temperature <= 0 or dt <= 0:
        raise InputError(f"--temperature and --dt must be positive, got {temperature}, {dt}")
    out = Path(out)
    t0 = time.perf_counter()
    n_frames = steps // every
    settings = {"oracle": oracle, "temperature_K": float(temperature), "every": every,
                "dt_fs": float(dt), "seed": seed}  # fmt: skip
    n_done = repair(out)
    atoms, source = start_structure(start, conformer_seed=conformer_seed)
    if n_done:
        last = read_frames(out, index=-1)[0]
        _check_same_run(out, last, settings)
        if len(last) != len(atoms) or (last.numbers != atoms.numbers).any():
            raise InputError(f"{out} holds frames of another structure; choose another --out")
        atoms = last.copy()
        atoms.set_momenta(last.get_momenta())
    else:
        MaxwellBoltzmannDistribution(
            atoms, temperature_K=temperature, rng=np.random.default_rng([seed, 0])
        )
        Stationary(atoms)
        ZeroRotation(atoms)
    calc = make_oracle(oracle, **(oracle_options or {}))
    try:
        check_supported(oracle, atoms)
    except OracleError as exc:
        raise InputError(f"{start}: {exc}") from None
    atoms.set_constraint(FixCom())  # no drift of the centre of mass
    atoms.calc = calc
    result = SampleResult(out, n_done, n_done)
    temps: list[float] = []
    bar = None
    if progress and n_done < n_frames:
        from tqdm.auto import tqdm

        bar = tqdm(total=n_frames, initial=n_done, unit="frame", file=sys.stderr, leave=False)
    with FrameWriter(out) as writer:
        for k in range(n_done, n_frames):
            dyn = Langevin(
                atoms,
                timestep=dt * units.fs,
                temperature_K=temperature,
                friction=friction / units.fs,
                fixcm=False,
                rng=np.random.default_rng([seed, k + 1]),
            )
            try:
                dyn.run(every)
                energy = float(atoms.get_potential_energy())
                # the oracle's own forces, not those projected by the centre-of-mass constraint
                forces = np.asarray(atoms.get_forces(apply_constraint=False))
            except Exception as exc:  # the oracle failed on this segment
                result.stopped = f"the oracle failed during frame {k + 1}: {exc}"
                break
            fmax = float(np.abs(forces).max()) if forces.size else 0.0
            if not np.isfinite(energy) or not np.isfinite(fmax) or fmax > max_force:
                result.stopped = (
                    f"frame {k + 1}: largest force {fmax:.1f} eV/Å exceeds {max_force} eV/Å; "
                    "the structure is breaking apart (lower --temperature or --dt)"
                )
                break
            temp = float(atoms.get_temperature())
            temps.append(temp)
            writer.write(
                atoms,
                {"energy": energy, "forces": forces},
                {**settings, "step": (k + 1) * every, "time_fs": (k + 1) * every * dt,
                 "T_inst_K": temp, "start": source},
            )  # fmt: skip
            result.n_frames = k + 1
            if bar is not None:
                bar.update(1)
    if bar is not None:
        bar.close()
    result.mean_temperature = float(np.mean(temps)) if temps else float("nan")
    result.seconds = time.perf_counter() - t0
    return result


def label(
    source: str | Path,
    out: str | Path,
    *,
    oracle: str = "xtb",
    oracle_options: dict[str, Any] | None = None,
    progress: bool = True,
) -> SampleResult:
    """Label every frame of ``source`` with the oracle's energy, forces (and stress for periodic
    cells); append them to ``out`` (resumed if it exists).

    A frame the oracle cannot handle is reported in ``issues`` (1-based frame, reason) and
    skipped; the others are labelled. Each output frame records its ``source_frame``.
    """
    from ase.io import read

    source, out = Path(source), Path(out)
    if not source.is_file():
        raise InputError(f"{source}: no such file")
    t0 = time.perf_counter()
    try:
        frames = read(source, index=":")
    except Exception as exc:  # ASE raises many types for unreadable files
        raise InputError(f"{source}: cannot read structures ({exc})") from None
    if not frames:
        raise InputError(f"{source}: no frames")
    n_done = repair(out)
    first = 0
    if n_done:
        done = read_frames(out)
        first = max(int(f.info.get("source_frame", 0)) for f in done)
    calc = make_oracle(oracle, **(oracle_options or {}))
    result = SampleResult(out, n_done, n_done)
    bar = None
    if progress and first < len(frames):
        from tqdm.auto import tqdm

        bar = tqdm(total=len(frames), initial=first, unit="frame", file=sys.stderr, leave=False)
    with FrameWriter(out) as writer:
        for i in range(first, len(frames)):
            atoms = frames[i]
            try:
                check_supported(oracle, atoms)
                labels = evaluate(calc, atoms)
            except OracleError as exc:
                result.issues.append(
                    RowIssue(reason=str(exc), row=i + 1, source=str(source), input=f"frame {i + 1}")
                )
            else:
                plain = atoms.copy()
                plain.calc = None
                writer.write(plain, labels, {"source_frame": i + 1, "oracle": oracle})
                result.n_frames += 1
            if bar is not None:
                bar.update(1)
    if bar is not None:
        bar.close()
    result.seconds = time.perf_counter() - t0
    return result
