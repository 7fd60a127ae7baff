"""Shipped model names on the command line: `molfit models list/show`, and a name wherever a run
directory goes (`molfit predict qm9-u0 CCO`), an existing directory winning over a name."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from molfit.zoo import model_card, pretrained

SHIPPED = ["b3db", "ethanol-xtb", "freesolv-gp", "qm9-gap", "qm9-u0"]


def _molfit(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    code = "from molfit.cli import main; main()"
    return subprocess.run(
        [sys.executable, "-c", code, *args], cwd=cwd, env=env, capture_output=True, text=True
    )


def test_models_list_has_classes_and_pretrained_sections(tmp_path: Path) -> None:
    run = _molfit("models", "list", cwd=tmp_path)
    assert run.returncode == 0, run.stderr
    classes, shipped = run.stdout.split("\n\n", 1)
    assert classes.startswith("model classes") and "  schnet\n" in classes + "\n"
    assert shipped.startswith("pretrained models")
    for name in SHIPPED:
        line = next(x for x in shipped.splitlines() if x.strip().startswith(name + " "))
        card = model_card(name)
        assert card.task in line and card.headline in line
        assert line.endswith(("MB", "kB"))
    bare = _molfit("models", "list", "--classes", cwd=tmp_path).stdout.split()
    assert "schnet" in bare and "qm9-u0" not in bare
    only = _molfit("models", "list", "--pretrained", cwd=tmp_path).stdout
    assert "qm9-u0" in only and "model classes" not in only


def test_models_show_prints_the_card(tmp_path: Path) -> None:
    run = _molfit("models", "show", "ethanol-xtb", cwd=tmp_path)
    assert run.returncode == 0, run.stderr
    card = model_card("ethanol-xtb")
    assert card.headline in run.stdout and card.split in run.stdout
    assert "reproduce: " + card.script in run.stdout


def test_predict_qm9_u0_from_a_smiles(tmp_path: Path) -> None:
    run = _molfit("predict", "qm9-u0", "CCO", "--out", "u0.csv", "--no-progress", cwd=tmp_path)
    assert run.returncode == 0, run.stderr
    assert "predicted 1 of 1 rows" in run.stdout and "prediction [eV]" in run.stdout
    row = pd.read_csv(tmp_path / "u0.csv").iloc[0]
    assert row["smiles"] == "CCO" and "ETKDG" in row["geometry"]
    # QM9's ethanol (gdb 14): U0 = -4217.023 eV; the model's test MAE is a fraction of an eV,
    # and a conformer in place of the B3LYP geometry adds a little
    assert abs(row["prediction [eV]"] - (-4217.023)) < 1.0


def test_evaluate_and_screen_take_a_name(tmp_path: Path) -> None:
    rows = pd.read_csv(pretrained("freesolv-gp") / "test_predictions.csv").iloc[:20]
    rows[["smiles", "measured [eV]"]].rename(columns={"measured [eV]": "dG_hydration"}).to_csv(
        tmp_path / "some.csv", index=False
    )
    run = _molfit("evaluate", "freesolv-gp", "some.csv", cwd=tmp_path)
    assert run.returncode == 0, run.stderr
    assert "dG_hydration" in run.stdout
    (tmp_path / "lib.smi").write_text("CCO\nc1ccccc1\nCC(=O)Nc1ccc(O)cc1\n")
    run = _molfit("screen", "b3db", "lib.smi", "--out", "hits", "--no-progress", cwd=tmp_path)
    assert run.returncode == 0, run.stderr
    assert "screened 3 rows, 3 predicted" in run.stdout


def test_md_with_the_shipped_potential(tmp_path: Path) -> None:
    run = _molfit("md", "ethanol-xtb", "CCO", "--out", "md.extxyz", "--steps", "20",
                  "--every", "10", cwd=tmp_path)  # fmt: skip
    assert run.returncode == 0, run.stderr
    assert "2 frames in md.extxyz" in run.stdout


def test_an_existing_directory_wins_over_a_name(tmp_path: Path) -> None:
    # a local folder called b3db holding the FreeSolv regressor: the folder is used
    shutil.copytree(pretrained("freesolv-gp"), tmp_path / "b3db")
    run = _molfit("predict", "b3db", "CCO", "-o", "p.csv", "--no-progress", cwd=tmp_path)
    assert run.returncode == 0, run.stderr
    assert "prediction [eV]" in pd.read_csv(tmp_path / "p.csv").columns


@pytest.mark.parametrize("verb", [["predict", "qm9-u1", "CCO"], ["md", "qm9-u1", "CCO", "-o", "x"]])
def test_an_unknown_name_is_one_clear_line(tmp_path: Path, verb: list[str]) -> None:
    run = _molfit(*verb, cwd=tmp_path)
    assert run.returncode == 2
    assert run.stderr.startswith("error: qm9-u1: no such run directory, nor a shipped")
    assert "Traceback" not in run.stderr and len(run.stderr.strip().splitlines()) == 1
    assert all(name in run.stderr for name in SHIPPED)
