"""Models by name: the registry behind ``molfit train --model NAME`` and saved-model loading.

:data:`MODELS` is a :class:`molfit.registry.Registry` (entry-point group ``molfit.models``) and
the one table of model names. Every model is registered lazily by ``"module:Class"``, so that
``import molfit.models`` imports no estimator module, choosing ``extratrees`` never imports
torch and choosing ``dmpnn`` never imports scikit-learn's ensembles or linear models. A plugin
package adds a model with an entry point in its own ``pyproject.toml``::

    [project.entry-points."molfit.models"]
    my-model = "my_package.models:MyModel"

A name may imply parameters: ``"logistic"`` is :class:`LinearModel` with
``task="classification"``, ``"ridge"`` the same class with ``task="regression"``. The implied
values are what the name means: ``get_model("logistic", task="regression")`` is refused with an
:class:`~molfit.errors.InputError` instead of silently training ridge.

A registered class follows the estimator contract and implements ``save(directory, extra)`` and
the classmethod ``load(directory)``; :class:`molfit.models.MoleculeModel` provides both for
array-based models, deep models write ``safetensors``. :func:`save_model` then seals the
directory (format version and SHA-256 of every file in ``config.json``) and :func:`load_model`
refuses a directory whose files were edited or truncated since.
"""

from __future__ import annotations

import hashlib
import json
import sys
from pathlib import Path
from typing import Any

from molfit.errors import InputError, file_sha256
from molfit.models._base import CONFIG_FILE, read_config
from molfit.registry import Entry, Registry

#: every model name; see the module docs
MODELS: Registry = Registry("model", group="molfit.models", error=InputError)

# every model is imported on first use: choosing one never pays for the others' imports
# (scikit-learn's ensembles and linear models, scipy's optimizers, torch)
MODELS.register_lazy("extratrees", "molfit.models._trees:ExtraTreesModel")
MODELS.register_lazy("rf", "molfit.models._trees:RandomForestModel")
MODELS.register_lazy("ridge", "molfit.models._linear:LinearModel", task="regression")
MODELS.register_lazy("logistic", "molfit.models._linear:LinearModel", task="classification")
MODELS.register_lazy("linear", "molfit.models._linear:LinearModel")
MODELS.register_lazy("gp-tanimoto", "molfit.models._gp:GaussianProcessModel", kernel="tanimoto")
MODELS.register_lazy("gp-rbf", "molfit.models._gp:GaussianProcessModel", kernel="rbf")
MODELS.register_lazy("exact-gp", "molfit.models._gp:ExactGP")
MODELS.register_lazy("dmpnn", "molfit.models._dmpnn:DMPNNModel")
MODELS.register_lazy("gcn", "molfit.models._gcn:GCNModel")
MODELS.register_lazy("schnet", "molfit.models._geometric:SchNetModel")
MODELS.register_lazy("painn", "molfit.models._geometric:PaiNNModel")
MODELS.register_lazy("dimenet++", "molfit.models._geometric:DimeNetPPModel")
MODELS.register_lazy("equivariant", "molfit.models._geometric:EquivariantModel")

SEAL_FORMAT = "molfit.model-dir/1"
_SEAL_KEY = "checksums"


def register_model(name: str, cls: type, **defaults: Any) -> None:
    """Make ``cls`` available as ``name``; ``defaults`` are parameters this name implies.

    Example: ``register_model("logistic", LinearModel, task="classification")``. Same as
    ``MODELS.register(name, cls, **defaults)``.
    """
    MODELS.register(name, cls, **defaults)


def get_model(name: str, **params: Any) -> Any:
    """A new, unfitted model: ``get_model("extratrees", n_estimators=200)``.

    Raises:
        InputError: an unknown name (the message lists the available ones), or ``params``
            contradicts what the name means (``get_model("logistic", task="regression")``).
    """
    entry = MODELS.entry(name)
    implied_task = entry.implied.get("task")
    if implied_task is not None and params.get("task") == "auto":
        params = {k: v for k, v in params.items() if k != "task"}  # the name decides
    asked = params.get("task")
    if implied_task is not None and asked not in (None, implied_task):
        others = [e.name for e in MODELS.items() if e.implied.get("task") in (None, asked)]
        raise InputError(
            f"model {entry.name!r} is a {implied_task} model (task={implied_task!r}) and cannot "
            f"fit a {asked} target; for {asked} use one of: {', '.join(others)}"
        )
    return MODELS.create(name, **params)


def model_class(name: str) -> type:
    """The class registered under ``name`` (imports a lazily registered module)."""
    return MODELS.get(name)


def available_models() -> list[str]:
    """Every registered model name (lazy and plugin names included; nothing is imported)."""
    return MODELS.names()


def registered_name(model: Any) -> str:
    """The registry name of a model instance: among the names its class is registered under
    whose implied parameters the model has, the most specific one (``LinearModel(task=
    "regression")`` is ``"ridge"``, ``LinearModel()`` is ``"linear"``)."""
    best: tuple[int, str] | None = None
    for entry in MODELS.items():
        target = _loaded_target(entry)
        if type(model) is not target:
            continue
        matches = all(getattr(model, k, None) == v for k, v in entry.implied.items())
        if matches and (best is None or len(entry.implied) > best[0]):
            best = (len(entry.implied), entry.name)
    if best is None:
        raise InputError(f"{type(model).__name__} is not registered; call register_model first")
    return best[1]


def _loaded_target(entry: Entry) -> Any:
    """The entry's object if it is loaded or its module already imported (no new import)."""
    if entry.target is None and entry.spec and entry.spec.split(":")[0] in sys.modules:
        return MODELS.get(entry.name)
    return entry.target


# -- model directories -----------------------------------------------------------------------------
def _config_digest(config: dict[str, Any]) -> str:
    body = {k: v for k, v in config.items() if k != _SEAL_KEY}
    return hashlib.sha256(json.dumps(body, sort_keys=True).encode()).hexdigest()


def seal_model_dir(directory: str | Path) -> Path:
    """Record a format version and the SHA-256 of ``config.json``'s content and of every other
    file under ``directory`` (recursively) in ``config.json``'s ``"checksums"`` entry."""
    directory = Path(directory)
    config = read_config(directory)
    config.pop(_SEAL_KEY, None)
    config = json.loads(json.dumps(config, default=str))  # exactly what a reader will see
    files = sorted(p for p in directory.rglob("*") if p.is_file() and p != directory / CONFIG_FILE)
    config[_SEAL_KEY] = {
        "format": SEAL_FORMAT,
        "config": _config_digest(config),
        "files": {p.relative_to(directory).as_posix(): file_sha256(p) for p in files},
    }
    (directory / CONFIG_FILE).write_text(json.dumps(config, indent=2))
    return directory


def verify_model_dir(directory: str | Path) -> dict[str, Any]:
    """``config.json`` of a sealed directory after checking every recorded checksum.

    A directory saved before sealing existed (no ``"checksums"`` entry) is read as before.

    Raises:
        InputError: ``config.json`` is not valid JSON, its content or a file differs from
            what was saved (edited or truncated), or a recorded file is missing.
    """
    directory = Path(directory)
    config = read_config(directory)
    seal = config.get(_SEAL_KEY)
    if seal is None:
        return config
    if not isinstance(seal, dict) or seal.get("format") != SEAL_FORMAT:
        raise InputError(
            f"{directory / CONFIG_FILE}: unknown model-directory format "
            f"{seal.get('format') if isinstance(seal, dict) else seal!r}; "
            f"this molfit reads {SEAL_FORMAT}"
        )
    if seal.get("config") != _config_digest(config):
        raise InputError(
            f"{directory / CONFIG_FILE}: edited after saving (its checksum does not match); "
            "restore the original file or train the model again"
        )
    for name, digest in dict(seal.get("files", {})).items():
        path = directory / name
        if not path.is_file():
            raise InputError(f"{path}: missing from the saved model (it was saved with it)")
        if file_sha256(path) != digest:
            raise InputError(
                f"{path}: changed or truncated after saving (its checksum does not match); "
                "restore the original file or train the model again"
            )
    return config


def save_model(model: Any, directory: str | Path, extra: dict[str, Any] | None = None) -> Path:
    """Save a fitted model to ``directory`` (config.json + plain-array or safetensors weights),
    then seal it (:func:`seal_model_dir`)."""
    model.save(directory, extra={"model": registered_name(model), **(extra or {})})
    return seal_model_dir(directory)


def load_model(directory: str | Path) -> Any:
    """Load a model saved by :func:`save_model`; no pickle is read.

    Raises:
        InputError: the directory has no ``config.json``, names an unknown model, or a file
            was edited, truncated or removed since it was saved.
    """
    directory = Path(directory)
    config = verify_model_dir(directory)
    if "model" not in config:
        raise InputError(f"{directory / CONFIG_FILE}: no 'model' entry")
    return model_class(str(config["model"])).load(directory)
