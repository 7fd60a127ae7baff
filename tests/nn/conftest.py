"""Real molecules (ETKDG + MMFF conformers) and random rotations shared by the 3D layer tests."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from molfit.structures import conformer_geometry

ASPIRIN = "CC(=O)Oc1ccccc1C(=O)O"
ETHANOL = "CCO"


@pytest.fixture(scope="module")
def aspirin():
    numbers, positions = conformer_geometry(ASPIRIN)
    return torch.tensor(numbers), torch.tensor(positions)


@pytest.fixture(scope="module")
def ethanol():
    numbers, positions = conformer_geometry(ETHANOL)
    return torch.tensor(numbers), torch.tensor(positions)


def _random_rotation(seed: int) -> torch.Tensor:
    """A proper rotation matrix (det +1), ``(3, 3)`` float64, drawn with ``seed``."""
    q, r = np.linalg.qr(np.random.default_rng(seed).normal(size=(3, 3)))
    q = q * np.sign(np.diag(r))
    if np.linalg.det(q) < 0:
        q[:, 0] = -q[:, 0]
    return torch.tensor(q)


@pytest.fixture
def random_rotation():
    """``random_rotation(seed)``: a seeded proper rotation matrix."""
    return _random_rotation
