"""Trust checks of a trained aspirin potential in molecular dynamics (issue 13):

1. NVE, 10 ps at dt 0.5 fs from a test frame (float64 calculator): total-energy drift.
2. Langevin at 500 K for 50 ps: no bond breaks (every bond of the start topology stays below
   1.5x its start length), a frame every 10 fs.
3. Distributions of bond lengths and of the O–H distances in that run against xTB's own 500 K
   MD (the labelled data set of benchmarks/potential_data.py).
4. Batched dynamics: atom-steps per second of ``--replicas N`` against one replica.

Uses the model saved by potential_vs_mace.py (benchmarks/out/potentials/molfit-equivariant).
Every MD run is resumable: rerun the same command after an interruption.

    OMP_NUM_THREADS=1 taskset -c 0 python benchmarks/potential_md_checks.py
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path

import numpy as np
from _machine import cpu_model

os.environ.setdefault("OMP_NUM_THREADS", "1")
ROOT = Path(__file__).resolve().parent
OUT = ROOT / "out" / "potentials"
DATA = ROOT / "out" / "aspirin_xtb_500K.extxyz"


def bonds_of(atoms) -> list[tuple[int, int]]:
    """Covalent bonds of the start frame (ASE's natural cutoffs)."""
    from ase.neighborlist import natural_cutoffs, neighbor_list

    i, j = neighbor_list("ij", atoms, natural_cutoffs(atoms, mult=1.1))
    return sorted({(int(a), int(b)) for a, b in zip(i, j, strict=True) if a < b})


def distances(frames, pairs) -> np.ndarray:
    """``(n_frames, n_pairs)`` distances in Å."""
    pos = np.stack([f.positions for f in frames])
    a, b = np.array(pairs).T
    return np.linalg.norm(pos[:, a] - pos[:, b], axis=-1)


def main() -> None:
    import torch

    from molfit.atomistic import load_calculator, read_frames, run_md, run_replicas

    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--model", type=Path, default=OUT / "molfit-equivariant")
    ap.add_argument("--nve-ps", type=float, default=10.0)
    ap.add_argument("--langevin-ps", type=float, default=50.0)
    ap.add_argument("--parts", default="nve,langevin,distributions,replicas")
    args = ap.parse_args()
    torch.set_num_threads(1)
    parts = set(args.parts.split(","))
    results_path = OUT / "md_checks.json"
    results = json.loads(results_path.read_text()) if results_path.exists() else {}
    results.update({"cpu": cpu_model(), "date": time.strftime("%Y-%m-%d"),
                    "model": str(args.model)})  # fmt: skip
    test = read_frames(OUT / "aspirin_test.extxyz")
    start = test[0]
    dt = 0.5
    if "nve" in parts:
        calc = load_calculator(args.model, dtype="float64")
        steps = round(args.nve_ps * 1000 / dt)
        r = run_md(start, calc, OUT / "nve_10ps.extxyz", ensemble="nve", dt=dt, steps=steps,
                   every=20, max_force=1e3)  # fmt: skip
        results["nve"] = {"ps": args.nve_ps, "dt_fs": dt, "frames": r.n_frames,
                          "drift_meV_per_atom_per_ps": r.energy_drift,
                          "max_change_meV_per_atom": r.max_energy_change,
                          "total_drift_meV_per_atom": r.energy_drift * args.nve_ps,
                          "mean_T_K": r.mean_temperature, "steps_per_s_float64":
                          r.steps_per_second, "stopped": r.stopped}  # fmt: skip
        print("nve", results["nve"], flush=True)
    if "langevin" in parts:
        calc = load_calculator(args.model)
        steps = round(args.langevin_ps * 1000 / dt)
        r = run_md(start, calc, OUT / "langevin_500K_50ps.extxyz", ensemble="langevin",
                   temperature=500.0, dt=dt, steps=steps, every=20, seed=1)  # fmt: skip
        frames = read_frames(OUT / "langevin_500K_50ps.extxyz")
        pairs = bonds_of(start)
        d = distances(frames, pairs)
        ratio = d / distances([start], pairs)
        results["langevin"] = {"ps": args.langevin_ps, "frames": r.n_frames,
                               "mean_T_K": r.mean_temperature, "stopped": r.stopped,
                               "steps_per_s_float32": r.steps_per_second, "bonds": len(pairs),
                               "max_bond_stretch_ratio": float(ratio.max()),
                               "bonds_broken": int((ratio.max(0) > 1.5).sum())}  # fmt: skip
        print("langevin", results["langevin"], flush=True)
    if "distributions" in parts:
        xtb = read_frames(DATA)
        ml = read_frames(OUT / "langevin_500K_50ps.extxyz")
        symbols = start.get_chemical_symbols()
        pairs = bonds_of(start)
        rows = {}
        kinds = {"C–O (all)": ("C", "O"), "O–H (bonded)": ("O", "H"), "C–H": ("C", "H"),
                 "C–C": ("C", "C")}  # fmt: skip
        for kind, (a_el, b_el) in kinds.items():
            sel = [p for p in pairs if {symbols[p[0]], symbols[p[1]]} == {a_el, b_el}]
            if not sel:
                continue
            dx, dm = distances(xtb, sel).ravel(), distances(ml, sel).ravel()
            rows[kind] = {"pairs": len(sel), "xtb_mean_A": float(dx.mean()),
                          "xtb_std_A": float(dx.std()), "molfit_mean_A": float(dm.mean()),
                          "molfit_std_A": float(dm.std())}  # fmt: skip
        # every O–H distance (intra-molecular hydrogen bond of the carboxylic acid included)
        o = [k for k, s in enumerate(symbols) if s == "O"]
        h = [k for k, s in enumerate(symbols) if s == "H"]
        oh = [(a, b) for a in o for b in h]
        dx, dm = distances(xtb, oh), distances(ml, oh)
        shortest_x, shortest_m = np.sort(dx, 1)[:, 1], np.sort(dm, 1)[:, 1]
        rows["second-shortest O···H (H-bond)"] = {
            "xtb_mean_A": float(shortest_x.mean()), "xtb_std_A": float(shortest_x.std()),
            "molfit_mean_A": float(shortest_m.mean()), "molfit_std_A": float(shortest_m.std()),
        }  # fmt: skip
        results["distributions"] = rows
        print("distributions", json.dumps(rows, indent=1), flush=True)
    if "replicas" in parts:
        calc = load_calculator(args.model)
        rows = {}
        for n in (1, 4, 16, 64):
            path = OUT / f"replicas_{n}.extxyz"
            path.unlink(missing_ok=True)
            r = run_replicas(start, calc, path, n_replicas=n, ensemble="langevin",
                             temperature=500.0, dt=dt, steps=200, every=50,
                             progress=False)  # fmt: skip
            rows[n] = {"steps_per_s": r.steps_per_second,
                       "atom_steps_per_s": r.atom_steps_per_second}  # fmt: skip
            print("replicas", n, rows[n], flush=True)
        results["replicas"] = rows
    OUT.mkdir(parents=True, exist_ok=True)
    results_path.write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
