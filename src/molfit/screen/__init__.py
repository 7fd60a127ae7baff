"""Virtual screening: a saved run over a library of any size, streamed in chunks, resumable.

    >>> from molfit.screen import screen
    >>> summary = screen("runs/b3db-et", "moses", "hits/", top=100, diverse=True,
    ...                  filters="pains,brenk,lipinski", dedupe=True)

Libraries: ``.smi``, ``.csv``, ``.tsv``, ``.parquet``, ``.sdf`` (plain or ``.gz``) or a built-in
dataset name. Output: ``part-NNNNN.parquet`` per chunk, ``progress.json`` (resume after a
kill), ``summary.json`` and ``top.csv``. See docs/screening.md.
"""

from molfit.screen._filters import FILTERS, apply_filters, check_filters, lipinski_violations
from molfit.screen._library import LibraryChunk, iter_library, library_format, resolve_library
from molfit.screen._screen import ChunkScreener, ScreenSummary, part_path, screen

__all__ = [
    "FILTERS",
    "ChunkScreener",
    "LibraryChunk",
    "ScreenSummary",
    "apply_filters",
    "check_filters",
    "iter_library",
    "library_format",
    "lipinski_violations",
    "part_path",
    "resolve_library",
    "screen",
]
