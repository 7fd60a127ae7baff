"""Train schnetpack 2.1.1's SchNet on a QM9 subset written by schnet_vs_schnetpack.py.

Runs inside schnetpack's own virtualenv (benchmarks/.venvs/schnetpack), never imports molfit.
Input: an ``.npz`` with numbers, positions (Å), offsets, U0 (eV), the split indices and QM9's U0
free-atom references (eV). Output: a JSON file with the test MAE (meV), the fit wall time and the
time per epoch. The pipeline is schnetpack's own QM9 recipe (configs/experiment/qm9_atomwise.yaml):
RemoveOffsets (atomrefs + mean), MatScipyNeighborList, CastTo32, SchNet with Gaussian RBFs and a
cosine cutoff, Atomwise sum readout, MSE loss, AdamW; the weights of the best validation epoch
are tested.
"""

# schnetpack 2.1.1 imports ``T_co`` from torch.utils.data.dataloader, which torch 2.13 renamed
# ``_T_co``; alias it before schnetpack is imported.
import torch.utils.data.dataloader as _dl

if not hasattr(_dl, "T_co"):
    _dl.T_co = _dl._T_co

import argparse
import json
import os
import time

import numpy as np
import pytorch_lightning as pl
import schnetpack as spk
import schnetpack.transform as trn
import torch
import torchmetrics
from ase import Atoms
from pytorch_lightning.callbacks import Callback


class EpochTimer(Callback):
    """Wall time of every training epoch (training batches plus that epoch's validation)."""

    def __init__(self) -> None:
        self.times: list[float] = []
        self._start = 0.0

    def on_train_epoch_start(self, trainer, pl_module) -> None:
        self._start = time.perf_counter()

    def on_validation_epoch_end(self, trainer, pl_module) -> None:
        if not trainer.sanity_checking:
            self.times.append(time.perf_counter() - self._start)


class BestState(Callback):
    """Keep the weights of the epoch with the lowest validation loss in memory (checkpoint files
    of schnetpack 2.1.1 do not load under torch 2.13's ``weights_only`` default)."""

    def __init__(self) -> None:
        self.best = float("inf")
        self.state: dict | None = None

    def on_validation_epoch_end(self, trainer, pl_module) -> None:
        value = trainer.callback_metrics.get("val_loss")
        if trainer.sanity_checking or value is None or float(value) >= self.best:
            return
        self.best = float(value)
        self.state = {k: v.detach().clone() for k, v in pl_module.state_dict().items()}


def build_database(data: dict, workdir: str) -> tuple[str, str]:
    """An ASE database of the subset (train, val, test rows in that order) and its split file."""
    db_path = os.path.join(workdir, "qm9_subset.db")
    split_path = os.path.join(workdir, "split.npz")
    for path in (db_path, split_path):
        if os.path.exists(path):
            os.remove(path)
    atomrefs = np.zeros(100)
    for z, value in zip(data["ref_z"], data["ref_u0"], strict=True):
        atomrefs[int(z)] = float(value)
    dataset = spk.data.ASEAtomsData.create(
        db_path,
        distance_unit="Ang",
        property_unit_dict={"U0": "eV"},
        atomrefs={"U0": atomrefs.tolist()},
    )
    offsets = data["offsets"]
    atoms_list, properties = [], []
    for k in range(len(offsets) - 1):
        a, b = int(offsets[k]), int(offsets[k + 1])
        atoms_list.append(Atoms(numbers=data["numbers"][a:b], positions=data["positions"][a:b]))
        properties.append({"U0": np.array([data["U0"][k]])})
    dataset.add_systems(properties, atoms_list)
    np.savez(
        split_path,
        train_idx=data["train_idx"],
        val_idx=data["val_idx"],
        test_idx=data["test_idx"],
    )
    return db_path, split_path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--data", required=True)
    parser.add_argument("--out", required=True)
    parser.add_argument("--workdir", required=True)
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--batch-size", type=int, default=100)
    parser.add_argument("--n-features", type=int, default=128)
    parser.add_argument("--n-interactions", type=int, default=6)
    parser.add_argument("--n-rbf", type=int, default=20)
    parser.add_argument("--cutoff", type=float, default=5.0)
    parser.add_argument("--lr", type=float, default=5e-4)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--workers", type=int, default=0)
    args = parser.parse_args()

    os.makedirs(args.workdir, exist_ok=True)
    with np.load(args.data) as f:
        data = {k: f[k] for k in f.files}
    t0 = time.perf_counter()
    db_path, split_path = build_database(data, args.workdir)
    prep_s = time.perf_counter() - t0

    pl.seed_everything(args.seed, workers=True)
    datamodule = spk.data.AtomsDataModule(
        db_path,
        batch_size=args.batch_size,
        num_train=len(data["train_idx"]),
        num_val=len(data["val_idx"]),
        num_test=len(data["test_idx"]),
        split_file=split_path,
        transforms=[
            trn.RemoveOffsets("U0", remove_mean=True, remove_atomrefs=True),
            trn.MatScipyNeighborList(cutoff=args.cutoff),
            trn.CastTo32(),
        ],
        property_units={"U0": "eV"},
        num_workers=args.workers,
        pin_memory=False,
    )
    datamodule.prepare_data()
    datamodule.setup()

    representation = spk.representation.SchNet(
        n_atom_basis=args.n_features,
        n_interactions=args.n_interactions,
        radial_basis=spk.nn.GaussianRBF(n_rbf=args.n_rbf, cutoff=args.cutoff),
        cutoff_fn=spk.nn.CosineCutoff(args.cutoff),
    )
    head = spk.atomistic.Atomwise(n_in=args.n_features, output_key="U0", aggregation_mode="sum")
    model = spk.model.NeuralNetworkPotential(
        representation=representation,
        input_modules=[spk.atomistic.PairwiseDistances()],
        output_modules=[head],
        postprocessors=[trn.CastTo64(), trn.AddOffsets("U0", add_mean=True, add_atomrefs=True)],
    )
    output = spk.task.ModelOutput(
        name="U0",
        loss_fn=torch.nn.MSELoss(),
        loss_weight=1.0,
        metrics={"MAE": torchmetrics.MeanAbsoluteError()},
    )
    task = spk.task.AtomisticTask(
        model=model,
        outputs=[output],
        optimizer_cls=torch.optim.AdamW,
        optimizer_args={"lr": args.lr},
    )
    timer = EpochTimer()
    best = BestState()
    trainer = pl.Trainer(
        max_epochs=args.epochs,
        accelerator="cpu",
        devices=1,
        callbacks=[timer, best],
        enable_checkpointing=False,
        logger=False,
        enable_progress_bar=False,
        enable_model_summary=False,
        num_sanity_val_steps=0,
        default_root_dir=args.workdir,
    )
    t0 = time.perf_counter()
    trainer.fit(task, datamodule=datamodule)
    fit_s = time.perf_counter() - t0
    if best.state is not None:
        task.load_state_dict(best.state)
    results = trainer.test(task, datamodule=datamodule, verbose=False)
    mae_ev = float(results[0]["test_U0_MAE"])
    out = {
        "tool": f"schnetpack {spk.__version__}" if hasattr(spk, "__version__") else "schnetpack",
        "torch": torch.__version__,
        "test_mae_meV": mae_ev * 1000.0,
        "fit_s": fit_s,
        "epochs": args.epochs,
        "epoch_s": timer.times,
        "epoch_s_mean": float(np.mean(timer.times)) if timer.times else None,
        "database_s": prep_s,
        "n_parameters": int(sum(p.numel() for p in model.parameters())),
    }
    with open(args.out, "w") as f:
        json.dump(out, f, indent=2)


if __name__ == "__main__":
    main()
