"""Run directories written by round one's molfit still load and predict the same numbers.

The fixtures under ``data/round_one/`` are the ``model/`` folders of three tiny runs trained by
molfit at commit 2f3389a (before the round-two re-layout moved every module), with that code's
own ``test_predictions.csv`` as ``expected.csv``:

    molfit train freesolv --limit 120 --param n_estimators=4                     # et_freesolv
    molfit train freesolv --model dmpnn --limit 120 --epochs 2 \
        --param hidden=16 --param ffn_hidden=16                                  # dmpnn_freesolv
    molfit train qm9 --model schnet --target U0 --limit 120 --epochs 2 \
        --param n_features=8 --param n_interactions=1                            # schnet_qm9

Their configs name round-one modules and carry round-one runtime settings (``devices``,
``strategy``...) among the parameters; loading must still give the same predictions and the
same conformal intervals, to float precision.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from molfit.workflows import load_run_model, predict_file

DATA = Path(__file__).parent / "data" / "round_one"


def _copy(name: str, tmp_path: Path) -> Path:
    run = tmp_path / name
    shutil.copytree(DATA / name, run)
    return run


@pytest.mark.parametrize("name", ["et_freesolv", "dmpnn_freesolv"])
def test_a_round_one_molecule_run_predicts_as_it_did(name, tmp_path) -> None:
    run = _copy(name, tmp_path)
    expected = pd.read_csv(run / "expected.csv", keep_default_na=False)
    source = tmp_path / "input.csv"
    expected[["smiles"]].to_csv(source, index=False)
    summary = predict_file(run, source, tmp_path / "out.csv", progress=False)
    assert summary.n_rows == len(expected) and summary.n_failed == 0
    got = pd.read_csv(tmp_path / "out.csv", keep_default_na=False)
    np.testing.assert_allclose(
        got["prediction [eV]"].to_numpy(float), expected["prediction"].to_numpy(float), rtol=1e-5
    )
    for bound in ("lower", "upper"):
        np.testing.assert_allclose(
            got[f"{bound} [eV]"].to_numpy(float), expected[bound].to_numpy(float), rtol=1e-5
        )
    np.testing.assert_array_equal(got["in_domain"], expected["in_domain"])
    np.testing.assert_allclose(got["similarity"], expected["similarity"].to_numpy(float))


def test_round_one_runtime_settings_are_not_hyper_parameters_after_loading(tmp_path) -> None:
    config = (DATA / "dmpnn_freesolv" / "model" / "estimator" / "config.json").read_text()
    assert '"devices"' in config  # round one saved them with the model
    model = load_run_model(_copy("dmpnn_freesolv", tmp_path))
    params = model.get_params()
    assert not any(key.endswith("devices") or key.endswith("strategy") for key in params)


def test_a_round_one_schnet_run_predicts_as_it_did(tmp_path) -> None:
    run = _copy("schnet_qm9", tmp_path)
    expected = pd.read_csv(run / "expected.csv", keep_default_na=False)
    summary = predict_file(run, run / "test.xyz", tmp_path / "out.csv", progress=False)
    got = pd.read_csv(tmp_path / "out.csv", keep_default_na=False)
    # one change on purpose: round one predicted a fluorine compound although its 96 training
    # molecules held no F; an element the model never saw is now refused with a reason
    unseen = got["error"].str.contains("F not in the training structures").to_numpy()
    assert summary.n_rows == len(expected) and summary.n_failed == unseen.sum() == 1
    assert (got.loc[unseen, "prediction [eV]"] == "").all()
    np.testing.assert_allclose(
        got.loc[~unseen, "prediction [eV]"].to_numpy(float),
        expected.loc[~unseen, "prediction"].to_numpy(float),
        rtol=1e-9,
    )
