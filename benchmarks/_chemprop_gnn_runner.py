"""Train and time chemprop 2.3.1's D-MPNN on given splits; run with the chemprop venv's Python.

    benchmarks/.venvs/chemprop/bin/python benchmarks/_chemprop_gnn_runner.py CONFIG.json

Driven by ``gnn_vs_chemprop.py``: the config names train/valid/test CSVs (columns ``smiles``,
``y``), the task and the shared hyper-parameters; one JSON line with the test predictions, the
training wall time and the prediction time on a SMILES file is printed at the end.
Training uses chemprop's Python API the way its CLI does: datasets featurized in the data loader,
targets standardized for regression, Lightning with the best validation checkpoint kept.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import lightning.pytorch as pl
import numpy as np
import pandas as pd
import torch
from chemprop import data, featurizers, models, nn
from lightning.pytorch.callbacks import ModelCheckpoint


def _dataset(frame: pd.DataFrame, featurizer) -> data.MoleculeDataset:
    ys = frame["y"].to_numpy(float)[:, None] if "y" in frame else [None] * len(frame)
    points = [
        data.MoleculeDatapoint.from_smi(s, y) for s, y in zip(frame["smiles"], ys, strict=True)
    ]
    return data.MoleculeDataset(points, featurizer)


def main() -> None:
    cfg = json.loads(Path(sys.argv[1]).read_text())
    torch.set_num_threads(cfg["threads"])
    pl.seed_everything(cfg["seed"], verbose=False)
    featurizer = featurizers.SimpleMoleculeMolGraphFeaturizer()
    train, valid, test = (pd.read_csv(cfg[k]) for k in ("train", "valid", "test"))

    t0 = time.perf_counter()
    train_set, valid_set = _dataset(train, featurizer), _dataset(valid, featurizer)
    transform = None
    if cfg["task"] == "regression":
        scaler = train_set.normalize_targets()
        valid_set.normalize_targets(scaler)
        transform = nn.UnscaleTransform.from_standard_scaler(scaler)
    h = cfg["hidden"]
    mp = nn.BondMessagePassing(d_h=h, depth=cfg["depth"])
    if cfg["task"] == "regression":
        ffn = nn.RegressionFFN(input_dim=h, hidden_dim=h, output_transform=transform)
    else:
        ffn = nn.BinaryClassificationFFN(input_dim=h, hidden_dim=h)
    model = models.MPNN(mp, nn.MeanAggregation(), ffn)
    train_loader = data.build_dataloader(
        train_set, batch_size=cfg["batch_size"], num_workers=0, seed=cfg["seed"]
    )
    valid_loader = data.build_dataloader(
        valid_set, batch_size=cfg["batch_size"], num_workers=0, shuffle=False
    )
    ckpt = ModelCheckpoint(dirpath=cfg["workdir"], monitor="val_loss", mode="min", save_top_k=1)
    trainer = pl.Trainer(
        accelerator="cpu", devices=1, max_epochs=cfg["epochs"], logger=False,
        enable_progress_bar=False, enable_model_summary=False, callbacks=[ckpt],
        deterministic=True,
    )  # fmt: skip
    trainer.fit(model, train_loader, valid_loader)
    fit_seconds = time.perf_counter() - t0
    best = models.MPNN.load_from_checkpoint(ckpt.best_model_path)  # written by this run

    def predict(frame: pd.DataFrame, batch_size: int) -> np.ndarray:
        dataset = _dataset(frame[["smiles"]], featurizer)
        loader = data.build_dataloader(dataset, batch_size=batch_size, num_workers=0, shuffle=False)
        out = pl.Trainer(accelerator="cpu", devices=1, logger=False, enable_progress_bar=False)
        return torch.cat(out.predict(best, loader)).numpy()[:, 0]

    test_pred = predict(test, cfg["predict_batch_size"])
    result = {"fit_seconds": fit_seconds, "test_pred": test_pred.tolist()}
    if cfg.get("predict_smiles"):
        smiles = Path(cfg["predict_smiles"]).read_text().split()
        t0 = time.perf_counter()
        predict(pd.DataFrame({"smiles": smiles}), cfg["predict_batch_size"])
        result["predict_seconds"] = time.perf_counter() - t0
        result["predict_n"] = len(smiles)
    print("RESULT " + json.dumps(result), flush=True)


if __name__ == "__main__":
    main()
