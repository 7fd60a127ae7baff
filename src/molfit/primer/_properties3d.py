"""The 3D properties slide: a SMILES becomes a conformer, the conformer a QM9 prediction.

The geometry is the lowest-energy ETKDGv3 conformer relaxed with MMFF94
(:func:`molfit.structures.conformer_geometry`, seed 0), hydrogens included; that very geometry
is drawn in the page and given to each shipped QM9 model (SchNet/PaiNN committees), which
predict from the 3D structure, not from the string. QM9 holds molecules of up to nine heavy
atoms of H, C, N, O and F at DFT (B3LYP/6-31G(2df,p)) geometries: an MMFF94 geometry is not a
DFT one, and a larger molecule is outside what the models saw; the page says both.

Units: Å; energies eV.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from molfit.errors import InputError
from molfit.primer._potential import MAX_ATOMS, bonds_of, symbols_of

QM9_ELEMENTS = frozenset({1, 6, 7, 8, 9})
QM9_MAX_HEAVY = 9
GEOMETRY_SOURCE = "ETKDGv3 conformer relaxed with MMFF94 (RDKit via molfit.structures, seed 0)"


def conformer(smiles: str) -> dict[str, Any]:
    """The drawn geometry of ``smiles``: ``numbers``, ``symbols``, ``positions`` (Å), ``bonds``.

    Raises:
        InputError: unparseable SMILES (the message says why), an embedding failure, or more
            than :data:`MAX_ATOMS` atoms.
    """
    from molfit.chem import canonical_smiles, parse_smiles
    from molfit.structures import conformer_geometry

    mol = parse_smiles(smiles)
    numbers, positions = conformer_geometry(mol, seed=0)
    if len(numbers) > MAX_ATOMS:
        raise InputError(f"{smiles}: {len(numbers)} atoms; this slide draws at most {MAX_ATOMS}")
    return {
        "smiles": canonical_smiles(mol),
        "numbers": numbers.tolist(),
        "symbols": symbols_of(numbers),
        "positions": positions.tolist(),
        "bonds": bonds_of(numbers, positions),
        "geometry": GEOMETRY_SOURCE,
    }


def predict_properties(models: dict[str, tuple[Any, str, str]], smiles: str) -> dict[str, Any]:
    """Each model's prediction for the conformer of ``smiles``.

    Args:
        models: ``{name: (fitted geometric model, property label, unit)}``.
        smiles: the molecule.

    Returns:
        :func:`conformer`'s fields plus ``predictions``: one ``{name, property, unit, mean,
        std, error}`` per model (``std`` is the committee's spread or ``None``; ``error`` is
        non-empty when the model refuses the molecule, e.g. an element it never saw), and
        ``warnings`` (outside QM9's chemistry).
    """
    geo = conformer(smiles)
    numbers = np.asarray(geo["numbers"], dtype=np.int64)
    positions = np.asarray(geo["positions"], dtype=np.float64)
    preds = []
    for name, (model, label, unit) in models.items():
        rec = model.predict_record([(numbers, positions)])
        mean = float(np.ravel(rec.mean)[0])
        std = None if rec.std is None else float(np.ravel(rec.std)[0])
        preds.append(
            {
                "name": name,
                "property": label,
                "unit": unit,
                "mean": mean if np.isfinite(mean) else None,
                "std": std if std is not None and np.isfinite(std) else None,
                "error": str(rec.error[0]),
            }
        )
    warnings = []
    unseen = sorted({s for s, z in zip(geo["symbols"], numbers, strict=True)
                     if int(z) not in QM9_ELEMENTS})  # fmt: skip
    if unseen:
        warnings.append(f"{', '.join(unseen)}: not among QM9's elements (H, C, N, O, F)")
    heavy = int((numbers > 1).sum())
    if heavy > QM9_MAX_HEAVY:
        warnings.append(
            f"{heavy} heavy atoms: QM9 molecules have at most {QM9_MAX_HEAVY}; extrapolation"
        )
    return {**geo, "predictions": preds, "warnings": warnings}
