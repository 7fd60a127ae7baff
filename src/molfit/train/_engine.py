"""How a module is fitted: molfit's own torch loop on one device, Lightning for several.

:func:`fit_module` trains any :class:`TrainableModule` (:class:`~molfit.train.PredictorModule`,
:class:`~molfit.train.AtomisticTask`) and returns a :class:`FitResult`. On one device (a CPU, or
one GPU) it runs a plain torch loop: no Lightning import, which is most of the start-up of a
small training job (``import lightning`` alone costs about 4 s of CPU, twice ``import torch``).
On several devices or nodes, or with a strategy such as DDP, it hands the same module to
Lightning (:mod:`molfit.train._lightning`). Both engines do the same things in the same order —
seeded batch order, Adam with the warm-up/decay schedule stepped per batch, gradient clipping,
validation after every epoch, early stopping on ``val_loss``, the best weights kept and restored
— so a one-device fit gives the same weights with either (``tests/train`` checks it).
"""

from __future__ import annotations

import contextlib
import copy
import math
import os
import random
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from molfit.train._protocol import BEST_WEIGHTS_FILE, FitResult, TrainableModule

ENGINES = ("auto", "torch", "lightning")
TORCH_PRECISIONS = ("32", "32-true", "bf16-mixed")


def seed_everything(seed: int) -> None:
    """Seed Python, NumPy and torch (CPU and CUDA) for a reproducible run.

    Also sets the variables Lightning's launchers read (``PL_GLOBAL_SEED``,
    ``PL_SEED_WORKERS``), so processes a distributed fit spawns are seeded the same way.
    """
    seed = int(seed)
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)
    os.environ["PL_GLOBAL_SEED"] = str(seed)
    os.environ["PL_SEED_WORKERS"] = "1"


def _n_devices(devices: Any) -> int | None:
    if isinstance(devices, list | tuple):
        return len(devices)
    if isinstance(devices, int):
        return devices
    if isinstance(devices, str) and devices.strip().lstrip("-").isdigit():
        return int(devices)
    return None  # "auto": Lightning decides


def choose_engine(
    engine: str = "auto",
    *,
    accelerator: str = "cpu",
    devices: Any = 1,
    num_nodes: int = 1,
    strategy: Any = "auto",
    precision: str = "32",
) -> str:
    """``"torch"`` when one process on one device can do it, else ``"lightning"``.

    ``engine="torch"`` insists on the torch loop (an error when the settings need Lightning);
    ``"lightning"`` always uses Lightning.
    """
    if engine not in ENGINES:
        raise ValueError(f"engine must be one of {ENGINES}, got {engine!r}")
    if engine == "lightning":
        return engine
    reasons = []
    n = _n_devices(devices)
    if accelerator not in ("cpu", "gpu", "cuda", "auto"):
        reasons.append(f"accelerator={accelerator!r}")
    if n != 1 and not (n is None and accelerator == "cpu"):
        reasons.append(f"devices={devices!r}")
    if int(num_nodes) != 1:
        reasons.append(f"num_nodes={num_nodes}")
    if not (strategy in (None, "auto") or str(strategy) == "single_device"):
        reasons.append(f"strategy={strategy!r}")
    if str(precision) not in TORCH_PRECISIONS:
        reasons.append(f"precision={precision!r}")
    if not reasons:
        return "torch"
    if engine == "torch":
        raise ValueError(
            f"the torch engine trains on one device; {', '.join(reasons)} needs "
            "engine='lightning' (or 'auto')"
        )
    return "lightning"


def fit_module(
    module: TrainableModule,
    train_loader: Any,
    val_loader: Any = None,
    *,
    max_epochs: int = 50,
    patience: int | None = 10,
    checkpoint_dir: str | Path | None = None,
    progress_bar: bool = True,
    deterministic: bool | str = True,
    precision: str = "32",
    gradient_clip_val: float | None = None,
    inference_mode: bool = True,
    accelerator: str = "cpu",
    devices: Any = 1,
    num_nodes: int = 1,
    strategy: Any = "auto",
    engine: str = "auto",
) -> FitResult:
    """Train ``module`` on ``train_loader``, validating on ``val_loader`` after every epoch.

    Args:
        module: the module to train (its weights end as the best validation epoch's).
        train_loader, val_loader: iterables of batches (``val_loader=None``: no validation, no
            early stopping, the last weights are kept).
        max_epochs: upper bound on epochs.
        patience: epochs without a lower ``val_loss`` before stopping (``None``: never).
        checkpoint_dir: where the best weights are written as ``best.safetensors`` each time
            they improve (``None``: kept in memory only).
        progress_bar: a progress bar on stderr.
        deterministic: ``torch.use_deterministic_algorithms`` during the fit (``"warn"``: warn
            only).
        precision: ``"32"`` or ``"bf16-mixed"`` (autocast to bfloat16 around forward passes;
            weights and optimizer stay float32).
        gradient_clip_val: clip the gradient norm (``None``: no clipping).
        inference_mode: validate under ``torch.inference_mode`` (``False``: under ``no_grad``,
            which a module whose outputs are derivatives, such as forces, can turn off).
        accelerator, devices, num_nodes, strategy: where to train; anything beyond one device
            goes to Lightning (``strategy="ddp"``, ``devices=4``, ``num_nodes=2``...).
        engine: ``"auto"``, ``"torch"`` or ``"lightning"`` (see :func:`choose_engine`).
    """
    chosen = choose_engine(
        engine,
        accelerator=accelerator,
        devices=devices,
        num_nodes=num_nodes,
        strategy=strategy,
        precision=precision,
    )
    settings = dict(
        max_epochs=max_epochs,
        patience=patience,
        checkpoint_dir=checkpoint_dir,
        progress_bar=progress_bar,
        deterministic=deterministic,
        precision=precision,
        gradient_clip_val=gradient_clip_val,
        inference_mode=inference_mode,
    )
    if chosen == "lightning":
        from molfit.train._lightning import fit_lightning

        return fit_lightning(
            module,
            train_loader,
            val_loader,
            accelerator=accelerator,
            devices=devices,
            num_nodes=num_nodes,
            strategy=strategy,
            **settings,
        )
    device = _torch_device(accelerator, devices)
    return _TorchLoop(module, device=device, **settings).run(train_loader, val_loader)


def autocast_for(precision: str, device: str = "cpu") -> Any:
    """The autocast context of a ``precision``: bfloat16 for ``"bf16-mixed"``, else a no-op."""
    if str(precision) == "bf16-mixed":
        return torch.autocast(device, dtype=torch.bfloat16)
    return contextlib.nullcontext()


def _torch_device(accelerator: str, devices: Any) -> torch.device:
    if accelerator == "cpu" or (accelerator == "auto" and not torch.cuda.is_available()):
        return torch.device("cpu")
    if not torch.cuda.is_available():
        raise ValueError(
            f"accelerator={accelerator!r} asks for a GPU, but torch sees no CUDA device"
        )
    index = devices[0] if isinstance(devices, list | tuple) else 0
    return torch.device("cuda", int(index))


def to_device(obj: Any, device: torch.device) -> Any:
    """``obj`` with every tensor (or object with a ``.to``) in it moved to ``device``
    (batches are built on the CPU: nothing to do there)."""
    if device.type == "cpu":
        return obj
    if isinstance(obj, tuple | list):
        return type(obj)(to_device(x, device) for x in obj)
    if isinstance(obj, dict):
        return {k: to_device(v, device) for k, v in obj.items()}
    return obj.to(device) if hasattr(obj, "to") else obj


def _set_deterministic(mode: bool, warn_only: bool) -> None:
    # torch.use_deterministic_algorithms also sets torch._inductor's flag, importing
    # torch._dynamo to do so (~1.5 s of CPU); the torch loop compiles nothing, so the inductor
    # flag is only kept in step when something else has imported it already
    if "torch._inductor.config" in sys.modules:
        torch.use_deterministic_algorithms(mode, warn_only=warn_only)
    else:
        torch._C._set_deterministic_algorithms(mode, warn_only=warn_only)


@contextlib.contextmanager
def _deterministic(mode: bool | str) -> Iterator[None]:
    before, before_warn = (
        torch.are_deterministic_algorithms_enabled(),
        torch.is_deterministic_algorithms_warn_only_enabled(),
    )
    if mode:
        os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")
        _set_deterministic(True, warn_only=mode == "warn")
    try:
        yield
    finally:
        _set_deterministic(before, warn_only=before_warn)


class _TorchLoop:
    """The one-device training loop (see :func:`fit_module` for the settings)."""

    def __init__(
        self,
        module: TrainableModule,
        *,
        device: torch.device,
        max_epochs: int,
        patience: int | None,
        checkpoint_dir: str | Path | None,
        progress_bar: bool,
        deterministic: bool | str,
        precision: str,
        gradient_clip_val: float | None,
        inference_mode: bool,
    ) -> None:
        self.module, self.device = module, device
        self.max_epochs, self.patience = int(max_epochs), patience
        self.best_path = (
            None if checkpoint_dir is None else Path(checkpoint_dir) / BEST_WEIGHTS_FILE
        )
        self.progress_bar, self.deterministic = progress_bar, deterministic
        self.precision = str(precision)
        self.clip = gradient_clip_val
        self.inference_mode = inference_mode

    def _autocast(self) -> Any:
        return autocast_for(self.precision, self.device.type)

    def run(self, train_loader: Any, val_loader: Any) -> FitResult:
        module = self.module.to(self.device)
        steps_per_epoch = len(train_loader)
        optimizer, scheduler = module.make_optimizer(
            steps_per_epoch * self.max_epochs, self.max_epochs, torch_optim=False
        )
        bar = self._bar(steps_per_epoch)
        best_score, best_epoch, best_state, wait = math.inf, -1, None, 0
        metrics: dict[str, float] = {}
        epochs_run = 0
        with _deterministic(self.deterministic):
            for epoch in range(self.max_epochs):
                module.train()
                total, count, last = 0.0, 0, math.nan
                if bar is not None:
                    bar.reset(total=steps_per_epoch)
                    bar.set_description(f"Epoch {epoch}")
                for batch in train_loader:
                    batch = to_device(batch, self.device)
                    optimizer.zero_grad(set_to_none=True)
                    with self._autocast():
                        loss, n = module.training_loss(batch)
                    loss.backward()
                    if self.clip is not None:
                        nn.utils.clip_grad_norm_(module.parameters(), self.clip)
                    optimizer.step()
                    if scheduler is not None:
                        scheduler.step()
                    last = float(loss.detach())
                    total, count = total + last * n, count + n
                    if bar is not None:
                        bar.update(1)
                        bar.set_postfix(train_loss=f"{last:.3g}", refresh=False)
                epochs_run = epoch + 1
                metrics = {"train_loss_step": last, "train_loss_epoch": total / max(count, 1)}
                metrics["train_loss"] = metrics["train_loss_epoch"]
                if val_loader is None:
                    continue
                metrics.update(self._validate(val_loader))
                score = metrics["val_loss"]
                if bar is not None:
                    bar.set_postfix(
                        train_loss=f"{metrics['train_loss']:.3g}", val_loss=f"{score:.3g}"
                    )
                if score < best_score:
                    best_score, best_epoch, wait = score, epoch, 0
                    best_state = {
                        k: v.detach().cpu().clone() for k, v in module.state_dict().items()
                    }
                    self._write_best(best_state)
                else:
                    wait += 1
                if not math.isfinite(score):
                    break  # as Lightning's EarlyStopping: a non-finite loss ends the fit
                if self.patience is not None and wait >= self.patience:
                    break
        if bar is not None:
            bar.close()
        if best_state is not None:
            module.load_state_dict(copy.deepcopy(best_state))
        return FitResult(
            epochs_run=epochs_run,
            best_epoch=best_epoch,
            best_score=None if best_epoch < 0 else best_score,
            metrics=metrics,
            engine="torch",
        )

    def _validate(self, val_loader: Any) -> dict[str, float]:
        module = self.module
        module.eval()
        total, count = 0.0, 0
        guard = torch.inference_mode() if self.inference_mode else torch.no_grad()
        with guard:
            for batch in val_loader:
                batch = to_device(batch, self.device)
                with self._autocast():
                    loss, n = module.validation_loss(batch)
                total, count = total + float(loss.detach()) * n, count + n
        out = {"val_loss": total / max(count, 1)}
        out.update(module.validation_metrics())
        module.train()
        return out

    def _write_best(self, state: dict[str, torch.Tensor]) -> None:
        if self.best_path is None:
            return
        from safetensors.torch import save_file

        self.best_path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.best_path.with_suffix(".tmp")
        save_file({k: v.contiguous() for k, v in state.items()}, str(tmp))
        os.replace(tmp, self.best_path)

    def _bar(self, steps: int) -> Any:
        if not self.progress_bar:
            return None
        from tqdm.auto import tqdm

        return tqdm(total=steps, file=sys.stderr, leave=False, dynamic_ncols=True)
