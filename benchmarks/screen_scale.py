"""Screening MOSES at scale (issue 14, continued): molecules per second on 1 and 2 cores, a
2-worker Dask LocalCluster, the full 1,584,663-molecule library, and peak memory of every
process of a run.

Steps (each writes its figures to benchmarks/out/screen/scale.json and is skipped when already
there, so a killed benchmark carries on; the full-library screen itself resumes from its parts):

- ``run``: the B3DB ExtraTrees run (``molfit train b3db``), unless benchmarks/out/screen/run
  exists (written by benchmarks/screen_moses.py).
- ``slice``: the first 100,000 MOSES molecules as a ``.smi`` file.
- ``limit-1`` / ``limit-2``: the limit: RDKit ``MolFromSmiles`` + Morgan radius 3, 1,024 bits
  (``GetFingerprintAsNumPy``, the run's featurizer) over the 100k in one process on core 1, and
  in two processes (half each) on cores 0 and 1; molecules per second of the wall time.
- ``w1-100k``, ``w2-100k``, ``dask2-100k``: ``molfit screen RUN moses100k.smi -o DIR
  --no-progress`` with one process (core 1), ``--workers 2`` and ``--dask --workers 2``
  (cores 0 and 1).
- ``full-w2``: ``molfit screen RUN moses -o DIR --workers 2`` over the whole library (cores 0,
  1), run once; killed, the same command resumes it.

Every figure is of the whole command (imports and model load included). Memory: the process
tree is sampled every 0.2 s (psutil): the peak of the summed RSS of all its processes, and the
peak of the largest one. The load average (1 min) is recorded before and after each step: the
machine is shared.

    PYTHONPATH=src OMP_NUM_THREADS=1 python benchmarks/screen_scale.py
"""

from __future__ import annotations

import argparse
import contextlib
import gzip
import json
import os
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")
ROOT = Path(__file__).resolve().parent
OUT = ROOT / "out" / "screen"
RESULTS = OUT / os.environ.get("SCREEN_SCALE_RESULTS", "scale.json")  # one file per instance
N_SLICE = 100_000


def cpu_model() -> str:
    out = subprocess.run(["lscpu"], capture_output=True, text=True, check=False).stdout
    for line in out.splitlines():
        if line.startswith("Model name"):
            return line.split(":", 1)[1].strip()
    return "unknown"


def load_results() -> dict:
    return json.loads(RESULTS.read_text()) if RESULTS.is_file() else {}


def save(results: dict) -> None:
    tmp = RESULTS.with_suffix(".tmp")
    tmp.write_text(json.dumps(results, indent=2))
    os.replace(tmp, RESULTS)


class TreeMemory:
    """Peak summed RSS (and the largest single RSS) of a process and all its descendants."""

    def __init__(self, pid: int, every: float = 0.2) -> None:
        import psutil

        self.root = psutil.Process(pid)
        self.every = every
        self.peak_total = 0
        self.peak_single = 0
        self.peak_processes = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        import psutil

        while not self._stop.is_set():
            try:
                procs = [self.root, *self.root.children(recursive=True)]
            except psutil.Error:
                break
            rss = []
            for p in procs:
                with contextlib.suppress(psutil.Error):
                    rss.append(p.memory_info().rss)
            if rss:
                self.peak_total = max(self.peak_total, sum(rss))
                self.peak_single = max(self.peak_single, max(rss))
                self.peak_processes = max(self.peak_processes, len(rss))
            self._stop.wait(self.every)

    def __enter__(self) -> TreeMemory:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


def timed(cmd: list[str], cores: str) -> dict:
    """Wall time, CPU time of the tree and its memory for ``cmd`` pinned to ``cores``."""
    import resource

    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    load0 = os.getloadavg()[0]
    t0 = time.perf_counter()
    proc = subprocess.Popen(
        ["taskset", "-c", cores, *cmd], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    with TreeMemory(proc.pid) as memory:
        stdout, stderr = proc.communicate()
    wall = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} failed:\n{stderr[-3000:]}")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return {
        "wall_s": round(wall, 2),
        "cpu_s": round(cpu, 1),
        "cores": cores,
        "peak_rss_all_mb": round(memory.peak_total / 2**20, 1),
        "peak_rss_largest_mb": round(memory.peak_single / 2**20, 1),
        "processes": memory.peak_processes,
        "load_before": round(load0, 2),
        "load_after": round(os.getloadavg()[0], 2),
        "stdout_tail": stdout[-400:],
    }


def moses_path() -> Path:
    from molfit.data import moses_file

    return moses_file()


def step_run() -> dict:
    if (OUT / "run" / "model").is_dir():
        return {"reused": str(OUT / "run")}
    return timed(["molfit", "train", "b3db", "-o", str(OUT / "run"), "--no-progress"], "1")


def step_slice() -> dict:
    with gzip.open(moses_path(), "rt") as fh:
        next(fh)
        lines = [next(fh).rstrip("\n").split(",")[0] + "\n" for _ in range(N_SLICE)]
    (OUT / "moses100k.smi").write_text("".join(lines))
    return {"molecules": N_SLICE}


LIMIT_CODE = """
import sys, time
from rdkit import Chem, RDLogger
from rdkit.Chem import rdFingerprintGenerator
RDLogger.DisableLog("rdApp.*")
lines = open(sys.argv[1]).read().split()
part, parts = int(sys.argv[2]), int(sys.argv[3])
smiles = lines[part::parts]
gen = rdFingerprintGenerator.GetMorganGenerator(radius=3, fpSize=1024)
t0, c0 = time.perf_counter(), time.process_time()
n = 0
for s in smiles:
    mol = Chem.MolFromSmiles(s)
    if mol is not None:
        gen.GetFingerprintAsNumPy(mol)
        n += 1
print(n, time.perf_counter() - t0, time.process_time() - c0)
"""


def step_limit(n_proc: int) -> dict:
    """RDKit parse + ECFP6 over the 100k slice in ``n_proc`` processes, one per core."""
    t0 = time.perf_counter()
    procs = [
        subprocess.Popen(
            [
                *("taskset", "-c", str(1 - i if n_proc == 2 else 1)),
                *(sys.executable, "-c", LIMIT_CODE, str(OUT / "moses100k.smi")),
                *(str(i), str(n_proc)),
            ],
            stdout=subprocess.PIPE,
            text=True,
        )
        for i in range(n_proc)
    ]
    outs = [p.communicate()[0].split() for p in procs]
    wall = time.perf_counter() - t0
    n = sum(int(o[0]) for o in outs)
    loop = max(float(o[1]) for o in outs)
    cpu = sum(float(o[2]) for o in outs)
    return {
        "molecules": n,
        "loop_s": round(loop, 2),
        "loop_cpu_s": round(cpu, 2),
        "mol_per_cpu_s": round(n / cpu, 1),
        "wall_s": round(wall, 2),
        "mol_per_s": round(n / loop, 1),
        "load": round(os.getloadavg()[0], 2),
    }


def screen_step(library: str, extra: list[str], cores: str, n: int, keep: bool = False) -> dict:
    out = OUT / f"scale-{Path(library).stem}-{'-'.join(x.strip('-') for x in extra) or 'w1'}"
    if not keep:
        shutil.rmtree(out, ignore_errors=True)  # a timed run starts from nothing
    cmd = ["molfit", "screen", str(OUT / "run"), library, "-o", str(out), "--no-progress"]
    figures = timed([*cmd, *extra], cores)
    summary = json.loads((out / "summary.json").read_text())
    figures.update(
        molecules=n,
        mol_per_s=round(n / figures["wall_s"], 1),
        mol_per_cpu_s=round(n / figures["cpu_s"], 1) if figures["cpu_s"] else None,
        screen_seconds=summary["seconds"],
        resumed_parts=summary["resumed_parts"],
        n_parts=summary["n_parts"],
        n_failed=summary["n_failed"],
        n_outside_domain=summary["n_outside_domain"],
        options=" ".join(extra),
    )
    if not keep:
        shutil.rmtree(out)
    return figures


SLICE = str(OUT / "moses100k.smi")
STEPS = {
    "run": step_run,
    "slice": step_slice,
    "limit-1": lambda: step_limit(1),
    "limit-2": lambda: step_limit(2),
    "w1-100k": lambda: screen_step(SLICE, [], "1", N_SLICE),
    "w2-100k": lambda: screen_step(SLICE, ["--workers", "2"], "0,1", N_SLICE),
    "dask2-100k": lambda: screen_step(SLICE, ["--dask", "--workers", "2"], "0,1", N_SLICE),
    "full-w2": lambda: screen_step("moses", ["--workers", "2"], "0,1", 1_584_663, keep=True),
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--steps", default=",".join(STEPS))
    args = parser.parse_args()
    OUT.mkdir(parents=True, exist_ok=True)
    results = load_results()
    results["machine"] = {"cpu": cpu_model(), "cores": os.cpu_count()}
    for name in args.steps.split(","):
        if name in results:
            print(f"{name}: done {results[name]}")
            continue
        print(f"{name} ...", flush=True)
        results[name] = STEPS[name]()
        save(results)
        print(f"{name}: {results[name]}", flush=True)
    save(results)


if __name__ == "__main__":
    main()
