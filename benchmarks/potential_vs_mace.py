"""Potentials on aspirin (GFN2-xTB labels at 500 K): molfit against MACE 0.3.16 at an equal
training budget, MD speed through ASE calculators, and the speed-up over xTB and DFT.

Data: benchmarks/potential_data.py (1,500 frames); split with seed 0 into 1,000 train / 100
validation / 400 test frames. Each tool trains for --budget seconds on one pinned core (MACE in
benchmarks/.venvs/mace, made by `bash benchmarks/setup_peers.sh mace`); both run side by side,
one core each. Steps per second are velocity-Verlet steps (dt 0.5 fs) through each tool's ASE
calculator on one thread, from the same test frame.

    python benchmarks/potential_vs_mace.py --budget 1200 --parts mace,equivariant,oracles
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
from _machine import cpu_model

os.environ.setdefault("OMP_NUM_THREADS", "1")
ROOT = Path(__file__).resolve().parent
OUT = ROOT / "out" / "potentials"
DATA = ROOT / "out" / "aspirin_xtb_500K.extxyz"
SIZES = {"train": 1000, "valid": 100, "test": 400}


def split(seed: int = 0) -> dict[str, Path]:
    """Write train/valid/test files: ``energy``/``forces`` (molfit) and ``REF_*`` (MACE)."""
    from ase.io import write

    from molfit.atomistic import read_frames

    frames = read_frames(DATA)
    need = sum(SIZES.values())
    if len(frames) < need:
        raise SystemExit(f"{DATA} has {len(frames)} frames; run potential_data.py for {need}")
    order = np.random.default_rng(seed).permutation(len(frames))
    OUT.mkdir(parents=True, exist_ok=True)
    paths, start = {}, 0
    for part, size in SIZES.items():
        chosen = [frames[k] for k in order[start : start + size]]
        start += size
        for atoms in chosen:
            atoms.info["REF_energy"] = atoms.get_potential_energy()
            atoms.arrays["REF_forces"] = atoms.get_forces().copy()
        paths[part] = OUT / f"aspirin_{part}.extxyz"
        write(paths[part], chosen, format="extxyz")
    temps = [f.info["T_inst_K"] for f in frames]
    (OUT / "split.json").write_text(
        json.dumps({"seed": seed, "sizes": SIZES, "mean_temperature_K": float(np.mean(temps))})
    )
    return paths


MOLFIT_MODELS = {
    # registry name -> hyper-parameters (sized for a CPU: small widths, energy + forces loss)
    "equivariant": {"n_features": 32, "n_interactions": 2, "l_max": 1, "n_rbf": 8,
                    "batch_size": 5, "lr": 5e-3, "lr_ratio": 0.05, "forces_weight": 100.0},
    "painn": {"n_features": 64, "n_interactions": 3, "n_rbf": 20, "batch_size": 5,
              "lr": 5e-4, "lr_ratio": 0.1, "forces_weight": 100.0},
}  # fmt: skip


def run_molfit(paths: dict[str, Path], name: str, budget: float, md_steps: int = 200) -> dict:
    """Train one molfit potential for ``budget`` seconds (epochs from a timed first epoch), then
    test errors and velocity-Verlet steps per second through molfit's ASE calculator."""
    import torch
    from ase import units
    from ase.md.verlet import VelocityVerlet

    from molfit.atomistic import Calculator, read_frames
    from molfit.models import get_model, save_model
    from molfit.structures import Structures
    from molfit.train import Runtime

    torch.set_num_threads(1)
    quiet = Runtime(progress_bar=False)
    train = Structures.from_atoms(read_frames(paths["train"]))
    valid = Structures.from_atoms(read_frames(paths["valid"]))
    params = {**MOLFIT_MODELS[name], "cutoff": 5.0, "patience": None, "seed": 0}
    # the steady epoch time: the first epoch also pays for start-up (pair lists, warm-up), so
    # time 1 and 3 epochs and take the difference
    probe = []
    for n in (1, 3):
        t0 = time.perf_counter()
        get_model(name, **params, epochs=n).fit(train, None, valid, None, runtime=quiet)
        probe.append(time.perf_counter() - t0)
    one_epoch = max((probe[1] - probe[0]) / 2, 1e-3)
    epochs = max(1, int((budget - (probe[0] - one_epoch)) // one_epoch))
    t0 = time.perf_counter()
    model = get_model(name, **params, epochs=epochs).fit(train, None, valid, None, runtime=quiet)
    seconds = time.perf_counter() - t0
    save_model(model, OUT / f"molfit-{name}")
    test = read_frames(paths["test"])
    energies, forces = model.predict_energy_forces(Structures.from_atoms(test))
    e_ref = np.array([a.get_potential_energy() for a in test])
    f_ref = np.concatenate([a.get_forces() for a in test])
    start = test[0].copy()
    start.calc = Calculator(model)
    dyn = VelocityVerlet(start, timestep=0.5 * units.fs)
    dyn.run(10)
    t1 = time.perf_counter()
    dyn.run(md_steps)
    md = md_steps / (time.perf_counter() - t1)
    return {
        "params": params, "epochs": epochs, "seconds_per_epoch_probe": one_epoch,
        "train_seconds": seconds,
        "energy_mae_meV": 1000 * float(np.mean(np.abs(np.asarray(energies) - e_ref))),
        "forces_mae_meV_per_A": 1000 * float(np.mean(np.abs(np.concatenate(forces) - f_ref))),
        "md_steps_per_second": md,
    }  # fmt: skip


def oracle_speed(paths: dict[str, Path], md_steps: int = 100) -> dict:
    """xTB MD steps per second and one DFT energy+gradient of the same test frame."""
    from ase import units
    from ase.md.verlet import VelocityVerlet

    from molfit.atomistic import evaluate, make_oracle, read_frames

    start = read_frames(paths["test"], index=0)[0]
    atoms = start.copy()
    atoms.calc = make_oracle("xtb")
    dyn = VelocityVerlet(atoms, timestep=0.5 * units.fs)
    dyn.run(5)
    t0 = time.perf_counter()
    dyn.run(md_steps)
    xtb = md_steps / (time.perf_counter() - t0)
    t0 = time.perf_counter()
    evaluate(make_oracle("dft"), start)
    dft = time.perf_counter() - t0
    return {"xtb_md_steps_per_second": xtb, "dft_seconds_per_energy_gradient": dft}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--budget", type=float, default=1200.0)
    ap.add_argument("--parts", default="split,mace,oracles")
    args = ap.parse_args()
    parts = set(args.parts.split(","))
    results_path = OUT / "results.json"
    results = json.loads(results_path.read_text()) if results_path.exists() else {}
    results["cpu"] = cpu_model()
    results["date"] = time.strftime("%Y-%m-%d")
    paths = {p: OUT / f"aspirin_{p}.extxyz" for p in SIZES}
    if "split" in parts or not all(p.exists() for p in paths.values()):
        paths = split()
    mace = None
    if "mace" in parts:  # in the background on core 1 while molfit trains on core 0
        python = ROOT / ".venvs" / "mace" / "bin" / "python"
        mace = subprocess.Popen(
            ["taskset", "-c", "1", str(python), str(ROOT / "_mace_runner.py"),
             f"--train={paths['train']}", f"--valid={paths['valid']}",
             f"--test={paths['test']}", f"--work={OUT / 'mace'}", f"--budget={args.budget}"],
            stdout=subprocess.PIPE, text=True,
        )  # fmt: skip
    for name in MOLFIT_MODELS:
        if name in parts:
            os.sched_setaffinity(0, {0})
            results[f"molfit-{name}"] = {
                "budget_s": args.budget,
                **run_molfit(paths, name, args.budget),
            }
            print(name, results[f"molfit-{name}"], flush=True)
    if mace is not None:
        out, _ = mace.communicate()
        results["mace"] = {"budget_s": args.budget, **json.loads(out.strip().splitlines()[-1])}
        print("mace", results["mace"], flush=True)
    if "oracles" in parts:
        results["oracles"] = oracle_speed(paths)
        print("oracles", results["oracles"], flush=True)
    OUT.mkdir(parents=True, exist_ok=True)
    if results_path.exists():  # another run of this script may have written meanwhile
        results = {**json.loads(results_path.read_text()), **results}
    results_path.write_text(json.dumps(results, indent=2))
    for key, value in results.items():  # one file per part, safe from concurrent runs
        if isinstance(value, dict) and key.split("-")[0] in ("molfit", "mace", "oracles"):
            (OUT / f"result_{key}.json").write_text(json.dumps(value, indent=2))
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    sys.exit(main())
