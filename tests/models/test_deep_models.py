"""D-MPNN and GCN estimators: scikit-learn contract, masking, uncertainty, save/load, conformal."""

from __future__ import annotations

import numpy as np
import pytest
from rdkit import Chem

import molfit.data
from molfit.errors import InputError, InvalidMoleculeError
from molfit.models import get_model, load_model, save_model
from molfit.train import Runtime

TINY = {"hidden": 16, "epochs": 3, "batch_size": 16}
QUIET = Runtime(progress_bar=False)


@pytest.fixture(scope="module")
def freesolv():
    ds = molfit.data.load("freesolv")
    smiles = list(ds.smiles[:80])
    n_count = np.array(
        [sum(a.GetSymbol() == "N" for a in Chem.MolFromSmiles(s).GetAtoms()) for s in smiles],
        dtype=float,
    )
    return smiles, np.asarray(ds.y, dtype=float).reshape(len(ds.smiles), -1)[:80, 0], n_count


@pytest.mark.parametrize("name", ["dmpnn", "gcn"])
def test_regression_learns_and_round_trips(name, freesolv, tmp_path) -> None:
    smiles, _, n_count = freesolv
    params = {**TINY, "epochs": 40, "hidden": 32, "aggregation": "sum", "val_fraction": 0}
    model = get_model(name, **params)
    model.fit(smiles, n_count, runtime=QUIET)
    pred = model.predict(smiles)
    assert pred.shape == (80,)
    # learns to count nitrogens (a plain GCN sees degree-normalised neighbourhoods, so less well)
    assert np.corrcoef(pred, n_count)[0, 1] > (0.9 if name == "dmpnn" else 0.6)
    save_model(model, tmp_path / name)
    assert (tmp_path / name / "weights.safetensors").is_file()
    again = load_model(tmp_path / name)
    np.testing.assert_array_equal(again.predict(smiles), pred)


def test_dmpnn_saved_under_an_older_network_revision_is_refused(freesolv, tmp_path) -> None:
    import json

    from molfit.errors import InputError

    smiles, _, n_count = freesolv
    model = get_model("dmpnn", **{**TINY, "epochs": 1, "hidden": 8, "val_fraction": 0})
    save_model(model.fit(smiles[:20], n_count[:20]), tmp_path / "m")
    config_path = tmp_path / "m" / "config.json"
    config = json.loads(config_path.read_text())
    assert config["fitted"]["network_revision"] == 2
    del config["fitted"]["network_revision"]  # as written by molfit before revision 2
    del config["checksums"]  # ... and before model directories were sealed
    config_path.write_text(json.dumps(config))
    with pytest.raises(InputError, match="network revision 1"):
        load_model(tmp_path / "m")


def test_multitask_with_missing_labels(freesolv) -> None:
    smiles, dg, n_count = freesolv
    Y = np.column_stack([dg, n_count])
    Y[::2, 1] = np.nan  # half the second task is missing
    Y[1::7, 0] = np.nan
    model = get_model("dmpnn", **TINY).fit(smiles, Y)
    mean = model.predict(smiles)
    assert mean.shape == (80, 2) and np.isfinite(mean).all()
    # targets are standardized on the labelled rows only and predictions come back in units
    np.testing.assert_allclose(model.target_mean_, np.nanmean(Y[model_train_rows(model, 80)], 0))
    assert abs(mean[:, 0].mean() - np.nanmean(dg)) < 3 * np.nanstd(dg)


def model_train_rows(model, n: int) -> np.ndarray:
    perm = np.random.default_rng(model.seed).permutation(n)
    return np.sort(perm[round(model.val_fraction * n) :])


def test_classification_gives_probabilities() -> None:
    ds = molfit.data.load("b3db")
    frame = ds.frame.iloc[::100]
    y = frame["bbb"].to_numpy(float)
    model = get_model("gcn", task="classification", **TINY).fit(list(frame["smiles"]), y)
    proba = model.predict_proba(list(frame["smiles"][:10]))
    assert proba.shape == (10, 2)
    np.testing.assert_allclose(proba.sum(1), 1.0)
    assert set(np.unique(model.predict(list(frame["smiles"][:10])))) <= {0, 1}
    with pytest.raises(InputError, match="mean_variance"):
        get_model("gcn", task="classification", mean_variance=True, **TINY).fit(
            list(frame["smiles"]), y
        )


def test_ensemble_and_mean_variance_give_std(freesolv) -> None:
    smiles, dg, _ = freesolv
    single = get_model("dmpnn", **TINY).fit(smiles, dg)
    assert single.predict(smiles[:5], return_std=True)[1] is None
    ens = get_model("dmpnn", ensemble=3, **TINY).fit(smiles, dg)
    members = ens.member_predictions(ens.featurize(smiles[:5]))
    mean, std = ens.predict(smiles[:5], return_std=True)
    np.testing.assert_allclose(mean, members.mean(0)[:, 0])
    np.testing.assert_allclose(std, members.std(0)[:, 0])
    assert (std > 0).all()
    mv = get_model("gcn", mean_variance=True, ensemble=2, **TINY).fit(smiles, dg)
    out = mv.member_predictions(mv.featurize(smiles[:5]))  # (members, n, tasks, 2)
    _, std = mv.predict(smiles[:5], return_std=True)
    total = out[..., 1].mean(0) + out[..., 0].var(0)
    np.testing.assert_allclose(std, np.sqrt(total)[:, 0])


def test_same_seed_same_model(freesolv) -> None:
    smiles, dg, _ = freesolv
    a = get_model("dmpnn", dropout=0.1, **TINY).fit(smiles, dg)
    b = get_model("dmpnn", dropout=0.1, **TINY).fit(smiles, dg)
    c = get_model("dmpnn", dropout=0.1, seed=1, **TINY).fit(smiles, dg)
    np.testing.assert_array_equal(a.predict(smiles), b.predict(smiles))
    assert a.history_[0]["last_metrics"] == b.history_[0]["last_metrics"]
    assert not np.array_equal(a.predict(smiles), c.predict(smiles))


def test_bad_input_is_named(freesolv) -> None:
    smiles, dg, _ = freesolv
    with pytest.raises(InvalidMoleculeError, match="row 3"):
        get_model("gcn", **TINY).fit(["CCO", "CCN", "C1CC", "CCC"], [1.0, 2.0, 3.0, 4.0])
    with pytest.raises(InputError, match="rows"):
        get_model("gcn", **TINY).fit(smiles[:5], dg[:4])
    with pytest.raises(InputError, match="not fitted"):
        get_model("dmpnn").predict(["CCO"])


def test_conformal_intervals_on_top(freesolv) -> None:
    from molfit.uncertainty._calibrated import CalibratedModel

    smiles, dg, _ = freesolv
    cm = CalibratedModel(get_model("dmpnn", ensemble=2, **TINY), coverage=0.8, method="split")
    cm.fit(smiles[:60], dg[:60], X_calib=smiles[60:], y_calib=dg[60:])
    pred = cm.predict(smiles[:10])
    assert (
        pred.lower is not None and (pred.lower < pred.mean).all() and (pred.mean < pred.upper).all()
    )


def test_bf16_mixed_precision_trains_predicts_and_round_trips(freesolv, tmp_path) -> None:
    import torch

    smiles, _, n_count = freesolv
    params = {**TINY, "epochs": 30, "hidden": 32, "aggregation": "sum", "val_fraction": 0}
    full = get_model("dmpnn", **params).fit(smiles, n_count, runtime=QUIET)
    half = get_model("dmpnn", **params, precision="bf16-mixed").fit(smiles, n_count, runtime=QUIET)
    pred16, pred32 = half.predict(smiles), full.predict(smiles)
    # bfloat16 products (8 mantissa bits) change the numbers but not what is learned
    assert not np.array_equal(pred16, pred32)
    assert np.corrcoef(pred16, n_count)[0, 1] > 0.9
    # the weights stay float32; only the products run in bfloat16
    assert all(p.dtype == torch.float32 for p in half.members_[0].parameters())
    save_model(half, tmp_path / "bf16")
    again = load_model(tmp_path / "bf16")
    assert again.precision == "bf16-mixed"
    np.testing.assert_array_equal(again.predict(smiles), pred16)
    with pytest.raises(InputError, match="precision must be one of"):
        get_model("dmpnn", **TINY, precision="fp8").fit(smiles, n_count, runtime=QUIET)


def _saved_dmpnn(freesolv, tmp_path):
    smiles, y, _ = freesolv
    model = get_model("dmpnn", **TINY).fit(smiles[:40], y[:40], runtime=QUIET)
    save_model(model, tmp_path / "m")
    return model, tmp_path / "m", smiles


def test_runtime_is_not_a_hyper_parameter_and_is_not_saved(freesolv, tmp_path) -> None:
    import json

    model, path, smiles = _saved_dmpnn(freesolv, tmp_path)
    params = model.get_params()
    assert not {"devices", "strategy", "accelerator", "checkpoint_dir", "n_jobs"} & set(params)
    config = json.loads((path / "config.json").read_text())
    assert "devices" not in config["params"] and "progress_bar" not in config["params"]
    assert config["featurizer"]["scheme"] == "molfit.chem.GraphFeaturizer"
    # a model saved by the previous version listed runtime settings among its params: it loads
    config["params"].update(devices=4, strategy="ddp", checkpoint_dir="/tmp/ckpt", n_jobs=8)
    config.pop("checksums", None)  # saves of that version were not sealed yet
    (path / "config.json").write_text(json.dumps(config))
    np.testing.assert_array_equal(load_model(path).predict(smiles[:5]), model.predict(smiles[:5]))


def test_a_changed_featurizer_is_refused_on_load(freesolv, tmp_path) -> None:
    import json

    _, path, _ = _saved_dmpnn(freesolv, tmp_path)
    config = json.loads((path / "config.json").read_text())
    config["featurizer"]["atom_features"] = config["featurizer"]["atom_features"][:-1]
    config["featurizer"]["columns_digest"] = "0" * 16
    # as if the featurizer code had changed since the (intact, unsealed) save
    config.pop("checksums", None)
    (path / "config.json").write_text(json.dumps(config))
    with pytest.raises(InputError, match=r"featurizer changed.*atom_features"):
        load_model(path)
    del config["featurizer"]  # an older save: only the feature widths can be checked
    config["fitted"]["atom_dim"] += 1
    (path / "config.json").write_text(json.dumps(config))
    with pytest.raises(InputError, match="width"):
        load_model(path)


def test_truncated_weights_are_refused(freesolv, tmp_path) -> None:
    _, path, _ = _saved_dmpnn(freesolv, tmp_path)
    weights = path / "weights.safetensors"
    weights.write_bytes(weights.read_bytes()[:-100])
    with pytest.raises(InputError, match="truncated"):
        load_model(path)
