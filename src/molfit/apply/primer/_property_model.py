"""The case-study model: hydration free energy from ECFP with a Tanimoto-kernel Gaussian process.

Trained on FreeSolv (642 molecules, experimental hydration free energy in kcal/mol) when the primer
starts. The featurized training set and the chosen hyperparameters are cached on disk as ``.npz``
(no pickle) under ``$MOLFIT_CACHE_DIR/primer`` (default ``~/.cache/molfit/primer``), so later
starts skip loading and featurizing the data. The GP is exact: ``k(a, b) = s²·T(a, b)`` with ``T``
the Tanimoto similarity of the bit vectors, a constant mean (the training mean) and noise ``σn²``
picked by the log marginal likelihood on a small grid.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from molfit.data import cache_dir, load
from molfit.represent import canonical_smiles, ecfp, parse_many, parse_smiles

RADIUS = 2
N_BITS = 2048
CACHE_NAME = f"freesolv_ecfp{2 * RADIUS}_{N_BITS}_v1.npz"
PROPERTY = "hydration free energy"
UNIT = "kcal/mol"


def _load_freesolv() -> tuple[list[str], np.ndarray]:
    """FreeSolv SMILES and experimental ΔG_hyd in kcal/mol (the unit chemists quote it in)."""
    ds = load("freesolv")
    return ds.smiles, ds.frame["expt_kcal_mol"].to_numpy(dtype=float)


def tanimoto(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Tanimoto similarity of binary rows: ``(n_a, n_bits), (n_b, n_bits) → (n_a, n_b)``."""
    a = a.astype(np.float64)
    b = b.astype(np.float64)
    inter = a @ b.T
    union = a.sum(1)[:, None] + b.sum(1)[None, :] - inter
    return np.where(union > 0, inter / np.maximum(union, 1.0), 1.0)


def _log_marginal_likelihood(gram: np.ndarray, y: np.ndarray, signal: float, noise: float) -> float:
    try:
        chol = np.linalg.cholesky(signal * gram + noise * np.eye(len(y)))
    except np.linalg.LinAlgError:
        return -math.inf
    alpha = np.linalg.solve(chol.T, np.linalg.solve(chol, y))
    return float(
        -0.5 * y @ alpha - np.log(np.diag(chol)).sum() - 0.5 * len(y) * math.log(2 * math.pi)
    )


@dataclass
class TanimotoGP:
    """Exact GP regression on fingerprint bits, Tanimoto kernel (fitted attributes end in _)."""

    signal: float = 1.0
    noise: float = 0.1

    def fit(self, bits: np.ndarray, y: np.ndarray) -> TanimotoGP:
        """Fit on ``bits`` ``(n, n_bits)`` and targets ``y`` ``(n,)``."""
        self.bits_ = bits.astype(np.uint8)
        self.mean_ = float(np.mean(y))
        gram = self.signal * tanimoto(self.bits_, self.bits_) + self.noise * np.eye(len(y))
        self.chol_ = np.linalg.cholesky(gram)
        self.alpha_ = np.linalg.solve(self.chol_.T, np.linalg.solve(self.chol_, y - self.mean_))
        return self

    def predict(self, bits: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Mean ``(m,)`` and predictive standard deviation ``(m,)`` (latent + noise), y's units."""
        k_star = self.signal * tanimoto(bits, self.bits_)
        mean = self.mean_ + k_star @ self.alpha_
        v = np.linalg.solve(self.chol_, k_star.T)
        var = np.clip(self.signal - np.sum(v * v, axis=0), 0.0, None) + self.noise
        return mean, np.sqrt(var)


def _select_hyperparameters(bits: np.ndarray, y: np.ndarray) -> tuple[float, float]:
    gram = tanimoto(bits, bits)
    yc = y - y.mean()
    var = float(np.var(y))
    grid = [(var * s, var * n) for s in (0.5, 1.0, 2.0, 4.0) for n in (0.02, 0.05, 0.1, 0.2, 0.4)]
    return max(grid, key=lambda sn: _log_marginal_likelihood(gram, yc, *sn))


def _held_out_metrics(bits: np.ndarray, y: np.ndarray, signal: float, noise: float) -> dict:
    """RMSE and 95 % interval coverage on a random 20 % of the molecules (seed 0)."""
    order = np.random.default_rng(0).permutation(len(y))
    n_test = len(y) // 5
    test, train = order[:n_test], order[n_test:]
    gp = TanimotoGP(signal, noise).fit(bits[train], y[train])
    mean, std = gp.predict(bits[test])
    err = mean - y[test]
    return {
        "rmse": float(np.sqrt(np.mean(err**2))),
        "coverage95": float(np.mean(np.abs(err) <= 1.96 * std)),
        "n_test": int(n_test),
    }


class PropertyModel:
    """FreeSolv hydration-free-energy predictor with uncertainty, trained once and cached."""

    def __init__(self, cache: Path | None = None) -> None:
        path = (cache or cache_dir()) / "primer" / CACHE_NAME
        self.from_cache = path.exists()
        if self.from_cache:
            with np.load(path, allow_pickle=False) as stored:
                smiles = [str(s) for s in stored["smiles"]]
                bits = np.unpackbits(stored["bits"], axis=1)[:, :N_BITS]
                y = stored["y"]
                signal, noise = (float(v) for v in stored["hyper"])
                metrics = dict(
                    zip(("rmse", "coverage95", "n_test"), stored["metrics"].tolist(), strict=True)
                )
        else:
            raw_smiles, raw_y = _load_freesolv()
            mols, _ = parse_many(raw_smiles, source="FreeSolv")  # bad rows are skipped
            keep = [i for i, m in enumerate(mols) if m is not None]
            smiles = [canonical_smiles(mols[i]) for i in keep]
            bits = ecfp([mols[i] for i in keep], radius=RADIUS, n_bits=N_BITS)
            y = raw_y[keep]
            signal, noise = _select_hyperparameters(bits, y)
            metrics = _held_out_metrics(bits, y, signal, noise)
            path.parent.mkdir(parents=True, exist_ok=True)
            tmp = path.with_suffix(".tmp.npz")
            np.savez_compressed(
                tmp,
                smiles=np.array(smiles),
                bits=np.packbits(bits, axis=1),
                y=y,
                hyper=np.array([signal, noise]),
                metrics=np.array([metrics["rmse"], metrics["coverage95"], metrics["n_test"]]),
            )
            tmp.replace(path)
        self.smiles = smiles
        self.y = np.asarray(y, dtype=float)
        self.metrics = metrics
        self.gp = TanimotoGP(signal, noise).fit(bits, self.y)

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
        bits = ecfp(mol, radius=RADIUS, n_bits=N_BITS)[None, :]
        mean, std = self.gp.predict(bits)
        sims = tanimoto(bits, self.gp.bits_)[0]
        j = int(np.argmax(sims))
        canonical = canonical_smiles(mol)
        return {
            "smiles": canonical,
            "property": PROPERTY,
            "unit": UNIT,
            "mean": float(mean[0]),
            "std": float(std[0]),
            "lower": float(mean[0] - 1.96 * std[0]),
            "upper": float(mean[0] + 1.96 * std[0]),
            "nearest": {
                "smiles": self.smiles[j],
                "similarity": float(sims[j]),
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
            "n_train": len(self.y),
            "features": f"ECFP{2 * RADIUS}, {N_BITS} bits",
            "model": "Gaussian process, Tanimoto kernel",
            "held_out_rmse": self.metrics["rmse"],
            "held_out_coverage95": self.metrics["coverage95"],
            "from_cache": self.from_cache,
        }
