"""Dense products of the graph networks, through the faster of two BLAS libraries.

PyTorch's CPU wheels do their float32 matrix products with Intel's MKL. On AMD CPUs MKL does
not take its AVX-512 kernels, and the OpenBLAS that numpy's wheels bundle is faster: on an AMD
EPYC core (AVX-512), the D-MPNN's message product ``(3,100 x 300) @ (300 x 300)`` takes
5.9 ms with numpy's OpenBLAS and 6.9-9 ms with torch's MKL (``benchmarks/RESULTS.md`` §6h).
:func:`linear` computes ``add + x @ weight.T + bias`` with autograd, through numpy's BLAS where
that is the faster library and through torch everywhere else.

Which library (``MOLFIT_GEMM``): ``auto`` (default; numpy's OpenBLAS on AMD x86 CPUs when numpy
is built with OpenBLAS, torch otherwise), ``torch``, or ``numpy``. The choice depends only on
the machine, never on a timing, so a run is as reproducible as with torch alone. Only float32
CPU tensors outside autocast take the numpy path, and only while torch runs one thread
(``torch.get_num_threads() == 1``: one core per process, as in pinned benchmarks, job arrays
and ``molfit screen --workers``); numpy's BLAS is then limited to one thread as well. With
more threads, torch's own pool does the products: OpenBLAS's threads and torch's OpenMP
threads, both spinning on the same cores, slowed each other down 2-3x in a test. The numpy
path's backward is not itself differentiable (no double backward): the 3D potentials, whose
forces need one, do not use it.
"""

from __future__ import annotations

import os
from functools import cache
from typing import Any

import numpy as np
import torch
from torch.autograd.function import once_differentiable

from molfit.errors import InputError

GEMM_BACKENDS = ("auto", "torch", "numpy")


def _cpu_vendor() -> str:
    try:
        with open("/proc/cpuinfo", encoding="ascii", errors="replace") as fh:
            for line in fh:
                if line.startswith("vendor_id"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return ""


def _numpy_blas() -> str:
    try:
        deps = np.show_config(mode="dicts")["Build Dependencies"]  # type: ignore[index]
        return str(deps["blas"]["name"]).lower()
    except Exception:  # an unusual numpy build: treat as unknown
        return ""


@cache
def gemm_backend() -> str:
    """``"numpy"`` or ``"torch"``: the library :func:`linear` uses on this machine.

    Read once per process from ``MOLFIT_GEMM`` (see the module docstring).

    Raises:
        InputError: ``MOLFIT_GEMM`` is not one of :data:`GEMM_BACKENDS`.
    """
    choice = os.environ.get("MOLFIT_GEMM", "auto").strip().lower() or "auto"
    if choice not in GEMM_BACKENDS:
        raise InputError(f"MOLFIT_GEMM={choice!r} is not one of {', '.join(GEMM_BACKENDS)}")
    if choice != "auto":
        return choice
    amd = _cpu_vendor() == "AuthenticAMD"
    return "numpy" if amd and "openblas" in _numpy_blas() else "torch"


@cache
def _single_thread_blas() -> None:
    """Limit numpy's BLAS to one thread, once per process (the numpy path runs only while
    torch runs one thread: two thread pools spinning on the same cores slow both down)."""
    try:
        from threadpoolctl import threadpool_limits

        threadpool_limits(limits=1, user_api="blas")
    except Exception:  # no threadpoolctl, or no BLAS it knows: leave it
        pass


def _np(t: torch.Tensor) -> np.ndarray:
    return t.detach().numpy()


class _NumpyLinear(torch.autograd.Function):
    """``add + x @ weight.T + bias`` by numpy's BLAS; backward by the same library."""

    @staticmethod
    def forward(  # type: ignore[override]
        ctx: Any,
        x: torch.Tensor,
        weight: torch.Tensor,
        bias: torch.Tensor | None,
        add: torch.Tensor | None,
    ) -> torch.Tensor:
        _single_thread_blas()
        out = np.matmul(_np(x), _np(weight).T)
        if add is not None:
            out += _np(add)
        if bias is not None:
            out += _np(bias)
        ctx.save_for_backward(x, weight)
        ctx.has_bias = bias is not None
        return torch.from_numpy(out)

    @staticmethod
    @once_differentiable
    def backward(ctx: Any, grad: torch.Tensor) -> tuple[torch.Tensor | None, ...]:  # type: ignore[override]
        x, weight = ctx.saved_tensors
        g = _np(grad)
        need_x, need_w, need_b, need_add = ctx.needs_input_grad
        gx = torch.from_numpy(np.matmul(g, _np(weight))) if need_x else None
        gw = torch.from_numpy(np.matmul(g.T, _np(x))) if need_w else None
        gb = torch.from_numpy(g.sum(axis=0)) if need_b and ctx.has_bias else None
        return gx, gw, gb, (grad if need_add else None)


def _numpy_ok(*tensors: torch.Tensor | None) -> bool:
    for t in tensors:
        if t is None:
            continue
        if t.dtype != torch.float32 or t.device.type != "cpu" or t.is_sparse:
            return False
    return not torch.is_autocast_enabled("cpu")


def linear(
    x: torch.Tensor,
    weight: torch.Tensor,
    bias: torch.Tensor | None = None,
    add: torch.Tensor | None = None,
) -> torch.Tensor:
    """``add + x @ weight.T + bias`` with autograd.

    Args:
        x: inputs ``(n, in)``.
        weight: ``(out, in)`` (an ``nn.Linear``'s weight, or a column slice of one).
        bias: ``(out,)`` or ``None``.
        add: a term ``(n, out)`` added to the product, or ``None`` (``torch.addmm``'s input).

    Returns:
        ``(n, out)``; the same values as torch's products up to float32 rounding.
    """
    if (
        x.dim() == 2
        and gemm_backend() == "numpy"
        and torch.get_num_threads() == 1
        and _numpy_ok(x, weight, bias, add)
    ):
        x = x.contiguous()
        if add is not None:
            add = add.expand(x.shape[0], weight.shape[0])
        return _NumpyLinear.apply(x, weight, bias, add)
    if add is None:
        return torch.nn.functional.linear(x, weight, bias)
    out = torch.addmm(add, x, weight.T)
    return out if bias is None else out + bias
