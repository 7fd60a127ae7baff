"""The primer lecture as a local web app: slides, eight live demos and a small JSON API.

Start it with ``molfit primer`` or :func:`serve`. The fits behind the API (:func:`polynomial_fit`,
:func:`gp_fit`, :func:`pinn_fit`, :class:`PropertyModel`) and the reference implementations of the
in-page demos (:func:`least_squares_line`, :func:`gradient_descent`, :func:`neuron`,
:func:`forward`, :func:`backprop_step`) are importable on their own, and so is what the science
slides compute: :class:`MDSession` (MD under a shipped potential, in chunks),
:func:`time_oracle_vs_potential`, :func:`symmetry_view` with :class:`ToyCoordinateModel`,
:func:`predict_properties` (SMILES → conformer → QM9 models), :func:`shift_point`,
:func:`leakage_study` and :class:`RashomonPair`.
"""

from molfit.primer._fits import gp_fit, polynomial_fit, true_function
from molfit.primer._molecule import ASPIRIN, molecule_panel
from molfit.primer._pinn import pinn_fit
from molfit.primer._potential import MDSession, MDSessions, time_oracle_vs_potential
from molfit.primer._properties3d import predict_properties
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
from molfit.primer._symmetry import ToyCoordinateModel, symmetry_view
from molfit.primer._worry import RashomonPair, leakage_study, shift_point

__all__ = [
    "ACTIVATIONS",
    "ASPIRIN",
    "PRIMER_LOSS",
    "BackpropStep",
    "LineFit",
    "MDSession",
    "MDSessions",
    "Network",
    "NonConvexLoss",
    "PrimerServer",
    "PropertyModel",
    "RashomonPair",
    "TinyNet",
    "ToyCoordinateModel",
    "activation",
    "backprop_step",
    "create_server",
    "forward",
    "gp_fit",
    "gradient_descent",
    "leakage_study",
    "least_squares_line",
    "molecule_panel",
    "neuron",
    "pinn_fit",
    "polynomial_fit",
    "predict_properties",
    "serve",
    "shift_point",
    "symmetry_view",
    "time_oracle_vs_potential",
    "true_function",
]
