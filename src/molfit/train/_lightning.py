"""The Lightning engine: the same modules trained across devices and machines (DDP...).

Imported only when a fit needs it (:func:`molfit.train.fit_module` with several devices, nodes or
a strategy, or ``engine="lightning"``): Lightning's import costs about 4 s of CPU.
:class:`LightningTask` wraps any :class:`~molfit.train.TrainableModule`; :func:`make_trainer`
builds a :class:`lightning.Trainer` with molfit's defaults (early stopping on the validation
loss, the best weights kept and written as ``best.safetensors``, a progress bar on stderr,
deterministic algorithms); ``accelerator`` / ``devices`` / ``num_nodes`` / ``strategy`` go
straight to Lightning.
"""

from __future__ import annotations

import contextlib
import copy
import logging
import os
import sys
import warnings
from pathlib import Path
from typing import Any

import lightning as L
import torch
from lightning.fabric.plugins import CheckpointIO
from lightning.pytorch.callbacks import Callback, EarlyStopping, TQDMProgressBar
from safetensors.torch import load_file, save_file

from molfit.train._protocol import BEST_WEIGHTS_FILE, FitResult, TrainableModule


class LightningTask(L.LightningModule):
    """A :class:`~molfit.train.TrainableModule` as a LightningModule (attribute ``task``)."""

    def __init__(self, task: TrainableModule) -> None:
        super().__init__()
        self.task = task

    def forward(self, *inputs: Any) -> Any:
        return self.task(*inputs)

    def training_step(self, batch: Any, batch_idx: int) -> torch.Tensor:
        loss, n = self.task.training_loss(batch)
        self.log("train_loss", loss, prog_bar=True, batch_size=n, on_epoch=True)
        return loss

    def validation_step(self, batch: Any, batch_idx: int) -> None:
        loss, n = self.task.validation_loss(batch)
        self.log("val_loss", loss.detach(), prog_bar=True, batch_size=n, sync_dist=True)

    def on_validation_epoch_end(self) -> None:
        gather = self._gather_rows if self.trainer.world_size > 1 else None
        for name, value in self.task.validation_metrics(gather).items():
            self.log(name, value)

    def _gather_rows(self, rows: torch.Tensor) -> torch.Tensor:
        """All ranks' ``rows`` (``(n_rank, ...)``, any ``n_rank``), concatenated in rank order."""
        device = self.device
        n = torch.tensor([len(rows)], device=device)
        counts = self.all_gather(n).reshape(-1).cpu()
        padded = rows.new_full((int(counts.max()), *rows.shape[1:]), float("nan"))
        padded[: len(rows)] = rows
        gathered = self.all_gather(padded.to(device)).cpu()  # (world, max_rows, ...)
        return torch.cat([gathered[r, : int(c)] for r, c in enumerate(counts)])

    def configure_optimizers(self) -> Any:
        total = max(1, int(self.trainer.estimated_stepping_batches))
        optimizer, scheduler = self.task.make_optimizer(total, int(self.trainer.max_epochs or 1))
        if scheduler is None:
            return optimizer
        return {
            "optimizer": optimizer,
            "lr_scheduler": {"scheduler": scheduler, "interval": "step"},
        }


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


def _inner(pl_module: L.LightningModule) -> torch.nn.Module:
    return pl_module.task if isinstance(pl_module, LightningTask) else pl_module


class BestWeights(Callback):
    """Keep the weights with the lowest ``monitor`` value; restore them when training ends.

    With ``dirpath``, rank 0 also writes them to ``dirpath/best.safetensors`` each time they
    improve (the wrapped module's own keys, as the torch engine writes them). Under DDP the
    monitored value is synchronised across ranks, so every rank keeps the same weights.
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
            state = _inner(pl_module).state_dict()
            self._best_state = {k: v.detach().cpu().clone() for k, v in state.items()}
            if self.dirpath is not None and trainer.is_global_zero:
                self.dirpath.mkdir(parents=True, exist_ok=True)
                save_file(
                    {k: v.contiguous() for k, v in self._best_state.items()}, str(self.best_path)
                )

    def on_train_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        if self._best_state is not None:
            _inner(pl_module).load_state_dict(copy.deepcopy(self._best_state))

    def state_dict(self) -> dict[str, Any]:
        return {"best_score": self.best_score, "best_epoch": self.best_epoch}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        self.best_score = state_dict["best_score"]
        self.best_epoch = state_dict["best_epoch"]


class CloseProcessGroup(Callback):
    """End a spawned DDP worker's process group together with its peers, once fitting is done.

    Left to the interpreter's exit, each spawned rank tears down gloo on its own schedule; a rank
    that exits while a peer's connection threads are still running can abort with
    ``terminate called without an active exception`` (SIGABRT), which fails the whole fit.
    Every rank waits for the others (a barrier), then destroys its group. Callbacks' ``teardown``
    runs after the strategy's, so nothing collective follows it in the worker.
    """

    def teardown(self, trainer: L.Trainer, pl_module: L.LightningModule, stage: str) -> None:
        dist = torch.distributed
        if dist.is_available() and dist.is_initialized():
            dist.barrier()
            dist.destroy_process_group()


class StderrProgressBar(TQDMProgressBar):
    """Lightning's tqdm progress bar on stderr (Lightning writes to stdout, which mixes the bar
    into output a user pipes to a file: ``molfit train ... > log.txt``)."""

    def _on_stderr(self, make: Any) -> Any:
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
    """A Lightning trainer with molfit's defaults, for a :class:`LightningTask`.

    Args:
        max_epochs: upper bound on epochs.
        patience: epochs without improvement of ``monitor`` before stopping (``None``: never).
        monitor: validation metric to minimise.
        checkpoint_dir: where ``best.safetensors`` is written (``None``: kept in memory only).
        progress_bar: show a progress bar (on stderr).
        deterministic: ``torch.use_deterministic_algorithms`` (``True``, ``False`` or ``"warn"``).
        accelerator, devices, num_nodes, strategy: passed to :class:`lightning.Trainer`
            (e.g. ``strategy="ddp"``, ``devices=4``, ``num_nodes=2``).
        log_dir: write per-epoch metrics to ``log_dir/metrics.csv`` (``None``: no logger).
        gradient_clip_val: clip gradient norm (``None``: no clipping).
        precision: Lightning's ``precision``: ``"32"`` or ``"bf16-mixed"``.
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
        callbacks.append(CloseProcessGroup())
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


def fit_lightning(
    module: TrainableModule, train_loader: Any, val_loader: Any = None, **trainer_kw: Any
) -> FitResult:
    """Train ``module`` with a :func:`make_trainer` trainer; the weights end in ``module``."""
    if val_loader is None:
        trainer_kw["patience"] = None
    trainer = make_trainer(**trainer_kw)
    trainer.fit(LightningTask(module), train_loader, val_loader)
    best = best_weights(trainer)
    metrics = {k: float(v) for k, v in trainer.callback_metrics.items() if v.numel() == 1}
    return FitResult(
        epochs_run=int(trainer.current_epoch),
        best_epoch=best.best_epoch,
        best_score=None if best.best_epoch < 0 else best.best_score,
        metrics=metrics,
        engine="lightning",
        world_size=int(trainer.world_size),
    )


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
