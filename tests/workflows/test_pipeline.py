"""The one pipeline: label counts, training overlap, rank guard, params, units, CLI guard."""

from __future__ import annotations

import json
import os

import numpy as np
import pandas as pd
import pytest

from molfit.cli import main
from molfit.cli._common import cpu_has_bf16
from molfit.data import load
from molfit.errors import InputError
from molfit.workflows import checked_params, evaluate_run, train_run
from molfit.workflows._pipeline import extensive_metrics, fit_references


@pytest.fixture(scope="module")
def table(tmp_path_factory):
    folder = tmp_path_factory.mktemp("wf")
    ds = load("b3db-regression", validate=True)
    frame = pd.DataFrame({"SMILES": ds.smiles, "logBB": ds.y[:, 0]}).sample(n=120, random_state=1)
    frame.loc[frame.index[:15], "logBB"] = np.nan  # 15 rows without a label
    path = folder / "t.csv"
    frame.to_csv(path, index=False)
    return folder, path, frame


@pytest.fixture(scope="module")
def run(table):
    folder, path, _ = table
    return train_run(
        path,
        targets=["logBB"],
        model="extratrees",
        model_params={"n_estimators": 10},
        split="random",
        out=folder / "run",
        progress=False,
    )


def test_rows_without_label_are_counted(run):
    assert run.rows["read"] == 120 and run.rows["used"] == 105
    assert run.rows["targets"]["logBB"] == {"used": 105, "missing": 15}
    assert any("15 without one" in n for n in run.notes)
    saved = json.loads((run.run_dir / "metrics.json").read_text())
    assert saved["rows"]["targets"]["logBB"]["missing"] == 15


def test_evaluate_flags_training_overlap(run, table):
    folder, path, frame = table
    result = evaluate_run(run.run_dir, path, smiles_column="SMILES", progress=False)
    split = json.loads((run.run_dir / "split.json").read_text())
    n_fit = len(split["train"]) + len(split["valid"])
    assert result.n_overlap >= n_fit  # every fitted molecule is in the file again
    assert result.warnings and "trained" in result.warnings[0]
    assert result.metrics["logBB"]["n_overlap_training"] == result.n_overlap
    fresh = load("b3db-regression", validate=True).frame
    fresh = fresh[~fresh["smiles"].isin(frame["SMILES"])].head(30)
    other = folder / "fresh.csv"
    fresh.to_csv(other, index=False)
    clean = evaluate_run(run.run_dir, other, targets=["logBB"], progress=False)
    assert clean.n_overlap == 0 and not clean.warnings


def test_rank_other_than_zero_writes_nothing(table, monkeypatch):
    folder, path, _ = table
    monkeypatch.setenv("LOCAL_RANK", "1")
    out = folder / "rank1"
    train_run(
        path,
        targets=["logBB"],
        model_params={"n_estimators": 5},
        split="random",
        out=out,
        progress=False,
    )
    assert not out.exists()


def test_param_of_wrong_type_is_refused():
    with pytest.raises(InputError, match="n_estimators"):
        checked_params("extratrees", {"n_estimators": "abc"})


def test_extensive_metrics_subtract_references():
    comps = [{6: 1, 1: 4}, {6: 2, 1: 6}, {6: 3, 1: 8}, {8: 1, 1: 2}, {6: 1, 8: 1, 1: 4}]
    per = {1: -13.6, 6: -1030.0, 8: -2040.0}
    base = np.array([sum(per[z] * c for z, c in comp.items()) for comp in comps])
    y = base + np.array([0.1, -0.2, 0.3, 0.0, 0.1])
    refs = fit_references(comps, y)
    good = extensive_metrics(y, y + 0.01, comps, refs)
    bad = extensive_metrics(y, y + np.array([0.5, -0.5, 0.5, -0.5, 0.5]), comps, refs)
    assert good["r2_minus_references"] > bad["r2_minus_references"]
    assert good["mae_per_atom"] == pytest.approx(np.mean(0.01 / np.array([5, 8, 11, 3, 6])))


def test_bf16_flags_are_read_from_cpuinfo():
    assert cpu_has_bf16("flags\t: fpu avx512f avx512_bf16\n")
    assert not cpu_has_bf16("flags\t: fpu avx2\n")


def _cli(args, monkeypatch, capsys):
    monkeypatch.setattr("sys.argv", ["molfit", *map(str, args)])
    code = 0
    try:
        main()
    except SystemExit as exc:
        code = exc.code or 0
    out = capsys.readouterr()
    return code, out.out, out.err


def test_cli_guard_and_version(table, run, monkeypatch, capsys):
    code, out, _ = _cli(["--version"], monkeypatch, capsys)
    assert code == 0 and out.startswith("molfit ")
    folder, path, _ = table
    code, _, err = _cli(
        ["train", path, "-t", "logBB", "--param", "n_estimators=abc", "-o", folder / "x"],
        monkeypatch,
        capsys,
    )
    assert code == 2 and "n_estimators" in err and "Traceback" not in err
    broken = folder / "broken"
    broken.mkdir()
    (broken / "config.json").write_text('{"run": {"input_kind": "molecules"')  # truncated
    code, _, err = _cli(["predict", broken, path, "-o", folder / "p.csv"], monkeypatch, capsys)
    assert code == 2 and "corrupt" in err and "Traceback" not in err


def test_predict_keeps_columns_units_and_parquet(table, run, monkeypatch, capsys):
    folder = table[0]
    query = folder / "q.csv"
    pd.DataFrame({"id": ["a", "b", "c"], "SMILES": ["CCO", "C1CC", "c1ccccc1O"]}).to_csv(
        query, index=False
    )
    out = folder / "q.parquet"
    code, _, err = _cli(
        ["predict", run.run_dir, query, "-o", out, "--chunk", "2"], monkeypatch, capsys
    )
    assert code == 0, err
    got = pd.read_parquet(out)
    assert got["id"].tolist() == ["a", "b", "c"] and "prediction" in got
    assert got["error"].iloc[1] != "" and got["error"].iloc[0] == ""
    mask = os.umask(0)
    os.umask(mask)
    assert (out.stat().st_mode & 0o777) == 0o666 & ~mask  # not mkstemp's 0600
    code, _, err = _cli(
        ["predict", run.run_dir, query, "-o", folder / "q.xlsx"], monkeypatch, capsys
    )
    assert code == 2 and ".xlsx" in err
