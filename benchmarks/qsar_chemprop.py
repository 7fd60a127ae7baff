"""chemprop 2.3.1 (D-MPNN) on exactly the splits benchmarks/qsar.py exported, scored by molfit.

    python benchmarks/qsar_chemprop.py [CASE ...] [--epochs-large 15] [--epochs-small 40]

Runs ``benchmarks/.venvs/chemprop/bin/chemprop train`` on
``benchmarks/out/qsar/splits/<case>/{train,val,test}.csv`` on the CPU, then ``chemprop predict``
on the test CSV, and scores the predictions with molfit's metric functions so both tools are
measured the same way. Results go to ``benchmarks/out/qsar/chemprop_results.json``.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd

from molfit.evaluate import classification_metrics, regression_metrics

HERE = Path(__file__).resolve().parent
CHEMPROP = HERE / ".venvs" / "chemprop" / "bin" / "chemprop"
SPLITS = HERE / "out" / "qsar" / "splits"
OUT = HERE / "out" / "qsar" / "chemprop"


def option(name: str, default: int) -> int:
    if name in sys.argv:
        return int(sys.argv[sys.argv.index(name) + 1])
    return default


def run_case(case: str, epochs: int) -> dict[str, object]:
    folder = SPLITS / case
    task = (folder / "task.txt").read_text().strip()
    train = pd.read_csv(folder / "train.csv")
    target = train.columns[1]
    save = OUT / case
    shutil.rmtree(save, ignore_errors=True)
    env = {**os.environ, "OMP_NUM_THREADS": "2"}
    train_cmd = [
        str(CHEMPROP), "train",
        "-i", str(folder / "train.csv"), str(folder / "val.csv"), str(folder / "test.csv"),
        "-s", "smiles", "--target-columns", target,
        "-t", task, "--epochs", str(epochs), "-o", str(save),
        "--accelerator", "cpu", "--devices", "1", "-n", "0", "--data-seed", "0",
        "--pytorch-seed", "0",
    ]  # fmt: skip
    t0 = time.perf_counter()
    subprocess.run(train_cmd, check=True, env=env, stdout=subprocess.DEVNULL)
    fit_s = time.perf_counter() - t0
    model = next(save.rglob("best*.pt"))
    preds_path = save / "test_preds.csv"
    cmd = [
        str(CHEMPROP), "predict", "-i", str(folder / "test.csv"), "-s", "smiles",
        "--model-paths", str(model), "-o", str(preds_path), "--accelerator", "cpu",
        "--devices", "1", "-n", "0",
    ]  # fmt: skip
    t0 = time.perf_counter()
    subprocess.run(cmd, check=True, env=env, stdout=subprocess.DEVNULL)
    predict_s = time.perf_counter() - t0
    test = pd.read_csv(folder / "test.csv")
    preds = pd.read_csv(preds_path)
    y = test[target].to_numpy(float)
    p = preds[target].to_numpy(float) if target in preds else preds.iloc[:, -1].to_numpy(float)
    metrics = classification_metrics(y, p) if task == "classification" else regression_metrics(y, p)
    return {
        "task": task,
        "epochs": epochs,
        "metrics": metrics,
        "fit_s": fit_s,
        "predict_s": predict_s,
        "command": " ".join(train_cmd),
    }


def main() -> None:
    if not CHEMPROP.exists():
        sys.exit(f"chemprop not found at {CHEMPROP}")
    cases = [a for a in sys.argv[1:] if not a.startswith("--") and not a.isdigit()]
    cases = cases or sorted(p.name for p in SPLITS.iterdir() if p.is_dir())
    large, small = option("--epochs-large", 15), option("--epochs-small", 40)
    path = HERE / "out" / "qsar" / "chemprop_results.json"
    results = json.loads(path.read_text()) if path.exists() else {}
    for case in cases:
        n_train = len(pd.read_csv(SPLITS / case / "train.csv"))
        res = run_case(case, large if n_train > 3000 else small)
        res["n_train"] = n_train
        results[case] = res
        print(case, json.dumps(res, default=float), flush=True)
        path.write_text(json.dumps(results, indent=2, default=float))
    print(f"results: {path}")


if __name__ == "__main__":
    main()
