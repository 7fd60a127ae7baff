"""The potentials slide: molecular dynamics under a shipped molfit potential, in short chunks.

The page starts a session (:meth:`MDSessions.start`) and asks for a few steps at a time
(:meth:`MDSessions.advance`); each answer carries the frames to draw and the kinetic, potential
and total energy of every step. The server holds only the current state of a session (ASE
``Atoms`` with momenta, a Langevin integrator and a calculator), never its history, so memory per
session is a few kB; the number of sessions, the atoms per molecule and the steps per request are
capped (:data:`MAX_SESSIONS`, :data:`MAX_ATOMS`, :data:`MAX_STEPS`), and one lock serialises the
network calls so that a busy page cannot take more than one core.

:func:`time_oracle_vs_potential` times one GFN2-xTB call (``tblite``) against one call of the
potential on the same geometry, live on this machine.

Units: Å, eV, fs, K; σ is the committee's spread of the forces, eV/Å.
"""

from __future__ import annotations

import itertools
import secrets
import threading
import time
from collections import OrderedDict
from typing import Any

import numpy as np

from molfit.errors import InputError

MAX_SESSIONS = 4
MAX_ATOMS = 40
MAX_STEPS = 200
DT_FS = 0.5
FRICTION_PER_FS = 0.02
MIN_T, MAX_T = 0.0, 2000.0
KB_EV = 8.617333262e-5  # Boltzmann constant, eV/K (CODATA 2018)

#: covalent radii (Å) for drawing bonds: a bond where d < 1.2 (r_i + r_j)
_RADII = {1: 0.31, 5: 0.84, 6: 0.76, 7: 0.71, 8: 0.66, 9: 0.57, 14: 1.11, 15: 1.07, 16: 1.05,
          17: 1.02, 35: 1.20, 53: 1.39}  # fmt: skip

#: one lock for every network call of the primer's potential demos: at most one core busy
COMPUTE_LOCK = threading.Lock()


def bonds_of(numbers: np.ndarray, positions: np.ndarray) -> list[list[int]]:
    """Pairs ``[i, j]`` (i < j) closer than 1.2 × the sum of their covalent radii (for drawing)."""
    out = []
    for i, j in itertools.combinations(range(len(numbers)), 2):
        limit = 1.2 * (_RADII.get(int(numbers[i]), 1.5) + _RADII.get(int(numbers[j]), 1.5))
        if float(np.linalg.norm(positions[i] - positions[j])) < limit:
            out.append([i, j])
    return out


def symbols_of(numbers: np.ndarray) -> list[str]:
    """Element symbols of atomic numbers."""
    from ase.data import chemical_symbols

    return [chemical_symbols[int(z)] for z in numbers]


def molecule_atoms(smiles: str, *, seed: int = 0) -> Any:
    """ASE ``Atoms`` of a SMILES: the lowest ETKDGv3 + MMFF94 conformer (seeded), hydrogens
    included, atoms in RDKit order.

    Raises:
        InputError: unparseable SMILES, a molecule that cannot be embedded, or more than
            :data:`MAX_ATOMS` atoms.
    """
    from ase import Atoms

    from molfit.chem import parse_smiles
    from molfit.structures import conformer_geometry

    mol = parse_smiles(smiles)
    numbers, positions = conformer_geometry(mol, seed=seed)
    if len(numbers) > MAX_ATOMS:
        raise InputError(f"{smiles}: {len(numbers)} atoms; the live demo takes at most {MAX_ATOMS}")
    return Atoms(numbers=numbers, positions=positions)


def point(calculator: Any, atoms: Any) -> dict[str, Any]:
    """Energy (eV), forces (eV/Å) and per-atom committee σ of the forces (eV/Å, the norm of
    each atom's per-component spread) of ``atoms`` under ``calculator``.

    Raises:
        InputError: an element the potential never saw.
    """
    calculator.check_numbers(atoms.numbers)
    with COMPUTE_LOCK:
        calculator.calculate(atoms.copy(), ["energy", "forces"])
        res = dict(calculator.results)
    return {
        "energy": float(res["energy"]),
        "forces": np.asarray(res["forces"], dtype=np.float64),
        "sigma": np.linalg.norm(np.asarray(res["forces_std"], dtype=np.float64), axis=1),
    }


class MDSession:
    """Langevin dynamics of one molecule under one potential (see the module docstring).

    Args:
        model: the fitted potential (a committee: its σ is shown per atom).
        atoms: start structure (copied).
        temperature: K, of the thermostat and of the start velocities.
        seed: seeds the start velocities and the Langevin random forces.
    """

    def __init__(self, model: Any, atoms: Any, temperature: float, seed: int = 0) -> None:
        from ase.md.langevin import Langevin
        from ase.md.velocitydistribution import MaxwellBoltzmannDistribution, Stationary
        from ase.units import fs

        from molfit.atomistic import Calculator

        self.calculator = Calculator(model)
        self.calculator.check_numbers(atoms.numbers)
        self.atoms = atoms.copy()
        self.atoms.calc = self.calculator
        self.temperature = _temperature(temperature)
        rng = np.random.default_rng(seed)
        MaxwellBoltzmannDistribution(self.atoms, temperature_K=self.temperature, rng=rng)
        Stationary(self.atoms)
        self.dyn = Langevin(
            self.atoms,
            timestep=DT_FS * fs,
            temperature_K=self.temperature,
            friction=FRICTION_PER_FS / fs,
            fixcm=False,
            rng=rng,
        )
        self.step = 0
        self.lock = threading.Lock()
        self.last_used = time.monotonic()

    def state(self) -> dict[str, Any]:
        """Energies (eV), temperature (K), positions (Å) and per-atom σ (eV/Å) now."""
        with COMPUTE_LOCK:
            e_pot = float(self.atoms.get_potential_energy())
            res = self.calculator.results
            sigma = np.linalg.norm(res["forces_std"], axis=1)
            forces = np.asarray(res["forces"], dtype=np.float64)
        e_kin = float(self.atoms.get_kinetic_energy())
        n = len(self.atoms)
        return {
            "step": self.step,
            "time_fs": self.step * DT_FS,
            "e_kin": e_kin,
            "e_pot": e_pot,
            "e_tot": e_kin + e_pot,
            "T": 2.0 * e_kin / (3.0 * n * KB_EV),
            "positions": self.atoms.positions.tolist(),
            "forces": forces.tolist(),
            "sigma": sigma.tolist(),
        }

    def advance(self, steps: int, temperature: float | None = None) -> list[dict[str, Any]]:
        """Run ``steps`` Langevin steps (at ``temperature`` K when given) and return the state
        after each.

        Raises:
            InputError: ``steps`` outside 1..:data:`MAX_STEPS` or a temperature outside
                0..2000 K; a force beyond 50 eV/Å (the molecule is flying apart).
        """
        if not 1 <= steps <= MAX_STEPS:
            raise InputError(f"steps must be between 1 and {MAX_STEPS}, got {steps}")
        with self.lock:
            self.last_used = time.monotonic()
            if temperature is not None:
                self.temperature = _temperature(temperature)
                self.dyn.set_temperature(temperature_K=self.temperature)
            out = []
            for _ in range(steps):
                with COMPUTE_LOCK:
                    self.dyn.run(1)
                self.step += 1
                s = self.state()
                if max(np.linalg.norm(s["forces"], axis=1)) > 50.0:
                    raise InputError(
                        f"step {self.step}: a force beyond 50 eV/Å, the molecule is flying "
                        "apart; restart at a lower temperature"
                    )
                out.append(s)
            return out


def _temperature(value: float) -> float:
    value = float(value)
    if not MIN_T <= value <= MAX_T:
        raise InputError(f"temperature must be between {MIN_T:g} and {MAX_T:g} K, got {value}")
    return value


class MDSessions:
    """At most :data:`MAX_SESSIONS` MD sessions; the least recently used one is dropped first."""

    def __init__(self, max_sessions: int = MAX_SESSIONS) -> None:
        self.max_sessions = max_sessions
        self._sessions: OrderedDict[str, MDSession] = OrderedDict()
        self._lock = threading.Lock()

    def start(self, model: Any, atoms: Any, temperature: float, seed: int = 0) -> str:
        """A new session's id (dropping the least recently used one when full)."""
        session = MDSession(model, atoms, temperature, seed)
        sid = secrets.token_hex(8)
        with self._lock:
            self._sessions[sid] = session
            while len(self._sessions) > self.max_sessions:
                self._sessions.popitem(last=False)
        return sid

    def get(self, sid: str) -> MDSession:
        """The session ``sid``.

        Raises:
            InputError: no such session (it may have been dropped for a newer one).
        """
        with self._lock:
            session = self._sessions.get(str(sid))
            if session is None:
                raise InputError("no such MD session (it expired): press restart")
            self._sessions.move_to_end(str(sid))
            return session

    def __len__(self) -> int:
        return len(self._sessions)


ORACLE_NAMES = {"xtb": "GFN2-xTB (tblite)", "dft": "DFT B3LYP/def2-SVP (pyscf)"}


def time_oracle_vs_potential(model: Any, atoms: Any, oracle: str = "xtb") -> dict[str, Any]:
    """Wall time of one oracle call and of one potential call (energy and forces) on ``atoms``,
    on this machine, now.

    The potential and xTB: best of 3 calls after one warm-up call each (each call on a new
    geometry, 1e-6 Å apart, so nothing cached is reused). DFT: one call of a fresh calculator
    (no density guess from an earlier call), since one costs seconds.

    Returns:
        ``oracle`` (its name), ``oracle_ms``, ``potential_ms``, ``ratio`` (oracle / potential),
        ``n_atoms``, the oracle's and the potential's energy (eV; they differ by the potential's
        per-element reference energies and the oracle's own zero).

    Raises:
        InputError: an unknown oracle, its package not installed (the message says what to
            install), or the oracle failed on this structure.
    """
    from molfit.atomistic import Calculator, OracleError, evaluate, make_oracle

    key = str(oracle).lower()
    if key not in ORACLE_NAMES:
        raise InputError(f"oracle must be one of {', '.join(ORACLE_NAMES)}, got {oracle!r}")
    calculator = Calculator(model)
    calculator.check_numbers(atoms.numbers)
    make_oracle(key)  # raises InputError when its package is missing

    def best(make: Any, repeats: int, warm_up: bool) -> tuple[float, float]:
        times, energy = [], float("nan")
        calc = make()
        for k in range(repeats + int(warm_up)):
            probe = atoms.copy()
            probe.positions[0, 0] += 1e-6 * k  # a new geometry: no cached result is reused
            if not warm_up:
                calc = make()
            t0 = time.perf_counter()
            energy = evaluate(calc, probe, stress=False)["energy"]
            if k or not warm_up:
                times.append(time.perf_counter() - t0)
        return 1e3 * min(times), energy

    try:
        with COMPUTE_LOCK:
            potential_ms, potential_e = best(lambda: calculator, 3, True)
            if key == "xtb":
                oracle_ms, oracle_e = best(lambda: make_oracle("xtb"), 3, True)
            else:
                oracle_ms, oracle_e = best(lambda: make_oracle("dft"), 1, False)
    except OracleError as exc:
        raise InputError(f"the {key} oracle failed on this structure: {exc}") from None
    return {
        "oracle": ORACLE_NAMES[key],
        "oracle_key": key,
        "oracle_ms": oracle_ms,
        "potential_ms": potential_ms,
        "ratio": oracle_ms / potential_ms,
        "n_atoms": len(atoms),
        "oracle_energy": oracle_e,
        "potential_energy": potential_e,
    }
