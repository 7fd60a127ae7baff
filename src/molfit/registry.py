"""Names for things: one generic registry used for models, featurizers and splits.

A :class:`Registry` maps a name (case-insensitive) to an object — a class or a factory function —
plus the parameters that name implies. ``get_model("logistic")`` is ``LinearModel`` with
``task="classification"``; the implied parameters are part of what the name means, so a call
that contradicts one (``task="regression"`` for ``"logistic"``) is refused rather than silently
training something else.

Three ways to fill a registry:

* ``REG.register("name", obj, **implied)`` or the decorator ``@REG.register("name", **implied)``;
* ``REG.register_lazy("name", "package.module:attribute", **implied)``: the module is imported on
  the first :meth:`Registry.get` of that name, so listing names never imports it (deep models
  stay lazy: listing or choosing ``extratrees`` never imports torch);
* Python entry points: a plugin package declares, in its own ``pyproject.toml``::

      [project.entry-points."molfit.models"]
      my-model = "my_package.models:MyModel"

  and ``get_model("my-model")`` finds it. Entry points are read once, on the first look-up of a
  name the registry does not know or the first :meth:`Registry.names`, and are loaded (imported)
  only when their name is asked for. Names registered in code win over entry points.

This is a core module: it imports nothing from molfit. Errors for unknown names are raised with
the exception class given to the registry (molfit's registries pass ``InputError``).
"""

from __future__ import annotations

import importlib
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

T = TypeVar("T")

__all__ = ["Entry", "Registry"]


@dataclass
class Entry(Generic[T]):
    """One registered name.

    Attributes:
        name: the registered name (lower case).
        target: the object, or ``None`` until a lazy entry is loaded.
        spec: ``"module:attribute"`` of a lazy entry (``None`` when registered directly).
        implied: parameters the name implies (``{"task": "classification"}``).
        source: ``"code"`` or ``"entry point <group>"`` (for messages).
    """

    name: str
    target: T | None = None
    spec: str | None = None
    implied: dict[str, Any] = field(default_factory=dict)
    source: str = "code"


class Registry(Generic[T]):
    """Name → object (class or factory) with implied parameters, lazy modules and entry points.

    Args:
        kind: what the names are ("model", "featurizer", "split method"), for messages.
        group: Python entry-point group read for plugins (e.g. ``"molfit.models"``), or ``None``.
        error: exception class raised for an unknown or unloadable name (``LookupError`` by
            default; molfit passes :class:`molfit.errors.InputError`).
    """

    def __init__(
        self, kind: str, *, group: str | None = None, error: type[Exception] = LookupError
    ) -> None:
        self.kind = kind
        self.group = group
        self.error = error
        self._entries: dict[str, Entry[T]] = {}
        self._plugins_read = group is None

    # -- filling ----------------------------------------------------------------------------------
    def register(self, name: str, obj: T | None = None, **implied: Any) -> Any:
        """Register ``obj`` under ``name``; without ``obj``, return a decorator.

        Re-registering a lazy name with the object its spec points to just fills it in (a lazily
        imported module may register itself); registering a name again with another object
        replaces it.

        Example::

            MODELS.register("logistic", LinearModel, task="classification")

            @SPLITS.register("scaffold")
            def _scaffold(...): ...
        """
        if obj is None:

            def decorator(target: T) -> T:
                self.register(name, target, **implied)
                return target

            return decorator
        key = self._key(name)
        old = self._entries.get(key)
        if old is not None and old.spec is not None and old.target is None and not implied:
            old.target = obj  # a lazy module registering itself on import
            return obj
        self._entries[key] = Entry(key, obj, None, dict(implied))
        return obj

    def register_lazy(self, name: str, spec: str, **implied: Any) -> None:
        """Register ``"package.module:attribute"`` under ``name``, imported on first use."""
        if ":" not in spec:
            raise ValueError(f"lazy spec must be 'module:attribute', got {spec!r}")
        self._entries[self._key(name)] = Entry(self._key(name), None, spec, dict(implied))

    # -- looking up -------------------------------------------------------------------------------
    def entry(self, name: str) -> Entry[T]:
        """The :class:`Entry` of ``name``, its object loaded.

        Raises:
            error: the name is unknown (the message lists the available names), or its module
                cannot be imported.
        """
        key = self._key(name)
        if key not in self._entries:
            self._read_plugins()
        found = self._entries.get(key)
        if found is None:
            raise self.error(
                f"unknown {self.kind} {name!r}; available: {', '.join(self.names()) or 'none'}"
            )
        if found.target is None:
            found.target = self._load(found)
        return found

    def get(self, name: str) -> T:
        """The object registered under ``name`` (imports a lazy module if needed)."""
        target = self.entry(name).target
        assert target is not None
        return target

    def implied(self, name: str) -> dict[str, Any]:
        """A copy of the parameters ``name`` implies."""
        return dict(self.entry(name).implied)

    def create(self, name: str, /, **params: Any) -> Any:
        """Call the object of ``name`` with its implied parameters, then ``params``.

        A parameter passed as ``None`` where the name implies a value takes the implied value.

        Raises:
            error: ``params`` contradicts a parameter the name implies.
        """
        found = self.entry(name)
        for key, value in found.implied.items():
            if params.get(key) is not None and params[key] != value:
                raise self.error(
                    f"{self.kind} {found.name!r} means {key}={value!r}; it cannot be used with "
                    f"{key}={params[key]!r}"
                )
        kwargs = {k: v for k, v in params.items() if not (k in found.implied and v is None)}
        return found.target(**{**found.implied, **kwargs})  # type: ignore[misc]

    def names(self) -> list[str]:
        """Every registered name, sorted (lazy and entry-point names included, none imported)."""
        self._read_plugins()
        return sorted(self._entries)

    def items(self) -> Iterable[Entry[T]]:
        """The entries, in name order, without loading lazy ones."""
        self._read_plugins()
        return [self._entries[k] for k in sorted(self._entries)]

    def __contains__(self, name: object) -> bool:
        if not isinstance(name, str):
            return False
        if self._key(name) not in self._entries:
            self._read_plugins()
        return self._key(name) in self._entries

    # -- internals --------------------------------------------------------------------------------
    @staticmethod
    def _key(name: str) -> str:
        if not isinstance(name, str) or not name.strip():
            raise TypeError(f"a registry name must be a non-empty string, got {name!r}")
        return name.strip().lower()

    def _load(self, found: Entry[T]) -> T:
        module_name, _, attr = str(found.spec).partition(":")
        try:
            module = importlib.import_module(module_name)
            target = module
            for part in attr.split("."):
                target = getattr(target, part)
        except (ImportError, AttributeError) as exc:
            raise self.error(
                f"{self.kind} {found.name!r} ({found.source}) is not available: {exc}"
            ) from None
        return target  # type: ignore[return-value]

    def _read_plugins(self) -> None:
        if self._plugins_read:
            return
        self._plugins_read = True
        from importlib.metadata import entry_points

        try:
            found = entry_points(group=self.group)
        except Exception:  # broken distribution metadata must not break molfit itself
            return
        for ep in found:
            key = ep.name.strip().lower()
            if key and key not in self._entries:
                self._entries[key] = Entry(key, None, ep.value, {}, f"entry point {self.group}")
