"""One deployable atomistic model: a representation plus output modules, forces and stress inside.

:class:`AtomisticModel` maps a :class:`~molfit.structures.Batch3D` to a dict keyed by
:mod:`molfit.keys` names: ``energy`` ``(n,)`` eV, ``forces`` ``(n_atoms, 3)`` eV/Å and ``stress``
``(n, 3, 3)`` eV/Å^3, per-atom ``energies`` ``(n_atoms,)`` eV on request, plus ``targets``
``(n, n_outputs)`` for every readout. Everything that turns the network's per-atom numbers into
physical quantities lives in the module and is saved with its state dict: the per-atom scale
and shift, the per-element reference energies (a float64 buffer, summed in float64 so totals of
10^4 eV keep meV resolution) and the autograd derivatives.

Forces and stress are computed in one place, as SchNetPack and MACE do: a symmetric strain ``ε``
``(n, 3, 3)`` (zero) is applied to positions and cell, ``r' = r (1 + ε)``, ``cell' = cell (1 + ε)``,
the energy is computed from the strained geometry and ``F = -dE/dr``, ``σ = (1/V) dE/dε`` follow
from one backward pass (ASE's sign convention: a stretched cell that pulls back has positive
diagonal stress).
"""

from __future__ import annotations

import dataclasses
from typing import Any, Literal

import numpy as np
import torch
from torch import Tensor, nn

from molfit.keys import ENERGIES, ENERGY, FORCES, STRESS, TARGETS
from molfit.nn.atomistic._atomistic import Atomwise

READOUTS = ("sum", "mean", "dipole")
E_ANGSTROM_IN_DEBYE = 4.803204544  # 1 e·Å in Debye (CODATA 2018)
MAX_Z = 118


class ScalarFeatures(nn.Module):
    """Calls a representation (:class:`~molfit.nn.atomistic.SchNet`, ``PaiNN``, ``DimeNetPP``)
    with ``(numbers, neighbour list)`` and returns its per-atom scalar features
    ``(n_atoms, n_features)`` (PaiNN's vectors are dropped)."""

    def __init__(self, net: nn.Module) -> None:
        super().__init__()
        self.net = net

    def forward(self, numbers: Tensor, nl: Any) -> Tensor:
        out = self.net(numbers, nl)
        return out[0] if isinstance(out, tuple) else out


class AtomisticModel(nn.Module):
    """Representation + atomwise outputs + per-element references + forces/stress by autograd.

    Args:
        representation: ``(numbers (n_atoms,), NeighborList) -> (n_atoms, n_features)``
            (e.g. :class:`ScalarFeatures` around SchNet).
        n_features: width of those features.
        cutoff: Å, neighbour cutoff of the representation.
        n_outputs: per-structure outputs (1 for an energy; several QM9 targets share a model).
        readout: ``"sum"`` (extensive: energies; the first output is ``energy``), ``"mean"``
            (intensive: HOMO, gap) or ``"dipole"`` (``|Σ q_i r_i|`` in Debye from neutralised
            per-atom charges).
        atom_scale, atom_shift: ``(n_outputs,)`` per-atom scale and shift of the head outputs
            (target units per atom).
        references: ``(MAX_Z + 1, n_outputs)`` per-element reference values (eV), added per atom
            in float64 (``"sum"`` only; ``None``: zeros).
        activation: of the readout MLPs, ``"ssp"`` or ``"silu"``.
        compute_forces, compute_stress: default flags of :meth:`forward`.
    """

    def __init__(
        self,
        representation: nn.Module,
        n_features: int,
        *,
        cutoff: float,
        n_outputs: int = 1,
        readout: Literal["sum", "mean", "dipole"] = "sum",
        atom_scale: Any = None,
        atom_shift: Any = None,
        references: Any = None,
        activation: Literal["ssp", "silu"] = "ssp",
        compute_forces: bool = False,
        compute_stress: bool = False,
    ) -> None:
        super().__init__()
        if readout not in READOUTS:
            raise ValueError(f"readout must be one of {READOUTS}, got {readout!r}")
        self.representation = representation
        self.cutoff = float(cutoff)
        self.readout = readout
        self.compute_forces = bool(compute_forces)
        self.compute_stress = bool(compute_stress)
        n_out = 1 if readout == "dipole" else int(n_outputs)
        self.n_outputs = n_out
        scale = torch.ones(n_out) if atom_scale is None else torch.as_tensor(atom_scale)
        shift = torch.zeros(n_out) if atom_shift is None else torch.as_tensor(atom_shift)
        scale, shift = scale.reshape(n_out), shift.reshape(n_out)
        aggregation = "sum" if readout == "dipole" else readout
        self.heads = nn.ModuleList(
            Atomwise(
                n_features,
                aggregation=aggregation,
                mean=0.0 if readout == "dipole" else float(shift[t]),
                std=float(scale[t]),
                activation=activation,
            )
            for t in range(n_out)
        )
        refs = torch.zeros(MAX_Z + 1, n_out, dtype=torch.float64)
        if references is not None:
            given = torch.as_tensor(np.asarray(references, dtype=np.float64))
            refs[: given.shape[0]] = given.reshape(given.shape[0], n_out)
        self.register_buffer("references", refs)

    def _apply(self, fn: Any, recurse: bool = True) -> AtomisticModel:
        """As :meth:`nn.Module._apply`, but ``references`` stays float64 (only its device moves)
        under ``.to(dtype)``, ``.float()``, ``.half()``."""
        refs = self._buffers.pop("references")
        try:
            super()._apply(fn, recurse)
        finally:
            device = next(self.parameters()).device
            self._buffers["references"] = refs.to(device=device, dtype=torch.float64)
        return self

    def reference_sums(self, numbers: Tensor, batch: Tensor, n_structures: int) -> Tensor:
        """``(n_structures, n_outputs)`` float64 sum of the reference values of each structure."""
        per_atom = self.references[numbers]
        out = per_atom.new_zeros(n_structures, self.n_outputs)
        return out.index_add(0, batch, per_atom)

    def forward(
        self,
        batch: Any,
        *,
        compute_forces: bool | None = None,
        compute_stress: bool | None = None,
        per_atom: bool = False,
    ) -> dict[str, Tensor]:
        """Outputs of a :class:`~molfit.structures.Batch3D`.

        Args:
            batch: the structures (positions Å; cell Å and pbc for periodic ones).
            compute_forces, compute_stress: override the model's flags for this call.
            per_atom: also return ``"energies"`` ``(n_atoms,)`` eV (float64), each atom's share
                of the energy (its reference energy included); they sum to ``"energy"``.

        Returns:
            ``{"targets": (n, n_outputs)}`` float64 in target units; with ``readout="sum"`` also
            ``"energy": (n,)`` eV (float64); ``"forces": (n_atoms, 3)`` eV/Å and
            ``"stress": (n, 3, 3)`` eV/Å^3 when asked (``NaN`` for a non-periodic structure).
            In training mode the derivatives keep their graph, so a force loss backpropagates.

        Raises:
            ValueError: forces or stress asked of a non-energy readout, stress of a batch
                without cells.
        """
        want_f = self.compute_forces if compute_forces is None else compute_forces
        want_s = self.compute_stress if compute_stress is None else compute_stress
        if (want_f or want_s or per_atom) and self.readout != "sum":
            raise ValueError(
                "forces, stress and per-atom energies need an energy model (readout='sum')"
            )
        if want_s and batch.cell is None:
            raise ValueError("stress needs periodic structures (a batch with cells)")
        positions, cell = batch.positions, batch.cell
        grad_inputs: list[Tensor] = []
        if want_f and not positions.requires_grad:
            positions = positions.detach().clone().requires_grad_(True)
        if want_f:
            grad_inputs.append(positions)
        strain = None
        if want_s:
            strain = positions.new_zeros(batch.n_structures, 3, 3).requires_grad_(True)
            sym = 0.5 * (strain + strain.transpose(1, 2))
            positions = positions + torch.einsum("ai,aij->aj", positions, sym[batch.batch])
            cell = cell + torch.bmm(cell, sym)
            grad_inputs.append(strain)
        geometry = dataclasses.replace(batch, positions=positions, cell=cell)
        with torch.set_grad_enabled(torch.is_grad_enabled() or bool(grad_inputs)):
            out, atom_energies = self._readout(geometry, per_atom=per_atom)
            result = {TARGETS: out}
            if atom_energies is not None:
                result[ENERGIES] = atom_energies
            if self.readout == "sum":
                result[ENERGY] = out[:, 0]
            if grad_inputs:
                grads = torch.autograd.grad(
                    out[:, 0].sum(),
                    grad_inputs,
                    create_graph=self.training,
                    allow_unused=True,
                )
                grads = [
                    torch.zeros_like(x) if g is None else g
                    for g, x in zip(grads, grad_inputs, strict=True)
                ]
                if want_f:
                    result[FORCES] = -grads[0]
                if want_s:
                    volume = torch.linalg.det(batch.cell).abs()
                    safe = torch.where(volume > 0, volume, torch.ones_like(volume))
                    stress = grads[-1] / safe[:, None, None]
                    result[STRESS] = torch.where(
                        (volume > 0)[:, None, None], stress, torch.full_like(stress, float("nan"))
                    )
        return result

    def _readout(self, batch: Any, per_atom: bool = False) -> tuple[Tensor, Tensor | None]:
        """``(n, n_outputs)`` float64 outputs and, with ``per_atom``, the ``(n_atoms,)`` float64
        per-atom energies (first output, references included)."""
        nl = batch.neighbors(self.cutoff)
        features = self.representation(batch.numbers, nl)
        n, index = batch.n_structures, batch.batch
        if self.readout == "sum" and per_atom:
            numbers = batch.numbers
            atoms = torch.stack([h.per_atom(features, numbers) for h in self.heads], dim=1)
            atoms = atoms.double() + self.references[numbers]
            out = atoms.new_zeros(n, self.n_outputs).index_add(0, index, atoms)
            return out, atoms[:, 0]
        if self.readout != "dipole":
            out = torch.stack(
                [head(features, batch.numbers, index, n) for head in self.heads], dim=1
            ).double()
            if self.readout == "sum":
                out = out + self.reference_sums(batch.numbers, index, n)
            return out, None
        # dipole: per-atom charges made neutral per molecule, then |sum_i q_i r_i| in Debye
        head = self.heads[0]
        charges = head.mlp(features).squeeze(-1) * head.std
        counts = batch.n_atoms.to(charges.dtype)
        total = charges.new_zeros(n).index_add(0, index, charges)
        charges = charges - (total / counts)[index]
        moment = charges.unsqueeze(-1) * batch.positions
        dipole = batch.positions.new_zeros(n, 3).index_add(0, index, moment)
        magnitude = torch.sqrt((dipole * dipole).sum(-1, keepdim=True) + 1e-12)
        return (magnitude * E_ANGSTROM_IN_DEBYE).double(), None
