"""The science slides' computations and endpoints, without a browser: MD sessions, oracle
timing, symmetries, 3D properties, shift, and bad input answered as one-line JSON messages."""

from __future__ import annotations

import json
import threading
import urllib.error
import urllib.request

import numpy as np
import pytest

from molfit.primer import create_server
from molfit.primer._potential import MAX_STEPS, MDSessions, molecule_atoms, point
from molfit.primer._symmetry import rotation_matrix, symmetry_view


@pytest.fixture(scope="module")
def server(zoo_models, primer_cache):
    srv = create_server(0, model=False, cache=primer_cache, models=zoo_models)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    srv.science.slots["toy"].get()  # the potential and the toy model are ready
    yield srv
    srv.shutdown()
    srv.server_close()


def call(server, path, body=None):
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(server.url.rstrip("/") + path, data=data)
    try:
        with urllib.request.urlopen(req, timeout=120) as res:
            return res.status, json.loads(res.read())
    except urllib.error.HTTPError as err:
        return err.code, json.loads(err.read())


def test_md_chunks_carry_consistent_energies_and_per_atom_sigma(server):
    status, start = call(server, "/api/md/start", {"temperature": 300, "seed": 0})
    assert status == 200, start
    assert start["symbols"].count("C") == 2 and len(start["symbols"]) == 9
    assert len(start["bonds"]) == 8  # ethanol: 2 C–C/C–O heavy bonds + 6 X–H
    status, out = call(server, "/api/md/step", {"session": start["session"], "steps": 5})
    assert status == 200, out
    frames = out["frames"]
    assert [f["step"] for f in frames] == [1, 2, 3, 4, 5]
    for f in frames:
        assert f["e_tot"] == pytest.approx(f["e_kin"] + f["e_pot"], abs=1e-12)
        assert len(f["sigma"]) == 9 and min(f["sigma"]) >= 0.0
    pot = server.science.slots["potential"].get()
    atoms = pot["atoms"].copy()
    atoms.positions = np.array(frames[-1]["positions"])
    ref = point(pot["calculator"], atoms)
    assert frames[-1]["e_pot"] == pytest.approx(ref["energy"], rel=1e-6)
    np.testing.assert_allclose(frames[-1]["sigma"], ref["sigma"], atol=1e-5)
    assert frames[-1]["positions"] != frames[0]["positions"]  # it moves


def test_md_sessions_are_bounded_and_seeded(server):
    pot = server.science.slots["potential"].get()
    sessions = MDSessions(max_sessions=2)
    ids = [sessions.start(pot["model"], pot["atoms"], 300.0, seed=1) for _ in range(3)]
    assert len(sessions) == 2
    with pytest.raises(Exception, match="expired"):
        sessions.get(ids[0])
    a = sessions.get(ids[1]).advance(3)
    b = sessions.get(ids[2]).advance(3)
    assert a[-1]["positions"] == b[-1]["positions"]  # same seed, same trajectory
    hot = sessions.get(ids[1]).advance(1, temperature=900.0)
    assert sessions.get(ids[1]).temperature == 900.0 and hot[0]["step"] == 4


def test_bad_input_is_a_message_never_a_stack_trace(server):
    status, out = call(server, "/api/md/start", {"smiles": "CCS", "temperature": 300})
    assert status == 400 and "S never occur" in out["error"]
    status, out = call(server, "/api/md/start", {"smiles": "C1CC(", "temperature": 300})
    assert status == 400 and "cannot parse SMILES" in out["error"]
    status, out = call(server, "/api/md/start", {"temperature": 5000})
    assert status == 400 and "temperature" in out["error"]
    status, start = call(server, "/api/md/start", {"temperature": 300})
    status, out = call(server, "/api/md/step", {"session": start["session"], "steps": 10**6})
    assert status == 400 and str(MAX_STEPS) in out["error"]
    status, out = call(server, "/api/md/step", {"session": "nope", "steps": 1})
    assert status == 400 and "expired" in out["error"]
    status, out = call(server, "/api/props3d?smiles=C1CC(")
    assert status == 400 and "cannot parse SMILES" in out["error"]
    status, out = call(server, "/api/shift?smiles=")
    assert status == 400 and "SMILES" in out["error"]
    status, out = call(server, "/api/symmetry", {"yaw": "left"})
    assert status == 400 and "yaw" in out["error"]
    status, out = call(server, "/api/md/timing", {"oracle": "magic"})
    assert status == 400 and "oracle" in out["error"]
    for payload in (out,):
        assert "Traceback" not in json.dumps(payload)


def test_oracle_timing_is_measured_or_says_what_is_missing(server):
    status, out = call(server, "/api/md/timing", {"oracle": "xtb"})
    try:
        import tblite  # noqa: F401
    except ImportError:
        assert status == 400 and "pip install tblite" in out["error"]
        return
    assert status == 200, out
    assert out["oracle_ms"] > 0 and out["potential_ms"] > 0
    assert out["ratio"] == pytest.approx(out["oracle_ms"] / out["potential_ms"])
    assert out["n_atoms"] == 9


def test_symmetry_potential_invariant_toy_not(server):
    pot = server.science.slots["potential"].get()
    toy = server.science.slots["toy"].get()
    calc, atoms = pot["calculator"], pot["atoms"]
    view = symmetry_view(calc, toy, atoms, yaw=90.0, pitch=30.0, roll=-45.0, shuffle=3)
    assert abs(view["potential_delta"]) < 1e-3  # eV: float32 round-off only
    assert view["forces_rotated_error"] < 1e-3  # eV/Å: forces turn with the molecule
    assert abs(view["toy_delta"]) > 10 * abs(view["potential_delta"]) + 0.01
    assert sorted(view["permutation"]) == list(range(9)) and view["permutation"] != list(range(9))
    assert toy.train_rmse < 0.05  # on what it saw, the toy is fine
    rotated = (atoms.positions - atoms.positions.mean(0)) @ rotation_matrix(90, 30, -45).T
    moved = np.array(view["positions"])
    np.testing.assert_allclose(moved - moved.mean(0), rotated[view["permutation"]], atol=1e-9)
    status, out = call(server, "/api/symmetry", {"yaw": 90, "pitch": 30, "roll": -45, "shuffle": 3})
    assert status == 200
    assert out["potential"]["energy"] == pytest.approx(view["potential"]["energy"], rel=1e-9)
    assert out["toy"]["energy"] == pytest.approx(view["toy"]["energy"], rel=1e-12)


def test_properties3d_predicts_from_the_drawn_geometry(server):
    from molfit.primer._properties3d import predict_properties

    status, out = call(server, "/api/props3d?smiles=OCC1=CC=CO1")
    assert status == 200, out
    assert out["geometry"].startswith("ETKDGv3") and len(out["positions"]) == 13
    models = server.science.slots["qm9"].get()
    ref = predict_properties(models, "OCC1=CC=CO1")
    for got, want in zip(out["predictions"], ref["predictions"], strict=True):
        assert got["mean"] == pytest.approx(want["mean"], rel=1e-9)
        assert got["unit"] == "eV"
    status, out = call(server, "/api/props3d?smiles=CCCl")
    assert status == 200
    assert any("Cl" in w for w in out["warnings"])
    assert all(p["error"] for p in out["predictions"])  # QM9 models never saw chlorine
    assert molecule_atoms("CCO").get_chemical_formula() == "C2H6O"


def test_shift_sigma_and_domain_flag_grow_on_an_organometallic(server):
    status, organic = call(server, "/api/shift?smiles=CCCCCC(C)O")
    status2, ferrocene = call(server, "/api/shift?smiles=[Fe%2B2].c1cc[cH-]c1.c1cc[cH-]c1")
    assert status == status2 == 200, ferrocene
    assert organic["in_domain"] and not ferrocene["in_domain"]
    assert "Fe" in ferrocene["note"]
    assert ferrocene["similarity"] < organic["similarity"]
    assert ferrocene["std"] > organic["std"]


def test_closing_waits_for_the_step_in_progress_and_skips_the_rest(zoo_models, primer_cache):
    srv = create_server(0, model=False, cache=primer_cache, models=zoo_models)
    srv.server_close()  # at once: the first step is in progress, the rest never start
    assert not srv.busy()
    states = {name: slot.state for name, slot in srv.science.slots.items()}
    assert set(states.values()) <= {"ready", "failed"}
    assert srv.science.slots["rashomon"].error == "rashomon: the primer is closing"
