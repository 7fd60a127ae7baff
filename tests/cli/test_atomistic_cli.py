"""``molfit sample`` and ``molfit label`` as a user runs them: frames on disk, a summary line,
bad input answered with one clear line (no traceback)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from molfit.atomistic import read_frames

pytest.importorskip("tblite")


def _molfit(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    code = "from molfit.cli import main; main()"
    return subprocess.run(
        [sys.executable, "-c", code, *args], cwd=cwd, env=env, capture_output=True, text=True
    )


def test_sample_then_label_with_another_oracle(tmp_path: Path) -> None:
    run = _molfit("sample", "CO", "--steps", "30", "--every", "10", "--temperature", "400",
                  "--out", "methanol.extxyz", cwd=tmp_path)  # fmt: skip
    assert run.returncode == 0, run.stderr
    assert "3 frames in methanol.extxyz" in run.stdout
    again = _molfit("sample", "CO", "--steps", "30", "--every", "10", "--temperature", "400",
                    "--out", "methanol.extxyz", cwd=tmp_path)  # fmt: skip
    assert "3 were already there" in again.stdout  # nothing recomputed
    lab = _molfit("label", "methanol.extxyz", "--oracle", "emt", "-o", "emt.extxyz", cwd=tmp_path)
    assert lab.returncode == 0, lab.stderr
    xtb, emt = read_frames(tmp_path / "methanol.extxyz"), read_frames(tmp_path / "emt.extxyz")
    assert len(emt) == 3
    # same geometries, other labels
    assert (xtb[1].positions == emt[1].positions).all()
    assert abs(xtb[1].get_potential_energy() - emt[1].get_potential_energy()) > 1.0


def test_bad_start_is_one_line(tmp_path: Path) -> None:
    run = _molfit("sample", "C1CC", "--out", "x.extxyz", cwd=tmp_path)
    assert run.returncode == 2
    assert run.stderr.startswith("error: ") and "Traceback" not in run.stderr
    assert "C1CC" in run.stderr
    assert not (tmp_path / "x.extxyz").exists()
