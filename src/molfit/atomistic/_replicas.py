"""Batched molecular dynamics: ``N`` copies of a structure integrated together, one network call
per step for all of them.

A small molecule is too small to keep a CPU busy: most of an MD step of a 21-atom molecule is
per-operation overhead of the network, not arithmetic. Integrating ``N`` replicas (different
seeds, or different start frames) as one batch of ``N`` disconnected structures pays that
overhead once per step instead of ``N`` times, so the atom-steps per second grow with ``N``
until the arithmetic dominates.

The integrators are written here on whole ``(N, n_atoms, 3)`` arrays, in ASE's units (Å, eV,
amu, ASE time): velocity Verlet (``nve``) and Langevin by the BAOAB splitting (``langevin``;
for molecules the centre-of-mass velocity is removed after each random kick, as ``FixCom`` does
in :func:`molfit.atomistic.sample`). All replicas are written to one extxyz file, one frame per
replica every ``every`` steps, each tagged with its ``replica`` index; a killed run resumes
from the last step every replica completed (a partly written group of frames is cut off), and
Langevin's random numbers come from a generator seeded by ``(seed, replica, segment)``, so a
resumed run draws what an uninterrupted one would have.
"""

from __future__ import annotations

import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from molfit.atomistic._calculator import Calculator, VerletPairs
from molfit.atomistic._md import _check_same_run, summarize
from molfit.atomistic._trajectory import FrameWriter, read_frames, repair, truncate_frames
from molfit.errors import InputError

REPLICA_ENSEMBLES = ("nve", "langevin")


@dataclass
class ReplicaResult:
    """What :func:`run_replicas` did.

    Attributes:
        path: the trajectory file (all replicas, tagged ``replica``).
        n_replicas: replicas integrated together.
        n_frames: complete frames per replica now; ``n_resumed`` of them were there before.
        steps_per_second: MD steps per second of the whole batch (each step moves every replica).
        atom_steps_per_second: ``steps_per_second * n_replicas * n_atoms``.
        seconds: wall time of this run.
        mean_temperature, energy_drift, max_energy_change: per replica, as :func:`summarize`.
        stopped: why the run ended early (``""`` when it ran all its steps).
    """

    path: Path
    n_replicas: int
    n_frames: int
    n_resumed: int
    steps_per_second: float = float("nan")
    atom_steps_per_second: float = float("nan")
    seconds: float = 0.0
    mean_temperature: list[float] = field(default_factory=list)
    energy_drift: list[float] = field(default_factory=list)
    max_energy_change: list[float] = field(default_factory=list)
    stopped: str = ""


class BatchedPotential:
    """Energies and forces of ``N`` replicas of one structure in one call per committee member.

    Args:
        calculator: a :class:`~molfit.atomistic.Calculator` (its members, precision, skin and
            element check are used).
        numbers: ``(n_atoms,)`` atomic numbers, shared by the replicas.
        cell: ``(3, 3)`` Å and ``pbc`` ``(3,)`` for a periodic structure, else ``None``.
    """

    def __init__(
        self,
        calculator: Calculator,
        numbers: np.ndarray,
        n_replicas: int,
        cell: np.ndarray | None = None,
        pbc: np.ndarray | None = None,
    ) -> None:
        import torch

        self.calc = calculator
        self.numbers = np.asarray(numbers, dtype=np.int64)
        self.n_replicas = int(n_replicas)
        n = len(self.numbers)
        self.n_atoms = n
        self.periodic = cell is not None and pbc is not None and bool(np.any(pbc))
        self.cell = None if not self.periodic else np.asarray(cell, dtype=np.float64)
        self.pbc = None if not self.periodic else np.asarray(pbc, dtype=bool)
        self._numbers_t = torch.as_tensor(np.tile(self.numbers, self.n_replicas))
        self._batch_t = torch.repeat_interleave(torch.arange(self.n_replicas), n)
        self._ptr_t = torch.arange(self.n_replicas + 1, dtype=torch.int64) * n
        self.pairs = VerletPairs(calculator.cutoff, calculator.skin)

    def __call__(self, positions: np.ndarray) -> dict[str, np.ndarray]:
        """Committee-mean ``energy`` ``(N,)`` eV, ``forces`` ``(N, n_atoms, 3)`` eV/Å and their
        σ (``energy_std``, ``forces_std``) of ``positions`` ``(N, n_atoms, 3)`` Å."""
        import torch

        from molfit.structures import Batch3D

        flat = np.ascontiguousarray(positions, dtype=np.float64).reshape(-1, 3)
        pair_i, pair_j, shifts = self.pairs.get(flat, cell=self.cell, pbc=self.pbc,
                                                batch=self._batch_t)  # fmt: skip
        dtype = self.calc.torch_dtype
        cell = pbc = None
        if self.periodic:
            cell = torch.as_tensor(self.cell, dtype=dtype).expand(self.n_replicas, 3, 3)
            pbc = torch.as_tensor(self.pbc).expand(self.n_replicas, 3)
        batch = Batch3D(
            numbers=self._numbers_t,
            positions=torch.as_tensor(flat, dtype=dtype),
            batch=self._batch_t,
            ptr=self._ptr_t,
            cell=cell,
            pbc=pbc,
            pair_i=pair_i,
            pair_j=pair_j,
            shifts=shifts,
            cutoff=self.calc.cutoff + self.calc.skin,
        )
        energies, forces = [], []
        for member in self.calc.members:
            out = member(batch, compute_forces=True)
            energies.append(out["energy"].detach().numpy())
            forces.append(out["forces"].detach().double().numpy())
        e, f = np.stack(energies), np.stack(forces).reshape(len(forces), self.n_replicas, -1, 3)
        return {"energy": e.mean(0), "forces": f.mean(0), "energy_std": e.std(0),
                "forces_std": f.std(0)}  # fmt: skip


def _start_state(starts: list[Any], n_replicas: int, temperature: float, seed: int
                 ) -> tuple[np.ndarray, np.ndarray]:  # fmt: skip
    """Positions and momenta ``(N, n_atoms, 3)`` of the replicas: start frame ``r % len(starts)``,
    its own momenta when it has them, else Maxwell–Boltzmann seeded by ``(seed, r)``."""
    from ase.md.velocitydistribution import MaxwellBoltzmannDistribution, Stationary, ZeroRotation

    positions, momenta = [], []
    for r in range(n_replicas):
        atoms = starts[r % len(starts)].copy()
        if r >= len(starts) or not np.any(atoms.get_momenta()):
            MaxwellBoltzmannDistribution(
                atoms, temperature_K=temperature, rng=np.random.default_rng([seed, r, 0])
            )
            Stationary(atoms)
            if not atoms.pbc.any():
                ZeroRotation(atoms)
        positions.append(atoms.positions.copy())
        momenta.append(atoms.get_momenta().copy())
    return np.stack(positions), np.stack(momenta)


def run_replicas(
    starts: Any,
    calculator: Calculator,
    out: str | Path,
    *,
    n_replicas: int,
    ensemble: str = "nve",
    temperature: float = 300.0,
    dt: float = 0.5,
    steps: int = 1000,
    every: int = 10,
    friction: float = 0.01,
    seed: int = 0,
    max_force: float = 50.0,
    max_sigma: float | None = None,
    progress: bool = True,
) -> ReplicaResult:
    """Integrate ``n_replicas`` copies together for ``steps`` steps, one batched call per step.

    Args:
        starts: ASE ``Atoms`` or a list of them (same atoms in the same order); replica ``r``
            starts from ``starts[r % len(starts)]``; replicas beyond the given frames (or frames
            without momenta) draw Maxwell–Boltzmann velocities seeded by ``(seed, r)``.
        calculator: a molfit :class:`~molfit.atomistic.Calculator` (a committee gives σ).
        out: extxyz file of all replicas (tagged ``replica``); an existing one is resumed.
        n_replicas: ``N >= 1``.
        ensemble: ``nve`` (velocity Verlet) or ``langevin`` (BAOAB). temperature: K. dt: fs.
        friction: Langevin friction, 1/fs. max_force, max_sigma: eV/Å, stop conditions (any
            replica), as in :func:`molfit.atomistic.run_md`.

    Raises:
        InputError: bad settings, start frames that differ in their atoms, an element the
            potential never saw, or ``out`` holding another run.
    """
    from ase import units

    if ensemble not in REPLICA_ENSEMBLES:
        raise InputError(
            f"--replicas integrates {' or '.join(REPLICA_ENSEMBLES)}, not {ensemble!r}"
        )
    if n_replicas < 1 or steps < 1 or every < 1:
        raise InputError(
            f"--replicas, --steps and --every must be at least 1, got {n_replicas}, {steps}, "
            f"{every}"
        )
    if dt <= 0 or (ensemble != "nve" and temperature <= 0):
        raise InputError(f"--dt and --temperature must be positive, got {dt} and {temperature}")
    starts = [starts] if not isinstance(starts, (list, tuple)) else list(starts)
    first = starts[0]
    for k, atoms in enumerate(starts[1:], start=2):
        if len(atoms) != len(first) or (atoms.numbers != first.numbers).any():
            raise InputError(f"start frame {k} has other atoms than frame 1; replicas must match")
    calculator.check_numbers(first.numbers)
    out = Path(out)
    settings = {"ensemble": ensemble, "temperature_K": float(temperature), "every": every,
                "dt_fs": float(dt), "seed": seed, "n_replicas": n_replicas}  # fmt: skip
    n_stored = repair(out)
    if n_stored:  # check the file before touching it: it may hold another run
        last = read_frames(out, index=-1)[0]
        if "n_replicas" not in last.info:
            raise InputError(
                f"{out} holds frames of a single-replica run (no 'n_replicas' in its frames); "
                "choose another --out"
            )
        _check_same_run(out, last, settings, first)
    n_done = n_stored // n_replicas
    if n_stored:
        truncate_frames(out, n_done * n_replicas)  # a partly written group of frames goes
    masses = first.get_masses()[None, :, None]
    if n_done:
        frames = read_frames(out, index=slice(-n_replicas, None))
        positions = np.stack([f.positions for f in frames])
        momenta = np.stack([f.get_momenta() for f in frames])
    else:
        positions, momenta = _start_state(starts, n_replicas, temperature, seed)
    cell = np.asarray(first.cell[:]) if first.pbc.any() else None
    potential = BatchedPotential(calculator, first.numbers, n_replicas, cell, first.pbc)
    n_frames = steps // every
    result = ReplicaResult(out, n_replicas, n_done, n_done)
    if n_done >= n_frames:
        return _summarize(result, out, n_replicas)

    tau = dt * units.fs  # ASE time units
    kt = units.kB * temperature
    c1 = np.exp(-friction / units.fs * tau)
    c2 = np.sqrt((1.0 - c1 * c1) * kt / masses)  # velocity kick scale, Å per ASE time unit
    molecule = not first.pbc.any()
    v = momenta / masses
    state = potential(positions)
    bar = None
    if progress:
        from tqdm.auto import tqdm

        bar = tqdm(total=n_frames, initial=n_done, unit="frame", file=sys.stderr, leave=False)
    t0 = time.perf_counter()
    steps_run = 0
    with FrameWriter(out) as writer:
        for k in range(n_done, n_frames):
            rngs = [np.random.default_rng([seed, r, k + 1]) for r in range(n_replicas)]
            for _ in range(every):
                v = v + 0.5 * tau * state["forces"] / masses
                if ensemble == "nve":
                    positions = positions + tau * v
                else:  # BAOAB: half drift, random kick, half drift
                    positions = positions + 0.5 * tau * v
                    noise = np.stack([g.standard_normal(positions.shape[1:]) for g in rngs])
                    v = c1 * v + c2 * noise
                    if molecule:
                        com = (masses * v).sum(1, keepdims=True) / masses.sum()
                        v = v - com
                    positions = positions + 0.5 * tau * v
                state = potential(positions)
                v = v + 0.5 * tau * state["forces"] / masses
            steps_run += every
            energy, forces = state["energy"], state["forces"]
            fmax = np.abs(forces).reshape(n_replicas, -1).max(axis=1)
            bad = np.flatnonzero(~np.isfinite(energy) | ~np.isfinite(fmax) | (fmax > max_force))
            if bad.size:
                r = int(bad[0])
                result.stopped = (
                    f"replica {r}, frame {k + 1} (step {(k + 1) * every}): largest force "
                    f"{fmax[r]:.1f} eV/Å exceeds {max_force} eV/Å; the structure is breaking "
                    "apart (try a lower --temperature or --dt)"
                )
                break
            sigma = state["forces_std"].reshape(n_replicas, -1).max(axis=1)
            if max_sigma is not None and len(calculator.members) > 1 and sigma.max() > max_sigma:
                r = int(np.argmax(sigma))
                result.stopped = (
                    f"replica {r}, frame {k + 1} (step {(k + 1) * every}): committee σ of the "
                    f"forces {sigma[r]:.3f} eV/Å exceeds --max-sigma {max_sigma}; the structure "
                    "left the potential's training domain"
                )
                break
            frame = first.copy()
            frame.set_constraint()
            for r in range(n_replicas):
                frame.positions = positions[r]
                frame.set_momenta(masses[0] * v[r])
                e_kin = float(frame.get_kinetic_energy())
                info = {**settings, "replica": r, "step": (k + 1) * every,
                        "time_fs": (k + 1) * every * dt, "e_kin": e_kin,
                        "e_tot": float(energy[r]) + e_kin,
                        "T_inst_K": float(frame.get_temperature())}  # fmt: skip
                if len(calculator.members) > 1:
                    info["forces_std_max"] = float(sigma[r])
                writer.write(frame, {"energy": float(energy[r]), "forces": forces[r]}, info)
            result.n_frames = k + 1
            if bar is not None:
                bar.update(1)
    if bar is not None:
        bar.close()
    result.seconds = time.perf_counter() - t0
    if steps_run:
        result.steps_per_second = steps_run / result.seconds
        result.atom_steps_per_second = result.steps_per_second * n_replicas * len(first)
    return _summarize(result, out, n_replicas)


def _summarize(result: ReplicaResult, out: Path, n_replicas: int) -> ReplicaResult:
    if result.n_frames:
        frames = read_frames(out)
        for r in range(n_replicas):
            mine = [f for f in frames if int(f.info.get("replica", -1)) == r]
            temp, drift, change = summarize(mine)
            result.mean_temperature.append(temp)
            result.energy_drift.append(drift)
            result.max_energy_change.append(change)
    return result
