"""The GCN: symmetric-normalised graph convolutions, mean pooling, linear head."""

from __future__ import annotations

import torch

from molfit.chem._graph import GraphFeaturizer, collate_graphs
from molfit.nn import GCN

FEAT = GraphFeaturizer()


def test_first_layer_is_the_normalised_adjacency_product() -> None:
    torch.manual_seed(0)
    model = GCN(FEAT.atom_dim, hidden=5, n_layers=1).eval()
    b = collate_graphs([FEAT("CC(O)N")])  # C1 has 3 neighbours, the others 1
    n = b.num_nodes
    adj = torch.eye(n)
    adj[b.edge_index[0], b.edge_index[1]] = 1.0
    d = adj.sum(1).rsqrt()
    norm = d[:, None] * adj * d[None, :]
    conv = model.convs[0]
    expected = torch.relu(norm @ conv.lin(b.x) + conv.bias)
    torch.testing.assert_close(model.atom_embeddings(b), expected, rtol=1e-5, atol=1e-6)
    pooled = expected.mean(0, keepdim=True)
    torch.testing.assert_close(model(b), model.predictor(pooled))


def test_batching_and_atom_order_do_not_change_predictions() -> None:
    torch.manual_seed(0)
    model = GCN(FEAT.atom_dim, n_tasks=2).eval()
    alone = model(collate_graphs([FEAT("OCC(N)c1ccccc1")]))
    reordered = model(collate_graphs([FEAT("c1ccc(cc1)C(N)CO")]))
    batched = model(collate_graphs([FEAT("C"), FEAT("OCC(N)c1ccccc1"), FEAT("CCCCCC")]))
    torch.testing.assert_close(alone, reordered, rtol=1e-5, atol=1e-6)
    torch.testing.assert_close(batched[1:2], alone, rtol=1e-5, atol=1e-6)
    assert batched.shape == (3, 2)


def test_gcn_learns_to_count_atoms() -> None:
    torch.manual_seed(0)
    smiles = ["C" * k for k in range(1, 9)] + ["O" + "C" * k for k in range(1, 9)]
    graphs = [FEAT(s) for s in smiles]
    y = torch.tensor([[float(g.n_atoms)] for g in graphs])
    model = GCN(FEAT.atom_dim, hidden=16, aggregation="sum")
    opt = torch.optim.Adam(model.parameters(), lr=0.02)
    b = collate_graphs(graphs)
    first = None
    for _ in range(150):
        opt.zero_grad()
        loss = torch.nn.functional.mse_loss(model(b), y)
        loss.backward()
        opt.step()
        first = first if first is not None else loss.item()
    assert loss.item() < 0.02 * first
