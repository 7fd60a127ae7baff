"""Empirical coverage of 90 % conformal intervals on scaffold-split test sets, over several seeds.

A single scaffold split of FreeSolv tests 64 molecules, so one seed's coverage moves by ±4 points
from chance alone; this script repeats `molfit train` (ExtraTrees on ECFP6/1024, the default) over
seeds and conformal methods and prints each seed's coverage, the mean and the mean width.

    OMP_NUM_THREADS=1 python benchmarks/coverage_seeds.py --datasets freesolv b3db-regression
"""

from __future__ import annotations

import argparse
import json
import tempfile
import warnings
from pathlib import Path

import numpy as np

from molfit.workflows import train_run


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--datasets", nargs="+", default=["freesolv", "b3db-regression"])
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--methods", nargs="+", default=["split", "cv+"])
    parser.add_argument("--coverage", type=float, default=0.9)
    parser.add_argument("--out", type=Path, default=Path("benchmarks/out/coverage_seeds.json"))
    args = parser.parse_args()
    warnings.filterwarnings("ignore")
    rows = []
    print("| dataset | conformal | coverage per seed | mean coverage | mean width |")
    print("| --- | --- | --- | ---: | ---: |")
    with tempfile.TemporaryDirectory() as tmp:
        for name in args.datasets:
            for method in args.methods:
                covs, widths = [], []
                for seed in range(args.seeds):
                    run = train_run(
                        name,
                        split="scaffold",
                        seed=seed,
                        method=method,
                        coverage=args.coverage,
                        out=Path(tmp) / f"{name}-{method}-{seed}",
                        progress=False,
                    )
                    metrics = next(iter(run.metrics.values()))
                    covs.append(metrics["coverage"])
                    widths.append(metrics["mean_width"])
                rows.append({"dataset": name, "method": method, "coverage": covs, "width": widths})
                per_seed = " ".join(f"{c:.3f}" for c in covs)
                print(
                    f"| {name} | {method} | {per_seed} | {np.mean(covs):.3f} "
                    f"| {np.mean(widths):.3f} |",
                    flush=True,
                )
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(rows, indent=2))


if __name__ == "__main__":
    main()
