"""molfit: machine learning on molecules and materials.

Layers, lowest first (a layer never imports a higher one)::

    molfit.data  ->  molfit.chem  ->  molfit.models  ->  molfit.train
                 ->  molfit.evaluate   ->  molfit.apply   ->  molfit.cli
"""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("molfit")
except PackageNotFoundError:  # running from a source tree without installation
    __version__ = "0.0.0"

__all__ = ["__version__"]
