"""Two universal potentials as oracles for crystals (issue 16): CHGNet and SevenNet-0 on copper.

    OMP_NUM_THREADS=1 taskset -c 0 python benchmarks/universal_oracles.py

For each oracle (and ASE's EMT for scale): the properties `molfit properties` computes on fcc Cu
(lattice constant and bulk modulus from an equation of state, C11/C12/C44, the vacancy formation
energy in a 2x2x2 conventional supercell) and the time of one energy + forces + stress call on a
108-atom cell (median of 5 after one warm-up call), one thread. Results in
benchmarks/out/universal_oracles.json (resumable per oracle).
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

from _machine import cpu_model

os.environ.setdefault("OMP_NUM_THREADS", "1")
OUT = Path(__file__).resolve().parent / "out" / "universal_oracles.json"


def main() -> None:
    import numpy as np
    import torch

    from molfit.atomistic import evaluate, make_oracle
    from molfit.materials import bulk, crystal_properties, supercell

    torch.set_num_threads(1)
    results = json.loads(OUT.read_text()) if OUT.exists() else {}
    for name in ("emt", "chgnet", "sevenn"):
        if name in results:
            continue
        calc = make_oracle(name)
        props = crystal_properties(bulk("Cu", "fcc", a=3.6, cubic=True), calc)
        cell = supercell(bulk("Cu", "fcc", a=3.6, cubic=True), 3)
        cell.rattle(0.02, seed=0)
        evaluate(calc, cell)
        times = []
        for k in range(5):
            cell.positions[0, 0] += 1e-3 * (-1) ** k
            t0 = time.perf_counter()
            evaluate(calc, cell)
            times.append(time.perf_counter() - t0)
        results[name] = {"properties": props, "s_per_call_108_atoms": float(np.median(times)),
                         "cpu": cpu_model(), "date": time.strftime("%Y-%m-%d")}  # fmt: skip
        OUT.parent.mkdir(parents=True, exist_ok=True)
        OUT.write_text(json.dumps(results, indent=2, default=float))
        print(name, json.dumps(results[name], default=float), flush=True)


if __name__ == "__main__":
    main()
