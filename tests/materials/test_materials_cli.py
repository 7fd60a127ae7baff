"""The crystal workflow as a user runs it: build, perturb, label with EMT (stress included),
train a potential on energy, forces and stress, then properties beside EMT's, a cell relaxation
written as CIF and NPT MD; bad crystals answered with one line."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from molfit.atomistic import read_frames
from molfit.materials import read_crystal


def _molfit(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    code = "from molfit.cli import main; main()"
    return subprocess.run(
        [sys.executable, "-c", code, *args], cwd=cwd, env=env, capture_output=True, text=True
    )


def _ok(run: subprocess.CompletedProcess) -> str:
    assert run.returncode == 0, run.stderr
    return run.stdout


@pytest.fixture(scope="module")
def labelled(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("crystal")
    _ok(_molfit("build", "Cu", "--cubic", "--a", "3.6", "--repeat", "2", "-o", "cu.cif", cwd=tmp))
    _ok(
        _molfit(
            "perturb",
            "cu.cif",
            "-o",
            "cells.extxyz",
            "--strained",
            "12",
            "--rattled",
            "12",
            "--vacancies",
            "4",
            cwd=tmp,
        )
    )
    _ok(_molfit("label", "cells.extxyz", "--oracle", "emt", "-o", "emt.extxyz", cwd=tmp))
    return tmp


@pytest.fixture(scope="module")
def workflow(labelled):
    params = [
        "--param",
        "n_features=16",
        "--param",
        "n_interactions=2",
        "--param",
        "cutoff=4.5",
        "--param",
        "stress_weight=100",
        "--param",
        "epochs=6",
        "--param",
        "batch_size=8",
    ]
    train = _molfit(
        "train", "emt.extxyz", "--model", "schnet", *params, "--out", "run", cwd=labelled
    )
    return labelled, train


def test_build_perturb_label_give_crystals_with_stress(labelled):
    tmp = labelled
    cu = read_crystal(tmp / "cu.cif")
    assert len(cu) == 32 and cu.cell.lengths() == pytest.approx([7.2] * 3)
    frames = read_frames(tmp / "emt.extxyz")
    assert len(frames) == 28 and {len(f) for f in frames} == {31, 32}
    assert all(f.get_stress().shape == (6,) for f in frames)
    assert all(f.pbc.all() for f in frames)


def test_properties_of_an_oracle_by_name(labelled):
    out = _ok(_molfit("properties", "emt", "cu.cif", "--which", "eos", cwd=labelled))
    line = next(x for x in out.splitlines() if x.startswith("a0 "))
    assert float(line.split()[-1]) == pytest.approx(3.59, abs=0.005)
    assert "C11" not in out


@pytest.mark.slow
def test_train_on_periodic_cells_then_properties_beside_emt(workflow):
    tmp, train = workflow
    _ok(train)
    config = json.loads((tmp / "run" / "model" / "config.json").read_text())
    assert "uses_stress" in json.dumps(config)
    out = _ok(
        _molfit(
            "properties",
            "run",
            "cu.cif",
            "--oracle",
            "emt",
            "--which",
            "eos,elastic",
            "-o",
            "props.json",
            cwd=tmp,
        )
    )
    assert "C44" in out and "emt" in out
    props = json.loads((tmp / "props.json").read_text())
    assert props["oracle"]["a0"] == pytest.approx(3.59, abs=0.005)
    assert {r["property"] for r in props["comparison"]} >= {"a0", "B", "C11", "C12", "C44"}


@pytest.mark.slow
def test_relax_cell_writes_a_cif_and_npt_runs(workflow):
    tmp, train = workflow
    _ok(train)
    _ok(_molfit("build", "Cu", "--cubic", "--a", "3.7", "-o", "big.cif", cwd=tmp))
    run = _molfit(
        "relax", "run", "big.cif", "--cell", "--out", "relaxed.cif", "--fmax", "0.05", cwd=tmp
    )
    assert "written to relaxed.cif" in run.stdout, run.stderr
    relaxed = read_crystal(tmp / "relaxed.cif")
    assert relaxed.get_volume() != pytest.approx(3.7**3, rel=1e-3)  # the cell moved
    md = _molfit(
        "md",
        "run",
        "cu.cif",
        "--ensemble",
        "npt",
        "--steps",
        "20",
        "--every",
        "10",
        "--dt",
        "2",
        "-o",
        "npt.extxyz",
        cwd=tmp,
    )
    assert md.returncode in (0, 1), md.stderr  # 1: stopped early, still a clean message
    frames = read_frames(tmp / "npt.extxyz")
    assert frames and "volume_A3" in frames[0].info


def test_bad_crystals_are_one_line(tmp_path: Path):
    (tmp_path / "bad.cif").write_text("data_x\nloop_\n_atom_site_label\nnonsense here\n")
    run = _molfit("properties", "emt", "bad.cif", cwd=tmp_path)
    assert run.returncode == 2 and run.stderr.startswith("error: ") and "bad.cif" in run.stderr
    assert "Traceback" not in run.stderr
    (tmp_path / "POSCAR").write_text(
        "flat\n1.0\n3.6 0 0\n0 3.6 0\n7.2 3.6 0\nCu\n1\nDirect\n0 0 0\n"
    )
    run = _molfit("perturb", "POSCAR", "-o", "x.extxyz", cwd=tmp_path)
    assert run.returncode == 2 and "zero volume" in run.stderr
    assert not (tmp_path / "x.extxyz").exists()
    run = _molfit("build", "Cu", "--structure", "fcx", "-o", "x.cif", cwd=tmp_path)
    assert run.returncode == 2 and "unknown crystal structure" in run.stderr


def test_emt_refuses_an_element_and_label_goes_on(tmp_path: Path):
    from ase.io import write

    from molfit.materials import bulk

    write(tmp_path / "mixed.extxyz", [bulk("Cu", cubic=True), bulk("Fe", cubic=True)])
    run = _molfit("label", "mixed.extxyz", "--oracle", "emt", "-o", "out.extxyz", cwd=tmp_path)
    assert run.returncode == 0 and "EMT has no parameters for Fe" in run.stderr
    assert len(read_frames(tmp_path / "out.extxyz")) == 1
