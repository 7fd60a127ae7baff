"""``molfit train / predict / evaluate`` end to end on small real slices, bad input included."""

from __future__ import annotations

import json

import pandas as pd
import pytest
from typer.testing import CliRunner

from molfit.cli import app, main
from molfit.data import load


@pytest.fixture(scope="module")
def tables(tmp_path_factory) -> dict[str, object]:
    folder = tmp_path_factory.mktemp("qsar")
    ds = load("b3db-regression", validate=True)
    frame = pd.DataFrame({"SMILES": ds.smiles, "logBB": ds.y[:, 0]}).sample(n=260, random_state=0)
    train = folder / "train.csv"
    frame.iloc[:200].to_csv(train, index=False)
    holdout = folder / "holdout.csv"
    frame.iloc[200:].to_csv(holdout, index=False)
    query = folder / "query.csv"
    pd.DataFrame(
        {"SMILES": [frame.SMILES.iloc[0], "C1CC", "N.N.Cl[Pt]Cl", frame.SMILES.iloc[1]]}
    ).to_csv(query, index=False)
    cls = load("b3db", validate=True).frame.sample(n=250, random_state=0)
    cls_path = folder / "bbb.csv"
    cls[["smiles", "bbb"]].to_csv(cls_path, index=False)
    return {"folder": folder, "train": train, "holdout": holdout, "query": query, "cls": cls_path}


def run(args: list[str], monkeypatch, capsys) -> tuple[int, str, str]:
    """Run the real console entry point (which maps MolfitError to exit code 2)."""
    monkeypatch.setattr("sys.argv", ["molfit", *map(str, args)])
    code = 0
    try:
        main()
    except SystemExit as exc:
        code = exc.code or 0
    out = capsys.readouterr()
    return code, out.out, out.err


@pytest.fixture(scope="module")
def trained(tables) -> object:
    out = tables["folder"] / "run"
    result = CliRunner().invoke(
        app,
        [
            "train",
            str(tables["train"]),
            "--smiles-column",
            "SMILES",
            "--target",
            "logBB",
            "--task",
            "regression",
            "--param",
            "n_estimators=20",
            "--out",
            str(out),
        ],
    )
    assert result.exit_code == 0, result.output
    assert "mae" in result.output and "report:" in result.output
    return out


def test_train_writes_a_complete_run_directory(trained) -> None:
    for name in ("split.json", "metrics.json", "test_predictions.csv", "report.html"):
        assert (trained / name).is_file()
    metrics = json.loads((trained / "metrics.json").read_text())["test"]["logBB"]
    assert metrics["mae"] < 1.0 and 0 <= metrics["coverage"] <= 1
    config = json.loads((trained / "model" / "config.json").read_text())
    assert config["run"]["model"] == "extratrees" and config["run"]["data_hash"]
    html = (trained / "report.html").read_text()
    assert html.count("<figure><svg") >= 4  # parity, calibration, error-vs-sim, leakage
    assert not list(trained.rglob("*.pkl")) and not list(trained.rglob("*.pickle"))


def test_predict_names_bad_rows_and_predicts_the_rest(trained, tables, monkeypatch, capsys):
    out = tables["folder"] / "preds.csv"
    code, _, stderr = run(["predict", trained, tables["query"], "--out", out], monkeypatch, capsys)
    assert code == 0
    table = pd.read_csv(out, keep_default_na=False)
    assert len(table) == 4
    assert {"prediction", "std", "lower", "upper", "similarity", "in_domain", "error"} <= set(
        table.columns
    )
    assert table.loc[1, "error"].startswith("cannot parse SMILES")
    assert "row 2" in stderr
    assert table.loc[0, "error"] == "" and table.loc[3, "error"] == ""
    assert (
        float(table.loc[0, "lower"])
        <= float(table.loc[0, "prediction"])
        <= float(table.loc[0, "upper"])
    )
    assert str(table.loc[0, "in_domain"]) == "True"  # a training molecule
    assert str(table.loc[2, "in_domain"]) == "False" and "Pt" in table.loc[2, "domain_note"]


def test_predict_keeps_a_row_with_too_many_fields_and_says_why(
    trained, tables, monkeypatch, capsys
):
    query = tables["folder"] / "ragged.csv"
    query.write_text("SMILES\nCCO\nCCN,extra\nc1ccccc1O\n")
    out = tables["folder"] / "ragged_preds.csv"
    code, _, _ = run(["predict", trained, query, "--out", out], monkeypatch, capsys)
    assert code == 0
    table = pd.read_csv(out, keep_default_na=False)
    assert len(table) == 3
    assert table.loc[1, "error"] == "expected 1 field, found 2"
    assert table.loc[1, "prediction"] == ""
    assert table.loc[0, "error"] == "" and table.loc[2, "error"] == ""
    assert table.loc[2, "prediction"] != ""


def test_evaluate_on_new_labelled_data(trained, tables, monkeypatch, capsys) -> None:
    code, stdout, _ = run(
        ["evaluate", trained, tables["holdout"], "--smiles-column", "SMILES"], monkeypatch, capsys
    )
    assert code == 0 and "logBB" in stdout and "coverage" in stdout


def test_train_classification_csv(tables, monkeypatch, capsys) -> None:
    out = tables["folder"] / "cls-run"
    code, stdout, _ = run(
        ["train", tables["cls"], "--model", "logistic", "--split", "random", "--out", out],
        monkeypatch,
        capsys,
    )
    assert code == 0, stdout
    metrics = json.loads((out / "metrics.json").read_text())["test"]["bbb"]
    assert metrics["roc_auc"] > 0.6 and "set_coverage" in metrics
    preds = pd.read_csv(out / "test_predictions.csv")
    assert {"probability", "prediction", "prediction_set"} <= set(preds.columns)


def test_unknown_column_exits_2_and_writes_nothing(tables, monkeypatch, capsys) -> None:
    out = tables["folder"] / "never"
    code, _, err = run(
        ["train", tables["train"], "--target", "nope", "--out", out], monkeypatch, capsys
    )
    assert code == 2 and "nope" in err and "Traceback" not in err
    assert not out.exists()
    assert not [p for p in tables["folder"].iterdir() if p.name.startswith(".never")]


def test_empty_file_exits_2(tables, trained, monkeypatch, capsys) -> None:
    empty = tables["folder"] / "empty.csv"
    empty.write_text("")
    out = tables["folder"] / "empty-preds.csv"
    code, _, err = run(["predict", trained, empty, "--out", out], monkeypatch, capsys)
    assert code == 2 and "empty" in err and not out.exists()
    code, _, err = run(["train", empty, "--out", tables["folder"] / "e"], monkeypatch, capsys)
    assert code == 2 and "empty" in err


def test_predict_with_missing_smiles_column_exits_2(tables, trained, monkeypatch, capsys):
    out = tables["folder"] / "x.csv"
    code, _, err = run(
        ["predict", trained, tables["query"], "--smiles-column", "smi", "--out", out],
        monkeypatch,
        capsys,
    )
    assert code == 2 and "smi" in err and not out.exists()


def test_unknown_model_exits_2(tables, monkeypatch, capsys) -> None:
    code, _, err = run(["train", tables["train"], "--model", "magic"], monkeypatch, capsys)
    assert code == 2 and "unknown model" in err
