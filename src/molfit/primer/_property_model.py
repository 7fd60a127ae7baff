"""The case-study model: hydration free energy from ECFP with molfit's Tanimoto-kernel GP.

Trained on FreeSolv (642 molecules, experimental hydration free energy in kcal/mol, the unit
chemists quote it in) the first time the primer starts, with
:class:`molfit.models.GaussianProcessModel` (Tanimoto kernel on ECFP4/2048, hyper-parameters by
marginal likelihood). The fitted model is saved as a molfit model directory (``config.json`` +
``weights.npz``, no pickle) under ``$MOLFIT_CACHE_DIR/primer`` (default ``~/.cache/molfit/primer``)
together with its held-out metrics, so later starts load it in a fraction of a second.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

import numpy as np

from molfit.chem import canonical_smiles, ecfp, max_tanimoto, parse_smiles, tanimoto_matrix
from molfit.data import cache_dir, load
from molfit.models import GaussianProcessModel, load_model, save_model

RADIUS = 2
N_BITS = 2048
CACHE_NAME = f"freesolv_gp_ecfp{2 * RADIUS}_{N_BITS}_v2"
PROPERTY = "hydration free energy"
UNIT = "kcal/mol"
Z95 = 1.959963984540054


def _load_freesolv() -> tuple[list[str], np.ndarray]:
    """FreeSolv canonical SMILES and experimental ΔG_hyd in kcal/mol."""
    ds = load("freesolv", validate=True)
    smiles = [canonical_smiles(s) for s in ds.smiles]
    return smiles, ds.frame["expt_kcal_mol"].to_numpy(dtype=float)


def _new_gp() -> GaussianProcessModel:
    return GaussianProcessModel(kernel="tanimoto", radius=RADIUS, n_bits=N_BITS, seed=0)


def _held_out_metrics(smiles: list[str], y: np.ndarray) -> dict[str, float]:
    """RMSE and 95 % interval coverage on a random 20 % of the molecules (seed 0)."""
    order = np.random.default_rng(0).permutation(len(y))
    n_test = len(y) // 5
    test, train = order[:n_test], order[n_test:]
    gp = _new_gp().fit([smiles[i] for i in train], y[train])
    mean, std = gp.predict([smiles[i] for i in test], return_std=True)
    err = mean - y[test]
    return {
        "rmse": float(np.sqrt(np.mean(err**2))),
        "coverage95": float(np.mean(np.abs(err) <= Z95 * std)),
        "n_test": int(n_test),
    }


def _train_and_save(path: Path) -> None:
    """Fit on all of FreeSolv and write the model directory atomically (temp dir + rename)."""
    smiles, y = _load_freesolv()
    metrics = _held_out_metrics(smiles, y)
    gp = _new_gp().fit(smiles, y)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=path.name + ".", dir=path.parent))
    try:
        save_model(gp, tmp)
        (tmp / "primer.json").write_text(
            json.dumps({"smiles": smiles, "y": y.tolist(), "metrics": metrics})
        )
        os.replace(tmp, path)
    except OSError:
        shutil.rmtree(tmp, ignore_errors=True)
        if not path.exists():  # another process may have won the race; that is fine
            raise


class PropertyModel:
    """FreeSolv hydration-free-energy predictor with uncertainty, trained once and cached."""

    def __init__(self, cache: Path | None = None) -> None:
        path = (cache or cache_dir()) / "primer" / CACHE_NAME
        self.from_cache = (path / "primer.json").exists()
        if not self.from_cache:
            _train_and_save(path)
        stored = json.loads((path / "primer.json").read_text())
        self.gp = load_model(path)
        self.smiles: list[str] = stored["smiles"]
        self.metrics: dict[str, float] = stored["metrics"]
        self.y = np.asarray(stored["y"], dtype=float)
        self._bits = ecfp(self.smiles, radius=RADIUS, n_bits=N_BITS)

    def predict(self, smiles: str) -> dict[str, Any]:
        """Predicted ΔG_hyd (kcal/mol) of one molecule with its standard deviation.

        Returns:
            ``smiles`` (canonical), ``mean``, ``std``, ``lower``/``upper`` (mean ∓ 1.96·std),
            ``nearest`` (most similar training molecule, its Tanimoto similarity and label),
            ``in_training_set``, the ``property`` name and ``unit``.

        Raises:
            InvalidMoleculeError: the SMILES does not parse (the message says why).
        """
        mol = parse_smiles(smiles)
        mean, std = self.gp.predict([mol], return_std=True)
        bits = ecfp(mol, radius=RADIUS, n_bits=N_BITS)[None, :]
        j = int(np.argmax(tanimoto_matrix(bits, self._bits)[0]))
        canonical = canonical_smiles(mol)
        m, s = float(np.ravel(mean)[0]), float(np.ravel(std)[0])
        return {
            "smiles": canonical,
            "property": PROPERTY,
            "unit": UNIT,
            "mean": m,
            "std": s,
            "lower": m - Z95 * s,
            "upper": m + Z95 * s,
            "nearest": {
                "smiles": self.smiles[j],
                "similarity": float(max_tanimoto(bits, self._bits)[0]),
                "value": float(self.y[j]),
            },
            "in_training_set": canonical in self.smiles,
        }

    def describe(self) -> dict[str, Any]:
        """What the model is: data, size, kernel, held-out RMSE and interval coverage."""
        return {
            "dataset": "FreeSolv",
            "property": PROPERTY,
            "unit": UNIT,
            "n_train": len(self.smiles),
            "features": f"ECFP{2 * RADIUS}, {N_BITS} bits",
            "model": "molfit GaussianProcessModel, Tanimoto kernel",
            "held_out_rmse": self.metrics["rmse"],
            "held_out_coverage95": self.metrics["coverage95"],
            "from_cache": self.from_cache,
        }
