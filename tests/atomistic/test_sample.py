"""Oracle labels and oracle-driven sampling: real GFN2-xTB, DFT and EMT numbers, frames written
as they come, and runs that resume after ``kill -9``."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from molfit.atomistic import (
    FrameWriter,
    evaluate,
    label,
    make_oracle,
    read_frames,
    repair,
    sample,
)
from molfit.errors import InputError

pytest.importorskip("tblite")


def test_sampled_frames_carry_the_oracles_own_labels(tmp_path: Path) -> None:
    out = tmp_path / "ethanol.extxyz"
    result = sample("CCO", out, temperature=500, steps=40, every=10, seed=3, progress=False)
    assert result.n_frames == 4 and not result.stopped
    frames = read_frames(out)
    assert [f.info["step"] for f in frames] == [10, 20, 30, 40]
    xtb = make_oracle("xtb")
    for frame in frames:
        fresh = evaluate(xtb, frame)  # the stored label is the oracle's at those positions
        assert frame.get_potential_energy() == pytest.approx(fresh["energy"], abs=1e-5)
        # xTB restarts its SCF from the previous step in MD: forces agree to its convergence
        np.testing.assert_allclose(frame.get_forces(), fresh["forces"], atol=5e-4)
        assert frame.get_momenta().shape == (9, 3)
    # the atoms move: a trajectory, not four copies of the start
    assert np.abs(frames[0].positions - frames[-1].positions).max() > 0.01


def test_repair_cuts_a_half_written_frame(tmp_path: Path) -> None:
    out = tmp_path / "t.extxyz"
    sample("O", out, temperature=300, steps=20, every=10, progress=False)
    good = out.read_bytes()
    out.write_bytes(good + b"3\nenergy=-1.0 Properties=species:S:1:pos:R:3\nO 0.0 0.0 ")
    assert repair(out) == 2
    assert out.read_bytes() == good


def _run_sample(out: Path, steps: int) -> subprocess.Popen:
    code = (
        "from molfit.atomistic import sample; "
        f"sample('CCO', {str(out)!r}, temperature=500, steps={steps}, every=5, seed=1, "
        "progress=False)"
    )
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    return subprocess.Popen([sys.executable, "-c", code], env=env)


def test_sample_resumes_after_kill_9(tmp_path: Path) -> None:
    killed = tmp_path / "killed.extxyz"
    proc = _run_sample(killed, steps=400)
    deadline = time.time() + 60
    while time.time() < deadline and (not killed.exists() or repair_count(killed) < 3):
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    before = repair(killed)
    assert 3 <= before < 80
    kept = killed.read_bytes()
    result = sample("CCO", killed, temperature=500, steps=400, every=5, seed=1, progress=False)
    assert result.n_resumed == before and result.n_frames == 80
    assert killed.read_bytes().startswith(kept)  # nothing written before the kill is lost
    frames = read_frames(killed)
    assert [f.info["step"] for f in frames] == list(range(5, 405, 5))


def repair_count(path: Path) -> int:
    try:
        return repair(path)
    except InputError:
        return 0


def test_resume_with_other_settings_is_refused(tmp_path: Path) -> None:
    out = tmp_path / "t.extxyz"
    sample("O", out, temperature=300, steps=10, every=5, progress=False)
    with pytest.raises(InputError, match="another run"):
        sample("O", out, temperature=800, steps=20, every=5, progress=False)


def test_label_periodic_cell_with_emt_gives_stress_and_reports_bad_frames(tmp_path: Path) -> None:
    from ase.build import bulk
    from ase.io import write

    cu = bulk("Cu", "fcc", a=3.6, cubic=True)
    strained = cu.copy()
    strained.set_cell(cu.cell * 1.02, scale_atoms=True)
    silicon = bulk("Si", "diamond", a=5.43)
    source = tmp_path / "cells.extxyz"
    write(source, [cu, silicon, strained])
    result = label(source, tmp_path / "labelled.extxyz", oracle="emt", progress=False)
    assert result.n_frames == 2
    assert [i.row for i in result.issues] == [2] and "Si" in result.issues[0].reason
    frames = read_frames(tmp_path / "labelled.extxyz")
    assert [f.info["source_frame"] for f in frames] == [1, 3]
    stress = frames[1].get_stress(voigt=False)
    assert stress.shape == (3, 3)
    # the stored stress is the strain derivative of the energy: tr(σ) V = dE/dε (isotropic ε)
    emt, eps = make_oracle("emt"), 1e-4
    energies = []
    for sign in (1, -1):
        cell = strained.copy()
        cell.set_cell(strained.cell * (1 + sign * eps), scale_atoms=True)
        energies.append(evaluate(emt, cell)["energy"])
    numeric = (energies[0] - energies[1]) / (2 * eps) / strained.get_volume()
    assert np.trace(stress) == pytest.approx(numeric, rel=1e-4)
    assert (np.diag(stress) > 0).all()  # stretched past its lattice constant: it pulls back


def test_label_resumes_after_the_last_labelled_frame(tmp_path: Path) -> None:
    from ase.build import molecule
    from ase.io import write

    source = tmp_path / "mols.extxyz"
    write(source, [molecule("H2O"), molecule("NH3"), molecule("CH4")])
    out = tmp_path / "out.extxyz"
    first = read_frames(source)[0]
    with FrameWriter(out) as writer:
        writer.write(first, evaluate(make_oracle("xtb"), first), {"source_frame": 1})
    result = label(source, out, oracle="xtb", progress=False)
    assert result.n_resumed == 1 and result.n_frames == 3
    assert [f.info["source_frame"] for f in read_frames(out)] == [1, 2, 3]


def test_dft_forces_are_minus_the_energy_gradient() -> None:
    pytest.importorskip("pyscf")
    from ase import Atoms

    h2 = Atoms("H2", positions=[[0, 0, 0], [0, 0, 0.78]])
    dft = make_oracle("dft")
    forces = evaluate(dft, h2)["forces"]
    h = 1e-3
    plus, minus = h2.copy(), h2.copy()
    plus.positions[1, 2] += h
    minus.positions[1, 2] -= h
    numeric = -(evaluate(dft, plus)["energy"] - evaluate(dft, minus)["energy"]) / (2 * h)
    assert forces[1, 2] == pytest.approx(numeric, rel=1e-3, abs=1e-4)
    assert forces[0, 2] == pytest.approx(-forces[1, 2], abs=1e-5)


def test_unknown_oracle_and_broken_start_are_clear_errors(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="unknown oracle 'vasp'"):
        make_oracle("vasp")
    with pytest.raises(InputError, match="SMILES"):
        sample("C1CC", tmp_path / "x.extxyz", steps=5, every=5, progress=False)
    with pytest.raises(InputError, match="no such file"):
        sample("missing/start.xyz", tmp_path / "x.extxyz", steps=5, every=5, progress=False)
