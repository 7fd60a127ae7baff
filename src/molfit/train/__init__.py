"""Training deep models: Lightning modules, data loaders and the trainer factory molfit uses.

:class:`PredictorModule` trains ``(n, n_tasks)`` predictors (D-MPNN, GCN); :class:`AtomisticTask`
trains an atomistic model on a list of :class:`Output` s (energy + forces + stress...).
:class:`TrainingConfig` says how long and how fast, :class:`Runtime` where (given at fit time).
"""

from molfit.train._data import ItemDataset, make_loader
from molfit.train._losses import LOSSES, default_loss, masked_loss, task_metrics
from molfit.train._module import PredictorModule, predict_batches
from molfit.train._runtime import Runtime, global_rank
from molfit.train._task import (
    AtomisticTask,
    Output,
    TrainingConfig,
    configure_warmup_decay,
    make_structure_loader,
    output_loss,
)
from molfit.train._trainer import (
    BEST_WEIGHTS_FILE,
    BestWeights,
    best_weights,
    make_trainer,
    seed_everything,
)

__all__ = [
    "BEST_WEIGHTS_FILE",
    "LOSSES",
    "AtomisticTask",
    "BestWeights",
    "ItemDataset",
    "Output",
    "PredictorModule",
    "Runtime",
    "TrainingConfig",
    "best_weights",
    "configure_warmup_decay",
    "default_loss",
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
