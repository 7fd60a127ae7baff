"""Shared fixtures: a tiny B3DB ExtraTrees run (trained through the CLI) and MOSES slices."""

from __future__ import annotations

import gzip
from pathlib import Path

import pytest
from typer.testing import CliRunner

from molfit.cli import app
from molfit.data import moses_file


def moses_slice(n: int, start: int = 0) -> list[str]:
    """``n`` MOSES SMILES from data row ``start`` (0-based), read from the gzipped file."""
    out: list[str] = []
    with gzip.open(moses_file(), "rt") as fh:
        next(fh)  # header
        for i, line in enumerate(fh):
            if i >= start + n:
                break
            if i >= start:
                out.append(line.strip())
    return out


@pytest.fixture(scope="session")
def run_dir(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("screen-run") / "et"
    result = CliRunner().invoke(
        app,
        [
            "train",
            "b3db",
            "--param",
            "n_estimators=20",
            "--limit",
            "300",
            "-o",
            str(out),
            "--no-progress",
        ],
    )
    assert result.exit_code == 0, result.output
    return out


@pytest.fixture(scope="session")
def solv_run(tmp_path_factory) -> Path:
    """A small FreeSolv ExtraTrees regression run (the same ECFP6 featurizer as ``run_dir``)."""
    out = tmp_path_factory.mktemp("screen-run-solv") / "solv"
    args = ["train", "freesolv", "--param", "n_estimators=20", "-o", str(out), "--no-progress"]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    return out
