"""`molfit data list|show|check` through typer's test runner and the real entry point."""

from __future__ import annotations

import sys

import pytest
from typer.testing import CliRunner

from molfit.cli import app, main

runner = CliRunner()


def test_data_list_shows_sizes_and_units():
    result = runner.invoke(app, ["data", "list"])
    assert result.exit_code == 0, result.output
    assert "b3db" in result.output and "7,807" in result.output
    assert "130,831" in result.output and "dG_hydration [eV]" in result.output


def test_data_show_b3db():
    result = runner.invoke(app, ["data", "show", "b3db", "--rows", "3"])
    assert result.exit_code == 0, result.output
    assert "CC0" in result.output and "7,807 molecules" in result.output
    assert "sulphasalazine" in result.output  # first row of the table
    assert "positive_fraction" in result.output


def test_data_check_reports_bad_rows(tmp_path):
    path = tmp_path / "mols.csv"
    path.write_text("smiles,y\nCCO,1.0\nC1CC,2.0\nCCN,x\n")
    result = runner.invoke(app, ["data", "check", str(path)])
    assert result.exit_code == 1
    assert "1 of 3 rows ok" in result.output
    assert "mols.csv row 2" in result.output and "unclosed ring" in result.output
    assert "row 3 field 'y'" in result.output


def test_errors_exit_2_without_traceback(tmp_path, monkeypatch, capsys):
    path = tmp_path / "mols.csv"
    path.write_text("smiles,y\nCCO,1.0\nC1CC,2.0\n")
    monkeypatch.setattr(sys, "argv", ["molfit", "data", "check", str(path), "--strict"])
    with pytest.raises(SystemExit) as exit_info:
        main()
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and "row 2" in err and "Traceback" not in err
    monkeypatch.setattr(sys, "argv", ["molfit", "data", "check", str(path), "--target", "pKa"])
    with pytest.raises(SystemExit):
        main()
    assert "'pKa' not found; available columns: smiles, y" in capsys.readouterr().err
