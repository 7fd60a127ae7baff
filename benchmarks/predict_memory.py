"""Peak memory and wall time of `molfit predict` on 100,000 SMILES (issue 12), for this source
tree and, with --old-commit, for an older commit checked out in a temporary git worktree.

Each version trains its own ExtraTrees run on B3DB (`molfit train b3db --model extratrees`), then
predicts the 100k SMILES of the polarizability set written to one CSV; the figures are the
predict command's wall time and its peak RSS (``ru_maxrss`` of the child process, whole command,
start-up included).

    taskset -c 1 python benchmarks/predict_memory.py --old-commit 2f3389a
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

from _machine import cpu_model

ROOT = Path(__file__).resolve().parent
OUT = ROOT / "out" / "predict_memory"


def measured(cmd: list[str], env: dict[str, str]) -> tuple[float, float]:
    """Wall seconds and peak RSS (MB) of one command."""
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(proc.pid, 0)
    seconds = time.perf_counter() - t0
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"{' '.join(cmd)} failed: {proc.stderr.read().decode()[-2000:]}")
    return seconds, usage.ru_maxrss / 1024.0


def run_version(name: str, src: Path, smiles_csv: Path) -> dict:
    env = {**os.environ, "PYTHONPATH": str(src), "OMP_NUM_THREADS": "1"}
    run = OUT / f"run-{name}"
    code = "from molfit.cli import main; main()"
    if not (run / "model").exists():
        subprocess.run([sys.executable, "-c", code, "train", "b3db", "--model", "extratrees",
                        "--out", str(run)], env=env, check=True,
                       stdout=subprocess.DEVNULL)  # fmt: skip
    seconds, rss = measured([sys.executable, "-c", code, "predict", str(run), str(smiles_csv),
                             "--out", str(OUT / f"preds-{name}.csv")], env)  # fmt: skip
    return {"predict_wall_s": seconds, "predict_peak_rss_MB": rss, "src": str(src)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--old-commit", default=None)
    args = ap.parse_args()
    OUT.mkdir(parents=True, exist_ok=True)
    smiles_csv = OUT / "polarizability_100k.csv"
    if not smiles_csv.exists():
        import pandas as pd

        from molfit.data import load

        ds = load("polarizability")
        pd.DataFrame({"smiles": ds.smiles}).to_csv(smiles_csv, index=False)
    rows = len(smiles_csv.read_text().splitlines()) - 1
    results = {"cpu": cpu_model(), "date": time.strftime("%Y-%m-%d"), "rows": rows}
    results["now"] = run_version("now", ROOT.parent / "src", smiles_csv)
    print("now", results["now"], flush=True)
    if args.old_commit:
        tree = Path("/tmp") / f"molfit-{args.old_commit}"
        if not tree.exists():
            subprocess.run(["git", "-C", str(ROOT.parent), "worktree", "add", "--detach",
                            str(tree), args.old_commit], check=True)  # fmt: skip
        results[args.old_commit] = run_version(args.old_commit, tree / "src", smiles_csv)
        print(args.old_commit, results[args.old_commit], flush=True)
    (OUT / "results.json").write_text(json.dumps(results, indent=2))
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
