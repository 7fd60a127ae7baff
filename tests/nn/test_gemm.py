"""molfit.nn's products through numpy's BLAS: the same values and gradients as torch's, and
taken only where they are meant to be (float32, one torch thread, no autocast)."""

from __future__ import annotations

import pytest
import torch

import molfit.nn._gemm as gemm
from molfit.chem._graph import GraphFeaturizer, collate_graphs
from molfit.errors import InputError
from molfit.nn import DMPNN

FEAT = GraphFeaturizer()
DRUGS = ["CC(=O)Oc1ccccc1C(=O)O", "CN1C=NC2=C1C(=O)N(C(=O)N2C)C", "CC(C)Cc1ccc(cc1)C(C)C(=O)O"]


@pytest.fixture
def backend(monkeypatch):
    """``backend(name)``: run with ``MOLFIT_GEMM=name`` and torch on one thread."""
    threads = torch.get_num_threads()

    def use(name: str) -> str:
        monkeypatch.setenv("MOLFIT_GEMM", name)
        gemm.gemm_backend.cache_clear()
        torch.set_num_threads(1)
        return gemm.gemm_backend()

    yield use
    torch.set_num_threads(threads)
    gemm.gemm_backend.cache_clear()


def _tensors(seed: int = 0):
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(37, 50, generator=g, requires_grad=True)
    full = torch.randn(24, 70, generator=g, requires_grad=True)
    bias = torch.randn(24, generator=g, requires_grad=True)
    add = torch.randn(37, 24, generator=g, requires_grad=True)
    return x, full, bias, add


@pytest.mark.parametrize("with_bias", [True, False])
@pytest.mark.parametrize("with_add", [True, False])
def test_numpy_products_equal_torch_values_and_gradients(backend, with_bias, with_add) -> None:
    assert backend("numpy") == "numpy"
    results = []
    for use_numpy in (True, False):
        x, full, bias, add = _tensors()
        weight = full[:, 10:60]  # a column slice, as the D-MPNN's W_i atom/bond parts are
        b, a = (bias if with_bias else None), (add if with_add else None)
        if use_numpy:
            out = gemm.linear(x, weight, b, a)
            assert type(out.grad_fn).__name__ == "_NumpyLinearBackward"
        else:
            out = torch.nn.functional.linear(x, weight, b) + (0 if a is None else a)
        grad = torch.linspace(-1, 1, out.numel()).reshape(out.shape)
        (out * grad).sum().backward()
        results.append((out.detach(), x.grad, full.grad, bias.grad, add.grad))
    for mine, ref in zip(*results, strict=True):
        if ref is None:
            assert mine is None
        else:
            torch.testing.assert_close(mine, ref, rtol=1e-5, atol=1e-5)
    # the slice's gradient lands in its columns of the full weight only
    assert torch.all(results[0][2][:, :10] == 0) and torch.all(results[0][2][:, 60:] == 0)


def test_numpy_path_only_with_one_thread_float32_and_no_autocast(backend) -> None:
    backend("numpy")
    x, full, bias, _ = _tensors()
    assert type(gemm.linear(x, full[:, :50]).grad_fn).__name__ == "_NumpyLinearBackward"
    torch.set_num_threads(2)  # two pools spinning on the same cores: torch's products instead
    assert type(gemm.linear(x, full[:, :50]).grad_fn).__name__ != "_NumpyLinearBackward"
    torch.set_num_threads(1)
    out64 = gemm.linear(x.double(), full[:, :50].double())
    assert out64.dtype == torch.float64
    with torch.autocast("cpu", dtype=torch.bfloat16):
        assert gemm.linear(x, full[:, :50]).dtype == torch.bfloat16
    with torch.inference_mode():
        torch.testing.assert_close(gemm.linear(x, full[:, :50], bias), x @ full[:, :50].T + bias)


def test_gemm_backend_reads_molfit_gemm(backend, monkeypatch) -> None:
    assert backend("torch") == "torch"
    x, full, _, _ = _tensors()
    assert type(gemm.linear(x, full[:, :50]).grad_fn).__name__ != "_NumpyLinearBackward"
    monkeypatch.setenv("MOLFIT_GEMM", "mkl")
    gemm.gemm_backend.cache_clear()
    with pytest.raises(InputError, match=r"MOLFIT_GEMM=.mkl. is not one of auto, torch, numpy"):
        gemm.gemm_backend()
    # auto: numpy's BLAS only on AMD CPUs with an OpenBLAS numpy
    monkeypatch.setenv("MOLFIT_GEMM", "auto")
    for vendor, blas, expected in [
        ("AuthenticAMD", "scipy-openblas", "numpy"),
        ("GenuineIntel", "scipy-openblas", "torch"),
        ("AuthenticAMD", "mkl-sdl", "torch"),
    ]:
        monkeypatch.setattr(gemm, "_cpu_vendor", lambda v=vendor: v)
        monkeypatch.setattr(gemm, "_numpy_blas", lambda b=blas: b)
        gemm.gemm_backend.cache_clear()
        assert gemm.gemm_backend() == expected, (vendor, blas)


def test_dmpnn_trains_the_same_through_either_library(backend) -> None:
    batch = collate_graphs([FEAT(s) for s in DRUGS])
    target = torch.tensor([[0.5], [-1.0], [2.0]])
    outs = {}
    for name in ("numpy", "torch"):
        backend(name)
        torch.manual_seed(0)
        net = DMPNN(FEAT.atom_dim, FEAT.bond_dim, n_tasks=1, hidden=32, aggregation="mean+norm")
        opt = torch.optim.Adam(net.parameters(), lr=1e-2)
        for _ in range(5):
            opt.zero_grad()
            loss = torch.nn.functional.mse_loss(net(batch), target)
            loss.backward()
            opt.step()
        with torch.no_grad():
            outs[name] = net(batch)
        assert loss.item() < 2.0
    torch.testing.assert_close(outs["numpy"], outs["torch"], rtol=1e-4, atol=1e-4)
