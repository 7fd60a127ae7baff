"""Screening MOSES (issue 14): molecules per second and peak memory of ``molfit screen``.

Steps (each writes its figures to benchmarks/out/screen/results.json and is skipped when already
there, so a killed benchmark carries on where it stopped):

- ``run``: the B3DB ExtraTrees run (``molfit train b3db``, default hyper-parameters).
- ``slices``: the first 200,000 and 20,000 MOSES molecules as ``.smi`` files.
- ``rdkit``: the limit: RDKit parse + ECFP6 (1,024 bits, the run's featurizer) of 50,000
  molecules in one process, molecules per second.
- ``screen-200k``: ``molfit screen RUN moses200k.smi -o DIR --no-progress`` (chunk 2,000),
  whole command: wall time (model load and imports included) and peak RSS (``/usr/bin/time``).
- ``all-5k``: the first 5,000 with ``--top 100 --diverse --filter pains,brenk,lipinski
  --dedupe`` (RDKit's filter catalogs cost milliseconds per molecule, so not on 200k).
- ``rss-20k`` / ``rss-20k-chunk10k``: 20,000 molecules at chunk 2,000 and 10,000: peak memory
  depends on the chunk, not the library.

Everything is pinned to one core:

    taskset -c 1 env OMP_NUM_THREADS=1 python benchmarks/screen_moses.py
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import platform
import shutil
import subprocess
import sys
import time
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")
ROOT = Path(__file__).resolve().parent
OUT = ROOT / "out" / "screen"
RESULTS = OUT / "results.json"
MOSES_TRAIN = "moses/dataset/data/train.csv.gz"


def cpu_model() -> str:
    try:
        out = subprocess.run(["lscpu"], capture_output=True, text=True, check=True).stdout
        for line in out.splitlines():
            if line.startswith("Model name"):
                return line.split(":", 1)[1].strip()
    except (OSError, subprocess.CalledProcessError):
        pass
    return platform.processor()


def load_results() -> dict:
    return json.loads(RESULTS.read_text()) if RESULTS.is_file() else {}


def save(results: dict) -> None:
    tmp = RESULTS.with_suffix(".tmp")
    tmp.write_text(json.dumps(results, indent=2))
    os.replace(tmp, RESULTS)


def timed(cmd: list[str]) -> dict:
    """Wall time and peak RSS (GNU time: the largest process; workers=1 is one process)."""
    full = ["/usr/bin/time", "-f", "%e %M", "taskset", "-c", "1", *cmd]
    t0 = time.perf_counter()
    proc = subprocess.run(full, capture_output=True, text=True)
    wall = time.perf_counter() - t0
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} failed:\n{proc.stderr[-2000:]}")
    elapsed, kb = proc.stderr.strip().splitlines()[-1].split()
    return {"wall_s": round(wall, 2), "time_s": float(elapsed), "peak_rss_mb": int(kb) / 1024}


def moses_path() -> Path:
    from molfit.data import moses_file

    return moses_file()


def step_slices() -> dict:
    sizes = {
        "moses200k.smi": 200_000,
        "moses50k.smi": 50_000,
        "moses20k.smi": 20_000,
        "moses5k.smi": 5_000,
    }
    with gzip.open(moses_path(), "rt") as fh:
        next(fh)
        lines = [next(fh) for _ in range(max(sizes.values()))]
    for name, n in sizes.items():
        (OUT / name).write_text("".join(lines[:n]))
    return {"sizes": sizes}


def step_rdkit() -> dict:
    from rdkit import Chem, RDLogger
    from rdkit.Chem import rdFingerprintGenerator

    RDLogger.DisableLog("rdApp.*")
    smiles = (OUT / "moses50k.smi").read_text().split()
    gen = rdFingerprintGenerator.GetMorganGenerator(radius=3, fpSize=1024)
    t0 = time.perf_counter()
    n = 0
    for s in smiles:
        mol = Chem.MolFromSmiles(s)
        if mol is not None:
            gen.GetFingerprintAsNumPy(mol)
            n += 1
    seconds = time.perf_counter() - t0
    return {"molecules": n, "seconds": round(seconds, 2), "mol_per_s": round(n / seconds, 1)}


def screen_step(library: str, extra: list[str], n: int) -> dict:
    out = OUT / f"hits-{Path(library).stem}-{abs(hash(tuple(extra))) % 10_000}"
    shutil.rmtree(out, ignore_errors=True)  # a timed run starts from nothing
    cmd = ["molfit", "screen", str(OUT / "run"), str(OUT / library), "-o", str(out)]
    figures = timed([*cmd, "--no-progress", *extra])
    summary = json.loads((out / "summary.json").read_text())
    figures.update(
        molecules=n,
        mol_per_s=round(n / figures["wall_s"], 1),
        screen_seconds=summary["seconds"],
        n_failed=summary["n_failed"],
        n_outside_domain=summary["n_outside_domain"],
        n_duplicates=summary["n_duplicates"],
        n_flagged=summary["n_flagged"],
        options=" ".join(extra),
    )
    shutil.rmtree(out)
    return figures


STEPS = {
    "run": lambda: timed(["molfit", "train", "b3db", "-o", str(OUT / "run"), "--no-progress"]),
    "slices": step_slices,
    "rdkit": step_rdkit,
    "screen-200k": lambda: screen_step("moses200k.smi", [], 200_000),
    "all-5k": lambda: screen_step(
        "moses5k.smi",
        ["--top", "100", "--diverse", "--filter", "pains,brenk,lipinski", "--dedupe"],
        5_000,
    ),
    "rss-20k": lambda: screen_step("moses20k.smi", [], 20_000),
    "rss-20k-chunk10k": lambda: screen_step("moses20k.smi", ["--chunk-size", "10000"], 20_000),
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--steps", default=",".join(STEPS))
    args = parser.parse_args()
    OUT.mkdir(parents=True, exist_ok=True)
    results = load_results()
    results["machine"] = {"cpu": cpu_model(), "python": sys.version.split()[0]}
    for name in args.steps.split(","):
        if name in results:
            print(f"{name}: done {results[name]}")
            continue
        if name == "run" and (OUT / "run").is_dir():
            shutil.rmtree(OUT / "run")
        print(f"{name} ...", flush=True)
        results[name] = STEPS[name]()
        save(results)
        print(f"{name}: {results[name]}", flush=True)
    save(results)


if __name__ == "__main__":
    main()
