"""Materials: crystals in and out (CIF, POSCAR, extxyz), crystal builders, and the properties
materials scientists check a potential with (equation of state, elastic constants, vacancy
formation energy, radial distribution), each computed with any ASE calculator so a trained
molfit potential and its oracle are measured on the same cells.

Units: Å, Å³, eV, GPa (bulk modulus, elastic constants); stress from calculators in eV/Å³.
"""

from molfit.materials._build import (
    STRUCTURES,
    bulk,
    perturbed_cells,
    rattle,
    scale_volume,
    strain,
    strain_matrix,
    substitute,
    supercell,
    vacancy,
)
from molfit.materials._io import FORMATS, check_crystal, read_crystal, read_crystals, write_crystal
from molfit.materials._properties import (
    PROPERTIES,
    SCALARS,
    ElasticResult,
    EOSResult,
    VacancyResult,
    compare_properties,
    conventional_lattice_constant,
    crystal_properties,
    elastic_constants,
    equation_of_state,
    radial_distribution,
    vacancy_formation_energy,
)

__all__ = [
    "FORMATS",
    "PROPERTIES",
    "SCALARS",
    "STRUCTURES",
    "EOSResult",
    "ElasticResult",
    "VacancyResult",
    "bulk",
    "check_crystal",
    "compare_properties",
    "conventional_lattice_constant",
    "crystal_properties",
    "elastic_constants",
    "equation_of_state",
    "perturbed_cells",
    "radial_distribution",
    "rattle",
    "read_crystal",
    "read_crystals",
    "scale_volume",
    "strain",
    "strain_matrix",
    "substitute",
    "supercell",
    "vacancy",
    "vacancy_formation_energy",
    "write_crystal",
]
