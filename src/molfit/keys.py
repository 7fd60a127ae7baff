"""Names of the properties structures carry and atomistic models predict, with their units.

One spelling everywhere: :class:`molfit.structures.Structures` stores labels under these keys,
:class:`molfit.nn.atomistic.AtomisticModel` returns a dict keyed by them, training outputs
(:class:`molfit.train.Output`) name them, and extxyz files use the same names (ASE's own).
"""

from __future__ import annotations

ENERGY = "energy"  #: per-structure total energy, eV, shape ``(n_structures,)``
ENERGIES = "energies"  #: per-atom energies (their sum is ``energy``), eV, shape ``(n_atoms,)``
FORCES = "forces"  #: per-atom forces ``-dE/dr``, eV/Å, shape ``(n_atoms, 3)``
STRESS = "stress"  #: per-structure stress ``(1/V) dE/dε``, eV/Å^3, shape ``(n_structures, 3, 3)``
TARGETS = "targets"  #: per-structure readout of a non-energy model, ``(n_structures, n_tasks)``
ENERGY_STD = "energy_std"  #: committee std of the energy, eV, ``(n_structures,)``
FORCES_STD = "forces_std"  #: committee std of each atom's force, eV/Å, ``(n_atoms,)``

#: units of each key (what molfit reads from and writes to extxyz)
UNITS = {
    ENERGY: "eV",
    ENERGIES: "eV",
    FORCES: "eV/Å",
    STRESS: "eV/Å^3",
    ENERGY_STD: "eV",
    FORCES_STD: "eV/Å",
}

__all__ = ["ENERGIES", "ENERGY", "ENERGY_STD", "FORCES", "FORCES_STD", "STRESS", "TARGETS", "UNITS"]
