"""Committee-driven active sampling (``molfit sample --active``) on ethanol with real GFN2-xTB:
the selection is exactly the frames above the threshold, the oracle sees only those, retraining
lowers σ where the committee asked, and a killed run resumes to the same files."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from molfit.active import active_sample, frame_sigma, select_frames
from molfit.atomistic import evaluate, make_oracle, read_frames
from molfit.errors import InputError
from molfit.models import load_model

pytest.importorskip("tblite")

# an xTB oracle that records every structure it is asked to label (also run in a subprocess)
ORACLE_CODE = """
from tblite.ase import TBLite

class CountingXTB(TBLite):
    positions = []

    def calculate(self, atoms=None, properties=None, system_changes=None):
        CountingXTB.positions.append(atoms.positions.copy())
        super().calculate(atoms, properties, system_changes)
"""
namespace: dict = {}
exec(ORACLE_CODE, namespace)  # the same class definition the subprocess runs
CountingXTB = namespace["CountingXTB"]

THRESHOLD = 1.2  # eV/Å: between the smallest and largest σ of round 0 for these settings
SETTINGS = dict(
    rounds=1, initial=6, steps=60, every=5, replicas=2, threshold=THRESHOLD, per_round=None,
    gap=0, temperature=500.0, seed=1,
    model_options=dict(n_features=16, epochs=40, batch_size=4, patience=None),
)  # fmt: skip


def _oracle() -> CountingXTB:
    return CountingXTB(method="GFN2-xTB", verbosity=0)


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, object, list]:
    out = tmp_path_factory.mktemp("active") / "run"
    CountingXTB.positions = []
    result = active_sample("CCO", out, oracle=_oracle(), **SETTINGS)
    return out, result, list(CountingXTB.positions)


def test_selected_frames_are_exactly_those_above_the_threshold(run) -> None:
    out, result, _ = run
    rdir = out / "round_00"
    candidates = read_frames(rdir / "md.extxyz")
    # σ recomputed independently from the saved committee: per-atom std of the force vector
    model = load_model(rdir / "model")
    props = model.predict_properties(candidates, forces=True)
    sigma = np.array([s.max() for s in props["forces_std"]])
    above = set(np.flatnonzero(sigma > THRESHOLD).tolist())
    chosen = {c["candidate"] for c in json.loads((rdir / "selected.json").read_text())}
    assert 0 < len(above) < len(candidates)  # the threshold really splits the candidates
    assert chosen == above
    labelled = read_frames(rdir / "labelled.extxyz")
    assert sorted(f.info["sigma_eV_A"] for f in labelled) == pytest.approx(
        sorted(sigma[sorted(above)]), rel=1e-5
    )
    assert result.rounds[0]["n_selected"] == len(above)


def test_the_oracle_labels_only_the_initial_and_the_selected_frames(run) -> None:
    out, result, calls = run
    initial = read_frames(out / "initial.extxyz")
    labelled = read_frames(out / "round_00" / "labelled.extxyz")
    assert len(calls) == len(initial) + len(labelled) == result.n_oracle_calls
    asked = initial + labelled
    for pos, frame in zip(calls, asked, strict=True):
        np.testing.assert_allclose(pos, frame.positions, atol=1e-7)
    # the selected frames are MD frames of the committee, labelled with xTB's own numbers
    md = read_frames(out / "round_00" / "md.extxyz")
    xtb = make_oracle("xtb")
    for frame in labelled[:3]:
        same = [m for m in md if m.info["step"] == frame.info["step"]
                and m.info["replica"] == frame.info["replica"]]  # fmt: skip
        np.testing.assert_allclose(same[0].positions, frame.positions, atol=1e-7)
        xtb.reset()  # a fresh SCF, as the sampler does for every label
        fresh = evaluate(xtb, frame)
        np.testing.assert_allclose(frame.get_forces(), fresh["forces"], atol=1e-5)
    data = read_frames(out / "data.extxyz")
    assert len(data) == result.n_labels == len(asked)


def test_sigma_on_the_selected_frames_drops_after_retraining(run) -> None:
    out, _, _ = run
    selected = read_frames(out / "round_00" / "labelled.extxyz")
    before = frame_sigma(load_model(out / "round_00" / "model"), selected)
    after = frame_sigma(load_model(out / "model"), selected)
    assert after.mean() < 0.6 * before.mean()
    assert (after < before).mean() > 0.8
    summary = json.loads((out / "metrics.json").read_text())
    assert summary["sigma_previous_selected_after"] == pytest.approx(after.mean(), rel=1e-5)


def test_a_finished_run_is_not_redone_and_other_settings_are_refused(run) -> None:
    out, result, _ = run
    weights = (out / "model" / "weights.safetensors").read_bytes()
    CountingXTB.positions = []
    again = active_sample("CCO", out, oracle=_oracle(), **SETTINGS)
    assert CountingXTB.positions == []  # nothing labelled twice
    assert again.n_labels == result.n_labels and again.n_oracle_calls == result.n_oracle_calls
    assert (out / "model" / "weights.safetensors").read_bytes() == weights
    with pytest.raises(InputError, match=r"other settings.*threshold"):
        active_sample("CCO", out, oracle=_oracle(), **{**SETTINGS, "threshold": 0.9})


def test_select_frames_takes_the_highest_and_skips_neighbours_in_time() -> None:
    sigma = np.array([0.1, 0.9, 0.8, 0.2, 0.7, 0.95])
    replica = np.array([0, 0, 0, 0, 1, 1])
    index = np.array([1, 2, 3, 4, 1, 2])
    assert select_frames(sigma, replica, index, threshold=0.5, per_round=None) == [5, 1, 2, 4]
    # frames 2 and 3 of replica 0 are neighbours: one of them; replica 1 likewise
    assert select_frames(sigma, replica, index, threshold=0.5, per_round=None, gap=1) == [5, 1]
    assert select_frames(sigma, replica, index, threshold=None, per_round=2) == [5, 1]
    assert select_frames(sigma, replica, index, threshold=0.96, per_round=None) == []
    with pytest.raises(InputError, match="threshold"):
        select_frames(sigma, replica, index, threshold=None, per_round=None)


def _cli(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    code = "from molfit.cli import main; main()"
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    return subprocess.run([sys.executable, "-c", code, *args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=120)  # fmt: skip


def test_bad_inputs_give_one_clear_message(tmp_path: Path) -> None:
    (tmp_path / "broken.xyz").write_text("not a structure\n")
    cases = [
        (["CCO", "--oracle", "qmc"], "unknown oracle 'qmc'"),
        (["broken.xyz"], "broken.xyz: cannot read a structure"),
    ]
    for args, message in cases:  # the command line: one error line, exit code 2
        done = _cli("sample", *args, "--active", "--out", "run", cwd=tmp_path)
        assert done.returncode == 2, done.stderr
        lines = [line for line in done.stderr.splitlines() if line.strip()]
        assert len(lines) == 1 and lines[0].startswith("error: ") and message in lines[0]
    api = [
        (dict(start=tmp_path / "missing.xyz"), "missing.xyz: no such file"),
        (dict(committee=1), "--committee must be at least 2"),
        (dict(model="nosuch"), "unknown model 'nosuch'"),
        (dict(threshold=None, per_round=None), "--threshold, a --per-round"),
    ]
    for change, message in api:
        kw = {**SETTINGS, "start": "CCO", **change}
        with pytest.raises(InputError, match=re.escape(message)):
            active_sample(kw.pop("start"), tmp_path / "run", **kw)
    assert not (tmp_path / "run").exists()  # refused before anything was written


def _settings_code(out: Path) -> str:
    return (
        ORACLE_CODE
        + "\nfrom molfit.active import active_sample\n"
        + f"active_sample('CCO', {str(out)!r}, oracle=CountingXTB(method='GFN2-xTB', "
        + f"verbosity=0), **{SETTINGS!r})\n"
    )


@pytest.mark.slow
def test_a_killed_run_resumes_to_the_same_files(run, tmp_path: Path) -> None:
    whole = run[0]
    out = tmp_path / "killed"
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    proc = subprocess.Popen([sys.executable, "-c", _settings_code(out)], env=env)
    labelled = out / "round_00" / "labelled.extxyz"
    deadline = time.time() + 300
    # kill -9 while the selected frames are being labelled (or the final committee trained)
    while time.time() < deadline and not (labelled.exists() and labelled.stat().st_size > 0):
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert not (out / "metrics.json").exists()  # it really was interrupted
    CountingXTB.positions = []
    result = active_sample("CCO", out, oracle=_oracle(), **SETTINGS)
    n_before = len(read_frames(whole / "initial.extxyz")) + result.rounds[0]["n_selected"]
    assert len(CountingXTB.positions) < n_before  # what was labelled before the kill stays
    for name in ("initial.extxyz", "data.extxyz", "round_00/selected.json",
                 "round_00/md.extxyz", "round_00/model/weights.safetensors",
                 "model/weights.safetensors"):  # fmt: skip
        assert (out / name).read_bytes() == (whole / name).read_bytes(), name
