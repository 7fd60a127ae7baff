"""Shared machinery of molfit's classical estimators: targets, tasks, featurization, saving.

Every estimator follows scikit-learn's contract. ``X`` is a list of SMILES / RDKit molecules (or a
numeric array of precomputed features); ``y`` is ``(n,)`` or ``(n, n_tasks)`` with ``NaN`` for a
missing label. One sub-model is fitted per task on the rows labelled for that task, so multi-task
data with gaps needs no imputation.

A subclass implements four hooks per task: ``_fit_task(F, y)`` returns a state dict of NumPy
arrays, ``_predict_task(state, F)`` returns ``(mean, std or None)`` for regression,
``_proba_task(state, F)`` returns P(class 1) for classification, and ``_prepare_state(state)``
rebuilds fast objects from loaded arrays. The state dicts are what :meth:`save` writes to
``weights.npz`` — plain arrays, never pickle.

The estimator type follows ``task``: ``task="regression"`` gives a scikit-learn regressor
(``is_regressor`` is true, ``score`` is R²), ``task="classification"`` a binary classifier
(``predict_proba``, ``classes_``, ``score`` is accuracy). With ``task="auto"`` the type is
unknown until ``fit`` decides it from the labels: before fit the tags name no estimator type
(``is_regressor`` and ``is_classifier`` are both false) and ``predict_proba`` is listed; after fit
the tags and methods are those of the task chosen. Numeric arrays go through scikit-learn's input
validation (2-D, finite, same number of features at predict time); molecules are featurized.
"""

from __future__ import annotations

import json
import sys
import zipfile
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from molfit.errors import InputError
from molfit.models._estimator import Estimator, available_if, not_fitted_error
from molfit.models._featurize import featurize
from molfit.models._prediction import Prediction

TASKS = ("regression", "classification")
WEIGHTS_FILE = "weights.npz"
CONFIG_FILE = "config.json"


def as_targets(y: Any) -> np.ndarray:
    """Targets as a float ``(n, n_tasks)`` array (``NaN`` = missing; infinity is refused)."""
    if y is None:
        raise InputError(
            "this molfit model requires y to be passed, but the target y is None "
            "(molfit models are supervised)"
        )
    if np.asarray(y).dtype.kind == "c":
        raise InputError("y: Complex data not supported (labels must be real numbers)")
    try:
        arr = np.asarray(y, dtype=np.float64)
    except (TypeError, ValueError):
        raise InputError(
            "y must hold numbers (0/1 for classification, values for regression); "
            f"got {np.asarray(y).dtype} values such as {np.ravel(np.asarray(y))[:1].tolist()}"
        ) from None
    if arr.ndim == 1:
        arr = arr[:, None]
    if arr.ndim != 2:
        raise InputError(f"y must be (n,) or (n, n_tasks), got shape {np.shape(y)}")
    if np.isinf(arr).any():
        row, col = np.argwhere(np.isinf(arr))[0]
        raise InputError(f"y row {row + 1} (task {col}) is infinite: labels must be finite or NaN")
    return arr


def is_array_input(X: Any) -> bool:
    """Whether ``X`` is precomputed features (a 2-D array-like, a numeric array or a sparse
    matrix) rather than molecules (SMILES strings or RDKit molecules)."""
    sparse = sys.modules.get("scipy.sparse")  # a sparse matrix means SciPy is loaded
    if sparse is not None and sparse.issparse(X):
        return True
    if isinstance(X, str):
        return False
    if isinstance(X, list | tuple):  # rows of numbers are features, strings/RDKit are molecules
        return len(X) > 0 and isinstance(X[0], list | tuple | np.ndarray)
    if not hasattr(X, "__array__") and not hasattr(X, "shape"):
        return False
    arr = np.asarray(X)
    return arr.ndim != 1 or arr.dtype.kind in "fiubc"


def n_rows(X: Any) -> int:
    """Number of rows (samples) of molecules or features ``X``."""
    if hasattr(X, "shape") and len(X.shape):
        return int(X.shape[0])
    if hasattr(X, "__len__"):
        return len(X)
    return int(np.asarray(X).shape[0])


def infer_task(y: np.ndarray) -> str:
    """``"classification"`` when every label is 0 or 1, else ``"regression"``."""
    labelled = y[~np.isnan(y)]
    if labelled.size and np.isin(labelled, (0.0, 1.0)).all():
        return "classification"
    return "regression"


class MoleculeModel(Estimator):
    """Base class: featurize, then fit one sub-model per task on its labelled rows."""

    supports_classification: ClassVar[bool] = True
    supports_regression: ClassVar[bool] = True
    has_std: ClassVar[bool] = False

    # -- scikit-learn tags ----------------------------------------------------------------------
    def _estimator_task(self) -> str | None:
        """The task this model is (after fit) or will be (before fit), ``None`` when unknown."""
        if hasattr(self, "task_"):
            return self.task_
        task = getattr(self, "task", "auto")
        if task in TASKS:
            return task
        if not self.supports_classification:
            return "regression"
        if not self.supports_regression:
            return "classification"
        return None

    def __sklearn_tags__(self) -> Any:
        from sklearn.utils import ClassifierTags, RegressorTags

        tags = super().__sklearn_tags__()
        task = self._estimator_task()
        if task == "regression":
            tags.estimator_type = "regressor"
            tags.regressor_tags = RegressorTags()
        elif task == "classification":
            tags.estimator_type = "classifier"
            tags.classifier_tags = ClassifierTags(multi_class=False)
        tags.target_tags.required = True
        tags.target_tags.multi_output = True
        tags.input_tags.string = True  # SMILES
        return tags

    def __sklearn_is_fitted__(self) -> bool:
        # classical models keep their per-task states, the deep ones their ensemble members
        return hasattr(self, "states_") or hasattr(self, "members_")

    def _can_predict_proba(self) -> bool:
        return self._estimator_task() in ("classification", None)

    # -- hooks ----------------------------------------------------------------------------------
    def _featurizer_settings(self) -> dict[str, Any]:
        """Featurizer of ``X`` from the model's own parameters (ECFP6/1024 bits by default)."""
        return {
            "featurizer": getattr(self, "featurizer", "ecfp"),
            "radius": getattr(self, "radius", 3),
            "n_bits": getattr(self, "n_bits", 1024),
            "counts": getattr(self, "counts", False),
        }

    def _fit_task(self, F: np.ndarray, y: np.ndarray) -> dict[str, np.ndarray]:
        raise NotImplementedError

    def _predict_task(
        self, state: dict[str, Any], F: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray | None]:
        raise NotImplementedError

    def _proba_task(self, state: dict[str, Any], F: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def _prepare_state(self, state: dict[str, Any]) -> dict[str, Any]:
        return state

    # -- featurization --------------------------------------------------------------------------
    def featurize(self, X: Any) -> np.ndarray:
        """Feature matrix of ``X`` with this model's featurizer settings."""
        settings = self._featurizer_settings()
        return featurize(X, n_jobs=self._jobs(), **settings)

    def _jobs(self) -> int | None:
        """Worker count: the model's ``n_jobs``, else the fit-time runtime's, else ``None``."""
        own = getattr(self, "n_jobs", None)
        return own if own is not None else getattr(self, "_runtime_jobs", None)

    def _features(self, X: Any, *, fitting: bool) -> np.ndarray:
        """Features of ``X``: validated numeric arrays as they are, molecules featurized."""
        kind = "array" if is_array_input(X) else "molecules"
        if fitting:
            self.input_kind_ = kind
        elif kind != self.input_kind_:
            raise InputError(
                f"this model was fitted on {self.input_kind_} and cannot predict from {kind}"
            )
        if kind == "array":
            from sklearn.utils.validation import validate_data

            try:
                F = validate_data(self, X, reset=fitting, accept_sparse=False)
            except (TypeError, ValueError) as exc:
                raise InputError(f"X: {exc}") from None
            return F
        F = self.featurize(X)
        if not fitting and F.shape[1] != self.n_features_in_:
            raise InputError(f"expected {self.n_features_in_} features, got {F.shape[1]}")
        return F

    # -- scikit-learn API -----------------------------------------------------------------------
    def fit(self, X: Any, y: Any, *, runtime: Any = None) -> MoleculeModel:
        """Fit on ``X`` (n molecules, or an ``(n, n_features)`` array) and targets ``y`` (n,)
        or (n, n_tasks), ``NaN`` for a missing label; returns ``self``.

        ``runtime`` (a :class:`molfit.train.Runtime`) is accepted so that every molfit model
        takes the same fit arguments; its ``n_jobs`` is used when the model's is ``None``.

        Classification labels are 0/1; a single task may also use any two labels (text, or two
        numbers with ``task="classification"``), mapped in order to ``classes_`` (P of
        ``classes_[1]`` is what ``predict_proba[:, 1]`` gives).

        Raises:
            InputError: the labels do not fit the task (continuous labels for a classifier,
                more than two classes, fewer than 2 labelled rows, one class only) or ``X``
                cannot be used.
        """
        y, classes = self._binary_labels(y)
        Y = as_targets(y)
        if len(Y) != n_rows(X):
            raise InputError(f"X has {n_rows(X)} rows but y has {len(Y)}")
        task = self._fit_task_name(Y)
        self._runtime_jobs = getattr(runtime, "n_jobs", None)
        F = self._features(X, fitting=True)
        self.task_ = task
        self.n_features_in_ = int(F.shape[1])
        self.n_tasks_ = int(Y.shape[1])
        self.single_task_ = bool(np.asarray(y).ndim == 1)
        states = []
        for t in range(Y.shape[1]):
            rows = ~np.isnan(Y[:, t])
            if rows.sum() < 2:
                raise InputError(
                    f"task {t} has {int(rows.sum())} labelled rows (n_samples={int(rows.sum())}); "
                    "need at least 2"
                )
            yt = Y[rows, t]
            if task == "classification" and len(np.unique(yt)) < 2:
                raise InputError(f"task {t} has a single class among its labelled rows")
            states.append(self._prepare_state(self._fit_task(F[rows], yt)))
        self.states_ = states
        if task == "classification":
            if classes is None:
                classes = np.array([0, 1])
            self.classes_ = classes if self.single_task_ else [classes] * self.n_tasks_
        elif hasattr(self, "classes_"):
            del self.classes_
        return self

    def _binary_labels(self, y: Any) -> tuple[Any, np.ndarray | None]:
        """One task's two class labels other than 0/1 as 0/1 floats, and the classes (sorted);
        ``(y, None)`` when ``y`` needs no mapping."""
        if y is None:
            return y, None
        arr = np.asarray(y)
        if arr.ndim != 1 or arr.dtype.kind == "c":
            return y, None
        task = getattr(self, "task", "auto")
        try:
            numeric = arr.astype(np.float64)
        except (TypeError, ValueError):
            numeric = None
        if numeric is not None:
            values = np.unique(numeric[~np.isnan(numeric)])
            if task != "classification" or len(values) != 2 or np.isin(values, (0, 1)).all():
                return y, None
            mapped = np.where(np.isnan(numeric), np.nan, (numeric == values[1]).astype(float))
            return mapped, np.unique(arr[~np.isnan(numeric)])
        if task == "regression" or not self.supports_classification:
            raise InputError(
                f"{type(self).__name__} fits numbers, but y holds text labels such as "
                f"{arr[0]!r}: a regression target must be numeric"
            )
        classes = np.unique(arr.astype(str))
        if len(classes) > 2:
            raise InputError(
                "Only binary classification is supported. The type of the target is "
                f"multiclass ({len(classes)} labels: {', '.join(classes[:5])}...)"
            )
        if len(classes) < 2:
            raise InputError(f"y has a single class ({classes[0]!r}); need two")
        return (arr.astype(str) == classes[1]).astype(float), np.unique(arr)

    def _class_labels(self, index: np.ndarray) -> np.ndarray:
        """Class indices (0/1) as the labels the model was fitted on."""
        classes = getattr(self, "classes_", None)
        mapped = isinstance(classes, np.ndarray) and not np.array_equal(classes, [0, 1])
        return classes[index] if self.single_task_ and mapped else index

    def _fit_task_name(self, Y: np.ndarray) -> str:
        """The task to fit (``task``, or inferred from the labels for ``"auto"``), checked
        against the labels and against what this model supports."""
        asked = getattr(self, "task", "auto")
        task = infer_task(Y) if asked in (None, "auto") else asked
        name = type(self).__name__
        if task not in TASKS:
            raise InputError(f"task must be 'regression' or 'classification', got {task!r}")
        if task == "classification" and not self.supports_classification:
            raise InputError(f"{name} supports regression only (the labels are 0/1: classes)")
        if task == "regression" and not self.supports_regression:
            raise InputError(f"{name} supports classification only")
        labelled = Y[~np.isnan(Y)]
        if task == "classification" and not np.isin(labelled, (0.0, 1.0)).all():
            example = labelled[~np.isin(labelled, (0.0, 1.0))][0]
            values = np.unique(labelled)
            if np.all(values == np.round(values)) and len(values) > 2:
                raise InputError(
                    "Only binary classification is supported. The type of the target is "
                    f"multiclass ({len(values)} classes); {name} takes labels 0 and 1"
                )
            raise InputError(
                f"{name} is set up for classification (task='classification') and needs labels "
                f"0 or 1, but y holds continuous values such as {example:g}: this looks like a "
                "regression target; use a regression model (e.g. 'ridge' instead of 'logistic')"
            )
        return task

    def _check_fitted(self) -> None:
        if not self.__sklearn_is_fitted__():
            raise not_fitted_error(
                f"this {type(self).__name__} is not fitted yet; call fit before using it"
            )

    def _shape(self, a: np.ndarray) -> np.ndarray:
        return a[:, 0] if self.single_task_ else a

    def predict_features(self, F: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
        """Mean ``(n, n_tasks)`` and std (or ``None``) of a feature matrix (P(1) if classifier)."""
        self._check_fitted()
        means, stds = [], []
        for state in self.states_:
            if self.task_ == "classification":
                means.append(self._proba_task(state, F))
                stds.append(None)
            else:
                m, s = self._predict_task(state, F)
                means.append(m)
                stds.append(s)
        mean = np.column_stack(means).astype(np.float64)
        std = None if any(s is None for s in stds) else np.column_stack(stds).astype(np.float64)
        return mean, std

    def predict(self, X: Any, return_std: bool = False):
        """Predicted values (regression) or classes 0/1 (classification): ``(n,)`` or ``(n, t)``.

        With ``return_std=True`` (regression), returns ``(mean, std)``; std is ``None`` for
        models without one (ridge).
        """
        self._check_fitted()
        mean, std = self.predict_features(self._features(X, fitting=False))
        if self.task_ == "classification":
            labels = self._class_labels(self._shape((mean >= 0.5).astype(np.int64)))
            return (labels, None) if return_std else labels
        if return_std:
            return self._shape(mean), None if std is None else self._shape(std)
        return self._shape(mean)

    @available_if(_can_predict_proba)
    def predict_proba(self, X: Any) -> np.ndarray:
        """Class probabilities: ``(n, 2)`` for one task, ``(n, n_tasks, 2)`` for several.

        Only classifiers have it (``hasattr(regressor, "predict_proba")`` is false)."""
        self._check_fitted()
        if self.task_ != "classification":
            raise InputError("predict_proba needs a model fitted for classification")
        p1, _ = self.predict_features(self._features(X, fitting=False))
        proba = np.stack([1.0 - p1, p1], axis=-1)
        return proba[:, 0, :] if self.single_task_ else proba

    def score(self, X: Any, y: Any, sample_weight: Any = None) -> float:
        """R² (regression) or accuracy (classification) of ``predict(X)`` against ``y``; with
        several tasks, the mean over tasks, each on its labelled rows."""
        from sklearn.metrics import accuracy_score, r2_score  # 0.1 s: only when scoring

        self._check_fitted()
        if self.task_ == "classification" and self.single_task_:
            return float(
                accuracy_score(np.asarray(y), self.predict(X), sample_weight=sample_weight)
            )
        pred = np.asarray(self.predict(X), dtype=np.float64).reshape(len(as_targets(y)), -1)
        Y = as_targets(y)
        weights = None if sample_weight is None else np.asarray(sample_weight, dtype=np.float64)
        scores = []
        for t in range(Y.shape[1]):
            rows = ~np.isnan(Y[:, t])
            w = None if weights is None else weights[rows]
            if self.task_ == "classification":
                scores.append(accuracy_score(Y[rows, t], pred[rows, t], sample_weight=w))
            else:
                scores.append(r2_score(Y[rows, t], pred[rows, t], sample_weight=w))
        return float(np.mean(scores))

    def predict_record(self, X: Any, targets: list[str] | None = None) -> Prediction:
        """A :class:`Prediction` with the mean and the model's own spread as ``raw_std``
        (regression) or probabilities (classification).

        ``std`` stays ``None`` here: in molfit ``std`` is always a calibrated scale, which only
        :class:`molfit.uncertainty.CalibratedModel` gives."""
        self._check_fitted()
        mean, std = self.predict_features(self._features(X, fitting=False))
        names = targets or [f"y{t}" for t in range(self.n_tasks_)]
        if self.task_ == "classification":
            return Prediction(
                mean=self._shape((mean >= 0.5).astype(np.float64)),
                task="classification",
                targets=names,
                proba=self._shape(mean),
            )
        return Prediction(
            mean=self._shape(mean),
            raw_std=None if std is None else self._shape(std),
            task="regression",
            targets=names,
        )

    # -- persistence ----------------------------------------------------------------------------
    def _fitted_meta(self) -> dict[str, Any]:
        meta = {
            "task": self.task_,
            "n_features_in": self.n_features_in_,
            "n_tasks": self.n_tasks_,
            "single_task": self.single_task_,
            "input_kind": self.input_kind_,
        }
        if self.task_ == "classification" and self.single_task_:
            meta["classes"] = np.asarray(self.classes_).tolist()
        return meta

    def _raw_state(self, state: dict[str, Any]) -> dict[str, np.ndarray]:
        """The arrays of a task state worth saving (drops rebuilt helper objects)."""
        return {k: v for k, v in state.items() if isinstance(v, np.ndarray)}

    def save(self, directory: str | Path, extra: dict[str, Any] | None = None) -> Path:
        """Write ``config.json`` and ``weights.npz`` (plain arrays) to ``directory``."""
        self._check_fitted()
        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        arrays: dict[str, np.ndarray] = {}
        for t, state in enumerate(self.states_):
            for key, value in self._raw_state(state).items():
                arrays[f"task{t}.{key}"] = value
        np.savez_compressed(directory / WEIGHTS_FILE, **arrays)
        config = {
            "class": f"{type(self).__module__}.{type(self).__name__}",
            "params": _jsonable(self.get_params()),
            "fitted": self._fitted_meta(),
            **(extra or {}),
        }
        (directory / CONFIG_FILE).write_text(json.dumps(config, indent=2))
        return directory

    @classmethod
    def load(cls, directory: str | Path) -> MoleculeModel:
        """Rebuild a model written by :meth:`save` (``np.load(allow_pickle=False)``).

        Raises:
            InputError: a file is missing, truncated or not what :meth:`save` wrote.
        """
        directory = Path(directory)
        config = read_config(directory)
        try:
            model = cls(**config["params"])
            meta = config["fitted"]
            model.task_ = meta["task"]
            model.n_features_in_ = meta["n_features_in"]
            model.n_tasks_ = meta["n_tasks"]
            model.single_task_ = meta["single_task"]
            model.input_kind_ = meta["input_kind"]
        except (KeyError, TypeError) as exc:
            raise InputError(
                f"{directory / CONFIG_FILE}: not a saved molfit model ({exc})"
            ) from None
        states: list[dict[str, Any]] = [{} for _ in range(model.n_tasks_)]
        weights = directory / WEIGHTS_FILE
        try:
            with np.load(weights, allow_pickle=False) as data:
                for key in data.files:
                    task, name = key.split(".", 1)
                    states[int(task.removeprefix("task"))][name] = data[key]
            model.states_ = [model._prepare_state(s) for s in states]
        except (OSError, ValueError, KeyError, IndexError, EOFError, zipfile.BadZipFile) as exc:
            raise InputError(
                f"{weights}: cannot read the saved weights (missing, truncated or edited): {exc}"
            ) from None
        if model.task_ == "classification":
            classes = np.asarray(meta.get("classes", [0, 1]))
            model.classes_ = classes if model.single_task_ else [classes] * model.n_tasks_
        return model


def read_config(directory: str | Path) -> dict[str, Any]:
    """``config.json`` of a saved model directory as a dict.

    Raises:
        InputError: the file is missing or is not valid JSON (truncated or edited).
    """
    path = Path(directory) / CONFIG_FILE
    if not path.is_file():
        raise InputError(f"{directory}: not a saved model (no {CONFIG_FILE})")
    try:
        config = json.loads(path.read_text())
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InputError(f"{path}: not valid JSON (truncated or edited?): {exc}") from None
    if not isinstance(config, dict):
        raise InputError(f"{path}: expected a JSON object, got {type(config).__name__}")
    return config


def _jsonable(params: dict[str, Any]) -> dict[str, Any]:
    out = {}
    for key, value in params.items():
        if isinstance(value, np.generic):
            value = value.item()
        if isinstance(value, tuple):
            value = list(value)
        out[key] = value
    return out
