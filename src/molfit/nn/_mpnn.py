"""ChemProp's directed message-passing neural network (D-MPNN), in pure PyTorch.

The model reads in one line as ``predictor(aggregate(message_passing(G)))``. With atoms
``v, w``, atom features ``x_v``, bond features ``e_vw`` and the directed bond ``v -> w``:

.. math::

    a_{vw} &= W_i [x_v \\,\\|\\, e_{vw}], \\qquad h^0_{vw} = \\mathrm{ReLU}(a_{vw})        \\\\
    m^{t+1}_{vw} &= \\sum_{k \\in N(v) \\setminus \\{w\\}} h^t_{kv}
                 = \\Big(\\sum_{k \\to v} h^t_{kv}\\Big) - h^t_{wv}                     \\\\
    h^{t+1}_{vw} &= \\mathrm{ReLU}(a_{vw} + W_h m^{t+1}_{vw}),
                    \\quad t = 0 \\ldots \\mathrm{depth} - 2                          \\\\
    h_v &= \\mathrm{ReLU}(W_o [x_v \\,\\|\\, \\textstyle\\sum_{k \\to v} h^{T}_{kv}])  \\\\
    z_G &= \\mathrm{aggregate}_{v \\in G}(h_v) \\;\\|\\; d_G                          \\\\
    \\hat y &= \\mathrm{FFN}(z_G)

The skip term ``a_vw`` is the input product before its ReLU, as in ChemProp 2.3.1's code
(``BondMessagePassing.update``; its docstring writes ``h^0`` there). With the rectified ``h^0``
instead, the negative part of the input is lost at every update; on B3DB that cost 0.009
ROC-AUC against chemprop over four seeds (``benchmarks/RESULTS.md``).

Messages live on directed bonds so a message never flows straight back to the atom it came from
(the ``- h_{wv}`` term, using ``rev_index``: edge ``e``'s reverse). ``aggregate`` is the mean, the
sum, or the sum divided by a constant (``norm``, 100 by default); ``d_G`` are optional
molecule-level descriptors (already scaled) concatenated before the feed-forward head. Sums use
``Tensor.index_add_`` so no compiled scatter library is needed.

Graph inputs follow :class:`molfit.chem.GraphBatch`: ``x (n_atoms, atom_dim)``,
``edge_index (2, n_edges)`` (row 0 source, row 1 target), ``edge_attr (n_edges, bond_dim)``,
``rev_index (n_edges,)``, ``batch (n_atoms,)`` (molecule of each atom) and ``num_graphs``.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from molfit.nn._gemm import linear
from molfit.nn._heads import make_head

AGGREGATIONS = ("mean", "sum", "norm", "mean+norm")


def bucket_size(n: int, per_octave: int = 8) -> int:
    """``n`` rounded up to one of ``per_octave`` sizes per power of two (``1/per_octave`` more
    at most); ``per_octave`` must be a power of two.

    oneDNN's bfloat16 matrix kernels (AMX, AVX-512 BF16) are generated for each new shape; with
    batches of a few thousand bonds nearly every batch has a new shape, and generating kernels
    costs more than the products themselves (a B3DB training step: 53 ms on first sight of its
    shapes, 24 ms once cached). Padding rows to these buckets keeps the number of distinct
    shapes at ``per_octave`` per doubling of batch size, so the kernels stay cached.
    """
    if per_octave < 1 or per_octave & (per_octave - 1):
        raise ValueError(f"per_octave must be a power of two, got {per_octave}")
    if n <= 2 * per_octave:
        return max(n, 1)
    step = 1 << (n.bit_length() - per_octave.bit_length())  # >= 2 since n > 2 * per_octave
    return -(-n // step) * step


def _low_precision_autocast() -> bool:
    """Whether CPU autocast to a 16-bit type is active (the case :func:`bucket_size` serves)."""
    return torch.is_autocast_enabled("cpu") and torch.get_autocast_dtype("cpu") in (
        torch.bfloat16,
        torch.float16,
    )


def _pad_graph(
    x: torch.Tensor,
    edge_index: torch.Tensor,
    edge_attr: torch.Tensor,
    rev_index: torch.Tensor,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """Append zero-feature padding atoms and padding bonds up to :func:`bucket_size` rows.

    Padding bonds join padding atoms only (each its own reverse), so nothing flows between them
    and the real graph: real atoms' outputs are exactly those of the unpadded graph, and the
    padding rows, sliced off by the caller, receive no gradient.
    """
    n_atoms, n_edges = x.shape[0], edge_index.shape[1]
    n_pad_atoms = bucket_size(n_atoms + 1) - n_atoms  # at least one padding atom
    n_pad_edges = bucket_size(n_edges) - n_edges
    x = torch.cat([x, x.new_zeros(n_pad_atoms, x.shape[1])])
    if n_pad_edges:
        pad_atom = edge_index.new_full((2, n_pad_edges), n_atoms)
        edge_index = torch.cat([edge_index, pad_atom], dim=1)
        edge_attr = torch.cat([edge_attr, edge_attr.new_zeros(n_pad_edges, edge_attr.shape[1])])
        own = torch.arange(
            n_edges, n_edges + n_pad_edges, dtype=rev_index.dtype, device=rev_index.device
        )
        rev_index = torch.cat([rev_index, own])
    return x, edge_index, edge_attr, rev_index


def aggregate(
    h: torch.Tensor, batch: torch.Tensor, num_graphs: int, how: str = "mean", norm: float = 100.0
) -> torch.Tensor:
    """Pool atom vectors ``h (n_atoms, d)`` into molecule vectors ``(num_graphs, d)``
    (``(num_graphs, 2 d)`` for ``"mean+norm"``; see :func:`pooled_width`).

    ``how``: ``"mean"`` (average over the atoms: intensive), ``"sum"``, ``"norm"`` (sum /
    ``norm``: grows with size, ChemProp's CLI default), or ``"mean+norm"`` (both, side by side:
    the head sees what a molecule is made of and how big it is).
    """
    out = h.new_zeros(num_graphs, h.shape[1]).index_add_(0, batch, h)
    if how == "sum":
        return out
    if how == "norm":
        return out / norm
    if how in ("mean", "mean+norm"):
        counts = torch.bincount(batch, minlength=num_graphs).clamp_(min=1).to(h.dtype)
        mean = out / counts[:, None]
        return mean if how == "mean" else torch.cat([mean, out / norm], dim=1)
    raise ValueError(f"aggregation must be one of {AGGREGATIONS}, got {how!r}")


def pooled_width(how: str, width: int) -> int:
    """Width of :func:`aggregate`'s molecule vectors for atom vectors of ``width``."""
    return 2 * width if how == "mean+norm" else width


class BondMessagePassing(nn.Module):
    """Directed-bond message passing: graph -> atom hidden vectors ``(n_atoms, hidden)``.

    Args:
        atom_dim, bond_dim: widths of the atom and bond feature vectors.
        hidden: width of the messages and atom vectors (ChemProp: 300).
        depth: message-passing depth (ChemProp: 3, i.e. ``depth - 1`` message updates).
        dropout: dropout on messages and atom vectors.

    Under CPU autocast to bfloat16 the batch is padded to bucketed sizes first (see
    :func:`bucket_size`); the result is the same, the 16-bit kernels are reused across batches.
    """

    def __init__(
        self, atom_dim: int, bond_dim: int, hidden: int = 300, depth: int = 3, dropout: float = 0.0
    ) -> None:
        super().__init__()
        if depth < 1:
            raise ValueError(f"depth must be >= 1, got {depth}")
        self.W_i = nn.Linear(atom_dim + bond_dim, hidden, bias=False)
        self.W_h = nn.Linear(hidden, hidden, bias=False)
        self.W_o = nn.Linear(atom_dim + hidden, hidden)
        self.dropout = nn.Dropout(dropout)
        self.depth = depth
        self.hidden = hidden

    def forward(
        self,
        x: torch.Tensor,
        edge_index: torch.Tensor,
        edge_attr: torch.Tensor,
        rev_index: torch.Tensor,
    ) -> torch.Tensor:
        """Atom hidden vectors ``(n_atoms, hidden)``; shapes as in the module docstring."""
        n_real = x.shape[0]
        if _low_precision_autocast():
            x, edge_index, edge_attr, rev_index = _pad_graph(x, edge_index, edge_attr, rev_index)
        src, dst = edge_index[0], edge_index[1]
        n_atoms, n_atom = x.shape
        # W_i [x_v || e_vw] = (W_x x)_v + W_e e_vw: the atom part is computed once per atom,
        # not once per directed bond (~2x fewer rows in the widest input product)
        w_atom, w_bond = self.W_i.weight[:, :n_atom], self.W_i.weight[:, n_atom:]
        a = linear(edge_attr, w_bond, add=torch.index_select(linear(x, w_atom), 0, src))
        h = torch.relu(a)
        w_h = self.W_h.weight
        for _ in range(self.depth - 1):
            incoming = h.new_zeros(n_atoms, h.shape[1]).index_add_(0, dst, h)
            # index_select rather than fancy indexing: its backward is an index_add, where
            # ``tensor[index]`` backpropagates through a slower sorting index_put
            m = torch.index_select(incoming, 0, src) - torch.index_select(h, 0, rev_index)
            h = self.dropout(torch.relu(linear(m, w_h, add=a)))  # a + W_h m in one call
        incoming = h.new_zeros(n_atoms, h.shape[1]).index_add_(0, dst, h)
        out = linear(torch.cat([x, incoming], dim=1), self.W_o.weight, self.W_o.bias)
        out = self.dropout(torch.relu(out))
        return out[:n_real]


class DMPNN(nn.Module):
    """``predictor(aggregate(message_passing(G)))``: the full ChemProp-style model.

    Args:
        atom_dim, bond_dim: featurizer widths (``GraphFeaturizer.atom_dim`` / ``bond_dim``).
        n_tasks: number of targets.
        hidden, depth, dropout: message passing settings (see :class:`BondMessagePassing`).
        aggregation: ``"mean"``, ``"sum"``, ``"norm"`` or ``"mean+norm"`` (see
            :func:`aggregate`); ``norm`` divides the sum for ``"norm"``.
        n_descriptors: width of molecule-level descriptors concatenated before the head (0: none).
        ffn_hidden, ffn_layers: feed-forward head width and number of linear layers.
        mean_variance: predict ``(mean, variance)`` per task (output ``(n, n_tasks, 2)``).
    """

    def __init__(
        self,
        atom_dim: int,
        bond_dim: int,
        n_tasks: int = 1,
        hidden: int = 300,
        depth: int = 3,
        dropout: float = 0.0,
        aggregation: str = "mean",
        norm: float = 100.0,
        n_descriptors: int = 0,
        ffn_hidden: int = 300,
        ffn_layers: int = 2,
        mean_variance: bool = False,
    ) -> None:
        super().__init__()
        if aggregation not in AGGREGATIONS:
            raise ValueError(f"aggregation must be one of {AGGREGATIONS}, got {aggregation!r}")
        self.message_passing = BondMessagePassing(atom_dim, bond_dim, hidden, depth, dropout)
        self.aggregation = aggregation
        self.norm = norm
        self.n_descriptors = n_descriptors
        self.predictor = make_head(
            pooled_width(aggregation, hidden) + n_descriptors,
            n_tasks,
            hidden=ffn_hidden,
            n_layers=ffn_layers,
            dropout=dropout,
            mean_variance=mean_variance,
        )

    def atom_embeddings(self, graph: Any) -> torch.Tensor:
        """Atom hidden vectors ``(n_atoms, hidden)`` after message passing."""
        return self.message_passing(graph.x, graph.edge_index, graph.edge_attr, graph.rev_index)

    def embed(self, graph: Any, descriptors: torch.Tensor | None = None) -> torch.Tensor:
        """Molecule vectors ``(num_graphs, pooled width + n_descriptors)`` fed to the head."""
        h = self.atom_embeddings(graph)
        z = aggregate(h, graph.batch, int(graph.num_graphs), self.aggregation, self.norm)
        if self.n_descriptors:
            if descriptors is None:
                raise ValueError(f"this model needs {self.n_descriptors} descriptors per molecule")
            z = torch.cat([z, descriptors.to(z.dtype)], dim=1)
        return z

    def forward(self, graph: Any, descriptors: torch.Tensor | None = None) -> torch.Tensor:
        """Predictions ``(num_graphs, n_tasks)`` (or ``(num_graphs, n_tasks, 2)``)."""
        return self.predictor(self.embed(graph, descriptors))
