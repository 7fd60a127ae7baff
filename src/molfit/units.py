"""Units and conversions: molfit's own units are Å, eV, eV/Å, eV/Å³, Debye, K, fs.

Conversions from other programs' units happen once, where their numbers enter molfit (readers,
oracles); every other module works in these units. CODATA 2018 values.
"""

from __future__ import annotations

HARTREE_EV = 27.211386245988  #: 1 Hartree in eV
BOHR_ANGSTROM = 0.529177210903  #: 1 Bohr in Å
HARTREE_PER_BOHR_EV_PER_ANGSTROM = HARTREE_EV / BOHR_ANGSTROM  #: force conversion
KCAL_PER_MOL_EV = 0.0433641043  #: 1 kcal/mol in eV
EV_PER_ANGSTROM3_GPA = 160.21766208  #: 1 eV/Å³ in GPa
E_ANGSTROM_DEBYE = 4.803204544  #: 1 e·Å in Debye
BOLTZMANN_EV_PER_K = 8.617333262e-5  #: k_B in eV/K

__all__ = [
    "BOHR_ANGSTROM",
    "BOLTZMANN_EV_PER_K",
    "EV_PER_ANGSTROM3_GPA",
    "E_ANGSTROM_DEBYE",
    "HARTREE_EV",
    "HARTREE_PER_BOHR_EV_PER_ANGSTROM",
    "KCAL_PER_MOL_EV",
]
