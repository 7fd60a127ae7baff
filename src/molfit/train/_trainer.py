"""The trainer factory every deep model uses: early stopping, best weights, seeds, devices.

:func:`make_trainer` builds a :class:`lightning.Trainer` with molfit's defaults: early stopping on
the validation loss, the best weights kept (restored at the end of training and, with a
``checkpoint_dir``, written as ``best.safetensors``), a progress bar, deterministic algorithms, and
``accelerator`` / ``devices`` / ``num_nodes`` / ``strategy`` passed straight to Lightning, so the
same code trains on a laptop CPU or with DDP across machines.
"""

from __future__ import annotations

import copy
import logging
import os
import warnings
from pathlib import Path
from typing import Any

import lightning as L
import torch
from lightning.fabric.plugins import CheckpointIO
from lightning.pytorch.callbacks import Callback, EarlyStopping, TQDMProgressBar
from safetensors.torch import load_file, save_file

BEST_WEIGHTS_FILE = "best.safetensors"


def seed_everything(seed: int) -> None:
    """Seed Python, NumPy and torch (and data-loader workers) for a reproducible run."""
    L.seed_everything(seed, workers=True, verbose=False)


class SafetensorsCheckpointIO(CheckpointIO):
    """Lightning checkpoint I/O for plain state dicts, as safetensors (no pickle, no torch.load).

    Lightning uses it to hand the trained weights from DDP-spawn workers back to the main
    process; molfit never writes full Lightning checkpoints (``enable_checkpointing=False``).
    """

    def save_checkpoint(
        self, checkpoint: dict[str, Any], path: Any, storage_options: Any = None
    ) -> None:
        bad = [k for k, v in checkpoint.items() if not isinstance(v, torch.Tensor)]
        if bad:
            raise ValueError(f"only tensors can be saved as safetensors; got non-tensors {bad[:5]}")
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        save_file({k: v.detach().cpu().contiguous() for k, v in checkpoint.items()}, str(path))

    def load_checkpoint(
        self, path: Any, map_location: Any = None, weights_only: bool | None = None
    ) -> dict[str, Any]:
        return load_file(str(path))

    def remove_checkpoint(self, path: Any) -> None:
        Path(path).unlink(missing_ok=True)


class BestWeights(Callback):
    """Keep the weights with the lowest ``monitor`` value; restore them when training ends.

    With ``dirpath``, rank 0 also writes them to ``dirpath/best.safetensors`` each time they
    improve (plain tensors, safe to load). Under DDP the monitored value is synchronised across
    ranks, so every rank keeps and restores the same weights.
    """

    def __init__(self, monitor: str = "val_loss", dirpath: str | Path | None = None) -> None:
        self.monitor = monitor
        self.dirpath = None if dirpath is None else Path(dirpath)
        self.best_score: float = float("inf")
        self.best_epoch: int = -1
        self._best_state: dict[str, torch.Tensor] | None = None

    @property
    def best_path(self) -> Path | None:
        """Where the best weights are written (``None`` without ``dirpath``)."""
        return None if self.dirpath is None else self.dirpath / BEST_WEIGHTS_FILE

    def on_validation_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        if trainer.sanity_checking:
            return
        value = trainer.callback_metrics.get(self.monitor)
        if value is None:
            return
        score = float(value)
        if score < self.best_score:
            self.best_score = score
            self.best_epoch = int(trainer.current_epoch)
            self._best_state = {
                k: v.detach().cpu().clone() for k, v in pl_module.state_dict().items()
            }
            if self.dirpath is not None and trainer.is_global_zero:
                self.dirpath.mkdir(parents=True, exist_ok=True)
                save_file(
                    {k: v.contiguous() for k, v in self._best_state.items()}, str(self.best_path)
                )

    def on_train_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        if self._best_state is not None:
            pl_module.load_state_dict(copy.deepcopy(self._best_state))

    def state_dict(self) -> dict[str, Any]:
        return {"best_score": self.best_score, "best_epoch": self.best_epoch}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        self.best_score = state_dict["best_score"]
        self.best_epoch = state_dict["best_epoch"]


class StderrProgressBar(TQDMProgressBar):
    """Lightning's tqdm progress bar on stderr (Lightning writes to stdout, which mixes the bar
    into output a user pipes to a file: ``molfit train ... > log.txt``)."""

    def _on_stderr(self, make: Any) -> Any:
        import contextlib
        import sys

        with contextlib.redirect_stdout(sys.stderr):  # Lightning passes file=sys.stdout
            return make()

    def init_sanity_tqdm(self) -> Any:
        return self._on_stderr(super().init_sanity_tqdm)

    def init_train_tqdm(self) -> Any:
        return self._on_stderr(super().init_train_tqdm)

    def init_predict_tqdm(self) -> Any:
        return self._on_stderr(super().init_predict_tqdm)

    def init_validation_tqdm(self) -> Any:
        return self._on_stderr(super().init_validation_tqdm)

    def init_test_tqdm(self) -> Any:
        return self._on_stderr(super().init_test_tqdm)


def make_trainer(
    *,
    max_epochs: int = 50,
    patience: int | None = 10,
    monitor: str = "val_loss",
    checkpoint_dir: str | Path | None = None,
    progress_bar: bool = True,
    deterministic: bool | str = True,
    accelerator: str = "cpu",
    devices: int | str | list[int] = 1,
    num_nodes: int = 1,
    strategy: Any = "auto",
    log_dir: str | Path | None = None,
    gradient_clip_val: float | None = None,
    extra_callbacks: list[Callback] | None = None,
    precision: str = "32",
    inference_mode: bool = True,
) -> L.Trainer:
    """A Lightning trainer with molfit's defaults.

    Args:
        max_epochs: upper bound on epochs.
        patience: epochs without improvement of ``monitor`` before stopping (``None``: never).
        monitor: validation metric to minimise (logged by :class:`PredictorModule`).
        checkpoint_dir: where ``best.safetensors`` is written (``None``: kept in memory only).
        progress_bar: show a progress bar.
        deterministic: ``torch.use_deterministic_algorithms`` (``True``, ``False`` or ``"warn"``).
        accelerator, devices, num_nodes, strategy: passed to :class:`lightning.Trainer`
            (e.g. ``strategy="ddp"``, ``devices=4``, ``num_nodes=2``).
        log_dir: write per-epoch metrics to ``log_dir/metrics.csv`` (``None``: no logger).
        gradient_clip_val: clip gradient norm (``None``: no clipping).
        precision: Lightning's ``precision``: ``"32"`` or ``"bf16-mixed"`` (autocast to
            bfloat16 around the forward pass; weights and optimizer stay float32).
        inference_mode: validate under ``torch.inference_mode`` (``False`` for models whose
            outputs are derivatives, such as forces: validation then needs autograd).
    """
    best = BestWeights(monitor, checkpoint_dir)
    callbacks: list[Callback] = [best]
    if patience is not None:
        callbacks.append(EarlyStopping(monitor=monitor, patience=patience, mode="min"))
    if progress_bar:
        callbacks.append(StderrProgressBar(leave=False))
    callbacks.extend(extra_callbacks or [])
    logger: Any = False
    if log_dir is not None:
        from lightning.pytorch.loggers import CSVLogger

        logger = CSVLogger(str(log_dir), name="", version="")
    _quiet_lightning()
    if "spawn" in str(strategy):
        # Spawned workers receive the model through shared memory; the default file-descriptor
        # strategy fails where /dev/shm cannot be resized (containers), named files do not.
        torch.multiprocessing.set_sharing_strategy("file_system")
    return L.Trainer(
        max_epochs=max_epochs,
        accelerator=accelerator,
        devices=devices,
        num_nodes=num_nodes,
        strategy=strategy,
        deterministic=deterministic,
        callbacks=callbacks,
        logger=logger,
        enable_checkpointing=False,  # BestWeights keeps the best weights, as safetensors
        enable_progress_bar=progress_bar,
        enable_model_summary=False,
        num_sanity_val_steps=0,
        gradient_clip_val=gradient_clip_val,
        precision=precision,
        log_every_n_steps=1,
        plugins=[SafetensorsCheckpointIO()],
        inference_mode=inference_mode,
    )


def best_weights(trainer: L.Trainer) -> BestWeights:
    """The :class:`BestWeights` callback of a trainer made by :func:`make_trainer`."""
    for cb in trainer.callbacks:
        if isinstance(cb, BestWeights):
            return cb
    raise ValueError("this trainer has no BestWeights callback")


def _quiet_lightning() -> None:
    """Silence Lightning's tips (GPU available, num_workers, log intervals) on every fit."""
    os.environ.setdefault("POSSIBLE_USER_WARNING", "off")
    for name in ("lightning.pytorch", "lightning.fabric", "lightning"):
        logging.getLogger(name).setLevel(logging.ERROR)
    for pattern in (
        ".*does not have many workers.*",
        ".*GPU available but not used.*",
        ".*The number of training batches.*",
        ".*LeafSpec.*",
        ".*but have no `val_dataloader`.*",
        ".*sync_dist=True.*when logging on epoch level.*",
    ):
        warnings.filterwarnings("ignore", message=pattern)
