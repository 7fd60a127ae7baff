"""molfit: machine learning on molecules and materials.

Packages in layers, lowest first (a layer imports only lower ones, through their public
``__init__``; checked by ``tests/test_architecture.py``)::

    core (errors, units, keys, registry) < parallel < chem < structures < data < nn < train
    < models < uncertainty < evaluate < workflows < {explain, atomistic, screen, trust, zoo}
    < {active, materials} < primer < cli

``docs/design.md`` describes each layer and its contracts. ``molfit.pretrained(name)`` is
:func:`molfit.zoo.pretrained`: the run directory of a shipped model (``molfit.zoo.list_models()``
lists them).
"""

from __future__ import annotations

from typing import Any

__all__ = ["__version__", "pretrained"]


def __getattr__(name: str) -> Any:
    """``molfit.__version__``, read from the installed metadata on first use (importing
    ``importlib.metadata`` costs ~50 ms of every command's start-up otherwise), and
    ``molfit.pretrained``, imported from :mod:`molfit.zoo` on first use."""
    if name == "pretrained":
        from molfit.zoo import pretrained

        globals()["pretrained"] = pretrained
        return pretrained
    if name == "__version__":
        from importlib.metadata import PackageNotFoundError, version

        try:
            value = version("molfit")
        except PackageNotFoundError:  # running from a source tree without installation
            value = "0.0.0"
        globals()["__version__"] = value
        return value
    raise AttributeError(f"module 'molfit' has no attribute {name!r}")
