"""The D-MPNN layers: directed messages skip the reverse bond, pooling, invariance to atom order."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from molfit.chem._graph import GraphFeaturizer, collate_graphs
from molfit.nn import DMPNN, BondMessagePassing, aggregate

FEAT = GraphFeaturizer()


def _reference_message_passing(mp: BondMessagePassing, x, edge_index, edge_attr) -> torch.Tensor:
    """The D-MPNN equations written as explicit loops over directed bonds."""
    src, dst = edge_index.tolist()
    n_edges = len(src)
    # the skip term is W_i's output before the ReLU (ChemProp's code), not h0 itself
    a = [mp.W_i(torch.cat([x[src[e]], edge_attr[e]])) for e in range(n_edges)]
    h = [torch.relu(a_e) for a_e in a]
    for _ in range(mp.depth - 1):
        new = []
        for e in range(n_edges):
            v, w = src[e], dst[e]
            # messages into v from every neighbour k except w
            m = sum(
                (h[k] for k in range(n_edges) if dst[k] == v and src[k] != w),
                torch.zeros(mp.hidden),
            )
            new.append(torch.relu(a[e] + mp.W_h(m)))
        h = new
    atoms = []
    for v in range(x.shape[0]):
        incoming = sum((h[k] for k in range(n_edges) if dst[k] == v), torch.zeros(mp.hidden))
        atoms.append(torch.relu(mp.W_o(torch.cat([x[v], incoming]))))
    return torch.stack(atoms)


@pytest.mark.parametrize("smiles", ["CC(=O)Oc1ccccc1C(=O)O", "C1CC1N", "CCO"])
def test_message_passing_matches_the_equations(smiles: str) -> None:
    torch.manual_seed(0)
    mp = BondMessagePassing(FEAT.atom_dim, FEAT.bond_dim, hidden=8, depth=3).eval()
    b = collate_graphs([FEAT(smiles)])
    fast = mp(b.x, b.edge_index, b.edge_attr, b.rev_index)
    slow = _reference_message_passing(mp, b.x, b.edge_index, b.edge_attr)
    torch.testing.assert_close(fast, slow, rtol=1e-5, atol=1e-5)


def test_message_to_the_reverse_bond_is_excluded() -> None:
    # ethane: with the reverse excluded, depth 2 messages on C-C have no neighbours to collect
    torch.manual_seed(0)
    mp = BondMessagePassing(FEAT.atom_dim, FEAT.bond_dim, hidden=4, depth=2).eval()
    b = collate_graphs([FEAT("CC")])
    h0 = torch.relu(mp.W_i(torch.cat([b.x[b.edge_index[0]], b.edge_attr], 1)))
    atoms = mp(b.x, b.edge_index, b.edge_attr, b.rev_index)
    # h1 = relu(h0 + W_h 0) = h0, then atom 1 receives h0 of edge 0 (0 -> 1)
    expected = torch.relu(mp.W_o(torch.cat([b.x[1], h0[0]])))
    torch.testing.assert_close(atoms[1], expected)


def test_prediction_does_not_depend_on_atom_order_or_batch_neighbours() -> None:
    torch.manual_seed(0)
    model = DMPNN(FEAT.atom_dim, FEAT.bond_dim, n_tasks=2, hidden=16).eval()
    a = model(collate_graphs([FEAT("OCC(N)c1ccccc1")]))
    b = model(collate_graphs([FEAT("c1ccc(cc1)C(N)CO")]))  # same molecule, other atom order
    torch.testing.assert_close(a, b, rtol=1e-5, atol=1e-6)
    batched = model(collate_graphs([FEAT("CCCl"), FEAT("OCC(N)c1ccccc1"), FEAT("[Na+]")]))
    torch.testing.assert_close(batched[1], a[0], rtol=1e-5, atol=1e-6)
    assert batched.shape == (3, 2)


def test_aggregations() -> None:
    h = torch.tensor([[1.0, 2.0], [3.0, 4.0], [10.0, 0.0]])
    batch = torch.tensor([0, 0, 1])
    assert aggregate(h, batch, 2, "sum").tolist() == [[4.0, 6.0], [10.0, 0.0]]
    assert aggregate(h, batch, 2, "mean").tolist() == [[2.0, 3.0], [10.0, 0.0]]
    assert aggregate(h, batch, 2, "norm", norm=2.0).tolist() == [[2.0, 3.0], [5.0, 0.0]]
    both = aggregate(h, batch, 2, "mean+norm", norm=2.0).tolist()
    assert both == [[2.0, 3.0, 2.0, 3.0], [10.0, 0.0, 5.0, 0.0]]
    with pytest.raises(ValueError, match="aggregation"):
        aggregate(h, batch, 2, "max")


def test_mean_and_norm_pooling_tells_a_molecule_from_its_doubled_self() -> None:
    """Mean pooling gives ethanol and two ethanols ("CCO.CCO") the same molecule vector;
    mean+norm keeps the mean and adds the size."""
    torch.manual_seed(0)
    model = DMPNN(FEAT.atom_dim, FEAT.bond_dim, hidden=8, aggregation="mean+norm").eval()
    mean_only = DMPNN(FEAT.atom_dim, FEAT.bond_dim, hidden=8, aggregation="mean").eval()
    mean_only.message_passing.load_state_dict(model.message_passing.state_dict())
    b = collate_graphs([FEAT("CCO"), FEAT("CCO.CCO")])
    z, z_mean = model.embed(b), mean_only.embed(b)
    assert z.shape == (2, 16) and z_mean.shape == (2, 8)
    assert torch.allclose(z[:, :8], z_mean) and torch.allclose(z_mean[0], z_mean[1])
    assert torch.allclose(z[1, 8:], 2 * z[0, 8:]) and not torch.allclose(z[0], z[1])
    assert model(b).shape == (2, 1)


def test_descriptors_are_concatenated_before_the_head() -> None:
    torch.manual_seed(0)
    model = DMPNN(FEAT.atom_dim, FEAT.bond_dim, hidden=8, n_descriptors=3).eval()
    b = collate_graphs([FEAT("CCO"), FEAT("CCN")])
    d = torch.tensor([[0.0, 1.0, 2.0], [3.0, 4.0, 5.0]])
    z = model.embed(b, d)
    assert z.shape == (2, 11)
    assert torch.equal(z[:, 8:], d)
    assert not torch.allclose(model(b, d), model(b, torch.zeros_like(d)))
    with pytest.raises(ValueError, match="descriptors"):
        model(b)


def test_mean_variance_head_gives_positive_variance() -> None:
    torch.manual_seed(0)
    model = DMPNN(FEAT.atom_dim, FEAT.bond_dim, n_tasks=3, hidden=8, mean_variance=True)
    out = model(collate_graphs([FEAT(s) for s in ("CCO", "c1ccccc1", "CC(=O)N")]))
    assert out.shape == (3, 3, 2)
    assert (out[..., 1] > 0).all()
    assert np.isfinite(out.detach().numpy()).all()


def test_bucket_sizes_bound_padding_and_distinct_shapes() -> None:
    from molfit.nn._mpnn import bucket_size

    sizes = [bucket_size(n) for n in range(1, 20_000)]
    assert all(n <= s <= max(n + 1, int(n * 1.125) + 1) for n, s in enumerate(sizes, 1))
    # bond counts of 64-molecule batches span ~2,000-6,000: a handful of shapes, not thousands
    assert len({bucket_size(n) for n in range(2_000, 6_000)}) <= 14


def test_padded_graph_gives_the_same_atoms_and_gradients() -> None:
    """The padding used under bf16 autocast changes neither real outputs nor gradients."""
    from molfit.nn._mpnn import _pad_graph

    torch.manual_seed(0)
    mp = BondMessagePassing(FEAT.atom_dim, FEAT.bond_dim, hidden=16, depth=3)
    b = collate_graphs([FEAT(s) for s in ("CC(=O)Oc1ccccc1C(=O)O", "C1CC1N", "O=C=O")])
    plain = mp(b.x, b.edge_index, b.edge_attr, b.rev_index)
    grads = torch.autograd.grad(plain.square().sum(), list(mp.parameters()))
    px, pei, pea, prev = _pad_graph(b.x, b.edge_index, b.edge_attr, b.rev_index)
    assert px.shape[0] > b.x.shape[0] and pei.shape[1] >= b.edge_index.shape[1]
    assert torch.equal(prev[prev], torch.arange(len(prev)))  # still an involution
    padded = mp(px, pei, pea, prev)[: b.x.shape[0]]
    torch.testing.assert_close(padded, plain, rtol=1e-6, atol=1e-6)
    for g_pad, g in zip(
        torch.autograd.grad(padded.square().sum(), list(mp.parameters())), grads, strict=True
    ):
        torch.testing.assert_close(g_pad, g, rtol=1e-5, atol=1e-6)


def test_bf16_autocast_keeps_predictions_close_to_float32() -> None:
    torch.manual_seed(0)
    net = DMPNN(FEAT.atom_dim, FEAT.bond_dim, n_tasks=1, hidden=32).eval()
    b = collate_graphs([FEAT(s) for s in ("CC(=O)Oc1ccccc1C(=O)O", "CCN(CC)CC", "c1ccncc1")])
    with torch.no_grad():
        ref = net(b)
        with torch.autocast("cpu", dtype=torch.bfloat16):
            low = net(b).float()
    assert low.shape == ref.shape == (3, 1)
    torch.testing.assert_close(low, ref, rtol=0.05, atol=0.02)
