"""QSAR benchmark: molfit's default model (ExtraTrees on ECFP6/1024 + conformal) on B3DB,
FreeSolv and solubility, plus ExtraTrees-ECFP predict throughput on the 100k polarizability set.

    OMP_NUM_THREADS=1 python benchmarks/qsar.py            # writes benchmarks/out/qsar/
    python benchmarks/qsar_chemprop.py                     # chemprop 2.3.1 on the same splits

Each case trains ExtraTrees on ECFP6/1024 (the default) and on RDKit descriptors through the
same code as ``molfit train`` (scaffold split, seed 0, 90 %
intervals), writes its run directory under ``benchmarks/out/qsar/runs/`` and exports the split as
``train.csv`` / ``val.csv`` / ``test.csv`` under ``benchmarks/out/qsar/splits/<case>/`` so that
chemprop sees exactly the same molecules.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

from molfit.data import load
from molfit.data.split import Split
from molfit.models import ExtraTreesModel
from molfit.workflows import train_run

OUT = Path(__file__).resolve().parent / "out" / "qsar"
CASES = {
    # case: (dataset, split method)
    "b3db-classification": ("b3db", "scaffold"),
    "b3db-regression": ("b3db-regression", "scaffold"),
    "freesolv": ("freesolv", "scaffold"),
    "solubility-scaffold": ("solubility", "scaffold"),
    "solubility-predefined": ("solubility", "predefined"),
}


def export_split(case: str, run_dir: Path, dataset_name: str) -> None:
    """train/val/test CSVs (smiles + target) of the split the run used."""
    ds = load(dataset_name, validate=True)
    keep = np.flatnonzero(np.isfinite(ds.y).any(axis=1))
    ds = ds.subset(keep)
    split = Split.load(run_dir / "split.json")
    folder = OUT / "splits" / case
    folder.mkdir(parents=True, exist_ok=True)
    frame = pd.DataFrame({"smiles": ds.smiles, ds.target_columns[0]: ds.y[:, 0]})
    for part, name in (("train", "train"), ("valid", "val"), ("test", "test")):
        idx = np.asarray(getattr(split, part), dtype=np.int64)
        frame.iloc[idx].to_csv(folder / f"{name}.csv", index=False)
    (folder / "task.txt").write_text(ds.task)


MODELS = {
    # label: (registry name, parameters) — the default model, and the same trees on descriptors
    "extratrees-ecfp": ("extratrees", {}),
    "extratrees-descriptors": ("extratrees", {"featurizer": "descriptors"}),
}


def run_cases(only: list[str]) -> dict[str, dict]:
    results = {}
    for case, (name, split) in CASES.items():
        if only and case not in only:
            continue
        for label, (model, params) in MODELS.items():
            results[f"{case}/{label}"] = run_one(case, name, split, label, model, params)
    return results


def run_one(case: str, name: str, split: str, label: str, model: str, params: dict) -> dict:
    """Train one model on one case through the ``molfit train`` code path."""
    run_dir = OUT / "runs" / case / label
    shutil.rmtree(run_dir, ignore_errors=True)
    t0 = time.perf_counter()
    res = train_run(
        name,
        split=split,
        seed=0,
        out=run_dir,
        model=model,
        model_params=params,
        progress=False,
    )
    total = time.perf_counter() - t0
    if label == "extratrees-ecfp":
        export_split(case, run_dir, name)
    metrics = next(iter(res.metrics.values()))
    conformal = json.loads((run_dir / "metrics.json").read_text())["conformal_method"]
    result = {
        "model": label,
        "dataset": name,
        "split": split,
        "task": res.task,
        "metrics": metrics,
        "conformal": conformal,
        "fit_s": res.fit_seconds,
        "predict_s": res.predict_seconds,
        "total_s": total,
    }
    print(f"{case}/{label}", json.dumps(result, default=float), flush=True)
    return result


def throughput(n_train: int = 5000, n_jobs: int = 2) -> dict[str, float]:
    """ExtraTrees-ECFP6/1024 fitted on ``n_train`` polarizability molecules, predicting all 100k."""
    ds = load("polarizability")
    smiles, y = ds.smiles, ds.y[:, 0]
    rng = np.random.default_rng(0)
    train = rng.choice(len(smiles), n_train, replace=False)
    model = ExtraTreesModel(n_jobs=n_jobs).fit([smiles[i] for i in train], y[train])
    t0 = time.perf_counter()
    mean, _ = model.predict(smiles, return_std=True)
    seconds = time.perf_counter() - t0
    assert len(mean) == len(smiles) and np.isfinite(mean).all()
    t0 = time.perf_counter()
    F = model.featurize(smiles)
    featurize_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    model.predict_features(F)
    trees_s = time.perf_counter() - t0
    out = {
        "n_molecules": len(smiles),
        "n_train": n_train,
        "n_jobs": n_jobs,
        "predict_s": seconds,
        "molecules_per_s": len(smiles) / seconds,
        "featurize_s": featurize_s,
        "trees_s": trees_s,
        "cpus": os.cpu_count(),
    }
    print("throughput", json.dumps(out), flush=True)
    return out


def main() -> None:
    only = [a for a in sys.argv[1:] if not a.startswith("--")]
    OUT.mkdir(parents=True, exist_ok=True)
    results: dict[str, object] = {}
    path = OUT / "results.json"
    if path.exists() and only:
        results = json.loads(path.read_text())
    if "--throughput-only" not in sys.argv:
        results.update(run_cases(only))
    if not only:
        results["throughput"] = throughput()
    path.write_text(json.dumps(results, indent=2, default=float))
    print(f"results: {path}")


if __name__ == "__main__":
    main()
