"""Distribution-shift splits made from real data, and the in- vs out-of-domain picture on them.

* :func:`shift_split` ``"weight"``: train on the lightest molecules, test on the heaviest
  (molecular weight, g/mol).
* ``"elements"``: test molecules that hold an element or a ring system (Murcko ring-system
  SMILES) that is rare in the data; train on molecules with none of them.
* ``"size"``: train on molecules with at most ``max_train_heavy`` heavy atoms, test on those with
  exactly ``test_heavy`` (QM9: ≤ 7 vs 9).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from typing import Any

import numpy as np
from rdkit import Chem
from rdkit.Chem import Descriptors

from molfit.errors import InputError

SHIFTS = ("weight", "elements", "size")


def _ring_systems(mol: Chem.Mol) -> set[str]:
    info = mol.GetRingInfo()
    rings = [set(r) for r in info.AtomRings()]
    systems: list[set[int]] = []
    for ring in rings:
        merged = [s for s in systems if s & ring]
        for s in merged:
            systems.remove(s)
            ring |= s
        systems.append(ring)
    out = set()
    for atoms in systems:
        frag = Chem.MolFragmentToSmiles(mol, atomsToUse=sorted(atoms), canonical=True)
        out.add(frag)
    return out


def shift_split(
    smiles: Sequence[str],
    kind: str,
    *,
    train_fraction: float = 0.7,
    test_fraction: float = 0.2,
    rare_fraction: float = 0.15,
    max_train_heavy: int = 7,
    test_heavy: int = 9,
) -> tuple[np.ndarray, np.ndarray]:
    """``(train, test)`` row indices of a shift split (see the module docstring).

    ``weight``: the lightest ``train_fraction`` train, the heaviest ``test_fraction`` test.
    ``elements``: elements and ring systems ranked by how rare they are; the rarest, up to
    ``rare_fraction`` of the molecules, define the test set.

    Raises:
        InputError: unknown kind, an unparseable SMILES (row named), or an empty side.
    """
    mols = []
    for i, s in enumerate(smiles):
        m = Chem.MolFromSmiles(s)
        if m is None:
            raise InputError(f"row {i}: cannot parse SMILES {s!r}")
        mols.append(m)
    n = len(mols)
    if kind == "weight":
        order = np.argsort([Descriptors.MolWt(m) for m in mols], kind="stable")
        train, test = order[: int(train_fraction * n)], order[n - int(test_fraction * n) :]
    elif kind == "size":
        heavy = np.array([m.GetNumHeavyAtoms() for m in mols])
        train, test = np.flatnonzero(heavy <= max_train_heavy), np.flatnonzero(heavy == test_heavy)
    elif kind == "elements":
        feats = [
            {f"element:{a.GetSymbol()}" for a in m.GetAtoms()}
            | {f"ring:{r}" for r in _ring_systems(m)}
            for m in mols
        ]
        counts = Counter(f for fs in feats for f in fs)
        rare: set[str] = set()
        held = np.zeros(n, bool)
        for f, _ in sorted(counts.items(), key=lambda kv: (kv[1], kv[0])):
            trial = held | np.array([f in fs for fs in feats])
            if trial.sum() > rare_fraction * n:
                break
            rare.add(f)
            held = trial
        train, test = np.flatnonzero(~held), np.flatnonzero(held)
    else:
        raise InputError(f"shift kind must be one of {', '.join(SHIFTS)}, got {kind!r}")
    if not len(train) or not len(test):
        raise InputError(f"shift split {kind!r}: empty train ({len(train)}) or test ({len(test)})")
    return np.sort(train).astype(np.int64), np.sort(test).astype(np.int64)


def shift_report(
    y: np.ndarray,
    mean: np.ndarray,
    lower: np.ndarray,
    upper: np.ndarray,
    in_domain: np.ndarray,
    large_error_quantile: float = 0.9,
) -> dict[str, Any]:
    """Error, interval coverage and domain flags of in- against out-of-domain molecules.

    Args:
        y, mean, lower, upper: ``(n,)`` labels, predictions and interval bounds (target units).
        in_domain: ``(n,)`` the applicability-domain flag.
        large_error_quantile: "large errors" are those above this quantile of |error|.

    Returns:
        rmse / coverage / n for ``in`` and ``out``, and ``large_errors_flagged``: the fraction
        of large errors that the out-of-domain flag caught (with ``flagged_fraction``, the
        fraction of all molecules flagged, as the baseline a random flag would reach).
    """
    y, mean = np.asarray(y, float), np.asarray(mean, float)
    flag = np.asarray(in_domain, bool)
    err = np.abs(mean - y)
    covered = (y >= lower) & (y <= upper)
    out: dict[str, Any] = {}
    for name, mask in (("in", flag), ("out", ~flag), ("all", np.ones_like(flag))):
        out[f"n_{name}"] = int(mask.sum())
        out[f"rmse_{name}"] = (
            float(np.sqrt(np.mean(err[mask] ** 2))) if mask.any() else float("nan")
        )
        out[f"coverage_{name}"] = float(covered[mask].mean()) if mask.any() else float("nan")
    big = err > np.quantile(err, large_error_quantile)
    out["large_errors_flagged"] = float((~flag[big]).mean()) if big.any() else float("nan")
    out["flagged_fraction"] = float((~flag).mean())
    return out
