"""SchNet and PaiNN: autograd forces, symmetry, smoothness at the cutoff, readout, radial bases."""

import math

import pytest
import torch
from ase.build import bulk

from molfit.nn import (
    Atomwise,
    BesselRBF,
    GaussianRBF,
    PaiNN,
    SchNet,
    cosine_cutoff,
    forces,
)
from molfit.structures import neighbor_list


class Energy(torch.nn.Module):
    """Representation + atomwise sum: (numbers, positions, batch) -> (n_structures,) eV."""

    def __init__(self, representation):
        super().__init__()
        self.representation = representation
        self.readout = Atomwise(representation.n_features, activation="silu")

    def forward(self, numbers, positions, batch=None, cell=None, pbc=None):
        out = self.representation(numbers, positions, batch, cell, pbc)
        features = out[0] if isinstance(out, tuple) else out
        return self.readout(features, numbers, batch)


def make(kind, cutoff=5.0):
    torch.manual_seed(0)
    if kind == "schnet":
        net = SchNet(n_features=16, n_interactions=2, n_rbf=12, cutoff=cutoff)
    else:
        net = PaiNN(n_features=16, n_interactions=2, n_rbf=12, cutoff=cutoff)
    return Energy(net).double()


@pytest.mark.parametrize("kind", ["schnet", "painn"])
def test_forces_match_finite_differences(kind, ethanol):
    model = make(kind)
    numbers, positions = ethanol
    positions = positions.clone().requires_grad_(True)
    f = forces(model(numbers, positions), positions)
    h = 1e-5
    numeric = torch.zeros_like(positions)
    with torch.no_grad():
        for a in range(positions.shape[0]):
            for x in range(3):
                plus, minus = positions.clone(), positions.clone()
                plus[a, x] += h
                minus[a, x] -= h
                numeric[a, x] = -(model(numbers, plus) - model(numbers, minus)).sum() / (2 * h)
    assert f.abs().max() > 1e-3  # the test means something: forces are not all zero
    torch.testing.assert_close(f, numeric, atol=1e-7, rtol=1e-5)


@pytest.mark.parametrize("kind", ["schnet", "painn"])
def test_energy_invariant_forces_equivariant(kind, aspirin, random_rotation):
    model = make(kind)
    numbers, positions = aspirin
    rotation = random_rotation(1)
    translation = torch.tensor([3.0, -7.5, 0.25], dtype=torch.float64)
    perm = torch.randperm(len(numbers), generator=torch.Generator().manual_seed(2))

    p0 = positions.clone().requires_grad_(True)
    e0 = model(numbers, p0)
    f0 = forces(e0, p0)
    p1 = (positions @ rotation.T + translation)[perm].clone().requires_grad_(True)
    e1 = model(numbers[perm], p1)
    f1 = forces(e1, p1)
    torch.testing.assert_close(e1, e0, atol=1e-10, rtol=1e-10)
    torch.testing.assert_close(f1, (f0 @ rotation.T)[perm], atol=1e-10, rtol=1e-8)
    assert f0.abs().max() > 1e-3


def test_painn_vectors_rotate_and_scalars_do_not(aspirin, random_rotation):
    torch.manual_seed(0)
    net = PaiNN(n_features=8, n_interactions=2, n_rbf=10, cutoff=5.0).double()
    numbers, positions = aspirin
    rotation = random_rotation(5)
    s0, v0 = net(numbers, positions)
    s1, v1 = net(numbers, positions @ rotation.T)
    torch.testing.assert_close(s1, s0, atol=1e-10, rtol=1e-10)
    torch.testing.assert_close(v1, torch.einsum("xy,ayf->axf", rotation, v0), atol=1e-10, rtol=1e-8)
    assert v0.abs().max() > 1e-3  # vectors are really used, not identically zero


@pytest.mark.parametrize("kind", ["schnet", "painn"])
def test_energy_is_continuous_when_an_atom_crosses_the_cutoff(kind, ethanol):
    cutoff = 4.0
    model = make(kind, cutoff=cutoff)
    numbers, positions = ethanol
    # a water-like oxygen approaching along x until it is exactly `cutoff` from the nearest atom
    direction = torch.tensor([1.0, 0.0, 0.0], dtype=torch.float64)
    far = positions[:, 0].argmax()
    numbers = torch.cat([numbers, torch.tensor([8])])

    def energy(gap):
        extra = positions[far] + gap * direction
        return float(model(numbers, torch.cat([positions, extra[None]]))[0].detach())

    # nearest atom to the newcomer is `far` only if no other atom is closer: check the geometry
    extra = positions[far] + cutoff * direction
    assert torch.linalg.norm(positions - extra, dim=1).min() == pytest.approx(cutoff)
    outside = energy(cutoff + 1e-4)
    jump = abs(energy(cutoff - 1e-4) - outside)
    interaction = abs(energy(cutoff - 1.0) - outside)  # the newcomer does interact inside
    assert interaction > 1e-6
    # cosine cutoff: weight (pi h / 2 rc)^2 ~ 2e-9 at h = 1e-4 Å against 0.15 at h = 1 Å; a
    # filter bias that escaped the cutoff would make the jump as large as the interaction
    assert jump < 1e-4 * interaction


@pytest.mark.parametrize("kind", ["schnet", "painn"])
def test_batch_of_molecules_equals_molecules_one_by_one(kind, aspirin, ethanol):
    model = make(kind)
    numbers = torch.cat([aspirin[0], ethanol[0]])
    positions = torch.cat([aspirin[1], ethanol[1]])  # overlapping: must not interact
    batch = torch.cat([torch.zeros(len(aspirin[0])), torch.ones(len(ethanol[0]))]).long()
    together = model(numbers, positions, batch)
    assert together.shape == (2,)
    torch.testing.assert_close(together[0], model(*aspirin)[0])
    torch.testing.assert_close(together[1], model(*ethanol)[0])


@pytest.mark.parametrize("kind", ["schnet", "painn"])
def test_periodic_supercell_energy_is_extensive(kind):
    # cutoff 5 Å > the 2.55 Å primitive cell: needs images beyond the minimum image
    model = make(kind)
    primitive = bulk("Cu", "fcc", a=3.61)
    primitive.rattle(0.0)
    super_ = primitive.repeat((2, 2, 2))
    e1 = model(
        torch.tensor(primitive.numbers),
        torch.tensor(primitive.positions),
        cell=torch.tensor(primitive.cell.array),
    )
    e8 = model(
        torch.tensor(super_.numbers),
        torch.tensor(super_.positions),
        cell=torch.tensor(super_.cell.array),
    )
    torch.testing.assert_close(e8, 8 * e1)


def test_precomputed_neighbor_list_gives_the_same_features(aspirin):
    torch.manual_seed(0)
    net = SchNet(n_features=8, n_interactions=2, n_rbf=10, cutoff=5.0).double()
    numbers, positions = aspirin
    nl = neighbor_list(positions, 5.0)
    torch.testing.assert_close(net(numbers, nl), net(numbers, positions))


def test_atomwise_mean_scaling_and_atomrefs():
    torch.manual_seed(0)
    readout = Atomwise(4, aggregation="sum", mean=2.0, std=3.0).double()
    features = torch.randn(5, 4, dtype=torch.float64)
    numbers = torch.tensor([6, 1, 1, 8, 1])
    batch = torch.tensor([0, 0, 0, 1, 1])
    raw = readout.mlp(features).squeeze(-1)
    expected = torch.stack([(raw[:3] * 3 + 2).sum(), (raw[3:] * 3 + 2).sum()])
    torch.testing.assert_close(readout(features, numbers, batch), expected)

    atomref = torch.zeros(10, dtype=torch.float64)
    atomref[1], atomref[6], atomref[8] = -13.6, -1029.8, -2043.9  # eV, free atoms
    with_ref = Atomwise(4, aggregation="sum", atomref=atomref).double()
    with_ref.load_state_dict(readout.state_dict() | {"atomref": atomref}, strict=True)
    shift = torch.tensor([-1029.8 - 2 * 13.6, -2043.9 - 13.6], dtype=torch.float64)
    torch.testing.assert_close(with_ref(features, numbers, batch), expected + shift)

    mean = Atomwise(4, aggregation="mean").double()
    raw = mean.mlp(features).squeeze(-1)
    torch.testing.assert_close(
        mean(features, numbers, batch), torch.stack([raw[:3].mean(), raw[3:].mean()])
    )


def test_forces_need_positions_that_require_grad(ethanol):
    with pytest.raises(ValueError, match="requires_grad"):
        forces(torch.zeros(1), ethanol[1])


def test_forces_keep_the_graph_for_force_training(ethanol):
    model = make("schnet")
    numbers, positions = ethanol
    positions = positions.clone().requires_grad_(True)
    f = forces(model(numbers, positions), positions, training=True)
    f.pow(2).sum().backward()  # a force loss reaches the weights
    grads = [p.grad for p in model.parameters() if p.grad is not None]
    assert grads and any(g.abs().max() > 0 for g in grads)


def test_cosine_cutoff_values_and_slope():
    d = torch.tensor([0.0, 2.5, 5.0, 6.0], dtype=torch.float64, requires_grad=True)
    fc = cosine_cutoff(d, 5.0)
    torch.testing.assert_close(fc, torch.tensor([1.0, 0.5, 0.0, 0.0], dtype=torch.float64))
    (slope,) = torch.autograd.grad(fc.sum(), d)
    assert abs(float(slope[2])) < 1e-12  # zero slope at the cutoff: smooth forces
    assert float(slope[1]) == pytest.approx(-math.pi / 10)


def test_gaussian_and_bessel_bases():
    rbf = GaussianRBF(11, cutoff=5.0)
    out = rbf(torch.tensor([0.0, 2.5]))
    assert out.shape == (2, 11)
    assert out[0, 0] == 1.0 and out[1, 5] == 1.0  # centres at 0, 0.5, ..., 5 Å
    assert float(out[1, 6]) == pytest.approx(math.exp(-0.5))  # width = spacing
    bessel = BesselRBF(3, cutoff=5.0)
    d = torch.tensor([0.0, 1.0])
    expected = torch.tensor(
        [[k * math.pi / 5 for k in (1, 2, 3)], [math.sin(k * math.pi / 5) for k in (1, 2, 3)]]
    )
    torch.testing.assert_close(bessel(d), expected)
