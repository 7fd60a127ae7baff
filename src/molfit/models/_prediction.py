"""The Prediction record: what a model says about each input row, with its uncertainty."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd


def _as_2d(a: np.ndarray | None) -> np.ndarray | None:
    if a is None:
        return None
    a = np.asarray(a)
    return a[:, None] if a.ndim == 1 else a


@dataclass
class Prediction:
    """Predictions for ``n`` input rows and ``n_tasks`` targets.

    Arrays are ``(n,)`` for a single target and ``(n, n_tasks)`` for several; rows that could not
    be predicted (unparseable SMILES) hold ``NaN`` and a message in :attr:`error`.

    Attributes:
        mean: regression: the predicted value (target units); classification: the predicted
            class (0 or 1, as float so missing rows can be ``NaN``).
        task: ``"regression"`` or ``"classification"``.
        targets: target names, one per task.
        std: the calibrated regression standard deviation (target units): the scale of the
            conformal interval, ``(upper - lower) / (2 z)`` with ``z`` the standard normal
            quantile at ``0.5 + coverage / 2``, so that ``mean ± z·std`` is the interval. Every
            model calibrated by :class:`molfit.uncertainty.CalibratedModel` has one, including
            models without a spread of their own (ridge, one deep network). ``None`` when
            nothing was calibrated.
        raw_std: the model's own spread (target units): per-tree std, GP posterior std,
            ensemble spread; ``None`` for models without one. Usually too small to be read as
            an error bar: use :attr:`std`.
        lower, upper: conformal interval bounds at :attr:`coverage` (target units), or ``None``.
        proba: classification probability of class 1 (calibrated when a calibrator was fitted).
        sets: classification conformal prediction sets, boolean ``(n, [n_tasks,] 2)``:
            ``sets[..., c]`` is true when class ``c`` is in the set.
        coverage: nominal coverage of intervals / sets (e.g. 0.9), or ``None``.
        similarity: maximum Tanimoto similarity of each row to the training set, ``(n,)``.
        in_domain: applicability-domain flag, ``(n,)`` bool.
        domain_note: why a row is out of domain ("" when in domain), ``(n,)``.
        error: per-row error message ("" for rows predicted), ``(n,)``.
    """

    mean: np.ndarray
    task: str = "regression"
    targets: list[str] = field(default_factory=lambda: ["y"])
    std: np.ndarray | None = None
    raw_std: np.ndarray | None = None
    lower: np.ndarray | None = None
    upper: np.ndarray | None = None
    proba: np.ndarray | None = None
    sets: np.ndarray | None = None
    coverage: float | None = None
    similarity: np.ndarray | None = None
    in_domain: np.ndarray | None = None
    domain_note: np.ndarray | None = None
    error: np.ndarray | None = None

    def __len__(self) -> int:
        return len(self.mean)

    @property
    def n_tasks(self) -> int:
        return 1 if np.ndim(self.mean) == 1 else int(np.shape(self.mean)[1])

    def to_frame(self, smiles: Sequence[str] | None = None) -> pd.DataFrame:
        """One row per input row.

        Columns (single target): ``prediction``, ``std`` (calibrated), ``lower``, ``upper``,
        ``raw_std`` (the model's own spread; present for calibrated records and for models
        with a spread) (regression) or
        ``probability``, ``prediction``, ``prediction_set`` (classification); then
        ``similarity``, ``in_domain``, ``domain_note``, ``error``. With several targets the
        per-target columns are prefixed by the target name (``logBB_prediction``).
        """
        frame = pd.DataFrame(index=range(len(self)))
        if smiles is not None:
            frame["smiles"] = list(smiles)
        single = self.n_tasks == 1
        missing = np.full((len(self), self.n_tasks), np.nan)
        columns = {
            "prediction": _as_2d(self.mean),
            # std is always present for regression, raw_std whenever the record was
            # calibrated or the model has a spread (NaN where a model gives none): a stable
            # schema for the same kind of run
            "std": _as_2d(self.std) if self.std is not None else missing,
            "lower": _as_2d(self.lower),
            "upper": _as_2d(self.upper),
            "raw_std": _as_2d(self.raw_std)
            if self.raw_std is not None
            else (missing if self.coverage is not None else None),
        }
        if self.task == "classification":
            columns = {"probability": _as_2d(self.proba), "prediction": _as_2d(self.mean)}
        sets = None
        if self.sets is not None:
            sets = self.sets[:, None, :] if self.sets.ndim == 2 else self.sets
        for t, target in enumerate(self.targets):
            prefix = "" if single else f"{target}_"
            for name, values in columns.items():
                if values is not None:
                    frame[prefix + name] = values[:, t]
            if sets is not None:
                frame[prefix + "prediction_set"] = [
                    "|".join(str(c) for c in range(sets.shape[2]) if row[c]) for row in sets[:, t]
                ]
        if self.task == "classification":
            for target in self.targets:
                col = "prediction" if single else f"{target}_prediction"
                values = frame[col]
                frame[col] = pd.array(
                    [pd.NA if np.isnan(v) else int(v) for v in values], dtype="Int64"
                )
        if self.similarity is not None:
            frame["similarity"] = self.similarity
        if self.in_domain is not None:
            frame["in_domain"] = self.in_domain
        if self.domain_note is not None:
            frame["domain_note"] = self.domain_note
        frame["error"] = self.error if self.error is not None else ""
        return frame
