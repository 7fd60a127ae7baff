"""What the primer's "time xTB/DFT vs potential" buttons measure, repeated: one oracle call
against one call of the shipped ethanol potential (molfit zoo ``ethanol-xtb``), energy and forces.

    OMP_NUM_THREADS=1 taskset -c 1 python benchmarks/primer_oracle_timing.py --out OUT.jsonl

Each trial is one call of :func:`molfit.primer._potential.time_oracle_vs_potential` (xTB: best of
3 after a warm-up; DFT B3LYP/def2-SVP: one call of a fresh calculator), appended to ``OUT.jsonl``
as it finishes; a rerun skips the trials already there (resumable). Prints a Markdown table of
medians. Ethanol is the ETKDGv3 + MMFF94 conformer the slide starts from.
"""

from __future__ import annotations

import argparse
import json
import platform
import subprocess
from pathlib import Path

import numpy as np


def cpu_model() -> str:
    try:
        out = subprocess.run(["lscpu"], capture_output=True, text=True, check=True).stdout
    except (OSError, subprocess.CalledProcessError):
        return platform.processor() or "unknown"
    for line in out.splitlines():
        if line.startswith("Model name:"):
            return line.split(":", 1)[1].strip()
    return "unknown"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("benchmarks/out/primer_timing.jsonl"))
    parser.add_argument("--xtb-trials", type=int, default=10)
    parser.add_argument("--dft-trials", type=int, default=3)
    args = parser.parse_args()

    from molfit.primer._potential import molecule_atoms, time_oracle_vs_potential
    from molfit.workflows import load_run_model
    from molfit.zoo import pretrained

    model = load_run_model(pretrained("ethanol-xtb"))
    atoms = molecule_atoms("CCO")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    done = []
    if args.out.exists():
        done = [json.loads(line) for line in args.out.read_text().splitlines() if line.strip()]
    cpu = cpu_model()
    for oracle, trials in (("xtb", args.xtb_trials), ("dft", args.dft_trials)):
        have = sum(1 for d in done if d["oracle_key"] == oracle)
        for _ in range(have, trials):
            row = {**time_oracle_vs_potential(model, atoms, oracle), "cpu": cpu}
            with args.out.open("a") as fh:
                fh.write(json.dumps(row) + "\n")
                fh.flush()
            done.append(row)
    print(f"CPU: {cpu}\n")
    print("| oracle | trials | oracle ms (median) | potential ms (median) | ratio (median) |")
    print("| --- | --- | --- | --- | --- |")
    for oracle in ("xtb", "dft"):
        rows = [d for d in done if d["oracle_key"] == oracle]
        if not rows:
            continue
        med = {k: float(np.median([r[k] for r in rows])) for k in ("oracle_ms", "potential_ms")}
        ratio = float(np.median([r["ratio"] for r in rows]))
        print(f"| {rows[0]['oracle']} | {len(rows)} | {med['oracle_ms']:.1f} | "
              f"{med['potential_ms']:.1f} | {ratio:.3g} |")  # fmt: skip


if __name__ == "__main__":
    main()
