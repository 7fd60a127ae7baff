"""The three verbs from the command line: compare, suggest, learn (small FreeSolv slices)."""

from __future__ import annotations

import json

import pandas as pd
from typer.testing import CliRunner

from molfit.cli import app
from molfit.data import load


def test_compare_cli_writes_report(tmp_path) -> None:
    out = tmp_path / "cmp"
    args = [
        "compare",
        "freesolv",
        "--models",
        "extratrees,ridge",
        "--seeds",
        "2",
        "--split",
        "random,scaffold",
        "--limit",
        "150",
        "--out",
        str(out),
    ]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    assert "equally good" in result.output and "scaffold split" in result.output
    data = json.loads((out / "comparison.json").read_text())
    assert set(data["splits"]) == {"random", "scaffold"}
    assert data["splits"]["random"]["equally_good"][0] in {"extratrees", "ridge"}
    assert (out / "report.html").stat().st_size > 1000
    rows = pd.read_csv(out / "molecules.csv")
    assert set(rows["split"]) == {"random", "scaffold"}


def test_compare_cli_bad_target_is_one_error_line(tmp_path) -> None:
    from molfit.cli import main  # noqa: F401  (the guard that prints `error:`)

    result = CliRunner().invoke(
        app, ["compare", "freesolv", "--target", "nope", "--out", str(tmp_path)]
    )
    assert result.exit_code != 0
    assert "nope" in str(result.exception)


def test_suggest_and_learn_cli(tmp_path) -> None:
    run = tmp_path / "run"
    result = CliRunner().invoke(
        app, ["train", "freesolv", "--model", "extratrees", "--limit", "150", "--out", str(run)]
    )
    assert result.exit_code == 0, result.output
    pool = tmp_path / "pool.csv"
    pd.DataFrame({"smiles": load("freesolv").smiles[300:400]}).to_csv(pool, index=False)
    out = tmp_path / "s.csv"
    result = CliRunner().invoke(
        app,
        ["suggest", str(run), str(pool), "--n", "5", "--strategy", "diverse", "--out", str(out)],
    )
    assert result.exit_code == 0, result.output
    table = pd.read_csv(out)
    assert len(table) == 5 and table["why"].str.contains("novelty").all()
    assert table["std"].iloc[0] > 0
    # rows that are not molecules are left out with a warning naming them; pool_index still
    # counts the pool's rows as given
    mixed = tmp_path / "mixed.csv"
    mixed.write_text("smiles\nCCO\nnot_a_molecule\nc1ccccc1O\nCCN\n")
    mixed_out = tmp_path / "mixed_out.csv"
    result = CliRunner().invoke(
        app, ["suggest", str(run), str(mixed), "--n", "3", "--out", str(mixed_out)]
    )
    assert result.exit_code == 0, result.output
    assert "left out 1 of 4 rows" in result.output and "row 2 'not_a_molecule'" in result.output
    picked = pd.read_csv(mixed_out)
    assert sorted(picked["pool_index"]) == [0, 2, 3]
    assert dict(zip(picked.smiles, picked.pool_index, strict=True)) == {
        "CCO": 0,
        "c1ccccc1O": 2,
        "CCN": 3,
    }
    bad = tmp_path / "bad.csv"
    bad.write_text("smiles\nnot_a_molecule\nC1CC\n")
    result = CliRunner().invoke(app, ["suggest", str(run), str(bad)])
    assert result.exit_code != 0 and "no row of column 'smiles'" in str(result.exception)
    learn_out = tmp_path / "learn"
    result = CliRunner().invoke(
        app,
        [
            "learn",
            "freesolv",
            "--start",
            "20",
            "--batch",
            "5",
            "--rounds",
            "2",
            "--seeds",
            "1",
            "--strategy",
            "ucb",
            "--out",
            str(learn_out),
        ],
    )
    assert result.exit_code == 0, result.output
    campaign = json.loads((learn_out / "campaign.json").read_text())
    assert campaign["labels"] == [20, 25, 30]
    assert set(campaign["rmse"]) == {"ucb", "random"}
    assert (learn_out / "campaign.png").read_bytes()[:4] == b"\x89PNG"
