"""DimeNet++: triplets against brute force, bases against scipy, forces, symmetry, smoothness."""

import itertools
import math

import numpy as np
import pytest
import torch
from ase.build import bulk
from scipy.special import eval_legendre, spherical_jn

from molfit.nn import Atomwise, DimeNetPP, SchNet, forces
from molfit.nn.atomistic._dimenet import (
    legendre,
    polynomial_envelope,
    spherical_bessel,
    spherical_bessel_zeros,
    triplet_cosines,
    triplets,
)
from molfit.structures import neighbor_list


class Energy(torch.nn.Module):
    """DimeNet++ with one output per atom, summed per structure: the paper's energy model."""

    def __init__(self, cutoff=5.0):
        super().__init__()
        self.net = DimeNetPP(
            n_features=16,
            n_blocks=2,
            int_emb_size=8,
            basis_emb_size=4,
            out_emb_channels=16,
            n_spherical=7,
            n_radial=6,
            cutoff=cutoff,
            n_out=1,
        )

    def forward(self, numbers, positions, batch=None, cell=None, pbc=None):
        per_atom = self.net(numbers, positions, batch, cell, pbc).squeeze(-1)
        if batch is None:
            batch = torch.zeros_like(numbers)
        n = int(batch.max()) + 1
        return per_atom.new_zeros(n).index_add(0, batch, per_atom)


def make(cutoff=5.0):
    torch.manual_seed(0)
    return Energy(cutoff).double()


def triplet_set(nl, t):
    """(k, j, i) atom triples of ``t``, checking that the two edges meet at j."""
    assert torch.equal(nl.i[t.kj], nl.j[t.ji])
    return sorted(zip(nl.j[t.kj].tolist(), nl.i[t.kj].tolist(), nl.i[t.ji].tolist(), strict=True))


@pytest.mark.parametrize("cutoff", [1.6, 2.6, 5.0])
def test_triplets_equal_brute_force_enumeration(cutoff, ethanol):
    _, positions = ethanol
    n = len(positions)
    nl = neighbor_list(positions, cutoff)
    d = torch.cdist(positions, positions)
    expected = sorted(
        (k, j, i)
        for i, j, k in itertools.product(range(n), repeat=3)
        if len({i, j, k}) == 3 and d[i, j] < cutoff and d[j, k] < cutoff
    )
    found = triplet_set(nl, triplets(nl, n))
    assert found == expected
    assert len(found) > 0
    if cutoff == 5.0:  # every atom of ethanol sees every other: n (n-1) (n-2) triplets
        assert len(found) == n * (n - 1) * (n - 2)


def test_triplet_angles_are_the_angles_at_the_middle_atom(ethanol):
    _, positions = ethanol
    nl = neighbor_list(positions, 5.0)
    t = triplets(nl, len(positions))
    k, j, i = nl.j[t.kj], nl.i[t.kj], nl.i[t.ji]
    a, b = positions[i] - positions[j], positions[k] - positions[j]
    expected = (a * b).sum(-1) / (a.norm(dim=-1) * b.norm(dim=-1))
    torch.testing.assert_close(triplet_cosines(nl, t), expected)
    # ethanol's C-C-O angle (atoms 0, 1, 2 in RDKit order) is near tetrahedral, not its supplement
    pick = (k == 0) & (j == 1) & (i == 2)
    angle = math.degrees(math.acos(float(triplet_cosines(nl, t)[pick])))
    assert 104.0 < angle < 115.0


def test_triplets_of_a_batch_never_cross_structures(aspirin, ethanol):
    numbers = torch.cat([aspirin[0], ethanol[0]])
    positions = torch.cat([aspirin[1], ethanol[1]])
    batch = torch.cat([torch.zeros(len(aspirin[0])), torch.ones(len(ethanol[0]))]).long()
    nl = neighbor_list(positions, 3.0, batch=batch)
    t = triplets(nl, len(numbers))
    k, j, i = nl.j[t.kj], nl.i[t.kj], nl.i[t.ji]
    assert torch.equal(batch[k], batch[i]) and torch.equal(batch[j], batch[i])
    alone = [
        triplet_set(nl1, triplets(nl1, len(z)))
        for z, p in (aspirin, ethanol)
        for nl1 in [neighbor_list(p, 3.0)]
    ]
    offset = len(aspirin[0])
    shifted = [(a + offset, b + offset, c + offset) for a, b, c in alone[1]]
    assert triplet_set(nl, t) == sorted(alone[0] + shifted)


def test_periodic_triplets_exclude_only_the_same_image():
    # fcc Cu, one atom per cell: every neighbour is an image of atom 0 itself
    atoms = bulk("Cu", "fcc", a=3.61)
    cell = torch.tensor(atoms.cell.array)
    nl = neighbor_list(torch.tensor(atoms.positions), 3.0, cell=cell)
    assert len(nl) == 12
    t = triplets(nl, 1)
    # brute force over images: j at offset a, k at offset a + b from i, k not i's own image
    found = sorted(
        (tuple(nl.shifts[ji].tolist()), tuple((nl.shifts[ji] + nl.shifts[kj]).tolist()))
        for kj, ji in zip(t.kj.tolist(), t.ji.tolist(), strict=True)
    )
    shifts = [tuple(s) for s in nl.shifts.tolist()]
    expected = sorted(
        (a, tuple(x + y for x, y in zip(a, b, strict=True)))
        for a in shifts
        for b in shifts
        if any(x + y for x, y in zip(a, b, strict=True))
    )
    assert found == expected
    assert len(found) == 12 * 11


def test_spherical_bessel_matches_scipy_in_float64_and_float32():
    x = torch.linspace(0.0, 40.0, 4001, dtype=torch.float64)
    for order in range(9):
        reference = torch.tensor(spherical_jn(order, x.numpy()))
        torch.testing.assert_close(spherical_bessel(x, order), reference, atol=1e-14, rtol=0)
        single = spherical_bessel(x.float(), order).double()
        torch.testing.assert_close(single, reference, atol=5e-7, rtol=0)
    # gradients are finite everywhere, x = 0 and the branch switch included
    x = torch.tensor([0.0, 1e-8, 0.5, 3.0, 3.0 + 1e-12, 7.0], requires_grad=True)
    (grad,) = torch.autograd.grad(sum(spherical_bessel(x, n).sum() for n in range(7)), x)
    assert torch.isfinite(grad).all()


def test_spherical_bessel_zeros_and_legendre():
    zeros = spherical_bessel_zeros(7, 6)
    np.testing.assert_allclose(zeros[0], np.pi * np.arange(1, 7))
    assert zeros[1, 0] == pytest.approx(4.493409457909064)  # tan x = x
    for order in range(7):
        assert np.abs(spherical_jn(order, zeros[order])).max() < 1e-12
        assert np.all(np.diff(zeros[order]) > 0)
    t = torch.linspace(-1, 1, 101, dtype=torch.float64)
    expected = np.stack([eval_legendre(n, t.numpy()) for n in range(7)], axis=-1)
    np.testing.assert_allclose(legendre(t, 7).numpy(), expected, atol=1e-14)


def test_envelope_vanishes_with_two_derivatives_at_one():
    x = torch.tensor([0.0, 0.5, 1.0, 1.2], dtype=torch.float64, requires_grad=True)
    u = polynomial_envelope(x, 5)
    values = u.detach()
    assert float(values[0]) == 1.0 and abs(float(values[2])) < 1e-14 and float(values[3]) == 0.0
    (du,) = torch.autograd.grad(u.sum(), x, create_graph=True)
    (d2u,) = torch.autograd.grad(du.sum(), x)
    du = du.detach()
    assert abs(float(du[2])) < 1e-12 and abs(float(d2u[2])) < 1e-10
    assert float(du[1]) < 0  # decreasing inside


def test_forces_match_finite_differences(ethanol):
    model = make()
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


def test_energy_invariant_forces_equivariant(aspirin, random_rotation):
    model = make()
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


def test_angles_matter_where_distances_do_not():
    # water with 1 Å bonds and a 1.5 Å cutoff: H...H (1.53 or 1.97 Å) is out of range, so only
    # the H-O-H angle differs; a distance-only model cannot tell the two apart, DimeNet++ can
    numbers = torch.tensor([8, 1, 1])

    def water(angle):
        a = math.radians(angle)
        return torch.tensor(
            [[0.0, 0.0, 0.0], [1.0, 0.0, 0.0], [math.cos(a), math.sin(a), 0.0]],
            dtype=torch.float64,
        )

    torch.manual_seed(0)
    schnet = SchNet(n_features=8, n_interactions=2, n_rbf=8, cutoff=1.5).double()
    s100, s160 = schnet(numbers, water(100.0)), schnet(numbers, water(160.0))
    torch.testing.assert_close(s100, s160)
    model = make(cutoff=1.5)
    with torch.no_grad():
        e100, e160 = model(numbers, water(100.0)), model(numbers, water(160.0))
    assert abs(float(e100 - e160)) > 1e-4 * abs(float(e100))


def test_energy_is_continuous_when_an_atom_crosses_the_cutoff(ethanol):
    cutoff = 4.0
    model = make(cutoff=cutoff)
    numbers, positions = ethanol
    direction = torch.tensor([1.0, 0.0, 0.0], dtype=torch.float64)
    far = positions[:, 0].argmax()
    numbers = torch.cat([numbers, torch.tensor([8])])

    def energy(gap):
        extra = positions[far] + gap * direction
        return float(model(numbers, torch.cat([positions, extra[None]]))[0].detach())

    extra = positions[far] + cutoff * direction
    assert torch.linalg.norm(positions - extra, dim=1).min() == pytest.approx(cutoff)
    outside = energy(cutoff + 1e-4)
    jump = abs(energy(cutoff - 1e-4) - outside)
    interaction = abs(energy(cutoff - 1.0) - outside)
    assert interaction > 1e-6
    # the envelope vanishes with two derivatives: weight ~ h^3 at h = 1e-4 Å from the cutoff;
    # any term with a bias that escapes the envelope would jump by as much as the interaction
    assert jump < 1e-6 * interaction


def test_batch_of_molecules_equals_molecules_one_by_one(aspirin, ethanol):
    model = make()
    numbers = torch.cat([aspirin[0], ethanol[0]])
    positions = torch.cat([aspirin[1], ethanol[1]])  # overlapping: must not interact
    batch = torch.cat([torch.zeros(len(aspirin[0])), torch.ones(len(ethanol[0]))]).long()
    together = model(numbers, positions, batch)
    assert together.shape == (2,)
    torch.testing.assert_close(together[0], model(*aspirin)[0])
    torch.testing.assert_close(together[1], model(*ethanol)[0])


def test_periodic_supercell_energy_is_extensive():
    # cutoff 5 Å > the 2.55 Å primitive cell: images beyond the minimum image, atoms that are
    # their own neighbours, and triplets whose k is another image of i
    model = make()
    primitive = bulk("Cu", "fcc", a=3.61)
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


def test_features_feed_an_atomwise_readout_and_accept_a_neighbor_list(aspirin):
    torch.manual_seed(0)
    net = DimeNetPP(
        n_features=12, n_blocks=1, int_emb_size=4, basis_emb_size=2, out_emb_channels=8
    ).double()
    numbers, positions = aspirin
    features = net(numbers, positions)
    assert net.n_out == 12 and features.shape == (len(numbers), 12)
    nl = neighbor_list(positions, net.cutoff)
    torch.testing.assert_close(net(numbers, nl), features)
    readout = Atomwise(net.n_out, activation="silu").double()
    energy = readout(features, numbers)
    energy.sum().backward()
    # every parameter receives a gradient: no block is disconnected from the output
    missing = [name for name, p in net.named_parameters() if p.grad is None or not p.grad.any()]
    assert missing == []


def reference_forward(net, numbers, positions):
    """DimeNet++ written triplet by triplet from the paper's equations, with ``net``'s weights.

    Loops over atoms instead of gathering and scattering: checks the vectorised indexing.
    """
    n, cutoff = len(numbers), net.cutoff
    d = torch.cdist(positions, positions)
    edges = [(i, j) for i in range(n) for j in range(n) if i != j and d[i, j] < cutoff]

    def rbf(i, j):
        return net.rbf(d[i, j].reshape(1))[0]

    def sbf(k, j, i):  # distance of edge k -> j, angle at j
        a, b = positions[i] - positions[j], positions[k] - positions[j]
        cos = (a @ b) / (a.norm() * b.norm())
        return net.sbf(net.sbf.radial(d[j, k].reshape(1)), cos.reshape(1))[0]

    emb, act = net.embedding, torch.nn.functional.silu
    x = emb.embedding(numbers)
    m = {
        (i, j): act(emb.lin(torch.cat([x[i], x[j], act(emb.lin_rbf(rbf(i, j)))]))) for i, j in edges
    }

    def output(block):
        atoms = []
        for i in range(n):
            pooled = sum((block.lin_rbf(rbf(i, j)) * m[i, j] for a, j in edges if a == i), 0.0)
            atoms.append(block.out(block.mlp(block.up(pooled * torch.ones(net.n_features)))))
        return torch.stack(atoms)

    out = output(net.outputs[0])
    for block, out_block in zip(net.interactions, net.outputs[1:], strict=True):
        new = {}
        for i, j in edges:
            incoming = sum(
                (
                    act(block.down(act(block.lin_kj(m[j, k])) * block.rbf(rbf(j, k))))
                    * block.sbf(sbf(k, j, i))
                    for centre, k in edges
                    if centre == j and k != i
                ),
                0.0,
            )
            h = act(block.lin_ji(m[i, j])) + act(block.up(incoming))
            h = act(block.lin(block.before_skip(h))) + m[i, j]
            new[i, j] = block.after_skip(h)
        m = new
        out = out + output(out_block)
    return out


def test_vectorised_forward_equals_a_triplet_by_triplet_reference(ethanol):
    torch.manual_seed(0)
    net = DimeNetPP(
        n_features=6,
        n_blocks=2,
        int_emb_size=3,
        basis_emb_size=2,
        out_emb_channels=5,
        n_spherical=3,
        n_radial=3,
        cutoff=2.6,  # not every pair: some atoms have neighbours the others do not see
        n_out=2,
    ).double()
    numbers, positions = ethanol
    with torch.no_grad():
        expected = reference_forward(net, numbers, positions)
        found = net(numbers, positions)
    assert found.shape == (len(numbers), 2)
    torch.testing.assert_close(found, expected, atol=1e-12, rtol=1e-10)
