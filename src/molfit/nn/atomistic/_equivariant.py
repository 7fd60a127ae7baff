"""An E(3)-equivariant representation with l ≤ 2 features and three-body messages, in Cartesian
tensors (NequIP/MACE-style physics, written for CPU speed).

Each atom carries, per channel ``c`` of ``F``, a scalar ``s`` (l = 0), a vector ``v`` (l = 1,
``(3,)``) and a symmetric traceless matrix ``t`` (l = 2, ``(3, 3)``). Instead of spherical
harmonics and Clebsch–Gordan coefficients, the couplings are the few Cartesian contractions that
keep each order: with the unit pair vector ``u`` and ``U = u uᵀ − I/3``,

- messages (two-body, pair ``i ← j``, radial weights ``R_k(r_ij)`` per channel):
  ``s``: ``R0 s_j``, ``R1 (u·v_j)``, ``R2 (uᵀ t_j u)``;
  ``v``: ``R3 s_j u``, ``R4 v_j``, ``R5 t_j u``;
  ``t``: ``R6 s_j U``, ``R7 sym₀(u v_jᵀ)``, ``R8 t_j``;
- the summed messages ``A_i`` (two-body) are multiplied with themselves channel by channel
  (``A_s A_s``, ``A_v·A_v``, ``A_t:A_t``, ``A_s A_v``, ``A_t A_v``, ``A_s A_t``, ``sym₀(A_v A_vᵀ)``,
  ``sym₀(A_t A_t)``): three-body features, the body order MACE reaches with correlation 2;
- updates are linear across channels (never across Cartesian components), scalars pass an MLP and
  gate the vectors and matrices.

Every term is built from ``u`` by dot products, outer products and matrix products, so energies
are invariant and vectors and matrices rotate with the structure under any rotation *and*
reflection (no cross products: parity is kept). Radial weights use Bessel functions times a
cosine cutoff, so features go smoothly to zero at the cutoff and forces are continuous.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from molfit.nn.atomistic._atomistic import as_neighbor_list, xavier_init_
from molfit.nn.atomistic._radial import BesselRBF, cosine_cutoff
from molfit.structures import NeighborList

N_PATHS = 9  # radial weights per channel: 3 scalar, 3 vector and 3 matrix message paths


def sym0(m: Tensor) -> Tensor:
    """Symmetric traceless part of ``(..., 3, 3, F)`` matrices (the l = 2 part)."""
    sym = 0.5 * (m + m.transpose(-3, -2))
    trace = sym.diagonal(dim1=-3, dim2=-2).sum(-1)  # (..., F)
    eye = torch.eye(3, dtype=m.dtype, device=m.device)
    return sym - trace[..., None, None, :] * eye[:, :, None] / 3.0


class ChannelLinear(nn.Module):
    """``x (..., F_in) -> (..., F_out)``: mixes channels only, so it commutes with rotations of
    the Cartesian axes in front of the channel axis."""

    def __init__(self, n_in: int, n_out: int) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.empty(n_in, n_out))
        nn.init.xavier_uniform_(self.weight)

    def forward(self, x: Tensor) -> Tensor:
        return x @ self.weight


class EquivariantInteraction(nn.Module):
    """One message + three-body product + update block (see the module docstring).

    ``l_max=1`` drops the matrix channels (and the paths that make or read them): about three
    times cheaper, still three-body through ``A_v·A_v`` and ``A_s A_v``.
    """

    def __init__(self, n_features: int, n_rbf: int, neighbor_norm: float, l_max: int = 2) -> None:
        super().__init__()
        if l_max not in (1, 2):
            raise ValueError(f"l_max must be 1 or 2, got {l_max}")
        f = n_features
        self.n_features = f
        self.l_max = l_max
        self.neighbor_norm = float(neighbor_norm)
        self.radial = xavier_init_(
            nn.Sequential(nn.Linear(n_rbf, 64), nn.SiLU(), nn.Linear(64, N_PATHS * f))
        )
        self.pre_s = ChannelLinear(f, f)
        self.pre_v = ChannelLinear(f, f)
        self.pre_t = ChannelLinear(f, f)
        # two channel mixings of A whose products give the three-body features
        self.left = nn.ModuleList(ChannelLinear(f, f) for _ in range(3))
        self.right = nn.ModuleList(ChannelLinear(f, f) for _ in range(3))
        n_scalar_in = 4 if l_max == 2 else 3
        self.scalar_mlp = xavier_init_(
            nn.Sequential(nn.Linear(n_scalar_in * f, f), nn.SiLU(), nn.Linear(f, 3 * f))
        )
        self.out_v = ChannelLinear(3 * f if l_max == 2 else 2 * f, f)
        self.out_t = ChannelLinear(4 * f, f)

    def forward(
        self,
        s: Tensor,
        v: Tensor,
        t: Tensor | None,
        radial: Tensor,
        envelope: Tensor,
        unit: Tensor,
        i: Tensor,
        j: Tensor,
    ) -> tuple[Tensor, Tensor, Tensor | None]:
        """One block.

        Args:
            s, v, t: ``(n_atoms, F)``, ``(n_atoms, 3, F)``, ``(n_atoms, 3, 3, F)`` features
                (``t`` is ``None`` when ``l_max=1``).
            radial: ``(n_pairs, n_rbf)`` radial basis.
            envelope: ``(n_pairs,)`` cutoff envelope, applied after the radial MLP's biases so
                every weight is exactly zero at the cutoff.
            unit: ``(n_pairs, 3)`` unit vectors from atom ``i`` to neighbour ``j``.
            i, j: ``(n_pairs,)`` atom indices.

        Returns:
            Updated ``(s, v, t)``.
        """
        f = self.n_features
        n = s.shape[0]
        w = (self.radial(radial) * envelope[:, None]).view(-1, N_PATHS, f)  # (P, 9, F)
        sj, vj = self.pre_s(s)[j], self.pre_v(v)[j]
        u_dot_v = torch.einsum("px,pxf->pf", unit, vj)
        m_s = w[:, 0] * sj + w[:, 1] * u_dot_v
        m_v = w[:, 3, None] * sj[:, None, :] * unit[:, :, None] + w[:, 4, None] * vj
        if self.l_max == 2:
            tj = self.pre_t(t)[j]
            eye = torch.eye(3, dtype=s.dtype, device=s.device)
            uu = unit[:, :, None] * unit[:, None, :] - eye / 3.0  # (P, 3, 3)
            t_u = torch.einsum("pxyf,py->pxf", tj, unit)  # (P, 3, F)
            m_s = m_s + w[:, 2] * torch.einsum("px,pxf->pf", unit, t_u)
            m_v = m_v + w[:, 5, None] * t_u
            outer = unit[:, :, None, None] * vj[:, None, :, :]  # u v_jᵀ, (P, 3, 3, F)
            m_t = (
                w[:, 6, None, None] * sj[:, None, None, :] * uu[..., None]
                + w[:, 7, None, None] * sym0(outer)
                + w[:, 8, None, None] * tj
            )
            a_t = t.new_zeros(n, 3, 3, f).index_add(0, i, m_t) / self.neighbor_norm
        a_s = s.new_zeros(n, f).index_add(0, i, m_s) / self.neighbor_norm
        a_v = v.new_zeros(n, 3, f).index_add(0, i, m_v) / self.neighbor_norm

        ls, lv = self.left[0](a_s), self.left[1](a_v)
        rs, rv = self.right[0](a_s), self.right[1](a_v)
        scalar_in = [a_s, ls * rs, (lv * rv).sum(1)]
        vector_in = [a_v, ls[:, None, :] * rv]
        if self.l_max == 2:
            lt, rt = self.left[2](a_t), self.right[2](a_t)
            scalar_in.append((lt * rt).sum((1, 2)))
            vector_in.append(torch.einsum("nxyf,nyf->nxf", lt, rv))
        ds, gate_v, gate_t = torch.split(self.scalar_mlp(torch.cat(scalar_in, dim=-1)), f, dim=-1)
        dv = self.out_v(torch.cat(vector_in, dim=-1))
        s = s + ds
        v = (v + dv) * torch.sigmoid(gate_v)[:, None, :]
        if self.l_max == 2:
            b_st = ls[:, None, None, :] * rt
            b_vv_t = sym0(lv[:, :, None, :] * rv[:, None, :, :])
            b_tt_t = sym0(torch.einsum("nxyf,nyzf->nxzf", lt, rt))
            dt = self.out_t(torch.cat([a_t, b_st, b_vv_t, b_tt_t], dim=-1))
            t = (t + dt) * torch.sigmoid(gate_t)[:, None, None, :]
        return s, v, t


class EquivariantNet(nn.Module):
    """E(3)-equivariant representation: atoms and neighbour pairs -> invariant per-atom features.

    Args:
        n_features: channels ``F`` of each order (l = 0, 1, 2).
        n_interactions: interaction blocks (each sees one more shell of neighbours).
        n_rbf: Bessel radial functions.
        cutoff: Å.
        neighbor_norm: summed messages are divided by this (about the mean number of
            neighbours within the cutoff), so feature scales do not grow with density.
        l_max: highest order of the features: 2 (scalars, vectors, matrices) or 1 (no
            matrices; about three times faster).
        max_z: largest atomic number embedded.

    ``forward(numbers, geometry)`` returns ``(n_atoms, n_features * (n_interactions + 1))``:
    the scalar features after the embedding and after every block, side by side (each block's
    invariants feed the readout, as MACE reads out every layer).
    """

    def __init__(
        self,
        n_features: int = 32,
        n_interactions: int = 2,
        n_rbf: int = 8,
        cutoff: float = 5.0,
        neighbor_norm: float = 10.0,
        l_max: int = 2,
        max_z: int = 100,
    ) -> None:
        super().__init__()
        self.cutoff = float(cutoff)
        self.l_max = l_max
        self.n_features = n_features
        self.n_out = n_features * (n_interactions + 1)
        self.embedding = nn.Embedding(max_z + 1, n_features)
        self.rbf = BesselRBF(n_rbf, self.cutoff)
        self.blocks = nn.ModuleList(
            EquivariantInteraction(n_features, n_rbf, neighbor_norm, l_max)
            for _ in range(n_interactions)
        )

    def forward(self, numbers: Tensor, geometry: Tensor | NeighborList) -> Tensor:
        """Per-atom invariant features.

        Args:
            numbers: ``(n_atoms,)`` atomic numbers.
            geometry: a :class:`~molfit.structures.NeighborList` within ``cutoff`` or
                ``(n_atoms, 3)`` positions in Å (one molecule; pairs found here).

        Returns:
            ``(n_atoms, n_out)`` invariant features.
        """
        nl = as_neighbor_list(geometry, self.cutoff)
        keep = nl.distances < self.cutoff
        i, j = nl.i[keep], nl.j[keep]
        d = nl.distances[keep]
        unit = nl.vectors[keep] / d.clamp(min=1e-9).unsqueeze(-1)
        radial, envelope = self.rbf(d), cosine_cutoff(d, self.cutoff)
        s = self.embedding(numbers)
        n, f = s.shape
        v = s.new_zeros(n, 3, f)
        t = s.new_zeros(n, 3, 3, f) if self.l_max == 2 else None
        outputs = [s]
        for block in self.blocks:
            s, v, t = block(s, v, t, radial, envelope, unit, i, j)
            outputs.append(s)
        return torch.cat(outputs, dim=-1)
