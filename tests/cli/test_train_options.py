"""``molfit train`` options a chemprop or DeepChem user reaches for on day one, end to end on
real data: a split from a file, a temporal split, standardization, the bf16 warning; ``predict``
on a built-in dataset name; ``explain`` refusing a 3D run with a message."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from molfit.cli import main
from molfit.data import load

ET = ["--model", "extratrees", "--param", "n_estimators=20", "--target", "logBB"]


def run(args: list, monkeypatch, capsys) -> tuple[int, str, str]:
    monkeypatch.setattr("sys.argv", ["molfit", *map(str, args)])
    code = 0
    try:
        main()
    except SystemExit as exc:
        code = exc.code or 0
    out = capsys.readouterr()
    return code, out.out, out.err


@pytest.fixture(scope="module")
def table(tmp_path_factory):
    """150 B3DB logBB rows with a made-up but monotone 'year' column (for the temporal split)."""
    folder = tmp_path_factory.mktemp("options")
    ds = load("b3db-regression", validate=True)
    frame = pd.DataFrame({"SMILES": ds.smiles, "logBB": ds.y[:, 0]}).iloc[:150].copy()
    frame["year"] = 1990 + np.arange(len(frame)) // 5
    path = folder / "logbb.csv"
    frame.to_csv(path, index=False)
    return folder, path, frame


def test_train_with_a_split_file_uses_exactly_its_rows(table, monkeypatch, capsys) -> None:
    folder, path, _ = table
    split = folder / "split.json"
    code, _, err = run(["data", "split", path, "-m", "scaffold", "-o", split], monkeypatch, capsys)
    assert code == 0, err
    saved = json.loads(split.read_text())
    out = folder / "from-file"
    code, stdout, err = run(["train", path, *ET, "--split-file", split, "-o", out],
                            monkeypatch, capsys)  # fmt: skip
    assert code == 0, err
    assert f"from {split}" in stdout
    used = json.loads((out / "split.json").read_text())
    for part in ("train", "valid", "test"):
        assert sorted(used[part]) == sorted(saved[part])


def test_temporal_split_tests_on_the_latest_rows(table, monkeypatch, capsys) -> None:
    folder, path, frame = table
    out = folder / "temporal"
    code, _, err = run(["train", path, *ET, "--split", "temporal", "--time-column", "year",
                        "-o", out], monkeypatch, capsys)  # fmt: skip
    assert code == 0, err
    split = json.loads((out / "split.json").read_text())
    years = frame["year"].to_numpy()
    assert years[split["test"]].min() >= years[split["train"]].max()
    code, _, err = run(["train", path, *ET, "--split", "temporal", "-o", folder / "t2"],
                       monkeypatch, capsys)  # fmt: skip
    assert code == 2 and "--time-column" in err


def test_standardize_reports_what_it_changed(table, monkeypatch, capsys) -> None:
    folder, _, frame = table
    salty = frame.copy()
    # sodium salts as vendors write them: standardization keeps the parent acid's anion
    salty.loc[salty.index[:3], "SMILES"] = [
        "[Na+].[O-]C(=O)c1ccccc1", "CC(=O)Oc1ccccc1C(=O)[O-].[Na+]", "[K+].[O-]C(=O)CCc1ccccc1",
    ]  # fmt: skip
    path = folder / "salty.csv"
    salty.to_csv(path, index=False)
    out = folder / "std"
    code, _, err = run(["train", path, *ET, "--standardize", "-o", out], monkeypatch, capsys)
    assert code == 0, err
    assert "standardized" in err
    rows = json.loads((out / "metrics.json").read_text())["rows"]
    assert rows["standardized"] >= 3


def test_bf16_on_a_cpu_without_bf16_warns(table, monkeypatch, capsys) -> None:
    import molfit.cli._common as common

    folder, path, _ = table
    monkeypatch.setattr(common, "cpu_has_bf16", lambda *a: False)
    args = ["train", path, "-t", "logBB", "--model", "dmpnn", "--epochs", "1", "--param",
            "hidden=16", "--precision", "bf16-mixed", "--no-progress",
            "-o", folder / "bf16"]  # fmt: skip
    code, _, err = run(args, monkeypatch, capsys)
    assert code == 0, err
    assert "bfloat16 instructions" in err and "emulated" in err


def test_predict_on_a_builtin_dataset_name(table, monkeypatch, capsys) -> None:
    folder, path, _ = table
    out = folder / "et"
    code, _, err = run(["train", path, *ET, "-o", out], monkeypatch, capsys)
    assert code == 0, err
    preds = folder / "freesolv.csv"
    code, _, err = run(["predict", out, "freesolv", "-o", preds], monkeypatch, capsys)
    assert code == 0, err
    table_out = pd.read_csv(preds)
    assert len(table_out) == len(load("freesolv"))
    assert table_out["prediction"].notna().all()
    assert "year_prediction" not in table_out  # --target logBB: the year is no target


def test_explain_refuses_a_3d_run_with_a_message(tmp_path, monkeypatch, capsys) -> None:
    out = tmp_path / "schnet"
    args = ["train", "qm9", "--model", "schnet", "--target", "U0", "--limit", "60", "--epochs",
            "1", "--param", "n_features=8", "--param", "n_interactions=1", "--no-progress",
            "-o", out]  # fmt: skip
    code, _, err = run(args, monkeypatch, capsys)
    assert code == 0, err
    code, _, err = run(["explain", out, "CCO"], monkeypatch, capsys)
    assert code == 2
    assert "3D run" in err and "Traceback" not in err
