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


class Calculator(_ase_calculator_base()):  # type: ignore[misc]
    """ASE calculator of a fitted molfit potential.

    Args:
        model: a fitted geometric estimator (its ``models_`` are the committee members).
        dtype: ``"float32"`` (fast) or ``"float64"`` (for long NVE runs where float32 round-off
            would show in the energy drift).
        check_elements: refuse structures with elements absent from the training data.

    Results: ``energy``/``free_energy`` (eV), ``forces`` (eV/Å), ``stress`` (Voigt, eV/Å³, for
    periodic cells), ``energy_std``, ``forces_std`` (committee σ; zeros for a single model).
    """

    implemented_properties = ["energy", "free_energy", "forces", "stress"]  # noqa: RUF012

    def __init__(self, model: Any, *, dtype: str = "float32", check_elements: bool = True,
                 **kwargs: Any) -> None:  # fmt: skip
        import torch

        super().__init__(**kwargs)
        members = getattr(model, "models_", None)
        if not members:
            raise InputError(f"{type(model).__name__} is not a fitted molfit potential")
        if any(getattr(m, "readout", "sum") != "sum" for m in members):
            raise InputError("this model predicts a property, not an energy (readout is not 'sum')")
        if dtype not in ("float32", "float64"):
            raise InputError(f"dtype must be 'float32' or 'float64', got {dtype!r}")
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

    def _batch(self, atoms: Any) -> Any:
        import torch

        from molfit.structures import Batch3D

        n = len(atoms)
        periodic = bool(np.any(atoms.pbc))
        return Batch3D(
            numbers=torch.as_tensor(atoms.numbers, dtype=torch.int64),
            positions=torch.as_tensor(atoms.positions, dtype=self.torch_dtype),
            batch=torch.zeros(n, dtype=torch.int64),
            ptr=torch.tensor([0, n], dtype=torch.int64),
            cell=torch.as_tensor(np.asarray(atoms.cell[:]), dtype=self.torch_dtype)[None]
            if periodic
            else None,
            pbc=torch.as_tensor(np.asarray(atoms.pbc), dtype=torch.bool)[None]
            if periodic
            else None,
        )

    def calculate(self, atoms: Any = None, properties: Any = ("energy",),
                  system_changes: Any = None) -> None:  # fmt: skip
        from ase.calculators.calculator import all_changes

        super().calculate(
            atoms, properties, all_changes if system_changes is None else system_changes
        )
        atoms = self.atoms
        if self.check_elements and self.elements:
            unseen = sorted(set(int(z) for z in atoms.numbers) - self.elements)
            if unseen:
                from ase.data import chemical_symbols

                names = ", ".join(chemical_symbols[z] for z in unseen)
                raise InputError(
                    f"element(s) {names} never occur in this potential's training data; its "
                    "energies and forces would be meaningless"
                )
        periodic = bool(np.all(atoms.pbc)) and atoms.cell.rank == 3
        batch = self._batch(atoms)
        energies, forces, stresses = [], [], []
        for member in self.members:
            out = member(batch, compute_forces=True, compute_stress=periodic)
            energies.append(float(out["energy"].detach()[0]))
            forces.append(out["forces"].detach().double().numpy())
            if periodic:
                stresses.append(out["stress"].detach().double().numpy()[0])
        f = np.stack(forces)
        self.results = {
            "energy": float(np.mean(energies)),
            "free_energy": float(np.mean(energies)),
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
