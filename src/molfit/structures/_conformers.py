"""3D conformers: seeded ETKDGv3 embedding with MMFF94 (or UFF) relaxation.

``embed_molecule`` turns a SMILES or RDKit molecule into a molecule with explicit hydrogens and one
or more 3D conformers; ``conformer_geometry`` gives the (atomic numbers, positions in Å) of the
lowest-energy one, ready for the neighbour lists and the 3D networks of :mod:`molfit.nn`.

Each conformer carries its force-field energy as the double property ``energy_eV`` (eV; RDKit's
force fields work in kcal/mol and are converted once here); the molecule carries the string
property ``forcefield`` (``"MMFF94"``, ``"UFF"`` or ``"none"``).
"""

from __future__ import annotations

from typing import Literal

import numpy as np
from rdkit import Chem
from rdkit.Chem import rdDistGeom, rdForceFieldHelpers

from molfit.chem import MolLike, to_mol
from molfit.errors import EmbeddingError

KCAL_PER_MOL_IN_EV = 0.0433641042  # 1 kcal/mol in eV (CODATA 2018)

ForceField = Literal["mmff", "uff"] | None

_FAILURE_NAMES = {
    "INITIAL_COORDS": "no initial coordinates satisfy the distance bounds",
    "FIRST_MINIMIZATION": "the first distance-geometry minimization failed",
    "CHECK_TETRAHEDRAL_CENTERS": "a tetrahedral centre cannot be made tetrahedral (strained cage)",
    "CHECK_CHIRAL_CENTERS": "a chiral centre came out with the wrong volume",
    "MINIMIZE_FOURTH_DIMENSION": "the fourth-dimension minimization failed",
    "ETK_MINIMIZATION": "the torsion-knowledge minimization failed",
    "FINAL_CHIRAL_BOUNDS": "a chiral centre violates its bounds after minimization",
    "FINAL_CENTER_IN_VOLUME": "a stereocentre lies outside the volume of its neighbours "
    "(the requested stereochemistry is geometrically impossible)",
    "LINEAR_DOUBLE_BOND": "a double bond came out linear",
    "BAD_DOUBLE_BOND_STEREO": "a double bond has the wrong E/Z geometry",
    "CHECK_CHIRAL_CENTERS2": "a chiral centre came out with the wrong volume",
    "EXCEEDED_TIMEOUT": "the embedding timed out",
}


def _failure_reason(params: rdDistGeom.EmbedParameters) -> str:
    """Name the most frequent ETKDG failure cause in words."""
    counts = list(params.GetFailureCounts())
    names = list(rdDistGeom.EmbedFailureCauses.names)
    if not any(counts):
        return "ETKDG produced no conformer"
    worst = int(np.argmax(counts))
    name = names[worst] if worst < len(names) else f"cause {worst}"
    return f"{_FAILURE_NAMES.get(name, name.lower())} [{name} x{counts[worst]}]"


def _embed_params(seed: int, max_attempts: int, random_coords: bool) -> rdDistGeom.EmbedParameters:
    params = rdDistGeom.ETKDGv3()
    params.randomSeed = int(seed)
    params.maxIterations = int(max_attempts)
    params.useRandomCoords = random_coords
    params.numThreads = 1  # results do not depend on threads; the machine is shared
    params.trackFailures = True
    params.clearConfs = False  # conformers are embedded one at a time, each with its own seed
    return params


def _conformer_seeds(seed: int, n_conformers: int) -> list[int]:
    """Distinct positive RDKit seeds, one per conformer.

    RDKit seeds conformer k of ``EmbedMultipleConfs`` with ``randomSeed * (k + 1)``: seed 0 gives
    n identical conformers and seeds 1 and 2 share conformers. Drawing each conformer's seed from
    a ``SeedSequence`` avoids both.
    """
    states = np.random.SeedSequence(int(seed)).generate_state(n_conformers, dtype=np.uint32)
    return [int(s) % (2**31 - 2) + 1 for s in states]


def embed_molecule(
    x: MolLike,
    *,
    seed: int = 0,
    n_conformers: int = 1,
    optimize: ForceField = "mmff",
    max_attempts: int = 0,
    max_iterations: int = 2000,
) -> Chem.Mol:
    """Embed a molecule in 3D: hydrogens added, ETKDGv3 conformers, force-field relaxation.

    Args:
        x: SMILES or RDKit molecule (an existing conformer is discarded).
        seed: random seed of ETKDG; the same seed gives the same coordinates.
        n_conformers: how many conformers to embed (>= 1).
        optimize: ``"mmff"`` relaxes with MMFF94 and falls back to UFF when MMFF has no
            parameters for an atom (e.g. boron, silicon in odd valences); ``"uff"`` uses UFF;
            ``None`` keeps the raw ETKDG geometry (no energies).
        max_attempts: ETKDG's maximum number of embedding attempts per conformer
            (``maxIterations``); 0 means RDKit's default (10 x the number of atoms).
        max_iterations: maximum force-field minimization steps per conformer.

    Returns:
        A new molecule with explicit hydrogens and ``n_conformers`` conformers. Each conformer
        has the double property ``energy_eV`` (force-field energy, eV; absent when
        ``optimize=None`` or no force field applies); the molecule has the string property
        ``forcefield``.

    Raises:
        EmbeddingError: no conformer could be generated, naming the SMILES and ETKDG's reason
            (e.g. [1.1.1]propellane: ``a tetrahedral centre cannot be made tetrahedral``).
        InvalidMoleculeError: ``x`` is a SMILES that does not parse.
    """
    if n_conformers < 1:
        raise ValueError(f"n_conformers must be >= 1, got {n_conformers}")
    if optimize not in ("mmff", "uff", None):
        raise ValueError(f"optimize must be 'mmff', 'uff' or None, got {optimize!r}")
    mol = Chem.AddHs(Chem.Mol(to_mol(x)))
    smiles = Chem.MolToSmiles(Chem.RemoveHs(mol))

    reason = ""
    for conformer_seed in _conformer_seeds(seed, n_conformers):
        for random_coords in (False, True):  # random starts: RDKit's remedy for hard cases
            params = _embed_params(conformer_seed, max_attempts, random_coords)
            if rdDistGeom.EmbedMultipleConfs(mol, 1, params):
                break
            reason = reason or _failure_reason(params)
    if mol.GetNumConformers() == 0:
        raise EmbeddingError(
            f"cannot embed SMILES {smiles!r} in 3D: {reason} "
            f"(ETKDGv3, seed {seed}, also tried random starting coordinates)"
        )

    forcefield = _relax(mol, optimize, max_iterations)
    mol.SetProp("forcefield", forcefield)
    return mol


def _relax(mol: Chem.Mol, optimize: ForceField, max_iterations: int) -> str:
    """Minimize every conformer in place; store energies in eV; return the force field used."""
    if optimize is None:
        return "none"
    use_mmff = optimize == "mmff" and rdForceFieldHelpers.MMFFHasAllMoleculeParams(mol)
    if use_mmff:
        results = rdForceFieldHelpers.MMFFOptimizeMoleculeConfs(
            mol, numThreads=1, maxIters=max_iterations
        )
        name = "MMFF94"
    elif rdForceFieldHelpers.UFFHasAllMoleculeParams(mol):
        results = rdForceFieldHelpers.UFFOptimizeMoleculeConfs(
            mol, numThreads=1, maxIters=max_iterations
        )
        name = "UFF"
    else:
        return "none"
    for conf, (_not_converged, energy) in zip(mol.GetConformers(), results, strict=True):
        conf.SetDoubleProp("energy_eV", float(energy) * KCAL_PER_MOL_IN_EV)
    return name


def conformer_energies(mol: Chem.Mol) -> np.ndarray:
    """Force-field energies (eV) of the conformers of an embedded molecule, NaN where unknown.

    Returns:
        ``(n_conformers,)`` float64, in conformer order.
    """
    return np.array(
        [
            c.GetDoubleProp("energy_eV") if c.HasProp("energy_eV") else np.nan
            for c in mol.GetConformers()
        ],
        dtype=np.float64,
    )


def conformer_geometry(
    x: MolLike,
    seed: int = 0,
    *,
    n_conformers: int = 1,
    optimize: ForceField = "mmff",
    max_attempts: int = 0,
) -> tuple[np.ndarray, np.ndarray]:
    """Atomic numbers and positions of the lowest-energy conformer of a molecule.

    Args:
        x: SMILES or RDKit molecule; hydrogens are added. A molecule that already has explicit
            hydrogens and a conformer is still re-embedded (use ``mol.GetConformer()`` directly
            to keep your own geometry).
        seed, n_conformers, optimize, max_attempts: as in :func:`embed_molecule`.

    Returns:
        ``(numbers, positions)``: ``(n_atoms,)`` int64 atomic numbers and ``(n_atoms, 3)``
        float64 positions in Å, hydrogens included, atoms in RDKit order (heavy atoms first).

    Raises:
        EmbeddingError: the molecule cannot be embedded (see :func:`embed_molecule`).
    """
    mol = embed_molecule(
        x, seed=seed, n_conformers=n_conformers, optimize=optimize, max_attempts=max_attempts
    )
    energies = conformer_energies(mol)
    conformers = list(mol.GetConformers())
    best = int(np.nanargmin(energies)) if not np.all(np.isnan(energies)) else 0
    numbers = np.array([a.GetAtomicNum() for a in mol.GetAtoms()], dtype=np.int64)
    positions = np.array(conformers[best].GetPositions(), dtype=np.float64)
    return numbers, positions
