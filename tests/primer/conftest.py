"""Shared fixtures of the primer tests: one model cache for the whole session."""

from __future__ import annotations

import pytest


@pytest.fixture(scope="session")
def primer_cache(tmp_path_factory):
    """A fresh molfit cache folder: the case-study model is trained once, then read back."""
    return tmp_path_factory.mktemp("molfit-cache")
