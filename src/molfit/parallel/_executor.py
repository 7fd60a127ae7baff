"""One executor for chunked work: in this process, in a pool of forked processes, or on Dask.

A job is a function ``fn(chunk) -> result`` applied to consecutive chunks of the input. Whatever
the backend, the chunk results come back in input order, so the backend and the number of
workers never change a result. The function is sent once per worker (a pool initializer, or one
Dask ``scatter`` broadcast), not once per chunk, so a featurizer or a loaded model travels once.
An :class:`~molfit.errors.InputError` that ``fn`` raises with a 1-based row *within its chunk*
comes back as :class:`~molfit.errors.InvalidMoleculeError` naming the 1-based row in the whole
input; the first bad row in input order is the one reported.

Inputs stream: at most ``max_in_flight`` chunks are read ahead of the one being returned, so
:meth:`Executor.imap` over a generator of any length holds a bounded number of items.
"""

from __future__ import annotations

import gc
import multiprocessing
import os
import sys
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from typing import Any, Literal, TypeVar

from molfit.errors import InputError, InvalidMoleculeError, RowIssue
from molfit.parallel._chunks import _check_size, numbered_chunks

__all__ = ["BACKENDS", "Executor", "n_cpus", "parallel_map", "resolve_n_jobs", "worker_threads"]

T = TypeVar("T")
Backend = Literal["serial", "processes", "dask"]
BACKENDS: tuple[str, ...] = ("serial", "processes", "dask")

_WORKER_FN: Callable[[Sequence[Any]], Any] | None = None


def n_cpus() -> int:
    """CPU cores this process may run on (respects ``taskset`` / cgroup affinity)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # macOS, Windows
        return os.cpu_count() or 1


def resolve_n_jobs(n_jobs: int) -> int:
    """Number of workers for ``n_jobs``: ``-1`` all cores, ``-2`` all but one, ``k > 0``
    exactly ``k``.

    Raises:
        InputError: ``n_jobs`` is 0 or not a whole number.
    """
    if isinstance(n_jobs, bool) or not isinstance(n_jobs, int):
        raise InputError(f"n_jobs must be a whole number, got {n_jobs!r}")
    if n_jobs == 0:
        raise InputError("n_jobs must be a positive number of processes or negative (-1 = all)")
    if n_jobs < 0:
        return max(1, n_cpus() + 1 + n_jobs)
    return n_jobs


def _run_chunk(fn: Callable[[Sequence[Any]], Any], start: int, chunk: Sequence[Any]) -> Any:
    """Run ``fn`` on one chunk; an input error becomes a picklable ``("error", row, reason)``
    with the row counted in the whole input (1-based)."""
    try:
        return ("ok", fn(chunk))
    except InputError as exc:
        issue = exc.issue
        if issue is not None and issue.row is not None:
            return ("error", start + issue.row, issue.reason)
        return ("error", None, str(exc))


def worker_threads(workers: int) -> int:
    """Threads each of ``workers`` worker processes runs its own math on.

    One in a *forked* worker (Linux), whatever the cores: GNU OpenMP cannot run a parallel
    region in a process forked after its parent ran one, it hangs (a D-MPNN screen with
    ``--workers 2`` in a process where torch had used two threads never finished); the workers
    are the parallelism. In a *spawned* worker (elsewhere) the cores are shared out,
    ``n_cpus() // workers``, at least one.
    """
    if _context().get_start_method() == "fork":
        return 1
    return max(1, n_cpus() // max(1, workers))


def _share_cores(threads: int) -> None:
    """Hold a worker's thread pools to ``threads``: a forked worker inherits torch's pool of one
    thread per core, and N of them would oversubscribe the cores N times (or hang, see
    :func:`worker_threads`). Libraries a worker loads later read ``OMP_NUM_THREADS`` (set only
    where the user has not set it)."""
    os.environ.setdefault("OMP_NUM_THREADS", str(threads))
    torch = sys.modules.get("torch")
    if torch is not None:
        torch.set_num_threads(threads)


def _init_worker(fn: Callable[[Sequence[Any]], Any], threads: int = 1) -> None:
    global _WORKER_FN
    _WORKER_FN = fn
    _share_cores(threads)
    # objects inherited through fork are never garbage: keep the collector from walking (and so
    # copying, page by page) the parent's whole heap in every worker
    gc.freeze()


def _pool_task(start: int, chunk: Sequence[Any]) -> Any:
    if _WORKER_FN is None:  # pragma: no cover - the initializer always runs first
        raise RuntimeError("worker started without its function")
    return _run_chunk(_WORKER_FN, start, chunk)


def _context() -> multiprocessing.context.BaseContext:
    # fork starts workers in milliseconds and shares the already imported RDKit; elsewhere spawn.
    if sys.platform.startswith("linux"):
        return multiprocessing.get_context("fork")
    return multiprocessing.get_context("spawn")


def _unwrap(raw: Any) -> Any:
    status, *payload = raw
    if status == "error":
        row, reason = payload
        issue = RowIssue(reason=reason, row=row)
        raise InvalidMoleculeError(str(issue), issue)
    return payload[0]


class Executor:
    """Apply a function to chunks of an input, serially, in processes or on a Dask cluster.

    Args:
        backend: ``"serial"`` (this process), ``"processes"`` (a pool of forked workers on
            this machine; spawned outside Linux) or ``"dask"`` (a ``dask.distributed``
            cluster: the one at ``address``, the given ``client``'s, or a new LocalCluster of
            ``n_workers`` single-threaded worker processes on 127.0.0.1). Dask is imported only
            for this backend (``pip install 'molfit[dask]'``).
        n_workers: worker processes for ``"processes"`` and a new LocalCluster (``-1``: every
            core, ``-2``: all but one); ignored by ``"serial"`` and an existing cluster.
        chunk_size: items per chunk (the unit of work sent to a worker), >= 1.
        address: a Dask scheduler address, e.g. ``"tcp://10.0.0.5:8786"``.
        client: an existing ``dask.distributed.Client`` (left open by :meth:`close`).
        max_in_flight: chunks submitted ahead of the one being returned; default twice the
            number of workers. Bounds memory when the input is a stream.

    Use it as a context manager (or call :meth:`close`) so that a cluster it started is shut
    down. The processes pool lives for one :meth:`imap`/:meth:`map` call (forking costs
    milliseconds); a Dask cluster lives as long as the executor.

    Raises:
        InputError: an unknown backend, a bad ``n_workers``/``chunk_size``, ``address`` or
            ``client`` without the ``"dask"`` backend, or Dask not installed.
    """

    def __init__(
        self,
        backend: Backend | str = "serial",
        *,
        n_workers: int = -1,
        chunk_size: int = 256,
        address: str | None = None,
        client: Any = None,
        max_in_flight: int | None = None,
    ) -> None:
        if backend not in BACKENDS:
            raise InputError(f"unknown parallel backend {backend!r}; choose one of {BACKENDS}")
        if backend != "dask" and (address is not None or client is not None):
            raise InputError(f"address/client apply to the 'dask' backend, not {backend!r}")
        if address is not None and client is not None:
            raise InputError("give a Dask scheduler address or a client, not both")
        self.backend: str = backend
        self.n_workers = 1 if backend == "serial" else resolve_n_jobs(n_workers)
        self.chunk_size = _check_size(chunk_size)
        if max_in_flight is not None:
            _check_size(max_in_flight)
        self._max_in_flight = max_in_flight
        self._address = address
        self._client = client
        self._owns_client = False
        self._cluster: Any = None
        self._closed = False

    # --- lifecycle -----------------------------------------------------------------------------

    def __enter__(self) -> Executor:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Shut down the Dask client and cluster this executor started (idempotent)."""
        if self._owns_client and self._client is not None:
            self._client.close()
            self._client = None
        if self._cluster is not None:
            self._cluster.close()
            self._cluster = None
        self._closed = True

    def __repr__(self) -> str:
        return (
            f"Executor(backend={self.backend!r}, n_workers={self.n_workers}, "
            f"chunk_size={self.chunk_size})"
        )

    @property
    def client(self) -> Any:
        """The ``dask.distributed.Client`` of the ``"dask"`` backend (started on first use)."""
        if self.backend != "dask":
            raise InputError(f"the {self.backend!r} backend has no Dask client")
        if self._closed:
            raise InputError("this Executor is closed")
        if self._client is None:
            try:
                from dask.distributed import Client, LocalCluster
            except ImportError:
                raise InputError(
                    "the 'dask' backend needs dask.distributed, which is not installed; "
                    "install it with: pip install 'molfit[dask]'"
                ) from None
            if self._address is not None:
                try:
                    self._client = Client(self._address, timeout="10s")
                except OSError as exc:
                    raise InputError(
                        f"cannot reach the Dask scheduler at {self._address!r} ({exc})"
                    ) from None
            else:
                self._cluster = LocalCluster(
                    n_workers=self.n_workers,
                    threads_per_worker=1,
                    processes=True,
                    host="127.0.0.1",
                    dashboard_address=None,
                )
                self._client = Client(self._cluster)
            self._owns_client = True
        return self._client

    # --- work ----------------------------------------------------------------------------------

    def imap(
        self,
        fn: Callable[[Sequence[Any]], T],
        items: Iterable[Any],
        *,
        chunk_size: int | None = None,
    ) -> Iterator[T]:
        """``fn(chunk)`` for each consecutive chunk of ``items``, yielded in input order.

        Args:
            fn: a picklable callable taking a list of items and returning that chunk's result.
                An :class:`InputError` it raises should carry a :class:`RowIssue` whose row is
                1-based within the chunk.
            items: a sequence or any iterable (a generator streams: it is read only a bounded
                number of chunks ahead).
            chunk_size: items per chunk; default the executor's.

        Raises:
            InvalidMoleculeError: a bad item, named by its 1-based row in ``items``.
        """
        size = self.chunk_size if chunk_size is None else _check_size(chunk_size)
        if self._closed:
            raise InputError("this Executor is closed")
        tasks = numbered_chunks(items, size)
        if self.backend == "serial":
            return (_unwrap(_run_chunk(fn, start, chunk)) for start, chunk in tasks)
        n_chunks = -(-len(items) // size) if isinstance(items, Sequence) else None
        workers = self.n_workers if n_chunks is None else min(self.n_workers, n_chunks)
        if self.backend == "processes":
            if workers <= 1:
                return (_unwrap(_run_chunk(fn, start, chunk)) for start, chunk in tasks)
            return self._imap_processes(fn, tasks, workers)
        return self._imap_dask(fn, tasks)

    def map(
        self,
        fn: Callable[[Sequence[Any]], T],
        items: Iterable[Any],
        *,
        chunk_size: int | None = None,
    ) -> list[T]:
        """The list of :meth:`imap` results (one per chunk, in input order)."""
        return list(self.imap(fn, items, chunk_size=chunk_size))

    def _in_flight(self, workers: int) -> int:
        return self._max_in_flight or 2 * workers

    def _imap_processes(
        self, fn: Callable[[Sequence[Any]], T], tasks: Iterator[tuple[int, list[Any]]], workers: int
    ) -> Iterator[T]:
        limit = self._in_flight(workers)
        pool = ProcessPoolExecutor(
            max_workers=workers,
            mp_context=_context(),
            initializer=_init_worker,
            initargs=(fn, worker_threads(workers)),
        )
        pending: deque[Future[Any]] = deque()
        try:
            for start, chunk in tasks:
                pending.append(pool.submit(_pool_task, start, chunk))
                if len(pending) >= limit:
                    yield _unwrap(pending.popleft().result())
            while pending:
                yield _unwrap(pending.popleft().result())
        finally:
            pool.shutdown(wait=True, cancel_futures=True)

    def _imap_dask(
        self, fn: Callable[[Sequence[Any]], T], tasks: Iterator[tuple[int, list[Any]]]
    ) -> Iterator[T]:
        client = self.client
        n_workers = max(1, len(client.scheduler_info().get("workers", {})))
        limit = self._in_flight(n_workers)
        # one copy of fn per worker, not one per chunk
        fn_future = client.scatter(fn, broadcast=True, hash=False)
        pending: deque[Any] = deque()
        try:
            for start, chunk in tasks:
                pending.append(client.submit(_run_chunk, fn_future, start, chunk, pure=False))
                if len(pending) >= limit:
                    yield _unwrap(pending.popleft().result())
            while pending:
                yield _unwrap(pending.popleft().result())
        finally:
            for future in pending:
                future.cancel()
            fn_future.release()


def parallel_map(
    fn: Callable[[Sequence[Any]], T],
    items: Iterable[Any],
    *,
    n_jobs: int = 1,
    chunk_size: int = 256,
    combine: Callable[[list[T]], Any] | None = None,
    flat: bool = False,
    executor: Executor | None = None,
) -> Any:
    """Apply ``fn`` to consecutive chunks of ``items``, in ``n_jobs`` processes (or ``executor``).

    Args:
        fn: a picklable callable taking a list of items and returning a result for that chunk
            (a list or numpy arrays). An :class:`InputError` it raises must carry a
            :class:`RowIssue` whose row is 1-based *within the chunk*.
        items: the inputs, preferably SMILES strings (cheap to send to a worker).
        n_jobs: processes; ``1`` runs in this process, ``-1`` uses every core. Ignored when
            ``executor`` is given.
        chunk_size: items per chunk (the unit of work sent to a worker).
        combine: called with the list of chunk results, in order; its return value is returned.
        flat: without ``combine``, concatenate list results into one list.
        executor: run on this :class:`Executor` (e.g. a Dask one) instead.

    Returns:
        ``combine(results)``, the concatenated list if ``flat``, else the list of chunk results.

    Raises:
        InvalidMoleculeError: a bad item, named by its 1-based row in ``items``.
    """
    if executor is None:
        workers = resolve_n_jobs(n_jobs)
        executor = Executor(
            "serial" if workers <= 1 else "processes", n_workers=workers, chunk_size=chunk_size
        )
    results = executor.map(fn, items, chunk_size=chunk_size)
    if combine is not None:
        return combine(results)
    if flat:
        return [r for chunk in results for r in chunk]
    return results
