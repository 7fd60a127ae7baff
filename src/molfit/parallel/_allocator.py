"""Keep freed tensor memory in the process instead of handing it back to the kernel (glibc).

glibc's ``malloc`` serves blocks above its mmap threshold (128 KiB to start with) with fresh
``mmap`` pages and returns them on ``free``. A D-MPNN training step allocates and frees tensors
of a few MB (directed bonds x 300 floats) dozens of times, so every step page-faults the same
memory in again (an 8-epoch D-MPNN fit on 800 B3DB molecules: ~330,000 minor faults and 6 % of
its CPU time; a whole ``molfit train`` command: 5-8x more faults, 1-2 % of its wall time, RESULTS
§6g). :func:`tune_allocator` raises the mmap threshold to 64 MiB and the trim threshold
to 256 MiB with ``mallopt``, so those blocks are reused from the heap. What it costs: up to 256 MiB
of freed memory may stay mapped at the top of the heap (the peak RSS does not change).

The ``molfit`` command calls it at start-up; library users may call it themselves. It does
nothing (and returns ``False``) off glibc, when ``MOLFIT_MALLOC=system``, or when the user
already tunes the allocator (``MALLOC_*_`` variables, ``GLIBC_TUNABLES`` with ``malloc``, or
another allocator in ``LD_PRELOAD``).
"""

from __future__ import annotations

import ctypes
import os
import sys

__all__ = ["MMAP_THRESHOLD", "TRIM_THRESHOLD", "tune_allocator"]

MMAP_THRESHOLD = 64 * 2**20  #: bytes: larger blocks still get their own mmap
TRIM_THRESHOLD = 256 * 2**20  #: bytes of free memory at the heap top before it is returned
_M_TRIM_THRESHOLD = -1  # glibc's malloc.h
_M_MMAP_THRESHOLD = -3
_tuned: list[bool] = []


def _user_tunes_allocator(env: dict[str, str]) -> bool:
    if env.get("MOLFIT_MALLOC", "").lower() == "system":
        return True
    if any(k.startswith("MALLOC_") and k.endswith("_") for k in env):
        return True
    if "malloc" in env.get("GLIBC_TUNABLES", ""):
        return True
    preload = env.get("LD_PRELOAD", "").lower()
    return any(name in preload for name in ("jemalloc", "tcmalloc", "mimalloc"))


def tune_allocator(
    mmap_threshold: int = MMAP_THRESHOLD, trim_threshold: int = TRIM_THRESHOLD
) -> bool:
    """Set glibc's mmap and trim thresholds (bytes) for this process, once; ``True`` when they
    are in effect (now or from an earlier call)."""
    if _tuned:
        return _tuned[0]
    ok = False
    if sys.platform.startswith("linux") and not _user_tunes_allocator(dict(os.environ)):
        try:
            mallopt = ctypes.CDLL("libc.so.6").mallopt
        except (OSError, AttributeError):  # not glibc (musl has no mallopt)
            mallopt = None
        if mallopt is not None:
            mallopt.argtypes = [ctypes.c_int, ctypes.c_int]
            ok = bool(mallopt(_M_MMAP_THRESHOLD, int(mmap_threshold))) and bool(
                mallopt(_M_TRIM_THRESHOLD, int(trim_threshold))
            )
    _tuned.append(ok)
    return ok
