"""Where and how a fit runs, kept apart from what is fitted.

Hardware and bookkeeping (accelerator, devices, nodes, strategy, checkpoints, progress display)
change neither the model nor its results in principle, so they are not hyper-parameters: they are
passed to ``fit(..., runtime=Runtime(...))`` and never saved with a model. A model trained with
``Runtime(devices=4, strategy="ddp")`` loads and predicts on a laptop as it is.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class Runtime:
    """Settings of one fit that are not part of the model.

    Attributes:
        accelerator: Lightning's accelerator (``"cpu"``, ``"gpu"``, ``"auto"``).
        devices: devices per node (an int, ``"auto"`` or a list of indices).
        num_nodes: machines taking part (DDP).
        strategy: Lightning's strategy (``"auto"``, ``"ddp"``...).
        checkpoint_dir: where each ensemble member writes ``member{i}/best.safetensors``
            (``None``: best weights kept in memory only).
        progress_bar: show a progress bar (on stderr).
        n_jobs: featurization worker processes (``-1``: all cores).
        engine: ``"auto"`` (molfit's torch loop on one device, Lightning beyond),
            ``"torch"`` or ``"lightning"`` (see :func:`molfit.train.choose_engine`).
    """

    accelerator: str = "cpu"
    devices: Any = 1
    num_nodes: int = 1
    strategy: Any = "auto"
    checkpoint_dir: str | Path | None = None
    progress_bar: bool = True
    n_jobs: int = 1
    engine: str = "auto"

    def trainer_kwargs(self) -> dict[str, Any]:
        """The arguments of :func:`molfit.train.fit_module` this runtime sets (where, how
        shown, which engine)."""
        out = asdict(self)
        out.pop("n_jobs")
        out.pop("checkpoint_dir")
        return out

    @property
    def is_distributed(self) -> bool:
        """Whether more than one process trains (only rank 0 may then write outputs)."""
        devices = self.devices
        n = len(devices) if isinstance(devices, list | tuple) else devices
        many = isinstance(n, int) and n > 1
        return many or self.num_nodes > 1 or "ddp" in str(self.strategy)


def global_rank() -> int:
    """This process's rank in a distributed run (0 when not distributed).

    Read from the environment Lightning's launchers set, so callers need not hold a trainer.
    """
    import os

    for key in ("RANK", "LOCAL_RANK", "SLURM_PROCID"):
        if key in os.environ:
            try:
                return int(os.environ[key])
            except ValueError:
                continue
    return 0
