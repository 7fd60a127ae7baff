"""Models by name: the registry behind ``molfit train --model NAME`` and saved-model loading.

A model family registers itself with :func:`register_model` when its module is imported. Deep
models whose modules are expensive to import (torch) are listed in ``_LAZY`` and imported on first
use, so ``molfit train b3db`` never pays for torch.

A registered class must follow the estimator contract and implement ``save(directory, extra)``
and the classmethod ``load(directory)``; :class:`molfit.models.MoleculeModel` provides both for
array-based models, deep models write ``safetensors`` instead.
"""

from __future__ import annotations

import importlib
import importlib.util
import json
from pathlib import Path
from typing import Any

from molfit.errors import InputError

_REGISTRY: dict[str, tuple[type, dict[str, Any]]] = {}
_LAZY: dict[str, str] = {
    "dmpnn": "molfit.models._dmpnn",
    "gcn": "molfit.models._gcn",
    "schnet": "molfit.models._geometric",
    "painn": "molfit.models._geometric",
    "dimenet++": "molfit.models._geometric",
}


def register_model(name: str, cls: type, **defaults: Any) -> None:
    """Make ``cls`` available as ``name``; ``defaults`` are parameters this name implies.

    Example: ``register_model("logistic", LinearModel, task="classification")``.
    """
    _REGISTRY[name.lower()] = (cls, dict(defaults))


def _resolve(name: str) -> tuple[type, dict[str, Any]]:
    key = name.lower()
    if key not in _REGISTRY and key in _LAZY:
        try:
            importlib.import_module(_LAZY[key])
        except ImportError as exc:
            raise InputError(f"model {name!r} is not available: {exc}") from None
    if key not in _REGISTRY:
        raise InputError(f"unknown model {name!r}; available: {', '.join(available_models())}")
    return _REGISTRY[key]


def get_model(name: str, **params: Any) -> Any:
    """A new, unfitted model: ``get_model("extratrees", n_estimators=200)``."""
    cls, defaults = _resolve(name)
    return cls(**{**defaults, **params})


def model_class(name: str) -> type:
    """The class registered under ``name``."""
    return _resolve(name)[0]


def available_models() -> list[str]:
    """Registered model names, plus lazily-registered ones whose module is installed."""
    names = set(_REGISTRY)
    for key, module in _LAZY.items():
        if importlib.util.find_spec(module) is not None:
            names.add(key)
    return sorted(names)


def registered_name(model: Any) -> str:
    """The registry name for a model instance (the first name its class is registered under
    whose implied defaults match the model's parameters)."""
    for name, (cls, defaults) in _REGISTRY.items():
        if type(model) is cls and all(getattr(model, k, None) == v for k, v in defaults.items()):
            return name
    raise InputError(f"{type(model).__name__} is not registered; call register_model first")


def save_model(model: Any, directory: str | Path, extra: dict[str, Any] | None = None) -> Path:
    """Save a fitted model to ``directory`` (config.json + plain-array or safetensors weights)."""
    return model.save(directory, extra={"model": registered_name(model), **(extra or {})})


def load_model(directory: str | Path) -> Any:
    """Load a model saved by :func:`save_model`; no pickle is read.

    Raises:
        InputError: the directory has no ``config.json`` or names an unknown model.
    """
    directory = Path(directory)
    config_path = directory / "config.json"
    if not config_path.is_file():
        raise InputError(f"{directory}: not a saved model (no config.json)")
    config = json.loads(config_path.read_text())
    if "model" not in config:
        raise InputError(f"{config_path}: no 'model' entry")
    return model_class(config["model"]).load(directory)
