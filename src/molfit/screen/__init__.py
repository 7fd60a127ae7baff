"""Virtual screening: a saved run over a library of any size, streamed in chunks, resumable.

    >>> from molfit.screen import screen
    >>> summary = screen("runs/b3db-et", "moses", "hits/", top=100, diverse=True,
    ...                  filters="pains,brenk,lipinski", dedupe=True)

Libraries: ``.smi``, ``.csv``, ``.tsv``, ``.parquet``, ``.sdf`` (plain or ``.gz``) or a built-in
dataset name. Several runs (``screen(["runs/a", "runs/b"], ...)``) share one pass over the
library. Output: ``part-NNNNN.parquet`` per chunk, ``progress.json`` (resume after a kill),
``summary.json``, ``summary.html`` and ``top.csv``. See docs/screening.md.
"""

from molfit.screen._filters import FILTERS, apply_filters, check_filters, lipinski_violations
from molfit.screen._library import LibraryChunk, iter_library, library_format, resolve_library
from molfit.screen._rank import RANKINGS, ensemble_score, non_dominated, pareto_fronts
from molfit.screen._screen import (
    DEDUPE_KEYS,
    ChunkScreener,
    ScreenSummary,
    check_dedupe,
    part_path,
    screen,
)

__all__ = [
    "DEDUPE_KEYS",
    "FILTERS",
    "RANKINGS",
    "ChunkScreener",
    "LibraryChunk",
    "ScreenSummary",
    "apply_filters",
    "check_dedupe",
    "check_filters",
    "ensemble_score",
    "iter_library",
    "library_format",
    "lipinski_violations",
    "non_dominated",
    "pareto_fronts",
    "part_path",
    "resolve_library",
    "screen",
]
