"""Estimators for molecules (scikit-learn contract), the Prediction record and the model registry.

``X`` is a list of SMILES or RDKit molecules (or a numeric ``(n, n_features)`` array); ``y`` is
``(n,)`` or ``(n, n_tasks)`` with ``NaN`` for missing labels. A model's scikit-learn type follows
its ``task``: ``"regression"`` → regressor (``score`` = R²), ``"classification"`` → binary
classifier (``predict_proba``, ``classes_``, ``score`` = accuracy), ``"auto"`` → decided at fit.
Using a model before ``fit`` raises :class:`NotFittedError` (an ``InputError`` and, once
scikit-learn is imported, scikit-learn's ``NotFittedError``). The estimators implement
scikit-learn's protocol (:class:`Estimator`, :func:`clone`) without importing scikit-learn,
which the classical models load when they fit.

Names for ``get_model`` / ``--model`` live in :data:`MODELS`: ``extratrees``, ``rf``, ``ridge``,
``logistic``, ``linear``, ``gp-tanimoto``, ``gp-rbf``, ``exact-gp`` and, imported only when
asked for, ``dmpnn``, ``gcn``, ``schnet``, ``painn``, ``dimenet++``; plugins add names through
the ``molfit.models`` entry-point group. Importing this package never imports torch.
"""

from molfit.models._base import (
    MoleculeModel,
    as_targets,
    infer_task,
    is_array_input,
    read_config,
)
from molfit.models._estimator import (
    Estimator,
    NotFittedError,
    available_if,
    clone,
    not_fitted_error,
)
from molfit.models._featurize import FEATURIZERS, featurize
from molfit.models._prediction import Prediction
from molfit.models._registry import (
    MODELS,
    available_models,
    get_model,
    load_model,
    model_class,
    register_model,
    registered_name,
    save_model,
    seal_model_dir,
    verify_model_dir,
)

# Every estimator class loads on first use: deep models need torch (seconds to import), the
# classical ones scikit-learn's ensembles or linear models, so one model's
# command never pays for the others' imports.
_LAZY_CLASSES = {
    "ExactGP": "molfit.models._gp",
    "GaussianProcessModel": "molfit.models._gp",
    "LinearModel": "molfit.models._linear",
    "ExtraTreesModel": "molfit.models._trees",
    "RandomForestModel": "molfit.models._trees",
    "DMPNNModel": "molfit.models._dmpnn",
    "GCNModel": "molfit.models._gcn",
    "GeometricModel": "molfit.models._geometric",
    "SchNetModel": "molfit.models._geometric",
    "PaiNNModel": "molfit.models._geometric",
    "DimeNetPPModel": "molfit.models._geometric",
    "EquivariantModel": "molfit.models._geometric",
}


def __getattr__(name: str) -> object:
    if name in _LAZY_CLASSES:
        import importlib

        return getattr(importlib.import_module(_LAZY_CLASSES[name]), name)
    raise AttributeError(f"module 'molfit.models' has no attribute {name!r}")


__all__ = [
    "FEATURIZERS",
    "MODELS",
    "DMPNNModel",
    "DimeNetPPModel",
    "EquivariantModel",
    "Estimator",
    "ExactGP",
    "ExtraTreesModel",
    "GCNModel",
    "GaussianProcessModel",
    "GeometricModel",
    "LinearModel",
    "MoleculeModel",
    "NotFittedError",
    "PaiNNModel",
    "Prediction",
    "RandomForestModel",
    "SchNetModel",
    "as_targets",
    "available_if",
    "available_models",
    "clone",
    "featurize",
    "get_model",
    "infer_task",
    "is_array_input",
    "load_model",
    "model_class",
    "not_fitted_error",
    "read_config",
    "register_model",
    "registered_name",
    "save_model",
    "seal_model_dir",
    "verify_model_dir",
]
