"""Shared fixtures of the primer tests: one model cache for the whole session."""

from __future__ import annotations

import pytest


@pytest.fixture(scope="session")
def primer_cache(tmp_path_factory):
    """A fresh molfit cache folder: the case-study model is trained once, then read back."""
    return tmp_path_factory.mktemp("molfit-cache")


@pytest.fixture(scope="session")
def zoo_models():
    """The shipped models the science slides use, by name (``None``: molfit.zoo resolves them).

    ``MOLFIT_PRIMER_TEST_RUNS=DIR`` points those with a run directory ``DIR/<name>`` there
    instead (for working on the slides before a model ships); the science tests skip when a
    model is in neither place.
    """
    import os
    from pathlib import Path

    from molfit.primer._science import ZOO_NAMES

    runs = os.environ.get("MOLFIT_PRIMER_TEST_RUNS")
    overrides = {}
    if runs:
        overrides = {n: Path(runs) / n for n in ZOO_NAMES if (Path(runs) / n).is_dir()}
    needed = set(ZOO_NAMES) - set(overrides)
    if needed:
        zoo = pytest.importorskip("molfit.zoo", reason="needs the shipped models (molfit.zoo)")
        names = {getattr(card, "name", card) for card in zoo.list_models()}
        if needed - names:
            pytest.skip(f"molfit.zoo does not ship {sorted(needed - names)}")
    return overrides or None
