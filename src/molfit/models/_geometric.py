"""3D estimators: SchNet, PaiNN and DimeNet++ on geometries, with scikit-learn's contract.

``SchNetModel().fit(structures, y).predict(structures)``; registered as ``schnet``, ``painn`` and
``dimenet++`` (``molfit train qm9 --model schnet --target U0``). ``X`` is anything
:func:`molfit.structures.as_structures` accepts: ``Structures``, ASE ``Atoms``,
``(numbers, positions)`` pairs, XYZ files, RDKit molecules or SMILES (conformers by ETKDGv3 +
MMFF94; :meth:`GeometricModel.predict_record` reports which geometry each prediction used).

Each ensemble member is one :class:`molfit.nn.atomistic.AtomisticModel`: representation,
atomwise outputs with their per-atom scale and shift, per-element reference values (least squares
on the training compositions, a float64 buffer inside the model) and forces/stress by autograd.
Saving writes the whole module to ``weights.safetensors``; nothing is added outside the network.

Targets. ``readout="sum"`` is for extensive targets (energies, eV), ``readout="mean"`` for
intensive ones (HOMO, gap), ``readout="dipole"`` predicts neutralised atomic charges and returns
``|Σ q_i r_i|`` in Debye (QM9's ``mu``). With ``readout="sum"``, one target and training structures
that carry forces (eV/Å; extxyz ``forces``, ASE calculator results), the model trains on energies
and forces together: ``energy_weight * MSE(E) + forces_weight * MSE(F)`` (``energy_per_atom``
divides the energy error by the atom count); ``forces_weight=0`` trains on energies alone.
Periodic training cells that carry stress (eV/Å³) add ``stress_weight * MSE(σ)`` (in
(eV/Å³)²; 0 by default) when every training structure is a periodic cell.
Training is :class:`molfit.train.AtomisticTask`'s (Lightning, early stopping on the validation
loss, best weights, ensembles); where it runs is a :class:`molfit.train.Runtime` given to ``fit``.

Forces and stress. :meth:`GeometricModel.predict_properties` returns energies (eV), forces
``-dE/dr`` (eV/Å), stress ``(1/V) dE/dε`` (eV/Å^3, periodic structures) and, for committees, the
members' std of the energy and of each atom's force.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import torch
from torch import nn

from molfit.errors import InputError
from molfit.keys import ENERGY, ENERGY_STD, FORCES, FORCES_STD, STRESS, TARGETS
from molfit.models._base import CONFIG_FILE, as_targets
from molfit.models._deep import (
    TORCH_WEIGHTS_FILE,
    DeepGraphModel,
    legacy_runtime,
)
from molfit.models._prediction import Prediction
from molfit.nn.atomistic import MAX_Z, READOUTS, AtomisticModel, ScalarFeatures
from molfit.structures import (
    StructureInputs,
    Structures,
    as_structures,
    describe_issues,
    structure_items,
)
from molfit.train import autocast_for

#: Structures per network call when predicting, at most, and neighbour pairs per call, at most
#: (a structure with more pairs goes alone). Small batches keep a batch's pair tensors in the
#: CPU's cache: on 2,000 QM9 molecules (~256 pairs each, one core) SchNet took 1.23 ms a molecule
#: in batches of 16 against 3.4 ms in batches of 1,000, PaiNN with forces 3.8 ms against 13.2 ms
#: in batches of 256; on 64-atom diamond cells PaiNN took 78 ms a cell alone, 399 ms in batches
#: of 16 (benchmarks/RESULTS.md §6g). Training batches are the model's ``batch_size``.
PREDICT_BATCH_SIZE = 16
PREDICT_MAX_PAIRS = 4096


@dataclass
class StructureFeatures:
    """Structures ready for a 3D network: neighbour pairs found, indexable like an array.

    Attributes:
        items: object array ``(n,)`` of :class:`molfit.structures.StructureItem` (geometry and
            pairs within the model's cutoff).
        sources: ``(n,)`` geometry source of each structure (``"input"``, ``"ETKDGv3+MMFF94
            (seed 0)"``, ``"file.xyz#2"``).
        structures: the same structures with their labels (energy, forces, stress), or ``None``.
    """

    items: np.ndarray
    sources: np.ndarray
    structures: Structures | None = None

    def __len__(self) -> int:
        return len(self.items)

    def __getitem__(self, idx: Any) -> StructureFeatures:
        sub = None
        if self.structures is not None:
            sub = self.structures.subset(np.arange(len(self.items))[idx])
        return StructureFeatures(self.items[idx], self.sources[idx], sub)

    @property
    def shape(self) -> tuple[int, int]:
        return (len(self.items), 0)


def fit_references(items: np.ndarray, Y: np.ndarray) -> np.ndarray:
    """Per-element reference values ``(MAX_Z + 1, n_tasks)`` by least squares on compositions.

    ``Y ≈ counts @ refs`` (float64); elements absent from the training set get 0. Rows with a
    missing label are left out task by task.
    """
    elements = sorted({int(z) for it in items for z in np.unique(it.numbers)})
    counts = np.zeros((len(items), len(elements)))
    column = {z: k for k, z in enumerate(elements)}
    for r, it in enumerate(items):
        zs, n = np.unique(it.numbers, return_counts=True)
        counts[r, [column[int(z)] for z in zs]] = n
    refs = np.zeros((MAX_Z + 1, Y.shape[1]))
    for t in range(Y.shape[1]):
        rows = ~np.isnan(Y[:, t])
        solution, *_ = np.linalg.lstsq(counts[rows], Y[rows, t], rcond=None)
        refs[elements, t] = solution
    return refs


def _composition(items: np.ndarray) -> np.ndarray:
    return np.stack([np.bincount(it.numbers, minlength=MAX_Z + 1)[: MAX_Z + 1] for it in items])


class GeometricModel(DeepGraphModel):
    """Base estimator for 3D networks; subclasses implement :meth:`_build_representation`.

    Shared hyper-parameters:
        cutoff: neighbour cutoff, Å (5 by default; the SchNet paper used 10 for QM9).
        readout: ``"sum"`` (extensive), ``"mean"`` (intensive) or ``"dipole"`` (Debye).
        energy_weight, forces_weight, energy_per_atom: the energy + forces loss (see the module
            docstring); used when the training structures carry forces.
        stress_weight: weight of the stress MSE ((eV/Å³)²) for periodic cells with stress.
        conformer_seed: ETKDG seed for rows given as SMILES.
        Training arguments: see :class:`molfit.train.TrainingConfig`.
    """

    supports_classification: ClassVar[bool] = False
    input_kind: ClassVar[str] = "structures"
    readout_activation: ClassVar[str] = "ssp"

    # -- to implement ---------------------------------------------------------------------------
    def _build_representation(self) -> tuple[nn.Module, int]:
        """The representation module and the width of its per-atom features."""
        raise NotImplementedError

    # -- features -------------------------------------------------------------------------------
    def featurize(self, X: Any, n_jobs: int | None = None) -> StructureFeatures:
        """Structures (with neighbour pairs and labels) for every row of ``X``; a bad row raises."""
        inputs = as_structures(X, seed=self.conformer_seed, strict=True)
        return self._features_of(inputs)

    def _features_of(self, inputs: StructureInputs) -> StructureFeatures:
        items = np.empty(len(inputs.structures), dtype=object)
        items[:] = structure_items(inputs.structures, self.cutoff)
        return StructureFeatures(items, np.asarray(inputs.sources, dtype=object), inputs.structures)

    def _features(self, X: Any, *, fitting: bool, n_jobs: int | None = None) -> StructureFeatures:
        if isinstance(X, StructureFeatures):
            return X
        if isinstance(X, np.ndarray) and X.dtype.kind in "fiub":
            raise InputError(f"{type(self).__name__} needs 3D structures or molecules, not arrays")
        return self.featurize(X)

    def _loader(self, feats: StructureFeatures, labels: dict[str, np.ndarray] | None = None, *,
                shuffle: bool = False, seed: int = 0, batch_size: int | None = None,
                dtype: torch.dtype = torch.float32,
                max_pairs: int | None = None) -> Any:  # fmt: skip
        from molfit.train import make_structure_loader

        return make_structure_loader(
            list(feats.items),
            labels,
            batch_size=batch_size or self.batch_size,
            shuffle=shuffle,
            seed=seed,
            dtype=dtype,
            max_pairs=max_pairs,
        )

    # -- network --------------------------------------------------------------------------------
    def _build_network(self, atom_dim: int, bond_dim: int, n_tasks: int, n_desc: int) -> nn.Module:
        return self._build_model(n_tasks)

    def _build_model(self, n_outputs: int, references: np.ndarray | None = None) -> AtomisticModel:
        """One member: representation + outputs with this model's scaling and references."""
        representation, width = self._build_representation()
        return AtomisticModel(
            ScalarFeatures(representation),
            width,
            cutoff=self.cutoff,
            n_outputs=n_outputs,
            readout=self.readout,
            atom_scale=torch.as_tensor(self.atom_scale_),
            atom_shift=torch.as_tensor(self.atom_shift_),
            references=references,
            activation=self.readout_activation,
        )

    def _output_scaling(self, feats: StructureFeatures, Y: np.ndarray) -> np.ndarray:
        """Per-atom scale/shift from the training rows; returns the per-element references
        ``(MAX_Z + 1, n_out)`` float64 (zeros unless ``readout="sum"``)."""
        n_out = 1 if self.readout == "dipole" else Y.shape[1]
        references = np.zeros((MAX_Z + 1, n_out))
        self.atom_shift_ = np.zeros(n_out)
        self.atom_scale_ = np.ones(n_out)
        if self.readout == "dipole":
            self.atom_scale_ = np.full(1, 0.1)  # charges of a few tenths of e
            return references
        n_atoms = np.array([len(it) for it in feats.items], dtype=np.float64)
        if self.readout == "sum":
            references = fit_references(feats.items, Y)
            residual = Y - _composition(feats.items) @ references
            scale = np.nanstd(residual, axis=0) / np.sqrt(n_atoms.mean())
        else:
            self.atom_shift_ = np.nan_to_num(np.nanmean(Y, axis=0))
            scale = np.nanstd(Y, axis=0)
        self.atom_scale_ = np.where(np.nan_to_num(scale) > 0, np.nan_to_num(scale), 1.0)
        return references

    # -- training -------------------------------------------------------------------------------
    def _targets(self, feats: StructureFeatures, y: Any, what: str) -> np.ndarray:
        if y is not None:
            return as_targets(y)
        energy = None if feats.structures is None else feats.structures.energy
        if energy is None or self.readout != "sum":
            raise InputError(
                f"{what}: no targets given (y is None) and the structures carry no energies"
            )
        return energy.reshape(-1, 1).copy()

    def _uses_forces(self, feats: StructureFeatures) -> bool:
        return (
            self.readout == "sum"
            and self.n_tasks_ == 1
            and float(self.forces_weight) > 0
            and feats.structures is not None
            and feats.structures.has_forces
        )

    def _uses_stress(self, feats: StructureFeatures) -> bool:
        s = feats.structures
        return (
            self.uses_forces_
            and float(getattr(self, "stress_weight", 0.0)) > 0
            and s is not None
            and s.stress is not None
            and s.pbc is not None
            and bool(s.pbc.all())
        )

    def _labels(self, feats: StructureFeatures, Y: np.ndarray) -> dict[str, np.ndarray]:
        if self.uses_forces_:
            forces = feats.structures.forces if feats.structures is not None else None
            if forces is None:
                forces = np.full((sum(len(it) for it in feats.items), 3), np.nan)
            labels = {ENERGY: Y[:, 0], FORCES: forces}
            if getattr(self, "uses_stress_", False):
                stress = feats.structures.stress if feats.structures is not None else None
                labels[STRESS] = np.full((len(feats), 3, 3), np.nan) if stress is None else stress
            return labels
        return {TARGETS: Y}

    def _outputs(self) -> list[Any]:
        from molfit.train import Output

        if self.uses_forces_:
            return [
                Output(
                    ENERGY, weight=float(self.energy_weight), per_atom=bool(self.energy_per_atom)
                ),
                Output(FORCES, weight=float(self.forces_weight)),
            ] + (
                [Output(STRESS, weight=float(self.stress_weight))]
                if getattr(self, "uses_stress_", False)
                else []
            )
        return [Output(TARGETS, loss="mse")]

    def fit(
        self, X: Any, y: Any = None, X_val: Any = None, y_val: Any = None, *, runtime: Any = None
    ) -> GeometricModel:
        """Train on structures ``X`` (n) and targets ``y`` (n,) or (n, n_tasks) (``NaN``: missing).

        ``y=None`` takes the structures' own energies (eV). When the structures carry forces and
        ``forces_weight > 0`` (energy models, one target), forces are trained too.
        ``X_val``/``y_val``: an explicit validation set for early stopping (otherwise a seeded
        ``val_fraction`` of ``X``). ``runtime``: where to train (:class:`molfit.train.Runtime`;
        never saved). Returns ``self``.

        Raises:
            InputError: a row of ``X`` is not a usable structure, the shapes of ``X`` and ``y``
                disagree, or ``task="classification"`` was asked for.
        """
        from molfit.train import AtomisticTask, seed_everything

        if self.task not in ("auto", "regression", None):
            raise InputError(f"{type(self).__name__} does regression only, not {self.task!r}")
        if self.readout not in READOUTS:
            raise InputError(f"readout must be one of {READOUTS}, got {self.readout!r}")
        if self.mean_variance:
            raise InputError(f"{type(self).__name__} has no mean-variance head; use ensemble > 1")
        if min(float(self.energy_weight), float(self.forces_weight)) < 0:
            raise InputError("energy_weight and forces_weight must be >= 0")
        run = self._runtime(runtime)
        feats = self._features(X, fitting=True)
        Y = self._targets(feats, y, "fit")
        if self.readout == "dipole" and Y.shape[1] != 1:
            raise InputError("readout='dipole' predicts one target (the dipole moment magnitude)")
        if len(Y) != len(feats):
            raise InputError(f"X has {len(feats)} structures but y has {len(Y)} rows")
        labelled = (~np.isnan(Y)).sum(axis=0)
        if (labelled < 2).any():
            raise InputError(f"task {int(np.argmin(labelled))} has fewer than 2 labelled rows")
        self.task_ = "regression"
        self.input_kind_ = "structures"
        self.n_tasks_ = int(Y.shape[1])
        self.single_task_ = bool(y is None or np.ndim(y) == 1)
        self.n_features_in_ = 0
        self.atom_dim_, self.bond_dim_ = 0, 0
        self.target_mean_, self.target_std_ = np.zeros(self.n_tasks_), np.ones(self.n_tasks_)
        self.uses_forces_ = self._uses_forces(feats)
        self.uses_stress_ = self._uses_stress(feats)
        if self.uses_forces_ and float(self.energy_weight) == 0 and float(self.forces_weight) == 0:
            raise InputError("energy_weight and forces_weight are both 0: nothing to train")

        if X_val is not None:
            val_feats = self._features(X_val, fitting=False)
            Y_val = self._targets(val_feats, y_val, "fit (X_val)")
            if Y_val.shape[1] != Y.shape[1] or len(Y_val) != len(val_feats):
                raise InputError(
                    f"X_val/y_val shapes do not match: {len(val_feats)} rows, {Y_val.shape}"
                )
            train_idx = np.arange(len(feats))
        else:
            train_idx, val_feats, Y_val = self._validation(feats, Y, None, None)
        train = feats[train_idx]
        self.elements_ = np.unique(np.concatenate([it.numbers for it in train.items]))
        references = self._output_scaling(train, Y[train_idx])
        labels = self._labels(train, Y[train_idx])
        val_loader = None
        if val_feats is not None:
            val_loader = self._loader(val_feats, self._labels(val_feats, Y_val))
        self.members_: list[Any] = []
        self.history_: list[dict[str, Any]] = []
        for i in range(int(self.ensemble)):
            seed_everything(self.seed + i)
            loader = self._loader(train, labels, shuffle=True, seed=self.seed + i)
            module = AtomisticTask(
                self._build_model(self.n_tasks_, references),
                self._outputs(),
                lr=self.lr,
                warmup_epochs=self.warmup_epochs,
                lr_ratio=self.lr_ratio,
            )
            self._train_member(
                module, loader, val_loader, i, run, inference_mode=not self.uses_forces_
            )
        return self

    # -- prediction -----------------------------------------------------------------------------
    @property
    def models_(self) -> list[AtomisticModel]:
        """The fitted :class:`~molfit.nn.atomistic.AtomisticModel` of each ensemble member."""
        self._check_fitted()
        return [m.model for m in self.members_]

    def reference_sums(self, feats: StructureFeatures) -> np.ndarray:
        """Sum of the per-element reference values of each structure, ``(n, n_tasks)`` float64
        (zeros unless ``readout="sum"``), read from the model's buffer."""
        refs = self.models_[0].references.detach().cpu().double().numpy()
        if len(feats) == 0:
            return np.zeros((0, refs.shape[1]))
        return _composition(feats.items) @ refs

    def unseen_elements(self, feats: StructureFeatures) -> list[list[int]]:
        """For each structure, the atomic numbers absent from the training structures.

        The network has no trained embedding and (``readout="sum"``) no reference energy for
        such an element, so a prediction for that structure would be meaningless.
        """
        seen = getattr(self, "elements_", None)
        if seen is None:  # a model saved before elements were recorded
            return [[] for _ in range(len(feats))]
        return [np.setdiff1d(it.numbers, seen).tolist() for it in feats.items]

    def _unseen_messages(self, feats: StructureFeatures) -> list[str]:
        """One message per structure (``""`` when all its elements were seen in training)."""
        from ase.data import chemical_symbols

        out = []
        for zs in self.unseen_elements(feats):
            names = ", ".join(chemical_symbols[z] if z < len(chemical_symbols) else str(z)
                              for z in zs)  # fmt: skip
            out.append(f"element(s) {names} not in the training structures" if zs else "")
        return out

    def _check_elements(self, feats: StructureFeatures) -> None:
        messages = self._unseen_messages(feats) if len(feats) else []
        bad = [(r + 1, m) for r, m in enumerate(messages) if m]
        if bad:
            shown = "; ".join(f"row {r}: {m}" for r, m in bad[:5])
            more = f" (and {len(bad) - 5} more rows)" if len(bad) > 5 else ""
            raise InputError(f"cannot predict {len(bad)} structure(s): {shown}{more}")

    def _member_outputs(
        self, feats: StructureFeatures, *, forces: bool, stress: bool, dtype: torch.dtype,
        batch_size: int,
    ) -> list[dict[str, np.ndarray]]:  # fmt: skip
        """Each member's outputs (float64 numpy) over all structures, computed on a copy of its
        model in ``dtype`` (the fitted members are never changed)."""
        results = []
        loader = self._loader(
            feats, batch_size=batch_size, dtype=dtype, max_pairs=PREDICT_MAX_PAIRS
        )
        for model in self.models_:
            net = model if dtype == torch.float32 else copy.deepcopy(model).to(dtype)
            was_training = net.training
            net.eval()
            parts: dict[str, list[np.ndarray]] = {}
            for batch, _ in loader:
                want_s = stress and batch.cell is not None
                with torch.set_grad_enabled(forces or want_s):
                    out = net(batch, compute_forces=forces, compute_stress=want_s)
                if stress and not want_s:
                    out[STRESS] = torch.full((batch.n_structures, 3, 3), float("nan"))
                for key, value in out.items():
                    parts.setdefault(key, []).append(value.detach().double().cpu().numpy())
            net.train(was_training)
            results.append({k: np.concatenate(v) for k, v in parts.items()})
        return results

    def predict_features(self, F: StructureFeatures) -> tuple[np.ndarray, np.ndarray | None]:
        """Mean ``(n, n_tasks)`` in target units and std (``None`` for a single member).

        Raises:
            InputError: a structure holds an element the model never saw in training (the
                message names the 1-based rows); :meth:`predict_record` reports such rows in
                its ``error`` column instead and predicts the others.
        """
        self._check_fitted()
        F = self._features(F, fitting=False)
        self._check_elements(F)
        if len(F) == 0:
            return np.zeros((0, self.n_tasks_)), None
        with autocast_for(self._precision()):
            outs = self._member_outputs(
                F, forces=False, stress=False, dtype=torch.float32, batch_size=PREDICT_BATCH_SIZE
            )
        stacked = np.stack([o[TARGETS] for o in outs])
        return stacked.mean(axis=0), (stacked.std(axis=0) if len(outs) > 1 else None)

    def predict_record(self, X: Any, targets: list[str] | None = None) -> GeometryPrediction:
        """Predictions for every row of ``X``, with the geometry each one used.

        Rows that cannot be turned into a structure (an unparseable SMILES, a molecule ETKDG
        cannot embed) get ``NaN`` and a message in ``error``; the others are predicted.
        """
        self._check_fitted()
        inputs = as_structures(X, seed=self.conformer_seed, strict=False)
        n = inputs.n_rows
        shape = (n,) if self.single_task_ else (n, self.n_tasks_)
        mean = np.full(shape, np.nan)
        std = np.full(shape, np.nan) if self._has_member_std() else None
        geometry = np.full(n, "", dtype=object)
        error = np.full(n, "", dtype=object)
        if len(inputs.structures):
            feats = self._features_of(inputs)
            rows = np.asarray(inputs.rows)
            geometry[rows] = inputs.sources
            messages = np.asarray(self._unseen_messages(feats), dtype=object)
            known = messages == ""
            error[rows[~known]] = messages[~known]
            if known.any():
                m, s = self.predict_features(feats[np.flatnonzero(known)])
                mean[rows[known]] = self._shape(m)
                if std is not None and s is not None:
                    std[rows[known]] = self._shape(s)
        for issue, line in zip(inputs.issues, describe_issues(inputs.issues), strict=True):
            error[issue.row - 1] = line
        names = targets or [f"y{t}" for t in range(self.n_tasks_)]
        return GeometryPrediction(
            mean=mean, std=std, task="regression", targets=names, error=error, geometry=geometry
        )

    def _has_member_std(self) -> bool:
        return len(self.members_) > 1

    def predict_properties(
        self, X: Any, *, forces: bool = True, stress: bool = False,
        dtype: torch.dtype = torch.float32, batch_size: int = PREDICT_BATCH_SIZE,
    ) -> dict[str, Any]:  # fmt: skip
        """Energies, forces and stress of every structure through the members' models.

        Args:
            X: structures (anything :func:`molfit.structures.as_structures` takes).
            forces: compute ``F = -dE/dr``.
            stress: compute ``σ = (1/V) dE/dε`` (``NaN`` for non-periodic structures).
            dtype: float precision of the computation (``torch.float64`` for finite-difference
                checks); the fitted members are not changed.
            batch_size: structures per network call (:data:`PREDICT_BATCH_SIZE`).

        Returns:
            ``{"energy": (n,) eV, "forces": [(n_atoms_k, 3) eV/Å per structure],
            "stress": (n, 3, 3) eV/Å^3}`` (ensemble means; keys as asked) and, with more than one
            member, ``"energy_std": (n,)`` eV and ``"forces_std": [(n_atoms_k,) eV/Å]``: the
            committee std of the energy and of each atom's force vector
            (``sqrt(mean_m |F_m - F̄|²)``).

        Raises:
            InputError: the model is not an energy model (``readout != "sum"``) or a structure
                holds an element unseen in training.
        """
        self._check_fitted()
        if self.readout != "sum":
            raise InputError("energies, forces and stress need an energy model (readout='sum')")
        feats = self._features(X, fitting=False)
        self._check_elements(feats)
        outs = self._member_outputs(
            feats, forces=forces, stress=stress, dtype=dtype, batch_size=batch_size
        )
        bounds = np.concatenate([[0], np.cumsum([len(it) for it in feats.items])])

        def split(a: np.ndarray) -> list[np.ndarray]:
            return [a[bounds[k] : bounds[k + 1]] for k in range(len(feats))]

        energies = np.stack([o[ENERGY] for o in outs])
        result: dict[str, Any] = {ENERGY: energies.mean(axis=0)}
        if len(outs) > 1:
            result[ENERGY_STD] = energies.std(axis=0)
        if forces:
            f = np.stack([o[FORCES] for o in outs])
            mean_f = f.mean(axis=0)
            result[FORCES] = split(mean_f)
            if len(outs) > 1:
                spread = np.sqrt(((f - mean_f) ** 2).sum(axis=-1).mean(axis=0))
                result[FORCES_STD] = split(spread)
        if stress:
            result[STRESS] = np.stack([o[STRESS] for o in outs]).mean(axis=0)
        return result

    def predict_energy_forces(
        self,
        X: Any,
        *,
        dtype: torch.dtype = torch.float32,
        batch_size: int = PREDICT_BATCH_SIZE,
    ) -> tuple[np.ndarray, list[np.ndarray]]:
        """Energies and forces ``F = -dE/dr`` of every structure (ensemble mean).

        Raises ``InputError`` for a structure with an element unseen in training.

        Returns:
            ``(energies, forces)``: energies ``(n,)`` in target units (eV for energies; the
            first target when there are several) and one ``(n_atoms, 3)`` array per structure
            (eV/Å), atoms in input order.
        """
        out = self.predict_properties(X, forces=True, dtype=dtype, batch_size=batch_size)
        return out[ENERGY], out[FORCES]

    def predict_forces(self, X: Any) -> list[np.ndarray]:
        """Forces ``-dE/dr`` (eV/Å), one ``(n_atoms, 3)`` array per structure."""
        return self.predict_energy_forces(X)[1]

    def predict_stress(
        self,
        X: Any,
        *,
        dtype: torch.dtype = torch.float32,
        batch_size: int = PREDICT_BATCH_SIZE,
    ) -> np.ndarray:
        """Stress ``(1/V) dE/dε`` ``(n, 3, 3)`` eV/Å^3 (ASE's sign convention; ``NaN`` for
        structures without a periodic cell)."""
        out = self.predict_properties(
            X, forces=False, stress=True, dtype=dtype, batch_size=batch_size
        )
        return out[STRESS]

    # -- persistence ----------------------------------------------------------------------------
    def _saved_featurizer(self) -> dict[str, Any]:
        return {"scheme": "molfit.structures.structure_items", "cutoff": float(self.cutoff)}

    def _fitted_meta(self) -> dict[str, Any]:
        meta = super()._fitted_meta()
        meta["atom_scale"] = np.asarray(self.atom_scale_).tolist()
        meta["atom_shift"] = np.asarray(self.atom_shift_).tolist()
        meta["n_references"] = int(self.models_[0].references.shape[1])
        meta["elements"] = [int(z) for z in self.elements_]
        meta["uses_forces"] = bool(self.uses_forces_)
        meta["uses_stress"] = bool(getattr(self, "uses_stress_", False))
        meta["model"] = "molfit.nn.atomistic.AtomisticModel"
        return meta

    def _restore_fitted(self, meta: dict[str, Any]) -> None:
        self.atom_scale_ = np.asarray(meta["atom_scale"], dtype=np.float64)
        self.atom_shift_ = np.asarray(meta["atom_shift"], dtype=np.float64)
        self.uses_forces_ = bool(meta.get("uses_forces", False))
        self.uses_stress_ = bool(meta.get("uses_stress", False))
        if "elements" in meta:
            self.elements_ = np.asarray(meta["elements"], dtype=np.int64)

    @classmethod
    def load(cls, directory: str | Path) -> GeometricModel:
        """Rebuild a model written by :meth:`save`: each member's whole
        :class:`~molfit.nn.atomistic.AtomisticModel` (references included) from safetensors.

        Models saved by earlier molfit versions (references in ``config.json``, runtime settings
        among the parameters) load too.

        Raises:
            InputError: files missing, corrupt or truncated, or weights that do not fit.
        """
        from molfit.train import AtomisticTask

        directory, config, tensors = cls._read_saved(directory)
        weights_path = directory / TORCH_WEIGHTS_FILE
        model = cls(**cls._params_of(config, directory / CONFIG_FILE))
        meta = config["fitted"]
        try:
            model.task_ = meta["task"]
            model.n_tasks_ = int(meta["n_tasks"])
            model.single_task_ = meta["single_task"]
            model.input_kind_ = meta["input_kind"]
            model.n_features_in_, model.atom_dim_, model.bond_dim_ = 0, 0, 0
            model.target_mean_ = np.zeros(model.n_tasks_)
            model.target_std_ = np.ones(model.n_tasks_)
            model._restore_fitted(meta)
            n_refs = int(meta["n_references"])
        except (KeyError, TypeError, ValueError) as exc:
            raise InputError(f"{directory / CONFIG_FILE}: bad 'fitted' entry ({exc})") from None
        legacy_refs = None
        if "references" in meta:  # saved before the references moved into the model
            legacy_refs = np.zeros((MAX_Z + 1, n_refs))
            for z, values in meta["references"].items():
                legacy_refs[int(z)] = values
        n_members = len({k.split(".", 1)[0] for k in tensors})
        if n_members == 0:
            raise InputError(f"{weights_path}: holds no weights")
        model.members_ = []
        model.history_ = meta.get("history", [])
        for i in range(n_members):
            prefix = f"member{i}."
            state = {k[len(prefix) :]: v for k, v in tensors.items() if k.startswith(prefix)}
            if legacy_refs is not None:
                state = {k: v for k, v in state.items() if k not in ("target_mean", "target_std")}
                state["model.references"] = torch.from_numpy(legacy_refs)
            net = model._build_model(model.n_tasks_)
            module = AtomisticTask(net, model._outputs())
            cls._load_state(module, state, weights_path)
            model.members_.append(module.eval())
        return model


@dataclass
class GeometryPrediction(Prediction):
    """A :class:`Prediction` that also says which geometry each row was predicted on.

    Attributes:
        geometry: ``(n,)`` geometry source per row: ``"input"`` (given coordinates),
            ``"file.xyz#k"`` (frame k of a file) or ``"ETKDGv3+MMFF94 (seed 0)"`` (generated).
    """

    geometry: np.ndarray | None = None

    def to_frame(self, smiles: Any = None) -> Any:
        """As :meth:`Prediction.to_frame`, with a ``geometry`` column before ``error``."""
        frame = super().to_frame(smiles)
        if self.geometry is not None:
            frame.insert(frame.columns.get_loc("error"), "geometry", list(self.geometry))
        return frame


_TRAINING_DOC = """
        readout: ``"sum"`` (extensive: energies), ``"mean"`` (intensive: HOMO, gap) or
            ``"dipole"`` (dipole moment magnitude from atomic charges, Debye).
        cutoff: neighbour cutoff, Å.
        epochs, batch_size, lr: training length, structures per batch, peak learning rate (Adam).
        warmup_epochs, lr_ratio: linear warm-up, then exponential decay to ``lr * lr_ratio``.
        patience: epochs without validation improvement before stopping (``None``: never).
        val_fraction: seeded share of the rows held out for early stopping when ``fit`` gets no
            ``X_val``.
        ensemble: independently seeded members (their spread is the std).
        energy_weight, forces_weight: weights of the energy and force losses (eV², (eV/Å)²)
            when the training structures carry forces; ``forces_weight=0``: energies only.
        energy_per_atom: divide the energy error by the atom count in the loss.
        stress_weight: weight of the stress MSE ((eV/Å³)²) when every training structure is a
            periodic cell with stress (0: stress is not trained).
        conformer_seed: ETKDG seed for rows given as SMILES.
        seed, deterministic, precision: see :class:`molfit.train.TrainingConfig`.
        Runtime settings (``accelerator``, ``devices``, ``strategy``, ``checkpoint_dir``,
        ``progress_bar``, ``n_jobs``) go to ``fit(..., runtime=molfit.train.Runtime(...))``.
"""


class _GeometricEstimator(GeometricModel):
    """Hyper-parameters shared by every 3D estimator (scikit-learn reads them from here).

    Args:
        task: only ``"regression"`` (3D models predict continuous properties).
        n_features: atom feature width.
        n_interactions: interaction (message-passing) blocks; ``None`` takes the architecture's
            published default (SchNet 6, PaiNN 3, DimeNet++ 4).
        n_rbf: radial basis functions between 0 and ``cutoff``.
    """

    default_interactions: ClassVar[int] = 3

    def __init__(
        self,
        task: str = "regression",
        n_features: int = 128,
        n_interactions: int | None = None,
        n_rbf: int = 20,
        readout: str = "sum",
        cutoff: float = 5.0,
        epochs: int = 100,
        batch_size: int = 100,
        lr: float = 5e-4,
        warmup_epochs: float = 1.0,
        lr_ratio: float = 0.1,
        patience: int | None = 20,
        val_fraction: float = 0.1,
        ensemble: int = 1,
        mean_variance: bool = False,
        energy_weight: float = 1.0,
        forces_weight: float = 10.0,
        energy_per_atom: bool = False,
        stress_weight: float = 0.0,
        conformer_seed: int = 0,
        seed: int = 0,
        deterministic: bool = True,
        precision: str = "32",
        **runtime: Any,
    ) -> None:
        self.task = task
        self.n_features = n_features
        self.n_interactions = n_interactions
        self.n_rbf = n_rbf
        self.readout = readout
        self.cutoff = cutoff
        self.epochs = epochs
        self.batch_size = batch_size
        self.lr = lr
        self.warmup_epochs = warmup_epochs
        self.lr_ratio = lr_ratio
        self.patience = patience
        self.val_fraction = val_fraction
        self.ensemble = ensemble
        self.mean_variance = mean_variance
        self.energy_weight = energy_weight
        self.forces_weight = forces_weight
        self.energy_per_atom = energy_per_atom
        self.stress_weight = stress_weight
        self.conformer_seed = conformer_seed
        self.seed = seed
        self.deterministic = deterministic
        self.precision = precision
        # old-style runtime settings (accelerator=, devices=...): used by fit, never saved
        self._legacy_runtime = legacy_runtime(type(self).__name__, runtime)

    @property
    def interactions_(self) -> int:
        """The number of interaction blocks actually built."""
        return self.default_interactions if self.n_interactions is None else self.n_interactions


class SchNetModel(_GeometricEstimator):
    """SchNet (Schütt et al. 2017): continuous-filter convolutions on interatomic distances."""

    default_interactions: ClassVar[int] = 6

    def _build_representation(self) -> tuple[nn.Module, int]:
        from molfit.nn import SchNet

        net = SchNet(
            n_features=self.n_features,
            n_interactions=self.interactions_,
            n_rbf=self.n_rbf,
            cutoff=self.cutoff,
        )
        return net, self.n_features


class PaiNNModel(_GeometricEstimator):
    """PaiNN (Schütt et al. 2021): equivariant message passing with scalar and vector features."""

    readout_activation: ClassVar[str] = "silu"
    default_interactions: ClassVar[int] = 3

    def _build_representation(self) -> tuple[nn.Module, int]:
        from molfit.nn import PaiNN

        net = PaiNN(
            n_features=self.n_features,
            n_interactions=self.interactions_,
            n_rbf=self.n_rbf,
            cutoff=self.cutoff,
        )
        return net, self.n_features


class DimeNetPPModel(_GeometricEstimator):
    """DimeNet++ (Gasteiger et al. 2020): directional message passing over bond triplets.

    ``n_interactions`` is the number of interaction blocks; ``n_rbf`` the radial Bessel functions
    (6 in the paper; the spherical basis uses 7 orders). The network's own output blocks give
    per-atom features of width ``n_features`` that the atomwise readout sums or averages.
    """

    readout_activation: ClassVar[str] = "silu"
    default_interactions: ClassVar[int] = 4

    def _build_representation(self) -> tuple[nn.Module, int]:
        from molfit.nn import DimeNetPP

        net = DimeNetPP(
            n_features=self.n_features,
            n_blocks=self.interactions_,
            n_radial=self.n_rbf,
            cutoff=self.cutoff,
        )
        return net, net.n_out


class EquivariantModel(_GeometricEstimator):
    """An E(3)-equivariant potential: l <= 2 Cartesian features with three-body messages
    (:class:`molfit.nn.atomistic.EquivariantNet`, NequIP/MACE-style physics).

    ``l_max`` is the highest feature order (2: scalars, vectors, matrices; 1: no matrices,
    about three times faster). ``neighbor_norm`` divides the summed messages (about the mean
    number of neighbours within the cutoff). Defaults are sized for small molecules on a CPU.
    """

    readout_activation: ClassVar[str] = "silu"
    default_interactions: ClassVar[int] = 2

    def __init__(
        self,
        task: str = "regression",
        n_features: int = 32,
        n_interactions: int | None = None,
        n_rbf: int = 8,
        l_max: int = 2,
        neighbor_norm: float = 10.0,
        readout: str = "sum",
        cutoff: float = 5.0,
        epochs: int = 100,
        batch_size: int = 10,
        lr: float = 5e-3,
        warmup_epochs: float = 1.0,
        lr_ratio: float = 0.05,
        patience: int | None = 20,
        val_fraction: float = 0.1,
        ensemble: int = 1,
        mean_variance: bool = False,
        energy_weight: float = 1.0,
        forces_weight: float = 10.0,
        energy_per_atom: bool = False,
        stress_weight: float = 0.0,
        conformer_seed: int = 0,
        seed: int = 0,
        deterministic: bool = True,
        precision: str = "32",
        **runtime: Any,
    ) -> None:
        super().__init__(
            task=task, n_features=n_features, n_interactions=n_interactions, n_rbf=n_rbf,
            readout=readout, cutoff=cutoff, epochs=epochs, batch_size=batch_size, lr=lr,
            warmup_epochs=warmup_epochs, lr_ratio=lr_ratio, patience=patience,
            val_fraction=val_fraction, ensemble=ensemble, mean_variance=mean_variance,
            energy_weight=energy_weight, forces_weight=forces_weight,
            energy_per_atom=energy_per_atom, stress_weight=stress_weight,
            conformer_seed=conformer_seed, seed=seed,
            deterministic=deterministic, precision=precision, **runtime,
        )  # fmt: skip
        self.l_max = l_max
        self.neighbor_norm = neighbor_norm

    def _build_representation(self) -> tuple[nn.Module, int]:
        from molfit.nn.atomistic import EquivariantNet

        net = EquivariantNet(
            n_features=self.n_features,
            n_interactions=self.interactions_,
            n_rbf=self.n_rbf,
            cutoff=self.cutoff,
            neighbor_norm=self.neighbor_norm,
            l_max=self.l_max,
        )
        return net, net.n_out


for _cls in (SchNetModel, PaiNNModel, DimeNetPPModel, EquivariantModel):
    _cls.__doc__ = (_cls.__doc__ or "") + _TRAINING_DOC
