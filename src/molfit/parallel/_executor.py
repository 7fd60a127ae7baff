"""Featurize many molecules across processes, in chunks, with results identical to one process.

The inputs (SMILES strings, or RDKit molecules, which pickle through RDKit's binary format) are
cut into chunks; each chunk goes to a worker process that runs the featurizer on it and sends back
plain numpy arrays. Chunks are reassembled in input order, so ``n_jobs`` never changes a result.
A bad input in any chunk raises :class:`~molfit.errors.InvalidMoleculeError` naming its 1-based row
in the whole input.
"""

from __future__ import annotations

import gc
import multiprocessing
import os
import sys
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from typing import Any, TypeVar

from molfit.errors import InputError, InvalidMoleculeError, RowIssue

__all__ = ["n_cpus", "parallel_map", "resolve_n_jobs"]

T = TypeVar("T")

_WORKER_FN: Callable[[Sequence[Any]], Any] | None = None


def n_cpus() -> int:
    """CPU cores this process may run on (respects ``taskset`` / cgroup affinity)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # macOS, Windows
        return os.cpu_count() or 1


def resolve_n_jobs(n_jobs: int) -> int:
    """Number of worker processes for ``n_jobs``: ``-1`` all cores, ``-2`` all but one, ``k > 0``
    exactly ``k``.

    Raises:
        InputError: ``n_jobs`` is 0.
    """
    if n_jobs == 0:
        raise InputError("n_jobs must be a positive number of processes or negative (-1 = all)")
    if n_jobs < 0:
        return max(1, n_cpus() + 1 + n_jobs)
    return n_jobs


def _init_worker(fn: Callable[[Sequence[Any]], Any]) -> None:
    global _WORKER_FN
    _WORKER_FN = fn
    # objects inherited through fork are never garbage: keep the collector from walking (and so
    # copying, page by page) the parent's whole heap in every worker
    gc.freeze()


def _run_chunk(fn: Callable[[Sequence[Any]], Any], start: int, chunk: Sequence[Any]) -> Any:
    """Run ``fn`` on one chunk; turn an input error into a picklable ``("error", row, reason)``."""
    try:
        return ("ok", fn(chunk))
    except InputError as exc:
        issue = exc.issue
        if issue is not None and issue.row is not None:
            return ("error", start + issue.row, issue.reason)
        return ("error", None, str(exc))


def _worker(task: tuple[int, Sequence[Any]]) -> Any:
    assert _WORKER_FN is not None
    start, chunk = task
    return _run_chunk(_WORKER_FN, start, chunk)


def _context() -> multiprocessing.context.BaseContext:
    # fork starts workers in milliseconds and shares the already imported RDKit; elsewhere spawn.
    if sys.platform.startswith("linux"):
        return multiprocessing.get_context("fork")
    return multiprocessing.get_context("spawn")


def parallel_map(
    fn: Callable[[Sequence[Any]], T],
    items: Sequence[Any],
    *,
    n_jobs: int = 1,
    chunk_size: int = 256,
    combine: Callable[[list[T]], Any] | None = None,
    flat: bool = False,
) -> Any:
    """Apply ``fn`` to consecutive chunks of ``items``, in ``n_jobs`` processes.

    Args:
        fn: a picklable callable taking a list of items and returning a result for that chunk
            (a list or numpy arrays). An :class:`InputError` it raises must carry a
            :class:`RowIssue` whose row is 1-based *within the chunk*.
        items: the inputs, preferably SMILES strings (cheap to send to a worker).
        n_jobs: processes; ``1`` runs in this process, ``-1`` uses every core.
        chunk_size: items per chunk (the unit of work sent to a worker).
        combine: called with the list of chunk results, in order; its return value is returned.
        flat: without ``combine``, concatenate list results into one list.

    Returns:
        ``combine(results)``, the concatenated list if ``flat``, else the list of chunk results.

    Raises:
        InvalidMoleculeError: a bad item, named by its 1-based row in ``items``.
    """
    if chunk_size < 1:
        raise InputError(f"chunk_size must be >= 1, got {chunk_size}")
    items = list(items) if not isinstance(items, Sequence) else items
    tasks = [(i, items[i : i + chunk_size]) for i in range(0, len(items), chunk_size)]
    workers = min(resolve_n_jobs(n_jobs), len(tasks))
    if workers <= 1:
        raw = []
        for start, chunk in tasks:
            raw.append(_run_chunk(fn, start, chunk))
            if raw[-1][0] == "error":
                break
    else:
        with ProcessPoolExecutor(
            max_workers=workers, mp_context=_context(), initializer=_init_worker, initargs=(fn,)
        ) as pool:
            raw = list(pool.map(_worker, tasks))
    results = []
    for status, *payload in raw:
        if status == "error":
            row, reason = payload
            issue = RowIssue(reason=reason, row=row)
            raise InvalidMoleculeError(str(issue), issue)
        results.append(payload[0])
    if combine is not None:
        return combine(results)
    if flat:
        return [r for chunk in results for r in chunk]
    return results
