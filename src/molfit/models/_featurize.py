"""Turn model inputs (SMILES, RDKit molecules or a numeric array) into a feature matrix.

Featurizers are looked up by name in :data:`FEATURIZERS` (a :class:`molfit.registry.Registry`,
entry-point group ``molfit.featurizers``). A featurizer is a function
``f(molecules, *, radius, n_bits, counts, n_jobs) -> (n, n_features) array`` that may ignore the
settings it does not use.
"""

from __future__ import annotations

import inspect
import os
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor

import numpy as np

from molfit.chem import ECFP, to_mols
from molfit.errors import InputError
from molfit.registry import Registry

FEATURIZERS: Registry = Registry("featurizer", group="molfit.featurizers", error=InputError)
_PARALLEL_MIN = 2000  # below this many molecules, process start-up costs more than it saves


def is_numeric_array(x: object) -> bool:
    """True for a numeric NumPy array (precomputed features), false for molecules."""
    return isinstance(x, np.ndarray) and x.dtype.kind in "fiub"


def _ecfp_chunk(args: tuple[ECFP, list[str]]) -> np.ndarray:
    featurizer, chunk = args
    return featurizer(chunk)


def _ecfp_many(featurizer: ECFP, xs: Sequence, n_jobs: int | None) -> np.ndarray:
    jobs = _resolve_jobs(n_jobs)
    if jobs <= 1 or len(xs) < _PARALLEL_MIN:
        return featurizer(xs)
    if "n_jobs" in inspect.signature(featurizer.__call__).parameters:
        return featurizer(xs, n_jobs=jobs)  # type: ignore[call-arg]
    if not all(isinstance(x, str) for x in xs):  # RDKit molecules pickle slowly: stay serial
        return featurizer(xs)
    size = -(-len(xs) // (jobs * 4))
    chunks = [(featurizer, list(xs[i : i + size])) for i in range(0, len(xs), size)]
    with ProcessPoolExecutor(max_workers=jobs) as pool:
        return np.concatenate(list(pool.map(_ecfp_chunk, chunks)))


def _resolve_jobs(n_jobs: int | None) -> int:
    if n_jobs is None:
        return 1
    if n_jobs < 0:
        return max(1, (os.cpu_count() or 1) + 1 + n_jobs)
    return max(1, n_jobs)


def featurize(
    xs: Sequence | np.ndarray,
    featurizer: str = "ecfp",
    *,
    radius: int = 3,
    n_bits: int = 1024,
    counts: bool = False,
    n_jobs: int | None = None,
) -> np.ndarray:
    """Feature matrix ``(n, n_features)`` for molecules, or the array itself for numeric input.

    Args:
        xs: SMILES strings or RDKit molecules, or a numeric array ``(n, d)`` / ``(n,)`` of
            precomputed features (used as is, a 1-D array becoming one column).
        featurizer: a name in :data:`FEATURIZERS`: ``"ecfp"`` (uint8 bits or counts) or
            ``"descriptors"`` (RDKit 2D descriptors, float64, ``NaN`` where RDKit fails).
        radius, n_bits, counts: ECFP settings (ECFP6/1024 bits by default).
        n_jobs: worker processes for ECFP on large inputs (``-1``: all cores).

    Raises:
        InvalidMoleculeError: a SMILES cannot be parsed (the message names the row).
        InputError: an unknown featurizer (the message lists the known ones).
    """
    if is_numeric_array(xs):
        arr = np.asarray(xs)
        return arr[:, None] if arr.ndim == 1 else arr
    if isinstance(xs, str):
        raise InputError("expected a sequence of SMILES, got a single string")
    return FEATURIZERS.get(featurizer)(
        list(xs), radius=radius, n_bits=n_bits, counts=counts, n_jobs=n_jobs
    )


@FEATURIZERS.register("ecfp")
def ecfp_features(
    items: list,
    *,
    radius: int = 3,
    n_bits: int = 1024,
    counts: bool = False,
    n_jobs: int | None = None,
) -> np.ndarray:
    """ECFP bits (uint8) or counts of molecules, ``(n, n_bits)``; parallel for large inputs."""
    if (
        not all(isinstance(x, str) for x in items)
        or _resolve_jobs(n_jobs) <= 1
        or len(items) < _PARALLEL_MIN
    ):
        items = to_mols(items)
    return _ecfp_many(ECFP(radius=radius, n_bits=n_bits, counts=counts), items, n_jobs)


@FEATURIZERS.register("descriptors")
def descriptor_features(items: list, **_settings: object) -> np.ndarray:
    """RDKit 2D descriptors, float64 ``(n, n_descriptors)``, ``NaN`` where RDKit fails."""
    from molfit.chem import rdkit_descriptors

    return np.asarray(rdkit_descriptors(to_mols(items)), dtype=np.float64)
