"""Crystals with EMT labels: molfit's periodic potential trained on EMT-labelled Cu cells, and its
crystal properties (a0, B, C11, C12, C44, vacancy formation energy, RDF) beside EMT's own.

Parts (each writes benchmarks/out/materials/<part>.json and is skipped when that file exists, so
a killed run carries on where it stopped):

- ``data``: Cu cells of 32 atoms (2x2x2 conventional): Langevin MD with EMT at 300, 600, 900 and
  1,200 K at two lattice constants, random strains (±3 %), rattled cells and vacancy cells, all
  labelled with EMT's energy, forces and stress by ``molfit.atomistic.label``; split 80/10/10.
- ``train``: SchNet on energy + forces + stress, one core, a fixed number of epochs; test MAE.
- ``properties``: ``molfit.materials.crystal_properties`` for EMT and for the trained model.
- ``speed``: MD steps per second (velocity Verlet through the ASE calculators) of the model and
  of EMT, and time and peak memory per step of the model for about 100, 1,000 and 10,000 atoms.
- ``chgnet``: the same cells relabelled by CHGNet (the universal teacher), a specialist trained
  on them as above, its test errors and properties against CHGNet's, and MD speed against
  CHGNet's own ASE calculator.

- ``scaling``: the same timing with glibc's default allocator and with one that keeps freed
  memory (``HEAP_ENV``).
- ``threads``: the specialist's and CHGNet's MD speed on one and two threads (``taskset -c 0,1``).
- ``vacancy``: the Cu case with 5x the vacancy cells (250), its vacancy formation energy.
- ``sizes``: the vacancy-rich Cu case with cells of 32 and 108 atoms; errors per size.
- ``sizes_energy``: the same cells, forces weight 3 instead of 10, 40 epochs.
- ``sizes_energy_weight``: the same cells with the per-atom energy loss weighted 100x.
- ``vacancy_energy_weight``: the 32-atom ``vacancy`` cells with that weight 100x and 1,000x.
- ``energy_bias``: the energy error of the ``sizes`` and ``sizes_energy_weight`` models by kind
  and size of training cell, and the vacancy energy's error split into its total energies.
- ``threads_universal``: MD speed of that SchNet, CHGNet and SevenNet-0 on one and two threads
  (``taskset -c 0,1``).
- ``alloy``: the EMT case on Cu3Au (ordered L1_2 and random 25 % Au cells, lattice constants
  3.69-3.76 Å); EOS, elastic constants and RDF of L1_2 Cu3Au.

    taskset -c 1 python benchmarks/materials_emt.py --parts data,train,properties,speed
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

os.environ.setdefault("OMP_NUM_THREADS", "1")
ROOT = Path(__file__).resolve().parent
OUT = ROOT / "out" / "materials"

MODEL = {
    "n_features": 64, "n_interactions": 3, "n_rbf": 20, "cutoff": 5.0, "batch_size": 8,
    "lr": 1e-3, "lr_ratio": 0.05, "energy_per_atom": True, "forces_weight": 10.0,
    "stress_weight": 1000.0, "patience": None, "seed": 0,
}  # fmt: skip


def cpu_model() -> str:
    try:
        out = subprocess.run(["lscpu"], capture_output=True, text=True, check=True).stdout
        for line in out.splitlines():
            if line.startswith("Model name"):
                return line.split(":", 1)[1].strip()
    except (OSError, subprocess.CalledProcessError):
        pass
    return platform.processor()


#: lattice constants (Å) of each system: MD cells at the first two, perturbed cells and the
#: properties' start at the third
LATTICES = {"cu": (3.57, 3.63, 3.60), "cuau": (3.69, 3.76, 3.72)}


def _cell(system: str, a: float, repeat: int = 2, ordered: bool = True, seed: int = 0):
    """Cu, or Cu3Au: the L1_2 ordered cell (Au on the cube corners) or a random 25 % alloy."""
    from molfit.materials import bulk, substitute, supercell

    cubic = bulk("Cu", "fcc", a=a, cubic=True)
    if system == "cuau" and ordered:
        cubic.numbers = [79, 29, 29, 29]
    cell = supercell(cubic, repeat)
    if system == "cuau" and not ordered:
        cell = substitute(cell, "Au", 0.25, seed=seed)
    return cell


def _md_cells(oracle: str, temps: list[float], lattices: list[float], frames: int, every: int,
              tag: str, seed: int = 0, system: str = "cu", repeat: int = 2) -> list:  # fmt: skip
    from molfit.atomistic import make_oracle, read_frames, run_md

    out = []
    for t in temps:
        for k, a in enumerate(lattices):
            size = "" if repeat == 2 else f"_x{repeat}"
            path = OUT / f"{tag}_md_{int(t)}K_{a:.3f}{size}.extxyz"
            cell = _cell(system, a, repeat=repeat, ordered=k == 0, seed=int(t))
            run_md(cell, make_oracle(oracle), path, ensemble="langevin", temperature=t, dt=2.0,
                   steps=frames * every, every=every, friction=0.02, seed=seed,
                   progress=False)  # fmt: skip
            for f in read_frames(path):
                f.calc = None
                f.info = {"kind": f"md_{int(t)}K"}
                out.append(f)
    return out


def make_data(oracle: str = "emt", tag: str = "cu_emt", scale: float = 1.0,
              system: str = "cu", vacancy_factor: int = 1,
              repeats: tuple[int, ...] = (2,)) -> dict:  # fmt: skip
    """Unlabelled cells, then one label pass with the oracle; train/valid/test files.

    ``repeats``: supercells of the conventional cell (2: 32 atoms, 3: 108); with several, the
    MD frames go two thirds to the first size and one third to the others, and each size gets
    an equal share of the strained, rattled and vacancy cells."""
    from ase.io import write

    from molfit.atomistic import label, read_frames
    from molfit.materials import perturbed_cells

    OUT.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    n_md = max(5, int(75 * scale))
    low, high, mid = LATTICES[system]
    cells = []
    for r, repeat in enumerate(repeats):
        frames = n_md if len(repeats) == 1 else (2 * n_md // 3 if r == 0 else n_md // 3)
        cells += _md_cells(oracle, [300, 600, 900, 1200], [low, high], frames, 20, tag,
                           system=system, repeat=repeat)  # fmt: skip
    bases = [_cell(system, mid, repeat=repeat) for repeat in repeats]
    if system == "cuau":  # half ordered, half random alloys
        bases.append(_cell(system, mid, ordered=False, seed=7))
    share = scale / len(bases)
    for k, base in enumerate(bases):
        cells += perturbed_cells(base, n_strained=int(200 * share), n_rattled=int(150 * share),
                                 n_vacancy=int(50 * share * vacancy_factor), max_strain=0.03,
                                 rattle_stdev=0.05, seed=1 + k)  # fmt: skip
    unlabelled = OUT / f"{tag}_cells.extxyz"
    write(unlabelled, cells, format="extxyz")
    labelled = OUT / f"{tag}_labelled.extxyz"
    result = label(unlabelled, labelled, oracle=oracle, progress=False)
    frames = read_frames(labelled)
    order = np.random.default_rng(0).permutation(len(frames))
    n_val = n_test = len(frames) // 10
    parts = {"test": order[:n_test], "valid": order[n_test : n_test + n_val],
             "train": order[n_test + n_val :]}  # fmt: skip
    for name, idx in parts.items():
        write(OUT / f"{tag}_{name}.extxyz", [frames[k] for k in idx], format="extxyz")
    kinds: dict[str, int] = {}
    for c in cells:
        kinds[c.info["kind"].split("_")[0]] = kinds.get(c.info["kind"].split("_")[0], 0) + 1
    return {"oracle": oracle, "frames": len(frames), "skipped": len(result.issues),
            "atoms_per_frame": sorted({len(f) for f in frames}), "kinds": kinds,
            "sizes": {k: len(v) for k, v in parts.items()},
            "seconds": time.perf_counter() - t0}  # fmt: skip


def train(tag: str = "cu_emt", epochs: int = 40, by_size: bool = False,
          params: dict | None = None, save_as: str | None = None) -> dict:  # fmt: skip
    """SchNet on ``{tag}_train``, saved as ``{save_as or tag}_schnet``; test errors."""
    import torch

    from molfit.atomistic import read_frames
    from molfit.models import get_model, save_model
    from molfit.structures import Structures
    from molfit.train import Runtime

    torch.set_num_threads(1)
    sets = {k: Structures.from_atoms(read_frames(OUT / f"{tag}_{k}.extxyz"))
            for k in ("train", "valid", "test")}  # fmt: skip
    t0 = time.perf_counter()
    params = {**MODEL, **(params or {})}
    model = get_model("schnet", **params, epochs=epochs).fit(
        sets["train"], None, sets["valid"], None, runtime=Runtime(progress_bar=False)
    )
    seconds = time.perf_counter() - t0
    save_model(model, OUT / f"{save_as or tag}_schnet")
    test = sets["test"]
    pred = model.predict_properties(test, forces=True, stress=True)
    frames = read_frames(OUT / f"{tag}_test.extxyz")
    n_atoms = np.array([len(f) for f in frames])
    e_ref = np.array([f.get_potential_energy() for f in frames])
    f_ref = np.concatenate([f.get_forces() for f in frames])
    s_ref = np.stack([f.get_stress(voigt=False) for f in frames])
    e = np.asarray(pred["energy"])
    f = np.concatenate(pred["forces"])
    s = np.asarray(pred["stress"])
    from molfit.units import EV_PER_ANGSTROM3_GPA

    extra = {}
    if by_size:  # test errors of the small (31-32 atoms) and large (107-108 atoms) cells apart
        atom_rows = np.repeat(n_atoms, n_atoms)
        for name, small in (("small", n_atoms < 64), ("large", n_atoms >= 64)):
            if small.any():
                extra[name] = {
                    "cells": int(small.sum()),
                    "energy_mae_meV_per_atom": 1000
                    * float(np.mean(np.abs(e - e_ref)[small] / n_atoms[small])),
                    "forces_mae_meV_per_A": 1000
                    * float(np.mean(np.abs(f - f_ref)[(atom_rows < 64) == (name == "small")])),
                }
    return {**extra, "params": params, "epochs": epochs, "train_seconds": seconds,
            "n_train": len(sets["train"]),
            "energy_mae_meV_per_atom": 1000 * float(np.mean(np.abs(e - e_ref) / n_atoms)),
            "forces_mae_meV_per_A": 1000 * float(np.mean(np.abs(f - f_ref))),
            "stress_mae_GPa": EV_PER_ANGSTROM3_GPA * float(np.mean(np.abs(s - s_ref)))}  # fmt: skip


def properties(tag: str = "cu_emt", oracle: str = "emt", md_steps: int = 1000,
               system: str = "cu", which: tuple[str, ...] | None = None) -> dict:  # fmt: skip
    import torch

    from molfit.atomistic import load_calculator, make_oracle
    from molfit.materials import PROPERTIES, compare_properties, crystal_properties

    torch.set_num_threads(1)
    cell = _cell(system, LATTICES[system][2], repeat=1)
    # a vacancy energy E(N-1) - (N-1)/N E(N) is defined for an element, not for an alloy
    if which is None:
        which = PROPERTIES if system == "cu" else ("eos", "elastic", "rdf")
    out = {}
    for name, calc in (("oracle", make_oracle(oracle)),
                       ("model", load_calculator(OUT / f"{tag}_schnet"))):  # fmt: skip
        t0 = time.perf_counter()
        out[name] = crystal_properties(cell, calc, which=which, md_steps=md_steps,
                                       workdir=OUT / f"{tag}_props_{name}")  # fmt: skip
        out[name]["seconds"] = time.perf_counter() - t0
    out["comparison"] = compare_properties(out["model"], out["oracle"])
    return out


def _steps_per_second(atoms, calc, steps: int) -> float:
    from ase import units
    from ase.md.verlet import VelocityVerlet

    atoms = atoms.copy()
    atoms.calc = calc
    dyn = VelocityVerlet(atoms, timestep=2.0 * units.fs)
    dyn.run(2)
    t0 = time.perf_counter()
    dyn.run(steps)
    return steps / (time.perf_counter() - t0)


def _scaling_child(tag: str, repeat: int, steps: int) -> None:
    """One size in a fresh process, so its peak memory is its own."""
    import torch

    from molfit.atomistic import load_calculator
    from molfit.materials import bulk, rattle, supercell

    torch.set_num_threads(1)
    atoms = rattle(supercell(bulk("Cu", "fcc", a=3.60, cubic=True), repeat), 0.02, seed=0)
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    rate = _steps_per_second(atoms, load_calculator(OUT / f"{tag}_schnet"), steps)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(json.dumps({"atoms": len(atoms), "seconds_per_step": 1 / rate,
                      "peak_rss_MB": peak / 1024, "rss_before_MB": before / 1024}))  # fmt: skip


def speed(tag: str = "cu_emt", oracle: str = "emt") -> dict:
    import torch

    from molfit.atomistic import load_calculator, make_oracle
    from molfit.materials import bulk, rattle, supercell

    torch.set_num_threads(1)
    cell = rattle(supercell(bulk("Cu", "fcc", a=3.60, cubic=True), 3), 0.02, seed=0)
    out = {"md_atoms": len(cell)}
    out["model_steps_per_second"] = _steps_per_second(
        cell, load_calculator(OUT / f"{tag}_schnet"), 50
    )
    out["oracle_steps_per_second"] = _steps_per_second(cell, make_oracle(oracle), 20)
    scaling = []
    for repeat, steps in ((3, 20), (6, 5), (14, 2)):
        proc = subprocess.run(
            [sys.executable, __file__, "--scaling-child", f"{tag},{repeat},{steps}"],
            capture_output=True, text=True, check=True,
        )  # fmt: skip
        scaling.append(json.loads(proc.stdout.strip().splitlines()[-1]))
    out["scaling"] = scaling
    return out


#: glibc settings that keep freed memory in the heap instead of returning each large tensor
#: to the kernel (mmap/munmap per tensor means page faults on every step of a large cell)
HEAP_ENV = {"MALLOC_MMAP_MAX_": "0", "MALLOC_TRIM_THRESHOLD_": "100000000000"}


def scaling(tag: str = "cu_emt") -> dict:
    """Time and peak memory per MD step for ~100, ~1,000 and ~10,000 atoms, with glibc's
    default allocator settings and with :data:`HEAP_ENV`."""
    rows = []
    for label, extra in (("default malloc", {}), ("heap malloc", HEAP_ENV)):
        for repeat, steps in ((3, 20), (6, 5), (14, 2)):
            proc = subprocess.run(
                [sys.executable, __file__, "--scaling-child", f"{tag},{repeat},{steps}"],
                capture_output=True,
                text=True,
                check=True,
                env={**os.environ, **extra},
            )
            rows.append({"allocator": label, **json.loads(proc.stdout.strip().splitlines()[-1])})
    return {"scaling": rows}


def threads() -> dict:
    """MD steps per second of the CHGNet specialist and of CHGNet on 1 and 2 threads."""
    import torch

    from molfit.atomistic import load_calculator, make_oracle
    from molfit.materials import bulk, rattle, supercell

    cell = rattle(supercell(bulk("Cu", "fcc", a=3.60, cubic=True), 3), 0.02, seed=0)
    out = {"md_atoms": len(cell), "rows": []}
    for n in (1, 2):
        torch.set_num_threads(n)
        out["rows"].append(
            {
                "threads": n,
                "model_steps_per_second": _steps_per_second(
                    cell, load_calculator(OUT / "cu_chgnet_schnet"), 50
                ),
                "chgnet_steps_per_second": _steps_per_second(cell, make_oracle("chgnet"), 10),
            }
        )
    return out


def threads_universal(tag: str = "cu_emt_mix") -> dict:
    """MD steps per second on one and two threads of a molfit SchNet specialist (the
    architecture of every specialist here: its speed does not depend on its teacher), CHGNet and
    SevenNet-0, through their ASE calculators, on the same rattled 108-atom Cu cell."""
    import torch

    from molfit.atomistic import load_calculator, make_oracle
    from molfit.materials import bulk, rattle, supercell

    cell = rattle(supercell(bulk("Cu", "fcc", a=3.60, cubic=True), 3), 0.02, seed=0)
    out = {"md_atoms": len(cell), "model": f"{tag}_schnet", "rows": []}
    calcs = {"model": load_calculator(OUT / f"{tag}_schnet"), "chgnet": make_oracle("chgnet"),
             "sevenn": make_oracle("sevenn")}  # fmt: skip
    for n in (1, 2):
        torch.set_num_threads(n)
        row = {"threads": n}
        for name, calc in calcs.items():
            steps = 100 if name == "model" else 10
            row[f"{name}_steps_per_second"] = _steps_per_second(cell, calc, steps)
        out["rows"].append(row)
    return out


def chgnet_data(tag: str = "cu_chgnet") -> dict:
    """The EMT benchmark's cells (same split), relabelled by CHGNet: energy, forces, stress."""
    from molfit.atomistic import label, read_frames

    t0 = time.perf_counter()
    out = {"oracle": "chgnet", "sizes": {}, "skipped": 0}
    for part in ("train", "valid", "test"):
        result = label(
            OUT / f"cu_emt_{part}.extxyz",
            OUT / f"{tag}_{part}.extxyz",
            oracle="chgnet",
            progress=False,
        )
        out["sizes"][part] = len(read_frames(OUT / f"{tag}_{part}.extxyz"))
        out["skipped"] += len(result.issues)
    out["seconds"] = time.perf_counter() - t0
    out["seconds_per_label"] = out["seconds"] / sum(out["sizes"].values())
    return out


def chgnet(epochs: int = 30, md_steps: int = 1000) -> dict:
    """Universal teacher: CHGNet relabels the cells; a specialist learns them; properties and
    MD speed of both."""
    tag = "cu_chgnet"
    out = {}
    for part, fn in (
        ("data", lambda: chgnet_data(tag)),
        ("train", lambda: train(tag, epochs)),
        ("speed", lambda: speed(tag, "chgnet")),
        ("properties", lambda: properties(tag, "chgnet", md_steps)),
    ):
        path = OUT / f"chgnet_{part}.json"
        if not path.exists():
            t0 = time.perf_counter()
            path.write_text(json.dumps(fn(), indent=1))
            print(f"chgnet {part}: {time.perf_counter() - t0:.0f} s", flush=True)
        out[part] = json.loads(path.read_text())
    return out


def alloy(epochs: int = 30, md_steps: int = 1000) -> dict:
    """The EMT case on Cu3Au: ordered L1_2 and random 25 % Au cells; properties of L1_2."""
    tag = "cuau_emt"
    out = {}
    for part, fn in (
        ("data", lambda: make_data("emt", tag, system="cuau")),
        ("train", lambda: train(tag, epochs)),
        ("properties", lambda: properties(tag, "emt", md_steps, system="cuau")),
    ):
        path = OUT / f"cuau_{part}.json"
        if not path.exists():
            t0 = time.perf_counter()
            path.write_text(json.dumps(fn(), indent=1))
            print(f"cuau {part}: {time.perf_counter() - t0:.0f} s", flush=True)
        out[part] = json.loads(path.read_text())
    return out


def vacancy_rich(epochs: int) -> dict:
    """The Cu case again with 5x the vacancy cells (250 instead of 50 of ~1,200): data, SchNet,
    and the EOS + vacancy formation energy beside EMT's."""
    data = make_data(tag="cu_emt_vac", vacancy_factor=5)
    fit = train(tag="cu_emt_vac", epochs=epochs)
    props = properties(tag="cu_emt_vac", which=("eos", "vacancy"))
    return {"data": data, "train": fit, "properties": props}


def mixed_sizes(epochs: int) -> dict:
    """The vacancy-rich Cu case with cells of 32 and 108 atoms (2x2x2 and 3x3x3 conventional):
    data, SchNet, every property beside EMT's, and the test errors per cell size."""
    tag = "cu_emt_mix"
    data = make_data(tag=tag, vacancy_factor=5, repeats=(2, 3))
    fit = train(tag=tag, epochs=epochs, by_size=True)
    props = properties(tag=tag)
    return {"data": data, "train": fit, "properties": props}


def mixed_sizes_energy(epochs: int) -> dict:
    """The ``sizes`` cells again (same files), with the forces weight 10 -> 3 (the energy
    counts more: a vacancy energy is a difference of total energies) and 40 epochs."""
    tag = "cu_emt_mix"
    if not (OUT / f"{tag}_train.extxyz").exists():
        make_data(tag=tag, vacancy_factor=5, repeats=(2, 3))
    fit = train(tag=tag, epochs=epochs, by_size=True, params={"forces_weight": 3.0})
    os.replace(OUT / f"{tag}_schnet", OUT / f"{tag}_e_schnet")
    props = properties(tag=f"{tag}_e")
    return {"train": fit, "properties": props}


def mixed_sizes_energy_weight(epochs: int, weight: float = 100.0) -> dict:
    """The ``sizes`` cells again (same files) with the per-atom energy weighted ``weight``x.

    With ``energy_per_atom=True`` the energy term is a per-atom MSE (eV/atom)^2, about 1,000x
    smaller than the forces term at weight 1 against 10: the network then fits forces and leaves
    relative energies of different environments (a vacancy's neighbours against bulk atoms) a few
    meV/atom off. Weight 100 puts the two terms on a par."""
    tag = "cu_emt_mix"
    if not (OUT / f"{tag}_train.extxyz").exists():
        make_data(tag=tag, vacancy_factor=5, repeats=(2, 3))
    fit = train(tag=tag, epochs=epochs, by_size=True, params={"energy_weight": weight},
                save_as=f"{tag}_ew")  # fmt: skip
    props = properties(tag=f"{tag}_ew")
    return {"train": fit, "properties": props}


def vacancy_energy_weight(epochs: int, weights: tuple[float, ...] = (100.0, 1000.0)) -> dict:
    """The 32-atom vacancy-rich cells of ``vacancy`` (same files) with the per-atom energy loss
    weighted 100x and 1,000x: test errors, EOS and vacancy energy for each weight."""
    if not (OUT / "cu_emt_vac_train.extxyz").exists():
        make_data(tag="cu_emt_vac", vacancy_factor=5)
    out = {}
    for w in weights:
        tag = f"cu_emt_vac_ew{int(w)}"
        for part in ("train", "valid", "test"):
            shutil.copy(OUT / f"cu_emt_vac_{part}.extxyz", OUT / f"{tag}_{part}.extxyz")
        fit = train(tag=tag, epochs=epochs, params={"energy_weight": w})
        out[str(w)] = {"train": fit, "properties": properties(tag=tag, which=("eos", "vacancy"))}
    return out


def energy_bias(models: tuple[str, ...] = ("cu_emt_mix", "cu_emt_mix_ew")) -> dict:
    """Mean signed energy error of each trained model on every third training cell of the
    32/108-atom set, by kind of cell and size (meV per cell and per atom), and the vacancy
    formation energy's error split into its two total energies (32 and 108 atoms)."""
    import torch
    from ase.build import bulk
    from ase.calculators.emt import EMT

    from molfit.atomistic import load_calculator, read_frames
    from molfit.materials import vacancy_formation_energy

    torch.set_num_threads(1)
    frames = read_frames(OUT / "cu_emt_mix_train.extxyz")[::3]
    out: dict[str, dict] = {}
    for name in models:
        calc = load_calculator(OUT / f"{name}_schnet")
        errors: dict[str, list[float]] = {}
        for f in frames:
            atoms = f.copy()
            atoms.calc = calc
            key = f"{f.info.get('kind', '?').split('_')[0]}_{len(f)}"
            errors.setdefault(key, []).append(
                atoms.get_potential_energy() - f.get_potential_energy()
            )
        rows = {}
        for key, v in sorted(errors.items()):
            n_atoms = int(key.rsplit("_", 1)[1])
            rows[key] = {"cells": len(v), "mean_meV": 1000 * float(np.mean(v)),
                         "mean_meV_per_atom": 1000 * float(np.mean(v)) / n_atoms,
                         "mae_meV": 1000 * float(np.mean(np.abs(v)))}  # fmt: skip
        vacancy = {}
        for repeat in (2, 3):
            cell = bulk("Cu", "fcc", a=3.5898, cubic=True).repeat(repeat)
            model, ref = (vacancy_formation_energy(cell, c) for c in (calc, EMT()))
            vacancy[str(len(cell))] = {
                "E_f_model": model.energy, "E_f_emt": ref.energy,
                "perfect_cell_error_meV": 1000 * (model.bulk_energy - ref.bulk_energy),
                "vacancy_cell_error_meV": 1000 * (model.defect_energy - ref.defect_energy),
            }  # fmt: skip
        out[name] = {"by_kind": rows, "vacancy": vacancy}
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--parts", default="data,train,properties,speed")
    parser.add_argument("--epochs", type=int, default=30)
    parser.add_argument("--md-steps", type=int, default=1000)
    parser.add_argument("--scaling-child", default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.scaling_child:
        tag, repeat, steps = args.scaling_child.split(",")
        _scaling_child(tag, int(repeat), int(steps))
        return
    OUT.mkdir(parents=True, exist_ok=True)
    meta = OUT / "machine.json"
    if not meta.exists():
        meta.write_text(json.dumps({"cpu": cpu_model(), "date": time.strftime("%Y-%m-%d"),
                                    "python": sys.version.split()[0]}))  # fmt: skip
    jobs = {"data": make_data, "train": lambda: train(epochs=args.epochs),
            "properties": lambda: properties(md_steps=args.md_steps), "speed": speed,
            "scaling": scaling, "threads": threads,
            "alloy": lambda: alloy(args.epochs, args.md_steps),
            "chgnet": lambda: chgnet(args.epochs, args.md_steps),
            "vacancy": lambda: vacancy_rich(args.epochs),
            "sizes": lambda: mixed_sizes(args.epochs),
            "threads_universal": threads_universal,
            "sizes_energy": lambda: mixed_sizes_energy(40),
            "sizes_energy_weight": lambda: mixed_sizes_energy_weight(args.epochs),
            "vacancy_energy_weight": lambda: vacancy_energy_weight(args.epochs),
            "energy_bias": energy_bias}  # fmt: skip
    for part in args.parts.split(","):
        path = OUT / f"{part}.json"
        if path.exists():
            print(f"{part}: done before ({path})")
            continue
        t0 = time.perf_counter()
        result = jobs[part]()
        path.write_text(json.dumps(result, indent=1))
        print(f"{part}: {time.perf_counter() - t0:.0f} s -> {path}", flush=True)


if __name__ == "__main__":
    main()
