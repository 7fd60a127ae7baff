"""molfit: machine learning on molecules and materials.

Packages in layers, lowest first (a layer imports only lower ones, through their public
``__init__``; checked by ``tests/test_architecture.py``)::

    core (errors, units, keys, registry) < parallel < chem < structures < data < nn < train
    < models < uncertainty < evaluate < workflows < {explain, atomistic, screen, trust}
    < {active, materials} < primer < cli

``docs/design.md`` describes each layer and its contracts.
"""

from __future__ import annotations

from typing import Any

__all__ = ["__version__"]


def __getattr__(name: str) -> Any:
    """``molfit.__version__``, read from the installed metadata on first use (importing
    ``importlib.metadata`` costs ~50 ms of every command's start-up otherwise)."""
    if name == "__version__":
        from importlib.metadata import PackageNotFoundError, version

        try:
            value = version("molfit")
        except PackageNotFoundError:  # running from a source tree without installation
            value = "0.0.0"
        globals()["__version__"] = value
        return value
    raise AttributeError(f"module 'molfit' has no attribute {name!r}")
