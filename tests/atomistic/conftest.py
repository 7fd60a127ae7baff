"""Shared by the atomistic tests: xTB frames of ethanol made with molfit's own sampler, and
small potentials trained on them once per test session."""

from __future__ import annotations

import pytest
from ase import Atoms

from molfit.atomistic import read_frames, sample
from molfit.models import get_model
from molfit.structures import Structures
from molfit.train import Runtime

QUIET = Runtime(progress_bar=False)


@pytest.fixture(scope="session")
def ethanol(tmp_path_factory: pytest.TempPathFactory) -> list[Atoms]:
    """60 frames of xTB Langevin MD of ethanol at 600 K, made with molfit's own sampler."""
    out = tmp_path_factory.mktemp("md") / "ethanol.extxyz"
    sample("CCO", out, temperature=600, steps=600, every=10, seed=0, progress=False)
    return read_frames(out)


@pytest.fixture(scope="session")
def potentials(ethanol: list[Atoms]) -> dict[str, object]:
    structures = Structures.from_atoms(ethanol)
    tiny = dict(n_features=16, n_interactions=2, n_rbf=8, cutoff=4.0, epochs=8, batch_size=10)
    out = {}
    for name, extra in (("equivariant", {"l_max": 2}), ("painn", {"ensemble": 2})):
        model = get_model(name, **tiny, **extra, lr=3e-3)
        out[name] = model.fit(structures, None, runtime=QUIET)
    return out
