"""The whole `molfit train --model dmpnn` command against the whole `chemprop train` (issue 12).

    OMP_NUM_THREADS=1 python benchmarks/dmpnn_cli_vs_chemprop.py --seeds 0 1 2 3 4 \\
        --datasets freesolv solubility b3db-regression --configs molfit chemprop

What a user runs, start-up to exit, on the same scaffold splits (molfit's balanced scaffold split,
80/10/10, one per seed, handed to chemprop as ``--splits-file``), 30 epochs, every other setting
at each tool's CLI default. Each command runs pinned to one core (``taskset -c CORE``, one
thread); molfit and chemprop alternate seed by seed so both see the same load. Recorded per
command: wall time, CPU time of the process tree (user + sys), test RMSE from each tool's own
test predictions (scored here with the same formula), and the epoch whose weights were kept.

Configs (``--configs``): ``molfit`` (the defaults; the 2026-12-03 rows of RESULTS §6d ran
before the default pooling became ``mean+norm``, i.e. with ``mean``), ``chemprop`` (chemprop
2.3.1's CLI, ``benchmarks/.venvs/chemprop``), ``chemprop-mean`` (its CLI with ``--aggregation
mean``), and ablations of molfit's recipe: ``molfit-mean`` (mean aggregation), ``molfit-norm``
(sum / 100, chemprop's CLI default), ``molfit-all`` (no inner validation hold-out: every
training row trains, the last epoch is kept), ``molfit-all-norm``, ``molfit-meannorm`` (mean
and sum/100 side by side), ``molfit-torch-gemm`` (the defaults with ``MOLFIT_GEMM=torch``:
every product in torch's MKL, as before molfit.nn.linear).
``--rows N`` takes a random N-row sample of each dataset (the same rows for every seed, drawn with
seed 0) before splitting: data sets of the size the issue measured (~800 molecules), recorded as
``dataset`` ``NAME:N``.
Resumable: every finished command is a line in ``benchmarks/out/dmpnn_cli/results.jsonl``;
a rerun skips it.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
from _machine import cpu_model

ROOT = Path(__file__).resolve().parent
OUT = ROOT / "out" / "dmpnn_cli"
CHEMPROP = ROOT / ".venvs" / "chemprop" / "bin" / "chemprop"
TARGETS = {"freesolv": "dG_hydration", "solubility": "logS", "b3db-regression": "logBB"}
MOLFIT_PARAMS = {
    "molfit": [],
    "molfit-mean": ["--param", "aggregation=mean"],
    "molfit-norm": ["--param", "aggregation=norm"],
    "molfit-meannorm": ["--param", "aggregation=mean+norm"],
    "molfit-all": ["--param", "val_fraction=0"],
    "molfit-all-norm": ["--param", "val_fraction=0", "--param", "aggregation=norm"],
    "molfit-torch-gemm": [],
}
# environment of a config: molfit-torch-gemm keeps every product in torch's MKL (the default
# before molfit.nn.linear, RESULTS §6h)
MOLFIT_ENV = {"molfit-torch-gemm": {"MOLFIT_GEMM": "torch"}}


def timed(cmd: list[str], core: int, extra_env: dict | None = None) -> tuple[float, float]:
    """Run ``cmd`` pinned to ``core``; return (wall s, CPU s of the process tree)."""
    env = {**os.environ, "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1", **(extra_env or {})}
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    proc = subprocess.run(["taskset", "-c", str(core), *cmd], env=env, capture_output=True,
                          text=True, check=False)  # fmt: skip
    wall = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if proc.returncode:
        raise RuntimeError(f"{' '.join(cmd[:3])} failed:\n{proc.stderr[-3000:]}")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu


def prepare(name: str, seed: int, rows: int | None = None) -> tuple[Path, Path, Path, np.ndarray]:
    """The dataset as ``smiles,y`` CSV (all rows, or a seed-0 sample of ``rows``), molfit's
    split JSON and the same split for chemprop."""
    import molfit.data

    work = OUT / (f"{name}-{seed}" if rows is None else f"{name}-n{rows}-{seed}")
    work.mkdir(parents=True, exist_ok=True)
    data = work / "data.csv"
    if not data.exists():
        ds = molfit.data.load(name, validate=True)
        frame = pd.DataFrame({"smiles": list(ds.smiles), "y": ds.frame[TARGETS[name]]}).dropna()
        if rows is not None:
            frame = frame.sample(n=rows, random_state=0).sort_index()
        frame.to_csv(data, index=False)
    split = work / "split.json"
    if not split.exists():
        subprocess.run([sys.executable, "-c", "from molfit.cli import main; main()", "data",
                        "split", str(data), "-t", "y", "--seed", str(seed), "-o", str(split)],
                       check=True, capture_output=True)  # fmt: skip
    given = json.loads(split.read_text())
    theirs = work / "chemprop_split.json"
    theirs.write_text(json.dumps([{"train": given["train"], "val": given["valid"],
                                   "test": given["test"]}]))  # fmt: skip
    y = pd.read_csv(data)["y"].to_numpy(float)[given["test"]]
    return data, split, theirs, y


def run_molfit(config: str, data: Path, split: Path, seed: int, epochs: int, core: int) -> dict:
    run = data.parent / config
    shutil.rmtree(run, ignore_errors=True)
    cmd = [sys.executable, "-c", "from molfit.cli import main; main()", "train", str(data),
           "--target", "y", "--model", "dmpnn", "--epochs", str(epochs), "--split-file",
           str(split), "--seed", str(seed), "--no-progress", "--out", str(run),
           *MOLFIT_PARAMS[config]]  # fmt: skip
    wall, cpu = timed(cmd, core, MOLFIT_ENV.get(config))
    pred = pd.read_csv(run / "test_predictions.csv")
    col = next(c for c in pred.columns if c.startswith("prediction"))
    fit_s = json.loads((run / "metrics.json").read_text())["fit_seconds"]
    estimator = json.loads((run / "model" / "estimator" / "config.json").read_text())
    history = estimator["fitted"].get("history") or [{}]
    return {"wall_s": wall, "cpu_s": cpu, "pred": pred[col].tolist(),
            "best_epoch": history[0].get("best_epoch"), "fit_s": fit_s}  # fmt: skip


def run_chemprop(config: str, data: Path, splits: Path, seed: int, epochs: int, core: int) -> dict:
    out = data.parent / config
    shutil.rmtree(out, ignore_errors=True)
    cmd = [str(CHEMPROP), "train", "--data-path", str(data), "--smiles-columns", "smiles",
           "--target-columns", "y", "--task-type", "regression", "--epochs", str(epochs),
           "--splits-file", str(splits), "--output-dir", str(out), "--pytorch-seed", str(seed),
           "--data-seed", str(seed), "--accelerator", "cpu",
           *(["--aggregation", "mean"] if config == "chemprop-mean" else [])]  # fmt: skip
    wall, cpu = timed(cmd, core)
    preds = sorted(out.rglob("test_predictions.csv"))
    if not preds:
        raise RuntimeError(f"chemprop wrote no test_predictions.csv under {out}")
    pred = pd.read_csv(preds[0])
    ckpt = sorted(out.rglob("best-epoch=*.ckpt"))
    best = int(ckpt[0].name.split("=")[1].split("-")[0]) if ckpt else None
    return {"wall_s": wall, "cpu_s": cpu, "pred": pred["y"].tolist(), "best_epoch": best}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--datasets", nargs="+", default=list(TARGETS), choices=list(TARGETS))
    ap.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2, 3, 4])
    ap.add_argument("--configs", nargs="+", default=["molfit", "chemprop"],
                    choices=[*MOLFIT_PARAMS, "chemprop", "chemprop-mean"])  # fmt: skip
    ap.add_argument("--epochs", type=int, default=30)
    ap.add_argument("--core", type=int, default=1)
    ap.add_argument("--rows", type=int, default=None, help="a random sample of N rows")
    ap.add_argument("--table", action="store_true", help="print the table of results and exit")
    args = ap.parse_args()
    OUT.mkdir(parents=True, exist_ok=True)
    results = OUT / "results.jsonl"
    if args.table:
        table(results)
        return
    done = set()
    if results.exists():
        for line in results.read_text().splitlines():
            r = json.loads(line)
            done.add((r["dataset"], r["seed"], r["config"], r["epochs"]))
    for base in args.datasets:
        name = base if args.rows is None else f"{base}:{args.rows}"
        for seed in args.seeds:
            data, split, theirs, y = prepare(base, seed, args.rows)
            for config in args.configs:
                if (name, seed, config, args.epochs) in done:
                    continue
                if config.startswith("chemprop"):
                    res = run_chemprop(config, data, theirs, seed, args.epochs, args.core)
                else:
                    res = run_molfit(config, data, split, seed, args.epochs, args.core)
                pred = np.asarray(res.pop("pred"), float)
                row = {"dataset": name, "seed": seed, "config": config, "epochs": args.epochs,
                       "n_test": len(y), "rmse": float(np.sqrt(np.mean((pred - y) ** 2))),
                       **res, "cpu": cpu_model(), "date": time.strftime("%Y-%m-%d"),
                       "load1": os.getloadavg()[0]}  # fmt: skip
                with results.open("a") as fh:
                    fh.write(json.dumps(row) + "\n")
                print(json.dumps(row), flush=True)
    table(results)


def table(results: Path) -> None:
    rows = pd.DataFrame([json.loads(x) for x in results.read_text().splitlines()])
    print("| dataset | config | seeds | test RMSE | wall s | CPU s | wall / chemprop "
          "| CPU / chemprop |")  # fmt: skip
    print("| --- | --- | ---: | --- | ---: | ---: | ---: | ---: |")
    for (name, epochs), g in rows.groupby(["dataset", "epochs"]):
        ref = g[g.config == "chemprop"].set_index("seed")
        for config, c in g.groupby("config"):
            c = c.set_index("seed")
            common = c.index.intersection(ref.index)
            wr = (c.wall_s[common] / ref.wall_s[common]).mean() if len(common) else float("nan")
            cr = (c.cpu_s[common] / ref.cpu_s[common]).mean() if len(common) else float("nan")
            print(f"| {name} ({epochs} ep) | {config} | {len(c)} | {c.rmse.mean():.3f} ± "
                  f"{c.rmse.std(ddof=0):.3f} | {c.wall_s.mean():.1f} | {c.cpu_s.mean():.1f} | "
                  f"{wr:.2f} | {cr:.2f} |")  # fmt: skip
        if len(ref):
            for config, c in g[g.config != "chemprop"].groupby("config"):
                c = c.set_index("seed")
                common = c.index.intersection(ref.index)
                wins = int((c.rmse[common] < ref.rmse[common]).sum())
                print(
                    f"  {name}: {config} better than chemprop on {wins} of {len(common)} seeds; "
                    f"mean ΔRMSE {(c.rmse[common] - ref.rmse[common]).mean():+.4f}"
                )


if __name__ == "__main__":
    main()
