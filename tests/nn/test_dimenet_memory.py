"""DimeNet++ memory: triplet counts and the tensors autograd keeps scale as the formulas say."""

from __future__ import annotations

import torch
from ase.build import molecule

from molfit.nn import DimeNetPP
from molfit.nn.atomistic._dimenet import SphericalBasis, spherical_bessel, triplets
from molfit.structures import neighbor_list


def _saved_bytes(fn) -> tuple[int, object]:
    """Bytes of the tensors autograd saves for the backward pass while ``fn()`` runs."""
    total = 0

    def pack(t: torch.Tensor) -> torch.Tensor:
        nonlocal total
        total += t.numel() * t.element_size()
        return t

    with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
        out = fn()
    return total, out


def _batch(names: list[str]):
    pos, num, batch = [], [], []
    for k, name in enumerate(names):
        atoms = molecule(name)
        pos.append(torch.tensor(atoms.positions))
        num.append(torch.tensor(atoms.numbers))
        batch.append(torch.full((len(atoms),), k))
    return torch.cat(num), torch.cat(pos), torch.cat(batch)


def test_triplet_count_is_sum_of_degree_pairs_and_additive_over_a_batch() -> None:
    names = ["C6H6", "CH3CH2OH", "H2O"]
    num, pos, batch = _batch(names)
    nl = neighbor_list(pos, 3.0, batch=batch)
    degree = torch.bincount(nl.i, minlength=len(num))
    # each edge j -> i meets every edge k -> j except the one back from i: deg(j) - 1 of them
    expected = int((degree * (degree - 1)).sum())
    assert len(triplets(nl, len(num))) == expected
    singles = 0
    for name in names:
        n, p, b = _batch([name])
        singles += len(triplets(neighbor_list(p, 3.0, batch=b), len(n)))
    assert singles == expected  # no triplet crosses molecules


def test_spherical_radial_part_keeps_per_pair_inputs_not_series_terms() -> None:
    basis = SphericalBasis(n_spherical=7, n_radial=20, cutoff=5.0).double()
    d = torch.linspace(0.5, 4.9, 1000, dtype=torch.float64, requires_grad=True)
    saved, out = _saved_bytes(lambda: basis.radial(d))
    out_bytes = out.numel() * out.element_size()
    # the 25-term power series used to keep ~3 tensors per term and order (~75x the output)
    assert saved <= 6 * out_bytes
    (g,) = torch.autograd.grad(out.sum(), d)
    assert torch.isfinite(g).all()


def test_spherical_bessel_derivative_matches_finite_differences() -> None:
    x = torch.linspace(0.05, 14.0, 200, dtype=torch.float64, requires_grad=True)
    h = 1e-6
    for order in range(6):
        (g,) = torch.autograd.grad(spherical_bessel(x, order).sum(), x, create_graph=True)
        fd = (spherical_bessel(x + h, order) - spherical_bessel(x - h, order)) / (2 * h)
        torch.testing.assert_close(g, fd, atol=1e-8, rtol=0)
        (gg,) = torch.autograd.grad(g.sum(), x)
        fd2 = (
            spherical_bessel(x + h, order)
            - 2 * spherical_bessel(x, order)
            + spherical_bessel(x - h, order)
        ) / h**2
        torch.testing.assert_close(gg, fd2, atol=1e-3, rtol=0)


def test_block_checkpointing_keeps_less_and_gives_the_same_forces_and_gradients() -> None:
    torch.manual_seed(0)
    num, pos, batch = _batch(["CH3CH2OH", "C6H6"])
    pos = pos.clone().requires_grad_(True)
    net = DimeNetPP(n_features=32, n_blocks=3, n_radial=6, n_out=1).double().train()

    def run(checkpoint: bool):
        net.checkpoint_blocks = checkpoint
        net.zero_grad()
        saved, energy = _saved_bytes(lambda: net(num, pos, batch=batch).sum())
        (forces,) = torch.autograd.grad(-energy, pos, create_graph=True)
        (forces.pow(2).sum() + energy).backward()  # an energy + force loss
        return saved, energy.detach(), forces.detach(), [p.grad.clone() for p in net.parameters()]

    saved_ckpt, e1, f1, g1 = run(True)
    saved_full, e2, f2, g2 = run(False)
    assert saved_ckpt < 0.5 * saved_full
    torch.testing.assert_close(e1, e2)
    torch.testing.assert_close(f1, f2)
    for a, b in zip(g1, g2, strict=True):
        torch.testing.assert_close(a, b)
