"""Training deep models: the modules, data loaders and the engines that fit them.

:class:`PredictorModule` trains ``(n, n_tasks)`` predictors (D-MPNN, GCN); :class:`AtomisticTask`
trains an atomistic model on a list of :class:`Output` s (energy + forces + stress...).
:func:`fit_module` fits either: molfit's own torch loop on one device, Lightning across devices
and machines (:func:`make_trainer`, :class:`LightningTask`, :class:`BestWeights`; imported on
first use, since Lightning's import alone costs seconds). :class:`TrainingConfig` says how long
and how fast, :class:`Runtime` where (given at fit time).
"""

from typing import Any

from molfit.train._data import ItemDataset, make_loader
from molfit.train._engine import (
    ENGINES,
    autocast_for,
    choose_engine,
    fit_module,
    seed_everything,
)
from molfit.train._losses import LOSSES, default_loss, masked_loss, task_metrics
from molfit.train._module import PredictorModule, predict_batches
from molfit.train._optim import Adam, StepSchedule, WarmupDecay, configure_warmup_decay
from molfit.train._protocol import BEST_WEIGHTS_FILE, FitResult, TrainableModule
from molfit.train._runtime import Runtime, global_rank
from molfit.train._task import (
    AtomisticTask,
    Output,
    TrainingConfig,
    make_structure_loader,
    output_loss,
)

_LIGHTNING = ("BestWeights", "LightningTask", "best_weights", "make_trainer")


def __getattr__(name: str) -> Any:
    """The Lightning engine's names, imported (with Lightning) only when asked for."""
    if name in _LIGHTNING:
        from molfit.train import _lightning

        return getattr(_lightning, name)
    raise AttributeError(f"module 'molfit.train' has no attribute {name!r}")


__all__ = [
    "BEST_WEIGHTS_FILE",
    "ENGINES",
    "LOSSES",
    "Adam",
    "AtomisticTask",
    "BestWeights",
    "FitResult",
    "ItemDataset",
    "LightningTask",
    "Output",
    "PredictorModule",
    "Runtime",
    "StepSchedule",
    "TrainableModule",
    "TrainingConfig",
    "WarmupDecay",
    "autocast_for",
    "best_weights",
    "choose_engine",
    "configure_warmup_decay",
    "default_loss",
    "fit_module",
    "global_rank",
    "make_loader",
    "make_structure_loader",
    "make_trainer",
    "masked_loss",
    "output_loss",
    "predict_batches",
    "seed_everything",
    "task_metrics",
]
