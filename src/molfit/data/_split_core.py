"""The :class:`Split` record and the helpers every splitter shares (fractions, sizes, groups).

A split is three sorted ``int64`` index arrays (train, valid, test) into the order of the input,
plus what is needed to reproduce and judge it: method, seed, fractions, parameters, the rows left
out (missing time or label) and the leakage figures. It is saved as plain JSON.
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from molfit.errors import InputError

PARTS = ("train", "valid", "test")
FORMAT = "molfit.split"
VERSION = 1

Fractions = tuple[float, float, float]


def normalize_fractions(fractions: Sequence[float]) -> Fractions:
    """Validate split fractions and return them as ``(train, valid, test)``.

    Args:
        fractions: three numbers ``(train, valid, test)``, or two ``(train, test)`` for a split
            without a validation part. Each must be finite and >= 0, and they must sum to 1.

    Raises:
        InputError: wrong count, a negative or non-finite value, a zero train fraction, or a sum
            that is not 1 (within 1e-6).
    """
    values = [float(f) for f in fractions]
    if len(values) not in (2, 3):
        raise InputError(
            f"fractions: expected 3 numbers (train, valid, test) or 2 (train, test), "
            f"got {len(values)}: {values}"
        )
    if any(not math.isfinite(v) or v < 0 for v in values):
        raise InputError(f"fractions must be finite and >= 0, got {values}")
    total = sum(values)
    if abs(total - 1.0) > 1e-6:
        raise InputError(f"fractions must sum to 1, got {values} (sum {total:.6g})")
    if values[0] <= 0:
        raise InputError(f"the train fraction must be > 0, got {values}")
    if len(values) == 2:
        values = [values[0], 0.0, values[1]]
    return (values[0], values[1], values[2])


def target_sizes(n: int, fractions: Fractions) -> tuple[int, int, int]:
    """Part sizes for ``n`` items: the largest-remainder rounding of ``n * fractions``.

    The sizes sum to ``n`` and each is ``floor`` or ``ceil`` of its exact share; remainders are
    handed out largest first, ties to the earlier part (train, then valid, then test). A part
    with fraction 0 stays empty.
    """
    exact = [n * f for f in fractions]
    sizes = [math.floor(e) for e in exact]
    # rounded so that float noise (642 * 0.2 = 128.40000000000001) does not break ties
    order = sorted(range(3), key=lambda p: (-round(exact[p] - sizes[p], 9), p))
    for p in order[: n - sum(sizes)]:
        sizes[p] += 1
    return (sizes[0], sizes[1], sizes[2])


def assign_groups(
    groups: Sequence[Sequence[int]], order: Sequence[int], targets: tuple[int, int, int]
) -> list[list[int]]:
    """Place whole groups into train, valid and test, in the given order, never splitting one.

    Each group goes to the first part (train, valid, test) it fits into without passing that
    part's target; a group that fits nowhere goes to the part with the most room left. Hence no
    part misses its target by as much as the largest group: once a group fits nowhere, every part
    has less room than that group, and room only shrinks.

    Returns:
        Three lists of item indices.
    """
    parts: list[list[int]] = [[], [], []]
    room = list(targets)
    for g in order:
        members = groups[g]
        size = len(members)
        fits = [p for p in range(3) if targets[p] > 0 and size <= room[p]]
        p = fits[0] if fits else max(range(3), key=lambda q: (room[q], -q))
        parts[p].extend(members)
        room[p] -= size
    return parts


def _as_index(values: Any) -> np.ndarray:
    return np.sort(np.asarray(list(values), dtype=np.int64))


def _jsonable(value: Any) -> Any:
    """Plain JSON types for numpy scalars/arrays nested in dicts and lists."""
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, np.ndarray):
        return [_jsonable(v) for v in value.tolist()]
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, np.floating):
        return float(value)
    if isinstance(value, np.bool_):
        return bool(value)
    return value


@dataclass
class Split:
    """A train/valid/test split: index arrays into the input order, and how it was made.

    Attributes:
        train, valid, test: sorted ``int64`` row indices (0-based, input order); ``valid`` is
            empty for a two-part split.
        method: ``"random"``, ``"scaffold"``, ``"temporal"``, ``"cluster"`` or ``"stratified"``.
        seed: the seed used (recorded even where the method draws nothing).
        fractions: ``(train, valid, test)`` as requested; actual sizes are in :attr:`sizes`.
        n: number of input rows, or ``None`` if unknown.
        excluded: rows left out of every part (missing time or label), sorted ``int64``.
        leakage: similarity of valid/test to train, from :func:`leakage_report` (empty when the
            split was made without molecules).
        groups: per-row group of group-preserving methods (scaffold SMILES, cluster number,
            time, class label), or ``None``.
        params: the method's other settings (threshold, balanced, ...), for reproducibility.
    """

    train: np.ndarray
    valid: np.ndarray
    test: np.ndarray
    method: str
    seed: int = 0
    fractions: Fractions = (0.8, 0.1, 0.1)
    n: int | None = None
    excluded: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    leakage: dict[str, Any] = field(default_factory=dict)
    groups: list[Any] | None = None
    params: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.train = _as_index(self.train)
        self.valid = _as_index(self.valid)
        self.test = _as_index(self.test)
        self.excluded = _as_index(self.excluded)
        self.fractions = tuple(float(f) for f in self.fractions)  # type: ignore[assignment]
        self.validate()

    @property
    def sizes(self) -> dict[str, int]:
        """Number of rows in each part: ``{"train": ..., "valid": ..., "test": ...}``."""
        return {p: len(getattr(self, p)) for p in PARTS}

    def parts(self) -> dict[str, np.ndarray]:
        """The three index arrays by name."""
        return {p: getattr(self, p) for p in PARTS}

    def validate(self) -> None:
        """Check that the parts are disjoint and, when ``n`` is known, cover every row.

        Raises:
            InputError: an index repeated within or across parts, out of ``[0, n)``, or a row
                that is in no part and not listed as excluded.
        """
        arrays = [self.train, self.valid, self.test, self.excluded]
        names = [*PARTS, "excluded"]
        for name, arr in zip(names, arrays, strict=True):
            if len(arr) and np.any(np.diff(arr) == 0):
                raise InputError(f"split: part '{name}' repeats an index")
            if len(arr) and arr[0] < 0:
                raise InputError(f"split: part '{name}' has a negative index {int(arr[0])}")
            if self.n is not None and len(arr) and arr[-1] >= self.n:
                raise InputError(
                    f"split: part '{name}' has index {int(arr[-1])} >= n = {self.n} rows"
                )
        everything = np.concatenate(arrays)
        unique = np.unique(everything)
        if len(unique) != len(everything):
            shared = [
                f"{a}/{b}"
                for i, a in enumerate(names)
                for b, arr_b in zip(names[i + 1 :], arrays[i + 1 :], strict=True)
                if np.intersect1d(arrays[i], arr_b).size
            ]
            raise InputError(f"split: parts overlap ({', '.join(shared)})")
        if self.n is not None and len(unique) != self.n:
            missing = np.setdiff1d(np.arange(self.n), unique)
            raise InputError(
                f"split: {len(missing)} of {self.n} rows are in no part "
                f"(first: index {int(missing[0])})"
            )

    def reindex(self, rows: Sequence[int] | np.ndarray, n: int) -> Split:
        """The same split expressed in the rows of a larger table.

        Use it when the split was made on a subset, e.g. the rows of a file that parsed:
        ``rows[i]`` is the position in the full table of the subset's row ``i``. Rows of the
        full table not in ``rows`` join ``excluded``; ``groups`` gets ``None`` for them.

        Args:
            rows: ``(len(subset),)`` distinct indices into the full table.
            n: number of rows of the full table.
        """
        rows = np.asarray(rows, dtype=np.int64)
        if self.n is not None and len(rows) != self.n:
            raise InputError(f"reindex: {len(rows)} row numbers for a split of {self.n} rows")
        left_out = np.setdiff1d(np.arange(n), rows)
        groups = None
        if self.groups is not None:
            groups = [None] * n
            for i, g in zip(rows.tolist(), self.groups, strict=True):
                groups[i] = g
        return Split(
            train=rows[self.train],
            valid=rows[self.valid],
            test=rows[self.test],
            method=self.method,
            seed=self.seed,
            fractions=self.fractions,
            n=n,
            excluded=np.concatenate([rows[self.excluded], left_out]),
            leakage=self.leakage,
            groups=groups,
            params=self.params,
        )

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict (lists of ints, plain floats)."""
        return _jsonable(
            {
                "format": FORMAT,
                "version": VERSION,
                "method": self.method,
                "seed": self.seed,
                "fractions": list(self.fractions),
                "n": self.n,
                "sizes": self.sizes,
                "train": self.train,
                "valid": self.valid,
                "test": self.test,
                "excluded": self.excluded,
                "params": self.params,
                "leakage": self.leakage,
                "groups": self.groups,
            }
        )

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Split:
        """Rebuild a split from :meth:`to_dict` output; validates it.

        Raises:
            InputError: not a molfit split, or a required field is missing.
        """
        if data.get("format", FORMAT) != FORMAT:
            raise InputError(f"not a molfit split (format {data.get('format')!r})")
        missing = [k for k in ("train", "test", "method") if k not in data]
        if missing:
            raise InputError(f"split: missing field(s) {', '.join(missing)}")
        return cls(
            train=data["train"],
            valid=data.get("valid", []),
            test=data["test"],
            method=data["method"],
            seed=int(data.get("seed", 0)),
            fractions=tuple(data.get("fractions", (0.8, 0.1, 0.1))),  # type: ignore[arg-type]
            n=data.get("n"),
            excluded=data.get("excluded", []),
            leakage=data.get("leakage") or {},
            groups=data.get("groups"),
            params=data.get("params") or {},
        )

    def save(self, path: str | os.PathLike[str]) -> Path:
        """Write the split as JSON, atomically (temporary file, then rename). Returns the path."""
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        # a sibling temporary file, renamed over the target: readers never see half a file
        tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        try:
            with open(tmp, "w", encoding="utf-8") as fh:
                json.dump(self.to_dict(), fh, indent=1)
                fh.write("\n")
            os.replace(tmp, path)
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise
        return path

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> Split:
        """Read a split written by :meth:`save`.

        Raises:
            InputError: the file is missing or is not valid JSON of a molfit split.
        """
        path = Path(path)
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise InputError(f"{path}: split file not found") from None
        except json.JSONDecodeError as exc:
            raise InputError(f"{path}: not valid JSON ({exc.msg}, line {exc.lineno})") from None
        if not isinstance(data, dict):
            raise InputError(f"{path}: not a molfit split (top level is not an object)")
        return cls.from_dict(data)
