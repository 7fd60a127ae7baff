"""The splitters: random, scaffold, temporal, cluster and stratified, and ``make_split`` by name.

Names live in :data:`SPLITS`, a :class:`molfit.registry.Registry` (entry-point group
``molfit.splits``). A registered split method is a function
``f(smiles, y, times, fractions, seed, **options) -> Split`` that checks the inputs it needs.

Every splitter returns a :class:`~molfit.data.split.Split` whose ``leakage`` holds the figures of
:func:`~molfit.data.split.leakage_report` whenever molecules were given.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any, Literal

import numpy as np
import pandas as pd
from rdkit import Chem

from molfit.chem import ECFP, MolLike, to_mols
from molfit.data._split_cluster import butina_clusters
from molfit.data._split_core import (
    Split,
    assign_groups,
    normalize_fractions,
    target_sizes,
)
from molfit.data._split_leakage import (
    LEAKAGE_BITS,
    LEAKAGE_RADIUS,
    bitvects_to_csr,
    leakage_fingerprints,
    leakage_from_arrays,
    murcko_scaffold,
)
from molfit.errors import InputError
from molfit.registry import Registry

#: split methods by name (see the module docs)
SPLITS: Registry = Registry("split method", group="molfit.splits", error=InputError)


def _check_seed(seed: int) -> int:
    if isinstance(seed, bool) or not isinstance(seed, int | np.integer):
        raise InputError(f"seed must be an integer, got {seed!r}")
    return int(seed)


def _molecules(smiles: Sequence[MolLike], what: str) -> list[Chem.Mol]:
    if smiles is None or len(smiles) == 0:
        raise InputError(f"{what}: no molecules to split (empty input)")
    if isinstance(smiles, str):
        raise InputError(f"{what}: expected a list of SMILES, got one string {smiles!r}")
    return to_mols(list(smiles))


def _finish(
    method: str,
    parts: Sequence[Sequence[int]],
    *,
    n: int,
    seed: int,
    fractions: tuple[float, float, float],
    mols: Sequence[Chem.Mol] | None,
    params: dict[str, Any] | None = None,
    groups: list[Any] | None = None,
    excluded: Sequence[int] = (),
    scaffolds: list[str] | None = None,
    fps: np.ndarray | None = None,
) -> Split:
    split = Split(
        train=parts[0],
        valid=parts[1],
        test=parts[2],
        method=method,
        seed=seed,
        fractions=fractions,
        n=n,
        excluded=excluded,
        groups=groups,
        params=params or {},
    )
    if mols is not None:
        if fps is None:
            fps = leakage_fingerprints(mols)
        if scaffolds is None:
            scaffolds = [murcko_scaffold(m) for m in mols]
        split.leakage = leakage_from_arrays(fps, scaffolds, split.parts())
    return split


def _balanced_order(
    sizes: Sequence[int], targets: tuple[int, int, int], rng: np.random.Generator
) -> list[int]:
    """Big groups (more than half the smaller held-out target) first, each block shuffled."""
    held_out = [t for t in targets[1:] if t > 0]
    limit = min(held_out) / 2 if held_out else math.inf
    big = [g for g, s in enumerate(sizes) if s > limit]
    small = [g for g, s in enumerate(sizes) if s <= limit]
    return [big[i] for i in rng.permutation(len(big))] + [
        small[i] for i in rng.permutation(len(small))
    ]


def _index_groups(keys: Sequence[Any]) -> list[list[int]]:
    """Row indices grouped by key, groups in order of first appearance."""
    groups: dict[Any, list[int]] = {}
    for i, key in enumerate(keys):
        groups.setdefault(key, []).append(i)
    return list(groups.values())


def random_split(
    n_or_items: int | Sequence[Any],
    fractions: Sequence[float] = (0.8, 0.1, 0.1),
    seed: int = 0,
    *,
    leakage: bool = True,
) -> Split:
    """Shuffle rows and cut them at the requested fractions.

    Args:
        n_or_items: the number of rows, or the items themselves. Items that are SMILES strings or
            RDKit molecules get leakage figures (a bad SMILES then raises, naming its row).
        fractions: ``(train, valid, test)`` or ``(train, test)``; sizes are the largest-remainder
            rounding of ``n * fractions``.
        seed: seed of the permutation.
        leakage: compute leakage figures when the items are molecules.
    """
    fr = normalize_fractions(fractions)
    seed = _check_seed(seed)
    if isinstance(n_or_items, int | np.integer) and not isinstance(n_or_items, bool):
        n, items = int(n_or_items), None
    else:
        items = list(n_or_items)
        n = len(items)
    if n <= 0:
        raise InputError("random split: no rows to split (empty input)")
    mols = None
    if leakage and items and all(isinstance(x, str | Chem.Mol) for x in items):
        mols = _molecules(items, "random split")
    sizes = target_sizes(n, fr)
    perm = np.random.default_rng(seed).permutation(n)
    cuts = np.cumsum(sizes)[:2]
    parts = np.split(perm, cuts)
    return _finish("random", parts, n=n, seed=seed, fractions=fr, mols=mols)


def scaffold_split(
    smiles: Sequence[MolLike],
    fractions: Sequence[float] = (0.8, 0.1, 0.1),
    seed: int = 0,
    *,
    balanced: bool = True,
    include_chirality: bool = False,
    acyclic: Literal["group", "singletons"] = "group",
) -> Split:
    """Split by Bemis–Murcko scaffold: all molecules of one scaffold land in the same part.

    Args:
        smiles: SMILES strings or RDKit molecules.
        fractions: ``(train, valid, test)`` or ``(train, test)``.
        seed: shuffles the scaffold sets (balanced mode only).
        balanced: scaffold sets larger than half the smaller held-out target are placed first,
            then the rest, each block in seeded random order (chemprop's "balanced" scheme).
            ``False``: deterministic, largest sets first, so train gets the common scaffolds and
            test the rare ones (the seed then changes nothing).
        include_chirality: keep stereo marks in the scaffold SMILES.
        acyclic: molecules without rings have the empty scaffold ``""``. ``"group"`` (default)
            keeps them together as one scaffold set, so no scaffold at all is shared between
            parts; ``"singletons"`` treats each acyclic molecule as its own set (finer sizes,
            but acyclic molecules then appear in several parts).

    Sets are placed whole, train first, then valid, then test, each up to its target; a part
    misses its target by less than the largest set. ``groups`` holds each row's scaffold.
    """
    fr = normalize_fractions(fractions)
    seed = _check_seed(seed)
    if acyclic not in ("group", "singletons"):
        raise InputError(f"acyclic must be 'group' or 'singletons', got {acyclic!r}")
    mols = _molecules(smiles, "scaffold split")
    scaffolds = [murcko_scaffold(m, include_chirality=include_chirality) for m in mols]
    keys: list[Any] = list(scaffolds)
    if acyclic == "singletons":
        keys = [s if s else ("", i) for i, s in enumerate(scaffolds)]
    groups = _index_groups(keys)
    targets = target_sizes(len(mols), fr)
    sizes = [len(g) for g in groups]
    if balanced:
        order = _balanced_order(sizes, targets, np.random.default_rng(seed))
    else:
        order = sorted(range(len(groups)), key=lambda g: (-sizes[g], g))
    parts = assign_groups(groups, order, targets)
    return _finish(
        "scaffold",
        parts,
        n=len(mols),
        seed=seed,
        fractions=fr,
        mols=mols,
        params={
            "balanced": balanced,
            "include_chirality": include_chirality,
            "acyclic": acyclic,
            "n_scaffolds": len(set(scaffolds)),
        },
        groups=scaffolds,
        scaffolds=None if include_chirality else scaffolds,
    )


def cluster_split(
    smiles: Sequence[MolLike],
    fractions: Sequence[float] = (0.8, 0.1, 0.1),
    seed: int = 0,
    *,
    threshold: float = 0.35,
    radius: int = LEAKAGE_RADIUS,
    n_bits: int = LEAKAGE_BITS,
) -> Split:
    """Split by Butina clusters on Tanimoto distance: a cluster never straddles two parts.

    Args:
        smiles: SMILES strings or RDKit molecules.
        fractions: ``(train, valid, test)`` or ``(train, test)``.
        seed: shuffles the clusters (big clusters first, as in the balanced scaffold split).
        threshold: Butina distance cutoff; molecules with ``1 - Tanimoto <= threshold`` are
            neighbours (0.35: similarity >= 0.65).
        radius, n_bits: the Morgan fingerprint (ECFP4, 2048 bits by default).

    Cost: n²/2 Tanimoto similarities (a few seconds for 8k molecules, minutes beyond 20k; a
    warning is issued there). ``groups`` holds each row's cluster number (0 = largest).
    """
    fr = normalize_fractions(fractions)
    seed = _check_seed(seed)
    mols = _molecules(smiles, "cluster split")
    bitvects = ECFP(radius=radius, n_bits=n_bits).bitvects(mols)
    clusters = butina_clusters(bitvects, threshold)
    clusters.sort(key=len, reverse=True)
    cluster_of = np.empty(len(mols), dtype=np.int64)
    for c, members in enumerate(clusters):
        cluster_of[list(members)] = c
    targets = target_sizes(len(mols), fr)
    groups = [list(c) for c in clusters]
    order = _balanced_order([len(g) for g in groups], targets, np.random.default_rng(seed))
    parts = assign_groups(groups, order, targets)
    same_fp = radius == LEAKAGE_RADIUS and n_bits == LEAKAGE_BITS
    return _finish(
        "cluster",
        parts,
        n=len(mols),
        seed=seed,
        fractions=fr,
        mols=mols,
        params={
            "threshold": threshold,
            "radius": radius,
            "n_bits": n_bits,
            "n_clusters": len(clusters),
        },
        groups=cluster_of.tolist(),
        fps=bitvects_to_csr(bitvects) if same_fp else None,
    )


def _missing(values: pd.Series) -> np.ndarray:
    return values.isna().to_numpy()


def temporal_split(
    times: Sequence[Any],
    fractions: Sequence[float] = (0.8, 0.1, 0.1),
    *,
    smiles: Sequence[MolLike] | None = None,
    seed: int = 0,
    strict: bool = False,
) -> Split:
    """Split by time: the oldest rows train, the newest test; equal times stay together.

    Args:
        times: one value per row: numbers (years, timestamps) or dates (``datetime`` or strings
            pandas can parse, e.g. ``"2019-03-01"``). Missing values (``None``, NaN, empty)
            leave the row out of every part (listed in ``excluded``).
        fractions: ``(train, valid, test)`` or ``(train, test)``.
        smiles: the molecules of the rows, for the leakage figures (optional).
        seed: recorded only; a temporal split draws nothing.
        strict: raise on a missing time instead of leaving the row out.

    Rows with equal times form one block; a block goes to the part in which its middle falls,
    so every boundary is off by at most half a block. ``groups`` holds each row's time as text.
    """
    fr = normalize_fractions(fractions)
    seed = _check_seed(seed)
    series = pd.Series(list(times), dtype=object)
    if len(series) == 0:
        raise InputError("temporal split: no rows to split (empty input)")
    if smiles is not None and len(smiles) != len(series):
        raise InputError(f"temporal split: {len(smiles)} SMILES but {len(series)} times")
    blank = series.map(lambda v: isinstance(v, str) and not v.strip())
    series[blank] = None
    missing = _missing(series)
    numeric = pd.to_numeric(series, errors="coerce")
    if not (numeric.isna().to_numpy() & ~missing).any():
        keys = numeric.to_numpy(dtype=float)
    else:
        parsed = pd.to_datetime(series, errors="coerce", format="mixed")
        bad = parsed.isna().to_numpy() & ~missing
        if bad.any():
            row = int(np.flatnonzero(bad)[0])
            raise InputError(
                f"temporal split: row {row + 1}: cannot read time {series[row]!r} "
                "(expected a number or a date such as 2019-03-01)"
            )
        keys = parsed.to_numpy(dtype="datetime64[ns]").astype(np.int64).astype(float)
    if missing.any() and strict:
        row = int(np.flatnonzero(missing)[0])
        raise InputError(f"temporal split: row {row + 1}: missing time")
    present = np.flatnonzero(~missing)
    if len(present) == 0:
        raise InputError("temporal split: every time is missing")
    ordered = present[np.argsort(keys[present], kind="stable")]
    targets = np.cumsum(target_sizes(len(present), fr))
    parts: list[list[int]] = [[], [], []]
    start = 0
    for block in np.split(ordered, np.flatnonzero(np.diff(keys[ordered]) != 0) + 1):
        middle = start + len(block) / 2
        p = int(np.searchsorted(targets, middle, side="right"))
        parts[min(p, 2)].extend(block.tolist())
        start += len(block)
    mols = _molecules(smiles, "temporal split") if smiles is not None else None
    labels = [None if m else str(v) for v, m in zip(series, missing, strict=True)]
    return _finish(
        "temporal",
        parts,
        n=len(series),
        seed=seed,
        fractions=fr,
        mols=mols,
        groups=labels,
        excluded=np.flatnonzero(missing),
    )


def stratified_split(
    labels: Sequence[Any],
    fractions: Sequence[float] = (0.8, 0.1, 0.1),
    seed: int = 0,
    *,
    smiles: Sequence[MolLike] | None = None,
    strict: bool = False,
) -> Split:
    """Random split that keeps each class's share in every part (classification targets).

    Args:
        labels: one class label per row (ints, strings, or floats holding whole numbers).
            Missing labels (``None``/NaN) leave the row out (listed in ``excluded``).
        fractions: ``(train, valid, test)`` or ``(train, test)``.
        seed: shuffles rows within each class.
        smiles: the molecules of the rows, for the leakage figures (optional).
        strict: raise on a missing label instead of leaving the row out.

    Each class's count in each part is within one molecule of ``n_class * fraction``, and the
    part sizes are within one of the overall target.

    Raises:
        InputError: continuous (non-integer float) labels: bin a regression target first.
    """
    fr = normalize_fractions(fractions)
    seed = _check_seed(seed)
    series = pd.Series(list(labels), dtype=object)
    if len(series) == 0:
        raise InputError("stratified split: no rows to split (empty input)")
    if smiles is not None and len(smiles) != len(series):
        raise InputError(f"stratified split: {len(smiles)} SMILES but {len(series)} labels")
    missing = _missing(series)
    if missing.any() and strict:
        raise InputError(f"stratified split: row {int(np.flatnonzero(missing)[0]) + 1}: no label")
    for i in np.flatnonzero(~missing):
        v = series[i]
        if isinstance(v, float | np.floating) and not float(v).is_integer():
            raise InputError(
                f"stratified split: row {i + 1}: label {v!r} is not a class; stratified "
                "splits need class labels (bin a regression target first)"
            )
    present = np.flatnonzero(~missing)
    if len(present) == 0:
        raise InputError("stratified split: every label is missing")
    normalized = [
        None if m else str(int(v)) if isinstance(v, float | np.floating) else str(v)
        for v, m in zip(series, missing, strict=True)
    ]
    classes = _index_groups([normalized[i] for i in present])
    class_rows = [present[c] for c in classes]
    counts = _stratified_counts([len(c) for c in class_rows], target_sizes(len(present), fr), fr)
    rng = np.random.default_rng(seed)
    parts: list[list[int]] = [[], [], []]
    for rows, per_part in zip(class_rows, counts, strict=True):
        shuffled = rows[rng.permutation(len(rows))]
        for p, chunk in enumerate(np.split(shuffled, np.cumsum(per_part)[:2])):
            parts[p].extend(chunk.tolist())
    mols = _molecules(smiles, "stratified split") if smiles is not None else None
    return _finish(
        "stratified",
        parts,
        n=len(series),
        seed=seed,
        fractions=fr,
        mols=mols,
        params={"classes": {normalized[c[0]]: len(c) for c in class_rows}},
        groups=normalized,
        excluded=np.flatnonzero(missing),
    )


def _stratified_counts(
    class_sizes: Sequence[int], targets: tuple[int, int, int], fr: tuple[float, float, float]
) -> list[list[int]]:
    """Per-class part counts: floor or ceil of ``size * fraction``, columns summing to targets.

    Floors first; each class then hands its leftover molecules to distinct parts, the part
    still furthest below its target first (the constructive step of the Gale–Ryser theorem).
    """
    counts = [[math.floor(s * f) for f in fr] for s in class_sizes]
    need = [targets[p] - sum(row[p] for row in counts) for p in range(3)]
    order = sorted(range(len(class_sizes)), key=lambda c: -(class_sizes[c] - sum(counts[c])))
    for c in order:
        left = class_sizes[c] - sum(counts[c])
        candidates = [p for p in range(3) if fr[p] > 0]
        ranked = sorted(
            candidates,
            key=lambda p: (-need[p], -(class_sizes[c] * fr[p] - counts[c][p]), p),
        )
        for p in ranked[:left]:
            counts[c][p] += 1
            need[p] -= 1
    return counts


def make_split(
    method: str,
    *,
    smiles: Sequence[MolLike] | None = None,
    y: Sequence[Any] | np.ndarray | None = None,
    times: Sequence[Any] | None = None,
    fractions: Sequence[float] = (0.8, 0.1, 0.1),
    seed: int = 0,
    **kw: Any,
) -> Split:
    """Split by method name (used by the CLI): a name in :data:`SPLITS` (``random``,
    ``scaffold``, ``temporal``, ``cluster``, ``stratified``, and any plugin's).

    Args:
        method: the method name (case-insensitive).
        smiles: molecules (needed by scaffold and cluster; gives leakage figures to all).
        y: class labels, ``(n,)`` or ``(n, 1)`` (needed by stratified).
        times: a time per row (needed by temporal).
        fractions, seed: as in each splitter.
        **kw: further options of the chosen splitter (``balanced``, ``threshold``, ...).

    Raises:
        InputError: an unknown method (the message lists the known ones), or the input the
            method needs is missing.
    """
    return SPLITS.get(method)(smiles, y, times, fractions, seed, **kw)


@SPLITS.register("scaffold")
def _by_scaffold(smiles, y, times, fractions, seed, **kw) -> Split:  # type: ignore[no-untyped-def]
    if smiles is None:
        raise InputError("scaffold split needs SMILES")
    return scaffold_split(smiles, fractions, seed, **kw)


@SPLITS.register("cluster")
def _by_cluster(smiles, y, times, fractions, seed, **kw) -> Split:  # type: ignore[no-untyped-def]
    if smiles is None:
        raise InputError("cluster split needs SMILES")
    return cluster_split(smiles, fractions, seed, **kw)


@SPLITS.register("temporal")
def _by_time(smiles, y, times, fractions, seed, **kw) -> Split:  # type: ignore[no-untyped-def]
    if times is None:
        raise InputError("temporal split needs a time per row (a date or number column)")
    return temporal_split(times, fractions, smiles=smiles, seed=seed, **kw)


@SPLITS.register("stratified")
def _by_class(smiles, y, times, fractions, seed, **kw) -> Split:  # type: ignore[no-untyped-def]
    if y is None:
        raise InputError("stratified split needs class labels (a target column)")
    labels = np.asarray(y, dtype=object)
    if labels.ndim == 2 and labels.shape[1] == 1:
        labels = labels[:, 0]
    if labels.ndim != 1:
        raise InputError(f"stratified split needs one label column, got shape {labels.shape}")
    return stratified_split(list(labels), fractions, seed, smiles=smiles, **kw)


@SPLITS.register("random")
def _at_random(smiles, y, times, fractions, seed, **kw) -> Split:  # type: ignore[no-untyped-def]
    if smiles is not None:
        return random_split(list(smiles), fractions, seed, **kw)
    for other in (y, times):
        if other is not None:
            return random_split(len(other), fractions, seed, **kw)
    raise InputError("random split needs SMILES or the number of rows")


#: the built-in method names (``SPLITS.names()`` also lists plugins')
METHODS = tuple(SPLITS.names())
