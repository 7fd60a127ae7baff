"""Gaussian process regression with a Tanimoto kernel (fingerprints) or an RBF kernel.

Model: ``y = f(x) + ε`` with ``f ~ GP(0, s² k(x, x'))`` and ``ε ~ N(0, σ²)`` on the standardized
target. ``k`` is the Tanimoto similarity of ECFP bit vectors (a valid kernel on sets) or
``exp(-|x - x'|² / 2ℓ²)`` on standardized descriptors (or on any numeric array).

Hyper-parameters (s², σ², and ℓ for RBF) maximize the exact log marginal likelihood, computed on
a random subset of at most ``max_optimize`` training points so that fitting stays fast. The
posterior is exact up to ``max_exact`` training points; beyond, a Nyström / DTC approximation on
``n_inducing`` randomly chosen inducing points is used. Either way a prediction is
``mean = k_*ᵀ w`` and ``var = s² k(x, x) - k_*ᵀ B k_* (+ σ²)``, with ``w`` and ``B`` computed at
fit time.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from scipy.linalg import cho_factor, cho_solve, solve_triangular
from scipy.optimize import minimize

from molfit.chem import tanimoto_matrix
from molfit.errors import InputError
from molfit.models._base import MoleculeModel
from molfit.models._linear import apply_scaler, fit_scaler

_JITTER = 1e-8
_CHUNK = 4096
_BOUNDS = {"signal": (1e-3, 1e2), "noise": (1e-5, 1e1), "length": (1e-3, 1e4)}


def tanimoto_kernel(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Tanimoto similarity of bit rows (non-zero = set): ``(len(a), len(b))`` float64."""
    return tanimoto_matrix(a, b).astype(np.float64)


def rbf_kernel(a: np.ndarray, b: np.ndarray, length_scale: float) -> np.ndarray:
    """``exp(-|a_i - b_j|² / (2 ℓ²))``: ``(len(a), len(b))`` float64."""
    sq = (a * a).sum(1)[:, None] + (b * b).sum(1)[None, :] - 2.0 * a @ b.T
    return np.exp(-np.maximum(sq, 0.0) / (2.0 * length_scale**2))


class GaussianProcessModel(MoleculeModel):
    """GP regression on molecules (Tanimoto kernel on ECFP, RBF on descriptors) or on arrays.

    Args:
        kernel: ``"tanimoto"`` or ``"rbf"``.
        featurizer: ``"ecfp"``, ``"descriptors"`` or ``"auto"`` (ECFP for Tanimoto, descriptors
            for RBF). Ignored when ``X`` is a numeric array.
        radius, n_bits, counts: ECFP settings.
        signal_variance: s², prior variance of ``f`` (standardized target units).
        length_scale: ℓ of the RBF kernel (feature units, standardized for descriptors).
        noise: σ², observation noise variance (standardized target units).
        optimize: fit the hyper-parameters by maximizing the marginal likelihood; otherwise the
            values above are used as given.
        normalize_y: standardize the target before fitting (the hyper-parameters then refer to
            the standardized target).
        standardize: scale features; ``"auto"`` scales descriptors, not fingerprints or arrays.
        max_exact: exact GP up to this many training points, Nyström beyond.
        n_inducing: inducing points of the Nyström mode.
        max_optimize: training points used for the marginal-likelihood fit.
        include_noise: the std returned includes σ² (predictive std of a new measurement);
            ``False`` gives the std of the latent function.
        task: ``"regression"`` (the only task a GP supports here) or ``"auto"``.
        n_jobs: parallel featurization jobs.
        seed: random seed (subsets, inducing points).
    """

    supports_classification = False
    has_std = True

    def __init__(
        self,
        kernel: str = "tanimoto",
        featurizer: str = "auto",
        radius: int = 3,
        n_bits: int = 1024,
        counts: bool = False,
        signal_variance: float = 1.0,
        length_scale: float = 1.0,
        noise: float = 0.1,
        optimize: bool = True,
        normalize_y: bool = True,
        standardize: bool | str = "auto",
        max_exact: int = 3000,
        n_inducing: int = 1000,
        max_optimize: int = 1000,
        include_noise: bool = True,
        task: str = "regression",
        n_jobs: int | None = None,
        seed: int = 0,
    ) -> None:
        self.kernel = kernel
        self.featurizer = featurizer
        self.radius = radius
        self.n_bits = n_bits
        self.counts = counts
        self.signal_variance = signal_variance
        self.length_scale = length_scale
        self.noise = noise
        self.optimize = optimize
        self.normalize_y = normalize_y
        self.standardize = standardize
        self.max_exact = max_exact
        self.n_inducing = n_inducing
        self.max_optimize = max_optimize
        self.include_noise = include_noise
        self.task = task
        self.n_jobs = n_jobs
        self.seed = seed

    # -- features and kernel --------------------------------------------------------------------
    def _featurizer_settings(self) -> dict[str, Any]:
        if self.kernel not in ("tanimoto", "rbf"):
            raise InputError(f"kernel must be 'tanimoto' or 'rbf', got {self.kernel!r}")
        featurizer = self.featurizer
        if featurizer == "auto":
            featurizer = "ecfp" if self.kernel == "tanimoto" else "descriptors"
        return {
            "featurizer": featurizer,
            "radius": self.radius,
            "n_bits": self.n_bits,
            "counts": self.counts,
        }

    def _standardize(self) -> bool:
        if self.kernel == "tanimoto":
            return False
        if self.standardize == "auto":
            return self.input_kind_ == "molecules"
        return bool(self.standardize)

    def _transform(self, state: dict[str, Any], F: np.ndarray) -> np.ndarray:
        if self.kernel == "tanimoto":
            return (np.asarray(F) > 0).astype(np.uint8)
        return apply_scaler(F, state["x_mean"], state["x_scale"])

    def _k(self, a: np.ndarray, b: np.ndarray, length: float) -> np.ndarray:
        if self.kernel == "tanimoto":
            return tanimoto_kernel(a, b)
        return rbf_kernel(a, b, length)

    # -- hyper-parameters -------------------------------------------------------------------------
    def _neg_log_marginal(self, theta: np.ndarray, base: np.ndarray, y: np.ndarray) -> float:
        """Negative log marginal likelihood at log hyper-parameters ``theta``.

        ``base`` is computed once per fit: the Tanimoto matrix, or for RBF the squared
        distances, so each evaluation costs one Cholesky factorization, not a kernel rebuild.
        """
        signal, noise = np.exp(theta[0]), np.exp(theta[1])
        gram = np.exp(-base / (2.0 * np.exp(theta[2]) ** 2)) if self.kernel == "rbf" else base
        K = signal * gram + (noise + _JITTER) * np.eye(len(y))
        try:
            c, low = cho_factor(K, lower=True)
        except np.linalg.LinAlgError:
            return 1e25
        alpha = cho_solve((c, low), y)
        return float(0.5 * y @ alpha + np.log(np.diag(c)).sum() + 0.5 * len(y) * np.log(2 * np.pi))

    def _fit_hyper(self, Z: np.ndarray, y: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        length = float(self.length_scale)
        if not self.optimize:
            return np.array([self.signal_variance, self.noise, length], dtype=np.float64)
        if len(Z) > self.max_optimize:
            sub = rng.choice(len(Z), self.max_optimize, replace=False)
            Z, y = Z[sub], y[sub]
        keys = ["signal", "noise"] + (["length"] if self.kernel == "rbf" else [])
        if self.kernel == "rbf":  # start from the median pairwise distance
            sample = Z[: min(len(Z), 200)]
            sq = ((sample[:, None, :] - sample[None, :, :]) ** 2).sum(-1)
            length = float(np.sqrt(np.median(sq[sq > 0]))) if (sq > 0).any() else 1.0
        start = [self.signal_variance, self.noise] + ([length] if self.kernel == "rbf" else [])
        bounds = [tuple(np.log(_BOUNDS[k])) for k in keys]
        x0 = np.clip(np.log(start), [b[0] for b in bounds], [b[1] for b in bounds])
        if self.kernel == "rbf":
            sq = (Z * Z).sum(1)
            base = np.maximum(sq[:, None] + sq[None, :] - 2.0 * Z @ Z.T, 0.0)
        else:
            base = tanimoto_kernel(Z, Z)
        res = minimize(self._neg_log_marginal, x0, args=(base, y), method="L-BFGS-B", bounds=bounds)
        theta = np.exp(res.x)
        return np.array([theta[0], theta[1], theta[2] if len(theta) > 2 else length])

    # -- fit / predict --------------------------------------------------------------------------
    def _fit_task(self, F: np.ndarray, y: np.ndarray) -> dict[str, np.ndarray]:
        rng = np.random.default_rng(self.seed)
        x_mean, x_scale = fit_scaler(F, self._standardize())
        state: dict[str, Any] = {"x_mean": x_mean, "x_scale": x_scale}
        Z = self._transform(state, F)
        y_mean = float(y.mean()) if self.normalize_y else 0.0
        y_std = float(y.std()) if self.normalize_y and y.std() > 0 else 1.0
        ys = (y - y_mean) / y_std
        hyper = self._fit_hyper(Z, ys, rng)
        signal, noise, length = hyper
        if len(Z) <= self.max_exact:
            K = signal * self._k(Z, Z, length) + (noise + _JITTER) * np.eye(len(Z))
            w = cho_solve(cho_factor(K, lower=True), ys)
            basis = Z
            B = None
        else:
            idx = np.sort(rng.choice(len(Z), min(self.n_inducing, len(Z)), replace=False))
            basis = Z[idx]
            Kmm = signal * self._k(basis, basis, length) + _JITTER * signal * np.eye(len(idx))
            Lm = np.linalg.cholesky(Kmm)
            Kmn = np.concatenate(
                [
                    signal * self._k(basis, Z[i : i + _CHUNK], length)
                    for i in range(0, len(Z), _CHUNK)
                ],
                axis=1,
            )
            V = solve_triangular(Lm, Kmn, lower=True)  # (m, n)
            A = np.eye(len(idx)) + V @ V.T / noise
            La = np.linalg.cholesky(A)
            # w = Σ Kmn y / σ², with Σ = (Kmm + Kmn Knm / σ²)⁻¹ = Lm⁻ᵀ A⁻¹ Lm⁻¹
            u = cho_solve((La, True), V @ ys) / noise
            w = solve_triangular(Lm.T, u, lower=False)
            Lm_inv = solve_triangular(Lm, np.eye(len(idx)), lower=True)
            A_inv = cho_solve((La, True), np.eye(len(idx)))
            # B = Kmm⁻¹ - Σ: the variance reduction matrix of the DTC predictive
            B = Lm_inv.T @ (np.eye(len(idx)) - A_inv) @ Lm_inv
        state.update(
            basis=np.packbits(basis, axis=1) if self.kernel == "tanimoto" else basis,
            w=np.asarray(w, dtype=np.float64),
            hyper=hyper,
            y_stats=np.array([y_mean, y_std]),
        )
        if B is not None:
            state["B"] = B
        return state

    def _prepare_state(self, state: dict[str, Any]) -> dict[str, Any]:
        state = dict(state)
        basis = state["basis"]
        if self.kernel == "tanimoto":
            basis = np.unpackbits(basis, axis=1, count=self.n_features_in_)
        state["basis_"] = basis
        if "B" not in state:  # exact mode: B = (K + σ² I)⁻¹, rebuilt from the training points
            signal, noise, length = state["hyper"]
            K = signal * self._k(basis, basis, length) + (noise + _JITTER) * np.eye(len(basis))
            state["B_"] = cho_solve(cho_factor(K, lower=True), np.eye(len(basis)))
        else:
            state["B_"] = state["B"]
        return state

    def _raw_state(self, state: dict[str, Any]) -> dict[str, np.ndarray]:
        return {k: v for k, v in state.items() if not k.endswith("_")}

    def _predict_task(self, state: dict[str, Any], F: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        signal, noise, length = state["hyper"]
        y_mean, y_std = state["y_stats"]
        Z = self._transform(state, F)
        mean = np.empty(len(Z))
        var = np.empty(len(Z))
        for i in range(0, len(Z), _CHUNK):
            Ks = signal * self._k(Z[i : i + _CHUNK], state["basis_"], length)
            mean[i : i + _CHUNK] = Ks @ state["w"]
            kss = signal  # k(x, x) = 1 for both kernels (Tanimoto: 0/0 taken as 1)
            var[i : i + _CHUNK] = kss - np.einsum("ij,ij->i", Ks @ state["B_"], Ks)
        var = np.maximum(var, 0.0) + (noise if self.include_noise else 0.0)
        return mean * y_std + y_mean, np.sqrt(var) * y_std

    @property
    def hyperparameters_(self) -> list[dict[str, float]]:
        """Fitted hyper-parameters per task: signal variance, noise variance, length scale."""
        self._check_fitted()
        return [
            dict(
                zip(
                    ("signal_variance", "noise", "length_scale"),
                    map(float, s["hyper"]),
                    strict=True,
                )
            )
            for s in self.states_
        ]


class ExactGP(GaussianProcessModel):
    """:class:`GaussianProcessModel` as the textbook exact GP regressor (the primer's GP).

    Same parameters and behaviour (exact posterior up to ``max_exact`` training points); the
    name does not reuse scikit-learn's ``GaussianProcessRegressor``, whose signature differs.
    On a numeric ``(n, d)`` array with fixed hyper-parameters::

        gp = ExactGP(kernel="rbf", length_scale=0.5, noise=0.01, optimize=False)
        mean, std = gp.fit(x[:, None], y).predict(x_new[:, None], return_std=True)
    """
