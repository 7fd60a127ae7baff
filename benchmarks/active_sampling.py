"""Committee-driven active sampling against uniform labels from plain xTB MD (issues 13, 15).

Ethanol, GFN2-xTB through tblite. For each seed:

- *active*: ``molfit.active.active_sample("CCO", oracle="xtb")`` at 500 K: 8 rattled start
  frames, then ``ROUNDS`` rounds of committee MD (4 replicas x 400 steps, a frame every 10
  steps), each labelling the ``PER_ROUND`` frames with the largest per-atom force σ (de-duplicated
  within 2 frames); the final committee is trained on all of its labels.
- *uniform*: as many labels drawn uniformly at random (seeded) from plain xTB Langevin MD at
  500 K (the first 200 frames of ``benchmarks/out/ethanol_dft/ethanol_xtb_500K.extxyz``, a frame
  every 20 steps), the same committee settings.

Both are tested on held-out xTB MD frames at 500 K (the last 100 frames of that file, 1 ps after
the pool ends) and at 800 K (xTB MD sampled here with another seed: coverage beyond the training
temperature). Every piece is saved as it is made; rerunning the command resumes.

    OMP_NUM_THREADS=1 taskset -c 1 python benchmarks/active_sampling.py --seeds 0
    OMP_NUM_THREADS=1 taskset -c 1 python benchmarks/active_sampling.py --seeds 0 1 2 --table
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
OUT = ROOT / "out" / "active_sampling"
XTB_500K = ROOT / "out" / "ethanol_dft" / "ethanol_xtb_500K.extxyz"
if not XTB_500K.exists():  # a worktree without the data: read the main checkout's copy
    XTB_500K = Path("/work/main/benchmarks/out/ethanol_dft/ethanol_xtb_500K.extxyz")
N_POOL = 200
ROUNDS, INITIAL, PER_ROUND = 5, 8, 8
MD = dict(temperature=500.0, steps=400, every=10, replicas=4, gap=2)


def test_sets() -> dict[str, list]:
    from molfit.atomistic import read_frames, sample

    frames = read_frames(XTB_500K)
    hot = OUT / "ethanol_xtb_800K.extxyz"
    sample("CCO", hot, oracle="xtb", temperature=800, steps=2000, every=20, seed=11,
           progress=False)  # fmt: skip
    return {"pool": frames[:N_POOL], "500K": frames[N_POOL:], "800K": read_frames(hot)}


def errors(model, frames) -> dict[str, float]:
    props = model.predict_properties(frames, forces=True)
    f_true = np.concatenate([f.get_forces() for f in frames])
    f_pred = np.concatenate(props["forces"])
    e_true = np.array([f.get_potential_energy() for f in frames])
    return {
        "force_mae": float(np.abs(f_pred - f_true).mean() * 1000),  # meV/Å
        "energy_mae": float(np.abs(props["energy"] - e_true).mean() * 1000),  # meV
    }


def run_seed(seed: int, sets: dict[str, list]) -> dict:
    from molfit.active import DEFAULT_MODEL_OPTIONS, active_sample
    from molfit.models import get_model, load_model, save_model
    from molfit.structures import Structures
    from molfit.train import Runtime

    done = OUT / f"seed{seed}.json"
    if done.exists():
        return json.loads(done.read_text())
    t0 = time.perf_counter()
    active = active_sample("CCO", OUT / f"seed{seed}" / "active", oracle="xtb", rounds=ROUNDS,
                           initial=INITIAL, per_round=PER_ROUND, seed=seed, **MD)  # fmt: skip
    t_active = time.perf_counter() - t0
    n_labels = active.n_labels
    final = load_model(active.model)
    row = {"seed": seed, "labels": n_labels, "active_oracle_calls": active.n_oracle_calls,
           "active_wall_s": t_active, "rounds": len(active.rounds),
           "md_stopped_rounds": sum(bool(m["md_stopped"]) for m in active.rounds),
           "active": {k: errors(final, sets[k]) for k in ("500K", "800K")}}  # fmt: skip
    # per-round test error of the active committees (each round's model, before its labels)
    row["active_rounds"] = [
        {"labels": m["n_labels"], **errors(load_model(active.out / f"round_{m['round']:02d}" /
                                                      "model"), sets["500K"])}
        for m in active.rounds
    ]  # fmt: skip
    row["active_rounds"].append({"labels": n_labels, **row["active"]["500K"]})

    uniform_dir = OUT / f"seed{seed}" / "uniform_model"
    rng = np.random.default_rng(seed)
    picked = sorted(rng.choice(len(sets["pool"]), size=n_labels, replace=False).tolist())
    t0 = time.perf_counter()
    if not uniform_dir.is_dir():
        model = get_model("painn", **DEFAULT_MODEL_OPTIONS, ensemble=3, seed=seed)
        model.fit(Structures.from_atoms([sets["pool"][i] for i in picked]), None,
                  runtime=Runtime(progress_bar=False))  # fmt: skip
        tmp = uniform_dir.with_name("uniform_model.tmp")
        save_model(model, tmp)
        os.replace(tmp, uniform_dir)
    uniform = load_model(uniform_dir)
    row["uniform_train_s"] = time.perf_counter() - t0
    # plain MD needs the oracle at every step up to the last frame drawn
    row["uniform_oracle_calls"] = int(sets["pool"][picked[-1]].info["step"])
    row["uniform"] = {k: errors(uniform, sets[k]) for k in ("500K", "800K")}
    done.write_text(json.dumps(row, indent=2))
    return row


def run_xtb_start(seed: int, sets: dict[str, list]) -> dict:
    """The same active loop started from 8 frames of a short plain xTB MD (its first 160 steps)
    instead of rattled copies of the MMFF conformer."""
    from molfit.active import active_sample
    from molfit.atomistic import FrameWriter
    from molfit.models import load_model

    done = OUT / f"seed{seed}_xtbstart.json"
    if done.exists():
        return json.loads(done.read_text())
    start = OUT / "xtb_start_8.extxyz"
    if not start.exists():
        with FrameWriter(start.with_suffix(".tmp")) as writer:
            for f in sets["pool"][:INITIAL]:
                writer.write(f, {"energy": f.get_potential_energy(), "forces": f.get_forces()})
        os.replace(start.with_suffix(".tmp"), start)
    t0 = time.perf_counter()
    where = OUT / f"seed{seed}" / "active_xtbstart"
    active = active_sample(start, where, oracle="xtb", rounds=ROUNDS, initial=INITIAL,
                           per_round=PER_ROUND, seed=seed, **MD)  # fmt: skip
    final = load_model(active.model)
    row = {"seed": seed, "labels": active.n_labels,
           "oracle_calls": active.n_oracle_calls + INITIAL * 20,  # the 160 xTB MD steps
           "wall_s": time.perf_counter() - t0,
           "active": {k: errors(final, sets[k]) for k in ("500K", "800K")}}  # fmt: skip
    done.write_text(json.dumps(row, indent=2))
    return row


def table(rows: list[dict]) -> str:
    def ms(values: list[float]) -> str:
        v = np.array(values)
        return f"{v.mean():.0f} ± {v.std(ddof=1):.0f}" if len(v) > 1 else f"{v[0]:.0f}"

    lines = [
        "| selection | labels | oracle calls | force MAE 500 K (meV/Å) | force MAE 800 K "
        "(meV/Å) | energy MAE 500 K (meV) | wall (s) |",
        "| --- | --- | --- | --- | --- | --- | --- |",
    ]
    for name, calls, wall in (("active", "active_oracle_calls", "active_wall_s"),
                              ("uniform", "uniform_oracle_calls", "uniform_train_s")):  # fmt: skip
        lines.append(
            f"| {name} | {rows[0]['labels']} | {ms([r[calls] for r in rows])} | "
            f"{ms([r[name]['500K']['force_mae'] for r in rows])} | "
            f"{ms([r[name]['800K']['force_mae'] for r in rows])} | "
            f"{ms([r[name]['500K']['energy_mae'] for r in rows])} | "
            f"{ms([r[wall] for r in rows])} |"
        )
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--seeds", type=int, nargs="+", default=[0])
    ap.add_argument("--table", action="store_true", help="print the table of the done seeds")
    ap.add_argument("--xtb-start", action="store_true",
                    help="only the variant started from 8 frames of plain xTB MD")  # fmt: skip
    args = ap.parse_args()
    OUT.mkdir(parents=True, exist_ok=True)
    print(f"CPU: {cpu_model()}; OMP_NUM_THREADS={os.environ['OMP_NUM_THREADS']}")
    sets = test_sets()
    if args.xtb_start:
        for seed in args.seeds:
            print(json.dumps(run_xtb_start(seed, sets)))
        return
    rows = []
    for seed in args.seeds:
        row = run_seed(seed, sets)
        rows.append(row)
        print(json.dumps(row))
    if args.table:
        print(table(rows))
        for r in rows:
            curve = ", ".join(f"{x['labels']}: {x['force_mae']:.0f}" for x in r["active_rounds"])
            print(f"seed {r['seed']} active force MAE (500 K) by labels: {curve}")


if __name__ == "__main__":
    main()
