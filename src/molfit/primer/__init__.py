"""The primer lecture as a local web app: slides, eight live demos and a small JSON API.

Start it with ``molfit primer`` or :func:`serve`. The fits behind the API (:func:`polynomial_fit`,
:func:`gp_fit`, :func:`pinn_fit`, :class:`PropertyModel`) and the reference implementations of the
in-page demos (:func:`least_squares_line`, :func:`gradient_descent`, :func:`neuron`,
:func:`forward`, :func:`backprop_step`) are importable on their own.
"""

from molfit.primer._fits import gp_fit, polynomial_fit, true_function
from molfit.primer._molecule import ASPIRIN, molecule_panel
from molfit.primer._pinn import pinn_fit
from molfit.primer._property_model import PropertyModel
from molfit.primer._reference import (
    ACTIVATIONS,
    PRIMER_LOSS,
    BackpropStep,
    LineFit,
    Network,
    NonConvexLoss,
    TinyNet,
    activation,
    backprop_step,
    forward,
    gradient_descent,
    least_squares_line,
    neuron,
)
from molfit.primer._server import PrimerServer, create_server, serve

__all__ = [
    "ACTIVATIONS",
    "ASPIRIN",
    "PRIMER_LOSS",
    "BackpropStep",
    "LineFit",
    "Network",
    "NonConvexLoss",
    "PrimerServer",
    "PropertyModel",
    "TinyNet",
    "activation",
    "backprop_step",
    "create_server",
    "forward",
    "gp_fit",
    "gradient_descent",
    "least_squares_line",
    "molecule_panel",
    "neuron",
    "pinn_fit",
    "polynomial_fit",
    "serve",
    "true_function",
]
