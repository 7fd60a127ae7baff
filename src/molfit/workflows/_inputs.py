"""Input adapters: what differs between a run on molecules (SMILES) and one on 3D structures.

The one pipeline in :mod:`molfit.workflows._pipeline` asks its adapter to load data, name the
rows, build and fit the model, predict and describe the uncertainty; everything else (splits,
label counts, scoring, per-atom figures for extensive targets, the run directory, overlap checks,
chunked prediction) is shared. :class:`MoleculeInputs` wraps a model in a
:class:`~molfit.uncertainty.CalibratedModel` (conformal intervals, Tanimoto domain);
:class:`StructureInputs` fits a geometric model (SchNet, PaiNN, DimeNet++) on the dataset's
structures, or on ETKDG conformers of its SMILES.

Readout of a 3D model follows :attr:`molfit.data.TargetInfo.kind`: ``sum`` when a target is
extensive, ``mean`` when every target is intensive, ``dipole`` for a dipole moment alone.
"""

from __future__ import annotations

import abc
import os
from pathlib import Path
from typing import Any

import numpy as np

from molfit.errors import InputError

_FILE_HINTS = ("/", "\\", ".csv", ".tsv", ".parquet", ".smi", ".sdf", ".xyz", ".extxyz")


def dataset_name(data: str | os.PathLike[str]) -> str:
    """A short name of the data: the file's stem, else the built-in dataset's name."""
    return Path(str(data)).stem if Path(str(data)).exists() else str(data)


def _select_targets(dataset: Any, targets: list[str] | None, source: Any) -> Any:
    if targets:
        missing = [t for t in targets if t not in dataset.frame.columns]
        if missing:
            raise InputError(
                f"{source}: no column(s) {missing}; targets available: {dataset.target_columns}"
            )
        dataset.target_columns = list(targets)
    return dataset


def _load_builtin(data: str, targets: list[str] | None, validate: bool) -> Any:
    from molfit import data as molfit_data

    if any(h in str(data) for h in _FILE_HINTS):
        raise InputError(f"{data}: no such file")
    return _select_targets(molfit_data.load(str(data), validate=validate), targets, data)


def target_kinds(dataset: Any) -> dict[str, str]:
    """``extensive``/``intensive``/``dipole`` per target, from the dataset's :class:`TargetInfo`
    (user files: an XYZ file's ``energy`` is extensive, anything else intensive)."""
    info = getattr(dataset, "info", None)
    out = {}
    for t in dataset.target_columns:
        if info is not None and t in info.targets:
            out[t] = info.targets[t].kind
        else:
            out[t] = "extensive" if t == "energy" else "intensive"
    return out


def target_units(dataset: Any) -> dict[str, str]:
    """Unit of each target (``""`` when unknown; an XYZ file's ``energy`` is in eV)."""
    info = getattr(dataset, "info", None)
    out = {}
    for t in dataset.target_columns:
        unit = info.targets[t].unit if info is not None and t in info.targets else ""
        out[t] = unit or ("eV" if t == "energy" and info is None else "")
    return out


def default_readout(kinds: list[str]) -> str:
    """The 3D readout for targets of these kinds: ``dipole`` for one dipole target, ``mean``
    when all are intensive, else ``sum``."""
    if len(kinds) == 1 and kinds[0] == "dipole":
        return "dipole"
    if kinds and all(k == "intensive" for k in kinds):
        return "mean"
    return "sum"


def molecule_keys(smiles: list[str]) -> list[str]:
    """InChIKey of each SMILES (``""`` where RDKit cannot parse it): the identity used to find
    molecules shared between a training set and evaluation data."""
    from rdkit import Chem, RDLogger

    RDLogger.DisableLog("rdApp.*")
    out = []
    for s in smiles:
        mol = Chem.MolFromSmiles(s)
        out.append(Chem.MolToInchiKey(mol) if mol is not None else "")
    return out


class InputAdapter(abc.ABC):
    """What a run needs to know about its kind of input (subclasses: molecules, structures)."""

    kind: str = "molecules"
    default_split: str = "scaffold"

    # -- data ------------------------------------------------------------------------------------
    @abc.abstractmethod
    def load(
        self,
        data: str | os.PathLike[str],
        *,
        smiles_column: str | None,
        targets: list[str] | None,
        task: str | None,
    ) -> Any: ...

    def features(self, dataset: Any) -> Any:
        """What the model is fitted on / predicts for: SMILES, or structures."""
        return dataset.smiles

    def take(self, X: Any, idx: np.ndarray) -> Any:
        return [X[i] for i in idx] if isinstance(X, list) else X.subset(idx)

    def row_labels(self, dataset: Any) -> tuple[str, list[str]]:
        """The name column of the test table and one name per row."""
        return "smiles", dataset.smiles

    def keys(self, dataset: Any) -> list[str]:
        """An identity key per row (InChIKey of the SMILES; a structure hash without them)."""
        if dataset.smiles_column in dataset.frame.columns:
            return molecule_keys(dataset.smiles)
        import hashlib

        out = []
        for k in range(len(dataset.structures)):
            numbers, positions = dataset.structures[k]
            h = hashlib.sha256(np.asarray(numbers, dtype=np.int64).tobytes())
            h.update(np.round(np.asarray(positions, dtype=np.float64), 4).tobytes())
            out.append(h.hexdigest()[:27])
        return out

    def compositions(self, dataset: Any) -> list[dict[int, int]] | None:
        """Element counts (atomic number → count, hydrogens included) per row, or ``None``."""
        if dataset.structures is not None:
            out = []
            for k in range(len(dataset.structures)):
                numbers = np.asarray(dataset.structures[k][0])
                z, c = np.unique(numbers, return_counts=True)
                out.append(dict(zip(z.tolist(), c.tolist(), strict=True)))
            return out
        if dataset.smiles_column not in dataset.frame.columns:
            return None
        from rdkit import Chem

        out = []
        for s in dataset.smiles:
            mol = Chem.MolFromSmiles(s)
            counts: dict[int, int] = {}
            if mol is not None:
                for atom in Chem.AddHs(mol).GetAtoms():
                    counts[atom.GetAtomicNum()] = counts.get(atom.GetAtomicNum(), 0) + 1
            out.append(counts)
        return out

    # -- model -----------------------------------------------------------------------------------
    @abc.abstractmethod
    def build(
        self, model: str, params: dict[str, Any], dataset: Any, task: str, seed: int
    ) -> Any: ...

    @abc.abstractmethod
    def fit(
        self,
        estimator: Any,
        X: Any,
        y: np.ndarray,
        X_val: Any,
        y_val: np.ndarray | None,
        *,
        targets: list[str],
        runtime: Any,
        coverage: float,
        method: str,
        seed: int,
        progress: bool,
        domain_neighbours: int = 1,
    ) -> Any: ...

    @abc.abstractmethod
    def predict(self, model: Any, X: Any, targets: list[str], progress: bool = False) -> Any: ...

    @abc.abstractmethod
    def save(self, model: Any, directory: Path, extra: dict[str, Any]) -> None: ...

    @abc.abstractmethod
    def load_model(self, directory: Path) -> Any: ...

    @abc.abstractmethod
    def model_targets(self, model: Any, run_config: dict[str, Any]) -> list[str]: ...

    def model_task(self, model: Any) -> str:
        return "regression"

    def summary(self, model: Any, coverage: float) -> dict[str, Any]:
        """Report lines on uncertainty and domain."""
        return {}

    def force_labels(self, model: Any, X: Any) -> tuple[Any, Any, Any] | None:
        """``(numbers, reference forces, predicted forces)`` of ``X`` (per atom, eV/Å) when
        the inputs carry forces and the model is a potential; ``None`` otherwise."""
        return None


class MoleculeInputs(InputAdapter):
    """Runs on SMILES: any registered molecule model inside a :class:`CalibratedModel`."""

    kind = "molecules"
    default_split = "scaffold"

    def load(self, data, *, smiles_column, targets, task):  # type: ignore[override]
        from molfit import data as molfit_data

        path = Path(data)
        if path.exists():
            dataset = molfit_data.read_table(
                path, smiles_column=smiles_column, target_columns=targets or None, task=task
            )
        else:
            dataset = _load_builtin(str(data), targets, validate=True)
        if task:
            dataset.task = task
        return dataset

    def build(self, model, params, dataset, task, seed):  # type: ignore[override]
        from molfit.models import get_model

        params = dict(params)
        if "task" in get_model(model).get_params():
            params.setdefault("task", task)
        return get_model(model, **params)

    def fit(  # type: ignore[override]
        self,
        estimator,
        X,
        y,
        X_val,
        y_val,
        *,
        targets,
        runtime,
        coverage,
        method,
        seed,
        progress,
        domain_neighbours=1,
    ):
        from molfit.uncertainty import CalibratedModel

        cm = CalibratedModel(
            estimator,
            coverage=coverage,
            method=method,
            seed=seed,
            domain_neighbours=domain_neighbours,
        )
        return cm.fit(
            X, y, X_calib=X_val, y_calib=y_val, targets=targets, progress=progress, runtime=runtime
        )

    def predict(self, model, X, targets, progress=False):  # type: ignore[override]
        return model.predict(X, progress=progress)

    def save(self, model, directory, extra):  # type: ignore[override]
        model.save(directory, extra=extra)

    def load_model(self, directory):  # type: ignore[override]
        from molfit.uncertainty import CalibratedModel

        return CalibratedModel.load(directory)

    def model_targets(self, model, run_config):  # type: ignore[override]
        return list(model.targets_)

    def model_task(self, model):  # type: ignore[override]
        return model.task_

    def summary(self, model, coverage):  # type: ignore[override]
        return {
            "uncertainty": f"{model.method_} conformal, {coverage:.0%} coverage",
            "applicability domain": f"Tanimoto threshold {model.domain_.threshold_:.2f}"
            + (
                f" (mean over the {model.domain_.neighbours} nearest training molecules)"
                if getattr(model.domain_, "neighbours", 1) > 1
                else ""
            )
            + "; "
            f"elements {' '.join(model.domain_.elements_)}",
        }

    def domain_similarity(self, model: Any, X: Any) -> np.ndarray:
        from molfit.chem import to_mols

        return model.domain_.score(to_mols(X))[0]


class StructureInputs(InputAdapter):
    """Runs on 3D structures: geometric models (``input_kind = "structures"``)."""

    kind = "structures"
    default_split = "random"

    def load(self, data, *, smiles_column, targets, task):  # type: ignore[override]
        from molfit import data as molfit_data
        from molfit.structures import XYZ_SUFFIXES

        path = Path(data)
        if path.suffix.lower() in XYZ_SUFFIXES:
            dataset = molfit_data.read_structures(path)
            if targets:
                missing = [t for t in targets if t not in dataset.frame.columns]
                if missing:
                    raise InputError(
                        f"{path}: no value(s) {missing} on the comment lines; "
                        f"available: {[c for c in dataset.frame.columns if c != 'frame']}"
                    )
                dataset.target_columns = list(targets)
        elif path.exists():
            dataset = molfit_data.read_table(
                path,
                smiles_column=smiles_column,
                target_columns=targets or None,
                task="regression",
            )
        else:
            # 3D models need no SMILES validation: the structures are the input
            dataset = _load_builtin(str(data), targets, validate=False)
        if task == "classification":
            raise InputError("3D models are regressors; --task classification is not available")
        return dataset

    def features(self, dataset):  # type: ignore[override]
        return dataset.structures if dataset.structures is not None else dataset.smiles

    def row_labels(self, dataset):  # type: ignore[override]
        if dataset.smiles_column in dataset.frame.columns:
            return "smiles", dataset.smiles
        if "frame" in dataset.frame.columns and dataset.report is not None:
            return "structure", [f"{dataset.report.source}#{f}" for f in dataset.frame["frame"]]
        return "structure", [f"structure {k}" for k in range(len(dataset))]

    def build(self, model, params, dataset, task, seed):  # type: ignore[override]
        from molfit.models import get_model

        if len(dataset.target_columns) > 1 and not getattr(self, "targets_named", False):
            raise InputError(
                f"{dataset.name} has {len(dataset.target_columns)} targets; name the one(s) to "
                f"learn with --target (e.g. --target {dataset.target_columns[0]}); available: "
                f"{dataset.target_columns}"
            )
        params = dict(params)
        kinds = target_kinds(dataset)
        params.setdefault("readout", default_readout([kinds[t] for t in dataset.target_columns]))
        params.setdefault("seed", seed)
        return get_model(model, **params)

    def fit(  # type: ignore[override]
        self,
        estimator,
        X,
        y,
        X_val,
        y_val,
        *,
        targets,
        runtime,
        coverage,
        method,
        seed,
        progress,
        domain_neighbours=1,
    ):
        return estimator.fit(X, y, X_val=X_val, y_val=y_val, runtime=runtime)

    def predict(self, model, X, targets, progress=False):  # type: ignore[override]
        return model.predict_record(X, targets=targets)

    def force_labels(self, model, X):  # type: ignore[override]
        members = getattr(model, "models_", None) or []
        if not getattr(X, "has_forces", False) or any(m.readout != "sum" for m in members):
            return None
        try:
            _, predicted = model.predict_energy_forces(X)
        except InputError:  # an element the model never saw: the energy rows say which
            return None
        return X.numbers, X.forces, np.concatenate(predicted)

    def save(self, model, directory, extra):  # type: ignore[override]
        from molfit.models import save_model

        save_model(model, directory, extra=extra)

    def load_model(self, directory):  # type: ignore[override]
        from molfit.models import load_model

        return load_model(directory)

    def model_targets(self, model, run_config):  # type: ignore[override]
        names = run_config.get("target_names")
        return names or [f"y{t}" for t in range(model.n_tasks_)]

    def summary(self, model, coverage):  # type: ignore[override]
        n_members = len(getattr(model, "members_", []))
        return {
            "hyper-parameters": model.get_params(),
            "uncertainty": f"std of {n_members} ensemble members"
            if n_members > 1
            else "none (single model; use --ensemble N for a std)",
        }


def adapter_for_model(model: str) -> InputAdapter:
    """The adapter of a registered model name (its class's ``input_kind``)."""
    from molfit.models import model_class

    kind = getattr(model_class(model), "input_kind", "molecules")
    return StructureInputs() if kind == "structures" else MoleculeInputs()


def adapter_for_kind(kind: str) -> InputAdapter:
    return StructureInputs() if kind == "structures" else MoleculeInputs()
