"""The 3D branch of ``molfit train / predict / evaluate``: geometric models on structures.

:func:`molfit.workflows._pipeline.train_run` hands over here when the model's class has
``input_kind = "structures"`` (``schnet``, ``painn``, ``dimenet++``). The model trains on the
dataset's 3D structures (QM9's DFT geometries; the frames of an XYZ/extxyz file; ETKDG conformers
when a table only has SMILES), with early stopping on the validation part, and is scored on the
test part: MAE, RMSE, R² in the target's unit (plus meV for eV targets) and, with
``ensemble > 1``, the NLL and miscalibration area of the members' std. There is no conformal
calibration and no Tanimoto applicability domain here: both are molecule/fingerprint-specific.

Decisions:

- Split: ``random`` by default (the QM9 convention of SchNet, PaiNN, DimeNet++); any method of
  :func:`molfit.data.split.make_split` that needs SMILES (``scaffold``, ``cluster``...) works when
  the data has a SMILES column, and ``predefined`` when it has a ``split`` column.
- Readout: when ``--param readout=...`` is not given it follows the target: ``mu`` → ``dipole``,
  ``homo``/``lumo``/``gap`` → ``mean`` (intensive), everything else → ``sum`` (extensive).
- ``limit``: a seeded random subset of that many labelled rows (quick looks and tests).

The run directory holds ``model/`` (:func:`molfit.models.save_model`; its ``config.json`` carries
``run.input_kind = "structures"``, which is how predict/evaluate recognise a 3D run),
``split.json``, ``metrics.json``, ``test_predictions.csv`` (with a ``geometry`` column) and
``report.html``; it is written to a temporary folder and renamed into place.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from molfit.data import find_smiles_column, read_input_table
from molfit.errors import InputError
from molfit.evaluate import parity_figures, regression_metrics, uncertainty_metrics, write_report
from molfit.structures import XYZ_SUFFIXES
from molfit.workflows._pipeline import (
    RunResult,
    _split,
    _units,
    build_run_dir,
    checked_params,
    library_versions,
    write_csv_atomic,
)

INTENSIVE = frozenset({"homo", "lumo", "gap"})
DIPOLE = frozenset({"mu"})


def is_structure_model(name: str) -> bool:
    """Whether the registered model ``name`` takes 3D structures (``input_kind``)."""
    from molfit.models import model_class

    return getattr(model_class(name), "input_kind", "molecules") == "structures"


def limit_rows(dataset: Any, limit: int | None, seed: int) -> Any:
    """A seeded random subset of ``limit`` rows (kept in their original order); all if ``None``
    or ``limit >= len(dataset)``."""
    if limit is None or limit >= len(dataset):
        return dataset
    if limit < 3:
        raise InputError(f"--limit must be at least 3 (train, valid and test rows), got {limit}")
    pick = np.sort(np.random.default_rng(seed).choice(len(dataset), size=limit, replace=False))
    return dataset.subset(pick)


def load_structure_data(
    data: str | os.PathLike[str],
    *,
    smiles_column: str | None = None,
    targets: list[str] | None = None,
) -> Any:
    """A built-in dataset by name (``qm9``), an XYZ/extxyz file (target ``energy``) or a table
    with SMILES (structures are then generated per row by the model)."""
    from molfit import data as molfit_data
    from molfit.workflows._pipeline import load_data

    path = Path(data)
    if path.suffix.lower() in XYZ_SUFFIXES:
        dataset = molfit_data.read_structures(path)
        if targets:
            missing = [t for t in targets if t not in dataset.frame.columns]
            if missing:
                raise InputError(
                    f"{path}: no value(s) {missing} on the comment lines; "
                    f"available: {[c for c in dataset.frame.columns if c != 'frame']}"
                )
            dataset.target_columns = list(targets)
    elif path.exists():
        dataset = load_data(path, smiles_column=smiles_column, targets=targets, task="regression")
    else:
        if any(sep in str(data) for sep in ("/", "\\", ".csv", ".tsv", ".parquet")):
            raise InputError(f"{data}: no such file")
        # 3D models need no SMILES validation: the structures are the input
        dataset = molfit_data.load(str(data))
        if targets:
            missing = [t for t in targets if t not in dataset.frame.columns]
            if missing:
                raise InputError(
                    f"{data}: no column(s) {missing}; targets available: {dataset.target_columns}"
                )
            dataset.target_columns = list(targets)
    if len(dataset) == 0:
        raise InputError(f"{data}: no rows to use")
    return dataset


def units_of(dataset: Any) -> dict[str, str]:
    """Unit of each target (an XYZ file's ``energy`` is in eV, as ASE reads it)."""
    units = _units(dataset)
    return {
        t: u or ("eV" if t == "energy" and dataset.info is None else u) for t, u in units.items()
    }


def structures_of(dataset: Any) -> Any:
    """What a geometric model is fitted on: the dataset's structures, else its SMILES."""
    return dataset.structures if dataset.structures is not None else dataset.smiles


def _labels(dataset: Any) -> tuple[str, list[str]]:
    """The name column of the test table and a name per row: the SMILES, ``file#frame`` for an
    XYZ file, else ``structure k``."""
    if dataset.smiles_column in dataset.frame.columns:
        return "smiles", dataset.smiles
    if "frame" in dataset.frame.columns and dataset.report is not None:
        return "structure", [f"{dataset.report.source}#{f}" for f in dataset.frame["frame"]]
    return "structure", [f"structure {k}" for k in range(len(dataset))]


def default_readout(targets: list[str]) -> str:
    """``dipole`` for QM9's ``mu`` alone, ``mean`` when every target is intensive, else ``sum``."""
    if len(targets) == 1 and targets[0] in DIPOLE:
        return "dipole"
    if all(t in INTENSIVE for t in targets):
        return "mean"
    return "sum"


def score_3d(
    y: np.ndarray, mean: np.ndarray, std: np.ndarray | None, targets: list[str], units: dict
) -> dict[str, dict[str, float]]:
    """MAE/RMSE/R²/Spearman per target (target units; ``mae_meV``/``rmse_meV`` for eV) and, with
    an ensemble std, NLL and miscalibration area."""
    mean2 = mean.reshape(len(y), -1)
    std2 = None if std is None else std.reshape(len(y), -1)
    out = {}
    for t, target in enumerate(targets):
        m = regression_metrics(y[:, t], mean2[:, t])
        if std2 is not None and np.isfinite(std2[:, t]).any():
            m.update(uncertainty_metrics(y[:, t], mean2[:, t], std2[:, t], None, None))
        if units.get(target) == "eV" and "mae" in m:
            m["mae_meV"] = 1000.0 * m["mae"]
            m["rmse_meV"] = 1000.0 * m["rmse"]
        out[target] = m
    return out


def train_run_3d(
    data: str | os.PathLike[str],
    *,
    smiles_column: str | None = None,
    targets: list[str] | None = None,
    model: str = "schnet",
    model_params: dict[str, Any] | None = None,
    split: str | None = None,
    seed: int = 0,
    limit: int | None = None,
    out: str | os.PathLike[str] | None = None,
    progress: bool = True,
) -> RunResult:
    """Train and test a 3D model (``schnet``, ``painn``, ``dimenet++``); write the run directory.

    Args:
        data: ``qm9``, an XYZ/extxyz file with energies, or a table with SMILES and targets.
        targets: target column(s); required when the data has several (QM9: e.g. ``U0``).
        model_params: estimator hyper-parameters (``epochs``, ``n_features``, ``ensemble``...).
        split: ``random`` (default), ``scaffold``, ``cluster``... or ``predefined``.
        limit: train/valid/test on a seeded random subset of this many labelled rows.

    Raises:
        InputError: unknown target or parameter, no target named, an unusable structure.
    """
    from molfit.models import get_model

    dataset = load_structure_data(data, smiles_column=smiles_column, targets=targets)
    if not dataset.target_columns:
        raise InputError(f"{data}: no target column; name one with --target")
    if len(dataset.target_columns) > 1 and not targets:
        raise InputError(
            f"{data} has {len(dataset.target_columns)} targets; name the one(s) to learn with "
            f"--target (e.g. --target {dataset.target_columns[0]}); available: "
            f"{dataset.target_columns}"
        )
    name = Path(str(data)).stem if Path(str(data)).exists() else str(data)
    keep = np.flatnonzero(np.isfinite(dataset.y).any(axis=1))
    if len(keep) < len(dataset):
        dataset = dataset.subset(keep)
    dataset = limit_rows(dataset, limit, seed)
    split = split or "random"
    if split == "random":
        from molfit.data.split import random_split

        the_split = random_split(len(dataset), seed=seed)
    else:
        the_split = _split(dataset, split, seed, dataset.y)
    params = checked_params(model, model_params)
    params.setdefault("readout", default_readout(list(dataset.target_columns)))
    params.setdefault("seed", seed)
    params.setdefault("progress_bar", progress)
    estimator = get_model(model, **params)
    return build_run_dir(
        out,
        f"{name}-{model}",
        lambda tmp: _train_into(tmp, dataset, the_split, estimator, model, seed, name, split),
    )


def _train_into(
    run: Path,
    dataset: Any,
    the_split: Any,
    estimator: Any,
    model_name: str,
    seed: int,
    name: str,
    split_method: str,
) -> RunResult:
    from molfit.models import save_model

    targets = list(dataset.target_columns)
    units = units_of(dataset)
    single = len(targets) == 1
    y = dataset.y
    tr, va, te = (
        np.asarray(p, dtype=np.int64) for p in (the_split.train, the_split.valid, the_split.test)
    )
    X = structures_of(dataset)

    def part(idx: np.ndarray) -> Any:
        return [X[i] for i in idx] if isinstance(X, list) else X.subset(idx)

    def yy(idx: np.ndarray) -> np.ndarray:
        return y[idx, 0] if single else y[idx]

    t0 = time.perf_counter()
    if len(va):
        estimator.fit(part(tr), yy(tr), part(va), yy(va))
    else:
        estimator.fit(part(tr), yy(tr))
    fit_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    pred = estimator.predict_record(part(te), targets=targets)
    predict_s = time.perf_counter() - t0
    metrics = score_3d(y[te], pred.mean, pred.std, targets, units)
    config_extra = {
        "input_kind": "structures",
        "model": model_name,
        "dataset": name,
        "targets": {t: {"unit": units[t]} for t in targets},
        "target_names": targets,
        "task": "regression",
        "versions": library_versions(),
        "split": {"method": split_method, "seed": seed, "sizes": [len(tr), len(va), len(te)]},
        "metrics": metrics,
        "fit_seconds": fit_s,
        "history": getattr(estimator, "history_", []),
    }
    save_model(estimator, run / "model", extra={"run": config_extra})
    the_split.save(run / "split.json")
    (run / "metrics.json").write_text(
        json.dumps({"test": metrics, "fit_seconds": fit_s, "predict_seconds": predict_s}, indent=2)
    )
    column, labels = _labels(dataset)
    frame = pred.to_frame([labels[i] for i in te]).rename(columns={"smiles": column})
    if column == "structure" and dataset.structures is not None:  # frames of an XYZ file
        frame["geometry"] = frame["structure"]
    elif dataset.structures is not None:
        frame["geometry"] = frame["geometry"].replace("input", f"{name} (given coordinates)")
    ids = dataset.frame["index"].to_numpy()[te] if "index" in dataset.frame else te
    frame.insert(0, "index", ids)  # the dataset's own id (QM9's gdb number), else the row
    for t, target in enumerate(targets):
        frame.insert(2 + t, "measured" if single else f"measured_{target}", y[te, t])
    frame.to_csv(run / "test_predictions.csv", index=False)
    figures = {}
    mean2 = pred.mean.reshape(len(te), -1)
    std2 = None if pred.std is None else pred.std.reshape(len(te), -1)
    for t, target in enumerate(targets):
        s = None if std2 is None else std2[:, t]
        figs = parity_figures(y[te, t], mean2[:, t], s, units[target])
        figures.update({k if single else f"{k} — {target}": v for k, v in figs.items()})

    n_members = len(getattr(estimator, "members_", []))
    write_report(
        run / "report.html",
        title=f"molfit train {name} — {model_name}",
        summary={
            "dataset": name,
            "task": "regression (3D structures)",
            "targets": ", ".join(f"{t} [{units[t]}]" if units[t] else t for t in targets),
            "model": model_name,
            "hyper-parameters": estimator.get_params(),
            "split": f"{split_method} (seed {seed}): "
            f"{len(tr)} train / {len(va)} valid / {len(te)} test",
            "uncertainty": f"std of {n_members} ensemble members"
            if n_members > 1
            else "none (single model; use --ensemble N for a std)",
            "fit time (s)": fit_s,
            "predict time (s)": predict_s,
        },
        metrics={f"test — {t}": m for t, m in metrics.items()},
        figures=figures,
        leakage=getattr(the_split, "leakage", None),
    )
    return RunResult(run, metrics, "regression", fit_s, predict_s)


# -- predict / evaluate ---------------------------------------------------------------------------
def run_config(run_dir: str | os.PathLike[str]) -> tuple[Path, dict[str, Any]]:
    """The model directory of a run (or the model directory itself) and its ``config.json``."""
    run_dir = Path(run_dir)
    if not run_dir.is_dir():
        raise InputError(f"{run_dir}: no such run directory")
    model_dir = run_dir / "model" if (run_dir / "model").is_dir() else run_dir
    path = model_dir / "config.json"
    if not path.is_file():
        raise InputError(f"{run_dir}: not a run directory (no model/config.json)")
    try:
        return model_dir, json.loads(path.read_text())
    except json.JSONDecodeError as exc:
        raise InputError(f"{path}: not valid JSON ({exc})") from None


def is_structure_run(run_dir: str | os.PathLike[str]) -> bool:
    """Whether ``run_dir`` holds a 3D model (its config says ``input_kind: structures``);
    ``False`` for anything else, so the QSAR loader reports what is wrong with it."""
    try:
        _, config = run_config(run_dir)
    except InputError:
        return False
    run = config.get("run") or {}
    fitted = config.get("fitted") or {}
    return "structures" in (run.get("input_kind"), fitted.get("input_kind"))


def load_structure_run(run_dir: str | os.PathLike[str]) -> tuple[Any, list[str]]:
    """The fitted 3D model of a run and its target names."""
    from molfit.models import load_model

    model_dir, config = run_config(run_dir)
    model = load_model(model_dir)
    names = (config.get("run") or {}).get("target_names")
    return model, names or [f"y{t}" for t in range(model.n_tasks_)]


def predict_file_3d(
    run_dir: str | os.PathLike[str],
    input_path: str | os.PathLike[str],
    out: str | os.PathLike[str],
    *,
    smiles_column: str | None = None,
) -> pd.DataFrame:
    """Predict every structure of an XYZ/extxyz file, or every SMILES of a table (ETKDG+MMFF
    conformers); write ``out`` atomically.

    Returns the output table: ``structure`` (``file#frame``) or the SMILES column, then
    ``prediction``, ``std`` (NaN for a single model), ``geometry``
    (which coordinates were used) and ``error`` (why a row has no prediction).
    """
    from molfit.structures import as_structures

    model, targets = load_structure_run(run_dir)
    path = Path(input_path)
    if path.suffix.lower() in XYZ_SUFFIXES:
        if not path.is_file():
            raise InputError(f"{path}: no such file")
        labels = as_structures([str(path)], strict=False).labels
        pred = model.predict_record([str(path)], targets=targets)
        table = pred.to_frame(labels).rename(columns={"smiles": "structure"})
    else:
        frame = read_input_table(path)
        column = find_smiles_column(frame, smiles_column, str(path))
        smiles = frame[column].astype(str).tolist()
        pred = model.predict_record(smiles, targets=targets)
        table = pred.to_frame(smiles).rename(columns={"smiles": column})
    write_csv_atomic(table, out)
    return table


def evaluate_run_3d(
    run_dir: str | os.PathLike[str],
    data: str | os.PathLike[str],
    *,
    smiles_column: str | None = None,
    targets: list[str] | None = None,
) -> dict[str, dict[str, float]]:
    """Metrics of a run's 3D model on labelled structures (``qm9``, an extxyz file, a table)."""
    model, names = load_structure_run(run_dir)
    dataset = load_structure_data(data, smiles_column=smiles_column, targets=targets or names)
    if len(dataset.target_columns) != len(names):
        raise InputError(f"{data}: the model predicts {names}, not {dataset.target_columns}")
    pred = model.predict_record(structures_of(dataset), targets=names)
    units = dict(zip(names, units_of(dataset).values(), strict=True))
    metrics = score_3d(dataset.y, pred.mean, pred.std, names, units)
    n_failed = int((np.asarray(pred.error) != "").sum())
    for m in metrics.values():
        m["n_skipped"] = n_failed
    return metrics
