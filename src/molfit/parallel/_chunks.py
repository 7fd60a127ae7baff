"""Cut any iterable into consecutive chunks, lazily: a generator of millions of SMILES is never
held in memory, only the chunk being filled."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from itertools import islice
from typing import TypeVar

from molfit.errors import InputError

T = TypeVar("T")


def _check_size(size: int) -> int:
    if isinstance(size, bool) or not isinstance(size, int) or size < 1:
        raise InputError(f"chunk size must be a whole number >= 1, got {size!r}")
    return size


def chunks(iterable: Iterable[T], size: int) -> Iterator[list[T]]:
    """Consecutive lists of ``size`` items (the last may be shorter) from ``iterable``.

    The input is consumed as the chunks are taken, one chunk at a time, so a generator over a
    file of any length streams through; nothing past the current chunk is read.

    Args:
        iterable: any iterable (list, generator, file lines...).
        size: items per chunk, >= 1.

    Yields:
        lists of at most ``size`` items, in input order; none for an empty input.

    Raises:
        InputError: ``size`` is not a whole number >= 1 (raised at the call, before any item
            is read).
    """
    _check_size(size)
    return _chunks(iter(iterable), size)


def _chunks(it: Iterator[T], size: int) -> Iterator[list[T]]:
    while True:
        chunk = list(islice(it, size))
        if not chunk:
            return
        yield chunk


def numbered_chunks(iterable: Iterable[T], size: int) -> Iterator[tuple[int, list[T]]]:
    """Like :func:`chunks`, each chunk with the 0-based index of its first item in the input."""
    start = 0
    for chunk in chunks(iterable, size):
        yield start, chunk
        start += len(chunk)
