"""Estimators for molecules (scikit-learn contract), the Prediction record and the model registry.

``X`` is a list of SMILES or RDKit molecules (or a numeric feature array); ``y`` is ``(n,)`` or
``(n, n_tasks)`` with ``NaN`` for missing labels. Names for ``get_model`` / ``--model``:
``extratrees``, ``rf``, ``ridge``, ``logistic``, ``gp-tanimoto``, ``gp-rbf`` (and ``dmpnn``,
``gcn`` when their modules are installed).
"""

from molfit.models._base import MoleculeModel, as_targets, infer_task
from molfit.models._featurize import featurize
from molfit.models._gp import GaussianProcessModel, GaussianProcessRegressor
from molfit.models._linear import LinearModel
from molfit.models._prediction import Prediction
from molfit.models._registry import (
    available_models,
    get_model,
    load_model,
    model_class,
    register_model,
    registered_name,
    save_model,
)
from molfit.models._trees import ExtraTreesModel, RandomForestModel

register_model("extratrees", ExtraTreesModel)
register_model("rf", RandomForestModel)
register_model("ridge", LinearModel, task="regression")
register_model("logistic", LinearModel, task="classification")
register_model("linear", LinearModel)
register_model("gp-tanimoto", GaussianProcessModel, kernel="tanimoto")
register_model("gp-rbf", GaussianProcessModel, kernel="rbf")

__all__ = [
    "ExtraTreesModel",
    "GaussianProcessModel",
    "GaussianProcessRegressor",
    "LinearModel",
    "MoleculeModel",
    "Prediction",
    "RandomForestModel",
    "as_targets",
    "available_models",
    "featurize",
    "get_model",
    "infer_task",
    "load_model",
    "model_class",
    "register_model",
    "registered_name",
    "save_model",
]
