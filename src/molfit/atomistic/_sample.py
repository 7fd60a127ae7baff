"""Labelled structures from real oracles: ``molfit label`` (single points) and ``molfit sample``
(oracle-driven Langevin dynamics), both written frame by frame and resumable after a kill.

Resuming. Both verbs repair the output first (:func:`molfit.atomistic.repair` cuts off a frame
that a kill left half written) and carry on after the last complete frame: ``label`` from the
input frame after the last one labelled (``source_frame`` in each output frame), ``sample`` from
the positions and momenta of the last frame (see :func:`molfit.atomistic.run_md`).
"""

from __future__ import annotations

import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from molfit.atomistic._md import MDResult, run_md
from molfit.atomistic._oracles import OracleError, check_supported, evaluate, make_oracle
from molfit.atomistic._trajectory import FrameWriter, read_frames, repair
from molfit.errors import InputError, RowIssue


@dataclass
class LabelResult:
    """What :func:`label` did.

    Attributes:
        path: the output extxyz file.
        n_frames: complete frames in it now; ``n_resumed`` of them were there before this run.
        issues: frames that could not be labelled, by 1-based input frame.
        seconds: wall time of this run.
    """

    path: Path
    n_frames: int
    n_resumed: int
    issues: list[RowIssue] = field(default_factory=list)
    seconds: float = 0.0


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
) -> MDResult:
    """Langevin MD driven by an oracle: one labelled frame (energy, forces) every ``every`` steps.

    Args:
        start: structure file or SMILES (see :func:`start_structure`).
        out: extxyz file; frames are appended as they come, an existing file is resumed.
        oracle: ``xtb``, ``dft`` or ``emt``; ``oracle_options`` go to :func:`make_oracle`.
        temperature: K, of the thermostat and of the initial Maxwell–Boltzmann velocities.
        steps: MD steps in total (``steps // every`` frames). dt: fs. friction: 1/fs.
        seed: seeds the initial velocities and the random forces.
        max_force: eV/Å; a larger force stops the run, keeping the frames so far.

    Raises:
        InputError: bad start structure or settings, an element the oracle cannot handle, or
            ``out`` holds another run's frames.
    """
    from ase.constraints import FixCom

    atoms, source = start_structure(start, conformer_seed=conformer_seed)
    try:
        check_supported(oracle, atoms)
    except OracleError as exc:
        raise InputError(f"{start}: {exc}") from None
    atoms.set_constraint(FixCom())  # Langevin's random forces must not make the molecule drift
    return run_md(
        atoms,
        make_oracle(oracle, **(oracle_options or {})),
        out,
        ensemble="langevin",
        temperature=temperature,
        dt=dt,
        steps=steps,
        every=every,
        friction=friction,
        seed=seed,
        max_force=max_force,
        extra_info={"oracle": oracle, "start": source},
        progress=progress,
    )


def label(
    source: str | Path,
    out: str | Path,
    *,
    oracle: str = "xtb",
    oracle_options: dict[str, Any] | None = None,
    progress: bool = True,
) -> LabelResult:
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
    result = LabelResult(out, n_done, n_done)
    bar = None
    if progress and first < len(frames):
        from tqdm.auto import tqdm

        bar = tqdm(total=len(frames), initial=first, unit="frame", file=sys.stderr, leave=False)
    with FrameWriter(out) as writer:
        for i in range(first, len(frames)):
            atoms = frames[i]
            try:
                check_supported(oracle, atoms, calc)
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
