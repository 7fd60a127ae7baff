"""A trained molfit potential as an ASE calculator: energies, forces, stress and committee σ.

``Calculator(model)`` takes a fitted geometric estimator (``schnet``, ``painn``, ``dimenet++``,
``equivariant`` trained with ``readout="sum"``) or :func:`load_calculator` takes a run or model
directory. Every call builds one batch from the ASE ``Atoms`` and runs each committee member
(ensemble member) once with forces (and, for periodic cells, stress) by autograd; the results are
the committee mean, plus ``energy_std`` (eV) and ``forces_std`` (eV/Å, per atom and component)
when there are several members. It plugs into every ASE optimiser and integrator, and into
:func:`molfit.atomistic.run_md`, which stops a run when ``forces_std`` passes ``--max-sigma``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from molfit.errors import InputError


def _ase_calculator_base() -> type:
    from ase.calculators.calculator import Calculator as AseCalculator

    return AseCalculator


class VerletPairs:
    """Pair indices and lattice shifts within ``cutoff + skin`` Å, reused until an atom has moved
    more than ``skin / 2`` or the ``key`` (numbers, cell, pbc...) changed; ``skin=0`` rebuilds at
    every call. Only the indices are cached: callers recompute the pair vectors from the
    positions, so results equal those of a fresh list. ``n_builds`` counts the rebuilds."""

    def __init__(self, cutoff: float, skin: float) -> None:
        self.cutoff, self.skin = float(cutoff), float(skin)
        self.n_builds = 0
        self._cached: tuple[np.ndarray, tuple[np.ndarray, ...], tuple[Any, Any, Any]] | None = None

    def get(self, positions: Any, *, cell: Any = None, pbc: Any = None, batch: Any = None,
            key: tuple[Any, ...] = ()) -> tuple[Any, Any, Any]:  # fmt: skip
        """``(i, j, shifts)`` for ``positions`` ``(n_atoms, 3)`` Å (``batch``: structure of each
        atom; ``cell``/``pbc`` as :func:`molfit.structures.neighbor_list`)."""
        import torch

        from molfit.structures import neighbor_list

        positions = np.array(positions, dtype=np.float64)  # a copy: the reference positions
        key = tuple(np.array(k) for k in key)
        if self._cached is not None and self.skin > 0:
            ref, old_key, pairs = self._cached
            same = len(old_key) == len(key) and all(
                a.shape == b.shape and np.array_equal(a, b)
                for a, b in zip(old_key, key, strict=True)
            )
            if same and ref.shape == positions.shape:
                moved = np.sqrt(((positions - ref) ** 2).sum(axis=1)).max(initial=0.0)
                if moved <= 0.5 * self.skin:
                    return pairs
        with torch.no_grad():
            nl = neighbor_list(
                torch.from_numpy(positions),
                self.cutoff + self.skin,
                cell=None if cell is None else torch.as_tensor(cell, dtype=torch.float64),
                pbc=None if pbc is None else torch.as_tensor(pbc),
                batch=batch,
            )
        self._cached = (positions, key, (nl.i, nl.j, nl.shifts))
        self.n_builds += 1
        return nl.i, nl.j, nl.shifts


class Calculator(_ase_calculator_base()):  # type: ignore[misc]
    """ASE calculator of a fitted molfit potential.

    Args:
        model: a fitted geometric estimator (its ``models_`` are the committee members).
        dtype: ``"float32"`` (fast) or ``"float64"`` (for long NVE runs where float32 round-off
            would show in the energy drift).
        check_elements: refuse structures with elements absent from the training data.
        skin: Å, Verlet skin of the neighbour list: pairs are found within ``cutoff + skin``
            and reused until an atom has moved more than ``skin / 2`` (or the cell, the
            periodicity or the atoms change); the pair vectors are recomputed every call, so
            results equal those of a fresh list. ``0`` rebuilds the list on every call.

    Results: ``energy``/``free_energy`` (eV), ``energies`` (per atom, eV, summing to the energy),
    ``forces`` (eV/Å), ``stress`` (Voigt, eV/Å³, for periodic cells), ``energy_std``,
    ``forces_std`` (committee σ per atom and component, eV/Å; zeros for a single model).
    ``n_neighbor_builds`` counts how often the pair list was rebuilt.
    """

    implemented_properties = ["energy", "free_energy", "energies", "forces", "stress"]  # noqa: RUF012

    def __init__(self, model: Any, *, dtype: str = "float32", check_elements: bool = True,
                 skin: float = 0.5, **kwargs: Any) -> None:  # fmt: skip
        import torch

        super().__init__(**kwargs)
        members = getattr(model, "models_", None)
        if not members:
            raise InputError(f"{type(model).__name__} is not a fitted molfit potential")
        if any(getattr(m, "readout", "sum") != "sum" for m in members):
            raise InputError("this model predicts a property, not an energy (readout is not 'sum')")
        if dtype not in ("float32", "float64"):
            raise InputError(f"dtype must be 'float32' or 'float64', got {dtype!r}")
        if not skin >= 0:
            raise InputError(f"skin must be >= 0 Å, got {skin}")
        import copy

        self.torch_dtype = getattr(torch, dtype)
        # a copy when the precision changes: the estimator's own members stay as they are
        self.members = [
            (m if next(m.parameters()).dtype == self.torch_dtype else copy.deepcopy(m))
            .to(self.torch_dtype)
            .eval()
            for m in members
        ]
        self.elements = {int(z) for z in getattr(model, "elements_", [])}
        self.check_elements = check_elements
        self.cutoff = float(self.members[0].cutoff)
        self.skin = float(skin)
        self.pairs = VerletPairs(self.cutoff, self.skin)

    @property
    def n_neighbor_builds(self) -> int:
        """How often the pair list was rebuilt."""
        return self.pairs.n_builds

    def check_numbers(self, numbers: Any) -> None:
        """Refuse atomic numbers absent from the training data (when ``check_elements``).

        Raises:
            InputError: naming the unseen elements.
        """
        if not (self.check_elements and self.elements):
            return
        unseen = sorted(set(int(z) for z in numbers) - self.elements)
        if unseen:
            from ase.data import chemical_symbols

            names = ", ".join(chemical_symbols[z] for z in unseen)
            raise InputError(
                f"element(s) {names} never occur in this potential's training data; its "
                "energies and forces would be meaningless"
            )

    def check_state(self, atoms: Any, tol: float = 1e-15) -> list[str]:
        """What changed since the last calculation (exact comparison of numbers, positions,
        cell and periodicity: the only inputs of the potential; cheaper than ASE's generic
        check, which is a tenth of an MD step for a small molecule)."""
        old = self.atoms
        if old is None:
            from ase.calculators.calculator import all_changes

            return list(all_changes)
        changes = []
        if len(old) != len(atoms) or not np.array_equal(old.numbers, atoms.numbers):
            changes += ["numbers", "positions"]
        elif not np.array_equal(old.positions, atoms.positions):
            changes.append("positions")
        if not np.array_equal(old.cell.array, atoms.cell.array):
            changes.append("cell")
        if not np.array_equal(old.pbc, atoms.pbc):
            changes.append("pbc")
        return changes

    def _batch(self, atoms: Any) -> Any:
        import torch

        from molfit.structures import Batch3D

        n = len(atoms)
        periodic = bool(np.any(atoms.pbc))
        cell = np.asarray(atoms.cell[:], dtype=np.float64) if periodic else None
        pbc = np.asarray(atoms.pbc) if periodic else None
        pair_i, pair_j, shifts = self.pairs.get(
            atoms.positions, cell=cell, pbc=pbc, key=(atoms.numbers, atoms.cell[:], atoms.pbc)
        )
        return Batch3D(
            numbers=torch.as_tensor(atoms.numbers, dtype=torch.int64),
            positions=torch.as_tensor(atoms.positions, dtype=self.torch_dtype),
            batch=torch.zeros(n, dtype=torch.int64),
            ptr=torch.tensor([0, n], dtype=torch.int64),
            cell=None if cell is None else torch.as_tensor(cell, dtype=self.torch_dtype)[None],
            pbc=None if pbc is None else torch.as_tensor(pbc, dtype=torch.bool)[None],
            pair_i=pair_i,
            pair_j=pair_j,
            shifts=shifts,
            cutoff=self.cutoff + self.skin,
        )

    def calculate(self, atoms: Any = None, properties: Any = ("energy",),
                  system_changes: Any = None) -> None:  # fmt: skip
        from ase.calculators.calculator import all_changes

        super().calculate(
            atoms, properties, all_changes if system_changes is None else system_changes
        )
        atoms = self.atoms
        self.check_numbers(atoms.numbers)
        # stress costs a second derivative path: only when asked (NPT, cell relaxation)
        periodic = bool(np.all(atoms.pbc)) and atoms.cell.rank == 3 and "stress" in properties
        batch = self._batch(atoms)
        energies, atom_energies, forces, stresses = [], [], [], []
        for member in self.members:
            out = member(batch, compute_forces=True, compute_stress=periodic, per_atom=True)
            energies.append(float(out["energy"].detach()[0]))
            atom_energies.append(out["energies"].detach().numpy())
            forces.append(out["forces"].detach().double().numpy())
            if periodic:
                stresses.append(out["stress"].detach().double().numpy()[0])
        f = np.stack(forces)
        self.results = {
            "energy": float(np.mean(energies)),
            "free_energy": float(np.mean(energies)),
            "energies": np.mean(atom_energies, axis=0),
            "forces": f.mean(axis=0),
            "energy_std": float(np.std(energies)),
            "forces_std": f.std(axis=0),
        }
        if periodic:
            from ase.stress import full_3x3_to_voigt_6_stress

            self.results["stress"] = full_3x3_to_voigt_6_stress(np.mean(stresses, axis=0))


def load_calculator(path: str | Path, **options: Any) -> Calculator:
    """The potential of a run directory (or a model directory) as an ASE calculator.

    Raises:
        InputError: no such directory, not a saved potential, or files that fail their check.
    """
    from molfit.models import load_model

    path = Path(path)
    if not path.is_dir():
        raise InputError(f"{path}: no such run or model directory")
    model_dir = path / "model" if (path / "model").is_dir() else path
    return Calculator(load_model(model_dir), **options)
