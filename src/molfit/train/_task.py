"""Training atomistic models on any set of named outputs: energy, forces, stress, other targets.

A task is a list of :class:`Output` s, each naming a key the model returns (``"energy"``,
``"forces"``, ``"stress"``, ``"targets"``; :mod:`molfit.keys`) and the label of the same name, with
a loss, a weight and the metrics to report. :class:`AtomisticTask` trains an
:class:`~molfit.nn.atomistic.AtomisticModel` on their weighted sum

    L = Σ_k w_k · mean_{labelled entries} loss_k(pred_k - label_k)

where missing labels (``NaN``) are left out of their own term only, so frames with energies but no
forces still teach the energy. ``per_atom=True`` divides a per-structure error by the structure's
atom count (energy per atom), the usual normalisation when training on energies and forces
together. Forces are the model's ``-dE/dr``: the force loss backpropagates through the
derivative (double backward). :class:`TrainingConfig` holds how long and how fast to train, apart
from the architecture; where it runs is :class:`molfit.train.Runtime`'s, given at fit time.

Batches are ``(Batch3D, labels)`` with ``labels`` a dict of float64 tensors: per-structure
``(n, ...)`` and per-atom ``(n_atoms, ...)`` (:func:`make_structure_loader`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from functools import partial
from typing import Any

import numpy as np
import torch
from torch import Tensor
from torch.utils.data import DataLoader

from molfit.keys import FORCES, STRESS, TARGETS
from molfit.train._losses import task_metrics
from molfit.train._protocol import Gather, TrainableModule

PER_ATOM_KEYS = frozenset({FORCES})  #: outputs with one row per atom
OUTPUT_LOSSES = ("mse", "mae", "huber")
OUTPUT_METRICS = ("mae", "rmse")


@dataclass(frozen=True)
class Output:
    """One trained output of a task.

    Attributes:
        name: the key in the model's output dict and in the labels (``"energy"``, ``"forces"``,
            ``"stress"``, ``"targets"``).
        loss: ``"mse"``, ``"mae"`` or ``"huber"`` (δ = 1 in label units), on labelled entries.
        weight: its weight in the total loss (0: reported, not trained).
        per_atom: divide each structure's error by its atom count (per-structure outputs only).
        metrics: validation metrics logged as ``val_{name}_{metric}`` (``"mae"``, ``"rmse"``).
    """

    name: str
    loss: str = "mse"
    weight: float = 1.0
    per_atom: bool = False
    metrics: tuple[str, ...] = OUTPUT_METRICS

    def __post_init__(self) -> None:
        if self.loss not in OUTPUT_LOSSES:
            raise ValueError(
                f"loss of {self.name!r} must be one of {OUTPUT_LOSSES}, not {self.loss!r}"
            )
        if self.weight < 0:
            raise ValueError(f"weight of {self.name!r} must be >= 0, got {self.weight}")
        if self.per_atom and self.name in PER_ATOM_KEYS:
            raise ValueError(
                f"{self.name!r} is already per atom; per_atom is for per-structure outputs"
            )
        bad = set(self.metrics) - set(OUTPUT_METRICS)
        if bad:
            raise ValueError(f"unknown metrics {sorted(bad)}; choose from {OUTPUT_METRICS}")


@dataclass(frozen=True)
class TrainingConfig:
    """How a deep model is trained (not what it is, nor where it runs).

    Attributes:
        epochs: upper bound on epochs.
        batch_size: structures (or molecules) per batch.
        lr: peak learning rate (Adam).
        warmup_epochs, lr_ratio: linear warm-up from ``lr * lr_ratio`` to ``lr`` over
            ``warmup_epochs``, then exponential decay to ``lr * lr_ratio`` at the last step.
        patience: epochs without validation improvement before stopping (``None``: never).
        val_fraction: seeded share of the rows held out for early stopping when no validation
            set is given.
        ensemble: independently seeded members (``seed + i``).
        seed: base seed.
        precision: ``"32"`` or ``"bf16-mixed"``.
        deterministic: deterministic torch algorithms.
    """

    epochs: int = 100
    batch_size: int = 100
    lr: float = 5e-4
    warmup_epochs: float = 1.0
    lr_ratio: float = 0.1
    patience: int | None = 20
    val_fraction: float = 0.1
    ensemble: int = 1
    seed: int = 0
    precision: str = "32"
    deterministic: bool = True

    @classmethod
    def from_params(cls, params: Mapping[str, Any]) -> TrainingConfig:
        """The config from an estimator's flat parameters (unknown names are ignored)."""
        names = cls.__dataclass_fields__
        return cls(**{k: v for k, v in params.items() if k in names})


def _elementwise(kind: str, err: Tensor) -> Tensor:
    if kind == "mse":
        return err * err
    if kind == "mae":
        return err.abs()
    return torch.nn.functional.huber_loss(err, torch.zeros_like(err), reduction="none", delta=1.0)


def output_loss(
    output: Output, pred: Tensor, label: Tensor, n_atoms: Tensor | None = None
) -> Tensor:
    """Mean loss of one output over the labelled (non-``NaN``) entries of ``label``.

    ``pred`` and ``label`` have the same shape; ``n_atoms`` ``(n,)`` divides per-structure errors
    when ``output.per_atom``. A batch without labels gives a zero connected to the graph.
    """
    label = label.to(pred.dtype)
    mask = ~torch.isnan(label)
    err = pred - torch.where(mask, label, torch.zeros_like(label))
    if output.per_atom and n_atoms is not None:
        shape = (-1,) + (1,) * (err.dim() - 1)
        err = err / n_atoms.to(err.dtype).reshape(shape)
    per = torch.where(mask, _elementwise(output.loss, err), torch.zeros_like(err))
    return per.sum() / mask.sum().clamp(min=1)


class AtomisticTask(TrainableModule):
    """Train an :class:`~molfit.nn.atomistic.AtomisticModel` on weighted named outputs.

    Args:
        model: returns a dict with every output's name (``model(batch, compute_forces=...,
            compute_stress=...)``).
        outputs: the trained outputs (at least one with a positive weight).
        lr, warmup_epochs, lr_ratio, weight_decay: see :func:`configure_warmup_decay`.

    The validation loss ``val_loss`` is the same weighted sum (best weights and early stopping
    follow it); each output also logs ``val_{name}_{metric}`` in label units, and a ``targets``
    output logs ``val_mae``/``val_rmse``/``val_r2`` averaged over tasks (as
    :class:`~molfit.train.PredictorModule`).
    """

    def __init__(
        self,
        model: torch.nn.Module,
        outputs: Sequence[Output],
        lr: float = 5e-4,
        warmup_epochs: float = 1.0,
        lr_ratio: float = 0.1,
        weight_decay: float = 0.0,
    ) -> None:
        super().__init__()
        if not outputs or not any(o.weight > 0 for o in outputs):
            raise ValueError("a task needs at least one output with a positive weight")
        names = [o.name for o in outputs]
        if len(set(names)) != len(names):
            raise ValueError(f"output names repeat: {names}")
        self.model = model
        self.outputs = tuple(outputs)
        self.lr, self.warmup_epochs, self.lr_ratio = lr, warmup_epochs, lr_ratio
        self.weight_decay = weight_decay
        self._val: dict[str, list[tuple[Tensor, Tensor]]] = {}

    @property
    def output_names(self) -> list[str]:
        return [o.name for o in self.outputs]

    def forward(self, batch: Any) -> dict[str, Tensor]:
        names = set(self.output_names)
        return self.model(batch, compute_forces=FORCES in names, compute_stress=STRESS in names)

    def _loss(self, pred: dict[str, Tensor], labels: dict[str, Tensor], batch: Any) -> Tensor:
        total = None
        for output in self.outputs:
            if output.weight == 0 or output.name not in labels:
                continue
            term = output.weight * output_loss(
                output, pred[output.name], labels[output.name], batch.n_atoms
            )
            total = term if total is None else total + term
        if total is None:  # no labels of any trained output: a zero connected to the graph
            total = sum(p.sum() * 0.0 for p in pred.values())
        return total

    def training_loss(self, batch: tuple[Any, dict[str, Tensor]]) -> tuple[Tensor, int]:
        structures, labels = batch
        return self._loss(self(structures), labels, structures), int(structures.n_structures)

    def validation_loss(self, batch: tuple[Any, dict[str, Tensor]]) -> tuple[Tensor, int]:
        structures, labels = batch
        with torch.enable_grad():  # forces are derivatives, also when validating
            pred = self(structures)
        loss = self._loss(pred, labels, structures).detach()
        for output in self.outputs:
            if output.name in labels:
                p = pred[output.name].detach().double().cpu()
                self._val.setdefault(output.name, []).append((p, labels[output.name].cpu()))
        return loss, int(structures.n_structures)

    def validation_metrics(self, gather: Gather | None = None) -> dict[str, float]:
        metrics: dict[str, float] = {}
        for name, pairs in self._val.items():
            p_t = torch.cat([a for a, _ in pairs])
            y_t = torch.cat([b for _, b in pairs]).double()
            if gather is not None:
                p_t, y_t = gather(p_t), gather(y_t)
            p, y = p_t.numpy(), y_t.numpy()
            mask = ~np.isnan(y)
            if not mask.any():
                continue
            err = (p - np.where(mask, y, 0.0))[mask]
            output = next(o for o in self.outputs if o.name == name)
            if "mae" in output.metrics:
                metrics[f"val_{name}_mae"] = float(np.abs(err).mean())
            if "rmse" in output.metrics:
                metrics[f"val_{name}_rmse"] = float(np.sqrt((err**2).mean()))
            if name == TARGETS:
                for key, value in task_metrics(p, y, "regression").items():
                    metrics[f"val_{key}"] = value
        self._val = {}
        return metrics


class StructureCollate:
    """Dataset indices -> ``(Batch3D, labels)`` (picklable, for DDP spawn)."""

    def __init__(
        self,
        items: Sequence[Any],
        per_structure: Mapping[str, np.ndarray],
        per_atom: Mapping[str, np.ndarray],
        collate: Callable[[list[Any]], Any],
    ) -> None:
        self.items = list(items)
        self.per_structure = {k: np.asarray(v, dtype=np.float64) for k, v in per_structure.items()}
        counts = np.array([len(it) for it in self.items], dtype=np.int64)
        self.offsets = np.concatenate([[0], np.cumsum(counts)])
        self.per_atom = {k: np.asarray(v, dtype=np.float64) for k, v in per_atom.items()}
        for key, value in self.per_structure.items():
            if len(value) != len(self.items):
                raise ValueError(f"{key} has {len(value)} rows for {len(self.items)} structures")
        for key, value in self.per_atom.items():
            if len(value) != self.offsets[-1]:
                raise ValueError(f"{key} has {len(value)} rows for {self.offsets[-1]} atoms")
        self.collate = collate

    def __call__(self, indices: list[int]) -> tuple[Any, dict[str, Tensor]]:
        idx = np.asarray(indices, dtype=np.int64)
        batch = self.collate([self.items[i] for i in idx])
        labels = {k: torch.from_numpy(v[idx]) for k, v in self.per_structure.items()}
        if self.per_atom:
            atoms = np.concatenate(
                [np.arange(self.offsets[i], self.offsets[i + 1]) for i in idx]
            ).astype(np.int64)
            labels.update({k: torch.from_numpy(v[atoms]) for k, v in self.per_atom.items()})
        return batch, labels


def make_structure_loader(
    items: Sequence[Any],
    labels: Mapping[str, np.ndarray] | None = None,
    *,
    batch_size: int = 100,
    shuffle: bool = False,
    seed: int = 0,
    dtype: torch.dtype = torch.float32,
    max_pairs: int | None = None,
) -> DataLoader:
    """Batches ``(Batch3D, labels)`` of :class:`~molfit.structures.StructureItem` s.

    Args:
        items: structures with their neighbour pairs.
        labels: float arrays keyed by output name, ``NaN`` for missing: per structure
            (``energy (n,)`` eV, ``stress (n, 3, 3)`` eV/Å^3, ``targets (n, n_tasks)``) or per
            atom (``forces (n_atoms_total, 3)`` eV/Å, atoms in item order). Kept float64.
        batch_size, shuffle, seed: as :func:`molfit.train.make_loader` (seeded shuffling).
        dtype: of positions and cells in the batches.
        max_pairs: also close a batch before its neighbour pairs would exceed this many (a
            structure with more pairs is a batch of its own); in input order, so not with
            ``shuffle``. Keeps a batch's pair tensors in cache when predicting crystals.

    Raises:
        ValueError: ``max_pairs`` together with ``shuffle``.
    """
    from molfit.structures import collate_structures

    labels = dict(labels or {})
    per_atom = {k: v for k, v in labels.items() if k in PER_ATOM_KEYS}
    per_structure = {k: v for k, v in labels.items() if k not in PER_ATOM_KEYS}
    collate = StructureCollate(
        items, per_structure, per_atom, partial(collate_structures, dtype=dtype)
    )
    if max_pairs is not None:
        if shuffle:
            raise ValueError("max_pairs batches keep the input order: not with shuffle=True")
        return DataLoader(
            range(len(items)),
            batch_sampler=pair_budget_batches(
                [len(item.pair_i) for item in items], batch_size, max_pairs
            ),
            collate_fn=collate,
        )
    generator = torch.Generator().manual_seed(seed) if shuffle else None
    return DataLoader(
        range(len(items)),
        batch_size=batch_size,
        shuffle=shuffle,
        collate_fn=collate,
        generator=generator,
    )


def pair_budget_batches(
    n_pairs: Sequence[int], max_structures: int, max_pairs: int
) -> list[list[int]]:
    """Consecutive index batches of at most ``max_structures`` structures and ``max_pairs``
    neighbour pairs (``n_pairs`` per structure); a structure above ``max_pairs`` alone."""
    batches: list[list[int]] = []
    current: list[int] = []
    total = 0
    for i, n in enumerate(n_pairs):
        if current and (len(current) >= max_structures or total + n > max_pairs):
            batches.append(current)
            current, total = [], 0
        current.append(i)
        total += int(n)
    if current:
        batches.append(current)
    return batches
