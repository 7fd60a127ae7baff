"""Labelled MD data for the potential benchmarks, made with molfit's own `sample` verb.

Aspirin (21 atoms) from a SMILES conformer, GFN2-xTB (tblite) Langevin MD at 500 K, dt 0.5 fs,
one frame every 10 steps, seed 0: 1,500 frames (1,000 train / 100 validation / 400 test in
potential_vs_mace.py). Resumable: rerun the same command after an interruption.

    OMP_NUM_THREADS=1 taskset -c 0 python benchmarks/potential_data.py
"""

from __future__ import annotations

import argparse
import json
import os
import platform
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")

ROOT = Path(__file__).resolve().parent
ASPIRIN = "CC(=O)OC1=CC=CC=C1C(=O)O"


def cpu_model() -> str:
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip()
    return platform.machine()


def main() -> None:
    from molfit.atomistic import sample

    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--frames", type=int, default=1500)
    ap.add_argument("--every", type=int, default=10)
    ap.add_argument("--temperature", type=float, default=500.0)
    ap.add_argument("--out", type=Path, default=ROOT / "out" / "aspirin_xtb_500K.extxyz")
    args = ap.parse_args()
    result = sample(
        ASPIRIN,
        args.out,
        oracle="xtb",
        temperature=args.temperature,
        steps=args.frames * args.every,
        every=args.every,
        dt=0.5,
        seed=0,
    )
    summary = {
        "file": str(args.out),
        "frames": result.n_frames,
        "resumed_from": result.n_resumed,
        "mean_temperature_K": result.mean_temperature,
        "xtb_md_steps_per_second": result.steps_per_second,
        "seconds_this_run": result.seconds,
        "stopped": result.stopped,
        "cpu": cpu_model(),
    }
    print(json.dumps(summary, indent=2))
    args.out.with_suffix(".json").write_text(json.dumps(summary, indent=2))


if __name__ == "__main__":
    main()
