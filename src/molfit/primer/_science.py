"""What the science slides need, prepared in one background thread after the server starts.

Shipped models come from :func:`molfit.zoo.pretrained` by name (nothing is trained at start):

============== ================================================================================
``ethanol-xtb`` committee potential for ethanol, trained on GFN2-xTB labels (MD, symmetries)
``qm9-u0``      3D model of QM9's U0
``qm9-gap``     3D model of QM9's HOMO–LUMO gap
``freesolv-gp`` calibrated Tanimoto GP of FreeSolv hydration free energies (shift)
============== ================================================================================

Units are read from each run directory's record. Computed here, in this order, after the models
load: the toy coordinate MLP of the symmetries slide (seconds), the B3DB leakage study (a seeded
subset, seconds) and the FreeSolv Rashomon pair (tens of seconds). One thread does all of it, so
start-up never takes more than one core and the server answers at once; a request for something
not yet ready waits for it (at most
:data:`WAIT_S`) and a failure is reported to the page as a message.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from http import HTTPStatus
from pathlib import Path
from typing import Any

from molfit.errors import InputError

WAIT_S = 180.0
POTENTIAL = "ethanol-xtb"
POTENTIAL_SMILES = "CCO"
QM9_MODELS = {"qm9-u0": "U0 (internal energy at 0 K)", "qm9-gap": "HOMO–LUMO gap"}
SHIFT_MODEL = "freesolv-gp"
ZOO_NAMES = (POTENTIAL, *QM9_MODELS, SHIFT_MODEL)


class NotReady(Exception):
    """A slot failed or is still loading (HTTP 503 with ``message``)."""

    status = HTTPStatus.SERVICE_UNAVAILABLE


class Slot:
    """One value computed in the background; :meth:`get` waits for it."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.ready = threading.Event()
        self.value: Any = None
        self.error: str | None = None

    def run(self, fn: Callable[[], Any]) -> None:
        try:
            self.value = fn()
        except Exception as exc:  # reported to the page, never a dead server
            self.error = f"{self.name}: {exc}"
        finally:
            self.ready.set()

    def fail(self, message: str) -> None:
        self.error = message
        self.ready.set()

    @property
    def state(self) -> str:
        if not self.ready.is_set():
            return "loading"
        return "failed" if self.error else "ready"

    def get(self, wait: float = WAIT_S) -> Any:
        self.ready.wait(wait)
        if not self.ready.is_set():
            raise NotReady(f"{self.name} is still loading; try again in a moment")
        if self.error:
            raise NotReady(self.error)
        return self.value


def zoo_path(name: str, overrides: dict[str, Path] | None = None) -> Path:
    """The run directory of shipped model ``name`` (``overrides`` first, then molfit.zoo)."""
    if overrides and name in overrides:
        return Path(overrides[name])
    try:
        from molfit.zoo import pretrained
    except ImportError as exc:  # pragma: no cover - the zoo ships with molfit
        raise InputError(f"molfit.zoo is not available ({exc})") from None
    return Path(pretrained(name))


class Science:
    """The slots of the science slides (see the module docstring).

    Args:
        enabled: start the background thread (off for tests of the plain server).
        models: ``{zoo name: run directory}`` to use instead of :func:`molfit.zoo.pretrained`.
    """

    def __init__(self, enabled: bool = True, models: dict[str, Path] | None = None) -> None:
        from molfit.primer._potential import MDSessions

        self.overrides = dict(models or {})
        self.slots = {
            k: Slot(k) for k in ("potential", "qm9", "shift", "toy", "leakage", "rashomon")
        }
        self.sessions = MDSessions()
        self.missing: dict[str, str] = {}
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        if enabled:
            self._thread = threading.Thread(
                target=self._prepare, daemon=True, name="primer-science"
            )
            self._thread.start()
        else:
            for slot in self.slots.values():
                slot.fail("the science slides are disabled")

    def describe_model(self, name: str) -> dict[str, Any]:
        """Name, run directory, model class, data, targets with units, split and test metrics
        of shipped model ``name``, from its run directory's record, plus its model card's
        ``title``, ``data``, ``headline`` and ``limits`` when it comes from molfit.zoo."""
        from molfit.workflows import RunDirectory

        path = zoo_path(name, self.overrides)
        config = RunDirectory(path).run_config
        keys = ("model", "dataset", "targets", "split", "metrics")
        out = {"name": name, "path": str(path), **{k: config.get(k) for k in keys}}
        if name not in self.overrides:
            from molfit.zoo import model_card

            card = model_card(name)
            out.update(title=card.title, data=card.data, headline=card.headline, limits=card.limits)
        return out

    def unit_of(self, name: str) -> str:
        """The unit of the first target of shipped model ``name`` (``""`` if not recorded)."""
        targets = self.describe_model(name).get("targets") or {}
        first = next(iter(targets.values()), {})
        return str(first.get("unit", "")) if isinstance(first, dict) else ""

    def busy(self) -> bool:
        """Whether the background preparation is still running."""
        return self._thread is not None and self._thread.is_alive()

    def close(self, wait: float = 300.0) -> None:
        """Stop preparing: the slots not started yet fail with "the primer is closing", and
        the one being computed is waited for (at most ``wait`` seconds).

        A thread left inside RDKit, torch or an oracle while the interpreter exits can abort
        the process (``FATAL: exception not rethrown``); closing first lets it finish.
        """
        self._stop.set()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(wait)

    def _prepare(self) -> None:
        from molfit.workflows import load_run_model

        def load(name: str) -> Any:
            return load_run_model(zoo_path(name, self.overrides))

        def rashomon() -> Any:
            from molfit.primer._worry import RashomonPair

            return RashomonPair()

        def leakage() -> Any:
            from molfit.primer._worry import leakage_study

            return leakage_study()

        steps: list[tuple[str, Callable[[], Any]]] = [
            ("potential", self._load_potential),
            ("qm9", self._load_qm9),
            ("shift", lambda: (load(SHIFT_MODEL), self.unit_of(SHIFT_MODEL))),
            ("toy", self._train_toy),
            ("leakage", leakage),
            ("rashomon", rashomon),
        ]
        for name, fn in steps:
            if self._stop.is_set():
                self.slots[name].fail(f"{name}: the primer is closing")
            else:
                self.slots[name].run(fn)

    def _load_qm9(self) -> dict[str, tuple[Any, str, str]]:
        """The QM9 models that load, ``{name: (model, property label, unit)}``; one that does
        not is left out and named in :attr:`missing`."""
        from molfit.workflows import load_run_model

        out = {}
        for name, label in QM9_MODELS.items():
            try:
                out[name] = (load_run_model(zoo_path(name, self.overrides)), label,
                             self.unit_of(name))  # fmt: skip
            except InputError as exc:
                self.missing[name] = str(exc)
        if not out:
            raise InputError("; ".join(self.missing.values()))
        return out

    def _load_potential(self) -> dict[str, Any]:
        from molfit.atomistic import Calculator
        from molfit.primer._potential import molecule_atoms
        from molfit.workflows import load_run_model

        model = load_run_model(zoo_path(POTENTIAL, self.overrides))
        atoms = molecule_atoms(POTENTIAL_SMILES)
        return {"model": model, "calculator": Calculator(model), "atoms": atoms}

    def _train_toy(self) -> Any:
        from molfit.primer._symmetry import ToyCoordinateModel

        pot = self.slots["potential"].get(0)
        return ToyCoordinateModel(pot["calculator"], pot["atoms"])

    def states(self) -> dict[str, str]:
        """``{slot: "loading" | "ready" | "failed"}``."""
        return {k: s.state for k, s in self.slots.items()}
