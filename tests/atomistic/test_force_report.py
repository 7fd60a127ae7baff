"""``molfit train`` on frames with forces reports force errors overall and per element, with a
force parity plot; ``molfit evaluate`` reports the same figures for new frames."""

from __future__ import annotations

import json

import numpy as np
import pytest
from ase.io import write as ase_write
from typer.testing import CliRunner

from molfit.cli import app
from molfit.evaluate import force_metrics
from molfit.models import load_model
from molfit.structures import Structures

pytest.importorskip("tblite")
TINY = ["--param", "n_features=16", "--param", "n_interactions=2", "--param", "n_rbf=8"]


def test_force_metrics_per_element_by_hand() -> None:
    numbers = np.array([8, 1, 1])
    ref = np.zeros((3, 3))
    pred = np.array([[0.3, 0.0, 0.0], [0.0, 0.03, 0.0], [0.0, 0.0, -0.06]])
    m = force_metrics(numbers, ref, pred)
    assert m["forces_mae_meV_per_A"] == pytest.approx(1000 * 0.39 / 9)
    assert m["forces_per_element"]["O"]["mae_meV_per_A"] == pytest.approx(100.0)
    assert m["forces_per_element"]["H"]["mae_meV_per_A"] == pytest.approx(15.0)
    assert m["forces_per_element"]["H"]["n_atoms"] == 2


def test_train_and_evaluate_report_force_errors(ethanol, tmp_path) -> None:
    path = tmp_path / "ethanol.extxyz"
    ase_write(path, ethanol, format="extxyz")
    out = tmp_path / "run"
    args = ["train", str(path), "--model", "painn", "--epochs", "3", "--batch-size", "10",
            *TINY, "--no-progress", "--out", str(out)]  # fmt: skip
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output + repr(result.exception)
    assert "forces: MAE" in result.output and "MAE per element: H " in result.output
    metrics = json.loads((out / "metrics.json").read_text())["test"]["energy"]
    assert {"forces_mae_meV_per_A_C", "forces_mae_meV_per_A_H", "forces_mae_meV_per_A_O"} <= set(
        metrics
    )
    # the figure is the model's own test error
    model = load_model(out / "model")
    split = json.loads((out / "split.json").read_text())
    test_rows = np.asarray(split["test"] if "test" in split else split["indices"]["test"])
    test = Structures.from_atoms([ethanol[k] for k in test_rows])
    _, predicted = model.predict_energy_forces(test)
    by_hand = force_metrics(test.numbers, test.forces, np.concatenate(predicted))
    assert metrics["forces_mae_meV_per_A"] == pytest.approx(by_hand["forces_mae_meV_per_A"])
    html = (out / "report.html").read_text()
    assert "Force parity plot" in html and "Force error per element" in html
    evaluated = CliRunner().invoke(app, ["evaluate", str(out), str(path)])
    assert evaluated.exit_code == 0, evaluated.output + repr(evaluated.exception)
    assert "forces: MAE" in evaluated.output
