"""The shared Lightning module and trainer: masked losses, scaling, best weights, DDP."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from safetensors.torch import load_file

from molfit.chem._graph import GraphFeaturizer, collate_graphs
from molfit.nn import DMPNN
from molfit.train import (
    BEST_WEIGHTS_FILE,
    PredictorModule,
    best_weights,
    make_loader,
    make_trainer,
    masked_loss,
    predict_batches,
    seed_everything,
    task_metrics,
)

FEAT = GraphFeaturizer()
SMILES = [
    "CCO", "CCN", "NCCN", "c1ccncc1", "CN(C)C", "OCCO", "CCCCN", "CC(=O)N", "c1ccccc1N",
    "CCCC", "CC(C)O", "NC(=O)N", "CC#N", "OC(=O)CN", "c1ccoc1", "CCOCC", "NCCO", "CCCl",
    "CC(N)C(=O)O", "c1cnc[nH]1",
]  # fmt: skip


def _n_count(smiles: str) -> float:
    return float(sum(a.GetSymbol() == "N" for a in _mol(smiles).GetAtoms()))


def _mol(smiles: str):
    from rdkit import Chem

    return Chem.MolFromSmiles(smiles)


def _data():
    graphs = FEAT.many(SMILES)
    y = np.array([[_n_count(s), _mol(s).GetNumAtoms()] for s in SMILES], dtype=np.float32)
    return graphs, y


def test_masked_loss_ignores_missing_labels() -> None:
    pred = torch.tensor([[1.0, 5.0], [2.0, -3.0]], requires_grad=True)
    target = torch.tensor([[0.0, float("nan")], [2.0, float("nan")]])
    loss = masked_loss(pred, target, "mse")
    assert loss.item() == pytest.approx(0.5)  # (1² + 0²) / 2 labelled entries
    loss.backward()
    assert pred.grad[:, 1].abs().sum() == 0  # no push towards a missing label
    assert pred.grad[0, 0] != 0
    bce = masked_loss(torch.tensor([[0.0, 3.0]]), torch.tensor([[1.0, float("nan")]]), "bce")
    assert bce.item() == pytest.approx(np.log(2.0))
    mv = torch.tensor([[[0.0, 1.0]], [[5.0, 4.0]]])
    nll = masked_loss(mv, torch.tensor([[1.0], [float("nan")]]), "gaussian_nll")
    assert nll.item() == pytest.approx(0.5 * (np.log(2 * np.pi) + 1.0))
    empty = masked_loss(pred, torch.full((2, 2), float("nan")), "mse")
    assert empty.item() == 0.0 and empty.requires_grad


def test_scaling_round_trip_and_units() -> None:
    module = PredictorModule(torch.nn.Identity(), n_tasks=2, target_mean=[10.0, -1.0],
                             target_std=[2.0, 0.5])  # fmt: skip
    y = torch.tensor([[12.0, -1.5]])
    scaled = module.scale_targets(y)
    assert scaled.tolist() == [[1.0, -1.0]]
    torch.testing.assert_close(module.unscale(scaled), y)
    mv = module.unscale(torch.tensor([[[1.0, 1.0], [0.0, 4.0]]]))
    assert mv[0, :, 0].tolist() == [12.0, -1.0]
    assert mv[0, :, 1].tolist() == [4.0, 1.0]  # variance scales with std²
    clf = PredictorModule(torch.nn.Identity(), task="classification")
    assert clf.unscale(torch.tensor([[0.0]])).item() == 0.5


def test_task_metrics_match_scikit_learn() -> None:
    from sklearn.metrics import roc_auc_score

    rng = np.random.default_rng(0)
    y = rng.integers(0, 2, size=(50, 2)).astype(float)
    p = np.clip(y * 0.3 + rng.random((50, 2)) * 0.7, 0, 1)
    y[::5, 1] = np.nan
    m = task_metrics(p, y, "classification")
    keep = ~np.isnan(y[:, 1])
    ref = (roc_auc_score(y[:, 0], p[:, 0]) + roc_auc_score(y[keep, 1], p[keep, 1])) / 2
    assert m["auroc"] == pytest.approx(ref)
    r = task_metrics(np.array([[1.0], [2.0]]), np.array([[1.0], [4.0]]), "regression")
    assert r["rmse"] == pytest.approx(np.sqrt(2.0)) and r["mae"] == pytest.approx(1.0)


def _fit(seed: int, tmp_path=None, epochs: int = 3, n_train: int = 15, **trainer_kw):
    graphs, y = _data()
    seed_everything(seed)
    net = DMPNN(FEAT.atom_dim, FEAT.bond_dim, n_tasks=2, hidden=16, dropout=0.1)
    module = PredictorModule(net, n_tasks=2, target_mean=y.mean(0), target_std=y.std(0))
    k = n_train
    train = make_loader(graphs[:k], collate_graphs, y[:k], batch_size=5, shuffle=True, seed=seed)
    val = make_loader(graphs[k:], collate_graphs, y[k:], batch_size=5)
    trainer = make_trainer(max_epochs=epochs, patience=5, checkpoint_dir=tmp_path,
                           progress_bar=False, **trainer_kw)  # fmt: skip
    trainer.fit(module, train, val)
    return module, trainer, graphs


def test_same_seed_same_metrics_different_seed_different() -> None:
    m1, t1, graphs = _fit(0)
    m2, t2, _ = _fit(0)
    _m3, t3, _ = _fit(1)
    for key in ("val_loss", "val_rmse", "train_loss"):
        assert t1.callback_metrics[key].item() == t2.callback_metrics[key].item()
    assert t1.callback_metrics["val_loss"].item() != t3.callback_metrics["val_loss"].item()
    loader = make_loader(graphs, collate_graphs, batch_size=7)
    np.testing.assert_array_equal(predict_batches(m1, loader), predict_batches(m2, loader))


def test_best_weights_are_restored_and_saved(tmp_path) -> None:
    module, trainer, graphs = _fit(0, tmp_path, epochs=4)
    best = best_weights(trainer)
    assert 0 <= best.best_epoch <= 3
    saved = load_file(str(tmp_path / BEST_WEIGHTS_FILE))
    current = module.state_dict()
    assert saved.keys() == current.keys()
    for k, v in saved.items():
        torch.testing.assert_close(current[k], v)
    # the restored weights reproduce the best validation loss
    _, y = _data()
    val = make_loader(graphs[15:], collate_graphs, y[15:], batch_size=5)
    with torch.no_grad():
        module.eval()
        losses = [module._loss(module(*inp), t) * len(t) for inp, t in val]
    # val_loss is the batch-size-weighted mean of the batch losses
    assert (sum(losses) / 5).item() == pytest.approx(best.best_score, rel=1e-5)


def test_ddp_on_two_cpu_processes_with_gloo() -> None:
    # one epoch, so the returned (best) weights are the ones the last validation scored
    module, trainer, graphs = _fit(0, epochs=1, n_train=14, strategy="ddp_spawn", devices=2)
    assert trainer.world_size == 2
    assert trainer.strategy._get_process_group_backend() == "gloo"  # CPU: gloo
    assert np.isfinite(trainer.callback_metrics["val_loss"].item())
    # validation metrics are computed on all 6 validation rows gathered from both processes,
    # not averaged over the two halves (an RMSE of halves averaged is not the whole's RMSE)
    _, y = _data()
    pred = predict_batches(module, make_loader(graphs[14:], collate_graphs, batch_size=6))
    whole = task_metrics(pred, y[14:], "regression")
    for name in ("rmse", "mae"):
        logged = trainer.callback_metrics[f"val_{name}"].item()
        assert logged == pytest.approx(whole[name], rel=1e-5)
    # the main process got the trained weights back: not the initial ones any more
    seed_everything(0)
    fresh = DMPNN(FEAT.atom_dim, FEAT.bond_dim, n_tasks=2, hidden=16, dropout=0.1)
    trained = module.model.message_passing.W_i.weight
    assert not torch.equal(fresh.message_passing.W_i.weight, trained)


def test_progress_bar_goes_to_stderr_not_stdout(capsys) -> None:
    graphs, y = _data()
    seed_everything(0)
    net = DMPNN(FEAT.atom_dim, FEAT.bond_dim, n_tasks=2, hidden=8)
    module = PredictorModule(net, n_tasks=2, target_mean=y.mean(0), target_std=y.std(0))
    train = make_loader(graphs[:15], collate_graphs, y[:15], batch_size=5)
    val = make_loader(graphs[15:], collate_graphs, y[15:], batch_size=5)
    make_trainer(max_epochs=2, progress_bar=True).fit(module, train, val)
    out, err = capsys.readouterr()
    assert "Epoch" in err and "it/s" in err
    assert "Epoch" not in out and "it/s" not in out
