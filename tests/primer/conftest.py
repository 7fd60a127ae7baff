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

    ``MOLFIT_PRIMER_TEST_RUNS=DIR`` points them at run directories ``DIR/<name>`` instead (for
    working on the slides without the zoo's files); without either, the science tests skip.
    """
    import os
    from pathlib import Path

    from molfit.primer._science import ZOO_NAMES

    runs = os.environ.get("MOLFIT_PRIMER_TEST_RUNS")
    if runs:
        return {name: Path(runs) / name for name in ZOO_NAMES}
    zoo = pytest.importorskip("molfit.zoo", reason="needs the shipped models (molfit.zoo)")
    names = {getattr(card, "name", card) for card in zoo.list_models()}
    missing = sorted(set(ZOO_NAMES) - names)
    if missing:
        pytest.skip(f"molfit.zoo does not ship {missing}")
    return None
