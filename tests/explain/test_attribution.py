"""Atom attributions: one value per heavy atom, nitrogens light up for a nitrogen counter."""

from __future__ import annotations

import numpy as np
import pytest
from rdkit import Chem
from typer.testing import CliRunner

import molfit.data
from molfit.errors import InputError
from molfit.explain._attribution import atom_attributions, draw_attributions, explain
from molfit.models import get_model


@pytest.fixture(scope="module")
def nitrogen_counter():
    smiles = list(molfit.data.load("freesolv").smiles[:150])
    y = [sum(a.GetSymbol() == "N" for a in Chem.MolFromSmiles(s).GetAtoms()) for s in smiles]
    model = get_model("dmpnn", hidden=32, epochs=30, batch_size=16, aggregation="sum",
                      val_fraction=0, progress_bar=False)  # fmt: skip
    return model.fit(smiles, np.asarray(y, dtype=float))


@pytest.mark.parametrize("smiles", ["NCCc1ccc(O)c(O)c1", "CN1CCC[C@H]1c1cccnc1", "NC(=O)c1ccncc1"])
def test_nitrogens_get_the_largest_attributions(nitrogen_counter, smiles) -> None:
    mol = Chem.MolFromSmiles(smiles)
    weights = atom_attributions(nitrogen_counter, smiles)
    assert weights.shape == (mol.GetNumHeavyAtoms(),)
    is_n = np.array([a.GetSymbol() == "N" for a in mol.GetAtoms()])
    assert weights[is_n].min() > weights[~is_n].max()


def test_completeness(nitrogen_counter) -> None:
    # Σ attributions ≈ f(x) - f(zero features)
    smiles = "NCCc1ccc(O)c(O)c1"
    weights, value = explain(nitrogen_counter, smiles, steps=256)
    feats = nitrogen_counter._features([smiles], fitting=False)
    feats.graphs[0] = type(feats.graphs[0])(
        np.zeros_like(feats.graphs[0].x), feats.graphs[0].edge_index, feats.graphs[0].edge_attr,
        feats.graphs[0].n_atoms, feats.graphs[0].n_edges,
    )  # fmt: skip
    baseline = nitrogen_counter.predict_features(feats)[0][0, 0]
    assert weights.sum() == pytest.approx(value - baseline, abs=0.05 * max(1.0, abs(value)))


def test_images(nitrogen_counter, tmp_path) -> None:
    png = draw_attributions("c1ccncc1", np.arange(6.0), tmp_path / "a.png")
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and (tmp_path / "a.png").read_bytes() == png
    svg = draw_attributions("c1ccncc1", np.zeros(6), tmp_path / "a.svg")
    assert b"<svg" in svg
    with pytest.raises(InputError, match="weights"):
        draw_attributions("c1ccncc1", np.zeros(5))
    with pytest.raises(InputError, match="png"):
        draw_attributions("c1ccncc1", np.zeros(6), tmp_path / "a.jpg")
    with pytest.raises(InputError, match="graph model"):
        atom_attributions(get_model("ridge"), "CCO")


def test_cli_explain(tmp_path) -> None:
    from molfit.cli import (
        _explain,  # noqa: F401  (registers the verb)
        app,
    )
    from molfit.uncertainty._calibrated import CalibratedModel

    smiles = list(molfit.data.load("freesolv").smiles[:60])
    y = [sum(a.GetSymbol() == "N" for a in Chem.MolFromSmiles(s).GetAtoms()) for s in smiles]
    model = get_model("dmpnn", hidden=16, epochs=2, progress_bar=False)
    cm = CalibratedModel(model, method="split")
    cm.fit(smiles[:40], y[:40], X_calib=smiles[40:], y_calib=y[40:], targets=["n_nitrogen"])
    cm.save(tmp_path / "run" / "model")
    out = tmp_path / "atoms.svg"
    args = ["explain", str(tmp_path / "run"), "NCCO", "--out", str(out), "--target", "n_nitrogen"]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    assert b"<svg" in out.read_bytes()
    rows = [ln.split() for ln in result.output.splitlines() if ln[:4].strip().isdigit()]
    assert [r[1] for r in rows] == ["N", "C", "C", "O"]  # one line per heavy atom
    bad = CliRunner().invoke(app, ["explain", str(tmp_path / "run"), "NCCO", "--target", "logP"])
    assert bad.exit_code != 0 and "unknown target" in str(bad.exception)


def test_image_caption_carries_prediction_unit_and_colour_key() -> None:
    from molfit.explain import attribution_caption, draw_attributions

    caption = attribution_caption(-3.14159, "kcal/mol", 0.5)
    assert caption.splitlines()[0] == "prediction -3.142 kcal/mol"
    assert "green raises, pink lowers" in caption and "0.5" in caption
    weights = np.array([0.2, -0.5, 0.1])
    plain = draw_attributions("CCO", weights)
    labelled = draw_attributions("CCO", weights, prediction=-3.14159, unit="kcal/mol")
    assert plain[:8] == labelled[:8] == b"\x89PNG\r\n\x1a\n"
    assert plain != labelled  # the prediction line is drawn
