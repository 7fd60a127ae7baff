"""DimeNet++: directional message passing over bond triplets (Gasteiger et al., 2020), pure torch.

Messages live on directed edges ``j -> i`` (a neighbour pair, aggregated at ``i``). Each
interaction block updates ``m_ji`` from every edge ``k -> j`` (``k != i``) through the *triplet*
``k -> j -> i``: the radial Bessel basis of ``d_kj`` and a 2D spherical basis of ``(d_kj,
angle_kji)`` weight the incoming message, which goes down to a small ``int_emb_size`` for the
triplet product and back up (the "++" of DimeNet++). Output blocks turn messages into per-atom
outputs after the embedding and after every interaction; their sum is returned.

Bases (``x = d / cutoff``, ``p = envelope_exponent + 1``):

- envelope ``u(x) = 1 - (p+1)(p+2)/2 x^p + p(p+2) x^(p+1) - p(p+1)/2 x^(p+2)`` for ``x < 1``,
  else 0: ``u(1) = u'(1) = u''(1) = 0``, so energies and forces are continuous at the cutoff;
- radial ``sqrt(2/c) sin(n pi x) / d * u(x)``, ``n = 1..n_radial`` (frequencies trainable);
- spherical ``sqrt(2) / |j_(l+1)(z_ln)| * j_l(z_ln x) * Y_l0(angle) * u(x)``, ``l < n_spherical``,
  ``n <= n_radial``, with ``z_ln`` the n-th positive zero of the spherical Bessel function ``j_l``
  (found once with scipy) and ``Y_l0 = sqrt((2l+1)/4pi) P_l(cos angle)``.

Triplets are built from the neighbour list by sorting and ``repeat_interleave``; in periodic cells
the edge back to ``i`` is excluded only when it reaches the *same image* of ``i``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from torch import Tensor, nn

from molfit.nn.atomistic._atomistic import as_neighbor_list
from molfit.nn.atomistic._radial import BesselRBF
from molfit.structures import NeighborList

_SERIES_TERMS = 25  # power-series terms of j_l below x = l + 1 (converged to < 1e-16 there)


@dataclass(frozen=True)
class Triplets:
    """Index pairs of the triplets ``k -> j -> i`` of a neighbour list.

    Attributes:
        kj: ``(n_triplets,)`` int64, the pair (edge) ``k -> j``: ``nl.i[kj] == j`` (its centre),
            ``nl.j[kj] == k``.
        ji: ``(n_triplets,)`` int64, the pair (edge) ``j -> i``: ``nl.i[ji] == i``,
            ``nl.j[ji] == j``. Sorted ascending.
    """

    kj: Tensor
    ji: Tensor

    def __len__(self) -> int:
        return int(self.ji.shape[0])


def triplets(nl: NeighborList, n_atoms: int) -> Triplets:
    """All triplets ``k -> j -> i``: for each pair (i, j), every pair (j, k) except k = i itself.

    Pair p of ``nl`` is read as the directed edge ``nl.j[p] -> nl.i[p]`` (neighbour to centre).
    Edge ``kj`` joins edge ``ji`` when its centre is ji's neighbour, ``nl.i[kj] == nl.j[ji]``;
    it is dropped when it leads back to the same image of i: ``nl.j[kj] == nl.i[ji]`` and
    ``nl.shifts[kj] == -nl.shifts[ji]`` (another periodic image of i is a genuine neighbour).

    Args:
        nl: neighbour list with both directions of every pair.
        n_atoms: number of atoms the indices refer to.

    Returns:
        :class:`Triplets`, grouped by ``ji``.
    """
    device = nl.i.device
    with torch.no_grad():
        order = torch.argsort(nl.i, stable=True)  # edges grouped by centre atom
        degree = torch.bincount(nl.i, minlength=n_atoms)
        first = torch.cumsum(degree, 0) - degree  # offset of each atom's edges within `order`
        n_candidates = degree[nl.j]  # edges k -> j for each edge j -> i
        ji = torch.repeat_interleave(torch.arange(len(nl), device=device), n_candidates)
        starts = torch.cumsum(n_candidates, 0) - n_candidates
        rank = torch.arange(ji.shape[0], device=device) - torch.repeat_interleave(
            starts, n_candidates
        )
        kj = order[first[nl.j[ji]] + rank]
        back = (nl.j[kj] == nl.i[ji]) & (nl.shifts[kj] == -nl.shifts[ji]).all(dim=1)
        return Triplets(kj=kj[~back], ji=ji[~back])


def triplet_cosines(nl: NeighborList, t: Triplets) -> Tensor:
    """``(n_triplets,)`` cosines of the angles k-j-i at j, differentiable w.r.t. the positions.

    The edge ``j -> i`` points from i to j (``nl.vectors[ji]``), so j sees i along
    ``-nl.vectors[ji]`` and k along ``nl.vectors[kj]``.
    """
    dot = -(nl.vectors[t.ji] * nl.vectors[t.kj]).sum(-1)
    return dot / (nl.distances[t.ji] * nl.distances[t.kj])


def polynomial_envelope(x: Tensor, exponent: int) -> Tensor:
    """DimeNet's envelope ``u(x)`` with ``p = exponent + 1`` (zero with two zero derivatives at 1).

    Args:
        x: ``(n,)`` distances divided by the cutoff.
        exponent: ``envelope_exponent`` (5 in the paper, i.e. p = 6).

    Returns:
        ``(n,)``: 1 at x = 0, 0 for x >= 1.
    """
    p = exponent + 1
    a, b, c = -(p + 1) * (p + 2) / 2, p * (p + 2), -p * (p + 1) / 2
    xp = x.pow(p)
    u = 1.0 + xp * (a + x * (b + c * x))
    return torch.where(x < 1, u, torch.zeros_like(u))


def spherical_bessel(x: Tensor, order: int) -> Tensor:
    """Spherical Bessel function ``j_order(x)`` for ``x >= 0``, elementwise, float32-accurate.

    Upward recurrence ``j_(l+1) = (2l+1)/x j_l - j_(l-1)`` from ``j_0 = sin x / x`` and
    ``j_1 = sin x / x^2 - cos x / x`` where it is stable (x >= order + 1); below, the power series
    ``x^l / (2l+1)!! sum_k (-x^2/2)^k / (k! (2l+3)(2l+5)...(2l+2k+1))``, which converges fast
    there. The derivative is analytic, ``j_l' = (l j_(l-1) - (l+1) j_(l+1)) / (2l+1)``
    (``j_0' = -j_1``), through a custom autograd function: autograd keeps only ``x`` per call
    instead of every series term (7 orders x 25 terms of ``(n_pairs, n_radial)`` tensors held
    per batch for the backward pass before), and the derivative is itself differentiable, so
    forces (``-dE/dr``) can be trained on.

    Args:
        x: ``(...)`` arguments.
        order: ``l >= 0``.

    Returns:
        ``(...)``, same shape and dtype as ``x``.
    """
    return _SphericalBessel.apply(x, order)


class _SphericalBessel(torch.autograd.Function):
    """``j_l(x)`` whose backward pass recomputes ``j_(l-1)``, ``j_(l+1)`` from the saved ``x``."""

    @staticmethod
    def forward(ctx: Any, x: Tensor, order: int) -> Tensor:
        ctx.save_for_backward(x)
        ctx.order = order
        return _spherical_bessel_values(x, order)

    @staticmethod
    def backward(ctx: Any, grad: Tensor) -> tuple[Tensor, None]:
        (x,) = ctx.saved_tensors
        order = ctx.order
        if order == 0:
            slope = -spherical_bessel(x, 1)
        else:
            slope = (
                order * spherical_bessel(x, order - 1)
                - (order + 1) * spherical_bessel(x, order + 1)
            ) / (2 * order + 1)
        return grad * slope, None


def _spherical_bessel_values(x: Tensor, order: int) -> Tensor:
    """``j_order(x)`` by recurrence (x >= order + 1) or power series (below); see above."""
    threshold = order + 1.0
    use_series = x < threshold
    series = _series(torch.where(use_series, x, torch.zeros_like(x)), order)
    big = torch.where(use_series, torch.full_like(x, threshold), x)
    previous = torch.sin(big) / big
    if order == 0:
        return torch.where(use_series, series, previous)
    current = previous / big - torch.cos(big) / big
    for n in range(1, order):
        previous, current = current, (2 * n + 1) / big * current - previous
    return torch.where(use_series, series, current)


def _series(x: Tensor, order: int) -> Tensor:
    """``j_order(x)`` from its power series (accurate for x below ~order + 2)."""
    double_factorial = math.prod(range(1, 2 * order + 2, 2))
    term = x.pow(order) / double_factorial
    total = term
    minus_half_x2 = -0.5 * x * x
    for k in range(_SERIES_TERMS):
        term = term * minus_half_x2 / ((k + 1) * (2 * order + 2 * k + 3))
        total = total + term
    return total


def legendre(t: Tensor, n_orders: int) -> Tensor:
    """Legendre polynomials ``P_l(t)``, ``l = 0..n_orders-1``, by Bonnet's recurrence.

    Returns:
        ``(..., n_orders)``.
    """
    out = [torch.ones_like(t)]
    if n_orders > 1:
        out.append(t)
    for order in range(1, n_orders - 1):
        out.append(((2 * order + 1) * t * out[order] - order * out[order - 1]) / (order + 1))
    return torch.stack(out, dim=-1)


def spherical_bessel_zeros(n_orders: int, n_zeros: int) -> np.ndarray:
    """``(n_orders, n_zeros)`` first positive zeros of ``j_l``, found with scipy's brentq.

    The zeros of ``j_l`` interlace those of ``j_(l-1)``, starting from ``j_0``'s at ``n pi``.
    """
    from scipy.optimize import brentq
    from scipy.special import spherical_jn

    zeros = np.zeros((n_orders, n_zeros))
    points = np.arange(1, n_zeros + n_orders + 1) * np.pi  # zeros of j_0
    zeros[0] = points[:n_zeros]
    for order in range(1, n_orders):
        points = np.array(
            [
                brentq(lambda r, n=order: spherical_jn(n, r), points[m], points[m + 1], xtol=1e-15)
                for m in range(len(points) - 1)
            ]
        )
        zeros[order] = points[:n_zeros]
    return zeros


class RadialBasis(nn.Module):
    """``sqrt(2/c) sin(n pi d/c) / d * u(d/c)``: Bessel functions with DimeNet's envelope."""

    def __init__(self, n_radial: int, cutoff: float, envelope_exponent: int = 5) -> None:
        super().__init__()
        self.cutoff = float(cutoff)
        self.envelope_exponent = envelope_exponent
        self.bessel = BesselRBF(n_radial, cutoff, trainable=True)

    def forward(self, distances: Tensor) -> Tensor:
        """``(n_pairs,)`` Å -> ``(n_pairs, n_radial)``, in Å^-3/2 as in the paper."""
        envelope = polynomial_envelope(distances / self.cutoff, self.envelope_exponent)
        scale = math.sqrt(2.0 / self.cutoff)
        return self.bessel(distances) * (scale * envelope).unsqueeze(-1)


class SphericalBasis(nn.Module):
    """2D spherical Fourier-Bessel basis of (distance, angle), flattened to ``l * n_radial + n``."""

    def __init__(
        self, n_spherical: int, n_radial: int, cutoff: float, envelope_exponent: int = 5
    ) -> None:
        super().__init__()
        from scipy.special import spherical_jn

        self.n_spherical, self.n_radial = n_spherical, n_radial
        self.cutoff = float(cutoff)
        self.envelope_exponent = envelope_exponent
        zeros = spherical_bessel_zeros(n_spherical, n_radial)
        norms = np.sqrt(2.0) / np.abs(
            np.stack([spherical_jn(order + 1, zeros[order]) for order in range(n_spherical)])
        )
        ylm = np.sqrt((2 * np.arange(n_spherical) + 1) / (4 * np.pi))
        # fixed by the hyper-parameters: not part of the state dict
        self.register_buffer("zeros", torch.tensor(zeros), persistent=False)
        self.register_buffer("norms", torch.tensor(norms), persistent=False)
        self.register_buffer("ylm", torch.tensor(ylm), persistent=False)

    def radial(self, distances: Tensor) -> Tensor:
        """``(n_pairs,)`` Å -> ``(n_pairs, n_spherical, n_radial)``: ``j_l(z_ln x) u(x)``."""
        x = distances / self.cutoff
        zeros = self.zeros.to(x.dtype)
        values = torch.stack(
            [spherical_bessel(x[:, None] * zeros[n], n) for n in range(self.n_spherical)], dim=1
        )
        envelope = polynomial_envelope(x, self.envelope_exponent)
        return values * self.norms.to(x.dtype) * envelope[:, None, None]

    def forward(self, radial: Tensor, cosines: Tensor) -> Tensor:
        """Combine per-edge radial parts (indexed to triplets) with the triplet angles.

        Args:
            radial: ``(n_triplets, n_spherical, n_radial)`` from :meth:`radial`, already indexed.
            cosines: ``(n_triplets,)`` cosines of the angles.

        Returns:
            ``(n_triplets, n_spherical * n_radial)``.
        """
        angular = legendre(cosines, self.n_spherical) * self.ylm.to(cosines.dtype)
        return (radial * angular.unsqueeze(-1)).flatten(1)


def glorot_orthogonal_(weight: Tensor, scale: float = 2.0) -> Tensor:
    """Orthogonal init rescaled to variance ``scale / (fan_in + fan_out)`` (DimeNet's choice)."""
    with torch.no_grad():
        nn.init.orthogonal_(weight)
        fan_out, fan_in = weight.shape
        weight.mul_(math.sqrt(scale / ((fan_in + fan_out) * weight.var())))
    return weight


def _dense(n_in: int, n_out: int, bias: bool = True) -> nn.Linear:
    layer = nn.Linear(n_in, n_out, bias=bias)
    glorot_orthogonal_(layer.weight)
    if bias:
        nn.init.zeros_(layer.bias)
    return layer


class _Residual(nn.Module):
    """``h + act(W2 act(W1 h))``."""

    def __init__(self, n_features: int) -> None:
        super().__init__()
        self.lin1, self.lin2 = _dense(n_features, n_features), _dense(n_features, n_features)
        self.act = nn.SiLU()

    def forward(self, h: Tensor) -> Tensor:
        return h + self.act(self.lin2(self.act(self.lin1(h))))


class DimeNetEmbedding(nn.Module):
    """``m_ji = act(W [x_i, x_j, act(W_rbf e_rbf(d_ji))])`` from element embeddings."""

    def __init__(self, n_features: int, n_radial: int, max_z: int) -> None:
        super().__init__()
        self.embedding = nn.Embedding(max_z + 1, n_features)
        nn.init.uniform_(self.embedding.weight, -math.sqrt(3), math.sqrt(3))
        self.lin_rbf = _dense(n_radial, n_features)
        self.lin = _dense(3 * n_features, n_features)
        self.act = nn.SiLU()

    def forward(self, numbers: Tensor, rbf: Tensor, i: Tensor, j: Tensor) -> Tensor:
        x = self.embedding(numbers)
        r = self.act(self.lin_rbf(rbf))
        return self.act(self.lin(torch.cat([x[i], x[j], r], dim=-1)))


class DimeNetInteraction(nn.Module):
    """DimeNet++ interaction: triplet messages through a down/up projection, residual layers."""

    def __init__(
        self,
        n_features: int,
        int_emb_size: int,
        basis_emb_size: int,
        n_spherical: int,
        n_radial: int,
    ) -> None:
        super().__init__()
        self.act = nn.SiLU()
        # bases enter through bias-free layers: zero basis (at the cutoff) means zero message
        self.rbf = nn.Sequential(
            _dense(n_radial, basis_emb_size, bias=False),
            _dense(basis_emb_size, n_features, bias=False),
        )
        self.sbf = nn.Sequential(
            _dense(n_spherical * n_radial, basis_emb_size, bias=False),
            _dense(basis_emb_size, int_emb_size, bias=False),
        )
        self.lin_ji = _dense(n_features, n_features)
        self.lin_kj = _dense(n_features, n_features)
        self.down = _dense(n_features, int_emb_size, bias=False)
        self.up = _dense(int_emb_size, n_features, bias=False)
        self.before_skip = _Residual(n_features)
        self.lin = _dense(n_features, n_features)
        self.after_skip = nn.Sequential(_Residual(n_features), _Residual(n_features))

    def forward(self, m: Tensor, rbf: Tensor, sbf: Tensor, t: Triplets) -> Tensor:
        x_ji = self.act(self.lin_ji(m))
        x_kj = self.act(self.lin_kj(m)) * self.rbf(rbf)
        x_kj = self.act(self.down(x_kj))
        x_kj = x_kj[t.kj] * self.sbf(sbf)
        x_kj = x_kj.new_zeros(m.shape[0], x_kj.shape[1]).index_add(0, t.ji, x_kj)
        h = x_ji + self.act(self.up(x_kj))
        h = self.act(self.lin(self.before_skip(h))) + m
        return self.after_skip(h)


class DimeNetOutput(nn.Module):
    """Output block: ``W_rbf e_rbf(d_ji) * m_ji`` summed into atom i, then an MLP."""

    def __init__(
        self, n_features: int, n_radial: int, out_emb_channels: int, n_out: int, n_layers: int = 3
    ) -> None:
        super().__init__()
        self.lin_rbf = _dense(n_radial, n_features, bias=False)
        self.up = _dense(n_features, out_emb_channels, bias=False)
        layers: list[nn.Module] = []
        for _ in range(n_layers):
            layers += [_dense(out_emb_channels, out_emb_channels), nn.SiLU()]
        self.mlp = nn.Sequential(*layers)
        self.out = _dense(out_emb_channels, n_out, bias=False)

    def forward(self, m: Tensor, rbf: Tensor, i: Tensor, n_atoms: int) -> Tensor:
        x = self.lin_rbf(rbf) * m
        x = x.new_zeros(n_atoms, x.shape[1]).index_add(0, i, x)
        return self.out(self.mlp(self.up(x)))


class DimeNetPP(nn.Module):
    """DimeNet++: atoms and neighbour pairs -> per-atom outputs, summed over the output blocks.

    DimeNet++ is an output model, not a pure representation: each of its ``n_blocks + 1`` output
    blocks maps the edge messages to per-atom values, and the sum is returned. With ``n_out`` the
    number of targets (1 for an energy) these are per-atom contributions, to be summed (or
    averaged) per structure, as in the paper. With ``n_out=None`` (default) they are per-atom
    features of width ``n_features`` that a readout such as :class:`~molfit.nn.Atomwise` reduces,
    like SchNet's and PaiNN's features. ``self.n_out`` is the returned width either way.

    Args:
        n_features: width of the edge messages (``hidden_channels``; 128 in the paper).
        n_blocks: interaction blocks (4).
        int_emb_size: width of the triplet product after the down projection (64).
        basis_emb_size: bottleneck of the basis projections (8).
        out_emb_channels: width of the output blocks' MLPs (256).
        n_spherical: orders ``l`` of the spherical basis (7).
        n_radial: radial functions (6).
        cutoff: Å (5 in the paper); everything goes smoothly to zero there.
        envelope_exponent: ``p - 1`` of the envelope (5).
        max_z: largest atomic number embedded.
        n_out: width of the output (targets); ``None``: ``n_features``.
        checkpoint_blocks: while training with gradients, recompute each interaction and
            output block in the backward pass instead of keeping its activations
            (:func:`torch.utils.checkpoint.checkpoint`): the activations held at once drop from
            all blocks' to one block's (about ``(n_pairs * 25 * n_features + n_triplets * 3 *
            int_emb_size)`` floats) for about a third more compute. Inference is unaffected.
    """

    def __init__(
        self,
        n_features: int = 128,
        n_blocks: int = 4,
        int_emb_size: int = 64,
        basis_emb_size: int = 8,
        out_emb_channels: int = 256,
        n_spherical: int = 7,
        n_radial: int = 6,
        cutoff: float = 5.0,
        envelope_exponent: int = 5,
        max_z: int = 100,
        n_out: int | None = None,
        checkpoint_blocks: bool = True,
    ) -> None:
        super().__init__()
        self.cutoff = float(cutoff)
        self.checkpoint_blocks = checkpoint_blocks
        self.n_features = n_features
        self.n_out = n_features if n_out is None else n_out
        self.rbf = RadialBasis(n_radial, self.cutoff, envelope_exponent)
        self.sbf = SphericalBasis(n_spherical, n_radial, self.cutoff, envelope_exponent)
        self.embedding = DimeNetEmbedding(n_features, n_radial, max_z)
        self.interactions = nn.ModuleList(
            DimeNetInteraction(n_features, int_emb_size, basis_emb_size, n_spherical, n_radial)
            for _ in range(n_blocks)
        )
        self.outputs = nn.ModuleList(
            DimeNetOutput(n_features, n_radial, out_emb_channels, self.n_out)
            for _ in range(n_blocks + 1)
        )

    def forward(
        self,
        numbers: Tensor,
        geometry: Tensor | NeighborList,
        batch: Tensor | None = None,
        cell: Tensor | None = None,
        pbc: Tensor | None = None,
    ) -> Tensor:
        """Per-atom outputs.

        Args:
            numbers: ``(n_atoms,)`` int64 atomic numbers.
            geometry: ``(n_atoms, 3)`` positions in Å (pairs are then found within ``cutoff``,
                using ``batch``, ``cell`` and ``pbc``), or a ready
                :class:`~molfit.chem.NeighborList` (both directions of every pair).
            batch, cell, pbc: see :func:`molfit.chem.neighbor_list`.

        Returns:
            ``(n_atoms, n_out)``: summed over the output blocks.
        """
        nl = as_neighbor_list(geometry, self.cutoff, batch, cell, pbc)
        n_atoms = numbers.shape[0]
        t = triplets(nl, n_atoms)
        cosines = triplet_cosines(nl, t)
        rbf = self.rbf(nl.distances)
        sbf = self.sbf(self.sbf.radial(nl.distances)[t.kj], cosines)
        m = self.embedding(numbers, rbf, nl.i, nl.j)
        recompute = self.checkpoint_blocks and self.training and torch.is_grad_enabled()
        run = _checkpointed if recompute else _direct
        out = run(self.outputs[0], m, rbf, nl.i, n_atoms)
        for interaction, output in zip(self.interactions, self.outputs[1:], strict=True):
            m = run(interaction, m, rbf, sbf, t)
            out = out + run(output, m, rbf, nl.i, n_atoms)
        return out


def _direct(block: nn.Module, *args: Any) -> Tensor:
    return block(*args)


def _checkpointed(block: nn.Module, *args: Any) -> Tensor:
    from torch.utils.checkpoint import checkpoint

    return checkpoint(block, *args, use_reentrant=False)
