"""Training deep models: the one Lightning module, data loaders and trainer factory molfit uses."""

from molfit.train._data import ItemDataset, make_loader
from molfit.train._losses import LOSSES, default_loss, masked_loss, task_metrics
from molfit.train._module import PredictorModule, predict_batches
from molfit.train._runtime import Runtime, global_rank
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
    "BestWeights",
    "ItemDataset",
    "PredictorModule",
    "Runtime",
    "best_weights",
    "default_loss",
    "global_rank",
    "make_loader",
    "make_trainer",
    "masked_loss",
    "predict_batches",
    "seed_everything",
    "task_metrics",
]
