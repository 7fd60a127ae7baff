"""The Cartesian l<=2 equivariant network: invariant outputs under rotations, reflections,
translations and permutations; forces are the exact gradient; smooth at the cutoff."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from molfit.nn.atomistic import EquivariantNet
from molfit.structures import conformer_geometry, neighbor_list

ASPIRIN = "CC(=O)OC1=CC=CC=C1C(=O)O"


@pytest.fixture(scope="module")
def aspirin() -> tuple[torch.Tensor, torch.Tensor]:
    numbers, positions = conformer_geometry(ASPIRIN, seed=0)
    return torch.as_tensor(numbers), torch.as_tensor(positions, dtype=torch.float64)


def _net(seed: int = 0, l_max: int = 2) -> EquivariantNet:
    torch.manual_seed(seed)
    net = EquivariantNet(n_features=8, n_interactions=2, cutoff=4.0, l_max=l_max).double()
    # non-zero everywhere: the default init leaves nothing trivially zero, but make sure the
    # vector and matrix channels matter for the output
    with torch.no_grad():
        for p in net.parameters():
            p.add_(0.05 * torch.randn_like(p))
    return net


def _features(net: EquivariantNet, numbers: torch.Tensor, pos: torch.Tensor) -> torch.Tensor:
    return net(numbers, neighbor_list(pos, net.cutoff))


def _orthogonal(seed: int, reflect: bool) -> torch.Tensor:
    q, _ = np.linalg.qr(np.random.default_rng(seed).normal(size=(3, 3)))
    if (np.linalg.det(q) < 0) != reflect:
        q[:, 0] *= -1
    return torch.as_tensor(q, dtype=torch.float64)


@pytest.mark.parametrize("l_max", [1, 2])
@pytest.mark.parametrize("reflect", [False, True])
def test_features_are_invariant_under_rotation_and_reflection(
    aspirin, reflect: bool, l_max: int
) -> None:
    numbers, pos = aspirin
    net = _net(l_max=l_max)
    q = _orthogonal(1, reflect)
    shift = torch.tensor([1.5, -2.0, 0.7], dtype=torch.float64)
    ref = _features(net, numbers, pos)
    moved = _features(net, numbers, pos @ q.T + shift)
    assert ref.abs().max() > 1e-3
    torch.testing.assert_close(moved, ref, atol=1e-10, rtol=1e-9)


def test_features_follow_a_permutation_of_the_atoms(aspirin) -> None:
    numbers, pos = aspirin
    net = _net()
    perm = torch.as_tensor(np.random.default_rng(2).permutation(len(numbers)))
    ref = _features(net, numbers, pos)
    torch.testing.assert_close(_features(net, numbers[perm], pos[perm]), ref[perm])


def test_vector_and_matrix_channels_reach_the_output(aspirin) -> None:
    """Three-body terms matter: a network whose l=1, l=2 couplings are zeroed gives other
    invariants (so the invariance test above is not passed by scalars alone)."""
    numbers, pos = aspirin
    net = _net()
    ref = _features(net, numbers, pos)
    with torch.no_grad():
        for block in net.blocks:
            block.radial[-1].weight.view(9, -1, block.radial[-1].weight.shape[1])[1:].zero_()
    assert (_features(net, numbers, pos) - ref).abs().max() > 1e-4


def test_energy_gradient_matches_finite_differences(aspirin) -> None:
    numbers, pos = aspirin
    net = _net()
    readout = torch.randn(
        net.n_out, dtype=torch.float64, generator=torch.Generator().manual_seed(3)
    )
    pos = pos.clone().requires_grad_(True)
    energy = (_features(net, numbers, pos) @ readout).sum()
    (grad,) = torch.autograd.grad(energy, pos)
    h = 1e-5
    for atom, axis in [(0, 0), (5, 1), (12, 2), (20, 0)]:
        plus, minus = pos.detach().clone(), pos.detach().clone()
        plus[atom, axis] += h
        minus[atom, axis] -= h
        fd = ((_features(net, numbers, plus) - _features(net, numbers, minus)) @ readout).sum()
        numeric = float(fd.detach()) / (2 * h)
        assert float(grad[atom, axis]) == pytest.approx(numeric, rel=1e-5, abs=1e-8)


def test_features_are_smooth_as_an_atom_crosses_the_cutoff() -> None:
    net = _net()
    numbers = torch.tensor([8, 1])
    inside = torch.tensor([[0.0, 0, 0], [net.cutoff - 1e-4, 0, 0]], dtype=torch.float64)
    outside = torch.tensor([[0.0, 0, 0], [net.cutoff + 1e-4, 0, 0]], dtype=torch.float64)
    gap = (_features(net, numbers, inside) - _features(net, numbers, outside)).abs().max()
    assert gap < 1e-6
