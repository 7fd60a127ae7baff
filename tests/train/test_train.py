"""The shared module and engines: masked losses, scaling, best weights, torch = Lightning, DDP."""

from __future__ import annotations

import copy

import numpy as np
import pytest
import torch
from safetensors.torch import load_file

from molfit.chem._graph import GraphFeaturizer, collate_graphs
from molfit.nn import DMPNN
from molfit.train import (
    BEST_WEIGHTS_FILE,
    PredictorModule,
    choose_engine,
    configure_warmup_decay,
    fit_module,
    make_loader,
    masked_loss,
    predict_batches,
    seed_everything,
    task_metrics,
)

FEAT = GraphFeaturizer()
SMILES = [
    "CCO",
    "CCN",
    "NCCN",
    "c1ccncc1",
    "CN(C)C",
    "OCCO",
    "CCCCN",
    "CC(=O)N",
    "c1ccccc1N",
    "CCCC",
    "CC(C)O",
    "NC(=O)N",
    "CC#N",
    "OC(=O)CN",
    "c1ccoc1",
    "CCOCC",
    "NCCO",
    "CCCl",
    "CC(N)C(=O)O",
    "c1cnc[nH]1",
]


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
    module = PredictorModule(
        torch.nn.Identity(), n_tasks=2, target_mean=[10.0, -1.0], target_std=[2.0, 0.5]
    )
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


def _fit(seed: int, tmp_path=None, epochs: int = 3, n_train: int = 15, shuffle=True, **kw):
    graphs, y = _data()
    seed_everything(seed)
    net = DMPNN(FEAT.atom_dim, FEAT.bond_dim, n_tasks=2, hidden=16, dropout=0.1)
    module = PredictorModule(net, n_tasks=2, target_mean=y.mean(0), target_std=y.std(0))
    k = n_train
    train = make_loader(graphs[:k], collate_graphs, y[:k], batch_size=5, shuffle=shuffle, seed=seed)
    val = make_loader(graphs[k:], collate_graphs, y[k:], batch_size=5)
    kw.setdefault("progress_bar", False)
    result = fit_module(
        module, train, val, max_epochs=epochs, patience=5, checkpoint_dir=tmp_path, **kw
    )
    return module, result, graphs


def test_same_seed_same_metrics_different_seed_different() -> None:
    m1, r1, graphs = _fit(0)
    m2, r2, _ = _fit(0)
    _m3, r3, _ = _fit(1)
    assert r1.engine == "torch"  # one CPU: molfit's own loop, no Lightning
    for key in ("val_loss", "val_rmse", "train_loss"):
        assert r1.metrics[key] == r2.metrics[key]
    assert r1.metrics["val_loss"] != r3.metrics["val_loss"]
    loader = make_loader(graphs, collate_graphs, batch_size=7)
    np.testing.assert_array_equal(predict_batches(m1, loader), predict_batches(m2, loader))


def test_torch_and_lightning_engines_train_the_same_weights(tmp_path) -> None:
    # same seeds, dropout draws, optimizer arithmetic, schedule, clipping, validation and
    # best-epoch rule. (Not the shuffled order after the first epoch: between epochs
    # Lightning's loop draws from the loader's shuffling generator beyond the one iterator per
    # epoch that molfit's loop, like a plain PyTorch loop, opens; so the orders part there.)
    kw = dict(epochs=6, gradient_clip_val=1.0, shuffle=False)
    m_t, r_t, _ = _fit(0, tmp_path / "t", engine="torch", **kw)
    m_l, r_l, _ = _fit(0, tmp_path / "l", engine="lightning", **kw)
    assert (r_t.engine, r_l.engine) == ("torch", "lightning")
    assert r_t.epochs_run == r_l.epochs_run == 6
    assert r_t.best_epoch == r_l.best_epoch
    assert r_t.best_score == pytest.approx(r_l.best_score, rel=1e-6)
    for key in ("val_loss", "val_rmse", "val_mae", "train_loss"):
        assert r_t.metrics[key] == pytest.approx(r_l.metrics[key], rel=1e-5), key
    for (name, a), b in zip(m_t.state_dict().items(), m_l.state_dict().values(), strict=True):
        torch.testing.assert_close(a, b, rtol=1e-5, atol=1e-6, msg=name)
    saved_t = load_file(str(tmp_path / "t" / BEST_WEIGHTS_FILE))
    saved_l = load_file(str(tmp_path / "l" / BEST_WEIGHTS_FILE))
    assert saved_t.keys() == saved_l.keys() == m_t.state_dict().keys()


def test_molfit_adam_and_schedule_step_as_torch_optim() -> None:
    torch.manual_seed(0)
    ref = torch.nn.Sequential(torch.nn.Linear(6, 8), torch.nn.Tanh(), torch.nn.Linear(8, 2))
    mine = copy.deepcopy(ref)
    x, t = torch.randn(32, 6), torch.randn(32, 2)
    opts = [
        configure_warmup_decay(
            m.parameters(),
            3e-3,
            2.0,
            0.1,
            weight_decay=1e-2,
            total_steps=40,
            epochs=10,
            torch_optim=flag,
        )
        for m, flag in ((ref, True), (mine, False))
    ]
    assert type(opts[0][0]).__module__.startswith("torch.optim")
    assert not type(opts[1][0]).__module__.startswith("torch")
    for _ in range(40):
        for model, (opt, sched) in zip((ref, mine), opts, strict=True):
            opt.zero_grad()
            ((model(x) - t) ** 2).mean().backward()
            opt.step()
            sched.step()
        assert opts[0][1].get_last_lr() == pytest.approx(opts[1][1].get_last_lr(), rel=1e-12)
    for a, b in zip(ref.parameters(), mine.parameters(), strict=True):
        torch.testing.assert_close(a, b, rtol=0, atol=1e-7)
    assert not torch.equal(ref[0].weight, copy.deepcopy(mine)[0].weight * 0)  # they moved


def test_engine_choice_follows_the_devices() -> None:
    assert choose_engine() == "torch"
    assert choose_engine(strategy="ddp") == "lightning"
    assert choose_engine(devices=2) == "lightning"
    assert choose_engine(num_nodes=2) == "lightning"
    assert choose_engine(precision="16-mixed") == "lightning"
    assert choose_engine(precision="bf16-mixed") == "torch"
    assert choose_engine(engine="lightning") == "lightning"
    with pytest.raises(ValueError, match="strategy='ddp'"):
        choose_engine(engine="torch", strategy="ddp")
    with pytest.raises(ValueError, match="engine must be one of"):
        choose_engine(engine="jax")


def test_best_weights_are_restored_and_saved(tmp_path) -> None:
    module, result, graphs = _fit(0, tmp_path, epochs=4)
    assert 0 <= result.best_epoch <= 3
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
    assert (sum(losses) / 5).item() == pytest.approx(result.best_score, rel=1e-5)


def test_early_stopping_stops_after_patience_epochs_without_improvement() -> None:
    graphs, y = _data()
    seed_everything(0)
    net = DMPNN(FEAT.atom_dim, FEAT.bond_dim, n_tasks=2, hidden=8)
    # lr 0: the weights never change, so the first epoch stays the best and patience runs out
    module = PredictorModule(net, n_tasks=2, lr=0.0, lr_ratio=1.0)
    train = make_loader(graphs[:15], collate_graphs, y[:15], batch_size=5)
    val = make_loader(graphs[15:], collate_graphs, y[15:], batch_size=5)
    result = fit_module(module, train, val, max_epochs=50, patience=3, progress_bar=False)
    assert result.best_epoch == 0
    assert result.epochs_run == 4  # epoch 0 best, then 3 epochs without improvement
    no_val = fit_module(module, train, None, max_epochs=2, patience=3, progress_bar=False)
    assert no_val.epochs_run == 2 and no_val.best_epoch == -1 and no_val.best_score is None


def test_ddp_on_two_cpu_processes_with_gloo() -> None:
    # one epoch, so the returned (best) weights are the ones the last validation scored
    module, result, graphs = _fit(0, epochs=1, n_train=14, strategy="ddp_spawn", devices=2)
    assert result.engine == "lightning" and result.world_size == 2
    assert np.isfinite(result.metrics["val_loss"])
    # validation metrics are computed on all 6 validation rows gathered from both processes,
    # not averaged over the two halves (an RMSE of halves averaged is not the whole's RMSE)
    _, y = _data()
    pred = predict_batches(module, make_loader(graphs[14:], collate_graphs, batch_size=6))
    whole = task_metrics(pred, y[14:], "regression")
    for name in ("rmse", "mae"):
        assert result.metrics[f"val_{name}"] == pytest.approx(whole[name], rel=1e-5)
    # the main process got the trained weights back: not the initial ones any more
    seed_everything(0)
    fresh = DMPNN(FEAT.atom_dim, FEAT.bond_dim, n_tasks=2, hidden=16, dropout=0.1)
    trained = module.model.message_passing.W_i.weight
    assert not torch.equal(fresh.message_passing.W_i.weight, trained)


@pytest.mark.parametrize("engine", ["torch", "lightning"])
def test_progress_bar_goes_to_stderr_not_stdout(capsys, engine) -> None:
    graphs, y = _data()
    seed_everything(0)
    net = DMPNN(FEAT.atom_dim, FEAT.bond_dim, n_tasks=2, hidden=8)
    module = PredictorModule(net, n_tasks=2, target_mean=y.mean(0), target_std=y.std(0))
    train = make_loader(graphs[:15], collate_graphs, y[:15], batch_size=5)
    val = make_loader(graphs[15:], collate_graphs, y[15:], batch_size=5)
    fit_module(module, train, val, max_epochs=2, progress_bar=True, engine=engine)
    out, err = capsys.readouterr()
    assert "Epoch" in err and "it/s" in err
    assert "Epoch" not in out and "it/s" not in out
