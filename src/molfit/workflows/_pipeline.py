"""The QSAR workflows behind ``molfit train``, ``molfit predict`` and ``molfit evaluate``.

A run directory holds ``model/`` (a saved :class:`CalibratedModel`, no pickle), ``split.json``,
``metrics.json``, ``test_predictions.csv`` and a self-contained ``report.html``. It is built in a
temporary directory and moved into place at the end, so a failed run leaves nothing behind.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
import time
from dataclasses import dataclass
from importlib.metadata import version
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from scipy.stats import norm

from molfit.data import find_smiles_column, read_input_table
from molfit.errors import InputError
from molfit.evaluate import (
    classification_figures,
    classification_metrics,
    leakage_figure,
    regression_figures,
    regression_metrics,
    set_metrics,
    uncertainty_metrics,
    write_report,
)
from molfit.models import Prediction, get_model
from molfit.uncertainty import CalibratedModel


@dataclass
class RunResult:
    """What :func:`train_run` produced: the directory, test metrics and timings (seconds)."""

    run_dir: Path
    metrics: dict[str, dict[str, float]]
    task: str
    fit_seconds: float
    predict_seconds: float


def load_data(
    data: str | os.PathLike[str],
    *,
    smiles_column: str | None = None,
    targets: list[str] | None = None,
    task: str | None = None,
) -> Any:
    """A built-in dataset by name, or a table file (CSV/TSV/Parquet/SDF...) by path."""
    from molfit import data as molfit_data

    path = Path(data)
    if path.exists():
        dataset = molfit_data.read_table(
            path, smiles_column=smiles_column, target_columns=targets or None, task=task
        )
    else:
        if any(sep in str(data) for sep in ("/", "\\", ".csv", ".tsv", ".parquet")):
            raise InputError(f"{data}: no such file")
        dataset = molfit_data.load(str(data), validate=True)
        if targets:
            missing = [t for t in targets if t not in dataset.frame.columns]
            if missing:
                raise InputError(
                    f"{data}: no column(s) {missing}; targets available: {dataset.target_columns}"
                )
            dataset.target_columns = list(targets)
        if task:
            dataset.task = task
    if len(dataset) == 0:
        raise InputError(f"{data}: no rows to use")
    return dataset


def _units(dataset: Any) -> dict[str, str]:
    info = getattr(dataset, "info", None)
    if info is None:
        return {t: "" for t in dataset.target_columns}
    return {t: (info.targets[t].unit if t in info.targets else "") for t in dataset.target_columns}


def data_hash(smiles: list[str], y: np.ndarray) -> str:
    """sha256 of the SMILES and labels a model saw (first 16 hex digits)."""
    h = hashlib.sha256()
    h.update("\n".join(smiles).encode())
    h.update(np.ascontiguousarray(y, dtype=np.float64).tobytes())
    return h.hexdigest()[:16]


def library_versions() -> dict[str, str]:
    """Versions of the libraries that define a saved model's behaviour."""
    out = {}
    for dist in ("molfit", "numpy", "scikit-learn", "rdkit", "scipy"):
        try:
            out[dist] = version(dist)
        except Exception:  # a missing distribution is worth recording as such
            out[dist] = "unknown"
    return out


def score(y: np.ndarray, pred: Prediction, targets: list[str]) -> dict[str, dict[str, float]]:
    """Metrics per target: accuracy and calibration of intervals or probabilities and sets."""
    out = {}
    for t, target in enumerate(targets):

        def col(a: np.ndarray | None, t: int = t) -> np.ndarray | None:
            return None if a is None else (a if pred.n_tasks == 1 else a[:, t])

        yt = y[:, t]
        if pred.task == "classification":
            m = classification_metrics(yt, col(pred.proba))
            if pred.sets is not None:
                m.update(set_metrics(yt, pred.sets if pred.n_tasks == 1 else pred.sets[:, t]))
        else:
            m = regression_metrics(yt, col(pred.mean))
            lower, upper = col(pred.lower), col(pred.upper)
            std = col(pred.std)
            if lower is not None and pred.coverage:
                # the Gaussian implied by the conformal interval: calibrated, unlike a raw
                # per-tree spread that can be exactly 0 on training look-alikes
                std = (upper - lower) / (2 * norm.ppf(0.5 + pred.coverage / 2))
            m.update(uncertainty_metrics(yt, col(pred.mean), std, lower, upper))
        labelled = np.isfinite(yt)
        if pred.in_domain is not None and labelled.any():
            m["in_domain_fraction"] = float(pred.in_domain[labelled].mean())
        out[target] = m
    return out


def _split(dataset: Any, method: str, seed: int, y: np.ndarray) -> Any:
    from molfit.data.split import Split, make_split

    if method == "predefined":
        if "split" not in dataset.frame.columns:
            raise InputError("--split predefined needs a 'split' column (train/valid/test)")
        parts = dataset.frame["split"].astype(str).str.lower().to_numpy()
        idx = {p: np.flatnonzero(parts == p) for p in ("train", "valid", "test")}
        if not len(idx["train"]) or not len(idx["test"]):
            raise InputError("the 'split' column needs 'train' and 'test' rows")
        return Split(train=idx["train"], valid=idx["valid"], test=idx["test"], method="predefined")
    kw: dict[str, Any] = {"smiles": dataset.smiles, "seed": seed}
    if method == "stratified":
        kw["y"] = y[:, 0]
    return make_split(method, **kw)


def train_run(
    data: str | os.PathLike[str],
    *,
    smiles_column: str | None = None,
    targets: list[str] | None = None,
    task: str | None = None,
    model: str = "extratrees",
    model_params: dict[str, Any] | None = None,
    split: str | None = None,
    seed: int = 0,
    coverage: float = 0.9,
    method: str = "auto",
    out: str | os.PathLike[str] | None = None,
    progress: bool = True,
    limit: int | None = None,
) -> RunResult:
    """Train, calibrate and evaluate a QSAR model; write the run directory.

    The estimator is fitted on the training part, calibrated on the validation part (split
    conformal; CV+ on train+valid below 500 molecules) and scored on the test part. ``split``
    defaults to ``scaffold`` (``random`` for 3D models); ``limit`` keeps a seeded random subset
    of that many labelled rows. 3D models (``input_kind == "structures"``: schnet, painn,
    dimenet++) go to :func:`molfit.workflows._structures.train_run_3d`.
    """
    from molfit.workflows import _structures as _workflow3d

    if _workflow3d.is_structure_model(model):
        return _workflow3d.train_run_3d(
            data,
            smiles_column=smiles_column,
            targets=targets,
            model=model,
            model_params=model_params,
            split=split,
            seed=seed,
            limit=limit,
            out=out,
            progress=progress,
        )
    split = split or "scaffold"
    dataset = load_data(data, smiles_column=smiles_column, targets=targets, task=task)
    if not dataset.target_columns:
        raise InputError(f"{data}: no target column; name one with --target")
    task = task or dataset.task
    name = Path(str(data)).stem if Path(str(data)).exists() else str(data)
    y_all = dataset.y
    keep = np.flatnonzero(np.isfinite(y_all).any(axis=1))
    if len(keep) < len(dataset):
        dataset = dataset.subset(keep)
        y_all = dataset.y
    if limit is not None:
        dataset = _workflow3d.limit_rows(dataset, limit, seed)
        y_all = dataset.y
    smiles = dataset.smiles
    the_split = _split(dataset, split, seed, y_all)
    params = checked_params(model, model_params)
    if "task" in get_model(model).get_params():
        params.setdefault("task", task)
    estimator = get_model(model, **params)
    return build_run_dir(
        out,
        f"{name}-{model}",
        lambda tmp: _train_into(
            tmp,
            dataset,
            smiles,
            y_all,
            the_split,
            estimator,
            model,
            coverage,
            method,
            seed,
            task,
            name,
            split,
            progress,
        ),
    )


def checked_params(model: str, params: dict[str, Any] | None) -> dict[str, Any]:
    """A copy of ``params``; raises if the model has no parameter of one of those names."""
    import dataclasses
    import inspect

    from molfit.train import Runtime

    params = dict(params or {})
    estimator = get_model(model)
    known = set(estimator.get_params())
    takes_runtime = any(
        p.kind is inspect.Parameter.VAR_KEYWORD
        for p in inspect.signature(type(estimator).__init__).parameters.values()
    )
    if takes_runtime:  # deep models still take runtime settings here; they are not saved
        known |= {f.name for f in dataclasses.fields(Runtime)}
    unknown = sorted(set(params) - known)
    if unknown:
        raise InputError(
            f"model {model!r} has no parameter(s) {unknown}; its parameters: {sorted(known)}"
        )
    return params


def build_run_dir(out: str | os.PathLike[str] | None, default_name: str, build: Any) -> RunResult:
    """Run ``build(tmp_dir) -> RunResult`` in a temporary folder, then move it to ``out``.

    ``out`` defaults to ``runs/<default_name>-<timestamp>``; an existing non-empty ``out`` is an
    error. A failed build leaves nothing behind.
    """
    if out is None:
        out = Path("runs") / f"{default_name}-{time.strftime('%Y%m%d-%H%M%S')}"
    out = Path(out)
    if out.exists() and any(out.iterdir()):
        raise InputError(f"{out} already exists and is not empty; choose another --out")
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.", dir=out.parent))
    try:
        result = build(tmp)
        tmp.chmod(0o755)  # mkdtemp makes it private; a run directory is an ordinary folder
        if out.exists():
            out.rmdir()
        os.replace(tmp, out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    result.run_dir = out
    return result


def _train_into(
    run: Path,
    dataset: Any,
    smiles: list[str],
    y: np.ndarray,
    the_split: Any,
    estimator: Any,
    model_name: str,
    coverage: float,
    method: str,
    seed: int,
    task: str,
    name: str,
    split_method: str,
    progress: bool,
) -> RunResult:
    targets = list(dataset.target_columns)
    tr, va, te = (
        np.asarray(p, dtype=np.int64) for p in (the_split.train, the_split.valid, the_split.test)
    )
    pick = lambda idx: [smiles[i] for i in idx]  # noqa: E731
    single = len(targets) == 1
    yy = (lambda idx: y[idx, 0]) if single else (lambda idx: y[idx])
    cm = CalibratedModel(estimator, coverage=coverage, method=method, seed=seed)
    t0 = time.perf_counter()
    cm.fit(
        pick(tr),
        yy(tr),
        X_calib=pick(va) if len(va) else None,
        y_calib=yy(va) if len(va) else None,
        targets=targets,
        progress=progress,
    )
    fit_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    pred = cm.predict(pick(te), progress=progress)
    predict_s = time.perf_counter() - t0
    metrics = score(y[te], pred, targets)
    units = _units(dataset)
    config_extra = {
        "model": model_name,
        "params": estimator.get_params(),
        "dataset": name,
        "targets": {t: {"unit": units[t]} for t in targets},
        "task": task,
        "versions": library_versions(),
        "data_hash": data_hash(smiles, y),
        "split": {"method": split_method, "seed": seed, "sizes": [len(tr), len(va), len(te)]},
        "metrics": metrics,
        "fit_seconds": fit_s,
    }
    cm.save(run / "model", extra={"run": config_extra})
    the_split.save(run / "split.json")
    (run / "metrics.json").write_text(
        json.dumps(
            {
                "test": metrics,
                "fit_seconds": fit_s,
                "predict_seconds": predict_s,
                "conformal_method": cm.method_,
                "coverage": coverage,
            },
            indent=2,
        )
    )
    frame = pred.to_frame(pick(te))
    for t, target in enumerate(targets):
        frame.insert(1 + t, f"measured_{target}" if not single else "measured", y[te, t])
    frame.to_csv(run / "test_predictions.csv", index=False)
    figures: dict[str, str] = {}
    for t, target in enumerate(targets):
        maker = (
            classification_figures(y[te, t], pred, t)
            if task == "classification"
            else regression_figures(
                y[te, t], pred, t, f"[{units[target]}]" if units[target] else ""
            )
        )
        figures.update({f"{k} — {target}" if not single else k: v for k, v in maker.items()})
    sims = {"test": pred.similarity}
    if len(va):
        sims["valid"] = cm.domain_.score(_mols(pick(va)))[0]
    figures["Split leakage: similarity to train"] = leakage_figure(sims, cm.domain_.threshold_)
    write_report(
        run / "report.html",
        title=f"molfit train {name} — {model_name}",
        summary={
            "dataset": name,
            "task": task,
            "targets": ", ".join(f"{t} [{units[t]}]" if units[t] else t for t in targets),
            "model": model_name,
            "split": f"{split_method} (seed {seed}): "
            f"{len(tr)} train / {len(va)} valid / {len(te)} test",
            "uncertainty": f"{cm.method_} conformal, {coverage:.0%} coverage",
            "applicability domain": f"Tanimoto threshold {cm.domain_.threshold_:.2f}; "
            f"elements {' '.join(cm.domain_.elements_)}",
            "fit time (s)": fit_s,
            "predict time (s)": predict_s,
        },
        metrics={f"test — {t}": m for t, m in metrics.items()},
        figures=figures,
        leakage=getattr(the_split, "leakage", None),
    )
    return RunResult(run, metrics, task, fit_s, predict_s)


def _mols(smiles: list[str]) -> list[Any]:
    from molfit.chem import to_mols

    return to_mols(smiles)


def predict_file(
    run_dir: str | os.PathLike[str],
    input_path: str | os.PathLike[str],
    out: str | os.PathLike[str],
    *,
    smiles_column: str | None = None,
    progress: bool = True,
) -> pd.DataFrame:
    """Predict every row of ``input_path`` with the run's model; write ``out`` atomically.

    Returns the output table: the SMILES, then prediction, std, lower, upper (or probability,
    prediction, prediction_set), similarity, in_domain, domain_note and error per row. A 3D run
    also reads XYZ/extxyz files (see :func:`molfit.workflows._structures.predict_file_3d`).
    """
    from molfit.workflows import _structures as _workflow3d

    if _workflow3d.is_structure_run(run_dir):
        return _workflow3d.predict_file_3d(run_dir, input_path, out, smiles_column=smiles_column)
    model = load_run_model(run_dir)
    frame = read_input_table(input_path)
    column = find_smiles_column(frame, smiles_column, str(input_path))
    smiles = frame[column].astype(str).tolist()
    pred = model.predict(smiles, progress=progress)
    table = pred.to_frame(smiles)
    for row, reason in frame.attrs.get("row_errors", {}).items():
        table.loc[row - 1, "error"] = reason
    table = table.rename(columns={"smiles": column})
    write_csv_atomic(table, out)
    return table


def load_run_model(run_dir: str | os.PathLike[str]) -> CalibratedModel | Any:
    """The calibrated model of a run directory (or of a model directory itself); for a 3D run,
    the fitted geometric model."""
    from molfit.workflows import _structures as _workflow3d

    run_dir = Path(run_dir)
    if not run_dir.is_dir():
        raise InputError(f"{run_dir}: no such run directory")
    if _workflow3d.is_structure_run(run_dir):
        return _workflow3d.load_structure_run(run_dir)[0]
    model_dir = run_dir / "model" if (run_dir / "model").is_dir() else run_dir
    return CalibratedModel.load(model_dir)


def write_csv_atomic(table: pd.DataFrame, out: str | os.PathLike[str]) -> Path:
    """Write ``table`` to ``out`` via a temporary file in the same folder, then rename."""
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{out.name}.", dir=out.parent)
    os.close(fd)
    try:
        table.to_csv(tmp, index=False)
        os.replace(tmp, out)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return out


def evaluate_run(
    run_dir: str | os.PathLike[str],
    data: str | os.PathLike[str],
    *,
    smiles_column: str | None = None,
    targets: list[str] | None = None,
    progress: bool = True,
) -> dict[str, dict[str, float]]:
    """Metrics of a run's model on labelled data (a file or a built-in dataset).

    Rows whose SMILES cannot be parsed are skipped by the reader and counted in ``n_skipped``.
    """
    from molfit.workflows import _structures as _workflow3d

    if _workflow3d.is_structure_run(run_dir):
        return _workflow3d.evaluate_run_3d(
            run_dir, data, smiles_column=smiles_column, targets=targets
        )
    model = load_run_model(run_dir)
    dataset = load_data(
        data,
        smiles_column=smiles_column,
        targets=targets or model.targets_,
        task=model.task_,
    )
    missing = [t for t in model.targets_ if t not in dataset.target_columns]
    if missing:
        raise InputError(f"{data}: no column(s) {missing} for the model's targets")
    y = dataset.frame[model.targets_].to_numpy(dtype=np.float64, na_value=np.nan)
    pred = model.predict(dataset.smiles, progress=progress)
    metrics = score(y, pred, model.targets_)
    report = getattr(dataset, "report", None)
    skipped = len(getattr(report, "issues", []) or []) if report is not None else 0
    for m in metrics.values():
        m["n_skipped"] = skipped
    return metrics
