"""Runs inside benchmarks/.venvs/mace (mace-torch 0.3.16): train MACE from scratch on the
benchmark's split files for a wall-clock budget, then measure its test errors and MD speed.

Called by potential_vs_mace.py; prints one JSON object on its last line. The budget is met by
timing one epoch first (from MACE's log) and then training for as many epochs as fit in it.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

import numpy as np


def train(args: argparse.Namespace, epochs: int, name: str) -> tuple[Path, float]:
    work = args.work / name
    work.mkdir(parents=True, exist_ok=True)
    cmd = [
        str(Path(sys.executable).with_name("mace_run_train")),
        f"--name={name}", f"--train_file={args.train}", f"--valid_file={args.valid}",
        "--energy_key=REF_energy", "--forces_key=REF_forces", "--E0s=average",
        "--model=MACE", "--num_channels=32", "--max_L=1", "--r_max=5.0", "--correlation=3",
        "--num_interactions=2", f"--batch_size={args.batch_size}", "--valid_batch_size=50",
        f"--max_num_epochs={epochs}", "--device=cpu", "--default_dtype=float32",
        "--forces_weight=100", "--energy_weight=1", f"--seed={args.seed}", "--eval_interval=1",
        f"--model_dir={work}", f"--log_dir={work}/logs", f"--checkpoints_dir={work}/ckpt",
        f"--results_dir={work}/results", "--num_workers=0", "--save_cpu",
    ]  # fmt: skip
    t0 = time.perf_counter()
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return work / f"{name}.model", time.perf_counter() - t0


def epoch_seconds(work: Path) -> float:
    """Seconds of the first training epoch, from the timestamps of MACE's own log (start-up and
    the final evaluation excluded)."""
    from datetime import datetime

    stamps = {}
    for log in (work / "logs").glob("*.log"):
        for line in log.read_text().splitlines():
            for key in ("Started training", "Epoch 0:"):
                if key in line and key not in stamps:
                    stamps[key] = datetime.strptime(line[:23], "%Y-%m-%d %H:%M:%S.%f")
    return (stamps["Epoch 0:"] - stamps["Started training"]).total_seconds()


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--train", type=Path, required=True)
    ap.add_argument("--valid", type=Path, required=True)
    ap.add_argument("--test", type=Path, required=True)
    ap.add_argument("--work", type=Path, required=True)
    ap.add_argument("--budget", type=float, default=1200.0, help="training seconds")
    ap.add_argument("--batch-size", type=int, default=5)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--md-steps", type=int, default=200)
    args = ap.parse_args()

    train(args, 1, "probe")
    one_epoch = epoch_seconds(args.work / "probe")
    epochs = max(1, int(args.budget // one_epoch))
    model_path, seconds = train(args, epochs, "mace")

    from ase import units
    from ase.io import read
    from ase.md.verlet import VelocityVerlet
    from mace.calculators import MACECalculator

    calc = MACECalculator(model_paths=str(model_path), device="cpu", default_dtype="float32")
    test = read(args.test, index=":")
    e_err, f_err = [], []
    for atoms in test:
        ref_e, ref_f = atoms.info["REF_energy"], atoms.arrays["REF_forces"]
        atoms.calc = calc
        e_err.append(atoms.get_potential_energy() - ref_e)
        f_err.append((atoms.get_forces() - ref_f).ravel())
    start = test[0].copy()
    start.calc = calc
    dyn = VelocityVerlet(start, timestep=0.5 * units.fs)
    dyn.run(10)
    t0 = time.perf_counter()
    dyn.run(args.md_steps)
    md = args.md_steps / (time.perf_counter() - t0)
    print(json.dumps({
        "epochs": epochs, "seconds_per_epoch_probe": one_epoch, "train_seconds": seconds,
        "energy_mae_meV": 1000 * float(np.mean(np.abs(e_err))),
        "forces_mae_meV_per_A": 1000 * float(np.mean(np.abs(np.concatenate(f_err)))),
        "md_steps_per_second": md,
    }))  # fmt: skip


if __name__ == "__main__":
    main()
