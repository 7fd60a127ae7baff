"""The science slides' JSON endpoints (mounted by :mod:`molfit.primer._server`).

==========================  ================================================================
``GET  /api/science``       state of each background slot, the shipped models' names
``POST /api/md/start``      ``{smiles?, temperature, seed?}``: new MD session, its first state
``POST /api/md/step``       ``{session, steps, temperature}``: advance, states after each step
``POST /api/md/timing``     ``{oracle: "xtb" | "dft"}``: one oracle vs one potential call, ms
``POST /api/md/point``      ``{positions}``: energy, forces, σ of ethanol at those positions
``GET  /api/props3d``       ``?smiles=``: conformer and QM9 predictions of the 3D models
``GET  /api/shift``         ``?smiles=``: FreeSolv GP prediction, σ, similarity, domain flag
``GET  /api/leakage``       B3DB random vs scaffold split: scores and similarity histograms
``POST /api/symmetry``      ``{yaw, pitch, roll, shuffle}``: potential vs toy MLP
``GET  /api/rashomon``      the two models, their comparison, predictions on new molecules
``GET  /api/rashomon/predict``  ``?smiles=``: both models on one molecule
==========================  ================================================================
"""

from __future__ import annotations

from typing import Any

import numpy as np

from molfit.errors import InputError
from molfit.primer._potential import MAX_STEPS, bonds_of, point, symbols_of
from molfit.primer._science import (
    POTENTIAL,
    POTENTIAL_SMILES,
    QM9_MODELS,
    SHIFT_MODEL,
    ZOO_NAMES,
    Science,
)

_NO_ROUTE = object()


def _float(body: dict[str, Any], key: str, default: float | None = None) -> float:
    value = body.get(key, default)
    try:
        out = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise InputError(f"{key} must be a number, got {value!r}") from None
    if not np.isfinite(out):
        raise InputError(f"{key} must be finite, got {value!r}")
    return out


def _int(body: dict[str, Any], key: str, default: int) -> int:
    value = _float(body, key, default)
    if value != int(value):
        raise InputError(f"{key} must be an integer, got {value}")
    return int(value)


def _smiles(text: Any) -> str:
    if not isinstance(text, str) or not text.strip():
        raise InputError("type a SMILES first")
    if len(text) > 300:
        raise InputError("SMILES longer than 300 characters")
    return text.strip()


def _molecule(atoms: Any) -> dict[str, Any]:
    return {
        "numbers": atoms.numbers.tolist(),
        "symbols": symbols_of(atoms.numbers),
        "bonds": bonds_of(atoms.numbers, atoms.positions),
    }


def science_api(
    science: Science, method: str, path: str, query: dict[str, str], body: dict[str, Any]
) -> Any:
    """The answer to one science request, or ``_NO_ROUTE`` when the path is not one of these."""
    route = (method, path)
    slots = science.slots
    if route == ("GET", "/api/science"):
        errors = {k: s.error for k, s in slots.items() if s.error}
        return {"slots": science.states(), "models": list(ZOO_NAMES), "errors": errors}
    if route == ("POST", "/api/md/start"):
        from molfit.primer._potential import molecule_atoms

        pot = slots["potential"].get()
        smiles = _smiles(body.get("smiles", POTENTIAL_SMILES))
        atoms = pot["atoms"] if smiles == POTENTIAL_SMILES else molecule_atoms(smiles)
        sid = science.sessions.start(
            pot["model"], atoms, _float(body, "temperature", 300.0), _int(body, "seed", 0)
        )
        session = science.sessions.get(sid)
        return {
            "session": sid,
            "smiles": smiles,
            "model": science.describe_model(POTENTIAL),
            "dt_fs": 0.5,
            "max_steps": MAX_STEPS,
            **_molecule(atoms),
            "state": session.state(),
        }
    if route == ("POST", "/api/md/step"):
        session = science.sessions.get(str(body.get("session", "")))
        temperature = None if body.get("temperature") is None else _float(body, "temperature")
        return {"frames": session.advance(_int(body, "steps", 10), temperature)}
    if route == ("POST", "/api/md/timing"):
        from molfit.primer._potential import time_oracle_vs_potential

        pot = slots["potential"].get()
        return time_oracle_vs_potential(pot["model"], pot["atoms"], str(body.get("oracle", "xtb")))
    if route == ("POST", "/api/md/point"):
        pot = slots["potential"].get()
        atoms = pot["atoms"].copy()
        positions = np.asarray(body.get("positions", []), dtype=np.float64)
        if positions.shape != atoms.positions.shape:
            raise InputError(f"positions must be {list(atoms.positions.shape)} numbers (Å)")
        atoms.positions = positions
        res = point(pot["calculator"], atoms)
        return {k: (v.tolist() if isinstance(v, np.ndarray) else v) for k, v in res.items()}
    if route == ("GET", "/api/props3d"):
        from molfit.primer._properties3d import predict_properties

        models = slots["qm9"].get()
        out = predict_properties(models, _smiles(query.get("smiles", "")))
        out["models"] = [science.describe_model(k) for k in QM9_MODELS if k in models]
        out["missing"] = {k: v for k, v in science.missing.items() if k in QM9_MODELS}
        return out
    if route == ("GET", "/api/shift"):
        from molfit.primer._worry import shift_point

        model, unit = slots["shift"].get()
        out = shift_point(model, _smiles(query.get("smiles", "")))
        out["model"], out["unit"] = SHIFT_MODEL, unit
        return out
    if route == ("GET", "/api/leakage"):
        return slots["leakage"].get()
    if route == ("POST", "/api/symmetry"):
        from molfit.primer._symmetry import symmetry_view

        pot = slots["potential"].get()
        toy = slots["toy"].get()
        out = symmetry_view(
            pot["calculator"],
            toy,
            pot["atoms"],
            yaw=_float(body, "yaw", 0.0),
            pitch=_float(body, "pitch", 0.0),
            roll=_float(body, "roll", 0.0),
            shuffle=_int(body, "shuffle", 0),
        )
        out["bonds"] = bonds_of(np.asarray(out["numbers"]), np.asarray(out["positions"]))
        out["model"] = POTENTIAL
        return out
    if route == ("GET", "/api/rashomon"):
        from molfit.primer._worry import NEW_MOLECULES

        pair = slots["rashomon"].get()
        return {**pair.describe(), **pair.predict([s for _, s in NEW_MOLECULES])}
    if route == ("GET", "/api/rashomon/predict"):
        return slots["rashomon"].get().predict([_smiles(query.get("smiles", ""))])
    return _NO_ROUTE
