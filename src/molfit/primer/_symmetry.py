"""The symmetries slide: rotate and permute a molecule; the potential's energy stays, its force
arrows turn with the molecule, and a non-invariant toy model breaks.

The toy model (:class:`ToyCoordinateModel`) is what a newcomer would write first: the raw
Cartesian coordinates, flattened in atom order, into a small MLP. It is trained in a second or
two (full-batch Adam, seeded) on geometries near the start conformer, jittered by 0.05 Å
Gaussian noise and labelled by the potential itself, so on unrotated, unpermuted geometries it
agrees with the potential to a few meV; a rotation or a new atom order moves its input far from
anything it saw, and its energy changes although the molecule did not.

Units: Å, eV, eV/Å, degrees.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from molfit.errors import InputError
from molfit.primer._potential import COMPUTE_LOCK, point

TOY_SAMPLES = 160
TOY_JITTER_A = 0.05
TOY_STEPS = 400
TOY_HIDDEN = 64


def rotation_matrix(yaw: float, pitch: float, roll: float) -> np.ndarray:
    """``R = Rz(yaw) · Ry(pitch) · Rx(roll)`` for angles in degrees, ``(3, 3)``."""
    a, b, c = (math.radians(v) for v in (yaw, pitch, roll))
    rz = np.array([[math.cos(a), -math.sin(a), 0], [math.sin(a), math.cos(a), 0], [0, 0, 1]])
    ry = np.array([[math.cos(b), 0, math.sin(b)], [0, 1, 0], [-math.sin(b), 0, math.cos(b)]])
    rx = np.array([[1, 0, 0], [0, math.cos(c), -math.sin(c)], [0, math.sin(c), math.cos(c)]])
    return rz @ ry @ rx


def permutation_of(n: int, shuffle: int) -> np.ndarray:
    """Atom order number ``shuffle``: 0 is the identity, ``k > 0`` a seeded random permutation
    of ``n`` atoms (the same ``k`` always gives the same order)."""
    if shuffle < 0:
        raise InputError(f"shuffle must be >= 0, got {shuffle}")
    if shuffle == 0:
        return np.arange(n)
    return np.random.default_rng(shuffle).permutation(n)


class ToyCoordinateModel:
    """Energy from the raw coordinates: flatten ``(n_atoms, 3)`` Å in atom order, standardise,
    MLP ``3n → 64 → 64 → 1`` (tanh), trained on potential-labelled jittered geometries.

    Attributes:
        train_rmse: eV, on its own training geometries.
        seconds: training wall time.
    """

    def __init__(self, calculator: Any, atoms: Any, seed: int = 0) -> None:
        import time

        import torch

        t0 = time.perf_counter()
        rng = np.random.default_rng(seed)
        base = np.asarray(atoms.positions, dtype=np.float64)
        X = base[None] + rng.normal(0.0, TOY_JITTER_A, size=(TOY_SAMPLES, *base.shape))
        probe = atoms.copy()
        y = np.empty(TOY_SAMPLES)
        for k, pos in enumerate(X):
            probe.positions = pos
            y[k] = point(calculator, probe)["energy"]
        flat = X.reshape(TOY_SAMPLES, -1)
        self.x_mean, self.x_std = flat.mean(axis=0), flat.std(axis=0) + 1e-8
        self.y_mean, self.y_std = float(y.mean()), float(y.std() + 1e-12)
        torch.manual_seed(seed)
        with COMPUTE_LOCK:
            net = torch.nn.Sequential(
                torch.nn.Linear(flat.shape[1], TOY_HIDDEN),
                torch.nn.Tanh(),
                torch.nn.Linear(TOY_HIDDEN, TOY_HIDDEN),
                torch.nn.Tanh(),
                torch.nn.Linear(TOY_HIDDEN, 1),
            ).double()
            xt = torch.from_numpy((flat - self.x_mean) / self.x_std)
            yt = torch.from_numpy((y - self.y_mean) / self.y_std)[:, None]
            opt = torch.optim.Adam(net.parameters(), lr=1e-2)
            for _ in range(TOY_STEPS):
                opt.zero_grad()
                loss = torch.mean((net(xt) - yt) ** 2)
                loss.backward()
                opt.step()
        self.net = net.eval()
        self.n_atoms = len(base)
        self.train_rmse = float(np.sqrt(np.mean((self.predict_many(X) - y) ** 2)))
        self.seconds = time.perf_counter() - t0

    def predict_many(self, positions: np.ndarray) -> np.ndarray:
        """Energies (eV) of ``(m, n_atoms, 3)`` positions."""
        import torch

        flat = np.asarray(positions, dtype=np.float64).reshape(len(positions), -1)
        with torch.no_grad():
            out = self.net(torch.from_numpy((flat - self.x_mean) / self.x_std))
        return out.numpy()[:, 0] * self.y_std + self.y_mean

    def predict(self, positions: np.ndarray) -> float:
        """Energy (eV) of one geometry ``(n_atoms, 3)``."""
        return float(self.predict_many(np.asarray(positions)[None])[0])


def transformed(atoms: Any, yaw: float, pitch: float, roll: float, shuffle: int) -> Any:
    """A copy of ``atoms`` rotated about its centroid and with its atoms reordered."""
    out = atoms.copy()
    centre = atoms.positions.mean(axis=0)
    rot = rotation_matrix(yaw, pitch, roll)
    perm = permutation_of(len(atoms), shuffle)
    out.positions = (atoms.positions - centre) @ rot.T + centre
    out = out[perm]
    return out


def symmetry_view(
    calculator: Any,
    toy: ToyCoordinateModel,
    atoms: Any,
    *,
    yaw: float = 0.0,
    pitch: float = 0.0,
    roll: float = 0.0,
    shuffle: int = 0,
) -> dict[str, Any]:
    """Both models on ``atoms`` rotated by (yaw, pitch, roll) degrees and in atom order
    ``shuffle`` (see :func:`permutation_of`), and on the untouched ``atoms``.

    Returns:
        ``numbers``, ``positions`` (Å, as transformed), ``permutation``, ``potential``
        (``energy`` eV, ``forces`` eV/Å of the transformed atoms), ``toy`` (``energy``),
        ``reference`` (both energies of the untouched geometry), and the differences
        ``potential_delta``, ``toy_delta`` (eV), and ``forces_rotated_error``: the largest
        |F(R·x) − R·F(x)| (eV/Å, with the permutation applied), the equivariance check.
    """
    for name, v in (("yaw", yaw), ("pitch", pitch), ("roll", roll)):
        if not math.isfinite(v) or abs(v) > 720:
            raise InputError(f"{name} must be an angle in degrees within ±720, got {v}")
    moved = transformed(atoms, yaw, pitch, roll, shuffle)
    perm = permutation_of(len(atoms), shuffle)
    base = point(calculator, atoms)
    now = point(calculator, moved)
    rot = rotation_matrix(yaw, pitch, roll)
    expected_forces = (base["forces"] @ rot.T)[perm]
    toy_ref = toy.predict(atoms.positions)
    toy_now = toy.predict(moved.positions)
    from molfit.primer._potential import symbols_of

    return {
        "numbers": moved.numbers.tolist(),
        "symbols": symbols_of(moved.numbers),
        "positions": moved.positions.tolist(),
        "permutation": perm.tolist(),
        "angles": {"yaw": yaw, "pitch": pitch, "roll": roll},
        "shuffle": shuffle,
        "potential": {"energy": now["energy"], "forces": now["forces"].tolist()},
        "toy": {"energy": toy_now},
        "reference": {"potential": base["energy"], "toy": toy_ref},
        "potential_delta": now["energy"] - base["energy"],
        "toy_delta": toy_now - toy_ref,
        "forces_rotated_error": float(np.abs(now["forces"] - expected_forces).max()),
        "toy_train_rmse": toy.train_rmse,
        "toy_seconds": toy.seconds,
    }
