"""One pipeline behind ``molfit train``, ``molfit predict`` and ``molfit evaluate``, for molecule
and structure runs alike.

The input kind lives in an :class:`~molfit.workflows._inputs.InputAdapter` (chosen from the
model's ``input_kind`` when training, from the run's ``config.json`` afterwards); the run folder
in a :class:`~molfit.workflows._run_dir.RunDirectory`. Decisions that hold for every run:

- Rows without any label are left out of training, and how many each target used is recorded
  (``metrics.json["rows"]``) and printed.
- Extensive targets (total energies...) are also scored per atom and after subtracting
  per-element references fitted by least squares on the training rows (``*_per_atom``,
  ``r2_minus_references``): a total energy's R² is dominated by composition.
- Prediction and measured columns carry their unit in the header (``prediction [eV]``);
  dimensionless targets and class labels have bare names. The other columns of the input are kept
  as they are, so the output joins back on them.
- ``train_keys.json`` stores the InChIKeys (3D structures without SMILES: a geometry hash) of the
  molecules a model was fitted and calibrated on; ``evaluate`` counts evaluation rows among them
  and warns, since such rows give optimistic errors.
"""

from __future__ import annotations

import hashlib
import os
import sys
import time
from dataclasses import dataclass, field
from importlib.metadata import version
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from molfit.errors import InputError
from molfit.workflows._inputs import (
    InputAdapter,
    StructureInputs,
    adapter_for_kind,
    adapter_for_model,
    dataset_name,
    molecule_keys,
    target_kinds,
    target_units,
)
from molfit.workflows._output import CHUNK_ROWS, TableWriter, count_rows, iter_table
from molfit.workflows._run_dir import RunDirectory

MIN_TEST_ROWS = 2


@dataclass
class RunResult:
    """What :func:`train_run` produced: the directory, test metrics, timings (seconds) and how
    many rows each target used."""

    run_dir: Path
    metrics: dict[str, dict[str, float]]
    task: str
    fit_seconds: float
    predict_seconds: float
    rows: dict[str, Any] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    split_method: str = ""


@dataclass
class Evaluation:
    """What :func:`evaluate_run` found: metrics per target and warnings (training overlap...)."""

    metrics: dict[str, dict[str, float]]
    task: str
    n_rows: int
    n_overlap: int | None
    warnings: list[str] = field(default_factory=list)


@dataclass
class PredictSummary:
    """What :func:`predict_file` wrote: rows, failures (first messages kept), domain counts."""

    out: Path
    n_rows: int = 0
    n_failed: int = 0
    n_outside_domain: int = 0
    errors: list[str] = field(default_factory=list)
    n_standardized: int = 0


# -- small shared pieces ---------------------------------------------------------------------------
def library_versions() -> dict[str, str]:
    """Versions of the libraries that define a saved model's behaviour."""
    out = {}
    for dist in ("molfit", "numpy", "scikit-learn", "rdkit", "scipy", "torch"):
        try:
            out[dist] = version(dist)
        except Exception:  # a missing distribution is worth recording as such
            out[dist] = "unknown"
    return out


def data_hash(names: list[str], y: np.ndarray) -> str:
    """sha256 of the row names (SMILES) and labels a model saw (first 16 hex digits)."""
    h = hashlib.sha256()
    h.update("\n".join(names).encode())
    h.update(np.ascontiguousarray(y, dtype=np.float64).tobytes())
    return h.hexdigest()[:16]


def checked_params(model: str, params: dict[str, Any] | None) -> dict[str, Any]:
    """A copy of ``params`` checked against the model's parameters: unknown names and values of
    the wrong type (``n_estimators=abc``) raise :class:`InputError`."""
    from molfit.models import get_model

    params = dict(params or {})
    known = get_model(model).get_params()
    unknown = sorted(set(params) - set(known))
    if unknown:
        raise InputError(
            f"model {model!r} has no parameter(s) {unknown}; its parameters: {sorted(known)}"
        )
    for key, value in params.items():
        default = known[key]
        if isinstance(default, bool):
            ok = isinstance(value, bool)
            want = "true or false"
        elif isinstance(default, int):
            ok = isinstance(value, int) and not isinstance(value, bool)
            want = "an integer"
        elif isinstance(default, float):
            ok = isinstance(value, int | float) and not isinstance(value, bool)
            want = "a number"
        else:
            continue
        if not ok and value is not None:
            raise InputError(
                f"--param {key}={value!r}: {model} expects {want} (default {default!r})"
            )
    return params


def label_counts(dataset: Any) -> dict[str, dict[str, int]]:
    """Per target: rows with a label (``used``) and without (``missing``)."""
    y = dataset.y
    out = {}
    for t, target in enumerate(dataset.target_columns):
        used = int(np.isfinite(y[:, t]).sum())
        out[target] = {"used": used, "missing": len(y) - used}
    return out


def unit_label(name: str, unit: str) -> str:
    """``"prediction [eV]"``; the bare name for a dimensionless target."""
    return f"{name} [{unit}]" if unit else name


def _with_units(frame: pd.DataFrame, targets: list[str], units: dict[str, str]) -> pd.DataFrame:
    single = len(targets) == 1
    rename = {}
    for target in targets:
        prefix = "" if single else f"{target}_"
        for base in ("prediction", "std", "lower", "upper", "measured"):
            col = prefix + base
            if col in frame.columns and units.get(target):
                rename[col] = unit_label(col, units[target])
    return frame.rename(columns=rename)


# -- standardization -------------------------------------------------------------------------------
def standardize_all(smiles: list[str]) -> tuple[list[str], list[str]]:
    """Each SMILES through :func:`molfit.chem.standardize`; returns the new SMILES and a note per
    row (``""`` when nothing changed, else what changed; unparseable rows are left as given)."""
    from rdkit import Chem

    from molfit.chem import standardize

    new, notes = [], []
    for s in smiles:
        try:
            result = standardize(s)
        except Exception:  # the row's own parse error is reported by the model later
            new.append(s)
            notes.append("")
            continue
        changes = None
        if isinstance(result, tuple):
            result, changes = result[0], result[1]
        out = Chem.MolToSmiles(result) if not isinstance(result, str) else result
        before = Chem.MolFromSmiles(s)
        same = before is not None and Chem.MolToSmiles(before) == out
        if changes:
            note = "; ".join(map(str, changes)) if isinstance(changes, list | tuple) else changes
        else:
            note = "" if same else f"standardized {s} -> {out}"
        new.append(out)
        notes.append(str(note))
    return new, notes


# -- scoring ---------------------------------------------------------------------------------------
def fit_references(compositions: list[dict[int, int]], y: np.ndarray) -> dict[int, float]:
    """Per-element reference values (target unit per atom) by least squares on labelled rows."""
    rows = [k for k in range(len(y)) if np.isfinite(y[k]) and compositions[k]]
    elements = sorted({z for k in rows for z in compositions[k]})
    if not rows or not elements:
        return {}
    A = np.array([[compositions[k].get(z, 0) for z in elements] for k in rows], dtype=float)
    coef, *_ = np.linalg.lstsq(A, y[rows], rcond=None)
    return dict(zip(elements, coef.tolist(), strict=True))


def extensive_metrics(
    y: np.ndarray,
    mean: np.ndarray,
    compositions: list[dict[int, int]],
    references: dict[int, float] | None,
) -> dict[str, float]:
    """Per-atom MAE/RMSE/R² and, with ``references``, R²/MAE of the reference-subtracted values."""
    from molfit.evaluate import regression_metrics

    n_atoms = np.array([sum(c.values()) for c in compositions], dtype=float)
    ok = np.isfinite(y) & np.isfinite(mean) & (n_atoms > 0)
    out: dict[str, float] = {}
    if ok.sum() < 2:
        return out
    per = regression_metrics(y[ok] / n_atoms[ok], mean[ok] / n_atoms[ok])
    out.update({"mae_per_atom": per["mae"], "rmse_per_atom": per["rmse"], "r2_per_atom": per["r2"]})
    if references:
        base = np.array(
            [sum(references.get(z, np.nan) * c for z, c in comp.items()) for comp in compositions]
        )
        ok2 = ok & np.isfinite(base)
        if ok2.sum() >= 2:
            sub = regression_metrics(y[ok2] - base[ok2], mean[ok2] - base[ok2])
            out["r2_minus_references"] = sub["r2"]
    return out


def score(
    y: np.ndarray,
    pred: Any,
    targets: list[str],
    *,
    units: dict[str, str] | None = None,
    kinds: dict[str, str] | None = None,
    compositions: list[dict[int, int]] | None = None,
    references: dict[str, dict[int, float]] | None = None,
) -> dict[str, dict[str, float]]:
    """Metrics per target: accuracy, calibration of intervals/probabilities/sets or of an
    ensemble std; ``mae_meV``/``rmse_meV`` for eV targets; per-atom figures for extensive ones."""
    from molfit.evaluate import (
        classification_metrics,
        regression_metrics,
        set_metrics,
        uncertainty_metrics,
    )

    units, kinds = units or {}, kinds or {}
    out = {}
    for t, target in enumerate(targets):

        def col(a: np.ndarray | None, t: int = t) -> np.ndarray | None:
            if a is None:
                return None
            a = np.asarray(a)
            return a if pred.n_tasks == 1 else a.reshape(len(y), -1)[:, t]

        yt = y[:, t]
        if pred.task == "classification":
            m = classification_metrics(yt, col(pred.proba))
            if pred.sets is not None:
                m.update(set_metrics(yt, pred.sets if pred.n_tasks == 1 else pred.sets[:, t]))
        else:
            mean = col(pred.mean)
            m = regression_metrics(yt, mean)
            lower, upper, std = col(pred.lower), col(pred.upper), col(pred.std)
            if lower is not None and getattr(pred, "coverage", None):
                # the Gaussian implied by the conformal interval: calibrated, unlike a raw
                # per-tree spread that can be exactly 0 on training look-alikes
                from molfit.uncertainty import calibrated_std

                std = calibrated_std(lower, upper, pred.coverage)
            if lower is not None or (std is not None and np.isfinite(std).any()):
                m.update(uncertainty_metrics(yt, mean, std, lower, upper))
            if units.get(target) == "eV" and "mae" in m:
                m["mae_meV"] = 1000.0 * m["mae"]
                m["rmse_meV"] = 1000.0 * m["rmse"]
            if kinds.get(target) == "extensive" and compositions is not None:
                refs = (references or {}).get(target)
                m.update(extensive_metrics(yt, mean, compositions, refs))
        labelled = np.isfinite(yt)
        if getattr(pred, "in_domain", None) is not None and labelled.any():
            m["in_domain_fraction"] = float(pred.in_domain[labelled].mean())
        out[target] = m
    return out


def flat_force_metrics(numbers: Any, reference: Any, predicted: Any) -> dict[str, float]:
    """:func:`molfit.evaluate.force_metrics` as flat keys (meV/Å): overall MAE/RMSE, atom
    count and ``forces_mae_meV_per_A_<element>`` per element."""
    from molfit.evaluate import force_metrics

    m = force_metrics(numbers, reference, predicted)
    per = m.pop("forces_per_element")
    m.update({f"forces_mae_meV_per_A_{el}": v["mae_meV_per_A"] for el, v in per.items()})
    return m


def _figures(y: np.ndarray, pred: Any, targets: list[str], units: dict[str, str]) -> dict[str, str]:
    from molfit.evaluate import classification_figures, parity_figures, regression_figures

    single = len(targets) == 1
    figures: dict[str, str] = {}
    for t, target in enumerate(targets):
        if pred.task == "classification":
            figs = classification_figures(y[:, t], pred, t)
        elif pred.lower is not None:
            figs = regression_figures(
                y[:, t], pred, t, f"[{units[target]}]" if units[target] else ""
            )
        else:
            mean = np.asarray(pred.mean).reshape(len(y), -1)[:, t]
            std = None if pred.std is None else np.asarray(pred.std).reshape(len(y), -1)[:, t]
            figs = parity_figures(y[:, t], mean, std, units[target])
        figures.update({k if single else f"{k} — {target}": v for k, v in figs.items()})
    return figures


# -- splitting -------------------------------------------------------------------------------------
def _source_rows(dataset: Any) -> np.ndarray:
    """Row of the source file/dataset of each row of ``dataset`` (readers drop bad rows)."""
    report = dataset.report
    if report is None or not report.bad_rows or not report.n_rows:
        return np.arange(len(dataset))
    rows = np.setdiff1d(np.arange(report.n_rows), np.asarray(report.bad_rows) - 1)
    return rows if len(rows) == len(dataset) else np.arange(len(dataset))


def make_run_split(
    dataset: Any,
    adapter: InputAdapter,
    method: str,
    seed: int,
    *,
    split_file: str | os.PathLike[str] | None = None,
    time_column: str | None = None,
    source_rows: np.ndarray | None = None,
) -> Any:
    """The train/valid/test split of ``dataset`` (positions into it).

    ``split_file``: JSON written by ``molfit data split --out`` (or a run's ``split.json``); its
    indices are rows of the source, mapped here to the rows kept. ``predefined`` reads a
    ``split`` column; ``temporal`` needs ``time_column``.
    """
    from molfit.data.split import Split, make_split, random_split

    if split_file is not None:
        given = Split.load(split_file)
        rows = source_rows if source_rows is not None else np.arange(len(dataset))
        where = {int(r): k for k, r in enumerate(rows)}
        parts = {}
        for part in ("train", "valid", "test"):
            idx = [where[int(i)] for i in getattr(given, part) if int(i) in where]
            parts[part] = np.asarray(idx, dtype=np.int64)
        if given.n is not None and source_rows is not None and int(given.n) < int(rows.max() + 1):
            raise InputError(
                f"{split_file}: written for {given.n} rows, but the data has more; "
                "was it made for another file?"
            )
        return Split(
            train=parts["train"],
            valid=parts["valid"],
            test=parts["test"],
            method=given.method,
            seed=given.seed,
            params={"split_file": str(split_file)},
        )
    if method == "predefined":
        if "split" not in dataset.frame.columns:
            raise InputError("--split predefined needs a 'split' column (train/valid/test)")
        parts = dataset.frame["split"].astype(str).str.lower().to_numpy()
        idx = {p: np.flatnonzero(parts == p) for p in ("train", "valid", "test")}
        if not len(idx["train"]) or not len(idx["test"]):
            raise InputError("the 'split' column needs 'train' and 'test' rows")
        return Split(train=idx["train"], valid=idx["valid"], test=idx["test"], method="predefined")
    if method == "random" and adapter.kind == "structures":
        return random_split(len(dataset), seed=seed)
    kw: dict[str, Any] = {"seed": seed}
    if method == "temporal":
        if time_column is None:
            raise InputError("--split temporal: name the date or number column with --time-column")
        if time_column not in dataset.frame.columns:
            raise InputError(
                f"--time-column {time_column!r}: no such column; "
                f"available: {list(dataset.frame.columns)}"
            )
        kw["times"] = dataset.frame[time_column].tolist()
    if method == "stratified":
        kw["y"] = dataset.y[:, 0]
    kw["smiles"] = dataset.smiles if method != "random" or adapter.kind == "molecules" else None
    if kw["smiles"] is None:
        return random_split(len(dataset), seed=seed)
    return make_split(method, **kw)


# -- train -----------------------------------------------------------------------------------------
def train_run(
    data: str | os.PathLike[str],
    *,
    smiles_column: str | None = None,
    targets: list[str] | None = None,
    task: str | None = None,
    model: str = "extratrees",
    model_params: dict[str, Any] | None = None,
    runtime: Any = None,
    split: str | None = None,
    split_file: str | os.PathLike[str] | None = None,
    time_column: str | None = None,
    seed: int = 0,
    coverage: float = 0.9,
    method: str = "auto",
    domain_neighbours: int = 1,
    out: str | os.PathLike[str] | None = None,
    progress: bool = True,
    limit: int | None = None,
    standardize: bool = False,
) -> RunResult:
    """Train, calibrate (molecules) and test a model; write the run directory.

    Args:
        data: a built-in dataset name or a file (table of SMILES; XYZ/extxyz for 3D models).
        targets: label column(s); 3D models need one named when the data has several.
        model: registry name (:func:`molfit.models.available_models`).
        model_params: estimator hyper-parameters (checked for names and types).
        runtime: :class:`molfit.train.Runtime` for deep models (devices, strategy...), passed to
            ``fit`` and never saved.
        split: ``scaffold`` (default for molecules), ``random`` (default for 3D), ``cluster``,
            ``stratified``, ``temporal`` (with ``time_column``) or ``predefined``.
        split_file: a split JSON from ``molfit data split --out`` (source-row indices).
        limit: a seeded random subset of that many labelled rows.
        standardize: pass every SMILES through :func:`molfit.chem.standardize` first.
        method: conformal method of molecule models (``auto``, ``split``, ``cv+``,
            ``jackknife+``, ``mondrian``; see :class:`molfit.uncertainty.CalibratedModel`).
        domain_neighbours: molecule models: the applicability-domain similarity is the mean
            Tanimoto similarity to this many nearest training molecules.

    Raises:
        InputError: bad data, columns, parameters, or too few rows to test on.
    """
    adapter = adapter_for_model(model)
    params = checked_params(model, model_params)
    _refuse_unlabelled(data)
    if isinstance(adapter, StructureInputs):
        adapter.targets_named = bool(targets)  # type: ignore[attr-defined]
    dataset = adapter.load(data, smiles_column=smiles_column, targets=targets, task=task)
    if len(dataset) == 0:
        raise InputError(f"{data}: no rows to use")
    if not dataset.target_columns:
        raise InputError(f"{data}: no target column; name one with --target")
    task = task or dataset.task
    name = dataset_name(data)
    notes: list[str] = []
    source_rows = _source_rows(dataset)
    n_read = len(dataset)
    counts = label_counts(dataset)
    for target, c in counts.items():
        if c["missing"]:
            notes.append(
                f"{target}: {c['used']} of {n_read} rows have a label; "
                f"{c['missing']} without one are left out"
            )
    keep = np.flatnonzero(np.isfinite(dataset.y).any(axis=1))
    if len(keep) < len(dataset):
        dataset = dataset.subset(keep)
        source_rows = source_rows[keep]
    if limit is not None and limit < 3:
        raise InputError(f"--limit must be at least 3 (train, valid and test rows), got {limit}")
    if limit is not None and limit < len(dataset):
        pick = np.sort(np.random.default_rng(seed).choice(len(dataset), size=limit, replace=False))
        dataset, source_rows = dataset.subset(pick), source_rows[pick]
    n_standardized = 0
    if standardize and dataset.smiles_column in dataset.frame.columns:
        new, changed = standardize_all(dataset.smiles)
        dataset.frame[dataset.smiles_column] = new
        n_standardized = sum(bool(c) for c in changed)
        notes.append(f"standardized {n_standardized} of {len(new)} molecules")
    split_method = "from file" if split_file else (split or adapter.default_split)
    the_split = make_run_split(
        dataset,
        adapter,
        split or adapter.default_split,
        seed,
        split_file=split_file,
        time_column=time_column,
        source_rows=source_rows,
    )
    tr, va, te = (
        np.asarray(p, dtype=np.int64) for p in (the_split.train, the_split.valid, the_split.test)
    )
    if len(tr) < 2 or len(te) < MIN_TEST_ROWS:
        raise InputError(
            f"{data}: {len(dataset)} labelled rows give {len(tr)} train and {len(te)} test rows; "
            f"too few to train and test on (need at least 2 and {MIN_TEST_ROWS}); use more data"
        )
    estimator = adapter.build(model, params, dataset, task, seed)
    rows_record = {
        "read": n_read,
        "used": len(dataset),
        "targets": counts,
        "standardized": n_standardized,
    }
    with RunDirectory.create(out, f"{name}-{model}") as run:
        result = _train_into(
            run,
            adapter=adapter,
            dataset=dataset,
            split=the_split,
            parts=(tr, va, te),
            estimator=estimator,
            model_name=model,
            runtime=runtime,
            coverage=coverage,
            method=method,
            domain_neighbours=domain_neighbours,
            seed=seed,
            task=task,
            name=name,
            split_method=split_method,
            progress=progress,
            rows=rows_record,
        )
    result.run_dir = run.path
    result.notes = notes
    result.split_method = split_method
    return result


def _train_into(
    run: RunDirectory,
    *,
    adapter: InputAdapter,
    dataset: Any,
    split: Any,
    parts: tuple[np.ndarray, np.ndarray, np.ndarray],
    estimator: Any,
    model_name: str,
    runtime: Any,
    coverage: float,
    method: str,
    seed: int,
    task: str,
    name: str,
    domain_neighbours: int = 1,
    split_method: str,
    progress: bool,
    rows: dict[str, Any],
) -> RunResult:
    from molfit.evaluate import leakage_figure, write_report

    tr, va, te = parts
    targets = list(dataset.target_columns)
    units, kinds = target_units(dataset), target_kinds(dataset)
    single = len(targets) == 1
    y = dataset.y
    X = adapter.features(dataset)

    def yy(idx: np.ndarray) -> np.ndarray:
        return y[idx, 0] if single else y[idx]

    t0 = time.perf_counter()
    fitted = adapter.fit(
        estimator,
        adapter.take(X, tr),
        yy(tr),
        adapter.take(X, va) if len(va) else None,
        yy(va) if len(va) else None,
        targets=targets,
        runtime=runtime,
        coverage=coverage,
        method=method,
        seed=seed,
        progress=progress,
        domain_neighbours=domain_neighbours,
    )
    fit_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    pred = adapter.predict(fitted, adapter.take(X, te), targets, progress=progress)
    predict_s = time.perf_counter() - t0
    compositions = references = None
    if any(kinds[t] == "extensive" for t in targets) and task != "classification":
        compositions = adapter.compositions(dataset)
        if compositions is not None:
            fit_rows = np.concatenate([tr, va])
            references = {
                t: fit_references([compositions[i] for i in fit_rows], y[fit_rows, k])
                for k, t in enumerate(targets)
                if kinds[t] == "extensive"
            }
    metrics = score(
        y[te],
        pred,
        targets,
        units=units,
        kinds=kinds,
        compositions=None if compositions is None else [compositions[i] for i in te],
        references=references,
    )
    forces = adapter.force_labels(fitted, adapter.take(X, te))
    if forces is not None:
        metrics[targets[0]].update(flat_force_metrics(*forces))
    column, labels = adapter.row_labels(dataset)
    config_extra = {
        "input_kind": adapter.kind,
        "model": model_name,
        "params": estimator.get_params(),
        "dataset": name,
        "targets": {t: {"unit": units[t], "kind": kinds[t]} for t in targets},
        "target_names": targets,
        "task": task,
        "versions": library_versions(),
        "data_hash": data_hash(labels, y),
        "split": {"method": split_method, "seed": seed, "sizes": [len(tr), len(va), len(te)]},
        "metrics": metrics,
        "rows": rows,
        "references": {t: {str(z): v for z, v in r.items()} for t, r in (references or {}).items()},
        "fit_seconds": fit_s,
        "history": getattr(fitted, "history_", []),
    }
    adapter.save(fitted, run.path / "model", {"run": config_extra})
    split.save(run.split_path)
    keys = adapter.keys(dataset.subset(np.concatenate([tr, va])))
    run.write_json(run.train_keys_path, {"kind": "inchikey", "keys": sorted(set(keys) - {""})})
    summary_extra = {"conformal_method": getattr(fitted, "method_", None), "coverage": coverage}
    by_bin = _coverage_by_bin(y[te], pred, targets, fitted) if adapter.kind == "molecules" else {}
    if by_bin:
        summary_extra["coverage_by_similarity"] = by_bin
    run.write_json(
        run.metrics_path,
        {
            "test": metrics,
            "rows": rows,
            "fit_seconds": fit_s,
            "predict_seconds": predict_s,
            **(
                {k: v for k, v in summary_extra.items() if v is not None}
                if adapter.kind == "molecules"
                else {}
            ),
        },
    )
    frame = pred.to_frame([labels[i] for i in te]).rename(columns={"smiles": column})
    if "geometry" in frame.columns:
        if column == "structure":
            frame["geometry"] = frame["structure"]
        else:
            frame["geometry"] = frame["geometry"].replace("input", f"{name} (given coordinates)")
    if adapter.kind == "structures":
        ids = dataset.frame["index"].to_numpy()[te] if "index" in dataset.frame else te
        frame.insert(0, "index", ids)  # the dataset's own id (QM9's gdb number), else the row
    at = 1 + (adapter.kind == "structures")
    for t, target in enumerate(targets):
        frame.insert(at + t, "measured" if single else f"measured_{target}", y[te, t])
    _with_units(frame, targets, units).to_csv(run.test_predictions_path, index=False)
    figures = _figures(y[te], pred, targets, units)
    if forces is not None:
        from molfit.evaluate import force_figures

        figures.update(force_figures(*forces))
    if adapter.kind == "molecules":
        sims = {"test": pred.similarity}
        if len(va):
            sims["valid"] = adapter.domain_similarity(fitted, adapter.take(X, va))  # type: ignore[attr-defined]
        figures["Split leakage: similarity to train"] = leakage_figure(
            sims, fitted.domain_.threshold_
        )
    write_report(
        run.report_path,
        title=f"molfit train {name} — {model_name}",
        summary={
            "dataset": name,
            "task": task if adapter.kind == "molecules" else "regression (3D structures)",
            "targets": ", ".join(unit_label(t, units[t]) for t in targets),
            "rows": f"{rows['used']} of {rows['read']} rows used; "
            + ", ".join(f"{t}: {c['used']} labelled" for t, c in rows["targets"].items()),
            "model": model_name,
            "split": f"{split_method} (seed {seed}): "
            f"{len(tr)} train / {len(va)} valid / {len(te)} test",
            **adapter.summary(fitted, coverage),
            "fit time (s)": fit_s,
            "predict time (s)": predict_s,
        },
        metrics={
            **{f"test — {t}": m for t, m in metrics.items()},
            **{
                f"test coverage per similarity-to-train bin — {t}": {
                    f"{k} (n = {v['n']})": v["coverage"] for k, v in block.items()
                }
                for t, block in by_bin.items()
            },
        },
        figures=figures,
        leakage=getattr(split, "leakage", None),
    )
    return RunResult(run.path, metrics, task, fit_s, predict_s, rows)


def _coverage_by_bin(
    y_test: np.ndarray, pred: Any, targets: list[str], model: Any
) -> dict[str, dict[str, dict[str, float]]]:
    """Per target: test coverage of the intervals (or prediction sets) per bin of similarity
    to the training set, with the Mondrian bin edges of the model (0.3, 0.5 by default)."""
    from molfit.evaluate import coverage_by_similarity

    if pred.similarity is None:
        return {}
    edges = tuple(float(e) for e in getattr(model, "bin_edges", (0.3, 0.5)))
    single = len(targets) == 1
    out = {}
    for k, t in enumerate(targets):
        y_k = np.asarray(y_test, float).reshape(len(y_test), -1)[:, k]

        def col(a: np.ndarray, k: int = k) -> np.ndarray:
            return a if single else a[:, k]

        if pred.task == "classification":
            if pred.sets is not None:
                out[t] = coverage_by_similarity(
                    y_k, pred.similarity, sets=col(pred.sets), edges=edges
                )
        elif pred.lower is not None and pred.upper is not None:
            out[t] = coverage_by_similarity(
                y_k, pred.similarity, lower=col(pred.lower), upper=col(pred.upper), edges=edges
            )
    return out


# -- load / predict / evaluate ---------------------------------------------------------------------
def open_run(run_dir: str | os.PathLike[str]) -> tuple[RunDirectory, InputAdapter, Any]:
    """The run directory, its adapter and its loaded model (corrupt files are an InputError)."""
    run = RunDirectory(run_dir).check()
    adapter = adapter_for_kind(run.input_kind)
    model = run.load_model(adapter.load_model)
    return run, adapter, model


def _refuse_unlabelled(data: Any) -> None:
    """A built-in unlabelled library (MOSES) has nothing to train on: say so before loading it."""
    from molfit.data import info

    if not isinstance(data, str) or Path(data).exists():
        return
    try:
        registered = info(data)
    except InputError:
        return
    if registered.task == "unlabelled":
        raise InputError(
            f"{data}: an unlabelled library, nothing to train on; screen it with "
            f"`molfit screen RUN {data}`"
        )


def load_run_model(run_dir: str | os.PathLike[str]) -> Any:
    """The model of a run directory (or of a model directory itself): a
    :class:`~molfit.uncertainty.CalibratedModel` for molecules, the geometric model for 3D."""
    return open_run(run_dir)[2]


def is_structure_run(run_dir: str | os.PathLike[str]) -> bool:
    """Whether ``run_dir`` holds a 3D model (``False`` for anything unreadable)."""
    try:
        return RunDirectory(run_dir).input_kind == "structures"
    except InputError:
        return False


def is_structure_model(name: str) -> bool:
    """Whether the registered model ``name`` takes 3D structures."""
    return adapter_for_model(name).kind == "structures"


def _is_smiles(text: str) -> bool:
    """Whether ``text`` (not an existing file) is one SMILES rather than a dataset name or a
    file name: built-in dataset names win, then anything RDKit parses without a file suffix."""
    from molfit.data import list_datasets

    text = text.strip()
    if not text or any(c.isspace() for c in text) or text in {d.name for d in list_datasets()}:
        return False
    if Path(text).suffix.lower() in _TABLE_SUFFIXES:
        return False
    from rdkit import Chem, RDLogger

    RDLogger.DisableLog("rdApp.*")
    return Chem.MolFromSmiles(text) is not None


_TABLE_SUFFIXES = (".csv", ".tsv", ".parquet", ".smi", ".sdf", ".gz", ".xyz", ".extxyz", ".txt")


def _predict_chunks(
    adapter: InputAdapter,
    input_path: str | os.PathLike[str],
    smiles_column: str | None,
    chunk: int,
) -> tuple[int | None, Any]:
    """(total rows or None, iterator of (input frame, X, row errors by local position))."""
    from molfit.data import find_smiles_column

    path = Path(input_path)
    if not path.exists() and _is_smiles(str(input_path)):
        frame = pd.DataFrame({"smiles": [str(input_path)]})

        def one():
            yield frame, [str(input_path)], {}, "smiles"

        return 1, one()
    if not path.exists() and not any(c in str(input_path) for c in "/\\.") and str(input_path):
        dataset = adapter.load(str(input_path), smiles_column=None, targets=None, task=None)
        X = adapter.features(dataset)

        def builtin():
            for start in range(0, len(dataset), chunk):
                idx = np.arange(start, min(start + chunk, len(dataset)))
                yield dataset.frame.iloc[idx].reset_index(drop=True), adapter.take(X, idx), {}

        return len(dataset), builtin()
    if not path.is_file():
        raise InputError(
            f"{path}: no such file (nor a built-in dataset, see `molfit data list`, nor a "
            "SMILES RDKit can parse)"
        )

    def table():
        column = None
        for frame in iter_table(path, chunk):
            if column is None:
                column = find_smiles_column(frame, smiles_column, str(path))
            errors = {}
            first = int(frame.index[0])
            for row, reason in frame.attrs.get("row_errors", {}).items():
                errors[row - 1 - first] = reason
            yield frame.reset_index(drop=True), frame[column].astype(str).tolist(), errors, column

    return count_rows(path), table()


def predict_file(
    run_dir: str | os.PathLike[str],
    input_path: str | os.PathLike[str],
    out: str | os.PathLike[str],
    *,
    smiles_column: str | None = None,
    progress: bool = True,
    chunk: int = CHUNK_ROWS,
    keep_columns: list[str] | None = None,
    standardize: bool = False,
) -> PredictSummary:
    """Predict every row of ``input_path`` (a file, a built-in dataset name, or one SMILES
    such as ``"CCO"``: a one-row table with a ``smiles`` column) in chunks of ``chunk`` rows and
    write ``out`` incrementally (format by extension; atomically). A SMILES given to a 3D run gets
    an ETKDG+MMFF conformer (the ``geometry`` column says so).

    The output has the input's columns (all, or ``keep_columns``), then the predictions with
    units in their names (``prediction [eV]``, ``std``, ``lower``, ``upper`` or ``probability``,
    ``prediction``, ``prediction_set``), ``similarity``/``in_domain``/``domain_note`` (molecule
    runs) or ``geometry`` (3D runs), and ``error`` (why a row has no prediction). A 3D run on an
    XYZ/extxyz file predicts its frames (``structure`` column); ``--out x.extxyz`` then writes
    the frames with their predictions in each frame's info.
    """
    from tqdm.auto import tqdm

    from molfit.structures import XYZ_SUFFIXES

    run, adapter, model = open_run(run_dir)
    targets = adapter.model_targets(model, run.run_config)
    units = {t: (run.run_config.get("targets") or {}).get(t, {}).get("unit", "") for t in targets}
    out = Path(out)
    summary = PredictSummary(out=out)
    if adapter.kind == "structures" and Path(input_path).suffix.lower() in XYZ_SUFFIXES:
        return _predict_xyz(model, targets, units, Path(input_path), out, summary)
    total, chunks = _predict_chunks(adapter, input_path, smiles_column, chunk)
    bar = tqdm(
        total=total, desc="predict", unit="row", disable=not progress, file=sys.stderr, leave=False
    )
    try:
        with TableWriter(out) as writer:
            for item in chunks:
                frame, X, errors = item[:3]
                column = item[3] if len(item) > 3 else None
                notes = None
                if standardize and isinstance(X, list):
                    X, notes = standardize_all(X)
                    summary.n_standardized += sum(bool(n) for n in notes)
                pred = adapter.predict(model, X, targets)
                table = pred.to_frame(None)
                for row, reason in errors.items():
                    table.loc[row, "error"] = reason
                    for c in table.columns:
                        if c != "error" and table[c].dtype.kind == "f":
                            table.loc[row, c] = np.nan
                table = _with_units(table, targets, units)
                keep = frame if keep_columns is None else frame[_checked(frame, keep_columns)]
                if notes is not None and column is not None:
                    keep = keep.assign(standardized_smiles=X, standardize_note=notes)
                clash = [c for c in table.columns if c in keep.columns]
                keep = keep.drop(columns=clash)
                joined = pd.concat([keep.reset_index(drop=True), table], axis=1)
                writer.write(joined)
                failed = joined["error"].astype(str) != ""
                summary.n_rows += len(joined)
                summary.n_failed += int(failed.sum())
                if "in_domain" in joined:
                    outside = ~joined["in_domain"].astype(bool) & ~failed
                    summary.n_outside_domain += int(outside.sum())
                base = summary.n_rows - len(joined)
                for i in np.flatnonzero(failed.to_numpy())[: max(0, 10 - len(summary.errors))]:
                    msg = str(joined["error"].iloc[i])
                    summary.errors.append(
                        msg if msg.startswith("row ") else f"row {base + i + 1}: {msg}"
                    )
                bar.update(len(joined))
    finally:
        bar.close()
    return summary


def _checked(frame: pd.DataFrame, columns: list[str]) -> list[str]:
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise InputError(f"--keep-columns: no column(s) {missing}; columns: {list(frame.columns)}")
    return list(columns)


def _predict_xyz(
    model: Any,
    targets: list[str],
    units: dict[str, str],
    path: Path,
    out: Path,
    summary: PredictSummary,
) -> PredictSummary:
    """Predict the frames of one XYZ/extxyz file; write a table or an extxyz file."""
    from molfit.structures import as_structures

    if not path.is_file():
        raise InputError(f"{path}: no such file")
    suffix = out.suffix.lower()
    suffixes = (".csv", ".tsv", ".parquet", ".extxyz", ".xyz")
    if suffix not in suffixes:
        raise InputError(
            f"--out {out}: cannot write {suffix or 'that'}; use one of {', '.join(suffixes)}"
        )
    inputs = as_structures([str(path)], strict=False)
    pred = model.predict_record([str(path)], targets=targets)
    table = _with_units(pred.to_frame(inputs.labels), targets, units)
    table = table.rename(columns={"smiles": "structure"})
    failed = table["error"].astype(str) != ""
    summary.n_rows, summary.n_failed = len(table), int(failed.sum())
    summary.errors = [str(e) for e in table["error"][failed].head(10)]
    if suffix in (".extxyz", ".xyz"):
        _write_extxyz(inputs, table, out)
    else:
        with TableWriter(out) as writer:
            writer.write(table)
    return summary


def _write_extxyz(inputs: Any, table: pd.DataFrame, out: Path) -> None:
    import tempfile

    from ase import Atoms
    from ase.io import write as ase_write

    frames = []
    for k, row in enumerate(inputs.rows):
        numbers, positions, cell, pbc = inputs.structures[k]
        atoms = Atoms(numbers=numbers, positions=positions, cell=cell, pbc=pbc)
        for c in table.columns:
            if c not in ("structure", "error", "geometry"):
                atoms.info[c.replace(" ", "_").replace("[", "").replace("]", "")] = table[c].iloc[
                    row
                ]
        frames.append(atoms)
    out.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{out.name}.", suffix=".extxyz", dir=out.parent)
    os.close(fd)
    try:
        ase_write(tmp, frames, format="extxyz")
        mask = os.umask(0)
        os.umask(mask)
        os.chmod(tmp, 0o666 & ~mask)
        os.replace(tmp, out)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def evaluate_run(
    run_dir: str | os.PathLike[str],
    data: str | os.PathLike[str],
    *,
    smiles_column: str | None = None,
    targets: list[str] | None = None,
    progress: bool = True,
) -> Evaluation:
    """Metrics of a run's model on labelled data (a file or a built-in dataset), and how many of
    its rows the model was trained on (``n_overlap_training`` per target; a warning when any).

    Rows the reader could not use are counted in ``n_skipped``.
    """
    run, adapter, model = open_run(run_dir)
    config = run.run_config
    names = adapter.model_targets(model, config)
    task = adapter.model_task(model)
    dataset = adapter.load(
        data,
        smiles_column=smiles_column,
        targets=targets or names,
        task=task if adapter.kind == "molecules" else None,
    )
    if len(dataset) == 0:
        raise InputError(f"{data}: no rows to use")
    if len(dataset.target_columns) != len(names):
        raise InputError(f"{data}: the model predicts {names}, not {dataset.target_columns}")
    y = dataset.y
    pred = adapter.predict(model, adapter.features(dataset), names, progress=progress)
    saved = config.get("targets") or {}
    units = {n: saved.get(n, {}).get("unit", "") for n in names}
    kinds = {n: saved.get(n, {}).get("kind", "intensive") for n in names}
    refs = {
        t: {int(z): float(v) for z, v in r.items()}
        for t, r in (config.get("references") or {}).items()
    }
    compositions = adapter.compositions(dataset) if "extensive" in kinds.values() else None
    metrics = score(
        y, pred, names, units=units, kinds=kinds, compositions=compositions, references=refs
    )
    forces = adapter.force_labels(model, adapter.features(dataset))
    if forces is not None:
        metrics[names[0]].update(flat_force_metrics(*forces))
    report = getattr(dataset, "report", None)
    skipped = report.n_skipped if report is not None else 0
    if adapter.kind == "structures":
        skipped = int((np.asarray(pred.error) != "").sum())
    warnings: list[str] = []
    train_keys = run.train_keys()
    n_overlap = None
    if train_keys is None:
        warnings.append(
            f"{run.path}: this run stores no training keys (an older run); overlap with the "
            "training set was not checked"
        )
    else:
        keys = adapter.keys(dataset)
        shared = np.array([k in train_keys for k in keys], dtype=bool)
        n_overlap = int(shared.sum())
        if n_overlap:
            warnings.append(
                f"{n_overlap} of {len(dataset)} rows of {data} are molecules the model was "
                "trained or calibrated on; their errors are optimistic (metrics on the other "
                "rows: *_unseen)"
            )
    for m in metrics.values():
        m["n_skipped"] = skipped
        if n_overlap is not None:
            m["n_overlap_training"] = n_overlap
    if n_overlap:
        unseen = np.flatnonzero(~shared)
        if len(unseen) >= 2:
            sub = _score_rows(y, pred, names, unseen)
            for t, m in sub.items():
                for k in ("mae", "rmse", "r2", "roc_auc"):
                    if k in m:
                        metrics[t][f"{k}_unseen"] = m[k]
    return Evaluation(metrics, task, len(dataset), n_overlap, warnings)


def _score_rows(y: np.ndarray, pred: Any, names: list[str], rows: np.ndarray) -> dict:
    from molfit.evaluate import classification_metrics, regression_metrics

    out = {}
    for t, name in enumerate(names):
        if pred.task == "classification":
            p = np.asarray(pred.proba).reshape(len(y), -1)[:, t]
            out[name] = classification_metrics(y[rows, t], p[rows])
        else:
            mean = np.asarray(pred.mean).reshape(len(y), -1)[:, t]
            out[name] = regression_metrics(y[rows, t], mean[rows])
    return out


__all__ = [
    "Evaluation",
    "PredictSummary",
    "RunResult",
    "checked_params",
    "evaluate_run",
    "is_structure_model",
    "is_structure_run",
    "load_run_model",
    "molecule_keys",
    "predict_file",
    "score",
    "train_run",
]
