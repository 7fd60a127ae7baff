"""3D estimators: SchNet and PaiNN on molecular geometries, with scikit-learn's contract.

``SchNetModel().fit(structures, y).predict(structures)``; registered as ``schnet`` and ``painn``
(``molfit train qm9 --model schnet --target U0``). ``X`` is anything
:func:`molfit.structures._inputs.as_structures` accepts: ``Structures``, ASE ``Atoms``,
``(numbers, positions)`` pairs, XYZ files, RDKit molecules or SMILES (conformers by ETKDGv3 +
MMFF94; :meth:`GeometricModel.predict_record` reports which geometry each prediction used).

Targets. ``readout="sum"`` is for extensive targets (energies): the network predicts one
contribution per atom, scaled and shifted per atom, plus a per-element reference energy fitted by
least squares on the training compositions, and sums them. ``readout="mean"`` is for intensive
targets (HOMO, gap): the per-atom outputs are averaged. ``readout="dipole"`` predicts a charge per
atom (neutralised so each molecule's charges sum to zero) and returns ``|Σ q_i r_i|`` in Debye,
QM9's ``mu``. Training is :class:`molfit.train.PredictorModule`'s (Lightning, early stopping, best
weights, ensembles); the loss is the mean squared error in target units (eV² for energies).

Forces. Energies are differentiable in the positions: :meth:`GeometricModel.predict_energy_forces`
returns ``F = -dE/dr`` (eV/Å) by autograd.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial
from typing import Any, ClassVar

import numpy as np
import torch
from torch import Tensor, nn

from molfit.errors import InputError
from molfit.models._base import as_targets
from molfit.models._deep import DeepGraphModel
from molfit.models._prediction import Prediction
from molfit.models._registry import register_model
from molfit.nn.atomistic import Atomwise
from molfit.structures import (
    Batch3D,
    StructureInputs,
    as_structures,
    collate_structures,
    describe_issues,
    structure_items,
)

READOUTS = ("sum", "mean", "dipole")
E_ANGSTROM_IN_DEBYE = 4.803204544  # 1 e·Å in Debye (CODATA 2018)
MAX_Z = 118


@dataclass
class StructureFeatures:
    """Structures with their neighbour pairs, indexable like an array.

    Attributes:
        items: object array ``(n,)`` of :class:`molfit.structures._batch.StructureItem`.
        sources: ``(n,)`` geometry source of each structure (``"input"``, ``"ETKDGv3+MMFF94
            (seed 0)"``, ``"file.xyz#2"``).
    """

    items: np.ndarray
    sources: np.ndarray

    def __len__(self) -> int:
        return len(self.items)

    def __getitem__(self, idx: Any) -> StructureFeatures:
        return StructureFeatures(self.items[idx], self.sources[idx])

    @property
    def shape(self) -> tuple[int, int]:
        return (len(self.items), 0)


class GeometricNet(nn.Module):
    """A 3D representation plus an atomwise readout: ``Batch3D -> (n_structures, n_tasks)``.

    Args:
        representation: maps ``(numbers (n_atoms,), neighbour list)`` to per-atom scalar
            features ``(n_atoms, n_features)``.
        n_features: width of those features.
        n_tasks: outputs per structure.
        cutoff: Å, neighbour cutoff.
        readout: ``"sum"``, ``"mean"`` or ``"dipole"`` (see the module docstring).
        atom_scale, atom_shift: ``(n_tasks,)`` per-atom output scale and shift (target units).
        activation: of the readout MLPs (:class:`molfit.nn.Atomwise`): ``"ssp"`` or ``"silu"``.

    Per-element reference energies are not part of the network: the estimator subtracts them
    from the targets before training and adds them back in float64 after prediction, so the
    network (float32) only ever sees values of a few eV.
    """

    def __init__(
        self,
        representation: nn.Module,
        n_features: int,
        n_tasks: int,
        cutoff: float,
        readout: str = "sum",
        atom_scale: Tensor | None = None,
        atom_shift: Tensor | None = None,
        activation: str = "ssp",
    ) -> None:
        super().__init__()
        if readout not in READOUTS:
            raise InputError(f"readout must be one of {READOUTS}, got {readout!r}")
        self.representation = representation
        self.cutoff = float(cutoff)
        self.readout = readout
        n_out = 1 if readout == "dipole" else n_tasks
        scale = torch.ones(n_out) if atom_scale is None else torch.as_tensor(atom_scale)
        shift = torch.zeros(n_out) if atom_shift is None else torch.as_tensor(atom_shift)
        scale, shift = scale.reshape(n_out), shift.reshape(n_out)
        if readout == "dipole":  # one charge per atom, in e
            self.heads = nn.ModuleList(
                [
                    Atomwise(
                        n_features, aggregation="sum", std=float(scale[0]), activation=activation
                    )
                ]
            )
        else:
            self.heads = nn.ModuleList(
                Atomwise(
                    n_features,
                    aggregation=readout,
                    mean=float(shift[t]),
                    std=float(scale[t]),
                    activation=activation,
                )
                for t in range(n_tasks)
            )

    def forward(self, batch: Batch3D) -> Tensor:
        nl = batch.neighbors(self.cutoff)
        features = self.representation(batch.numbers, nl)
        n, index = batch.n_structures, batch.batch
        if self.readout != "dipole":
            outs = [head(features, batch.numbers, index, n) for head in self.heads]
            return torch.stack(outs, dim=1)
        # dipole: per-atom charges made neutral per molecule, then |sum_i q_i r_i| in Debye
        head = self.heads[0]
        charges = head.mlp(features).squeeze(-1) * head.std
        counts = batch.n_atoms.to(charges.dtype)
        total = charges.new_zeros(n).index_add(0, index, charges)
        charges = charges - (total / counts)[index]
        moment = charges.unsqueeze(-1) * batch.positions
        dipole = batch.positions.new_zeros(n, 3).index_add(0, index, moment)
        magnitude = torch.sqrt((dipole * dipole).sum(-1, keepdim=True) + 1e-12)
        return magnitude * E_ANGSTROM_IN_DEBYE


def fit_references(items: np.ndarray, Y: np.ndarray) -> np.ndarray:
    """Per-element reference values ``(MAX_Z + 1, n_tasks)`` by least squares on compositions.

    ``Y ≈ counts @ refs``; elements absent from the training set get 0. Rows with a missing
    label are left out task by task.
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


class GeometricModel(DeepGraphModel):
    """Base estimator for 3D networks; subclasses implement :meth:`_build_representation`.

    Shared hyper-parameters:
        cutoff: neighbour cutoff, Å (5 by default; the SchNet paper used 10 for QM9).
        readout: ``"sum"`` (extensive), ``"mean"`` (intensive) or ``"dipole"`` (Debye).
        conformer_seed: ETKDG seed for rows given as SMILES.
        Training and uncertainty arguments: see :class:`~molfit.models._deep.DeepGraphModel`.
    """

    supports_classification: ClassVar[bool] = False
    input_kind: ClassVar[str] = "structures"

    # -- to implement ---------------------------------------------------------------------------
    readout_activation: ClassVar[str] = "ssp"

    def _build_representation(self) -> tuple[nn.Module, int]:
        """The representation module and the width of its per-atom features."""
        raise NotImplementedError

    # -- features -------------------------------------------------------------------------------
    def featurize(self, X: Any) -> StructureFeatures:
        """Structures (with neighbour pairs) for every row of ``X``; any bad row raises."""
        inputs = as_structures(X, seed=self.conformer_seed, strict=True)
        return self._features_of(inputs)

    def _features_of(self, inputs: StructureInputs) -> StructureFeatures:
        items = np.empty(len(inputs.structures), dtype=object)
        items[:] = structure_items(inputs.structures, self.cutoff)
        return StructureFeatures(items, np.asarray(inputs.sources, dtype=object))

    def _features(self, X: Any, *, fitting: bool) -> StructureFeatures:
        if isinstance(X, StructureFeatures):
            return X
        if isinstance(X, np.ndarray) and X.dtype.kind in "fiub":
            raise InputError(f"{type(self).__name__} needs 3D structures or molecules, not arrays")
        return self.featurize(X)

    def _loader(
        self,
        feats: StructureFeatures,
        Y: np.ndarray | None = None,
        *,
        shuffle: bool = False,
        seed: int = 0,
        batch_size: int | None = None,
        dtype: torch.dtype = torch.float32,
    ) -> Any:
        from molfit.train import make_loader

        return make_loader(
            list(feats.items),
            partial(collate_structures, dtype=dtype),
            Y,
            batch_size=batch_size or self.batch_size,
            shuffle=shuffle,
            seed=seed,
        )

    # -- network --------------------------------------------------------------------------------
    def _build_network(self, atom_dim: int, bond_dim: int, n_tasks: int, n_desc: int) -> nn.Module:
        representation, width = self._build_representation()
        return GeometricNet(
            representation,
            width,
            n_tasks,
            self.cutoff,
            readout=self.readout,
            atom_scale=torch.as_tensor(self.atom_scale_),
            atom_shift=torch.as_tensor(self.atom_shift_),
            activation=self.readout_activation,
        )

    def _output_scaling(self, feats: StructureFeatures, Y: np.ndarray) -> None:
        """Per-element references and per-atom scale/shift from the training rows."""
        n_out = 1 if self.readout == "dipole" else Y.shape[1]
        self.references_ = np.zeros((MAX_Z + 1, n_out))
        self.atom_shift_ = np.zeros(n_out)
        self.atom_scale_ = np.ones(n_out)
        if self.readout == "dipole":
            self.atom_scale_ = np.full(1, 0.1)  # charges of a few tenths of e
            return
        n_atoms = np.array([len(it) for it in feats.items], dtype=np.float64)
        if self.readout == "sum":
            self.references_ = fit_references(feats.items, Y)
            residual = Y - self.reference_sums(feats)
            scale = np.nanstd(residual, axis=0) / np.sqrt(n_atoms.mean())
        else:
            self.atom_shift_ = np.nan_to_num(np.nanmean(Y, axis=0))
            scale = np.nanstd(Y, axis=0)
        self.atom_scale_ = np.where(np.nan_to_num(scale) > 0, np.nan_to_num(scale), 1.0)

    # -- training -------------------------------------------------------------------------------
    def fit(self, X: Any, y: Any, X_val: Any = None, y_val: Any = None) -> GeometricModel:
        """Train on structures ``X`` (n) and targets ``y`` (n,) or (n, n_tasks) (``NaN``: missing).

        ``X_val``/``y_val``: an explicit validation set for early stopping (otherwise a seeded
        ``val_fraction`` of ``X``). Returns ``self``.

        Raises:
            InputError: a row of ``X`` is not a usable structure, the shapes of ``X`` and ``y``
                disagree, or ``task="classification"`` was asked for.
        """
        from molfit.train import PredictorModule, seed_everything

        Y = as_targets(y)
        if self.task not in ("auto", "regression", None):
            raise InputError(f"{type(self).__name__} does regression only, not {self.task!r}")
        if self.readout not in READOUTS:
            raise InputError(f"readout must be one of {READOUTS}, got {self.readout!r}")
        if self.readout == "dipole" and Y.shape[1] != 1:
            raise InputError("readout='dipole' predicts one target (the dipole moment magnitude)")
        feats = self._features(X, fitting=True)
        if len(Y) != len(feats):
            raise InputError(f"X has {len(feats)} structures but y has {len(Y)} rows")
        labelled = (~np.isnan(Y)).sum(axis=0)
        if (labelled < 2).any():
            raise InputError(f"task {int(np.argmin(labelled))} has fewer than 2 labelled rows")
        self.task_ = "regression"
        self.input_kind_ = "structures"
        self.n_tasks_ = int(Y.shape[1])
        self.single_task_ = bool(np.ndim(y) == 1)
        self.n_features_in_ = 0
        self.atom_dim_, self.bond_dim_ = 0, 0
        # PredictorModule's own scaling is the identity: GeometricNet scales per atom instead
        self.target_mean_, self.target_std_ = np.zeros(self.n_tasks_), np.ones(self.n_tasks_)

        train_idx, val_feats, Y_val = self._validation(feats, Y, X_val, y_val)
        self.elements_ = np.unique(np.concatenate([it.numbers for it in feats.items[train_idx]]))
        self._output_scaling(feats[train_idx], Y[train_idx])
        # the network learns what the per-element references leave (float64 subtraction)
        Y_train = Y[train_idx] - self.reference_sums(feats[train_idx])
        if Y_val is not None:
            Y_val = Y_val - self.reference_sums(val_feats)
        val_loader = None if val_feats is None else self._loader(val_feats, Y_val)
        self.members_: list[Any] = []
        self.history_: list[dict[str, Any]] = []
        for i in range(int(self.ensemble)):
            seed_everything(self.seed + i)
            loader = self._loader(feats[train_idx], Y_train, shuffle=True, seed=self.seed + i)
            module = PredictorModule(
                self._build_network(0, 0, self.n_tasks_, 0),
                task="regression",
                n_tasks=self.n_tasks_,
                loss="mse",
                lr=self.lr,
                warmup_epochs=self.warmup_epochs,
                lr_ratio=self.lr_ratio,
            )
            self._train_member(module, loader, val_loader, i)
        return self

    # -- prediction -----------------------------------------------------------------------------
    def reference_sums(self, feats: StructureFeatures) -> np.ndarray:
        """Sum of the per-element reference values of each structure, ``(n, n_tasks)`` float64
        (zeros unless ``readout="sum"``)."""
        if not np.any(self.references_):
            return np.zeros((len(feats), self.references_.shape[1]))
        counts = np.stack(
            [np.bincount(it.numbers, minlength=MAX_Z + 1)[: MAX_Z + 1] for it in feats.items]
        )
        return counts @ self.references_

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

    def predict_features(self, F: StructureFeatures) -> tuple[np.ndarray, np.ndarray | None]:
        """Mean ``(n, n_tasks)`` in target units and std (``None`` for a single member).

        Raises:
            InputError: a structure holds an element the model never saw in training (the
                message names the 1-based rows); :meth:`predict_record` reports such rows in
                its ``error`` column instead and predicts the others.
        """
        self._check_elements(F)
        mean, std = super().predict_features(F)
        if len(F):
            mean = mean + self.reference_sums(F)
        return mean, std

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
        if inputs.structures:
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
        return len(self.members_) > 1 or bool(self.mean_variance)

    def predict_energy_forces(
        self, X: Any, *, dtype: torch.dtype = torch.float32, batch_size: int = 256
    ) -> tuple[np.ndarray, list[np.ndarray]]:
        """Energies and forces ``F = -dE/dr`` of every structure (ensemble mean).

        Raises ``InputError`` for a structure with an element unseen in training.

        Returns:
            ``(energies, forces)``: energies ``(n,)`` in target units (eV for energies; the
            first target when there are several) and one ``(n_atoms, 3)`` array per structure
            (eV/Å), atoms in input order.
        """
        self._check_fitted()
        if self.readout != "sum":
            raise InputError("forces need an energy model (readout='sum')")
        feats = self._features(X, fitting=False)
        self._check_elements(feats)
        energies = np.zeros(len(feats))
        forces = [np.zeros((len(it), 3)) for it in feats.items]
        loader = self._loader(feats, batch_size=batch_size, dtype=dtype)
        for module in self.members_:
            net = module.model.to(dtype)
            start = 0
            for inputs, _ in loader:
                batch: Batch3D = inputs[0]
                batch.positions.requires_grad_(True)
                with torch.enable_grad():
                    energy = net(batch)[:, 0]
                    (grad,) = torch.autograd.grad(energy.sum(), batch.positions)
                e = energy.detach().double().numpy()
                g = grad.detach().double().numpy()
                ptr = batch.ptr.numpy()
                for k in range(batch.n_structures):
                    forces[start + k] -= g[ptr[k] : ptr[k + 1]]
                energies[start : start + len(e)] += e
                start += len(e)
            module.model.float()
        n = len(self.members_)
        energies = energies / n + self.reference_sums(feats)[:, 0]
        return energies, [f / n for f in forces]

    def predict_forces(self, X: Any) -> list[np.ndarray]:
        """Forces ``-dE/dr`` (eV/Å), one ``(n_atoms, 3)`` array per structure."""
        return self.predict_energy_forces(X)[1]

    # -- persistence ----------------------------------------------------------------------------
    def _fitted_meta(self) -> dict[str, Any]:
        meta = super()._fitted_meta()
        meta["atom_scale"] = np.asarray(self.atom_scale_).tolist()
        meta["atom_shift"] = np.asarray(self.atom_shift_).tolist()
        nonzero = np.flatnonzero(np.any(self.references_ != 0, axis=1))
        meta["references"] = {int(z): self.references_[z].tolist() for z in nonzero}
        meta["n_references"] = int(self.references_.shape[1])
        meta["elements"] = [int(z) for z in self.elements_]
        return meta

    def _restore_fitted(self, meta: dict[str, Any]) -> None:
        self.atom_scale_ = np.asarray(meta["atom_scale"], dtype=np.float64)
        self.atom_shift_ = np.asarray(meta["atom_shift"], dtype=np.float64)
        self.references_ = np.zeros((MAX_Z + 1, meta["n_references"]))
        for z, values in meta["references"].items():
            self.references_[int(z)] = values
        if "elements" in meta:
            self.elements_ = np.asarray(meta["elements"], dtype=np.int64)


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
        conformer_seed: ETKDG seed for rows given as SMILES.
        seed, accelerator, devices, num_nodes, strategy, progress_bar, deterministic,
        checkpoint_dir, precision: see :class:`~molfit.models._deep.DeepGraphModel`.
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
        conformer_seed: int = 0,
        seed: int = 0,
        accelerator: str = "cpu",
        devices: Any = 1,
        num_nodes: int = 1,
        strategy: Any = "auto",
        progress_bar: bool = True,
        deterministic: bool = True,
        n_jobs: int = 1,
        checkpoint_dir: str | None = None,
        precision: str = "32",
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
        self.conformer_seed = conformer_seed
        self.seed = seed
        self.accelerator = accelerator
        self.devices = devices
        self.num_nodes = num_nodes
        self.strategy = strategy
        self.progress_bar = progress_bar
        self.deterministic = deterministic
        self.n_jobs = n_jobs
        self.checkpoint_dir = checkpoint_dir
        self.precision = precision

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
        return _Adapter(net), self.n_features


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
        return _Adapter(net), self.n_features


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
        return _Adapter(net), net.n_out


class _Adapter(nn.Module):
    """Calls a :mod:`molfit.nn` representation with ``(numbers, neighbour list)``; returns the
    per-atom scalar features ``(n_atoms, n_features)``."""

    def __init__(self, net: nn.Module) -> None:
        super().__init__()
        self.net = net

    def forward(self, numbers: Tensor, nl: Any) -> Tensor:
        out = self.net(numbers, nl)
        return out[0] if isinstance(out, tuple) else out


for _cls in (SchNetModel, PaiNNModel, DimeNetPPModel):
    _cls.__doc__ = (_cls.__doc__ or "") + _TRAINING_DOC

register_model("schnet", SchNetModel)
register_model("painn", PaiNNModel)
register_model("dimenet++", DimeNetPPModel)
