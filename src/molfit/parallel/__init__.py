"""One place for parallel work: an :class:`Executor` over chunks (serial, forked processes or
Dask), results in input order, streaming :func:`chunks`, and :func:`parallel_map` on top; and
:func:`tune_allocator`, which keeps freed tensor memory in the process (glibc)."""

from molfit.parallel._allocator import tune_allocator
from molfit.parallel._chunks import chunks
from molfit.parallel._executor import (
    BACKENDS,
    Executor,
    n_cpus,
    parallel_map,
    resolve_n_jobs,
    worker_threads,
)

__all__ = [
    "BACKENDS",
    "Executor",
    "chunks",
    "n_cpus",
    "parallel_map",
    "resolve_n_jobs",
    "tune_allocator",
    "worker_threads",
]
