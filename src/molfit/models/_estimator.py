"""scikit-learn's estimator protocol without importing scikit-learn.

Importing ``sklearn.base`` costs about half a second on top of torch (it imports SciPy's
``stats`` through ``sklearn.utils.fixes``), which a D-MPNN command on a small data set would
pay for nothing. So molfit's estimators implement the protocol scikit-learn defines, not its
base class:

- :class:`Estimator` gives ``get_params`` / ``set_params`` (nested ``a__b`` names), a repr that
  shows the parameters which differ from their defaults, ``__sklearn_clone__`` and
  ``__sklearn_tags__``. The tags are scikit-learn objects, built only when scikit-learn asks
  for them, so scikit-learn is loaded by then.
- :func:`clone` is scikit-learn's ``clone`` for molfit estimators (a fresh, unfitted copy from
  the parameters) and hands anything else to scikit-learn's.
- :class:`available_if` hides a method (``hasattr`` is false) when its check fails, the way
  ``predict_proba`` exists only on classifiers.
- :func:`not_fitted_error` makes the error a model raises when used before ``fit``: molfit's
  :class:`NotFittedError` (an ``InputError``, so the CLI prints it as a message; a
  ``ValueError`` and an ``AttributeError``, like scikit-learn's) and, whenever scikit-learn is
  loaded, also an instance of ``sklearn.exceptions.NotFittedError``. Code that catches
  scikit-learn's class has imported scikit-learn, so it always catches molfit's.

scikit-learn's own estimator checks run on these classes in
``tests/models/test_sklearn_contract.py``.
"""

from __future__ import annotations

import copy
import functools
import inspect
import sys
import types
from collections.abc import Callable
from typing import Any

from molfit.errors import InputError

__all__ = ["Estimator", "NotFittedError", "available_if", "clone", "not_fitted_error"]


class NotFittedError(InputError, AttributeError):
    """A model was used before ``fit``: a molfit :class:`~molfit.errors.InputError` (the CLI
    prints it as a message), a ``ValueError`` and an ``AttributeError`` (what scikit-learn's
    checks expect) and, once scikit-learn is imported, scikit-learn's ``NotFittedError``."""


@functools.cache
def _with_sklearn_base(base: type) -> type:
    return type(
        "NotFittedError",
        (NotFittedError, base),
        {"__module__": NotFittedError.__module__, "__doc__": NotFittedError.__doc__},
    )


def not_fitted_error(message: str) -> NotFittedError:
    """The error for a model used before ``fit``; also scikit-learn's ``NotFittedError`` when
    ``sklearn.exceptions`` is loaded."""
    exceptions = sys.modules.get("sklearn.exceptions")
    if exceptions is None:
        return NotFittedError(message)
    return _with_sklearn_base(exceptions.NotFittedError)(message)


class Estimator:
    """Parameters as ``__init__`` arguments, scikit-learn style: ``__init__`` only stores them,
    fitted state ends in ``_``. Subclasses list every parameter in ``__init__``'s signature."""

    @classmethod
    def _param_names(cls) -> list[str]:
        init = cls.__init__
        if init is object.__init__:
            return []
        names = []
        for p in inspect.signature(init).parameters.values():
            if p.name == "self" or p.kind is p.VAR_KEYWORD:
                continue
            if p.kind is p.VAR_POSITIONAL:
                raise TypeError(f"{cls.__name__}.__init__ takes *args: parameters need names")
            names.append(p.name)
        return sorted(names)

    def get_params(self, deep: bool = True) -> dict[str, Any]:
        """The parameters by name; with ``deep``, those of nested estimators as ``name__param``."""
        out: dict[str, Any] = {}
        for name in self._param_names():
            value = getattr(self, name)
            if deep and hasattr(value, "get_params") and not isinstance(value, type):
                out.update((f"{name}__{k}", v) for k, v in value.get_params().items())
            out[name] = value
        return out

    def set_params(self, **params: Any) -> Estimator:
        """Set parameters (``name`` or nested ``name__param``); returns ``self``.

        Raises:
            InputError: a name that is not a parameter of this estimator.
        """
        if not params:
            return self
        valid = self.get_params(deep=True)
        nested: dict[str, dict[str, Any]] = {}
        for key, value in params.items():
            name, delim, sub = key.partition("__")
            if name not in valid:
                raise InputError(
                    f"Invalid parameter {name!r} for estimator {type(self).__name__}. "
                    f"Valid parameters are: {self._param_names()!r}."
                )
            if delim:
                nested.setdefault(name, {})[sub] = value
            else:
                setattr(self, name, value)
                valid[name] = value
        for name, sub_params in nested.items():
            valid[name].set_params(**sub_params)
        return self

    def __repr__(self) -> str:
        signature = inspect.signature(type(self).__init__).parameters
        shown = []
        for name in self._param_names():
            value = getattr(self, name, None)
            default = signature[name].default
            if default is not inspect.Parameter.empty and _same(value, default):
                continue
            shown.append(f"{name}={value!r}")
        return f"{type(self).__name__}({', '.join(shown)})"

    def __sklearn_clone__(self) -> Estimator:
        return clone(self)

    def __sklearn_tags__(self) -> Any:
        from sklearn.utils import Tags, TargetTags

        return Tags(
            estimator_type=None,
            target_tags=TargetTags(required=False),
            transformer_tags=None,
            regressor_tags=None,
            classifier_tags=None,
        )


def _same(value: Any, default: Any) -> bool:
    if value is default:
        return True
    try:
        return bool(type(value) is type(default) and value == default)
    except (TypeError, ValueError):  # arrays compare element-wise
        return False


def clone(estimator: Any, *, safe: bool = True) -> Any:
    """A new, unfitted estimator with the same parameters (scikit-learn's ``clone`` semantics:
    nested estimators are cloned, other parameters deep-copied).

    Raises:
        TypeError: ``estimator`` is not an estimator (with ``safe``).
    """
    if isinstance(estimator, list | tuple | set | frozenset):
        return type(estimator)(clone(e, safe=safe) for e in estimator)
    if not isinstance(estimator, Estimator):
        if hasattr(estimator, "get_params") and not isinstance(estimator, type):
            from sklearn.base import clone as sklearn_clone

            return sklearn_clone(estimator, safe=safe)
        if safe:
            raise TypeError(f"cannot clone {estimator!r}: it is not an estimator (no get_params)")
        return copy.deepcopy(estimator)
    params = {k: clone(v, safe=False) for k, v in estimator.get_params(deep=False).items()}
    new = type(estimator)(**params)
    for name, value in params.items():
        if getattr(new, name) is not value:
            raise RuntimeError(
                f"cannot clone {type(estimator).__name__}: __init__ changed parameter {name!r} "
                "instead of storing it"
            )
    return new


class available_if:
    """Decorator: the method exists on an instance only while ``check(instance)`` is true."""

    def __init__(self, check: Callable[[Any], bool]) -> None:
        self.check = check

    def __call__(self, fn: Callable[..., Any]) -> _ConditionalMethod:
        return _ConditionalMethod(fn, self.check)


class _ConditionalMethod:
    def __init__(self, fn: Callable[..., Any], check: Callable[[Any], bool]) -> None:
        self.fn = fn
        self.check = check
        functools.update_wrapper(self, fn)

    def __get__(self, obj: Any, owner: type | None = None) -> Any:
        if obj is None:
            return self.fn
        if not self.check(obj):
            raise AttributeError(
                f"This {type(obj).__name__!r} has no attribute {self.fn.__name__!r}"
            )
        return types.MethodType(self.fn, obj)
