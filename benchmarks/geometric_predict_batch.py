"""How many structures a 3D model should predict per network call (CPU, one thread).

    OMP_NUM_THREADS=1 taskset -c 1 python benchmarks/geometric_predict_batch.py [--crystals]

The D-MPNN predicted twice as fast in batches of 32 molecules as in batches of 1,000 (RESULTS
§13c): a batch's message tensors then stay in the CPU's cache. This measures the same for the
geometric models on real QM9 molecules: SchNet and PaiNN (molfit's defaults, trained for two
epochs on 300 molecules: the weights do not change the cost), predicting energies of 2,000 other
QM9 molecules, and PaiNN predicting energies and forces. Per batch size: microseconds per
molecule of ``GeometricModel._member_outputs`` (featurization excluded, done once), best of two
passes. ``--crystals``: PaiNN (trained as above) on 64 rattled 64-atom diamond cells, energies,
forces and stress, ms per cell by structures per call and with molfit's default batches (which
also close at ``PREDICT_MAX_PAIRS`` neighbour pairs). All with the allocator tuned as the
``molfit`` command tunes it (:func:`molfit.parallel.tune_allocator`). Writes
``benchmarks/out/geometric_predict_batch.json`` (``..._crystals.json``).
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import torch
from _machine import cpu_model

from molfit.data import load
from molfit.models import get_model
from molfit.parallel import tune_allocator

OUT = Path(__file__).resolve().parent / "out" / "geometric_predict_batch.json"
SIZES = (8, 16, 32, 64, 128, 256, 1000)


def per_molecule_us(model, feats, *, forces: bool, batch_size: int) -> float:
    best = float("inf")
    for _ in range(2):
        t0 = time.process_time()
        model._member_outputs(
            feats, forces=forces, stress=False, dtype=torch.float32, batch_size=batch_size
        )
        best = min(best, time.process_time() - t0)
    return 1e6 * best / len(feats)


def crystals() -> None:
    from ase.build import bulk

    import molfit.models._geometric as geometric

    ds = load("qm9")
    model = get_model("painn", epochs=1, seed=0).fit(
        ds.structures.subset(range(200)), ds.frame["U0"].to_numpy()[:200]
    )
    cells = []
    for k in range(64):
        cell = bulk("C", "diamond", a=3.57, cubic=True).repeat((2, 2, 2))
        cell.rattle(0.05, seed=k)
        cells.append(cell)
    feats = model._features(cells, fitting=False)
    pairs = sum(len(item.pair_i) for item in feats.items) / len(feats)
    budget = geometric.PREDICT_MAX_PAIRS
    rows = []
    for size in (1, 2, 4, 16, "default"):
        best = float("inf")
        for _ in range(2):
            geometric.PREDICT_MAX_PAIRS = budget if size == "default" else 10**9
            t0 = time.process_time()
            if size == "default":
                model.predict_properties(feats, forces=True, stress=True)
            else:
                model._member_outputs(
                    feats, forces=True, stress=True, dtype=torch.float32, batch_size=size
                )
            best = min(best, time.process_time() - t0)
        row = {"batch_size": size, "ms_per_cell": 1e3 * best / len(feats), "pairs_per_cell": pairs}
        print(json.dumps(row), flush=True)
        rows.append(row)
    out = OUT.with_name("geometric_predict_batch_crystals.json")
    record = {"cpu": cpu_model(), "date": time.strftime("%Y-%m-%d"), "cells": len(feats)}
    out.write_text(json.dumps({**record, "rows": rows}, indent=1))


def main() -> None:
    torch.set_num_threads(1)
    tune_allocator()
    if "--crystals" in sys.argv[1:]:
        crystals()
        return
    ds = load("qm9")
    y = ds.frame["U0"].to_numpy()
    train, query = ds.structures.subset(range(300)), ds.structures.subset(range(10000, 12000))
    rows = []
    for name in ("schnet", "painn"):
        model = get_model(name, epochs=2, seed=0).fit(train, y[:300])
        feats = model._features(query, fitting=False)
        pairs = sum(len(item.pair_i) for item in feats.items) / len(feats)
        for forces in (False, True) if name == "painn" else (False,):
            for size in SIZES:
                us = per_molecule_us(model, feats, forces=forces, batch_size=size)
                row = {"model": name, "forces": forces, "batch_size": size, "us_per_mol": us,
                       "pairs_per_mol": pairs}  # fmt: skip
                print(json.dumps(row), flush=True)
                rows.append(row)
    OUT.parent.mkdir(parents=True, exist_ok=True)
    record = {"cpu": cpu_model(), "date": time.strftime("%Y-%m-%d"), "molecules": 2000}
    OUT.write_text(json.dumps({**record, "rows": rows}, indent=1))


if __name__ == "__main__":
    main()
