"""molfit's D-MPNN against chemprop 2.3.1: accuracy, training time per epoch, predict throughput.

    OMP_NUM_THREADS=2 python benchmarks/gnn_vs_chemprop.py                       # full
    python benchmarks/gnn_vs_chemprop.py --epochs 3 --limit 600 --seeds 0 \\
        --predict-limit 5000 --datasets freesolv                               # a short check

Both sides get the very same scaffold splits (molfit's balanced scaffold split, 80/10/10, seeds
0/1/2), hidden size, depth, feed-forward head, epochs, batch size, mean aggregation and thread
count, on the CPU, one after the other. chemprop runs in its own virtualenv
(``benchmarks/.venvs/chemprop``) through ``_chemprop_gnn_runner.py``.

Reported per dataset and seed: the test metric (ROC-AUC for B3DB, RMSE in eV for FreeSolv),
training wall time per epoch (total training time, featurization included, / epochs), and
predict throughput (molecules/s from SMILES to predictions, featurization included) on the
chemml 100k polarizability SMILES with the FreeSolv seed-0 model. Results go to
``benchmarks/out/gnn_vs_chemprop.json`` and a Markdown table on stdout.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parent
CHEMPROP_PY = ROOT / ".venvs" / "chemprop" / "bin" / "python"
DATASETS = {"b3db": ("bbb", "classification"), "freesolv": ("dG_hydration", "regression")}
TAGS = {"32": "molfit", "bf16-mixed": "molfit_bf16"}


def _metric(task: str, y: np.ndarray, pred: np.ndarray) -> float:
    from sklearn.metrics import roc_auc_score

    if task == "classification":
        return float(roc_auc_score(y, pred))
    return float(np.sqrt(np.mean((y - pred) ** 2)))


def _frame(name: str, limit: int | None, seed: int) -> pd.DataFrame:
    import molfit.data

    ds = molfit.data.load(name, validate=True)
    target, _ = DATASETS[name]
    frame = pd.DataFrame({"smiles": list(ds.smiles), "y": ds.frame[target].to_numpy(float)})
    frame = frame.dropna().reset_index(drop=True)
    if limit and limit < len(frame):
        keep = np.sort(np.random.default_rng(1234).choice(len(frame), limit, replace=False))
        frame = frame.iloc[keep].reset_index(drop=True)
    return frame


def run_molfit(
    parts: dict[str, pd.DataFrame], task: str, args, seed: int, predict_smiles, precision: str
):
    import torch

    from molfit.models import get_model

    torch.set_num_threads(args.threads)
    model = get_model(
        "dmpnn", task=task, hidden=args.hidden, depth=args.depth, ffn_hidden=args.hidden,
        epochs=args.epochs, batch_size=args.batch_size, patience=None, seed=seed,
        progress_bar=False, precision=precision,
    )  # fmt: skip
    tr, va, te = parts["train"], parts["valid"], parts["test"]
    t0 = time.perf_counter()
    model.fit(list(tr.smiles), tr.y.to_numpy(), list(va.smiles), va.y.to_numpy())
    fit_seconds = time.perf_counter() - t0
    mean, _ = model.predict_features(model.featurize(list(te.smiles)))
    out = {"fit_seconds": fit_seconds, "test_pred": mean[:, 0].tolist()}
    if predict_smiles is not None:
        t0 = time.perf_counter()
        model.predict_features(model.featurize(predict_smiles))
        out["predict_seconds"] = time.perf_counter() - t0
        out["predict_n"] = len(predict_smiles)
    return out


def run_chemprop(parts, task: str, args, seed: int, predict_file: Path | None, work: Path):
    paths = {}
    for key, frame in parts.items():
        paths[key] = str(work / f"{key}.csv")
        frame.to_csv(paths[key], index=False)
    cfg = {
        **paths, "task": task, "seed": seed, "epochs": args.epochs, "hidden": args.hidden,
        "depth": args.depth, "batch_size": args.batch_size, "threads": args.threads,
        "workdir": str(work / "ckpt"), "predict_batch_size": args.predict_batch_size,
        "predict_smiles": None if predict_file is None else str(predict_file),
    }  # fmt: skip
    (work / "cfg.json").write_text(json.dumps(cfg))
    env = {**os.environ, "OMP_NUM_THREADS": str(args.threads), "MKL_NUM_THREADS": str(args.threads)}
    proc = subprocess.run(
        [str(CHEMPROP_PY), str(ROOT / "_chemprop_gnn_runner.py"), str(work / "cfg.json")],
        capture_output=True, text=True, env=env, check=False,
    )  # fmt: skip
    lines = [ln for ln in proc.stdout.splitlines() if ln.startswith("RESULT ")]
    if proc.returncode or not lines:
        raise RuntimeError(f"chemprop failed:\n{proc.stderr[-3000:]}")
    return json.loads(lines[-1][len("RESULT ") :])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--datasets", nargs="+", default=list(DATASETS), choices=list(DATASETS))
    ap.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2])
    ap.add_argument("--epochs", type=int, default=50)
    ap.add_argument("--batch-size", type=int, default=64)
    ap.add_argument("--hidden", type=int, default=300)
    ap.add_argument("--depth", type=int, default=3)
    ap.add_argument("--threads", type=int, default=int(os.environ.get("OMP_NUM_THREADS", 2)))
    ap.add_argument("--limit", type=int, default=None, help="subsample each dataset (rows)")
    ap.add_argument("--predict-limit", type=int, default=100_000)
    ap.add_argument("--predict-batch-size", type=int, default=1000)
    ap.add_argument(
        "--precisions",
        nargs="+",
        default=["32", "bf16-mixed"],
        choices=["32", "bf16-mixed"],
        help="molfit runs once per precision (chemprop always float32)",
    )
    ap.add_argument("--out", type=Path, default=ROOT / "out" / "gnn_vs_chemprop.json")
    args = ap.parse_args()
    os.environ["OMP_NUM_THREADS"] = str(args.threads)

    import molfit.data
    import molfit.train
    from molfit.data.split import scaffold_split

    pol = list(molfit.data.load("polarizability").smiles[: args.predict_limit])
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        pred_file = Path(tmp) / "predict.smi"
        pred_file.write_text("\n".join(pol))
        for name in args.datasets:
            _, task = DATASETS[name]
            for seed in args.seeds:
                frame = _frame(name, args.limit, seed)
                split = scaffold_split(list(frame.smiles), (0.8, 0.1, 0.1), seed=seed)
                parts = {k: frame.iloc[getattr(split, k)] for k in ("train", "valid", "test")}
                do_pred = name == "freesolv" and seed == args.seeds[0] and args.predict_limit > 0
                work = Path(tmp) / f"{name}-{seed}"
                work.mkdir()
                results = {
                    TAGS[precision]: run_molfit(
                        parts, task, args, seed, pol if do_pred else None, precision
                    )
                    for precision in args.precisions
                }
                results["chemprop"] = run_chemprop(
                    parts, task, args, seed, pred_file if do_pred else None, work
                )
                y = parts["test"].y.to_numpy()
                row = {"dataset": name, "seed": seed, "n_train": len(parts["train"])}
                for tag, res in results.items():
                    row[f"{tag}_metric"] = _metric(task, y, np.asarray(res["test_pred"]))
                    row[f"{tag}_s_per_epoch"] = res["fit_seconds"] / args.epochs
                    if "predict_seconds" in res:
                        row[f"{tag}_predict_per_s"] = res["predict_n"] / res["predict_seconds"]
                        row["predict_n"] = res["predict_n"]
                rows.append(row)
                print(json.dumps(row), flush=True)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    settings = {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(args).items()}
    args.out.write_text(json.dumps({"settings": settings, "rows": rows}, indent=2))
    print(_table(rows), file=sys.stdout)


def _table(rows: list[dict]) -> str:
    frame = pd.DataFrame(rows)
    tags = [t for t in (*TAGS.values(), "chemprop") if f"{t}_metric" in frame]
    lines = ["| dataset | metric | tool | test metric | s/epoch | ratio to chemprop |",
             "| --- | --- | --- | --- | ---: | ---: |"]  # fmt: skip
    for name, g in frame.groupby("dataset"):
        metric = "ROC-AUC" if DATASETS[name][1] == "classification" else "RMSE (eV)"
        tc = g.chemprop_s_per_epoch.mean()
        for tag in tags:
            m, t = g[f"{tag}_metric"], g[f"{tag}_s_per_epoch"].mean()
            lines.append(
                f"| {name} ({len(g)} seeds) | {metric} | {tag} | {m.mean():.3f} ± "
                f"{m.std(ddof=0):.3f} | {t:.2f} | {t / tc:.2f} |"
            )
    if "chemprop_predict_per_s" in frame:
        p = frame.dropna(subset=["chemprop_predict_per_s"]).iloc[0]
        theirs = p.chemprop_predict_per_s
        for tag in tags:
            ours = p[f"{tag}_predict_per_s"]
            lines.append(
                f"\npredict throughput ({int(p.predict_n):,} SMILES): {tag} {ours:,.0f} mol/s "
                f"({ours / theirs:.2f}x chemprop)"
            )
    return "\n".join(lines)


if __name__ == "__main__":
    main()
