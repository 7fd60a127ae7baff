"""``molfit data split`` through typer's CliRunner, on FreeSolv and a B3DB slice written to CSV."""

from __future__ import annotations

from importlib import resources

import numpy as np
import pandas as pd
import pytest
from rdkit import Chem
from rdkit.Chem.Scaffolds import MurckoScaffold
from typer.testing import CliRunner

import molfit.cli._split  # noqa: F401  (registers `molfit data split`)
from molfit.cli import app
from molfit.data.split import Split
from molfit.errors import InputError

runner = CliRunner()
# the B3DB classification table that ships inside molfit (gzipped)
B3DB_TSV = resources.files("molfit.data") / "files" / "B3DB_classification.tsv.gz"


@pytest.fixture(scope="module")
def b3db_csv(tmp_path_factory) -> tuple[str, pd.DataFrame]:
    """200 B3DB rows plus B3DB's own unparseable SMILES at data row 51, with a date column."""
    df = pd.read_csv(B3DB_TSV, sep="\t")
    sample = df.iloc[::35]
    good = sample[[Chem.MolFromSmiles(s) is not None for s in sample["SMILES"]]].head(200)
    window = df.iloc[5000:5100]  # B3DB row 5044 has a carbon with a valence RDKit rejects
    bad = window[[Chem.MolFromSmiles(s) is None for s in window["SMILES"]]].head(1)
    table = pd.concat([good.iloc[:50], bad, good.iloc[50:]], ignore_index=True)
    table = table[["SMILES", "compound_name", "BBB+/BBB-"]].rename(columns={"BBB+/BBB-": "class"})
    table["measured"] = [f"{2000 + (i * 13) % 17}-01-15" for i in range(len(table))]
    out = tmp_path_factory.mktemp("cli") / "b3db_slice.csv"
    table.to_csv(out, index=False)
    return str(out), table


def test_split_builtin_dataset_prints_sizes_and_leakage_and_writes_json(tmp_path):
    out = tmp_path / "split.json"
    result = runner.invoke(
        app, ["data", "split", "freesolv", "--method", "scaffold", "--out", str(out)]
    )
    assert result.exit_code == 0, result.output
    assert "train" in result.output and "514" in result.output
    assert "leakage: max Tanimoto similarity to train" in result.output
    split = Split.load(out)
    assert split.sizes == {"train": 514, "valid": 64, "test": 64}
    assert split.leakage["test"]["shared_scaffolds"] == 0
    assert f"{split.leakage['test']['median']:.3f}" in result.output
    assert split.params["source"] == "freesolv"


def test_split_file_indexes_file_rows_and_leaves_bad_smiles_out(b3db_csv, tmp_path):
    path, table = b3db_csv
    out = tmp_path / "t.json"
    args = ["data", "split", path, "-m", "temporal", "--time-column", "measured", "-o", str(out)]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    assert "row 51" in result.output  # the unparseable SMILES, named
    split = Split.load(out)
    assert split.n == len(table) and split.excluded.tolist() == [50]
    years = table["measured"].str[:4].astype(int).to_numpy()
    assert years[split.train].max() < years[split.valid].min()
    assert years[split.valid].max() < years[split.test].min()


def test_split_file_scaffold_and_stratified_use_file_rows(b3db_csv, tmp_path):
    path, table = b3db_csv
    out = tmp_path / "s.json"
    result = runner.invoke(app, ["data", "split", path, "--seed", "3", "-o", str(out)])
    assert result.exit_code == 0, result.output
    split = Split.load(out)
    scaffolds = {
        i: MurckoScaffold.MurckoScaffoldSmiles(table["SMILES"][i])
        for i in range(len(table))
        if i != 50
    }
    for a, b in [("train", "test"), ("train", "valid"), ("valid", "test")]:
        sa = {scaffolds[int(i)] for i in getattr(split, a)}
        sb = {scaffolds[int(i)] for i in getattr(split, b)}
        assert not sa & sb
    args = ["data", "split", path, "-m", "stratified", "--target", "class", "-o", str(out)]
    result = runner.invoke(app, [*args, "--fractions", "0.75", "0", "0.25"])
    assert result.exit_code == 0, result.output
    split = Split.load(out)
    assert split.sizes["valid"] == 0
    labels = table["class"].to_numpy()
    for cls in ("BBB+", "BBB-"):
        n_cls = int(np.sum(np.delete(labels, 50) == cls))
        assert abs(np.sum(labels[split.test] == cls) - 0.25 * n_cls) <= 1


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["freesolv", "-m", "kmeans"], "unknown split method 'kmeans'"),
        (["freesolv", "-m", "temporal"], "--time-column"),
        (["freesolv", "--fractions", "0.8", "0.3", "0.1"], "sum to 1"),
        (["no_such_set"], "unknown dataset 'no_such_set'"),
    ],
)
def test_split_cli_errors_are_input_errors(args, message):
    result = runner.invoke(app, ["data", "split", *args])
    assert result.exit_code != 0
    assert isinstance(result.exception, InputError)
    assert message in str(result.exception)


def test_split_cli_names_a_missing_column(b3db_csv):
    path, _ = b3db_csv
    result = runner.invoke(app, ["data", "split", path, "-m", "temporal", "--time-column", "year"])
    assert isinstance(result.exception, InputError)
    assert "'year': no such column" in str(result.exception)
    assert "measured" in str(result.exception)
