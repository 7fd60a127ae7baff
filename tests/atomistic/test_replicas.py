"""Batched dynamics (``--replicas``): the same physics as one replica at a time, energy kept in
NVE, thermostatted Langevin, resumable after a kill, clear refusals."""

from __future__ import annotations

import numpy as np
import pytest

from molfit.atomistic import Calculator, read_frames, run_md, run_replicas
from molfit.errors import InputError

pytest.importorskip("tblite")


def _replica(frames: list, r: int) -> list:
    return [f for f in frames if int(f.info["replica"]) == r]


def test_a_replica_in_a_batch_follows_the_single_trajectory(potentials, ethanol, tmp_path) -> None:
    calc = Calculator(potentials["equivariant"], dtype="float64")
    start = ethanol[-1].copy()  # carries the sampler's momenta
    run_md(start, calc, tmp_path / "one.extxyz", steps=60, every=10, progress=False)
    result = run_replicas([start], Calculator(potentials["equivariant"], dtype="float64"),
                          tmp_path / "many.extxyz", n_replicas=3, steps=60, every=10,
                          progress=False)  # fmt: skip
    assert result.n_frames == 6 and not result.stopped
    single = read_frames(tmp_path / "one.extxyz")
    batched = read_frames(tmp_path / "many.extxyz")
    assert len(batched) == 18
    for a, b in zip(single, _replica(batched, 0), strict=True):
        np.testing.assert_allclose(b.positions, a.positions, atol=1e-7)
        assert b.get_potential_energy() == pytest.approx(a.get_potential_energy(), abs=1e-7)
    # the other replicas drew their own velocities: they go elsewhere
    other = _replica(batched, 1)[-1].positions
    assert np.abs(other - single[-1].positions).max() > 1e-3
    assert result.atom_steps_per_second == pytest.approx(result.steps_per_second * 3 * 9)


def test_replicas_conserve_energy_in_nve(potentials, ethanol, tmp_path) -> None:
    calc = Calculator(potentials["equivariant"], dtype="float64")
    result = run_replicas(ethanol[-1], calc, tmp_path / "nve.extxyz", n_replicas=4, dt=0.25,
                          steps=200, every=10, temperature=300, progress=False)  # fmt: skip
    assert not result.stopped and len(result.max_energy_change) == 4
    assert max(result.max_energy_change) < 1.0  # meV/atom over 50 fs
    e_kin = [f.info["e_kin"] for f in read_frames(tmp_path / "nve.extxyz")]
    assert np.std(e_kin) > 1e-3


def test_langevin_replicas_resume_exactly_after_a_kill(potentials, ethanol, tmp_path) -> None:
    kw = dict(n_replicas=2, ensemble="langevin", temperature=400, steps=80, every=10,
              seed=3, progress=False)  # fmt: skip
    whole = tmp_path / "whole.extxyz"
    run_replicas(ethanol[0], Calculator(potentials["painn"]), whole, **kw)
    part = tmp_path / "part.extxyz"
    run_replicas(ethanol[0], Calculator(potentials["painn"]), part, **{**kw, "steps": 40})
    # a kill while writing: one replica's frame of the next group made it, half of another
    text = whole.read_text().split("\n")
    n_lines = 9 + 2
    extra = "\n".join(text[8 * n_lines : 9 * n_lines] + text[9 * n_lines : 9 * n_lines + 4])
    with open(part, "a") as fh:
        fh.write(extra)
    resumed = run_replicas(ethanol[0], Calculator(potentials["painn"]), part, **kw)
    assert resumed.n_resumed == 4 and resumed.n_frames == 8
    a, b = read_frames(whole), read_frames(part)
    assert len(a) == len(b) == 16
    for x, y in zip(a, b, strict=True):
        assert x.info["replica"] == y.info["replica"]
        np.testing.assert_allclose(y.positions, x.positions, atol=1e-6)
    temps = [f.info["T_inst_K"] for f in a]
    assert 100 < np.mean(temps) < 1000


def test_replicas_refuse_what_they_cannot_do(potentials, ethanol, tmp_path) -> None:
    calc = Calculator(potentials["equivariant"])
    with pytest.raises(InputError, match="nose-hoover"):
        run_replicas(ethanol[0], calc, tmp_path / "x.extxyz", n_replicas=2,
                     ensemble="nose-hoover")  # fmt: skip
    from ase import Atoms

    with pytest.raises(InputError, match="frame 2 has other atoms"):
        run_replicas([ethanol[0], Atoms("CO", positions=[[0, 0, 0], [0, 0, 1.2]])], calc,
                     tmp_path / "y.extxyz", n_replicas=2)  # fmt: skip
    run_replicas(ethanol[0], calc, tmp_path / "z.extxyz", n_replicas=2, steps=10, every=10,
                 progress=False)  # fmt: skip
    with pytest.raises(InputError, match="another run"):
        run_replicas(ethanol[0], calc, tmp_path / "z.extxyz", n_replicas=3, steps=20,
                     every=10, progress=False)  # fmt: skip
    assert not (tmp_path / "x.extxyz").exists()


def test_md_verb_with_replicas(potentials, tmp_path) -> None:
    import os
    import subprocess
    import sys

    from molfit.models import save_model

    save_model(potentials["equivariant"], tmp_path / "run" / "model")
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    args = ["md", "run", "CCO", "-o", "rep.extxyz", "--steps", "20", "--every", "10",
            "--replicas", "3", "--ensemble", "langevin", "-T", "300"]  # fmt: skip
    code = "from molfit.cli import main; main()"
    done = subprocess.run([sys.executable, "-c", code, *args], cwd=tmp_path, env=env,
                          capture_output=True, text=True)  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "2 frames x 3 replicas" in done.stdout and "atom-steps/s" in done.stdout
    frames = read_frames(tmp_path / "rep.extxyz")
    assert sorted(int(f.info["replica"]) for f in frames) == [0, 0, 1, 1, 2, 2]
